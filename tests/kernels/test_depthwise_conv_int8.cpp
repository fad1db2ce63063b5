// test_depthwise_conv_int8.cpp - depthwise_conv_int8 against the CPU
// reference of the same arithmetic (int8_test_support.h), every int8 equal:
// odd sizes at stride 1 and 2, 5 / 19 / 33 / 72 channels, every activation,
// input and output views that are slices of wider buffers, outputs that
// saturate at +-127, the poisoned padding and untouched neighbours and
// guards of every output buffer, several schedules; and the arguments the
// launcher refuses.
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

constexpr int8_t kForeign = -55;

// acc[p][c] = the 9 taps' products (padding 1), then the epilogue.
// weight: [9][C_pad].
QTensor reference_depthwise(const QTensor& input, const std::vector<int8_t>& weight, int stride,
                            const Requant& requant, m2u::KernelActivation activation) {
  const int padded = m2u::padded_channels<int8_t>(input.c);
  QTensor out(input.n, (input.h + stride - 1) / stride, (input.w + stride - 1) / stride, input.c);
  for (int b = 0; b < out.n; ++b)
    for (int oy = 0; oy < out.h; ++oy)
      for (int ox = 0; ox < out.w; ++ox)
        for (int c = 0; c < out.c; ++c) {
          int32_t acc = 0;
          for (int ky = 0; ky < 3; ++ky)
            for (int kx = 0; kx < 3; ++kx) {
              const int iy = oy * stride - 1 + ky, ix = ox * stride - 1 + kx;
              if (iy < 0 || iy >= input.h || ix < 0 || ix >= input.w) continue;
              acc += int32_t{input.at(b, iy, ix, c)} *
                     int32_t{weight[static_cast<size_t>(ky * 3 + kx) * padded + c]};
            }
          out.at(b, oy, ox, c) = reference_quantized(
              reference_activated(acc, requant.multiplier[c], requant.bias[c], activation),
              requant.output_inverse_scale);
        }
  return out;
}

// The input at `input_offset` of a buffer `input_extra` channels wider than
// its padded slice; the output likewise. Multipliers spread the 9-tap sums
// (standard deviation about 3 * 127^2 / 3) over about +-1 real units,
// `output_inverse_scale` sets how many outputs clamp.
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
  float output_inverse_scale;
};

QTensor run_depthwise_case(const DepthwiseCase& c, const std::vector<Int8Activation>& activations,
                           uint32_t seed) {
  const int padded = m2u::padded_channels<int8_t>(c.channels);
  const QTensor input = random_qtensor(c.batch, c.height, c.width, c.channels, seed);
  const BufferShape input_shape{c.batch, c.height, c.width,
                                c.input_offset + padded + c.input_extra};
  std::vector<int8_t> input_contents = filled_buffer(input_shape, kForeign);
  write_slice(input_contents, input_shape, c.input_offset, input);
  const DeviceInput<int8_t> device_input(input_shape, input_contents);

  std::vector<int8_t> weight = random_q(static_cast<size_t>(9) * padded, seed + 1, -127, 127);
  for (int tap = 0; tap < 9; ++tap)
    for (int ch = c.channels; ch < padded; ++ch) weight[static_cast<size_t>(tap) * padded + ch] = 0;
  DeviceBuffer<int8_t> device_weight(weight.size());
  device_weight.upload(weight);
  const float unit = 1.0f / (127.0f * 127.0f);
  const Requant requant = random_requant(
      c.channels, ScaleChoice{0.5f * unit, 1.5f * unit, 0.5f, c.output_inverse_scale}, seed + 2);
  const DeviceRequant device_requant(requant);

  const int out_h = (c.height + c.stride - 1) / c.stride;
  const int out_w = (c.width + c.stride - 1) / c.stride;
  const BufferShape output_shape{c.batch, out_h, out_w, c.output_offset + padded + c.output_extra};
  const std::vector<int8_t> before =
      output_before(output_shape, c.output_offset, c.channels, kForeign);

  QTensor first_expected;
  for (const Int8Activation& activation : activations) {
    const QTensor expected =
        reference_depthwise(input, weight, c.stride, requant, activation.kernel);
    if (first_expected.q.empty()) first_expected = expected;
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      DeviceBuffer<int8_t> output(output_shape.elements());
      output.upload(before);
      const cudaError_t status = m2u::depthwise_conv_int8(
          device_input.view(c.input_offset, c.channels),
          view_of(output.data(), output_shape, c.output_offset, c.channels), device_weight.data(),
          device_requant.view(), c.stride, activation.kernel, nullptr);
      const std::string context =
          c.name + " " + activation.name + " schedule " + std::to_string(schedule);
      REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
      check_output(output, before, output_shape, c.output_offset, expected, context);
    }
  }
  return first_expected;
}

}  // namespace

