// test_pointwise_conv_int8.cpp - pointwise_conv_int8 against the CPU
// reference of the same arithmetic (int8_test_support.h), every int8 equal:
// both dot-product paths (dp4a and scalar; in the emulation and on sm_61+
// "native" is dp4a, on sm_53 both are the scalar code), odd widths on every
// tile shape, channel counts that are not multiples of 16, several
// reduction chunks and channel tiles, every activation, a residual (also in
// place, through the default launcher), a decoder concat buffer read whole
// (gap columns), input and output views that are slices of wider buffers,
// outputs that saturate at +-127, ties rounded to even, the largest K, the
// poisoned padding and untouched neighbours and guards of every output
// buffer, several schedules; and the arguments the launcher refuses.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "conv_kernels_int8.h"
#include "emu_test_support.h"
#include "int8_test_support.h"

namespace {

using namespace int8_test;

struct DotPathCase {
  m2u::Int8DotPath path;
  const char* name;
};

const std::vector<DotPathCase> kDotPaths = {{m2u::Int8DotPath::kNative, "native"},
                                            {m2u::Int8DotPath::kScalar, "scalar"}};

// Multipliers that spread the sums of K products of random int8 values in
// [-127, 127] (standard deviation sqrt(K) * 127^2 / 3) over about +-1 real
// units; `output_inverse_scale` 40 puts +-127 at about 3 of them.
ScaleChoice spread_scales(int reduce_channels, float output_inverse_scale) {
  const float unit =
      1.0f / (std::sqrt(static_cast<float>(reduce_channels)) * 127.0f * 127.0f / 3.0f);
  return ScaleChoice{0.5f * unit, 1.5f * unit, 0.5f, output_inverse_scale};
}

// acc[p][co] over the view's padded channels as they are in the buffer (gap
// columns included), then the epilogue; with a residual real + q_r * scale.
QTensor reference_pointwise(const std::vector<int8_t>& input, const BufferShape& input_shape,
                            int input_offset, int reduce_channels,
                            const std::vector<int8_t>& weight, const Requant& requant,
                            m2u::KernelActivation activation, const QTensor* residual,
                            float residual_scale) {
  const int out_channels = static_cast<int>(requant.multiplier.size());
  QTensor out(input_shape.batch, input_shape.height, input_shape.width, out_channels);
  for (int b = 0; b < out.n; ++b)
    for (int y = 0; y < out.h; ++y)
      for (int x = 0; x < out.w; ++x)
        for (int co = 0; co < out_channels; ++co) {
          int32_t acc = 0;
          for (int k = 0; k < reduce_channels; ++k) {
            acc += int32_t{input[input_shape.index(b, y, x, input_offset + k)]} *
                   int32_t{weight[static_cast<size_t>(co) * reduce_channels + k]};
          }
          float real =
              reference_activated(acc, requant.multiplier[co], requant.bias[co], activation);
          if (residual != nullptr) {
            const float residual_real =
                static_cast<float>(residual->at(b, y, x, co)) * residual_scale;
            real = real + residual_real;
          }
          out.at(b, y, x, co) = reference_quantized(real, requant.output_inverse_scale);
        }
  return out;
}

// One pointwise layer: the input is the concatenation of `input_slices`
// (each at a padded offset, the view spanning them all from `input_offset`
// of a buffer `input_extra` channels wider), the output a slice at
// `output_offset` of a buffer `output_extra` channels wider. Inputs and
// weights are random in [-q_range, q_range]; `scales` empty: spread_scales(K, 40).
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
  int q_range;
  ScaleChoice scales;
};

constexpr float kResidualScale = 0.02f;
constexpr int8_t kForeign = 77;

