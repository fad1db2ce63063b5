// Tests for reference_ops.h: each op against small cases computed by hand
// from its formula, including padding, odd sizes, groups, kinks and borders.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "reference_ops.h"

namespace {

using m2u::Activation;
using m2u::ref::HostTensor;

HostTensor tensor_of(int n, int c, int h, int w, const std::vector<float>& values) {
  HostTensor t(n, c, h, w);
  REQUIRE(values.size() == t.size());
  t.data = values;
  return t;
}

void check_values(const HostTensor& got, const std::vector<float>& expected) {
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(got.data[i] == doctest::Approx(expected[i]).epsilon(1e-6));
  }
}

}  // namespace

TEST_CASE("conv2d 1x1 with bias mixes channels per pixel") {
  // 2 input channels, 2 pixels; out[o] = w[o][0] * in0 + w[o][1] * in1 + b[o].
  const HostTensor input = tensor_of(1, 2, 1, 2, {1, 2, 10, 20});
  const HostTensor y = m2u::ref::conv2d(input, {1, 1, 2, -1}, {0.5f, -3}, 2, 1, 1, 1);
  CHECK(y.shape_string() == "1x2x1x2");
  check_values(y, {11.5f, 22.5f, -11, -19});
}

TEST_CASE("conv2d 3x3 stride 1 pads with zeros") {
  const HostTensor input = tensor_of(1, 1, 3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  const HostTensor y = m2u::ref::conv2d(input, std::vector<float>(9, 1.0f), {}, 1, 3, 1, 1);
  CHECK(y.shape_string() == "1x1x3x3");
  // Sums of each pixel's in-image 3x3 neighbourhood.
  check_values(y, {12, 21, 16, 27, 45, 33, 24, 39, 28});
}

TEST_CASE("depthwise 3x3 stride 2 on an odd size keeps each channel to itself") {
  // 5x5 -> (5 + 2 - 3) / 2 + 1 = 3x3. Channel 0: ramp y * 5 + x with only
  // the centre tap, so out(oy, ox) = in(2 oy, 2 ox). Channel 1: ones with
  // all taps 2, so out = 2 * (taps inside the image) + bias.
  HostTensor input(1, 2, 5, 5);
  for (int y = 0; y < 5; ++y) {
    for (int x = 0; x < 5; ++x) {
      input.at(0, 0, y, x) = static_cast<float>(y * 5 + x);
      input.at(0, 1, y, x) = 1.0f;
    }
  }
  std::vector<float> weight(18, 0.0f);
  weight[4] = 1.0f;  // channel 0 centre
  for (int i = 9; i < 18; ++i) weight[i] = 2.0f;
  const HostTensor y = m2u::ref::conv2d(input, weight, {0, 0.25f}, 2, 3, 2, 2);
  CHECK(y.shape_string() == "1x2x3x3");
  check_values(y, {0, 2, 4, 10, 12, 14, 20, 22, 24,
                   8.25f, 12.25f, 8.25f, 12.25f, 18.25f, 12.25f, 8.25f, 12.25f, 8.25f});
}

TEST_CASE("conv2d stride 2 on an even size and grouped channels") {
  // 4x4 -> (4 + 2 - 3) / 2 + 1 = 2x2, like PyTorch; top-left tap only, so
  // out(oy, ox) = in(2 oy - 1, 2 ox - 1), zero where that is padding.
  HostTensor ramp(1, 1, 4, 4);
  for (int i = 0; i < 16; ++i) ramp.data[i] = static_cast<float>(i + 1);
  std::vector<float> top_left(9, 0.0f);
  top_left[0] = 1.0f;
  check_values(m2u::ref::conv2d(ramp, top_left, {}, 1, 3, 2, 1), {0, 0, 0, 6});

  // groups = 2, 4 -> 2 channels: output 0 sums inputs 0 and 1, output 1 inputs 2 and 3.
  const HostTensor input = tensor_of(1, 4, 1, 1, {1, 2, 30, 40});
  check_values(m2u::ref::conv2d(input, {1, 1, 1, -1}, {}, 2, 1, 1, 2), {3, -10});
}

TEST_CASE("conv2d refuses inconsistent arguments") {
  const HostTensor input(1, 4, 3, 3);
  CHECK_THROWS_AS(m2u::ref::conv2d(input, std::vector<float>(7), {}, 2, 1, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::conv2d(input, std::vector<float>(8), {1}, 2, 1, 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::conv2d(input, std::vector<float>(9), {}, 3, 1, 1, 3), std::invalid_argument);
  CHECK_THROWS_AS(m2u::ref::conv2d(input, std::vector<float>(8), {}, 2, 1, 0, 1), std::invalid_argument);
}

TEST_CASE("batch_norm_eval normalises each channel with its own statistics") {
  const HostTensor x = tensor_of(1, 2, 1, 2, {3, 5, 0, 1});
  // Channel 0: (x - 1) / sqrt(3 + 1) * 2 + 0.5; channel 1: (x - 0) / sqrt(0 + 1) * -1 + 0.
  const HostTensor y = m2u::ref::batch_norm_eval(x, {2, -1}, {0.5f, 0}, {1, 0}, {3, 0}, 1.0);
  check_values(y, {2.5f, 4.5f, 0, -1});
  CHECK_THROWS_AS(m2u::ref::batch_norm_eval(x, {1}, {0, 0}, {0, 0}, {1, 1}, 1e-5), std::invalid_argument);
}

TEST_CASE("activations at and around their kinks") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const HostTensor x = tensor_of(1, 1, 1, 7, {-1, 0, 0.5f, 6, 6.5f, -100, nan});
  const HostTensor relu6 = m2u::ref::activation(x, Activation::kRelu6);
  const HostTensor relu = m2u::ref::activation(x, Activation::kRelu);
  const HostTensor sigmoid = m2u::ref::activation(x, Activation::kSigmoid);
  const HostTensor linear = m2u::ref::activation(x, Activation::kLinear);
  const std::vector<float> relu6_expected = {0, 0, 0.5f, 6, 6, 0};
  const std::vector<float> relu_expected = {0, 0, 0.5f, 6, 6.5f, 0};
  for (size_t i = 0; i < 6; ++i) {
    CHECK(relu6.data[i] == relu6_expected[i]);
    CHECK(relu.data[i] == relu_expected[i]);
    CHECK(linear.data[i] == x.data[i]);
    CHECK(sigmoid.data[i] == doctest::Approx(1.0 / (1.0 + std::exp(-static_cast<double>(x.data[i])))));
  }
  CHECK(sigmoid.data[1] == 0.5f);
  CHECK(sigmoid.data[5] >= 0.0f);
  CHECK(sigmoid.data[5] < 1e-40f);
  for (const HostTensor* t : {&relu6, &relu, &sigmoid, &linear}) CHECK(std::isnan(t->data[6]));
}

TEST_CASE("add sums element-wise and refuses different shapes") {
  check_values(m2u::ref::add(tensor_of(1, 1, 1, 3, {1, 2, 3}), tensor_of(1, 1, 1, 3, {10, -2, 0.5f})),
               {11, 0, 3.5f});
  CHECK_THROWS_AS(m2u::ref::add(HostTensor(1, 1, 1, 3), HostTensor(1, 1, 3, 1)), std::invalid_argument);
}

TEST_CASE("upsample_bilinear2x of 2x2 follows the half-pixel formula and clamps at the borders") {
  // Per axis of 2 samples: dst 0 -> src -0.25 clamped to 0 -> s0; dst 1 ->
  // 0.25 -> 0.75 s0 + 0.25 s1; dst 2 -> 0.75 -> 0.25 s0 + 0.75 s1; dst 3 ->
  // 1.25, upper neighbour clamped to 1 -> s1.
  const HostTensor x = tensor_of(1, 1, 2, 2, {1, 2, 3, 4});
  const HostTensor y = m2u::ref::upsample_bilinear2x(x);
  CHECK(y.shape_string() == "1x1x4x4");
  check_values(y, {1.0f, 1.25f, 1.75f, 2.0f,
                   1.5f, 1.75f, 2.25f, 2.5f,
                   2.5f, 2.75f, 3.25f, 3.5f,
                   3.0f, 3.25f, 3.75f, 4.0f});
}

TEST_CASE("upsample_bilinear2x on a 1x3 row per batch and channel") {
  // Height 1: both output rows equal the input row upsampled along x.
  const HostTensor x = tensor_of(2, 2, 1, 3, {0, 10, 20, 1, 1, 1, -4, 0, 4, 5, 6, 7});
  const HostTensor y = m2u::ref::upsample_bilinear2x(x);
  CHECK(y.shape_string() == "2x2x2x6");
  const std::vector<std::vector<float>> rows = {{0, 2.5f, 7.5f, 12.5f, 17.5f, 20},
                                                {1, 1, 1, 1, 1, 1},
                                                {-4, -3, -1, 1, 3, 4},
                                                {5, 5.25f, 5.75f, 6.25f, 6.75f, 7}};
  for (int b = 0; b < 2; ++b) {
    for (int c = 0; c < 2; ++c) {
      for (int yy = 0; yy < 2; ++yy) {
        for (int xx = 0; xx < 6; ++xx) {
          CHECK(y.at(b, c, yy, xx) == doctest::Approx(rows[b * 2 + c][xx]));
        }
      }
    }
  }
}

TEST_CASE("concat_channels puts the first tensor's channels first") {
  const HostTensor first = tensor_of(2, 1, 1, 2, {1, 2, 3, 4});
  const HostTensor second = tensor_of(2, 2, 1, 2, {10, 20, 30, 40, 50, 60, 70, 80});
  const HostTensor y = m2u::ref::concat_channels(first, second);
  CHECK(y.shape_string() == "2x3x1x2");
  check_values(y, {1, 2, 10, 20, 30, 40, 3, 4, 50, 60, 70, 80});
  CHECK_THROWS_AS(m2u::ref::concat_channels(first, HostTensor(2, 1, 1, 3)), std::invalid_argument);
}
