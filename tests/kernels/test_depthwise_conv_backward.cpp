// test_depthwise_conv_backward.cpp - the 3x3 depthwise convolution's
// backward: depthwise_weight_gradient + sum_block_partials (tap and bias
// gradients, stride 1 and 2) and, at stride 1 (the decoder's), the input
// gradient as depthwise_conv with the taps flipped, against the double CPU
// reference (conv2d_backward with groups = channels) and finite
// differences of the forward reference; odd sizes, images smaller than
// the kernel, slices of wider buffers, several pixel blocks, partials and
// outputs poisoned, guards checked, bit-identical under every schedule.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backward_test_support.h"
#include "conv_kernels.h"
#include "depthwise_layout.h"
#include "emu_test_support.h"
#include "kernel_test_support.h"
#include "reference_backward.h"
#include "reference_ops.h"

namespace {

using namespace kernel_test;
using backward_test::check_close;
using backward_test::reduce_on_device;

constexpr int kColumns = 10;  // 9 taps and the bias

struct GradientCase {
  const char* name;
  int batch, height, width, channels, stride;
  int input_offset;  // the input is the slice at this offset of a wider buffer
};

void run_gradient_case(const GradientCase& c, uint32_t seed) {
  const int padded = m2u::padded_channels<float>(c.channels);
  const int out_h = (c.height + c.stride - 1) / c.stride, out_w = (c.width + c.stride - 1) / c.stride;
  const HostTensor input = random_tensor(c.batch, c.channels, c.height, c.width, seed, -2.0f, 2.0f);
  const HostTensor gradient = random_tensor(c.batch, c.channels, out_h, out_w, seed + 1);
  const std::vector<float> weight = random_values(static_cast<size_t>(c.channels) * 9, seed + 2);
  const m2u::ref::ConvGradients expected =
      m2u::ref::conv2d_backward(input, weight, c.channels, 3, c.stride, c.channels, gradient);

  const BufferShape input_shape{c.batch, c.height, c.width, c.input_offset + padded + 4};
  std::vector<float> input_contents = filled_buffer<float>(input_shape, -9.0f);
  write_slice(input_contents, input_shape, c.input_offset, input);
  const DeviceInput<float> device_input(input_shape, input_contents);
  const DeviceInput<float> device_gradient = upload_tensor<float>(gradient);

  std::vector<double> expected_rows(static_cast<size_t>(c.channels) * kColumns);
  for (int ch = 0; ch < c.channels; ++ch) {
    for (int tap = 0; tap < 9; ++tap) expected_rows[ch * kColumns + tap] = expected.weight[ch * 9 + tap];
    expected_rows[ch * kColumns + 9] = expected.bias[ch];
  }

  // Stride 1: the input gradient is depthwise_conv of g with the taps flipped.
  std::vector<float> flipped(static_cast<size_t>(c.channels) * 9);
  for (int ch = 0; ch < c.channels; ++ch)
    for (int tap = 0; tap < 9; ++tap) flipped[ch * 9 + tap] = weight[ch * 9 + (8 - tap)];
  const std::vector<float> flipped_taps = kernel_test::tap_major_depthwise(flipped, c.channels);
  DeviceBuffer<float> device_flipped(flipped_taps.size());
  device_flipped.upload(flipped_taps);
  DeviceBuffer<float> zero_bias(static_cast<size_t>(c.channels));
  zero_bias.upload(std::vector<float>(c.channels, 0.0f));
  const BufferShape dx_shape{c.batch, c.height, c.width, padded};
  const std::vector<float> dx_before = output_before<float>(dx_shape, 0, c.channels, 0.0f);

  const int blocks = m2u::weight_gradient_blocks(static_cast<size_t>(c.batch) * out_h * out_w);
  const int pairs = c.channels * kColumns;
  std::vector<float> first_run;
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::string context = std::string(c.name) + " schedule " + std::to_string(schedule);
    DeviceBuffer<float> partials(static_cast<size_t>(blocks) * pairs);  // poisoned: NaN
    const cudaError_t status = m2u::depthwise_weight_gradient(device_input.view(c.input_offset, c.channels),
                                                              device_gradient.view(0, c.channels), c.stride,
                                                              partials.data(), nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    const std::vector<float> rows = reduce_on_device(partials, blocks, pairs, context);
    check_close(rows, expected_rows, backward_test::kGradientTolerance, context + " tap and bias gradients");
    if (first_run.empty()) {
      first_run = rows;
    } else {
      CHECK_MESSAGE(backward_test::same_bits(rows, first_run), context << ": gradients differ from the first schedule's");
    }
    if (c.stride == 1) {
      DeviceBuffer<float> dx(dx_shape.elements());
      dx.upload(dx_before);
      REQUIRE(m2u::depthwise_conv<float>(device_gradient.view(0, c.channels), view_of(dx.data(), dx_shape, 0, c.channels),
                                         device_flipped.data(), zero_bias.data(), 1, m2u::KernelActivation::kLinear,
                                         nullptr) == cudaSuccess);
      check_output(dx, dx_before, dx_shape, 0, expected.input, backward_test::kGradientTolerance,
                   context + " input gradient", nullptr);
    }
  }

  // Finite differences of the forward reference for a corner tap, the
  // centre tap and the bias of the last channel (linear: step 1).
  std::vector<float> w = weight;
  std::vector<float> b(c.channels, 0.0f);
  auto loss = [&] {
    const HostTensor y = m2u::ref::conv2d(input, w, b, c.channels, 3, c.stride, c.channels);
    double sum = 0.0;
    for (size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(y.data[i]) * gradient.data[i];
    return sum;
  };
  const int last = c.channels - 1;
  for (int tap : {0, 4, 8}) {
    const double numeric = backward_test::central_difference(w[last * 9 + tap], 1.0, loss);
    CHECK(first_run[last * kColumns + tap] == doctest::Approx(numeric).epsilon(1e-4));
  }
  const double numeric_bias = backward_test::central_difference(b[last], 1.0, loss);
  CHECK(first_run[last * kColumns + 9] == doctest::Approx(numeric_bias).epsilon(1e-4));
}

}  // namespace

TEST_CASE("depthwise_weight_gradient and the flipped forward give the depthwise convolution's gradients") {
  run_gradient_case({"2x9x17 19ch stride 1", 2, 9, 17, 19, 1, 0}, 10);
  run_gradient_case({"1x17x9 5ch stride 1, slice at 8", 1, 17, 9, 5, 1, 8}, 20);
  run_gradient_case({"2x9x17 13ch stride 2", 2, 9, 17, 13, 2, 0}, 30);
  run_gradient_case({"1x2x1 6ch stride 1 (smaller than the kernel)", 1, 2, 1, 6, 1, 0}, 40);
  run_gradient_case({"2x1x3 3ch stride 2", 2, 1, 3, 3, 2, 0}, 50);
}

TEST_CASE("depthwise_weight_gradient rejects arguments that do not fit") {
  const BufferShape input_shape{1, 5, 9, 8};
  const BufferShape output_shape{1, 3, 5, 8};
  DeviceBuffer<float> input(input_shape.elements());
  DeviceBuffer<float> gradient(output_shape.elements());
  DeviceBuffer<float> partials(1024);
  const m2u::TensorView<const float> x = view_of<const float>(input.data(), input_shape, 0, 7);
  const m2u::TensorView<const float> g = view_of<const float>(gradient.data(), output_shape, 0, 7);
  CHECK(m2u::depthwise_weight_gradient(x, g, 2, partials.data(), nullptr) == cudaSuccess);
  CHECK(m2u::depthwise_weight_gradient(x, g, 1, partials.data(), nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::depthwise_weight_gradient(x, g, 3, partials.data(), nullptr) == cudaErrorInvalidValue);
  m2u::TensorView<const float> fewer = g;
  fewer.channels = 6;
  CHECK(m2u::depthwise_weight_gradient(x, fewer, 2, partials.data(), nullptr) == cudaErrorInvalidValue);
}
