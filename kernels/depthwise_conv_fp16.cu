// depthwise_conv_fp16.cu - depthwise_conv<__half> (conv_kernels.h): the 3x3
// depthwise convolution of depthwise_conv.cu (padding 1, stride 1 or 2,
// folded batch-norm bias, activation) for __half storage, its multiply-adds
// in half2 arithmetic (__hfma2; the Jetson Nano's sm_53 has twice its FP32
// rate only with half2).
//
// One thread per (output pixel, 16-byte group of 8 channels): the group's
// channel pairs in 4 half2 accumulators over the 9 taps (from zero; taps in
// the padding skipped), each tap's 8 weights read as two float4 through the
// read-only cache (tap-major layout, conv_kernels.h) and converted to half2
// per channel pair. FP32 is kept
// where the result is formed: the 9-term half sums are flushed into FP32,
// the bias is added and the activation applied in FP32 (a half bias add
// would round once more, at the magnitude of the bias), and the result is
// rounded to half once, when stored. Channels past `channels` are written 0.
//
// Per output pixel, C channels (C_pad padded): 18 C FLOPs (9 multiply-adds a
// channel, in half2 lanes). Minimal DRAM traffic, every input pixel read
// once: (stride^2 + 1) * C_pad * 2 bytes (4 C_pad at stride 1, 10 C_pad at
// stride 2), plus the weights (float) once.
//
// device_check: kernel_depthwise_conv_half2 expects-ptx fma.rn.f16x2
#include "conv_kernels.h"
#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kHalfGroup = ChannelAlignment<__half>::value;  // 8 channels per thread
constexpr int kPairs = kHalfGroup / 2;
static_assert(kPairs == 4, "the tap loop below forms 4 weight pairs from two float4");

M2U_HOT_KERNEL __global__ void kernel_depthwise_conv_half2(TensorView<const __half> input,
                                                           TensorView<__half> output,
                                                           const float* weight, const float* bias,
                                                           int stride, KernelActivation activation,
                                                           int groups) {
  const PixelGroup at = pixel_group_of_thread<kHalfGroup>(output.width, groups);
  if (!at.valid) return;
  const int n = at.n, oy = at.y, ox = at.x, first_channel = at.first_channel;
  const int channels = output.channels;
  const float* group_weights = weight + first_channel;
  const int row = depthwise_weight_row(channels);

  // partial[q]: channels first_channel + 2q (low lane) and + 2q + 1 (high lane).
  __half2 partial[kPairs];
  M2U_UNROLL
  for (int q = 0; q < kPairs; ++q) partial[q] = __float2half2_rn(0.0f);
  M2U_UNROLL
  for (int ky = 0; ky < 3; ++ky) {
    const int iy = oy * stride - 1 + ky;
    if (iy < 0 || iy >= input.height) continue;
    M2U_UNROLL
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = ox * stride - 1 + kx;
      if (ix < 0 || ix >= input.width) continue;
      const int tap = ky * 3 + kx;
      __half2 values[kPairs];
      load_pairs(pixel_at(input, n, iy, ix) + first_channel, values);
      // Zero weights past `channels`.
      const float4 lower = __ldg(reinterpret_cast<const float4*>(group_weights + tap * row));
      const float4 upper = __ldg(reinterpret_cast<const float4*>(group_weights + tap * row + 4));
      partial[0] = __hfma2(values[0], __floats2half2_rn(lower.x, lower.y), partial[0]);
      partial[1] = __hfma2(values[1], __floats2half2_rn(lower.z, lower.w), partial[1]);
      partial[2] = __hfma2(values[2], __floats2half2_rn(upper.x, upper.y), partial[2]);
      partial[3] = __hfma2(values[3], __floats2half2_rn(upper.z, upper.w), partial[3]);
    }
  }
  float sums[kHalfGroup];
  M2U_UNROLL
  for (int q = 0; q < kPairs; ++q) {
    const int c = first_channel + 2 * q;
    sums[2 * q] = c < channels ? __low2float(partial[q]) + __ldg(bias + c) : 0.0f;
    sums[2 * q + 1] = c + 1 < channels ? __high2float(partial[q]) + __ldg(bias + c + 1) : 0.0f;
  }
  store_activated_group(pixel_at(output, n, oy, ox) + first_channel, sums, first_channel, channels,
                        activation);
}

}  // namespace

template <>
cudaError_t depthwise_conv<__half>(TensorView<const __half> input, TensorView<__half> output,
                                   const float* weight, const float* bias, int stride,
                                   KernelActivation activation, cudaStream_t stream) {
  if (!valid_depthwise_arguments(input, output, weight, bias, stride)) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<__half>(output.channels) / kHalfGroup;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("depthwise_conv", kernel_depthwise_conv_half2, shape.grid, shape.block, 0, stream,
                input, output, weight, bias, stride, activation, groups);
}

}  // namespace m2u
