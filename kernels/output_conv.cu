// output_conv.cu - the network's final 1x1 convolution with bias and
// activation, written straight into the caller's channel-planar probability
// images, cropped to their height x width (io_kernels.h): F32 as is, U8 /
// U16 as round(v * 255) / round(v * 65535) (ties to even) clamped to the
// type's range, NaN as 0.
//
// One thread per output pixel of the cropped region (blocks of 32 x 8
// pixels, grid z the image), looping over the output channels; the pixel's
// padded input channels are read 4 at a time, the weight rows
// [out_channels][padded input channels] through the read-only cache (every
// thread of a warp reads the same weight).
//
// Per output pixel (K padded input channels, Cout outputs): 2 K Cout FLOPs
// plus the activation. Minimal DRAM traffic: K * sizeof(T) read plus Cout
// output values written (1, 2 or 4 bytes each).
#include "io_kernels.h"

#include "probability_store.cuh"
#include "scaled_storage.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kOutputBlockWidth = 32;
constexpr int kOutputBlockHeight = 8;

template <typename T>
M2U_HOT_KERNEL __global__ void kernel_output_conv(TensorView<const T> input, int out_channels,
                                                  const float* weight, const float* bias,
                                                  KernelActivation activation,
                                                  ProbabilityImage output, int reduce_channels) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
  const int n = static_cast<int>(blockIdx.z);
  if (x >= output.width || y >= output.height) return;
  const T* pixel = pixel_at(input, n, y, x);
  for (int co = 0; co < out_channels; ++co) {
    const float* weight_row = weight + static_cast<size_t>(co) * reduce_channels;
    float sum = __ldg(bias + co);
    for (int k = 0; k < reduce_channels; k += 4) {
      float values[4];
      load_quad_scaled(pixel + k, values, input.scale);
      M2U_UNROLL
      for (int j = 0; j < 4; ++j) sum += values[j] * __ldg(weight_row + k + j);
    }
    store_probability(probability_row(output, n, co, y), output.type, x, activate(sum, activation));
  }
}

}  // namespace

template <typename T>
cudaError_t output_conv(TensorView<const T> input, int out_channels, const float* weight,
                        const float* bias, KernelActivation activation,
                        const ProbabilityImage& output, cudaStream_t stream) {
  if (!valid_view(input) || weight == nullptr || bias == nullptr ||
      !probability_image_fits(output, out_channels, input.batch, input.height, input.width)) {
    return cudaErrorInvalidValue;
  }
  const dim3 block(kOutputBlockWidth, kOutputBlockHeight);
  const dim3 grid(
      static_cast<unsigned>((output.width + kOutputBlockWidth - 1) / kOutputBlockWidth),
      static_cast<unsigned>((output.height + kOutputBlockHeight - 1) / kOutputBlockHeight),
      static_cast<unsigned>(input.batch));
  return launch("output_conv", kernel_output_conv<T>, grid, block, 0, stream, input, out_channels,
                weight, bias, activation, output, padded_channels<T>(input.channels));
}

template cudaError_t output_conv<float>(TensorView<const float>, int, const float*, const float*,
                                        KernelActivation, const ProbabilityImage&, cudaStream_t);
template cudaError_t output_conv<__half>(TensorView<const __half>, int, const float*, const float*,
                                         KernelActivation, const ProbabilityImage&, cudaStream_t);
template cudaError_t output_conv<int8_t>(TensorView<const int8_t>, int, const float*, const float*,
                                         KernelActivation, const ProbabilityImage&, cudaStream_t);

}  // namespace m2u
