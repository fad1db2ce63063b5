// pointwise_conv_fp16.cu - pointwise_conv<__half> (conv_kernels.h): the 1x1
// convolution of pointwise_conv.cu for __half storage, its multiply-adds in
// half2 arithmetic (__hfma2; the Jetson Nano's sm_53 has twice its FP32 rate
// only with half2).
//
// The float kernel's tiling: a block of 256 threads computes kTilePixels
// pixels x kTileChannels output channels (64 x 64, 128 x 32 or 256 x 16,
// picked by the output's width); each thread 4 consecutive pixels x 4
// consecutive channels. The reduction runs in chunks of 16 input channels
// staged through shared memory: the input tile as __half transposed to
// [channel][pixel] (rows padded by 4 halves against bank conflicts, keeping
// 8-byte alignment), the weight tile converted from float to half when
// staged and duplicated into both lanes of a half2, [channel][output
// channel] (rows padded by 4 half2). A thread's 4 pixels are 2 half2 pixel
// pairs: each input channel of the chunk is 8 __hfma2 (2 pairs x 4 weights).
//
// FP32 accumulation is kept across chunks: a chunk's 16 products per output
// are summed in half2 from zero, then added (flushed) into FP32
// accumulators, so a half partial sum has at most 16 terms and its rounding
// error stays a few half ulps of one chunk's sum instead of growing with K
// (hundreds of channels in the encoder) and with the magnitude of the whole
// sum. Bias, activation and residual add are FP32 as in the float kernel;
// the result is rounded to half once, when stored. Out-of-range pixels,
// channels and weights stage as 0. Channels of the output's padding are
// written 0. `residual` may alias `output` (each thread reads its residual
// before writing the same place).
//
// Per output pixel (K = padded input channels, Cout outputs): 2 K Cout
// FLOPs (in half2 lanes) plus Cout K / 16 FP32 flush adds. Minimal DRAM
// traffic: (K + Cout_pad, + Cout_pad with a residual) * 2 bytes, plus the
// weights (float) once.
//
// device_check: kernel_pointwise_conv_half2 expects-ptx fma.rn.f16x2
#include "conv_kernels.h"
#include "device_math.cuh"
#include "pointwise_epilogue.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kPointwiseThreads = 256;
constexpr int kChunk = 16;                                 // input channels staged per step
constexpr int kHalfGroup = ChannelAlignment<__half>::value;  // 8 channels per 16-byte group

template <int kTileChannels>
struct Half2Tile {
  static constexpr int kQuads = kTileChannels / 4;  // output channel quads per tile
  static constexpr int kPixels = kPointwiseThreads / kQuads * 4;
  static constexpr int kInputRow = kPixels + 4;         // staged input: [kChunk][kInputRow] halves
  static constexpr int kWeightRow = kTileChannels + 4;  // staged weight: [kChunk][kWeightRow] half2
  static constexpr size_t kSharedBytes =
      sizeof(__half2) * kChunk * kWeightRow + sizeof(__half) * kChunk * kInputRow;
};

