// test_upsample_bilinear_backward.cpp - upsample_bilinear2x_backward (the
// gather form) against the double CPU reference and finite differences of
// the forward reference: odd sizes, 1-pixel edges (where both sources of a
// sample are one pixel), the decoder's case of reading the upsampled slice
// [0, C) of a concat buffer's gradient, outputs poisoned, guards checked,
// bit-identical under every schedule.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "backward_test_support.h"
#include "emu_test_support.h"
#include "kernel_test_support.h"
#include "reference_backward.h"
#include "reference_ops.h"
#include "upsample_kernels.h"

namespace {

using namespace kernel_test;

// dL/dx of a batch x channels x height x width input, from the gradient of
// its upsampled output held in the slice [0, channels) of a buffer
// `gradient_extra` channels wider (the skip part of the concat).
void run_backward_case(const std::string& name, int batch, int channels, int height, int width,
                       int gradient_extra, uint32_t seed) {
  const int padded = m2u::padded_channels<float>(channels);
  const HostTensor output_gradient = random_tensor(batch, channels, 2 * height, 2 * width, seed);
  const HostTensor expected = m2u::ref::upsample_bilinear2x_backward(output_gradient);
  const BufferShape gradient_shape{batch, 2 * height, 2 * width, padded + gradient_extra};
  std::vector<float> contents = filled_buffer<float>(gradient_shape, 5.0f);
  write_slice(contents, gradient_shape, 0, output_gradient);
  const DeviceInput<float> device_gradient(gradient_shape, contents);

  const BufferShape input_shape{batch, height, width, padded};
  const std::vector<float> before = output_before<float>(input_shape, 0, channels, 0.0f);
  std::vector<float> first_run;
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    const std::string context = name + " schedule " + std::to_string(schedule);
    DeviceBuffer<float> input_gradient(input_shape.elements());
    input_gradient.upload(before);
    const cudaError_t status = m2u::upsample_bilinear2x_backward(
        device_gradient.view(0, channels), view_of(input_gradient.data(), input_shape, 0, channels), nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_output(input_gradient, before, input_shape, 0, expected, backward_test::kGradientTolerance, context,
                 nullptr);
    const std::vector<float> after = input_gradient.download();
    if (first_run.empty()) {
      first_run = after;
    } else {
      CHECK_MESSAGE(backward_test::same_bits(after, first_run), context << ": differs from the first schedule's");
    }
  }

  // Finite differences of the forward reference at three input pixels
  // (corners and the middle; linear: step 1), L = sum(g * up(x)).
  HostTensor x = random_tensor(batch, channels, height, width, seed + 1);
  auto loss = [&] {
    const HostTensor y = m2u::ref::upsample_bilinear2x(x);
    double sum = 0.0;
    for (size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(y.data[i]) * output_gradient.data[i];
    return sum;
  };
  const HostTensor got = read_slice(first_run, input_shape, 0, channels);
  for (const auto& at : {std::vector<int>{0, 0, 0, 0}, std::vector<int>{batch - 1, channels - 1, height - 1, width - 1},
                         std::vector<int>{0, channels / 2, height / 2, width / 2}}) {
    const double numeric =
        backward_test::central_difference(x.data[x.index(at[0], at[1], at[2], at[3])], 1.0, loss);
    CHECK(got.at(at[0], at[1], at[2], at[3]) == doctest::Approx(numeric).epsilon(1e-4));
  }
}

}  // namespace

TEST_CASE("upsample_bilinear2x_backward matches the reference on odd sizes and 1-pixel edges") {
  run_backward_case("2x33x9x17", 2, 33, 9, 17, 0, 1);
  run_backward_case("1x5x17x9", 1, 5, 17, 9, 0, 2);
  run_backward_case("2x19x1x1", 2, 19, 1, 1, 0, 3);
  run_backward_case("1x3x1x7", 1, 3, 1, 7, 0, 4);
  run_backward_case("1x2x2x1", 1, 2, 2, 1, 0, 5);
}

TEST_CASE("upsample_bilinear2x_backward reads the upsampled slice of a concat buffer's gradient") {
  // decode2's concat: up(decode3) 44 channels, then the skip (conv1, 16).
  run_backward_case("2x44x5x9 from [0, 44) of 44 + 16", 2, 44, 5, 9, 16, 6);
}

TEST_CASE("upsample_bilinear2x_backward rejects views that do not fit") {
  const BufferShape gradient_shape{1, 10, 18, 32};
  const BufferShape input_shape{1, 5, 9, 32};
  DeviceBuffer<float> gradient(gradient_shape.elements());
  DeviceBuffer<float> input(input_shape.elements());
  const m2u::TensorView<const float> g = view_of<const float>(gradient.data(), gradient_shape, 0, 30);
  const m2u::TensorView<float> dx = view_of(input.data(), input_shape, 0, 30);
  CHECK(m2u::upsample_bilinear2x_backward(g, dx, nullptr) == cudaSuccess);
  m2u::TensorView<const float> odd = g;
  odd.height = 9;
  CHECK(m2u::upsample_bilinear2x_backward(odd, dx, nullptr) == cudaErrorInvalidValue);
  m2u::TensorView<float> fewer = dx;
  fewer.channels = 29;
  CHECK(m2u::upsample_bilinear2x_backward(g, fewer, nullptr) == cudaErrorInvalidValue);
}
