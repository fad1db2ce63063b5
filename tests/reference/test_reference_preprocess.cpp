// Tests for reference_preprocess.h: both normalisations and both grey fills
// on small images computed by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "reference_preprocess.h"

using m2u::ref::HostTensor;

TEST_CASE("AFFINE scales to pixel_scale and normalises each channel") {
  m2u::InputConvention convention;
  convention.normalization = m2u::NormalizationKind::kAffine;
  convention.grey_fill = m2u::GreyFill::kReplicate;
  convention.pixel_scale = 255.0f;
  convention.channel_mean[1] = 100.0f;
  convention.channel_mean[2] = 0.5f;
  convention.channel_std[0] = 1.0f;
  convention.channel_std[1] = 2.0f;
  convention.channel_std[2] = 0.25f;
  const uint8_t grey[] = {0, 51, 255, 128, 1, 200};  // 2 x 3
  const HostTensor x = m2u::ref::apply_input_convention(convention, 3, grey, 2, 3);
  CHECK(x.shape_string() == "1x3x2x3");
  for (int i = 0; i < 6; ++i) {
    const double v = grey[i];  // v / 255 * 255
    CHECK(x.data[i] == doctest::Approx(v));
    CHECK(x.data[6 + i] == doctest::Approx((v - 100.0) / 2.0));
    CHECK(x.data[12 + i] == doctest::Approx((v - 0.5) / 0.25));
  }
}

TEST_CASE("AFFINE with FIRST_CHANNEL leaves the other channels zero") {
  m2u::InputConvention convention;
  convention.grey_fill = m2u::GreyFill::kFirstChannel;
  convention.pixel_scale = 1.0f;
  convention.channel_mean[0] = 0.5f;
  convention.channel_std[0] = 0.5f;
  const uint8_t grey[] = {0, 255, 51, 204};  // 1 x 4
  const HostTensor x = m2u::ref::apply_input_convention(convention, 2, grey, 1, 4, 255);
  CHECK(x.shape_string() == "1x2x1x4");
  const std::vector<double> first = {-1.0, 1.0, -0.6, 0.6};  // (v / 255 - 0.5) / 0.5
  for (int i = 0; i < 4; ++i) {
    CHECK(x.data[i] == doctest::Approx(first[i]));
    CHECK(x.data[4 + i] == 0.0f);
  }
}

TEST_CASE("PER_IMAGE_STANDARDIZE uses the population mean and std, floored") {
  m2u::InputConvention convention;
  convention.normalization = m2u::NormalizationKind::kPerImageStandardize;
  convention.pixel_scale = 255.0f;
  // v = {10, 20, 30, 40} (max_value 255, pixel_scale 255): mean 25,
  // population std sqrt((225 + 25 + 25 + 225) / 4) = sqrt(125).
  const uint8_t grey[] = {10, 20, 30, 40};
  const double std_dev = std::sqrt(125.0);
  const HostTensor x = m2u::ref::apply_input_convention(convention, 1, grey, 2, 2);
  for (int i = 0; i < 4; ++i) CHECK(x.data[i] == doctest::Approx((grey[i] - 25.0) / std_dev));

  convention.std_floor = 20.0f;  // above the std: divides by the floor
  const HostTensor floored = m2u::ref::apply_input_convention(convention, 3, grey, 2, 2);
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 4; ++i) CHECK(floored.data[c * 4 + i] == doctest::Approx((grey[i] - 25.0) / 20.0));
  }

  convention.pixel_scale = 1.0f;  // scale-free: the same standardised values
  convention.std_floor = 0.0f;
  const HostTensor unit = m2u::ref::apply_input_convention(convention, 1, grey, 2, 2, 1000);
  for (int i = 0; i < 4; ++i) CHECK(unit.data[i] == doctest::Approx(x.data[i]));
}

TEST_CASE("apply_input_convention refuses bad arguments and a zero divisor") {
  m2u::InputConvention convention;
  convention.channel_std[0] = 1.0f;
  const uint8_t grey[] = {7, 7, 7, 7};
  CHECK_THROWS_AS(m2u::ref::apply_input_convention(convention, 0, grey, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::apply_input_convention(convention, 9, grey, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::apply_input_convention(convention, 1, nullptr, 2, 2), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::apply_input_convention(convention, 1, grey, 2, 2, 0), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::apply_input_convention(convention, 2, grey, 2, 2), std::domain_error);
  convention.normalization = m2u::NormalizationKind::kPerImageStandardize;
  CHECK_THROWS_AS(m2u::ref::apply_input_convention(convention, 1, grey, 2, 2), std::domain_error);
  convention.std_floor = 1.0f;
  CHECK(m2u::ref::apply_input_convention(convention, 1, grey, 2, 2).data[0] == 0.0f);
}