// Runs `c` for every activation, dot path and schedule; returns the
// reference outputs of the first activation (for checks of the case's values).
QTensor run_pointwise_case(const PointwiseCase& c, const std::vector<Int8Activation>& activations,
                           uint32_t seed) {
  std::vector<int> slice_offsets;
  int extent = 0;
  for (int channels : c.input_slices) {
    slice_offsets.push_back(c.input_offset + extent);
    extent += m2u::padded_channels<int8_t>(channels);
  }
  const int view_channels = slice_offsets.back() - c.input_offset + c.input_slices.back();
  REQUIRE(m2u::padded_channels<int8_t>(view_channels) == extent);
  const BufferShape input_shape{c.batch, c.height, c.width,
                                c.input_offset + extent + c.input_extra};
  std::vector<int8_t> input_contents = filled_buffer(input_shape, kForeign);
  std::vector<bool> real_column(extent, false);
  for (size_t s = 0; s < c.input_slices.size(); ++s) {
    write_slice(input_contents, input_shape, slice_offsets[s],
                random_qtensor(c.batch, c.height, c.width, c.input_slices[s],
                               seed + static_cast<uint32_t>(s), -c.q_range, c.q_range));
    for (int ch = 0; ch < c.input_slices[s]; ++ch)
      real_column[slice_offsets[s] - c.input_offset + ch] = true;
  }
  const DeviceInput<int8_t> input(input_shape, input_contents);

  // Weight rows [Cout][K], zeros in the padding and gap columns.
  std::vector<int8_t> weight =
      random_q(static_cast<size_t>(c.out_channels) * extent, seed + 10, -c.q_range, c.q_range);
  for (int co = 0; co < c.out_channels; ++co)
    for (int k = 0; k < extent; ++k)
      if (!real_column[k]) weight[static_cast<size_t>(co) * extent + k] = 0;
  DeviceBuffer<int8_t> device_weight(weight.size());
  device_weight.upload(weight);
  const ScaleChoice scales =
      c.scales.multiplier_high > 0.0f ? c.scales : spread_scales(extent, 40.0f);
  const Requant requant = random_requant(c.out_channels, scales, seed + 11);
  const DeviceRequant device_requant(requant);

  const QTensor residual = random_qtensor(c.batch, c.height, c.width, c.out_channels, seed + 12);
  const DeviceInput<int8_t> device_residual = [&] {
    const BufferShape shape{c.batch, c.height, c.width,
                            m2u::padded_channels<int8_t>(c.out_channels)};
    std::vector<int8_t> contents = filled_buffer(shape, kForeign);
    write_slice(contents, shape, 0, residual);
    return DeviceInput<int8_t>(shape, contents);
  }();
  const m2u::TensorView<const int8_t> residual_view =
      c.residual ? device_residual.view(0, c.out_channels) : m2u::TensorView<const int8_t>{};

  const BufferShape output_shape{
      c.batch, c.height, c.width,
      c.output_offset + m2u::padded_channels<int8_t>(c.out_channels) + c.output_extra};
  const std::vector<int8_t> before =
      output_before(output_shape, c.output_offset, c.out_channels, kForeign);

  QTensor first_expected;
  for (const Int8Activation& activation : activations) {
    const QTensor expected =
        reference_pointwise(input_contents, input_shape, c.input_offset, extent, weight, requant,
                            activation.kernel, c.residual ? &residual : nullptr, kResidualScale);
    if (first_expected.q.empty()) first_expected = expected;
    for (const DotPathCase& path : kDotPaths) {
      for (uint64_t schedule : emu_test::test_seeds()) {
        emu_test::ScopedSeed scoped(schedule);
        DeviceBuffer<int8_t> output(output_shape.elements());
        output.upload(before);
        const cudaError_t status = m2u::pointwise_conv_int8_on_path(
            input.view(c.input_offset, view_channels),
            view_of(output.data(), output_shape, c.output_offset, c.out_channels),
            device_weight.data(), device_requant.view(), activation.kernel, residual_view,
            kResidualScale, path.path, nullptr);
        const std::string context = c.name + " " + activation.name + " " + path.name +
                                    " schedule " + std::to_string(schedule);
        REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
        check_output(output, before, output_shape, c.output_offset, expected, context);
      }
    }
  }
  return first_expected;
}

}  // namespace

