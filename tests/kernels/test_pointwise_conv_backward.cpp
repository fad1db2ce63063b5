// test_pointwise_conv_backward.cpp - the 1x1 convolution's backward:
// pointwise_weight_gradient + sum_block_partials (weight and bias
// gradients) and the input gradient as pointwise_conv with the transposed
// weights, against the double CPU reference (conv2d_backward) and finite
// differences of the forward reference; input channels not a multiple of
// 4, inputs that are slices of a concat buffer, several pixel blocks with
// a short last one, partials and outputs poisoned, guards checked, and the
// gradients bit-identical under every schedule.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backward_test_support.h"
#include "conv_kernels.h"
#include "emu_test_support.h"
#include "kernel_test_support.h"
#include "reference_backward.h"
#include "reference_ops.h"

namespace {

using namespace kernel_test;
using backward_test::check_close;
using backward_test::reduce_on_device;

struct GradientCase {
  const char* name;
  int batch, height, width, in_channels, out_channels;
  int input_offset;  // the input is the slice at this offset of a buffer
  int input_extra;   // this many channels wider than offset + padded slice
};

void run_gradient_case(const GradientCase& c, uint32_t seed) {
  const int columns = m2u::padded_channels<float>(c.in_channels);
  const HostTensor input = random_tensor(c.batch, c.in_channels, c.height, c.width, seed, -2.0f, 2.0f);
  const HostTensor gradient = random_tensor(c.batch, c.out_channels, c.height, c.width, seed + 1);
  const std::vector<float> weight =
      random_values(static_cast<size_t>(c.out_channels) * c.in_channels, seed + 2);
  const m2u::ref::ConvGradients expected =
      m2u::ref::conv2d_backward(input, weight, c.out_channels, 1, 1, 1, gradient);

  const BufferShape input_shape{c.batch, c.height, c.width, c.input_offset + columns + c.input_extra};
  std::vector<float> input_contents = filled_buffer<float>(input_shape, 7.5f);
  write_slice(input_contents, input_shape, c.input_offset, input);
  const DeviceInput<float> device_input(input_shape, input_contents);
  const DeviceInput<float> device_gradient = upload_tensor<float>(gradient);

  // Expected weight-gradient rows [co][columns + 1]: the padding columns see
  // zero inputs, the last column is the bias.
  std::vector<double> expected_rows(static_cast<size_t>(c.out_channels) * (columns + 1), 0.0);
  for (int co = 0; co < c.out_channels; ++co) {
    for (int ci = 0; ci < c.in_channels; ++ci)
      expected_rows[co * (columns + 1) + ci] = expected.weight[co * c.in_channels + ci];
    expected_rows[co * (columns + 1) + columns] = expected.bias[co];
  }

  // The input gradient: pointwise_conv of g with W^T ([ci][padded co]), no bias.
  const int padded_out = m2u::padded_channels<float>(c.out_channels);
  std::vector<float> transposed(static_cast<size_t>(c.in_channels) * padded_out, 0.0f);
  for (int co = 0; co < c.out_channels; ++co)
    for (int ci = 0; ci < c.in_channels; ++ci) transposed[ci * padded_out + co] = weight[co * c.in_channels + ci];
  DeviceBuffer<float> device_transposed(transposed.size());
  device_transposed.upload(transposed);
  DeviceBuffer<float> zero_bias(static_cast<size_t>(c.in_channels));
  zero_bias.upload(std::vector<float>(c.in_channels, 0.0f));
  const BufferShape dx_shape{c.batch, c.height, c.width, columns};
  const std::vector<float> dx_before = output_before<float>(dx_shape, 0, c.in_channels, 0.0f);

  const int pixels = c.batch * c.height * c.width;
  const int blocks = m2u::weight_gradient_blocks(static_cast<size_t>(pixels));
  const int pairs = c.out_channels * (columns + 1);
  std::vector<float> first_run;
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::string context = std::string(c.name) + " schedule " + std::to_string(schedule);
    DeviceBuffer<float> partials(static_cast<size_t>(blocks) * pairs);  // poisoned: NaN
    const cudaError_t status = m2u::pointwise_weight_gradient(
        device_input.view(c.input_offset, c.in_channels), device_gradient.view(0, c.out_channels),
        partials.data(), nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    const std::vector<float> rows = reduce_on_device(partials, blocks, pairs, context);
    check_close(rows, expected_rows, backward_test::kGradientTolerance, context + " weight and bias gradients");
    if (first_run.empty()) {
      first_run = rows;
    } else {
      CHECK_MESSAGE(backward_test::same_bits(rows, first_run), context << ": gradients differ from the first schedule's");
    }

    DeviceBuffer<float> dx(dx_shape.elements());
    dx.upload(dx_before);
    const m2u::TensorView<const float> no_residual{};
    REQUIRE(m2u::pointwise_conv<float>(device_gradient.view(0, c.out_channels),
                                       view_of(dx.data(), dx_shape, 0, c.in_channels), device_transposed.data(),
                                       zero_bias.data(), m2u::KernelActivation::kLinear, no_residual,
                                       nullptr) == cudaSuccess);
    check_output(dx, dx_before, dx_shape, 0, expected.input, backward_test::kGradientTolerance,
                 context + " input gradient", nullptr);
  }

  // Finite differences of the forward reference, L = sum(g * conv(x, W, b)),
  // for a few weights and the first bias (L is linear in them: step 1).
  std::vector<float> w = weight;
  std::vector<float> b(c.out_channels, 0.0f);
  auto loss = [&] {
    const HostTensor y = m2u::ref::conv2d(input, w, b, c.out_channels, 1, 1, 1);
    double sum = 0.0;
    for (size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(y.data[i]) * gradient.data[i];
    return sum;
  };
  for (int co : {0, c.out_channels - 1}) {
    for (int ci : {0, c.in_channels - 1}) {
      const double numeric = backward_test::central_difference(w[co * c.in_channels + ci], 1.0, loss);
      CHECK(first_run[co * (columns + 1) + ci] == doctest::Approx(numeric).epsilon(1e-4));
    }
  }
  const double numeric_bias = backward_test::central_difference(b[0], 1.0, loss);
  CHECK(first_run[columns] == doctest::Approx(numeric_bias).epsilon(1e-4));
}

}  // namespace

TEST_CASE("pointwise_weight_gradient and the transposed forward give the 1x1 convolution's gradients") {
  // The decoder's shapes in small: a project conv (hidden 19 -> 33), the
  // final conv (16 -> 1), an expand conv reading a whole concat buffer
  // slice (30 + 3 channels at offset 8 of a wider buffer).
  run_gradient_case({"2x9x17 19->33", 2, 9, 17, 19, 33, 0, 0}, 10);
  run_gradient_case({"2x5x7 16->1 (final conv)", 2, 5, 7, 16, 1, 0, 0}, 20);
  run_gradient_case({"1x7x9 33->5 slice at 8", 1, 7, 9, 33, 5, 8, 4}, 30);
  run_gradient_case({"1x1x1 5->3 (one pixel)", 1, 1, 1, 5, 3, 0, 0}, 40);
  if (!under_simulator()) {
    // More than 64 * 256 pixels: 256 blocks of 67 (the last short).
    run_gradient_case({"1x130x131 5->3 (the block cap)", 1, 130, 131, 5, 3, 0, 0}, 50);
  }
}

TEST_CASE("pointwise_weight_gradient rejects arguments that do not fit") {
  const BufferShape shape{1, 3, 5, 8};
  DeviceBuffer<float> input(shape.elements());
  DeviceBuffer<float> gradient(shape.elements());
  DeviceBuffer<float> partials(1024);
  const m2u::TensorView<const float> x = view_of<const float>(input.data(), shape, 0, 5);
  const m2u::TensorView<const float> g = view_of<const float>(gradient.data(), shape, 0, 3);
  CHECK(m2u::pointwise_weight_gradient(x, g, partials.data(), nullptr) == cudaSuccess);
  CHECK(m2u::pointwise_weight_gradient(x, g, nullptr, nullptr) == cudaErrorInvalidValue);
  m2u::TensorView<const float> narrower = g;
  narrower.width = 4;
  CHECK(m2u::pointwise_weight_gradient(x, narrower, partials.data(), nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::weight_gradient_blocks(0) == 0);
  CHECK(m2u::weight_gradient_blocks(64) == 1);
  CHECK(m2u::weight_gradient_blocks(65) == 2);
  CHECK(m2u::weight_gradient_blocks(size_t{1} << 30) == m2u::kMaxWeightGradientBlocks);
}
