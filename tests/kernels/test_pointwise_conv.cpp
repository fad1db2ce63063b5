// test_pointwise_conv.cpp - pointwise_conv against the CPU reference
// (conv2d 1x1 with bias, activation, add) in FP32 and FP16 storage: odd
// widths on every tile shape, every activation, with and without a residual
// (also in place), a decoder concat buffer read whole (gap columns), input
// and output views that are slices of wider buffers, several schedules.
// FP16 (half2 arithmetic) is checked twice: against the same arithmetic
// (half2_conv_reference.h, exact but for the sigmoid's last ulp) and
// against the FP32 reference within kPointwiseHalf2Tolerance; each case
// reports its worst errors.
#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <vector>

#include "conv_kernels.h"
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
constexpr double kFp32Tolerance = kHalf2<T> ? kPointwiseHalf2Tolerance : Precision<T>::kTolerance;

// One case's worst errors (FP16 only: FP32 reports per test case).
template <typename T>
void report_case(const std::string& name, const WorstError& fp32, const SameArithmeticWorst& same) {
  if constexpr (kHalf2<T>) {
    MESSAGE("FP16 pointwise_conv " << name << ": worst relative error " << fp32.relative
                                   << " vs FP32 (tolerance " << kFp32Tolerance<T> << "), "
                                   << same.relative << " vs the same arithmetic (" << same.ulps
                                   << " half ulps)");
  }
}

// One pointwise layer: the input is the concatenation of `input_slices`
// (each starting at a padded offset, the view spanning them all from
// `input_offset` of a buffer `input_extra` channels wider), the output a
// slice at `output_offset` of a buffer `output_extra` channels wider.
struct PointwiseCase {
  std::string name;
  int batch;
  int height;
  int width;
  std::vector<int> input_slices;
  int input_offset;
  int input_extra;
  int out_channels;
  int output_offset;
  int output_extra;
  bool residual;
};

template <typename T>
void run_pointwise_case(const PointwiseCase& c, const std::vector<ActivationCase>& activations,
                        uint32_t seed, WorstError* worst) {
  constexpr float kForeign = 77.0f;  // channels of the buffers outside the views
  WorstError case_worst;
  SameArithmeticWorst same_worst;
  // Input buffer and the reference's concatenated input.
  std::vector<int> slice_offsets;
  int extent = 0;
  for (int channels : c.input_slices) {
    slice_offsets.push_back(c.input_offset + extent);
    extent += m2u::padded_channels<T>(channels);
  }
  const int view_channels = slice_offsets.back() - c.input_offset + c.input_slices.back();
  REQUIRE(m2u::padded_channels<T>(view_channels) == extent);
  const BufferShape input_shape{c.batch, c.height, c.width,
                                c.input_offset + extent + c.input_extra};
  std::vector<T> input_contents = filled_buffer<T>(input_shape, kForeign);
  HostTensor reference_input;
  std::vector<int> weight_columns;  // kernel weight column of each reference input channel
  for (size_t s = 0; s < c.input_slices.size(); ++s) {
    const HostTensor slice = rounded_to<T>(random_tensor(c.batch, c.input_slices[s], c.height,
                                                         c.width, seed + static_cast<uint32_t>(s)));
    write_slice(input_contents, input_shape, slice_offsets[s], slice);
    reference_input = s == 0 ? slice : m2u::ref::concat_channels(reference_input, slice);
    for (int ch = 0; ch < slice.c; ++ch)
      weight_columns.push_back(slice_offsets[s] - c.input_offset + ch);
  }
  const DeviceInput<T> input(input_shape, input_contents);

  const int in_channels = reference_input.c;
  const std::vector<float> weight =
      random_values(static_cast<size_t>(c.out_channels) * in_channels, seed + 10, -0.5f, 0.5f);
  const std::vector<float> bias = random_values(c.out_channels, seed + 11);
  std::vector<float> kernel_weight(static_cast<size_t>(c.out_channels) * extent, 0.0f);
  for (int co = 0; co < c.out_channels; ++co)
    for (int ci = 0; ci < in_channels; ++ci)
      kernel_weight[static_cast<size_t>(co) * extent + weight_columns[ci]] =
          weight[static_cast<size_t>(co) * in_channels + ci];
  DeviceBuffer<float> device_weight(kernel_weight.size());
  device_weight.upload(kernel_weight);
  DeviceBuffer<float> device_bias(bias.size());
  device_bias.upload(bias);

  const HostTensor residual =
      rounded_to<T>(random_tensor(c.batch, c.out_channels, c.height, c.width, seed + 12));
  const DeviceInput<T> device_residual = upload_tensor<T>(residual);
  const m2u::TensorView<const T> residual_view =
      c.residual ? device_residual.view(0, c.out_channels) : m2u::TensorView<const T>{};

  const HostTensor convolved =
      m2u::ref::conv2d(reference_input, weight, bias, c.out_channels, 1, 1, 1);
  // The view's padded channels as the kernel stages them, convolved in its arithmetic.
  const HostTensor half2_convolved =
      kHalf2<T>
          ? half2_pointwise_conv(read_slice(input_contents, input_shape, c.input_offset, extent),
                                 kernel_weight, bias, c.out_channels)
          : HostTensor();
  const BufferShape output_shape{
      c.batch, c.height, c.width,
      c.output_offset + m2u::padded_channels<T>(c.out_channels) + c.output_extra};
  const std::vector<T> before =
      output_before<T>(output_shape, c.output_offset, c.out_channels, kForeign);

  for (const ActivationCase& activation : activations) {
    HostTensor expected = m2u::ref::activation(convolved, activation.reference);
    if (c.residual) expected = m2u::ref::add(expected, residual);
    HostTensor same_expected;
    if constexpr (kHalf2<T>) {
      same_expected = m2u::ref::activation(half2_convolved, activation.reference);
      if (c.residual) same_expected = m2u::ref::add(same_expected, residual);
    }
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      DeviceBuffer<T> output(output_shape.elements());
      output.upload(before);
      const cudaError_t status = m2u::pointwise_conv<T>(
          input.view(c.input_offset, view_channels),
          view_of(output.data(), output_shape, c.output_offset, c.out_channels),
          device_weight.data(), device_bias.data(), activation.kernel, residual_view, nullptr);
      const std::string context = Precision<T>::name() + " " + c.name + " " + activation.name +
                                  " schedule " + std::to_string(schedule);
      REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
      check_output(output, before, output_shape, c.output_offset, expected, kFp32Tolerance<T>,
                   context, &case_worst);
      if constexpr (kHalf2<T>) {
        check_same_arithmetic(output, output_shape, c.output_offset, same_expected,
                              half2_ulp_tolerance(activation.kernel), context, &same_worst);
      }
    }
  }
  worst->record(case_worst.relative);
  report_case<T>(c.name, case_worst, same_worst);
}

}  // namespace

