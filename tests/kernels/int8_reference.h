// int8_reference.h - the CPU reference of conv_kernels_int8.h's arithmetic
// that needs no test framework (the INT8 kernel tests and the kernel
// benchmarks' validation share it): int8 NHWC tensors, and the epilogue
// of an int32 sum - std::fma and plain float operations in the kernels'
// order (baseline x86-64 has no FMA instruction to contract them into),
// std::nearbyint rounding to nearest even, the clamp to [-127, 127].
#ifndef M2U_TESTS_KERNELS_INT8_REFERENCE_H
#define M2U_TESTS_KERNELS_INT8_REFERENCE_H

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "activation.h"

namespace int8_test {

// Logical NHWC int8 values.
struct QTensor {
  int n = 0, h = 0, w = 0, c = 0;
  std::vector<int8_t> q;

  QTensor() = default;
  QTensor(int batch, int height, int width, int channels)
      : n(batch),
        h(height),
        w(width),
        c(channels),
        q(static_cast<size_t>(batch) * height * width * channels, 0) {}
  int8_t& at(int b, int y, int x, int ch) {
    return q[((static_cast<size_t>(b) * h + y) * w + x) * c + ch];
  }
  int8_t at(int b, int y, int x, int ch) const {
    return q[((static_cast<size_t>(b) * h + y) * w + x) * c + ch];
  }
};

inline std::vector<int8_t> random_q(size_t count, uint32_t seed, int low, int high) {
  std::mt19937 generator(seed);
  std::uniform_int_distribution<int> distribution(low, high);
  std::vector<int8_t> values(count);
  for (int8_t& value : values) value = static_cast<int8_t>(distribution(generator));
  return values;
}

inline QTensor random_qtensor(int n, int h, int w, int c, uint32_t seed, int low = -127,
                              int high = 127) {
  QTensor tensor(n, h, w, c);
  tensor.q = random_q(tensor.q.size(), seed, low, high);
  return tensor;
}

// fma((float)acc, multiplier, bias), then the activation.
inline float reference_activated(int32_t acc, float multiplier, float bias,
                                 m2u::KernelActivation activation) {
  const float real = std::fma(static_cast<float>(acc), multiplier, bias);
  switch (activation) {
    case m2u::KernelActivation::kRelu:
      return real < 0.0f ? 0.0f : real;
    case m2u::KernelActivation::kRelu6:
      return real < 0.0f ? 0.0f : (real > 6.0f ? 6.0f : real);
    default:
      return real;
  }
}

// real * inverse scale, clamped to [-127, 127], rounded to nearest even.
inline int8_t reference_quantized(float real, float output_inverse_scale) {
  const float steps = std::fmin(std::fmax(real * output_inverse_scale, -127.0f), 127.0f);
  return static_cast<int8_t>(std::nearbyint(steps));
}

}  // namespace int8_test

#endif  // M2U_TESTS_KERNELS_INT8_REFERENCE_H
