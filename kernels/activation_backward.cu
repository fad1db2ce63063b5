// activation_backward.cu - the activations' backward, dL/dx from the
// activation's output y and dL/dy (training_kernels.h). The forward
// activations are fused into the convolutions' epilogues
// (device_math.cuh's activate); their derivative needs only y, which
// training saves.
//
// One thread per (pixel, 4-channel group). Per element at most 3 FLOPs;
// DRAM traffic 12 bytes an element (y and dL/dy read, dL/dx written).
#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"
#include "training_kernels.h"

namespace m2u {
namespace {

__device__ __forceinline__ float activation_derivative(float y, KernelActivation activation) {
  switch (activation) {
    case KernelActivation::kRelu:
      return y > 0.0f ? 1.0f : 0.0f;
    case KernelActivation::kRelu6:
      return y > 0.0f && y < 6.0f ? 1.0f : 0.0f;
    case KernelActivation::kSigmoid:
      return y * (1.0f - y);
    case KernelActivation::kLinear:
      break;
  }
  return 1.0f;
}

__global__ void kernel_activation_backward(TensorView<const float> output,
                                           TensorView<const float> output_gradient,
                                           KernelActivation activation,
                                           TensorView<float> input_gradient, int groups) {
  constexpr int kGroup = ChannelAlignment<float>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  float y[kGroup], g[kGroup];
  load_group(pixel_at(output, at.n, at.y, at.x) + at.first_channel, y);
  load_group(pixel_at(output_gradient, at.n, at.y, at.x) + at.first_channel, g);
  float results[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    results[j] = at.first_channel + j < output.channels ? g[j] * activation_derivative(y[j], activation) : 0.0f;
  }
  store_group(pixel_at(input_gradient, at.n, at.y, at.x) + at.first_channel, results);
}

}  // namespace

cudaError_t activation_backward(TensorView<const float> output, TensorView<const float> output_gradient,
                                KernelActivation activation, TensorView<float> input_gradient,
                                cudaStream_t stream) {
  if (!valid_view(output) || !valid_view(output_gradient) || !valid_view(input_gradient) ||
      !same_shape(output, output_gradient) || !same_shape(output, input_gradient)) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<float>(output.channels) / ChannelAlignment<float>::value;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("activation_backward", kernel_activation_backward, shape.grid, shape.block, 0,
                stream, output, output_gradient, activation, input_gradient, groups);
}

}  // namespace m2u