TEST_CASE("pointwise_conv_int8 matches the reference on every tile shape, activation and path") {
  // 33 -> 5 (16-channel tiles), 19 -> 33 (64-channel tiles), 5 -> 19 (32-channel tiles).
  run_pointwise_case({"2x17x34 33->5", 2, 17, 34, {33}, 0, 0, 5, 0, 0, false, 127, {}},
                     large_case_activations(int8_activations()), 100);
  run_pointwise_case({"2x17x34 19->33", 2, 17, 34, {19}, 0, 0, 33, 0, 0, false, 127, {}},
                     large_case_activations(int8_activations()), 200);
  run_pointwise_case({"1x9x18 5->19", 1, 9, 18, {5}, 0, 0, 19, 0, 0, false, 127, {}},
                     int8_activations(), 300);
  // Several chunks of the reduction and several channel tiles.
  run_pointwise_case({"1x9x17 72->130", 1, 9, 17, {72}, 0, 0, 130, 0, 0, false, 127, {}},
                     int8_activations(), 400);
}

TEST_CASE("pointwise_conv_int8 adds a residual after any activation") {
  run_pointwise_case({"2x17x34 19->33 residual", 2, 17, 34, {19}, 0, 0, 33, 0, 0, true, 127, {}},
                     large_case_activations(int8_activations()), 500);
  run_pointwise_case({"2x9x17 33->5 residual", 2, 9, 17, {33}, 0, 0, 5, 0, 0, true, 127, {}},
                     int8_activations(), 600);
}

TEST_CASE("pointwise_conv_int8 reads a whole concat buffer and writes into a slice") {
  const std::vector<Int8Activation> relu6 = {int8_activations()[2]};
  // up(decode2) 30 channels ++ the 3-channel input, the gap at 30..31.
  run_pointwise_case(
      {"2x17x34 concat 30+3 -> 5", 2, 17, 34, {30, 3}, 0, 0, 5, 0, 0, false, 127, {}}, relu6, 700);
  // A slice at offset 32 of a 32 + 32 + 16 buffer into the slice at 32 of another.
  run_pointwise_case(
      {"2x9x17 slice 19 -> slice 19", 2, 9, 17, {19}, 32, 16, 19, 32, 16, false, 127, {}},
      int8_activations(), 900);
}

TEST_CASE("pointwise_conv_int8 saturates at +-127 and rounds ties to even") {
  // Outputs 25 times the +-127 range: most values clamp, both ways.
  const QTensor saturated = run_pointwise_case({"2x9x17 72->19 saturating",
                                                2,
                                                9,
                                                17,
                                                {72},
                                                0,
                                                0,
                                                19,
                                                0,
                                                0,
                                                true,
                                                127,
                                                spread_scales(80, 1000.0f)},
                                               int8_activations(), 1100);
  const int clamped = saturated_count(saturated);
  MESSAGE("saturating case: " << clamped << " of " << saturated.q.size() << " outputs at +-127");
  CHECK(clamped > static_cast<int>(saturated.q.size()) / 2);
  // Multiplier 2^-7, no bias, inverse scale 1: a sum that is 64 modulo 128
  // is a tie (k + 0.5), rounded to the even neighbour.
  const float step = std::ldexp(1.0f, -7);
  const QTensor ties = run_pointwise_case({"2x9x17 16->19 ties",
                                           2,
                                           9,
                                           17,
                                           {16},
                                           0,
                                           0,
                                           19,
                                           0,
                                           0,
                                           false,
                                           20,
                                           ScaleChoice{step, step, 0.0f, 1.0f}},
                                          {int8_activations()[0]}, 1200);
  CHECK(saturated_count(ties) == 0);
}

