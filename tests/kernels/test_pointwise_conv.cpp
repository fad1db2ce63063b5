// test_pointwise_conv.cpp - pointwise_conv against the CPU reference
// (conv2d 1x1 with bias, activation, add) in FP32 and FP16 storage: odd
// widths on every tile shape, every activation, with and without a residual
// (also in place), a decoder concat buffer read whole (gap columns), input
// and output views that are slices of wider buffers, several schedules;
// also the FP32-arithmetic variant on half storage (half -> half, half ->
// FP32), whose half output may differ from the FP32 reference by its one
// rounding only.
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

// What a case runs: the input's and the output's storage and the
// arithmetic. pointwise_conv<T> multiplies in FP32 for float and in half2
// for __half; pointwise_conv_float_arithmetic<Tin, Tout> in FP32 on any
// storage (FP16's layers kept in FP32, layer_precision.h).
template <typename InT, typename OutT, bool kHalf2Arithmetic>
struct Variant {
  using Tin = InT;
  using Tout = OutT;
  static constexpr bool kHalf2 = kHalf2Arithmetic;
  static constexpr bool kFloatOnHalf = !kHalf2 && !std::is_same<Tin, float>::value;
  // Against the FP32 reference: half2's tolerance; FP32 arithmetic storing
  // half rounds once, at the store, by at most 2^-11 = 4.9e-4 of the value
  // (a few 1e-6 more for float sums against double ones): 5e-4; FP32
  // storage, FP32's own tolerance.
  static constexpr double kFp32Tolerance = kHalf2                                    ? kPointwiseHalf2Tolerance
                                           : kFloatOnHalf && std::is_same<Tout, __half>::value ? 5e-4
                                                                                              : Precision<Tout>::kTolerance;
  static std::string name() {
    if (!kFloatOnHalf) return Precision<Tout>::name();
    return Precision<Tin>::name() + " -> " + Precision<Tout>::name() + " in FP32 arithmetic";
  }
  static cudaError_t run(m2u::TensorView<const Tin> input, m2u::TensorView<Tout> output, const float* weight,
                         const float* bias, m2u::KernelActivation activation,
                         m2u::TensorView<const Tout> residual) {
    if constexpr (kFloatOnHalf) {
      return m2u::pointwise_conv_float_arithmetic<Tin, Tout>(input, output, weight, bias, activation, residual,
                                                             nullptr);
    } else {
      return m2u::pointwise_conv<Tin>(input, output, weight, bias, activation, residual, nullptr);
    }
  }
};
template <typename T>
using StorageVariant = Variant<T, T, std::is_same<T, __half>::value>;
using HalfInFloatArithmetic = Variant<__half, __half, false>;
using HalfToFloat = Variant<__half, float, false>;

template <typename T>
constexpr bool kHalf2 = StorageVariant<T>::kHalf2;
template <typename T>
constexpr double kFp32Tolerance = StorageVariant<T>::kFp32Tolerance;

