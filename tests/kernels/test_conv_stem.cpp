// test_conv_stem.cpp - conv_stem against the CPU reference (conv2d 3x3
// stride 2 padding 1, bias, activation) in FP32 and FP16 storage: Cin 1, 3
// and 8, odd sizes, every activation, the input read from its slice of
// decode1's concat buffer, several schedules.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "conv_kernels.h"
#include "emu_test_support.h"
#include "kernel_test_support.h"
#include "reference_ops.h"

namespace {

using namespace kernel_test;

// The stem reads `in_channels` at `input_offset` of a buffer `input_extra`
// channels wider than the slice; the output is alone in its buffer.
struct StemCase {
  std::string name;
  int batch;
  int height;
  int width;
  int in_channels;
  int out_channels;
  int input_offset;
  int input_extra;
};

template <typename T>
void run_stem_case(const StemCase& c, const std::vector<ActivationCase>& activations, uint32_t seed,
                   WorstError* worst) {
  const HostTensor input =
      rounded_to<T>(random_tensor(c.batch, c.in_channels, c.height, c.width, seed));
  const BufferShape input_shape{
      c.batch, c.height, c.width,
      c.input_offset + m2u::padded_channels<T>(c.in_channels) + c.input_extra};
  std::vector<T> input_contents = filled_buffer<T>(input_shape, 9.5f);
  write_slice(input_contents, input_shape, c.input_offset, input);
  const DeviceInput<T> device_input(input_shape, input_contents);

  // PyTorch's [out][in][ky][kx] for the reference, [out][ky][kx][in] for the kernel.
  const std::vector<float> weight =
      random_values(static_cast<size_t>(c.out_channels) * c.in_channels * 9, seed + 1);
  const std::vector<float> bias = random_values(c.out_channels, seed + 2);
  std::vector<float> kernel_weight(weight.size());
  for (int co = 0; co < c.out_channels; ++co)
    for (int ci = 0; ci < c.in_channels; ++ci)
      for (int tap = 0; tap < 9; ++tap)
        kernel_weight[(static_cast<size_t>(co) * 9 + tap) * c.in_channels + ci] =
            weight[(static_cast<size_t>(co) * c.in_channels + ci) * 9 + tap];
  DeviceBuffer<float> device_weight(kernel_weight.size());
  device_weight.upload(kernel_weight);
  DeviceBuffer<float> device_bias(bias.size());
  device_bias.upload(bias);

  const HostTensor convolved = m2u::ref::conv2d(input, weight, bias, c.out_channels, 3, 2, 1);
  const BufferShape output_shape{c.batch, convolved.h, convolved.w,
                                 m2u::padded_channels<T>(c.out_channels)};
  const std::vector<T> before = output_before<T>(output_shape, 0, c.out_channels, 0.0f);
  for (const ActivationCase& activation : activations) {
    const HostTensor expected = m2u::ref::activation(convolved, activation.reference);
    for (uint64_t schedule : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(schedule);
      DeviceBuffer<T> output(output_shape.elements());
      output.upload(before);
      const cudaError_t status =
          m2u::conv_stem<T>(device_input.view(c.input_offset, c.in_channels),
                            view_of(output.data(), output_shape, 0, c.out_channels),
                            device_weight.data(), device_bias.data(), activation.kernel, nullptr);
      const std::string context = Precision<T>::name() + " " + c.name + " " + activation.name +
                                  " schedule " + std::to_string(schedule);
      REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
      check_output(output, before, output_shape, 0, expected, Precision<T>::kTolerance, context,
                   worst);
    }
  }
}

}  // namespace

TEST_CASE_TEMPLATE("conv_stem matches the reference for Cin 1, 3 and 8", T, float, __half) {
  WorstError worst;
  run_stem_case<T>({"2x3x17x35 -> 32", 2, 17, 35, 3, 32, 0, 0}, all_activations(), 10, &worst);
  run_stem_case<T>({"2x1x34x17 -> 32", 2, 34, 17, 1, 32, 0, 0}, all_activations(), 20, &worst);
  run_stem_case<T>({"1x8x9x9 -> 19", 1, 9, 9, 8, 19, 0, 0}, {all_activations()[2]}, 30, &worst);
  run_stem_case<T>({"1x5x1x1 -> 5", 1, 1, 1, 5, 5, 0, 0}, {all_activations()[0]}, 40, &worst);
  MESSAGE(Precision<T>::name() << " conv_stem worst relative error " << worst.relative);
}

TEST_CASE_TEMPLATE("conv_stem reads the input from its slice of a concat buffer", T, float,
                   __half) {
  WorstError worst;
  // decode1's buffer: up(decode2) in [0, 32), the network input after it.
  const int offset = m2u::padded_channels<T>(30);
  run_stem_case<T>({"2x3x17x35 at channel 32 -> 32", 2, 17, 35, 3, 32, offset, 0},
                   {all_activations()[2]}, 50, &worst);
  run_stem_case<T>({"1x1x17x34 at channel 32 -> 32", 1, 17, 34, 1, 32, offset, 0},
                   {all_activations()[1]}, 60, &worst);
  MESSAGE(Precision<T>::name() << " conv_stem from a slice worst relative error "
                               << worst.relative);
}

TEST_CASE_TEMPLATE("conv_stem rejects arguments that do not fit", T, float, __half) {
  const BufferShape input_shape{1, 17, 35, 16};
  const BufferShape output_shape{1, 9, 18, 256};
  DeviceBuffer<T> input_buffer(input_shape.elements());
  DeviceBuffer<T> output_buffer(output_shape.elements());
  DeviceBuffer<float> weight(256 * 9 * 9);
  const m2u::TensorView<const T> input = view_of<const T>(input_buffer.data(), input_shape, 0, 3);
  const m2u::TensorView<T> output = view_of(output_buffer.data(), output_shape, 0, 32);
  const auto run = [&](m2u::TensorView<const T> in, m2u::TensorView<T> out) {
    return m2u::conv_stem<T>(in, out, weight.data(), weight.data(), m2u::KernelActivation::kRelu6,
                             nullptr);
  };
  REQUIRE(run(input, output) == cudaSuccess);
  m2u::TensorView<const T> nine_channels = input;
  nine_channels.channels = 9;
  CHECK(run(nine_channels, output) == cudaErrorInvalidValue);
  m2u::TensorView<T> same_size = output;
  same_size.height = 17;
  CHECK(run(input, same_size) == cudaErrorInvalidValue);
  // 8 input channels x 200 outputs: the staged weights exceed 48 KiB.
  m2u::TensorView<const T> eight_channels = input;
  eight_channels.channels = 8;
  m2u::TensorView<T> wide = output;
  wide.channels = 200;
  CHECK(run(eight_channels, wide) == cudaErrorInvalidValue);
  wide.channels = 150;
  CHECK(run(eight_channels, wide) == cudaSuccess);
}