TEST_CASE("pointwise_conv_int8 with the residual in the output buffer (in place)") {
  const int batch = 2, height = 9, width = 17, channels = 19;
  const int padded = m2u::padded_channels<int8_t>(channels);
  const BufferShape shape{batch, height, width, padded};
  const QTensor input = random_qtensor(batch, height, width, channels, 1000);
  const QTensor residual = random_qtensor(batch, height, width, channels, 1001);
  std::vector<int8_t> input_contents = filled_buffer(shape, 0);
  write_slice(input_contents, shape, 0, input);
  const DeviceInput<int8_t> device_input(shape, input_contents);
  std::vector<int8_t> weight = random_q(static_cast<size_t>(channels) * padded, 1002, -127, 127);
  for (int co = 0; co < channels; ++co)
    for (int k = channels; k < padded; ++k) weight[static_cast<size_t>(co) * padded + k] = 0;
  DeviceBuffer<int8_t> device_weight(weight.size());
  device_weight.upload(weight);
  const Requant requant = random_requant(channels, spread_scales(padded, 40.0f), 1003);
  const DeviceRequant device_requant(requant);
  const QTensor expected =
      reference_pointwise(input_contents, shape, 0, padded, weight, requant,
                          m2u::KernelActivation::kLinear, &residual, kResidualScale);

  std::vector<int8_t> before = filled_buffer(shape, kPoison);
  write_slice(before, shape, 0, residual);
  for (const DotPathCase& path : kDotPaths) {
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      DeviceBuffer<int8_t> buffer(shape.elements());
      buffer.upload(before);
      const m2u::TensorView<int8_t> output = view_of(buffer.data(), shape, 0, channels);
      const m2u::TensorView<const int8_t> residual_view =
          view_of<const int8_t>(buffer.data(), shape, 0, channels);
      // The native path through the engine's launcher.
      const cudaError_t status =
          path.path == m2u::Int8DotPath::kNative
              ? m2u::pointwise_conv_int8(device_input.view(0, channels), output,
                                         device_weight.data(), device_requant.view(),
                                         m2u::KernelActivation::kLinear, residual_view,
                                         kResidualScale, nullptr)
              : m2u::pointwise_conv_int8_on_path(device_input.view(0, channels), output,
                                                 device_weight.data(), device_requant.view(),
                                                 m2u::KernelActivation::kLinear, residual_view,
                                                 kResidualScale, path.path, nullptr);
      REQUIRE(status == cudaSuccess);
      check_output(buffer, before, shape, 0, expected,
                   std::string("in place ") + path.name + " schedule " + std::to_string(schedule));
    }
  }
}

TEST_CASE("pointwise_conv_int8 takes K up to 1040 and refuses more") {
  // The extreme sums: every input 127, weights +-127, K = 1040:
  // |acc| = 1040 * 127^2 = 16,774,160 < 2^24.
  for (const int in_channels : {m2u::kInt8MaxReduceChannels, m2u::kInt8MaxReduceChannels + 1}) {
    const int padded = m2u::padded_channels<int8_t>(in_channels);
    const int out_channels = 5;
    const BufferShape shape{1, 3, 5, padded};
    QTensor input(1, 3, 5, in_channels);
    for (int8_t& value : input.q) value = 127;
    std::vector<int8_t> contents = filled_buffer(shape, 0);
    write_slice(contents, shape, 0, input);
    const DeviceInput<int8_t> device_input(shape, contents);
    std::vector<int8_t> weight(static_cast<size_t>(out_channels) * padded, 0);
    for (int co = 0; co < out_channels; ++co)
      for (int k = 0; k < in_channels; ++k)
        weight[static_cast<size_t>(co) * padded + k] = (co + k) % 3 == 0 ? -127 : 127;
    DeviceBuffer<int8_t> device_weight(weight.size());
    device_weight.upload(weight);
    const Requant requant{std::vector<float>(out_channels, 1.0f / 131072.0f),
                          std::vector<float>(out_channels, 0.25f), 1.0f};
    const DeviceRequant device_requant(requant);
    const BufferShape output_shape{1, 3, 5, 16};
    const std::vector<int8_t> before = output_before(output_shape, 0, out_channels, kForeign);
    for (const DotPathCase& path : kDotPaths) {
      DeviceBuffer<int8_t> output(output_shape.elements());
      output.upload(before);
      const cudaError_t status = m2u::pointwise_conv_int8_on_path(
          device_input.view(0, in_channels), view_of(output.data(), output_shape, 0, out_channels),
          device_weight.data(), device_requant.view(), m2u::KernelActivation::kLinear,
          m2u::TensorView<const int8_t>{}, 0.0f, path.path, nullptr);
      const std::string context = "K " + std::to_string(padded) + " " + path.name;
      if (padded > m2u::kInt8MaxReduceChannels) {
        CHECK_MESSAGE(status == cudaErrorInvalidValue, context);
        continue;
      }
      REQUIRE_MESSAGE(status == cudaSuccess, context);
      check_output(output, before, output_shape, 0,
                   reference_pointwise(contents, shape, 0, padded, weight, requant,
                                       m2u::KernelActivation::kLinear, nullptr, 0.0f),
                   context);
    }
  }
}