TEST_CASE_TEMPLATE("pointwise_conv matches the reference on every tile shape and activation", T,
                   float, __half) {
  WorstError worst;
  // 33 -> 5 (16-channel tiles), 19 -> 33 (64-channel tiles), 5 -> 19 (32-channel tiles).
  run_pointwise_case<T>({"2x17x34 33->5", 2, 17, 34, {33}, 0, 0, 5, 0, 0, false},
                        large_case_activations(all_activations()), 100, &worst);
  run_pointwise_case<T>({"2x17x34 19->33", 2, 17, 34, {19}, 0, 0, 33, 0, 0, false},
                        large_case_activations(all_activations()), 200, &worst);
  run_pointwise_case<T>({"1x9x18 5->19", 1, 9, 18, {5}, 0, 0, 19, 0, 0, false}, all_activations(),
                        300, &worst);
  // Several chunks of the reduction and several channel tiles.
  run_pointwise_case<T>({"1x9x17 72->130", 1, 9, 17, {72}, 0, 0, 130, 0, 0, false},
                        {all_activations()[2]}, 400, &worst);
  MESSAGE(Precision<T>::name() << " pointwise_conv worst relative error " << worst.relative);
}

TEST_CASE_TEMPLATE("pointwise_conv adds a residual after any activation", T, float, __half) {
  WorstError worst;
  run_pointwise_case<T>({"2x17x34 19->33 residual", 2, 17, 34, {19}, 0, 0, 33, 0, 0, true},
                        large_case_activations(all_activations()), 500, &worst);
  run_pointwise_case<T>({"2x9x17 33->5 residual", 2, 9, 17, {33}, 0, 0, 5, 0, 0, true},
                        all_activations(), 600, &worst);
  MESSAGE(Precision<T>::name() << " pointwise_conv with residual worst relative error "
                               << worst.relative);
}

TEST_CASE_TEMPLATE("pointwise_conv reads a whole concat buffer and writes into a slice", T, float,
                   __half) {
  WorstError worst;
  const ActivationCase relu6 = all_activations()[2];
  // decode1.ir1's expand: up(decode2) 30 channels ++ the 3-channel input, the gap at 30..31.
  run_pointwise_case<T>({"2x17x34 concat 30+3 -> 5", 2, 17, 34, {30, 3}, 0, 0, 5, 0, 0, false},
                        {relu6}, 700, &worst);
  // Cin 1: 30 ++ 1.
  run_pointwise_case<T>({"1x17x35 concat 30+1 -> 5", 1, 17, 35, {30, 1}, 0, 0, 5, 0, 0, false},
                        {relu6}, 800, &worst);
  // The skip tensor of the next encoder block: a slice at offset 32 (FP16: 40)
  // of a wider buffer, read by the next conv; the output into the slice at
  // offset 24 of a 24 + 24 + 8 buffer.
  const int skip_offset = m2u::padded_channels<T>(30);
  run_pointwise_case<T>(
      {"2x9x17 slice 19 -> slice 19", 2, 9, 17, {19}, skip_offset, 8, 19, 24, 8, false},
      all_activations(), 900, &worst);
  MESSAGE(Precision<T>::name() << " pointwise_conv on slices worst relative error "
                               << worst.relative);
}

