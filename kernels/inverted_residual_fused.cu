// inverted_residual_fused.cu - one MobileNetV2 inverted-residual block in one
// kernel (conv_kernels.h): expand 1x1 -> depthwise 3x3 (stride 1 or 2) ->
// project 1x1 (+ residual), FP32 arithmetic on float storage. The expanded
// and depthwise tensors never leave the block's shared memory: only the
// block's input is read and its output written (F7's fusion; the work
// model's per-block numbers are in tests/engine/test_fusion_model.cpp).
//
// A block of 256 threads owns an 8 x 8 tile of output pixels and walks the
// hidden (expanded) channels in chunks of 16:
//   1. expand: the tile's input window ((8 - 1) * stride + 3 pixels a side,
//      the halo recomputed by the neighbouring tiles too) x 16 hidden
//      channels into shared memory, each thread 4 channels of a pixel;
//      pixels outside the image are 0 (the depthwise's zero padding);
//   2. depthwise: 64 pixels x 16 channels, one thread per pixel and 4
//      channels, into shared memory;
//   3. project: each thread accumulates its pixel's sums for up to
//      4 * kQuads output channels (kQuads 2 or 4) (quads g, g + 4, ... for g = threadIdx / 64)
//      in registers over all chunks.
// The epilogue adds the bias, applies the activation, adds the residual and
// stores quads; channels of the output's padding are written 0. Shared rows
// are 20 floats (16 + 4) so that the 128-bit reads of a warp hit distinct
// banks.
//
// Per output pixel (Cin, hidden C, Cout; K = padded channels): 2 (halo x
// Cin C + 9 C + C Cout) FLOPs, halo = window pixels / (64 stride^2) (1.56
// at stride 1, 1.13 at stride 2). Minimal DRAM traffic: the input once
// (stride^2 K_in values), the output once (K_out), the residual once, plus
// the weights (re-read by every tile from cache).
#include "conv_kernels.h"
#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kFusedThreads = 256;
constexpr int kFusedTile = kFusedTileOutputs;  // output pixels a side
constexpr int kFusedChunk = 16;    // hidden channels a pass
constexpr int kSharedRow = kFusedChunk + 4;
constexpr int kTilePixels = kFusedTile * kFusedTile;

__host__ __device__ constexpr int window_side(int stride) { return (kFusedTile - 1) * stride + 3; }

// padded_channels<T> (host-only) in device code.
template <typename T>
__device__ __forceinline__ int padded_in_device(int channels) {
  constexpr int kGroup = ChannelAlignment<T>::value;
  return (channels + kGroup - 1) / kGroup * kGroup;
}

__device__ __forceinline__ float dot4(const float (&a)[4], const float4& b) {
  return a[0] * b.x + a[1] * b.y + a[2] * b.z + a[3] * b.w;
}

