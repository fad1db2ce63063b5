// test_depthwise_conv.cpp - depthwise_conv against the CPU reference
// (conv2d 3x3 with groups = channels, bias, activation) in FP32 and FP16
// storage: odd sizes at stride 1 and 2, 33 / 19 / 5 channels, every
// activation, input and output views that are slices of wider buffers,
// several schedules. FP16 (half2 arithmetic) is checked twice: against the
// same arithmetic (half2_conv_reference.h, exact but for the sigmoid's last
// ulp) and against the FP32 reference within kDepthwiseHalf2Tolerance; each
// case reports its worst errors. The FP32-arithmetic variant on half
// storage (FP16's conv1, decode4, decode3) may differ from the FP32
// reference by its output's one rounding only.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "conv_kernels.h"
#include "depthwise_layout.h"
#include "emu_test_support.h"
#include "half2_conv_reference.h"
#include "kernel_test_support.h"
#include "reference_ops.h"

namespace {

using namespace kernel_test;

template <typename T>
constexpr bool kHalf2 = std::is_same<T, __half>::value;

// The tolerance of T's path against the FP32 reference.
template <typename T>
constexpr double kFp32Tolerance = kHalf2<T> ? kDepthwiseHalf2Tolerance : Precision<T>::kTolerance;
// depthwise_conv_float_arithmetic<__half>: one rounding at the store, at
// most 2^-11 = 4.9e-4 of the value, plus float sums against double ones.
constexpr double kFloatOnHalfTolerance = 5e-4;

// The input at `input_offset` of a buffer `input_extra` channels wider than
// its padded slice; the output likewise.
struct DepthwiseCase {
  std::string name;
  int batch;
  int height;
  int width;
  int channels;
  int stride;
  int input_offset;
  int input_extra;
  int output_offset;
  int output_extra;
};

// kFloatArithmetic: depthwise_conv_float_arithmetic<T> instead of
// depthwise_conv<T> (the same for float).
template <typename T, bool kFloatArithmetic = false>
void run_depthwise_case(const DepthwiseCase& c, const std::vector<ActivationCase>& activations,
                        uint32_t seed, WorstError* worst) {
  constexpr bool kHalf2Path = kHalf2<T> && !kFloatArithmetic;
  constexpr double kTolerance = kHalf2Path ? kFp32Tolerance<T> : kHalf2<T> ? kFloatOnHalfTolerance : kFp32Tolerance<T>;
  const std::string name = Precision<T>::name() + (kHalf2<T> && kFloatArithmetic ? " in FP32 arithmetic" : "");
  constexpr float kForeign = -55.0f;
  WorstError case_worst;
  SameArithmeticWorst same_worst;
  const int padded = m2u::padded_channels<T>(c.channels);
  const HostTensor input =
      rounded_to<T>(random_tensor(c.batch, c.channels, c.height, c.width, seed));
  const BufferShape input_shape{c.batch, c.height, c.width,
                                c.input_offset + padded + c.input_extra};
  std::vector<T> input_contents = filled_buffer<T>(input_shape, kForeign);
  write_slice(input_contents, input_shape, c.input_offset, input);
  const DeviceInput<T> device_input(input_shape, input_contents);

  const std::vector<float> weight = random_values(static_cast<size_t>(c.channels) * 9, seed + 1);
  const std::vector<float> bias = random_values(c.channels, seed + 2);
  const std::vector<float> kernel_weight = kernel_test::tap_major_depthwise(weight, c.channels);
  DeviceBuffer<float> device_weight(kernel_weight.size());
  device_weight.upload(kernel_weight);
  DeviceBuffer<float> device_bias(bias.size());
  device_bias.upload(bias);

  const HostTensor convolved =
      m2u::ref::conv2d(input, weight, bias, c.channels, 3, c.stride, c.channels);
  const HostTensor half2_convolved =
      kHalf2Path ? half2_depthwise_conv(input, weight, bias, c.stride) : HostTensor();
  const BufferShape output_shape{c.batch, convolved.h, convolved.w,
                                 c.output_offset + padded + c.output_extra};
  const std::vector<T> before =
      output_before<T>(output_shape, c.output_offset, c.channels, kForeign);

  for (const ActivationCase& activation : activations) {
    const HostTensor expected = m2u::ref::activation(convolved, activation.reference);
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      DeviceBuffer<T> output(output_shape.elements());
      output.upload(before);
      const auto launch = kFloatArithmetic ? m2u::depthwise_conv_float_arithmetic<T> : m2u::depthwise_conv<T>;
      const cudaError_t status =
          launch(device_input.view(c.input_offset, c.channels),
                 view_of(output.data(), output_shape, c.output_offset, c.channels), device_weight.data(),
                 device_bias.data(), c.stride, activation.kernel, nullptr);
      const std::string context = name + " " + c.name + " " + activation.name +
                                  " schedule " + std::to_string(schedule);
      REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
      check_output(output, before, output_shape, c.output_offset, expected, kTolerance,
                   context, &case_worst);
      if constexpr (kHalf2Path) {
        check_same_arithmetic(output, output_shape, c.output_offset,
                              m2u::ref::activation(half2_convolved, activation.reference),
                              half2_ulp_tolerance(activation.kernel), context, &same_worst);
      }
    }
  }
  worst->record(case_worst.relative);
  if constexpr (kHalf2Path) {
    MESSAGE("FP16 depthwise_conv " << c.name << ": worst relative error " << case_worst.relative
                                   << " vs FP32 (tolerance " << kTolerance << "), "
                                   << same_worst.relative << " vs the same arithmetic ("
                                   << same_worst.ulps << " half ulps)");
  } else if constexpr (kHalf2<T>) {
    MESSAGE(name << " depthwise_conv " << c.name << ": worst relative error " << case_worst.relative
                 << " vs FP32 (tolerance " << kTolerance << ")");
  }
}

}  // namespace