template <int kTileChannels>
M2U_HOT_KERNEL __global__ void __launch_bounds__(kPointwiseThreads)
    kernel_pointwise_conv_half2(TensorView<const __half> input, TensorView<__half> output,
                                const float* weight, const float* bias,
                                KernelActivation activation, TensorView<const __half> residual,
                                int reduce_channels, int padded_out_channels) {
  using Tile = Half2Tile<kTileChannels>;
  constexpr int kChunkGroups = kChunk / kHalfGroup;
  M2U_DYNAMIC_SHARED(__half2, pointwise_shared);
  __half2* staged_weight = pointwise_shared;  // [kChunk][Tile::kWeightRow]
  __half* staged_input = reinterpret_cast<__half*>(pointwise_shared + kChunk * Tile::kWeightRow);

  const int thread = static_cast<int>(threadIdx.x);
  const int quad = thread % Tile::kQuads;
  const int pixel_quad = thread / Tile::kQuads;
  const int pixels = output.batch * output.height * output.width;
  const int first_pixel = static_cast<int>(blockIdx.x) * Tile::kPixels;
  const int first_channel = static_cast<int>(blockIdx.y) * kTileChannels;
  const int out_channels = output.channels;
  const __half2 zero = __float2half2_rn(0.0f);

  float sums[4][4];
  M2U_UNROLL
  for (int i = 0; i < 4; ++i) {
    M2U_UNROLL
    for (int j = 0; j < 4; ++j) sums[i][j] = 0.0f;
  }

  for (int chunk = 0; chunk < reduce_channels; chunk += kChunk) {
    for (int i = thread; i < Tile::kPixels * kChunkGroups; i += kPointwiseThreads) {
      const int p = i / kChunkGroups;
      const int group = i % kChunkGroups;
      const int channel = chunk + group * kHalfGroup;
      __half2 pairs[kHalfGroup / 2];
      if (first_pixel + p < pixels && channel < reduce_channels) {
        load_pairs(input.data + static_cast<size_t>(first_pixel + p) * input.pixel_stride + channel,
                   pairs);
      } else {
        M2U_UNROLL
        for (int j = 0; j < kHalfGroup / 2; ++j) pairs[j] = zero;
      }
      __half* column = staged_input + group * kHalfGroup * Tile::kInputRow + p;
      M2U_UNROLL
      for (int j = 0; j < kHalfGroup / 2; ++j) {
        column[(2 * j) * Tile::kInputRow] = __low2half(pairs[j]);
        column[(2 * j + 1) * Tile::kInputRow] = __high2half(pairs[j]);
      }
    }
    for (int i = thread; i < kTileChannels * kChunk; i += kPointwiseThreads) {
      const int c = i / kChunk;
      const int k = i % kChunk;
      const int co = first_channel + c;
      const int channel = chunk + k;
      staged_weight[k * Tile::kWeightRow + c] = __float2half2_rn(
          co < out_channels && channel < reduce_channels
              ? __ldg(weight + static_cast<size_t>(co) * reduce_channels + channel)
              : 0.0f);
    }
    __syncthreads();
    // partial[q][j]: pixels 2q (low lane) and 2q + 1 (high lane), output channel j.
    __half2 partial[2][4];
    M2U_UNROLL
    for (int q = 0; q < 2; ++q) {
      M2U_UNROLL
      for (int j = 0; j < 4; ++j) partial[q][j] = zero;
    }
    M2U_UNROLL
    for (int k = 0; k < kChunk; ++k) {
      __half2 a[2];
      __half2 b[4];
      load_pairs(staged_input + k * Tile::kInputRow + pixel_quad * 4, a);
      load_pairs(reinterpret_cast<const __half*>(staged_weight + k * Tile::kWeightRow + quad * 4),
                 b);
      M2U_UNROLL
      for (int q = 0; q < 2; ++q) {
        M2U_UNROLL
        for (int j = 0; j < 4; ++j) partial[q][j] = __hfma2(a[q], b[j], partial[q][j]);
      }
    }
    M2U_UNROLL
    for (int q = 0; q < 2; ++q) {
      M2U_UNROLL
      for (int j = 0; j < 4; ++j) {
        sums[2 * q][j] += __low2float(partial[q][j]);
        sums[2 * q + 1][j] += __high2float(partial[q][j]);
      }
    }
    __syncthreads();
  }

  const int first_out = first_channel + quad * 4;
  if (first_out >= padded_out_channels) return;
  store_pointwise_quads(sums, output, bias, activation, residual, first_pixel + pixel_quad * 4, first_out, pixels);
}

template <int kTileChannels>
cudaError_t launch_pointwise_half2(TensorView<const __half> input, TensorView<__half> output,
                                   const float* weight, const float* bias,
                                   KernelActivation activation, TensorView<const __half> residual,
                                   int padded_out_channels, cudaStream_t stream) {
  using Tile = Half2Tile<kTileChannels>;
  const int pixels = static_cast<int>(output.pixel_count());
  const dim3 grid(static_cast<unsigned>((pixels + Tile::kPixels - 1) / Tile::kPixels),
                  static_cast<unsigned>((padded_out_channels + kTileChannels - 1) / kTileChannels));
  return launch("pointwise_conv", kernel_pointwise_conv_half2<kTileChannels>, grid,
                dim3(kPointwiseThreads), Tile::kSharedBytes, stream, input, output, weight, bias,
                activation, residual, padded_channels<__half>(input.channels),
                padded_out_channels);
}

}  // namespace

template <>
cudaError_t pointwise_conv<__half>(TensorView<const __half> input, TensorView<__half> output,
                                   const float* weight, const float* bias,
                                   KernelActivation activation, TensorView<const __half> residual,
                                   cudaStream_t stream) {
  if (!valid_pointwise_arguments(input, output, weight, bias, residual)) {
    return cudaErrorInvalidValue;
  }
  const int padded_out = padded_channels<__half>(output.channels);
  if (padded_out <= 16) {
    return launch_pointwise_half2<16>(input, output, weight, bias, activation, residual,
                                      padded_out, stream);
  }
  if (padded_out <= 32) {
    return launch_pointwise_half2<32>(input, output, weight, bias, activation, residual,
                                      padded_out, stream);
  }
  return launch_pointwise_half2<64>(input, output, weight, bias, activation, residual, padded_out,
                                    stream);
}

}  // namespace m2u
