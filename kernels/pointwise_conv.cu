// pointwise_conv.cu - 1x1 convolution with the folded batch-norm bias, an
// activation and an optional residual add (conv_kernels.h), FP32
// arithmetic: a GEMM of the pixels (rows) by the weight rows, reduced over
// the input's padded channels. Storage float or __half, input and output
// each (pointwise_conv<float>, pointwise_conv_float_arithmetic<Tin, Tout>:
// FP16's mixed-precision layers). The __half path in half2 arithmetic is
// pointwise_conv_fp16.cu.
//
// A block of 256 threads computes a tile of kTilePixels pixels x
// kTileChannels output channels (64 x 64, 128 x 32 or 256 x 16, picked by
// the output's width); each thread 4 consecutive pixels x 4 consecutive
// channels in FP32 registers. The reduction runs in chunks of 16 input
// channels, staged through shared memory as FP32: the input tile
// transposed to [channel][pixel], the weight tile to [channel][output
// channel] (rows padded by 4 floats against bank conflicts, keeping 16-byte
// alignment). Out-of-range pixels, channels and weights stage as 0.
// Channels of the output's padding are written 0. `residual` may alias
// `output` (each thread reads its residual before writing the same place).
//
// Per output pixel (K = padded input channels, Cout outputs): 2 K Cout
// FLOPs. Minimal DRAM traffic: K * sizeof(Tin) + (Cout_pad, + Cout_pad with
// a residual) * sizeof(Tout) bytes, plus the weights once.
//
// Backward: pointwise_weight_gradient, one thread per (output channel co,
// input column k) of a block row of pairs (blockIdx.y) and one pixel range
// per blockIdx.x; each thread sums g[p][co] * in[p][k] over its range in
// pixel order (k = K: the bias, in = 1) and writes one partial. Per pixel
// 2 Cout (K + 1) FLOPs; minimal DRAM traffic (K + Cout_pad) * 4 bytes a
// pixel (the rows re-read by the block's threads come from cache), plus
// the partials.
#include "conv_kernels.h"
#include "device_math.cuh"
#include "pointwise_epilogue.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kPointwiseThreads = 256;
constexpr int kChunk = 16;  // input channels staged per step

template <int kTileChannels>
struct PointwiseTile {
  static constexpr int kQuads = kTileChannels / 4;  // output channel quads per tile
  static constexpr int kPixels = kPointwiseThreads / kQuads * 4;
  static constexpr int kInputRow = kPixels + 4;         // staged input: [kChunk][kInputRow]
  static constexpr int kWeightRow = kTileChannels + 4;  // staged weight: [kChunk][kWeightRow]
  static constexpr size_t kSharedBytes = sizeof(float) * kChunk * (kInputRow + kWeightRow);
};

template <int kTileChannels, typename Tin, typename Tout>
M2U_HOT_KERNEL __global__ void __launch_bounds__(kPointwiseThreads)
    kernel_pointwise_conv(TensorView<const Tin> input, TensorView<Tout> output,
                          const float* weight, const float* bias, KernelActivation activation,
                          TensorView<const Tout> residual, int reduce_channels,
                          int padded_out_channels) {
  using Tile = PointwiseTile<kTileChannels>;
  constexpr int kGroup = ChannelAlignment<Tin>::value;
  constexpr int kChunkGroups = kChunk / kGroup;
  M2U_DYNAMIC_SHARED(float, pointwise_shared);
  float* staged_input = pointwise_shared;                              // [kChunk][Tile::kInputRow]
  float* staged_weight = pointwise_shared + kChunk * Tile::kInputRow;  // [kChunk][Tile::kWeightRow]

  const int thread = static_cast<int>(threadIdx.x);
  const int quad = thread % Tile::kQuads;
  const int pixel_quad = thread / Tile::kQuads;
  const int pixels = output.batch * output.height * output.width;
  const int first_pixel = static_cast<int>(blockIdx.x) * Tile::kPixels;
  const int first_channel = static_cast<int>(blockIdx.y) * kTileChannels;
  const int out_channels = output.channels;

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
      const int channel = chunk + group * kGroup;
      float values[kGroup];
      if (first_pixel + p < pixels && channel < reduce_channels) {
        load_group(input.data + static_cast<size_t>(first_pixel + p) * input.pixel_stride + channel,
                   values);
      } else {
        M2U_UNROLL
        for (int j = 0; j < kGroup; ++j) values[j] = 0.0f;
      }
      M2U_UNROLL
      for (int j = 0; j < kGroup; ++j)
        staged_input[(group * kGroup + j) * Tile::kInputRow + p] = values[j];
    }
    for (int i = thread; i < kTileChannels * kChunk; i += kPointwiseThreads) {
      const int c = i / kChunk;
      const int k = i % kChunk;
      const int co = first_channel + c;
      const int channel = chunk + k;
      staged_weight[k * Tile::kWeightRow + c] =
          co < out_channels && channel < reduce_channels
              ? __ldg(weight + static_cast<size_t>(co) * reduce_channels + channel)
              : 0.0f;
    }
    __syncthreads();
    M2U_UNROLL
    for (int k = 0; k < kChunk; ++k) {
      float a[4];
      float b[4];
      load_quad(staged_input + k * Tile::kInputRow + pixel_quad * 4, a);
      load_quad(staged_weight + k * Tile::kWeightRow + quad * 4, b);
      M2U_UNROLL
      for (int i = 0; i < 4; ++i) {
        M2U_UNROLL
        for (int j = 0; j < 4; ++j) sums[i][j] += a[i] * b[j];
      }
    }
    __syncthreads();
  }

  const int first_out = first_channel + quad * 4;
  if (first_out >= padded_out_channels) return;
  store_pointwise_quads(sums, output, bias, activation, residual, first_pixel + pixel_quad * 4, first_out, pixels);
}