// One case's worst errors (FP16 only: FP32 reports per test case).
template <typename V>
void report_case(const std::string& name, const WorstError& fp32, const SameArithmeticWorst& same) {
  if constexpr (V::kHalf2) {
    MESSAGE("FP16 pointwise_conv " << name << ": worst relative error " << fp32.relative
                                   << " vs FP32 (tolerance " << V::kFp32Tolerance << "), "
                                   << same.relative << " vs the same arithmetic (" << same.ulps
                                   << " half ulps)");
  } else if constexpr (V::kFloatOnHalf) {
    MESSAGE(V::name() << " pointwise_conv " << name << ": worst relative error " << fp32.relative
                      << " vs FP32 (tolerance " << V::kFp32Tolerance << ")");
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

template <typename V>
void run_variant_case(const PointwiseCase& c, const std::vector<ActivationCase>& activations,
                        uint32_t seed, WorstError* worst) {
  using Tin = typename V::Tin;
  using Tout = typename V::Tout;
  constexpr float kForeign = 77.0f;  // channels of the buffers outside the views
  WorstError case_worst;
  SameArithmeticWorst same_worst;
  // Input buffer and the reference's concatenated input.
  std::vector<int> slice_offsets;
  int extent = 0;
  for (int channels : c.input_slices) {
    slice_offsets.push_back(c.input_offset + extent);
    extent += m2u::padded_channels<Tin>(channels);
  }
  const int view_channels = slice_offsets.back() - c.input_offset + c.input_slices.back();
  REQUIRE(m2u::padded_channels<Tin>(view_channels) == extent);
  const BufferShape input_shape{c.batch, c.height, c.width,
                                c.input_offset + extent + c.input_extra};
  std::vector<Tin> input_contents = filled_buffer<Tin>(input_shape, kForeign);
  HostTensor reference_input;
  std::vector<int> weight_columns;  // kernel weight column of each reference input channel
  for (size_t s = 0; s < c.input_slices.size(); ++s) {
    const HostTensor slice = rounded_to<Tin>(random_tensor(c.batch, c.input_slices[s], c.height,
                                                         c.width, seed + static_cast<uint32_t>(s)));
    write_slice(input_contents, input_shape, slice_offsets[s], slice);
    reference_input = s == 0 ? slice : m2u::ref::concat_channels(reference_input, slice);
    for (int ch = 0; ch < slice.c; ++ch)
      weight_columns.push_back(slice_offsets[s] - c.input_offset + ch);
  }
  const DeviceInput<Tin> input(input_shape, input_contents);

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
      rounded_to<Tout>(random_tensor(c.batch, c.out_channels, c.height, c.width, seed + 12));
  const DeviceInput<Tout> device_residual = upload_tensor<Tout>(residual);
  const m2u::TensorView<const Tout> residual_view =
      c.residual ? device_residual.view(0, c.out_channels) : m2u::TensorView<const Tout>{};

  const HostTensor convolved =
      m2u::ref::conv2d(reference_input, weight, bias, c.out_channels, 1, 1, 1);
  // The view's padded channels as the kernel stages them, convolved in its arithmetic.
  const HostTensor half2_convolved =
      V::kHalf2
          ? half2_pointwise_conv(read_slice(input_contents, input_shape, c.input_offset, extent),
                                 kernel_weight, bias, c.out_channels)
          : HostTensor();
  const BufferShape output_shape{
      c.batch, c.height, c.width,
      c.output_offset + m2u::padded_channels<Tout>(c.out_channels) + c.output_extra};
  const std::vector<Tout> before =
      output_before<Tout>(output_shape, c.output_offset, c.out_channels, kForeign);

  for (const ActivationCase& activation : activations) {
    HostTensor expected = m2u::ref::activation(convolved, activation.reference);
    if (c.residual) expected = m2u::ref::add(expected, residual);
    HostTensor same_expected;
    if constexpr (V::kHalf2) {
      same_expected = m2u::ref::activation(half2_convolved, activation.reference);
      if (c.residual) same_expected = m2u::ref::add(same_expected, residual);
    }
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      DeviceBuffer<Tout> output(output_shape.elements());
      output.upload(before);
      const cudaError_t status =
          V::run(input.view(c.input_offset, view_channels),
                 view_of(output.data(), output_shape, c.output_offset, c.out_channels), device_weight.data(),
                 device_bias.data(), activation.kernel, residual_view);
      const std::string context = V::name() + " " + c.name + " " + activation.name +
                                  " schedule " + std::to_string(schedule);
      REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
      check_output(output, before, output_shape, c.output_offset, expected, V::kFp32Tolerance,
                   context, &case_worst);
      if constexpr (V::kHalf2) {
        check_same_arithmetic(output, output_shape, c.output_offset, same_expected,
                              half2_ulp_tolerance(activation.kernel), context, &same_worst);
      }
    }
  }
  worst->record(case_worst.relative);
  report_case<V>(c.name, case_worst, same_worst);
}

template <typename T>
void run_pointwise_case(const PointwiseCase& c, const std::vector<ActivationCase>& activations,
                        uint32_t seed, WorstError* worst) {
  run_variant_case<StorageVariant<T>>(c, activations, seed, worst);
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
  report_case<StorageVariant<T>>("2x9x17 19->19 in place", worst, same_worst);
}

TEST_CASE_TEMPLATE("pointwise_conv_float_arithmetic on half storage: FP32 sums, one rounding at a half store", V,
                   HalfInFloatArithmetic, HalfToFloat) {
  // FP16's layers in FP32 arithmetic: conv1, decode4 and decode3 (half ->
  // half), decode2's and decode1's expand (a half concat buffer -> FP32).
  WorstError worst;
  const std::vector<ActivationCase> relu6{all_activations()[2]};
  const std::vector<ActivationCase> linear{all_activations()[0]};
  run_variant_case<V>({"2x17x34 33->5", 2, 17, 34, {33}, 0, 0, 5, 0, 0, false},
                      large_case_activations(all_activations()), 1100, &worst);
  run_variant_case<V>({"1x9x18 5->19", 1, 9, 18, {5}, 0, 0, 19, 0, 0, false}, all_activations(), 1150, &worst);
  run_variant_case<V>({"1x9x17 72->130", 1, 9, 17, {72}, 0, 0, 130, 0, 0, false}, relu6, 1200, &worst);
  run_variant_case<V>({"1x17x35 concat 30+1 -> 5", 1, 17, 35, {30, 1}, 0, 0, 5, 0, 0, false}, relu6, 1300,
                      &worst);
  run_variant_case<V>({"2x9x17 19->19 residual", 2, 9, 17, {19}, 0, 0, 19, 0, 0, true}, linear, 1400, &worst);
  run_variant_case<V>({"2x9x17 slice 19 -> slice 19", 2, 9, 17, {19}, m2u::padded_channels<__half>(30), 8, 19,
                       24, 8, false},
                      relu6, 1500, &worst);
  MESSAGE(V::name() << " pointwise_conv worst relative error " << worst.relative);
}

TEST_CASE("pointwise_conv_float_arithmetic checks each view against its own storage's padding") {
  const BufferShape half_shape{1, 3, 5, 24};
  const BufferShape float_shape{1, 3, 5, 20};
  DeviceBuffer<__half> input(half_shape.elements());
  DeviceBuffer<float> output(float_shape.elements());
  DeviceBuffer<float> weight(19 * 24);
  const m2u::TensorView<const __half> in = view_of<const __half>(input.data(), half_shape, 0, 19);
  const m2u::TensorView<float> out = view_of(output.data(), float_shape, 0, 19);
  const auto run = [&](m2u::TensorView<const __half> i, m2u::TensorView<float> o) {
    return m2u::pointwise_conv_float_arithmetic<__half, float>(i, o, weight.data(), weight.data(),
                                                               m2u::KernelActivation::kRelu6,
                                                               m2u::TensorView<const float>{}, nullptr);
  };
  REQUIRE(run(in, out) == cudaSuccess);  // 19 channels: 24 halves in, 20 floats out
  m2u::TensorView<float> narrow_out = out;
  narrow_out.pixel_stride = 18;  // fewer than padded_channels<float>(19)
  CHECK(run(in, narrow_out) == cudaErrorInvalidValue);
  m2u::TensorView<const __half> narrow_in = in;
  narrow_in.pixel_stride = 20;  // a float padding is not a half one
  CHECK(run(narrow_in, out) == cudaErrorInvalidValue);
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
