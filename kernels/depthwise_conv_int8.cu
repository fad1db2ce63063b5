// depthwise_conv_int8.cu - depthwise_conv_int8 (conv_kernels_int8.h): 3x3
// depthwise convolution, padding 1, stride 1 or 2, on int8 activations and
// weights, int32 sums, and the FP32 requantising epilogue (bias,
// activation, rounding to int8; no residual) of conv_kernels_int8.h.
//
// One thread per (output pixel, 16-channel group): 16 int32 accumulators,
// each tap one 16-byte load of the input pixel's group and one of the
// weights, which are stored tap-major ([9][C_pad], channels innermost) so
// that a tap's 16 channels are one aligned uint4 through the read-only
// cache. Taps outside the image (padding 1) are skipped. The 16 results go
// out as one 16-byte store; channels past `channels` are written 0.
//
// Why int8 storage with int32 math rather than FP16: the depthwise layers
// are bound by memory traffic (18 operations per channel per 1-2 bytes read
// and written), and int8 halves FP16's bytes; the int32 sums are exact, so
// the result is the same bits on every executor, and the int8 output is
// what the following int8 pointwise kernel reads, without a conversion.
// dp4a does not apply: it sums the products of the 4 lanes of a word, and
// the 4 lanes of an activation word are 4 different channels, whereas a
// depthwise sum runs over the 9 taps of one channel (gathering one
// channel's taps into words would cost byte permutes per product). So each
// product is a sign-extended byte multiply-add, on every architecture.
//
// Per output pixel, C channels (C_pad padded): 18 C int ops (9 multiply-adds
// a channel) and 3-4 FP32 operations per channel (FMA, activation, scale,
// clamp). Minimal DRAM traffic, every input pixel read once:
// (stride^2 + 1) * C_pad bytes (2 C_pad at stride 1, 5 C_pad at stride 2),
// plus the weights (9 C_pad bytes) and 8 C bytes of multipliers and biases
// once.
//
// device_check: kernel_depthwise_conv_int8 expects-ptx fma.rn.f32
// device_check: kernel_depthwise_conv_int8 expects-ptx cvt.rni.s32.f32
// device_check: kernel_depthwise_conv_int8 forbids-ptx dp4a
#include "conv_kernels_int8.h"
#include "device_math.cuh"
#include "int8_math.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kGroup = ChannelAlignment<int8_t>::value;  // 16 channels per thread

M2U_HOT_KERNEL __global__ void kernel_depthwise_conv_int8(TensorView<const int8_t> input,
                                                          TensorView<int8_t> output,
                                                          const int8_t* weight, Int8Requant requant,
                                                          int stride, KernelActivation activation,
                                                          int groups) {
  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  const int first_channel = at.first_channel;
  const int channels = output.channels;
  const int weight_row = groups * kGroup;  // padded channels

  int sums[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) sums[j] = 0;
  M2U_UNROLL
  for (int ky = 0; ky < 3; ++ky) {
    const int iy = at.y * stride - 1 + ky;
    if (iy < 0 || iy >= input.height) continue;
    M2U_UNROLL
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = at.x * stride - 1 + kx;
      if (ix < 0 || ix >= input.width) continue;
      const uint4 in =
          *reinterpret_cast<const uint4*>(pixel_at(input, at.n, iy, ix) + first_channel);
      const uint4 w = __ldg(reinterpret_cast<const uint4*>(
          weight + static_cast<size_t>(ky * 3 + kx) * weight_row + first_channel));
      const unsigned int in_words[4] = {in.x, in.y, in.z, in.w};
      const unsigned int weight_words[4] = {w.x, w.y, w.z, w.w};
      M2U_UNROLL
      for (int word = 0; word < 4; ++word) {
        M2U_UNROLL
        for (int b = 0; b < 4; ++b) {
          sums[word * 4 + b] += signed_byte(in_words[word], b) * signed_byte(weight_words[word], b);
        }
      }
    }
  }

  unsigned int packed[4] = {0u, 0u, 0u, 0u};
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    const int c = first_channel + j;
    if (c >= channels) continue;
    const float real =
        int8_activated(sums[j], __ldg(requant.multiplier + c), __ldg(requant.bias + c), activation);
    packed[j / 4] |= int8_quantized_byte(real, requant.output_inverse_scale) << (8 * (j % 4));
  }
  *reinterpret_cast<uint4*>(pixel_at(output, at.n, at.y, at.x) + first_channel) =
      make_uint4(packed[0], packed[1], packed[2], packed[3]);
}

}  // namespace

cudaError_t depthwise_conv_int8(TensorView<const int8_t> input, TensorView<int8_t> output,
                                const int8_t* weight, Int8Requant requant, int stride,
                                KernelActivation activation, cudaStream_t stream) {
  if (!valid_view(input) || !valid_view(output) || !aligned_16(weight) ||
      !valid_int8_epilogue(requant, activation) || (stride != 1 && stride != 2) ||
      output.batch != input.batch || output.channels != input.channels ||
      output.height != (input.height + stride - 1) / stride ||
      output.width != (input.width + stride - 1) / stride) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<int8_t>(output.channels) / kGroup;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("depthwise_conv_int8", kernel_depthwise_conv_int8, shape.grid, shape.block, 0,
                stream, input, output, weight, requant, stride, activation, groups);
}

}  // namespace m2u