TEST_CASE_TEMPLATE("depthwise_conv matches the reference at stride 1 and 2", T, float, __half) {
  WorstError worst;
  run_depthwise_case<T>({"2x17x34 33ch stride 1", 2, 17, 34, 33, 1, 0, 0, 0, 0},
                        large_case_activations(all_activations()), 10, &worst);
  run_depthwise_case<T>({"2x17x35 19ch stride 2", 2, 17, 35, 19, 2, 0, 0, 0, 0},
                        large_case_activations(all_activations()), 20, &worst);
  run_depthwise_case<T>({"1x9x18 5ch stride 2", 1, 9, 18, 5, 2, 0, 0, 0, 0}, all_activations(), 30,
                        &worst);
  run_depthwise_case<T>({"1x9x18 5ch stride 1", 1, 9, 18, 5, 1, 0, 0, 0, 0}, {all_activations()[2]},
                        40, &worst);
  // Images smaller than the kernel: every tap but the centre is padding.
  run_depthwise_case<T>({"2x1x2 19ch stride 2", 2, 1, 2, 19, 2, 0, 0, 0, 0}, {all_activations()[0]},
                        50, &worst);
  run_depthwise_case<T>({"1x2x1 19ch stride 1", 1, 2, 1, 19, 1, 0, 0, 0, 0}, {all_activations()[0]},
                        60, &worst);
  MESSAGE(Precision<T>::name() << " depthwise_conv worst relative error " << worst.relative);
}

TEST_CASE_TEMPLATE("depthwise_conv reads and writes slices of wider buffers", T, float, __half) {
  WorstError worst;
  const int offset = m2u::ChannelAlignment<T>::value * 3;
  run_depthwise_case<T>({"2x17x35 19ch stride 2 slices", 2, 17, 35, 19, 2, offset, 8, 8, 16},
                        {all_activations()[1]}, 70, &worst);
  run_depthwise_case<T>({"2x9x17 33ch stride 1 slices", 2, 9, 17, 33, 1, 0, 16, offset, 8},
                        {all_activations()[3]}, 80, &worst);
  MESSAGE(Precision<T>::name() << " depthwise_conv on slices worst relative error "
                               << worst.relative);
}

TEST_CASE("depthwise_conv_float_arithmetic on half storage: FP32 sums, one rounding at the store") {
  WorstError worst;
  run_depthwise_case<__half, true>({"2x17x34 33ch stride 1", 2, 17, 34, 33, 1, 0, 0, 0, 0},
                                   large_case_activations(all_activations()), 110, &worst);
  run_depthwise_case<__half, true>({"2x17x35 19ch stride 2", 2, 17, 35, 19, 2, 0, 0, 0, 0},
                                   {all_activations()[2]}, 120, &worst);
  run_depthwise_case<__half, true>({"1x9x18 5ch stride 2", 1, 9, 18, 5, 2, 0, 0, 0, 0}, all_activations(), 130,
                                   &worst);
  run_depthwise_case<__half, true>({"2x1x2 19ch stride 2", 2, 1, 2, 19, 2, 0, 0, 0, 0}, {all_activations()[0]},
                                   140, &worst);
  run_depthwise_case<__half, true>({"2x9x17 33ch stride 1 slices", 2, 9, 17, 33, 1, 24, 16, 8, 8},
                                   {all_activations()[3]}, 150, &worst);
  MESSAGE("FP16 in FP32 arithmetic depthwise_conv worst relative error " << worst.relative);
}

TEST_CASE_TEMPLATE("depthwise_conv rejects views that do not fit", T, float, __half) {
  const BufferShape input_shape{2, 17, 35, 24};
  const BufferShape output_shape{2, 9, 18, 24};
  DeviceBuffer<T> input_buffer(input_shape.elements());
  DeviceBuffer<T> output_buffer(output_shape.elements());
  DeviceBuffer<float> weight(static_cast<size_t>(9) * m2u::depthwise_weight_row(19));
  const m2u::TensorView<const T> input = view_of<const T>(input_buffer.data(), input_shape, 0, 19);
  const m2u::TensorView<T> output = view_of(output_buffer.data(), output_shape, 0, 19);
  const auto run = [&](m2u::TensorView<const T> in, m2u::TensorView<T> out, int stride) {
    return m2u::depthwise_conv<T>(in, out, weight.data(), weight.data(), stride,
                                  m2u::KernelActivation::kRelu6, nullptr);
  };
  REQUIRE(run(input, output, 2) == cudaSuccess);
  // The tap-major weights are read as float4: they must be 16-byte aligned.
  CHECK(m2u::depthwise_conv<T>(input, output, weight.data() + 1, weight.data(), 2, m2u::KernelActivation::kRelu6,
                               nullptr) == cudaErrorInvalidValue);
  CHECK(run(input, output, 1) == cudaErrorInvalidValue);
  CHECK(run(input, output, 3) == cudaErrorInvalidValue);
  m2u::TensorView<T> fewer_channels = output;
  fewer_channels.channels = 18;
  CHECK(run(input, fewer_channels, 2) == cudaErrorInvalidValue);
  m2u::TensorView<const T> narrow = input;
  narrow.pixel_stride = 20 - m2u::ChannelAlignment<T>::value;
  CHECK(run(narrow, output, 2) == cudaErrorInvalidValue);
  m2u::TensorView<T> other_batch = output;
  other_batch.batch = 1;
  CHECK(run(input, other_batch, 2) == cudaErrorInvalidValue);
}
