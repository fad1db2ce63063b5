// test_output_conv.cpp - output_conv against the CPU reference (conv2d 1x1
// with bias, activation, crop) in FP32 and FP16 activation storage: F32
// probabilities within 1e-5 relative, U8 / U16 within 1 LSB of the rounded
// reference (clamped; linear outputs leave [0, 1]), 1 and 3 output
// channels, planar images with padded rows, planes and images, and nothing
// written outside the cropped pixels; several schedules.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "emu_test_support.h"
#include "io_kernels.h"
#include "kernel_test_support.h"
#include "probability_test_support.h"
#include "reference_ops.h"

namespace {

using namespace kernel_test;

constexpr double kProbabilityTolerance = 1e-5;  // F32 output, both storage types

template <typename T>
void run_output_case(const std::string& name, int batch, int in_channels, int height, int width,
                     int out_channels, const ActivationCase& activation,
                     const ProbabilityLayout& layout, uint32_t seed, OutputErrors* errors) {
  const HostTensor input =
      rounded_to<T>(random_tensor(batch, in_channels, height, width, seed, -2.0f, 2.0f));
  const DeviceInput<T> device_input = upload_tensor<T>(input);
  const int padded = m2u::padded_channels<T>(in_channels);
  const std::vector<float> weight =
      random_values(static_cast<size_t>(out_channels) * in_channels, seed + 1, -1.0f, 1.0f);
  const std::vector<float> bias = random_values(out_channels, seed + 2);
  std::vector<float> kernel_weight(static_cast<size_t>(out_channels) * padded, 0.0f);
  for (int co = 0; co < out_channels; ++co)
    for (int ci = 0; ci < in_channels; ++ci)
      kernel_weight[co * padded + ci] = weight[co * in_channels + ci];
  DeviceBuffer<float> device_weight(kernel_weight.size());
  device_weight.upload(kernel_weight);
  DeviceBuffer<float> device_bias(bias.size());
  device_bias.upload(bias);
  const HostTensor expected = m2u::ref::activation(
      m2u::ref::conv2d(input, weight, bias, out_channels, 1, 1, 1), activation.reference);

  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    DeviceBuffer<unsigned char> output(layout.image_stride_bytes * batch);
    output.poison(kUnwrittenByte);
    const m2u::ProbabilityImage probabilities = probability_image(output.data(), layout);
    const std::string context = Precision<T>::name() + " " + name + " " + activation.name +
                                " schedule " + std::to_string(schedule);
    const cudaError_t status =
        m2u::output_conv<T>(device_input.view(0, in_channels), out_channels, device_weight.data(),
                            device_bias.data(), activation.kernel, probabilities, nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    check_probabilities(output, layout, batch, out_channels, expected, kProbabilityTolerance, context, errors);
  }
}

}  // namespace

TEST_CASE_TEMPLATE("output_conv writes cropped planar probabilities as F32, U8 and U16", T, float,
                   __half) {
  const ActivationCase linear = all_activations()[0];
  const ActivationCase sigmoid = all_activations()[3];
  OutputErrors errors;
  for (const ActivationCase& activation : {sigmoid, linear}) {
    run_output_case<T>("2x16x17x35 -> 1 F32 crop 13x31", 2, 16, 17, 35, 1, activation,
                       padded_layout(m2u::PixelType::kF32, 1, 13, 31, 3), 10, &errors);
    run_output_case<T>("2x16x17x35 -> 1 U8 crop 13x31", 2, 16, 17, 35, 1, activation,
                       padded_layout(m2u::PixelType::kU8, 1, 13, 31, 5), 20, &errors);
    run_output_case<T>("1x19x9x17 -> 3 U16 crop 9x17", 1, 19, 9, 17, 3, activation,
                       padded_layout(m2u::PixelType::kU16, 3, 9, 17, 1), 30, &errors);
    run_output_case<T>("2x19x9x17 -> 3 F32 crop 7x16", 2, 19, 9, 17, 3, activation,
                       padded_layout(m2u::PixelType::kF32, 3, 7, 16, 0), 40, &errors);
  }
  MESSAGE(Precision<T>::name() << " output_conv: F32 worst relative error " << errors.relative
                               << "; " << errors.off_by_one << " of " << errors.quantised
                               << " U8/U16 values 1 LSB off the rounded reference, the rest exact");
}

TEST_CASE("output_conv rejects outputs it cannot write") {
  const BufferShape shape{1, 16, 32, 16};
  DeviceBuffer<float> input(shape.elements());
  DeviceBuffer<float> weight(3 * 16);
  DeviceBuffer<unsigned char> output(4 * 16 * 32 * 2);
  const m2u::TensorView<const float> view = view_of<const float>(input.data(), shape, 0, 16);
  const m2u::ProbabilityImage u16{output.data(), m2u::PixelType::kU16, 16, 32, 64, 64 * 16,
                                  64 * 16};
  const auto run = [&](const m2u::ProbabilityImage& probabilities, int out_channels) {
    return m2u::output_conv<float>(view, out_channels, weight.data(), weight.data(),
                                   m2u::KernelActivation::kSigmoid, probabilities, nullptr);
  };
  REQUIRE(run(u16, 1) == cudaSuccess);
  CHECK(run(u16, 0) == cudaErrorInvalidValue);
  CHECK(run(u16, 2) == cudaSuccess);
  m2u::ProbabilityImage overlapping = u16;
  overlapping.channel_stride_bytes = 64 * 15;  // a plane spans 15 rows + 64 bytes
  CHECK(run(overlapping, 2) == cudaErrorInvalidValue);
  m2u::ProbabilityImage taller = u16;
  taller.height = 17;
  CHECK(run(taller, 1) == cudaErrorInvalidValue);
  m2u::ProbabilityImage short_rows = u16;
  short_rows.row_stride_bytes = 62;
  CHECK(run(short_rows, 1) == cudaErrorInvalidValue);
  m2u::ProbabilityImage odd_stride = u16;
  odd_stride.row_stride_bytes = 65;
  CHECK(run(odd_stride, 1) == cudaErrorInvalidValue);
}