TEST_CASE("depthwise_conv_int8 matches the reference at stride 1 and 2 for every activation") {
  run_depthwise_case({"2x17x34 33 stride 1", 2, 17, 34, 33, 1, 0, 0, 0, 0, 40.0f},
                     large_case_activations(int8_activations()), 100);
  run_depthwise_case({"2x17x34 19 stride 2", 2, 17, 34, 19, 2, 0, 0, 0, 0, 40.0f},
                     large_case_activations(int8_activations()), 200);
  run_depthwise_case({"1x9x17 5 stride 2", 1, 9, 17, 5, 2, 0, 0, 0, 0, 40.0f}, int8_activations(),
                     300);
  run_depthwise_case({"1x9x17 72 stride 1", 1, 9, 17, 72, 1, 0, 0, 0, 0, 40.0f}, int8_activations(),
                     400);
  run_depthwise_case({"1x1x1 19 stride 2", 1, 1, 1, 19, 2, 0, 0, 0, 0, 40.0f},
                     {int8_activations()[0]}, 450);
}

TEST_CASE("depthwise_conv_int8 reads and writes slices of wider buffers") {
  // The input at offset 32 of a 32 + 32 + 16 buffer, the output at 16 of a 16 + 32 + 16 one.
  run_depthwise_case({"2x9x17 slice 19 stride 1", 2, 9, 17, 19, 1, 32, 16, 16, 16, 40.0f},
                     int8_activations(), 500);
  run_depthwise_case({"2x9x17 slice 19 stride 2", 2, 9, 17, 19, 2, 32, 16, 16, 16, 40.0f},
                     {int8_activations()[2]}, 600);
}

TEST_CASE("depthwise_conv_int8 saturates at +-127") {
  const QTensor saturated =
      run_depthwise_case({"2x9x17 33 stride 2 saturating", 2, 9, 17, 33, 2, 0, 0, 0, 0, 1000.0f},
                         int8_activations(), 700);
  const int clamped = saturated_count(saturated);
  MESSAGE("saturating case: " << clamped << " of " << saturated.q.size() << " outputs at +-127");
  CHECK(clamped > static_cast<int>(saturated.q.size()) / 2);
}

TEST_CASE("depthwise_conv_int8 rejects arguments that do not fit") {
  DeviceBuffer<int8_t> in_buffer(2 * 5 * 7 * 32);
  DeviceBuffer<int8_t> out_buffer(2 * 3 * 4 * 32);
  DeviceBuffer<int8_t> weight(9 * 32 + 16);
  const DeviceRequant requant(
      Requant{std::vector<float>(32, 1.0f), std::vector<float>(32, 0.0f), 1.0f});
  const m2u::TensorView<const int8_t> input =
      view_of<const int8_t>(in_buffer.data(), BufferShape{2, 5, 7, 32}, 0, 19);
  const m2u::TensorView<int8_t> output =
      view_of(out_buffer.data(), BufferShape{2, 3, 4, 32}, 0, 19);
  const auto run = [&](m2u::TensorView<const int8_t> in, m2u::TensorView<int8_t> out,
                       const int8_t* w, m2u::Int8Requant q, int stride,
                       m2u::KernelActivation activation) {
    return m2u::depthwise_conv_int8(in, out, w, q, stride, activation, nullptr);
  };
  const m2u::KernelActivation relu = m2u::KernelActivation::kRelu;
  REQUIRE(run(input, output, weight.data(), requant.view(), 2, relu) == cudaSuccess);
  CHECK(run(input, output, weight.data(), requant.view(), 1, relu) == cudaErrorInvalidValue);
  CHECK(run(input, output, weight.data(), requant.view(), 3, relu) == cudaErrorInvalidValue);
  CHECK(run(input, output, nullptr, requant.view(), 2, relu) == cudaErrorInvalidValue);
  CHECK(run(input, output, weight.data() + 8, requant.view(), 2, relu) == cudaErrorInvalidValue);
  m2u::Int8Requant no_multiplier = requant.view();
  no_multiplier.multiplier = nullptr;
  CHECK(run(input, output, weight.data(), no_multiplier, 2, relu) == cudaErrorInvalidValue);
  CHECK(run(input, output, weight.data(), requant.view(), 2, m2u::KernelActivation::kSigmoid) ==
        cudaErrorInvalidValue);
  m2u::TensorView<int8_t> fewer_channels = output;
  fewer_channels.channels = 18;
  CHECK(run(input, fewer_channels, weight.data(), requant.view(), 2, relu) ==
        cudaErrorInvalidValue);
  m2u::TensorView<const int8_t> narrow = input;
  narrow.pixel_stride = 16;
  CHECK(run(narrow, output, weight.data(), requant.view(), 2, relu) == cudaErrorInvalidValue);
  m2u::TensorView<const int8_t> unaligned = input;
  unaligned.data += 4;
  CHECK(run(unaligned, output, weight.data(), requant.view(), 2, relu) == cudaErrorInvalidValue);
}
