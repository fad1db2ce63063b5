// int8_test_support.h - what the INT8 convolution tests share: int8 tensors
// in padded-NHWC buffers (slices of wider buffers included), random
// quantisation parameters, a CPU reference of conv_kernels_int8.h's
// arithmetic (int32 sums, then the FP32 epilogue with std::fma and plain
// float multiplies and adds in the kernels' order - this project compiles for
// baseline x86-64, which has no FMA instruction to contract them into -,
// std::nearbyint rounding to nearest even, the clamp to [-127, 127]), and one
// bitwise check of a kernel's output buffer: every int8 of the view equal to
// the reference, zeros in its padded channels, every other byte of the
// buffer untouched, guards intact.
#ifndef M2U_TESTS_KERNELS_INT8_TEST_SUPPORT_H
#define M2U_TESTS_KERNELS_INT8_TEST_SUPPORT_H

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "activation.h"
#include "conv_kernels_int8.h"
#include "int8_reference.h"
#include "kernel_test_support.h"
#include "tensor_view.h"

namespace int8_test {

using kernel_test::BufferShape;
using kernel_test::DeviceInput;
using kernel_test::view_of;
using kernel_test::large_case_activations;
using m2u_test::DeviceBuffer;

// In the padded channels a kernel must write: a value no kernel produces
// (they clamp to [-127, 127]).
constexpr int8_t kPoison = -128;

// ---- int8 tensors

inline std::vector<float> random_floats(size_t count, uint32_t seed, float low, float high) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(count);
  for (float& value : values) value = distribution(generator);
  return values;
}

// ---- padded NHWC buffers

inline std::vector<int8_t> filled_buffer(const BufferShape& shape, int8_t fill) {
  return std::vector<int8_t>(shape.elements(), fill);
}

// Writes `tensor` into the slice at `channel_offset`, zeros in the slice's
// padded channels (as a producing kernel would).
inline void write_slice(std::vector<int8_t>& buffer, const BufferShape& shape, int channel_offset,
                        const QTensor& tensor) {
  REQUIRE(tensor.n == shape.batch);
  REQUIRE(tensor.h == shape.height);
  REQUIRE(tensor.w == shape.width);
  const int padded = m2u::padded_channels<int8_t>(tensor.c);
  REQUIRE(channel_offset + padded <= shape.pixel_stride);
  for (int b = 0; b < shape.batch; ++b)
    for (int y = 0; y < shape.height; ++y)
      for (int x = 0; x < shape.width; ++x)
        for (int ch = 0; ch < padded; ++ch)
          buffer[shape.index(b, y, x, channel_offset + ch)] =
              ch < tensor.c ? tensor.at(b, y, x, ch) : int8_t{0};
}

inline QTensor read_slice(const std::vector<int8_t>& buffer, const BufferShape& shape,
                          int channel_offset, int channels) {
  QTensor tensor(shape.batch, shape.height, shape.width, channels);
  for (int b = 0; b < shape.batch; ++b)
    for (int y = 0; y < shape.height; ++y)
      for (int x = 0; x < shape.width; ++x)
        for (int ch = 0; ch < channels; ++ch)
          tensor.at(b, y, x, ch) = buffer[shape.index(b, y, x, channel_offset + ch)];
  return tensor;
}

// A kernel's output buffer before it runs: `fill` everywhere, kPoison in
// the padded channel range of the slice at `channel_offset`.
inline std::vector<int8_t> output_before(const BufferShape& shape, int channel_offset, int channels,
                                         int8_t fill) {
  std::vector<int8_t> buffer = filled_buffer(shape, fill);
  const int padded = m2u::padded_channels<int8_t>(channels);
  for (size_t pixel = 0; pixel < buffer.size() / shape.pixel_stride; ++pixel)
    for (int ch = channel_offset; ch < channel_offset + padded; ++ch)
      buffer[pixel * shape.pixel_stride + ch] = kPoison;
  return buffer;
}

// ---- quantisation parameters and the reference epilogue

// Host copies of an Int8Requant's arrays, uploaded for the kernels.
struct Requant {
  std::vector<float> multiplier;
  std::vector<float> bias;
  float output_inverse_scale;
};