TEST_CASE_TEMPLATE("pointwise_conv with the residual in the output buffer (in place)", T, float,
                   __half) {
  const int batch = 2, height = 9, width = 17, channels = 19;
  const HostTensor input = rounded_to<T>(random_tensor(batch, channels, height, width, 1000));
  const HostTensor residual = rounded_to<T>(random_tensor(batch, channels, height, width, 1001));
  const std::vector<float> weight =
      random_values(static_cast<size_t>(channels) * channels, 1002, -0.5f, 0.5f);
  const std::vector<float> bias = random_values(channels, 1003);
  const int padded = m2u::padded_channels<T>(channels);
  std::vector<float> kernel_weight(static_cast<size_t>(channels) * padded, 0.0f);
  for (int co = 0; co < channels; ++co)
    for (int ci = 0; ci < channels; ++ci)
      kernel_weight[co * padded + ci] = weight[co * channels + ci];
  DeviceBuffer<float> device_weight(kernel_weight.size());
  device_weight.upload(kernel_weight);
  DeviceBuffer<float> device_bias(bias.size());
  device_bias.upload(bias);
  const DeviceInput<T> device_input = upload_tensor<T>(input);
  const HostTensor expected =
      m2u::ref::add(m2u::ref::conv2d(input, weight, bias, channels, 1, 1, 1), residual);

  const BufferShape shape{batch, height, width, padded};
  HostTensor same_expected;
  if constexpr (kHalf2<T>) {
    std::vector<T> staged = filled_buffer<T>(shape);  // the input as the kernel reads it
    write_slice(staged, shape, 0, input);
    same_expected = m2u::ref::add(
        half2_pointwise_conv(read_slice(staged, shape, 0, padded), kernel_weight, bias, channels),
        residual);
  }
  std::vector<T> before = filled_buffer<T>(shape);
  write_slice(before, shape, 0, residual);
  WorstError worst;
  SameArithmeticWorst same_worst;
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<T> buffer(shape.elements());
    buffer.upload(before);
    const m2u::TensorView<T> output = view_of(buffer.data(), shape, 0, channels);
    const m2u::TensorView<const T> residual_view =
        view_of<const T>(buffer.data(), shape, 0, channels);
    REQUIRE(m2u::pointwise_conv<T>(device_input.view(0, channels), output, device_weight.data(),
                                   device_bias.data(), m2u::KernelActivation::kLinear,
                                   residual_view, nullptr) == cudaSuccess);
    const std::string context =
        Precision<T>::name() + " in place, schedule " + std::to_string(schedule);
    check_output(buffer, before, shape, 0, expected, kFp32Tolerance<T>, context, &worst);
    if constexpr (kHalf2<T>) {
      check_same_arithmetic(buffer, shape, 0, same_expected,
                            half2_ulp_tolerance(m2u::KernelActivation::kLinear), context,
                            &same_worst);
    }
  }
  MESSAGE(Precision<T>::name() << " pointwise_conv in place worst relative error "
                               << worst.relative);
  report_case<T>("2x9x17 19->19 in place", worst, same_worst);
}

TEST_CASE_TEMPLATE("pointwise_conv rejects views that do not fit", T, float, __half) {
  DeviceBuffer<T> buffer(2 * 3 * 5 * 32);
  DeviceBuffer<float> weight(64 * 32);
  const BufferShape shape{2, 3, 5, 32};
  const m2u::TensorView<const T> input = view_of<const T>(buffer.data(), shape, 0, 19);
  const m2u::TensorView<T> output = view_of(buffer.data(), shape, 0, 19);
  const m2u::TensorView<const T> none{};
  const auto run = [&](m2u::TensorView<const T> in, m2u::TensorView<T> out,
                       m2u::TensorView<const T> residual, const float* w) {
    return m2u::pointwise_conv<T>(in, out, w, weight.data(), m2u::KernelActivation::kRelu, residual,
                                  nullptr);
  };
  REQUIRE(run(input, output, none, weight.data()) == cudaSuccess);
  CHECK(run(input, output, none, nullptr) == cudaErrorInvalidValue);
  m2u::TensorView<const T> narrow = input;
  narrow.pixel_stride = m2u::padded_channels<T>(19) - m2u::ChannelAlignment<T>::value;
  CHECK(run(narrow, output, none, weight.data()) == cudaErrorInvalidValue);
  m2u::TensorView<const T> unaligned = input;
  unaligned.data += 1;
  CHECK(run(unaligned, output, none, weight.data()) == cudaErrorInvalidValue);
  m2u::TensorView<T> taller = output;
  taller.height = 2;
  CHECK(run(input, taller, none, weight.data()) == cudaErrorInvalidValue);
  m2u::TensorView<const T> wider_residual = input;
  wider_residual.channels = 20;
  CHECK(run(input, output, wider_residual, weight.data()) == cudaErrorInvalidValue);
  m2u::TensorView<const T> empty = input;
  empty.data = nullptr;
  CHECK(run(empty, output, none, weight.data()) == cudaErrorInvalidValue);
}
