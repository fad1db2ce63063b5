// test_activation_statistics.cpp - INT8 calibration's activation statistics
// (activation_absmax, activation_histogram) against a CPU count of the same
// float arithmetic: the maximum bit for bit and every bin exactly, over a
// channel slice of a wider buffer (odd shape, 19 of 32 channels at offset
// 8) whose other channels hold larger values that must not count; planted
// NaN, infinities and (in the histogram) exact zeros skipped; counters accumulate across launches; bad
// arguments refused.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "calibration_kernels.h"
#include "emu_test_support.h"
#include "kernel_test_support.h"

namespace {

using namespace kernel_test;

struct Case {
  BufferShape shape;
  int offset;
  int channels;
};

// The view's logical values in buffer order.
std::vector<float> view_values(const std::vector<float>& buffer, const Case& c) {
  std::vector<float> values;
  const size_t pixels = buffer.size() / c.shape.pixel_stride;
  for (size_t p = 0; p < pixels; ++p)
    for (int ch = 0; ch < c.channels; ++ch) values.push_back(buffer[p * c.shape.pixel_stride + c.offset + ch]);
  return values;
}

}  // namespace

TEST_CASE("activation statistics: max |v| bit-exact and every histogram bin exact, on a slice") {
  const Case c{{2, 17, 35, 32}, 8, 19};
  std::vector<float> buffer = random_values(c.shape.elements(), 41, -6.0f, 6.0f);
  // Outside the view: larger magnitudes that must not count.
  for (size_t p = 0; p < buffer.size() / 32; ++p) {
    for (int ch = 0; ch < 8; ++ch) buffer[p * 32 + ch] = 1000.0f;
    for (int ch = 27; ch < 32; ++ch) buffer[p * 32 + ch] = -2000.0f;
  }
  // Non-finite values and exact zeros inside the view are not counted.
  for (int x = 0; x < 35; ++x) buffer[c.shape.index(0, 5, x, 12)] = 0.0f;
  buffer[c.shape.index(0, 3, 4, 9)] = std::numeric_limits<float>::quiet_NaN();
  buffer[c.shape.index(1, 16, 34, 8 + 18)] = std::numeric_limits<float>::infinity();
  buffer[c.shape.index(1, 0, 0, 8)] = -std::numeric_limits<float>::infinity();
  const std::vector<float> values = view_values(buffer, c);

  float expected_max = 0.0f;
  for (float v : values)
    if (std::isfinite(v)) expected_max = std::max(expected_max, std::fabs(v));
  const float range = expected_max * 0.75f;  // the top quarter lands in the last bin
  const float bins_per_unit = static_cast<float>(m2u::kCalibrationBins) / range;
  std::vector<unsigned long long> expected_bins(m2u::kCalibrationBins, 0);
  size_t counted = 0;
  for (float v : values) {
    if (!std::isfinite(v) || v == 0.0f) continue;
    ++counted;
    const float position = std::min(std::fabs(v) * bins_per_unit, static_cast<float>(m2u::kCalibrationBins - 1));
    ++expected_bins[static_cast<size_t>(static_cast<int>(position))];
  }

  DeviceBuffer<float> device(buffer.size());
  device.upload(buffer);
  const m2u::TensorView<const float> view = view_of<const float>(device.data(), c.shape, c.offset, c.channels);
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<unsigned int> absmax(1);
    absmax.upload({0u});
    DeviceBuffer<unsigned long long> bins(m2u::kCalibrationBins);
    bins.upload(std::vector<unsigned long long>(m2u::kCalibrationBins, 0));
    // Twice: counters accumulate, the maximum stays.
    for (int run = 0; run < 2; ++run) {
      REQUIRE(m2u::activation_absmax(view, absmax.data(), nullptr) == cudaSuccess);
      REQUIRE(m2u::activation_histogram(view, range, bins.data(), nullptr) == cudaSuccess);
    }
    float got_max;
    const unsigned int bits = absmax.download()[0];
    std::memcpy(&got_max, &bits, sizeof(got_max));
    CHECK_MESSAGE(got_max == expected_max, "schedule " << schedule << ": max " << got_max << ", expected " << expected_max);
    const std::vector<unsigned long long> got = bins.download();
    size_t wrong = 0;
    unsigned long long total = 0;
    for (int b = 0; b < m2u::kCalibrationBins; ++b) {
      wrong += got[b] != 2 * expected_bins[b];
      total += got[b];
    }
    CHECK_MESSAGE(wrong == 0, "schedule " << schedule << ": " << wrong << " bins differ");
    CHECK(total == 2 * counted);
    CHECK(got[m2u::kCalibrationBins - 1] > 2 * values.size() / 8);  // the clamped top quarter
    std::string where;
    CHECK_MESSAGE(absmax.guards_intact(&where), where);
    CHECK_MESSAGE(bins.guards_intact(&where), where);
  }
}

TEST_CASE("activation statistics refuse a bad range or a missing counter") {
  DeviceBuffer<float> device(16);
  device.upload(std::vector<float>(16, 1.0f));
  const m2u::TensorView<const float> view{device.data(), 1, 1, 4, 4, 4};
  DeviceBuffer<unsigned long long> bins(m2u::kCalibrationBins);
  CHECK(m2u::activation_histogram(view, 0.0f, bins.data(), nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::activation_histogram(view, std::numeric_limits<float>::infinity(), bins.data(), nullptr) ==
        cudaErrorInvalidValue);
  CHECK(m2u::activation_histogram(view, 1e-44f, bins.data(), nullptr) == cudaErrorInvalidValue);  // bins / range overflows
  CHECK(m2u::activation_histogram(view, 1.0f, nullptr, nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::activation_absmax(view, nullptr, nullptr) == cudaErrorInvalidValue);
}
