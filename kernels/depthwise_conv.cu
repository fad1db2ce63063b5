// depthwise_conv.cu - 3x3 depthwise convolution, padding 1, stride 1 or 2,
// with the folded batch-norm bias and an activation (conv_kernels.h), FP32
// storage and arithmetic. The __half storage path, in half2 arithmetic, is
// depthwise_conv_fp16.cu.
//
// One thread per (output pixel, 16-byte channel group): 4 channels, 9 taps
// each, FP32 accumulation; weights [channels][3][3] and the bias through the
// read-only cache. Channels past `channels` are written 0.
//
// Per output pixel, C channels (C_pad padded): 18 C FLOPs (9 multiply-adds a
// channel). Minimal DRAM traffic, every input pixel read once:
// (stride^2 + 1) * C_pad * 4 bytes (8 C_pad at stride 1, 20 C_pad at
// stride 2), plus the weights once.
#include "conv_kernels.h"
#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

M2U_HOT_KERNEL __global__ void kernel_depthwise_conv(TensorView<const float> input,
                                                     TensorView<float> output, const float* weight,
                                                     const float* bias, int stride,
                                                     KernelActivation activation, int groups) {
  constexpr int kGroup = ChannelAlignment<float>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  const int n = at.n, oy = at.y, ox = at.x, first_channel = at.first_channel;
  const int channels = output.channels;

  float sums[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    sums[j] = first_channel + j < channels ? __ldg(bias + first_channel + j) : 0.0f;
  }
  M2U_UNROLL
  for (int ky = 0; ky < 3; ++ky) {
    const int iy = oy * stride - 1 + ky;
    if (iy < 0 || iy >= input.height) continue;
    M2U_UNROLL
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = ox * stride - 1 + kx;
      if (ix < 0 || ix >= input.width) continue;
      float values[kGroup];
      load_group(pixel_at(input, n, iy, ix) + first_channel, values);
      M2U_UNROLL
      for (int j = 0; j < kGroup; ++j) {
        const int c = first_channel + j;
        if (c < channels) sums[j] += values[j] * __ldg(weight + c * 9 + ky * 3 + kx);
      }
    }
  }
  store_activated_group(pixel_at(output, n, oy, ox) + first_channel, sums, first_channel, channels, activation);
}

}  // namespace

template <>
cudaError_t depthwise_conv<float>(TensorView<const float> input, TensorView<float> output,
                                  const float* weight, const float* bias, int stride,
                                  KernelActivation activation, cudaStream_t stream) {
  if (!valid_depthwise_arguments(input, output, weight, bias, stride)) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<float>(output.channels) / ChannelAlignment<float>::value;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("depthwise_conv", kernel_depthwise_conv, shape.grid, shape.block, 0, stream,
                input, output, weight, bias, stride, activation, groups);
}

}  // namespace m2u