template <int kTileChannels, typename Tin, typename Tout>
cudaError_t launch_pointwise(TensorView<const Tin> input, TensorView<Tout> output,
                             const float* weight, const float* bias, KernelActivation activation,
                             TensorView<const Tout> residual, int padded_out_channels,
                             cudaStream_t stream) {
  using Tile = PointwiseTile<kTileChannels>;
  const int pixels = static_cast<int>(output.pixel_count());
  const dim3 grid(static_cast<unsigned>((pixels + Tile::kPixels - 1) / Tile::kPixels),
                  static_cast<unsigned>((padded_out_channels + kTileChannels - 1) / kTileChannels));
  return launch("pointwise_conv", kernel_pointwise_conv<kTileChannels, Tin, Tout>, grid,
                dim3(kPointwiseThreads), Tile::kSharedBytes, stream, input, output, weight, bias,
                activation, residual, padded_channels<Tin>(input.channels), padded_out_channels);
}

constexpr int kGradientThreads = 256;

__global__ void kernel_pointwise_weight_gradient(TensorView<const float> input,
                                                 TensorView<const float> gradient, float* partials,
                                                 int columns, int pixels, int pixels_per_block) {
  const int pairs = gradient.channels * (columns + 1);
  const int pair = static_cast<int>(blockIdx.y * blockDim.x + threadIdx.x);
  if (pair >= pairs) return;
  const int co = pair / (columns + 1), k = pair % (columns + 1);
  const int begin = static_cast<int>(blockIdx.x) * pixels_per_block;
  const int end = min(begin + pixels_per_block, pixels);
  float sum = 0.0f;
  for (int p = begin; p < end; ++p) {
    const float g = __ldg(gradient.data + static_cast<size_t>(p) * gradient.pixel_stride + co);
    const float x = k < columns ? __ldg(input.data + static_cast<size_t>(p) * input.pixel_stride + k) : 1.0f;
    sum = fmaf(g, x, sum);
  }
  partials[static_cast<size_t>(blockIdx.x) * pairs + pair] = sum;
}

}  // namespace

cudaError_t pointwise_weight_gradient(TensorView<const float> input,
                                      TensorView<const float> output_gradient, float* partials,
                                      cudaStream_t stream) {
  if (!valid_view(input) || !valid_view(output_gradient) || partials == nullptr ||
      output_gradient.batch != input.batch || output_gradient.height != input.height ||
      output_gradient.width != input.width) {
    return cudaErrorInvalidValue;
  }
  const int columns = padded_channels<float>(input.channels);
  const long long pairs = static_cast<long long>(output_gradient.channels) * (columns + 1);
  const int blocks = weight_gradient_blocks(input.pixel_count());
  const long long pair_blocks = (pairs + kGradientThreads - 1) / kGradientThreads;
  if (pair_blocks > kMaxGridRows) return cudaErrorInvalidValue;
  const int pixels_per_block = static_cast<int>((input.pixel_count() + blocks - 1) / blocks);
  return launch("pointwise_weight_gradient", kernel_pointwise_weight_gradient,
                dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(pair_blocks)),
                dim3(kGradientThreads), 0, stream, input, output_gradient, partials, columns,
                static_cast<int>(input.pixel_count()), pixels_per_block);
}

template <typename Tin, typename Tout>
cudaError_t pointwise_conv_float_arithmetic(TensorView<const Tin> input, TensorView<Tout> output,
                                            const float* weight, const float* bias,
                                            KernelActivation activation, TensorView<const Tout> residual,
                                            cudaStream_t stream) {
  if (!valid_pointwise_arguments(input, output, weight, bias, residual)) {
    return cudaErrorInvalidValue;
  }
  const int padded_out = padded_channels<Tout>(output.channels);
  if (padded_out <= 16) {
    return launch_pointwise<16>(input, output, weight, bias, activation, residual, padded_out,
                                stream);
  }
  if (padded_out <= 32) {
    return launch_pointwise<32>(input, output, weight, bias, activation, residual, padded_out,
                                stream);
  }
  return launch_pointwise<64>(input, output, weight, bias, activation, residual, padded_out,
                              stream);
}

template cudaError_t pointwise_conv_float_arithmetic<float, float>(TensorView<const float>, TensorView<float>,
                                                                   const float*, const float*, KernelActivation,
                                                                   TensorView<const float>, cudaStream_t);
template cudaError_t pointwise_conv_float_arithmetic<__half, __half>(TensorView<const __half>, TensorView<__half>,
                                                                     const float*, const float*, KernelActivation,
                                                                     TensorView<const __half>, cudaStream_t);
template cudaError_t pointwise_conv_float_arithmetic<__half, float>(TensorView<const __half>, TensorView<float>,
                                                                    const float*, const float*, KernelActivation,
                                                                    TensorView<const float>, cudaStream_t);

template <>
cudaError_t pointwise_conv<float>(TensorView<const float> input, TensorView<float> output,
                                  const float* weight, const float* bias,
                                  KernelActivation activation, TensorView<const float> residual,
                                  cudaStream_t stream) {
  return pointwise_conv_float_arithmetic<float, float>(input, output, weight, bias, activation, residual, stream);
}

}  // namespace m2u
