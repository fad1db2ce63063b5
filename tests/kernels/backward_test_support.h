// backward_test_support.h - what the backward kernel tests share: the
// second pass of a weight-gradient reduction run on the device into a
// poisoned, guarded buffer; a comparison of flat gradient vectors against
// the double-precision CPU reference; bitwise equality of two runs; and a
// central finite difference of a scalar function (the forward reference).
#ifndef M2U_TESTS_KERNELS_BACKWARD_TEST_SUPPORT_H
#define M2U_TESTS_KERNELS_BACKWARD_TEST_SUPPORT_H

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "device_buffer.h"
#include "training_kernels.h"

namespace backward_test {

using m2u_test::DeviceBuffer;

// Tolerance of an FP32 gradient (sums over up to a few hundred pixels)
// against the double reference: max |diff| / max |ref|.
constexpr double kGradientTolerance = 1e-5;

// partials (blocks rows of count) summed by sum_block_partials into a
// poisoned buffer with guards; returns the sums.
inline std::vector<float> reduce_on_device(const DeviceBuffer<float>& partials, int blocks, int count,
                                           const std::string& context) {
  DeviceBuffer<float> sums(static_cast<size_t>(count));
  const cudaError_t status = m2u::sum_block_partials(partials.data(), blocks, count, sums.data(), nullptr);
  REQUIRE_MESSAGE(status == cudaSuccess, context << ": sum_block_partials " << cudaGetErrorName(status));
  std::string where;
  CHECK_MESSAGE(partials.guards_intact(&where), context << ": partials " << where);
  CHECK_MESSAGE(sums.guards_intact(&where), context << ": sums " << where);
  return sums.download();
}

// max |got - expected| / max |expected| <= tolerance; NaN fails.
inline void check_close(const std::vector<float>& got, const std::vector<double>& expected,
                        double tolerance, const std::string& context) {
  REQUIRE(got.size() == expected.size());
  double worst = 0.0, largest = 0.0;
  size_t worst_index = 0;
  bool finite = true;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) finite = false;
    const double diff = std::fabs(got[i] - expected[i]);
    if (diff > worst) {
      worst = diff;
      worst_index = i;
    }
    largest = std::fmax(largest, std::fabs(expected[i]));
  }
  CHECK_MESSAGE(finite, context << ": a non-finite gradient");
  REQUIRE_MESSAGE(largest > 0.0, context << ": the expected gradient is zero (the check would be empty)");
  CHECK_MESSAGE(worst / largest <= tolerance, context << ": relative " << worst / largest << " at " << worst_index
                                                      << " (got " << got[worst_index] << ", expected "
                                                      << expected[worst_index] << ")");
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// (f(value + step) - f(value - step)) / (2 step), `value` restored.
inline double central_difference(float& value, double step, const std::function<double()>& f) {
  const float saved = value;
  value = static_cast<float>(saved + step);
  const double up = f();
  value = static_cast<float>(saved - step);
  const double down = f();
  value = saved;
  return (up - down) / (2.0 * step);
}

}  // namespace backward_test

#endif  // M2U_TESTS_KERNELS_BACKWARD_TEST_SUPPORT_H