TEST_CASE("pointwise_conv_int8 rejects arguments that do not fit") {
  DeviceBuffer<int8_t> buffer(2 * 3 * 5 * 32);
  DeviceBuffer<int8_t> weight(64 * 32 + 16);
  const DeviceRequant requant(
      Requant{std::vector<float>(64, 1.0f), std::vector<float>(64, 0.0f), 1.0f});
  const BufferShape shape{2, 3, 5, 32};
  const m2u::TensorView<const int8_t> input = view_of<const int8_t>(buffer.data(), shape, 0, 19);
  const m2u::TensorView<int8_t> output = view_of(buffer.data(), shape, 0, 19);
  const m2u::TensorView<const int8_t> none{};
  const auto run = [&](m2u::TensorView<const int8_t> in, m2u::TensorView<int8_t> out,
                       m2u::TensorView<const int8_t> residual, const int8_t* w, m2u::Int8Requant q,
                       m2u::KernelActivation activation, m2u::Int8DotPath path) {
    return m2u::pointwise_conv_int8_on_path(in, out, w, q, activation, residual, 1.0f, path,
                                            nullptr);
  };
  const m2u::KernelActivation relu = m2u::KernelActivation::kRelu;
  const m2u::Int8DotPath native = m2u::Int8DotPath::kNative;
  REQUIRE(run(input, output, none, weight.data(), requant.view(), relu, native) == cudaSuccess);
  CHECK(run(input, output, none, nullptr, requant.view(), relu, native) == cudaErrorInvalidValue);
  CHECK(run(input, output, none, weight.data() + 4, requant.view(), relu, native) ==
        cudaErrorInvalidValue);
  m2u::Int8Requant no_multiplier = requant.view();
  no_multiplier.multiplier = nullptr;
  CHECK(run(input, output, none, weight.data(), no_multiplier, relu, native) ==
        cudaErrorInvalidValue);
  m2u::Int8Requant no_bias = requant.view();
  no_bias.bias = nullptr;
  CHECK(run(input, output, none, weight.data(), no_bias, relu, native) == cudaErrorInvalidValue);
  CHECK(run(input, output, none, weight.data(), requant.view(), m2u::KernelActivation::kSigmoid,
            native) == cudaErrorInvalidValue);
  CHECK(run(input, output, none, weight.data(), requant.view(), relu,
            static_cast<m2u::Int8DotPath>(2)) == cudaErrorInvalidValue);
  m2u::TensorView<const int8_t> narrow = input;
  narrow.pixel_stride = 16;
  CHECK(run(narrow, output, none, weight.data(), requant.view(), relu, native) ==
        cudaErrorInvalidValue);
  m2u::TensorView<const int8_t> unaligned = input;
  unaligned.data += 4;
  CHECK(run(unaligned, output, none, weight.data(), requant.view(), relu, native) ==
        cudaErrorInvalidValue);
  m2u::TensorView<int8_t> taller = output;
  taller.height = 2;
  CHECK(run(input, taller, none, weight.data(), requant.view(), relu, native) ==
        cudaErrorInvalidValue);
  m2u::TensorView<const int8_t> wider_residual = input;
  wider_residual.channels = 20;
  CHECK(run(input, output, wider_residual, weight.data(), requant.view(), relu, native) ==
        cudaErrorInvalidValue);
  m2u::TensorView<const int8_t> empty = input;
  empty.data = nullptr;
  CHECK(run(empty, output, none, weight.data(), requant.view(), relu, native) ==
        cudaErrorInvalidValue);
}
