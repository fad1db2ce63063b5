// depthwise_conv.cu - 3x3 depthwise convolution, padding 1, stride 1 or 2,
// with the folded batch-norm bias and an activation (conv_kernels.h), FP32
// arithmetic on float or __half storage (depthwise_conv<float> and
// depthwise_conv_float_arithmetic<T>). The __half path in half2 arithmetic
// is depthwise_conv_fp16.cu.
//
// One thread per (output pixel, 16-byte channel group): 4 float or 8 half
// channels, 9 taps each, FP32 accumulation; the weights tap-major
// ([9][depthwise_weight_row(channels)], zeros in the padding) so that a
// tap's weights of the group are one or two float4 loads through the
// read-only cache (they were 4 or 8 scalar loads 36 bytes apart when the
// layout was [channels][9]), and the bias. Channels past `channels` are
// written 0.
//
// Per output pixel, C channels (C_pad padded): 18 C FLOPs (9 multiply-adds a
// channel). Minimal DRAM traffic, every input pixel read once:
// (stride^2 + 1) * C_pad * sizeof(T) bytes (8 C_pad at stride 1, 20 C_pad
// at stride 2 in float), plus the weights once.
//
// Backward: depthwise_weight_gradient, one thread per (channel c, tap or
// bias) and one range of output pixels per blockIdx.x; each thread sums
// g * the tap's input value over its range in pixel order (the bias: g).
// Per output pixel 20 C FLOPs; minimal DRAM traffic as the forward's
// (the input once, g once: (stride^2 + 1) * C_pad * 4 bytes), plus the
// partials.
#include "conv_kernels.h"
#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

template <typename T>
M2U_HOT_KERNEL __global__ void kernel_depthwise_conv(TensorView<const T> input,
                                                     TensorView<T> output, const float* weight,
                                                     const float* bias, int stride,
                                                     KernelActivation activation, int groups) {
  constexpr int kGroup = ChannelAlignment<T>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  const int n = at.n, oy = at.y, ox = at.x, first_channel = at.first_channel;
  const int channels = output.channels;
  const float* group_weights = weight + first_channel;
  const int row = depthwise_weight_row(channels);

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
      float values[kGroup], taps[kGroup];
      load_group(pixel_at(input, n, iy, ix) + first_channel, values);
      M2U_UNROLL
      for (int v = 0; v < kGroup; v += 4) {
        const float4 w4 = __ldg(reinterpret_cast<const float4*>(group_weights + (ky * 3 + kx) * row + v));
        taps[v] = w4.x;
        taps[v + 1] = w4.y;
        taps[v + 2] = w4.z;
        taps[v + 3] = w4.w;
      }
      // Zero weights past `channels`: those sums stay the bias's 0.
      M2U_UNROLL
      for (int j = 0; j < kGroup; ++j) sums[j] += values[j] * taps[j];
    }
  }
  store_activated_group(pixel_at(output, n, oy, ox) + first_channel, sums, first_channel, channels, activation);
}

constexpr int kGradientThreads = 256;
constexpr int kGradientColumns = 10;  // 9 taps and the bias

__global__ void kernel_depthwise_weight_gradient(TensorView<const float> input,
                                                 TensorView<const float> gradient, int stride,
                                                 float* partials, int pixels, int pixels_per_block) {
  const int pairs = gradient.channels * kGradientColumns;
  const int pair = static_cast<int>(blockIdx.y * blockDim.x + threadIdx.x);
  if (pair >= pairs) return;
  const int c = pair / kGradientColumns, tap = pair % kGradientColumns;
  const int ky = tap / 3, kx = tap % 3;
  const int begin = static_cast<int>(blockIdx.x) * pixels_per_block;
  const int end = min(begin + pixels_per_block, pixels);
  float sum = 0.0f;
  for (int p = begin; p < end; ++p) {
    const float g = __ldg(gradient.data + static_cast<size_t>(p) * gradient.pixel_stride + c);
    float x = 1.0f;
    if (tap < 9) {
      const int ox = p % gradient.width, rest = p / gradient.width;
      const int oy = rest % gradient.height, n = rest / gradient.height;
      const int iy = oy * stride - 1 + ky, ix = ox * stride - 1 + kx;
      x = iy >= 0 && iy < input.height && ix >= 0 && ix < input.width
              ? __ldg(pixel_at(input, n, iy, ix) + c)
              : 0.0f;
    }
    sum = fmaf(g, x, sum);
  }
  partials[static_cast<size_t>(blockIdx.x) * pairs + pair] = sum;
}

}  // namespace

cudaError_t depthwise_weight_gradient(TensorView<const float> input,
                                      TensorView<const float> output_gradient, int stride,
                                      float* partials, cudaStream_t stream) {
  if (!valid_view(input) || !valid_view(output_gradient) || partials == nullptr ||
      (stride != 1 && stride != 2) || output_gradient.batch != input.batch ||
      output_gradient.channels != input.channels ||
      output_gradient.height != (input.height + stride - 1) / stride ||
      output_gradient.width != (input.width + stride - 1) / stride) {
    return cudaErrorInvalidValue;
  }
  const long long pairs = static_cast<long long>(input.channels) * kGradientColumns;
  const long long pair_blocks = (pairs + kGradientThreads - 1) / kGradientThreads;
  if (pair_blocks > kMaxGridRows) return cudaErrorInvalidValue;
  const size_t pixels = output_gradient.pixel_count();
  const int blocks = weight_gradient_blocks(pixels);
  const int pixels_per_block = static_cast<int>((pixels + blocks - 1) / blocks);
  return launch("depthwise_weight_gradient", kernel_depthwise_weight_gradient,
                dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(pair_blocks)),
                dim3(kGradientThreads), 0, stream, input, output_gradient, stride, partials,
                static_cast<int>(pixels), pixels_per_block);
}

template <typename T>
cudaError_t depthwise_conv_float_arithmetic(TensorView<const T> input, TensorView<T> output,
                                            const float* weight, const float* bias, int stride,
                                            KernelActivation activation, cudaStream_t stream) {
  if (!valid_depthwise_arguments(input, output, weight, bias, stride)) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<T>(output.channels) / ChannelAlignment<T>::value;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("depthwise_conv", kernel_depthwise_conv<T>, shape.grid, shape.block, 0, stream,
                input, output, weight, bias, stride, activation, groups);
}

template cudaError_t depthwise_conv_float_arithmetic<float>(TensorView<const float>, TensorView<float>,
                                                            const float*, const float*, int,
                                                            KernelActivation, cudaStream_t);
template cudaError_t depthwise_conv_float_arithmetic<__half>(TensorView<const __half>, TensorView<__half>,
                                                             const float*, const float*, int,
                                                             KernelActivation, cudaStream_t);

template <>
cudaError_t depthwise_conv<float>(TensorView<const float> input, TensorView<float> output,
                                  const float* weight, const float* bias, int stride,
                                  KernelActivation activation, cudaStream_t stream) {
  return depthwise_conv_float_arithmetic<float>(input, output, weight, bias, stride, activation, stream);
}

}  // namespace m2u