// How a test case draws its scales: per channel multiplier in
// [multiplier_low, multiplier_high] (input_scale * weight_scale), bias in
// [-bias_range, bias_range], and the output's inverse scale.
struct ScaleChoice {
  float multiplier_low;
  float multiplier_high;
  float bias_range;
  float output_inverse_scale;
};

inline Requant random_requant(int channels, const ScaleChoice& choice, uint32_t seed) {
  return Requant{random_floats(channels, seed, choice.multiplier_low, choice.multiplier_high),
                 random_floats(channels, seed + 1, -choice.bias_range, choice.bias_range),
                 choice.output_inverse_scale};
}

struct DeviceRequant {
  DeviceBuffer<float> multiplier;
  DeviceBuffer<float> bias;
  float output_inverse_scale;

  explicit DeviceRequant(const Requant& host)
      : multiplier(host.multiplier.size()),
        bias(host.bias.size()),
        output_inverse_scale(host.output_inverse_scale) {
    multiplier.upload(host.multiplier);
    bias.upload(host.bias);
  }
  m2u::Int8Requant view() const {
    return m2u::Int8Requant{multiplier.data(), bias.data(), output_inverse_scale};
  }
};

// ---- the check

// Values of `tensor` at the clamp bounds, -127 and +127.
inline int saturated_count(const QTensor& tensor) {
  int count = 0;
  for (int8_t value : tensor.q) count += value == 127 || value == -127;
  return count;
}

// Checks a kernel's output buffer after a run: every channel of the view
// bit-equal to `expected`, zeros in its padded channels, every byte outside
// the view's padded range equal to `before`; the guards intact.
inline void check_output(const DeviceBuffer<int8_t>& device, const std::vector<int8_t>& before,
                         const BufferShape& shape, int channel_offset, const QTensor& expected,
                         const std::string& context) {
  std::string where;
  CHECK_MESSAGE(device.guards_intact(&where), context << ": " << where);
  const std::vector<int8_t> after = device.download();
  const int padded_end = channel_offset + m2u::padded_channels<int8_t>(expected.c);
  size_t mismatches = 0, nonzero_padding = 0, changed_outside = 0;
  std::string first_mismatch;
  for (int b = 0; b < shape.batch; ++b)
    for (int y = 0; y < shape.height; ++y)
      for (int x = 0; x < shape.width; ++x)
        for (int ch = 0; ch < shape.pixel_stride; ++ch) {
          const size_t i = shape.index(b, y, x, ch);
          if (ch >= channel_offset && ch < channel_offset + expected.c) {
            const int8_t want = expected.at(b, y, x, ch - channel_offset);
            if (after[i] != want && mismatches++ == 0) {
              first_mismatch =
                  " (first at n " + std::to_string(b) + " y " + std::to_string(y) + " x " +
                  std::to_string(x) + " c " + std::to_string(ch - channel_offset) + ": " +
                  std::to_string(after[i]) + ", expected " + std::to_string(want) + ")";
            }
          } else if (ch >= channel_offset && ch < padded_end) {
            nonzero_padding += after[i] != 0;
          } else {
            changed_outside += after[i] != before[i];
          }
        }
  CHECK_MESSAGE(mismatches == 0, context << ": " << mismatches << " of " << expected.q.size()
                                         << " values differ from the reference" << first_mismatch);
  CHECK_MESSAGE(nonzero_padding == 0,
                context << ": " << nonzero_padding << " padded channel values are not 0");
  CHECK_MESSAGE(changed_outside == 0, context
                                          << ": " << changed_outside
                                          << " values outside the view's padded channels changed");
}

// The activations the INT8 kernels offer.
struct Int8Activation {
  m2u::KernelActivation kernel;
  const char* name;
};

inline std::vector<Int8Activation> int8_activations() {
  return {{m2u::KernelActivation::kLinear, "linear"},
          {m2u::KernelActivation::kRelu, "relu"},
          {m2u::KernelActivation::kRelu6, "relu6"}};
}

}  // namespace int8_test

#endif  // M2U_TESTS_KERNELS_INT8_TEST_SUPPORT_H
