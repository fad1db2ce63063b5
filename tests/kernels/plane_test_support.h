// plane_test_support.h - what the tests of the single-channel image kernels
// (unpack_raw, flat field, DPC, histogram, mask) share: pitched host planes
// with poisoned padding columns, inputs uploaded into exact-size device
// allocations (an over-read leaves the allocation, which the sanitizer build
// reports), and the check of an output plane: values against a reference,
// every padding column bit-identical to what it was, guards intact.
#ifndef M2U_TESTS_KERNELS_PLANE_TEST_SUPPORT_H
#define M2U_TESTS_KERNELS_PLANE_TEST_SUPPORT_H

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "device_buffer.h"

namespace plane_test {

using m2u_test::DeviceBuffer;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// `height` rows of `width` values, rows `pitch` elements apart.
struct Plane {
  int height;
  int width;
  size_t pitch;

  // Elements from the first value to the last one, inclusive.
  size_t span() const { return (static_cast<size_t>(height) - 1) * pitch + width; }
  // Elements of whole rows (the last row's padding included).
  size_t full() const { return static_cast<size_t>(height) * pitch; }
  size_t index(int y, int x) const { return static_cast<size_t>(y) * pitch + x; }
  std::string name() const {
    std::ostringstream text;
    text << height << "x" << width << " pitch " << pitch;
    return text.str();
  }
};

// A host plane of `count` elements (span or full): `padding` everywhere,
// the caller then writes the pixels.
template <typename T>
std::vector<T> padded_plane(size_t count, T padding) {
  return std::vector<T>(count, padding);
}

// An input uploaded into a device allocation of exactly its size (no
// guards): reading past its last value leaves the allocation.
template <typename T>
std::unique_ptr<DeviceBuffer<T>> upload_exact(const std::vector<T>& contents) {
  std::unique_ptr<DeviceBuffer<T>> buffer(new DeviceBuffer<T>(contents.size(), 0));
  buffer->upload(contents);
  return buffer;
}

template <typename T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

// Largest error seen in a test case, reported at its end.
struct Worst {
  double error = 0.0;
  void record(double value) {
    if (value > error) error = value;
  }
};

// Checks a float output plane after a run: pixel (y, x) against
// expected[y * width + x] within tolerance * max(|expected|, scale) (scale 0:
// purely relative, so an expected 0 needs an exact 0; NaN must match NaN,
// infinities must be equal), every element outside the pixels bit-identical
// to `before`, the guards intact.
inline void check_float_plane(const DeviceBuffer<float>& device, const std::vector<float>& before,
                              const Plane& plane, const std::vector<double>& expected,
                              double tolerance, double scale, const std::string& context,
                              Worst* worst) {
  std::string where;
  CHECK_MESSAGE(device.guards_intact(&where), context << ": " << where);
  const std::vector<float> after = device.download();
  REQUIRE(after.size() == before.size());
  size_t wrong = 0;
  size_t changed_outside = 0;
  std::string first_wrong;
  for (size_t i = 0; i < after.size(); ++i) {
    const int y = static_cast<int>(i / plane.pitch);
    const int x = static_cast<int>(i % plane.pitch);
    if (x >= plane.width) {
      if (!same_bits(after[i], before[i])) ++changed_outside;
      continue;
    }
    const double want = expected[static_cast<size_t>(y) * plane.width + x];
    const double got = after[i];
    bool ok;
    double error = 0.0;
    if (std::isnan(want) || std::isnan(got)) {
      ok = std::isnan(want) && std::isnan(got);
    } else if (std::isinf(want) || std::isinf(got)) {
      ok = want == got;
    } else {
      const double bound = std::fmax(std::fabs(want), scale);
      error = bound > 0.0 ? std::fabs(got - want) / bound : std::fabs(got - want);
      ok = bound > 0.0 ? error <= tolerance : got == want;
    }
    if (worst != nullptr) worst->record(error);
    if (!ok) {
      if (wrong == 0) {
        std::ostringstream text;
        text.precision(9);
        text << "(" << y << ", " << x << "): got " << got << ", expected " << want;
        first_wrong = text.str();
      }
      ++wrong;
    }
  }
  CHECK_MESSAGE(wrong == 0, context << ": " << wrong << " pixels wrong, first " << first_wrong);
  CHECK_MESSAGE(changed_outside == 0,
                context << ": " << changed_outside << " padding values changed");
}

}  // namespace plane_test

#endif  // M2U_TESTS_KERNELS_PLANE_TEST_SUPPORT_H