// kQuads: output quads per thread (4 kQuads threads' quads cover the
// output's padded channels).
// __launch_bounds__: sm_53 (the Nano) allows 32K registers a block, so 256
// threads get at most 128 registers each (without the bound ptxas used 138
// for 4 quads: the launch would fail on the Nano). With 4 quads a thread
// (64 outputs) it uses 124 on sm_53 and spills nothing on sm_53 .. sm_87;
// 6 quads (96 outputs) spilled on sm_53, and the widest fused block
// (conv4.7) has 64 outputs.
template <typename T, int kQuads>
M2U_HOT_KERNEL __global__ void __launch_bounds__(kFusedThreads, 1) kernel_inverted_residual_fused(TensorView<const T> input, TensorView<T> output,
                                                              TensorView<const T> residual, FusedBlockWeights w,
                                                              int stride) {
  M2U_DYNAMIC_SHARED(float, fused_shared);
  const int side = window_side(stride);
  float* expanded = fused_shared;                      // [side * side][kSharedRow]
  float* filtered = fused_shared + side * side * kSharedRow;  // [kTilePixels][kSharedRow]
  const int tid = static_cast<int>(threadIdx.x);
  const int n = static_cast<int>(blockIdx.z);
  const int tile_y = static_cast<int>(blockIdx.y) * kFusedTile;
  const int tile_x = static_cast<int>(blockIdx.x) * kFusedTile;
  const int window_y = tile_y * stride - 1, window_x = tile_x * stride - 1;
  const int in_padded = padded_in_device<T>(input.channels);
  const int hidden = w.hidden_channels;

  // The project phase's pixel and output quads.
  const int q = tid % kTilePixels, group = tid / kTilePixels;
  float sums[kQuads][4];
  M2U_UNROLL
  for (int j = 0; j < kQuads; ++j)
    M2U_UNROLL
    for (int i = 0; i < 4; ++i) sums[j][i] = 0.0f;

  for (int chunk = 0; chunk < hidden; chunk += kFusedChunk) {
    // 1. expand the window's pixels, 4 hidden channels per item.
    for (int item = tid; item < side * side * 4; item += kFusedThreads) {
      const int p = item / 4, first = chunk + (item % 4) * 4;
      const int iy = window_y + p / side, ix = window_x + p % side;
      float values[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (iy >= 0 && iy < input.height && ix >= 0 && ix < input.width) {
        float acc[4];
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) acc[i] = first + i < hidden ? __ldg(w.expand_bias + first + i) : 0.0f;
        const T* pixel = pixel_at(input, n, iy, ix);
        for (int c = 0; c < in_padded; c += 4) {
          float x[4];
          load_quad(pixel + c, x);
          M2U_UNROLL
          for (int i = 0; i < 4; ++i) {
            if (first + i < hidden) {
              acc[i] += dot4(x, __ldg(reinterpret_cast<const float4*>(
                                    w.expand_weight + static_cast<size_t>(first + i) * w.expand_row + c)));
            }
          }
        }
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) values[i] = first + i < hidden ? activate(acc[i], w.expand_activation) : 0.0f;
      }
      store_quad(expanded + p * kSharedRow + (item % 4) * 4, values);
    }
    __syncthreads();
    // 2. depthwise: one thread per tile pixel and 4 hidden channels.
    {
      const int p = tid / 4, first = chunk + (tid % 4) * 4;
      const int oy = tile_y + p / kFusedTile, ox = tile_x + p % kFusedTile;
      float values[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (oy < output.height && ox < output.width) {
        float acc[4];
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) acc[i] = first + i < hidden ? __ldg(w.depthwise_bias + first + i) : 0.0f;
        const int base = (p / kFusedTile) * stride * side + (p % kFusedTile) * stride;
        M2U_UNROLL
        for (int tap = 0; tap < 9; ++tap) {
          float e[4];
          load_quad(expanded + (base + (tap / 3) * side + tap % 3) * kSharedRow + (tid % 4) * 4, e);
          M2U_UNROLL
          for (int i = 0; i < 4; ++i) {
            if (first + i < hidden) acc[i] += e[i] * __ldg(w.depthwise_weight + (first + i) * 9 + tap);
          }
        }
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) values[i] = first + i < hidden ? activate(acc[i], w.depthwise_activation) : 0.0f;
      }
      store_quad(filtered + p * kSharedRow + (tid % 4) * 4, values);
    }
    __syncthreads();
    // 3. project: this thread's pixel x its output quads, 4 hidden channels
    // at a time (the weight rows are padded with zeros past `hidden`).
    M2U_UNROLL
    for (int kq = 0; kq < kFusedChunk / 4; ++kq) {
      const int k = chunk + kq * 4;
      if (k >= hidden) break;
      float d[4];
      load_quad(filtered + q * kSharedRow + kq * 4, d);
      M2U_UNROLL
      for (int j = 0; j < kQuads; ++j) {
        const int first_out = (group + 4 * j) * 4;
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) {
          if (first_out + i < output.channels) {
            sums[j][i] += dot4(d, __ldg(reinterpret_cast<const float4*>(
                                      w.project_weight + static_cast<size_t>(first_out + i) * w.project_row + k)));
          }
        }
      }
    }
    __syncthreads();  // the next chunk overwrites both tiles
  }

  const int oy = tile_y + q / kFusedTile, ox = tile_x + q % kFusedTile;
  if (oy >= output.height || ox >= output.width) return;
  const int out_padded = padded_in_device<T>(output.channels);
  M2U_UNROLL
  for (int j = 0; j < kQuads; ++j) {
    const int first_out = (group + 4 * j) * 4;
    if (first_out >= out_padded) break;
    float residuals[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (residual.data != nullptr) load_quad(pixel_at(residual, n, oy, ox) + first_out, residuals);
    float results[4];
    M2U_UNROLL
    for (int i = 0; i < 4; ++i) {
      const int o = first_out + i;
      results[i] = o < output.channels
                       ? activate(sums[j][i] + __ldg(w.project_bias + o), w.project_activation) + residuals[i]
                       : 0.0f;
    }
    store_quad(pixel_at(output, n, oy, ox) + first_out, results);
  }
}

template <int kQuads>
cudaError_t launch_fused(TensorView<const float> input, TensorView<float> output, TensorView<const float> residual,
                         const FusedBlockWeights& weights, int stride, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((output.width + kFusedTile - 1) / kFusedTile),
                  static_cast<unsigned>((output.height + kFusedTile - 1) / kFusedTile),
                  static_cast<unsigned>(output.batch));
  const int side = window_side(stride);
  const size_t shared = static_cast<size_t>(side * side + kTilePixels) * kSharedRow * sizeof(float);
  return launch("inverted_residual_fused", kernel_inverted_residual_fused<float, kQuads>, grid, dim3(kFusedThreads),
                shared, stream, input, output, residual, weights, stride);
}

bool aligned16(const float* p) { return p != nullptr && reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

template <>
cudaError_t inverted_residual_fused<float>(TensorView<const float> input, TensorView<float> output,
                                           TensorView<const float> residual, const FusedBlockWeights& weights,
                                           int stride, cudaStream_t stream) {
  const int out_padded = padded_channels<float>(output.channels);
  if (!valid_view(input) || !valid_view(output) || (stride != 1 && stride != 2) || output.batch != input.batch ||
      output.height != (input.height + stride - 1) / stride || output.width != (input.width + stride - 1) / stride ||
      weights.hidden_channels < 1 || out_padded > kMaxFusedOutputChannels ||
      weights.expand_row != padded_channels<float>(input.channels) ||
      weights.project_row != padded_channels<float>(weights.hidden_channels) || !aligned16(weights.expand_weight) ||
      !aligned16(weights.project_weight) || !weights.expand_bias || !weights.depthwise_weight ||
      !weights.depthwise_bias || !weights.project_bias ||
      (residual.data != nullptr && (!valid_view(residual) || !same_shape(residual, output)))) {
    return cudaErrorInvalidValue;
  }
  if (out_padded <= 32) return launch_fused<2>(input, output, residual, weights, stride, stream);
  return launch_fused<4>(input, output, residual, weights, stride, stream);
}

}  // namespace m2u
