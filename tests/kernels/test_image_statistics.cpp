// test_image_statistics.cpp - image_statistics against a double-precision
// CPU mean and population std of value / max_value * pixel_scale (U8 grey,
// 12-bit in U16 with 3 channels, F32 with 2 channels; padded rows and
// images; more rows than reduction blocks), the std floor, bit-identical
// results under every schedule, non-finite F32 values read as 0, and the
// launcher's checks.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "emu_test_support.h"
#include "io_kernels.h"
#include "kernel_test_support.h"

namespace {

using namespace kernel_test;

m2u::KernelInputConvention standardisation(float pixel_scale, float std_floor) {
  m2u::KernelInputConvention convention{};
  convention.per_image_standardize = 1;
  convention.replicate_grey = 1;
  convention.pixel_scale = pixel_scale;
  convention.std_floor = std_floor;
  return convention;
}

// Runs image_statistics under every schedule; checks each image's mean and
// inverse std against the CPU within 1e-6 relative and that every schedule
// gives the same bits. Returns the worst relative error.
double check_statistics(const RawImage& image, const m2u::KernelInputConvention& convention,
                        const std::string& name) {
  DeviceBuffer<unsigned char> device_image(image.bytes.size());
  device_image.upload(image.bytes);
  const m2u::PixelImage pixels = image.pixel_image(device_image.data());
  const size_t scratch = m2u::image_statistics_scratch(pixels);
  REQUIRE(scratch > 0);

  double worst = 0.0;
  std::vector<float> first_run;
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<double> partials(scratch);
    DeviceBuffer<float> stats(2 * static_cast<size_t>(image.batch));
    const std::string context = name + " schedule " + std::to_string(schedule);
    REQUIRE_MESSAGE(m2u::image_statistics(pixels, convention, partials.data(), stats.data(),
                                          nullptr) == cudaSuccess,
                    context);
    CHECK_MESSAGE(partials.guards_intact(), context);
    CHECK_MESSAGE(stats.guards_intact(), context);
    const std::vector<float> got = stats.download();
    for (int n = 0; n < image.batch; ++n) {
      const ImageMoments moments = image_moments(image, n, convention.pixel_scale);
      const double inverse_std = 1.0 / std::fmax(moments.std_dev, convention.std_floor);
      const double mean_error = std::fabs(got[2 * n] - moments.mean) / std::fabs(moments.mean);
      const double inverse_error = std::fabs(got[2 * n + 1] - inverse_std) / inverse_std;
      CHECK_MESSAGE(mean_error <= 1e-6, context << " image " << n << ": mean " << got[2 * n]
                                                << ", expected " << moments.mean);
      CHECK_MESSAGE(inverse_error <= 1e-6, context << " image " << n << ": inverse std "
                                                   << got[2 * n + 1] << ", expected "
                                                   << inverse_std);
      worst = std::fmax(worst, std::fmax(mean_error, inverse_error));
    }
    if (first_run.empty()) {
      first_run = got;
    } else {
      CHECK_MESSAGE(std::memcmp(first_run.data(), got.data(), got.size() * sizeof(float)) == 0,
                    context << ": not bit-identical to the first schedule");
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("image_statistics matches the CPU for U8, U16 and F32 images") {
  double worst = 0.0;
  worst = std::fmax(
      worst, check_statistics(make_raw_image(m2u::PixelType::kU8, 2, 17, 35, 1, 255.0f, 5, 3, 1),
                              standardisation(1.0f, 1e-6f), "U8 grey 2x17x35"));
  worst = std::fmax(
      worst, check_statistics(make_raw_image(m2u::PixelType::kU16, 2, 9, 17, 3, 4095.0f, 2, 6, 2),
                              standardisation(255.0f, 0.0f), "U16 12-bit 3ch 2x9x17"));
  worst = std::fmax(
      worst, check_statistics(make_raw_image(m2u::PixelType::kF32, 1, 17, 9, 2, 1.0f, 4, 0, 3),
                              standardisation(1.0f, 0.0f), "F32 2ch 1x17x9"));
  // More rows than the kernel's blocks per image, and wide rows.
  worst = std::fmax(
      worst, check_statistics(make_raw_image(m2u::PixelType::kU8, 1, 133, 301, 1, 255.0f, 3, 0, 4),
                              standardisation(255.0f, 0.0f), "U8 grey 1x133x301"));
  MESSAGE("image_statistics worst relative error " << worst);
}

TEST_CASE("image_statistics divides by the std floor for a flat image") {
  RawImage flat = make_raw_image(m2u::PixelType::kU8, 2, 9, 17, 1, 255.0f, 0, 0, 5);
  for (unsigned char& byte : flat.bytes) byte = 128;
  check_statistics(flat, standardisation(1.0f, 0.25f), "flat U8 with std floor 0.25");
}

TEST_CASE("image_statistics reads non-finite F32 values as 0") {
  RawImage zeroed = make_raw_image(m2u::PixelType::kF32, 2, 11, 7, 2, 1.0f, 4, 8, 7);
  RawImage planted = zeroed;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  struct Value {
    int n, y, x, c;
    float value;
  };
  for (const Value& v : {Value{0, 0, 0, 0, nan}, Value{0, 5, 3, 1, inf}, Value{1, 10, 6, 1, -inf},
                         Value{1, 2, 2, 0, nan}}) {
    const float zero = 0.0f;
    std::memcpy(planted.bytes.data() + planted.offset(v.n, v.y, v.x, v.c), &v.value, sizeof(float));
    std::memcpy(zeroed.bytes.data() + zeroed.offset(v.n, v.y, v.x, v.c), &zero, sizeof(float));
  }
  const m2u::KernelInputConvention convention = standardisation(255.0f, 1e-6f);
  check_statistics(zeroed, convention, "F32 2ch with zeros");
  // The same bits with NaN and infinities where the zeros were.
  std::vector<float> results[2];
  for (int i = 0; i < 2; ++i) {
    const RawImage& image = i == 0 ? zeroed : planted;
    DeviceBuffer<unsigned char> device_image(image.bytes.size());
    device_image.upload(image.bytes);
    const m2u::PixelImage pixels = image.pixel_image(device_image.data());
    DeviceBuffer<double> partials(m2u::image_statistics_scratch(pixels));
    DeviceBuffer<float> stats(4);
    REQUIRE(m2u::image_statistics(pixels, convention, partials.data(), stats.data(), nullptr) ==
            cudaSuccess);
    results[i] = stats.download();
  }
  for (float value : results[1]) CHECK(std::isfinite(value));
  CHECK(std::memcmp(results[0].data(), results[1].data(), 4 * sizeof(float)) == 0);
}

TEST_CASE("image_statistics rejects images it cannot read") {
  const RawImage image = make_raw_image(m2u::PixelType::kU16, 1, 9, 17, 1, 65535.0f, 2, 0, 6);
  DeviceBuffer<unsigned char> device_image(image.bytes.size() + 2);
  DeviceBuffer<double> partials(
      m2u::image_statistics_scratch(image.pixel_image(device_image.data())));
  DeviceBuffer<float> stats(2);
  const m2u::KernelInputConvention convention = standardisation(1.0f, 0.0f);
  const auto run = [&](const m2u::PixelImage& pixels, double* scratch) {
    return m2u::image_statistics(pixels, convention, scratch, stats.data(), nullptr);
  };
  m2u::PixelImage pixels = image.pixel_image(device_image.data());
  REQUIRE(run(pixels, partials.data()) == cudaSuccess);
  CHECK(run(pixels, nullptr) == cudaErrorInvalidValue);
  m2u::PixelImage unaligned = pixels;
  unaligned.data = device_image.data() + 1;
  CHECK(run(unaligned, partials.data()) == cudaErrorInvalidValue);
  m2u::PixelImage short_rows = pixels;
  short_rows.row_stride_bytes = 17 * 2 - 2;
  CHECK(run(short_rows, partials.data()) == cudaErrorInvalidValue);
  m2u::PixelImage nine_channels = pixels;
  nine_channels.channels = 9;
  CHECK(run(nine_channels, partials.data()) == cudaErrorInvalidValue);
  m2u::PixelImage no_range = pixels;
  no_range.max_value = 0.0f;
  CHECK(run(no_range, partials.data()) == cudaErrorInvalidValue);
}
