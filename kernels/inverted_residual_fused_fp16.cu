// inverted_residual_fused_fp16.cu - inverted_residual_fused<__half>
// (conv_kernels.h): the fused inverted-residual block of
// inverted_residual_fused.cu for __half storage, its multiply-adds in half2
// arithmetic (__hfma2; the Jetson Nano's sm_53 has twice its FP32 rate only
// with half2), rounding as FP16's unfused half2 layers do (pointwise_conv_fp16.cu,
// depthwise_conv_fp16.cu): weights rounded to half when staged, half partial
// sums of at most 16 products flushed into FP32, bias and activation in FP32,
// each tensor rounded to half once, when stored (the expanded and depthwise
// ones in shared memory).
//
// The FP32 kernel's tile and phases (inverted_residual_fused.cuh): 256
// threads, 8 x 8 output pixels, hidden channels in chunks of 16, the chunk's
// weights staged one phase ahead of their use:
//   1. expand: the tile's window x 16 hidden channels into shared memory,
//      each item a pixel and 4 hidden channels; a half2 lane pair per hidden
//      channel (input channels c, c + 1) over 16 input channels, flushed
//      (both lanes) into FP32; 0 outside the image;
//   2. depthwise: a thread per tile pixel and 4 hidden channels, 2 half2
//      accumulators over the 9 taps, flushed into FP32;
//   3. project: a thread per pixel and up to 4 kQuads output channels, each
//      output's 16 products of the chunk in one half2 (8 __hfma2), flushed
//      into the FP32 sums kept over all chunks.
// Shared rows are 24 halves (16 + 8; 48 bytes): the 16-byte reads of 8
// lanes at consecutive pixels hit distinct banks. Half storage halves the
// shared memory of the FP32 kernel (stride 2: 22.6 KB against 45 KB).
//
// Work as the FP32 kernel's: 2 (halo x Cin C + 9 C + C Cout) FLOPs per output
// pixel, in half2 lanes; DRAM traffic its input and output at 2 bytes a
// value, plus the weights (float) once.
//
// device_check: kernel_inverted_residual_fused_half2 expects-ptx fma.rn.f16x2
#include "conv_kernels.h"
#include "device_math.cuh"
#include "inverted_residual_fused.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

using fused::kChunk;
using fused::kThreads;
using fused::kTile;
using fused::kTilePixels;
using fused::padded_in_device;
using fused::window_side;
constexpr int kRow = kChunk + 8;  // halves a shared row

// The expand rows of a chunk: hidden channel h at row (h % 4) * 4 + h / 4
// (the FP32 kernel's order: the rows a warp reads at once are adjacent),
// rows expand_stride halves apart: 16 bytes times an odd number, so that a
// row's 16-byte groups are aligned and the four rows read at once fall in
// distinct bank groups.
__host__ __device__ constexpr int expand_stride(int expand_row) { return 8 * ((expand_row / 8) | 1); }
__host__ __device__ constexpr int expand_slot(int h) { return (h % 4) * 4 + h / 4; }

// The block's shared memory, every part 16-byte aligned: the chunk's
// biases (FP32), then in halves the expanded window [side * side][kRow],
// the depthwise tile [kTilePixels][kRow], the project columns
// [out_padded][kRow], the expand rows [kChunk][expand_stride] and the
// depthwise taps [9][kChunk]. Places computed where used (held as pointers
// they cost sm_53 registers).
struct SharedParts {
  unsigned char* base;
  int side;
  int out_padded;
  __device__ float* expand_bias() const { return reinterpret_cast<float*>(base); }
  __device__ float* depthwise_bias() const { return reinterpret_cast<float*>(base) + kChunk; }
  __device__ __half* expanded() const { return reinterpret_cast<__half*>(base + 2 * kChunk * sizeof(float)); }
  __device__ __half* filtered() const { return expanded() + side * side * kRow; }
  __device__ __half* project() const { return filtered() + kTilePixels * kRow; }
  __device__ __half* expand() const { return project() + out_padded * kRow; }
  __device__ __half* depthwise(int expand_row) const { return expand() + kChunk * expand_stride(expand_row); }
};

__host__ __device__ constexpr size_t shared_bytes(int side, int out_padded, int expand_row) {
  return 2 * kChunk * sizeof(float) +
         sizeof(__half) * (static_cast<size_t>(side * side + kTilePixels + out_padded) * kRow +
                           kChunk * expand_stride(expand_row) + 9 * kChunk);
}

__device__ __forceinline__ void store_halves(__half* destination, const float4& v) {
  *reinterpret_cast<uint2*>(destination) = make_uint2(pack_halves(v.x, v.y), pack_halves(v.z, v.w));
}

__device__ __forceinline__ float flushed(const __half2& partial) {
  return __low2float(partial) + __high2float(partial);
}

// Stages, as half, what phase `phase` of chunk `chunk` will need (0: the
// expand rows and biases; 1: the depthwise taps and biases; 2: the project
// columns), zeros past `hidden`; the order of the FP32 kernel's stage().
__device__ __forceinline__ void stage(const FusedBlockWeights& w, const SharedParts& shared, int chunk, int phase,
                                      int out_channels, int tid) {
  const int hidden = w.hidden_channels;
  const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (phase == 0) {
    const int quads = w.expand_row / 4;
    __half* rows = shared.expand();
    const int stride = expand_stride(w.expand_row);
    for (int item = tid; item < kChunk * quads; item += kThreads) {
      const int h = item / quads, c = (item % quads) * 4;
      const float4 v = chunk + h < hidden ? __ldg(reinterpret_cast<const float4*>(
                                                w.expand_weight + static_cast<size_t>(chunk + h) * w.expand_row + c))
                                          : zero;
      store_halves(rows + expand_slot(h) * stride + c, v);
    }
    if (tid < kChunk) shared.expand_bias()[tid] = chunk + tid < hidden ? __ldg(w.expand_bias + chunk + tid) : 0.0f;
  } else if (phase == 1) {
    __half* taps = shared.depthwise(w.expand_row);
    for (int item = tid; item < 9 * kChunk; item += kThreads) {
      const int tap = item / kChunk, h = item % kChunk;
      taps[item] = __float2half_rn(
          chunk + h < hidden ? __ldg(w.depthwise_weight + tap * depthwise_weight_row(hidden) + chunk + h) : 0.0f);
    }
    if (tid < kChunk) {
      shared.depthwise_bias()[tid] = chunk + tid < hidden ? __ldg(w.depthwise_bias + chunk + tid) : 0.0f;
    }
  } else {
    for (int item = tid; item < shared.out_padded * (kChunk / 4); item += kThreads) {
      const int o = item / (kChunk / 4), k = (item % (kChunk / 4)) * 4;
      const float4 v = chunk + k < w.project_row && o < out_channels
                           ? __ldg(reinterpret_cast<const float4*>(w.project_weight +
                                                                   static_cast<size_t>(o) * w.project_row + chunk + k))
                           : zero;
      store_halves(shared.project() + o * kRow + k, v);
    }
  }
}

// kQuads and __launch_bounds__ as in the FP32 kernel.
template <int kQuads>
M2U_HOT_KERNEL __global__ void __launch_bounds__(kThreads, 1)
    kernel_inverted_residual_fused_half2(TensorView<const __half> input, TensorView<__half> output,
                                         TensorView<const __half> residual, FusedBlockWeights w, int stride) {
  M2U_DYNAMIC_SHARED(unsigned char, fused_shared);
  const int side = window_side(stride);
  const int out_padded = padded_in_device<__half>(output.channels);
  const SharedParts shared{fused_shared, side, out_padded};
  const int out_channels = output.channels;
  const int tid = static_cast<int>(threadIdx.x);
  const int n = static_cast<int>(blockIdx.z);
  const int tile_y = static_cast<int>(blockIdx.y) * kTile;
  const int tile_x = static_cast<int>(blockIdx.x) * kTile;
  const int window_y = tile_y * stride - 1, window_x = tile_x * stride - 1;
  const int in_padded = padded_in_device<__half>(input.channels);
  const int hidden = w.hidden_channels;
  const __half2 zero2 = __floats2half2_rn(0.0f, 0.0f);

  const int q = tid % kTilePixels, group = tid / kTilePixels;
  float sums[kQuads][4];
  M2U_UNROLL
  for (int j = 0; j < kQuads; ++j)
    M2U_UNROLL
    for (int i = 0; i < 4; ++i) sums[j][i] = 0.0f;

  // The FP32 kernel's staging order: each staging writes what no thread
  // reads until after the next barrier.
  stage(w, shared, 0, 0, out_channels, tid);
  stage(w, shared, 0, 1, out_channels, tid);
  __syncthreads();
  for (int chunk = 0; chunk < hidden; chunk += kChunk) {
    // 1. expand the window's pixels, 4 hidden channels per item.
    stage(w, shared, chunk, 2, out_channels, tid);
    {
      const int stride_rows = expand_stride(w.expand_row);
      for (int item = tid; item < side * side * 4; item += kThreads) {
        const int p = item / 4, quad = item % 4;
        const int iy = window_y + p / side, ix = window_x + p % side;
        float values[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (iy >= 0 && iy < input.height && ix >= 0 && ix < input.width) {
          float acc[4];
          M2U_UNROLL
          for (int i = 0; i < 4; ++i) acc[i] = shared.expand_bias()[quad * 4 + i];
          const __half* pixel = pixel_at(input, n, iy, ix);
          const __half* rows = shared.expand() + quad * stride_rows;  // slot i * 4 + quad: row 4 quad + i
          // 16 input channels a flush, 8 (one 16-byte group) a step:
          // in_padded is a multiple of 8.
          for (int c0 = 0; c0 < in_padded; c0 += 16) {
            __half2 partial[4] = {zero2, zero2, zero2, zero2};
            M2U_UNROLL
            for (int step = 0; step < 2; ++step) {
              const int c = c0 + step * 8;
              if (c >= in_padded) break;
              __half2 x[4];
              load_pairs(pixel + c, x);
              M2U_UNROLL
              for (int i = 0; i < 4; ++i) {
                __half2 weights[4];
                load_pairs(rows + i * 4 * stride_rows + c, weights);
                M2U_UNROLL
                for (int k = 0; k < 4; ++k) partial[i] = __hfma2(x[k], weights[k], partial[i]);
              }
            }
            M2U_UNROLL
            for (int i = 0; i < 4; ++i) acc[i] += flushed(partial[i]);
          }
          M2U_UNROLL
          for (int i = 0; i < 4; ++i) {
            values[i] = chunk + quad * 4 + i < hidden ? activate(acc[i], w.expand_activation) : 0.0f;
          }
        }
        store_quad(shared.expanded() + p * kRow + quad * 4, values);
      }
    }
    __syncthreads();
    // 2. depthwise: one thread per tile pixel and 4 hidden channels.
    {
      const int p = tid / 4, quad = tid % 4;
      const int oy = tile_y + p / kTile, ox = tile_x + p % kTile;
      float values[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (oy < output.height && ox < output.width) {
        __half2 partial[2] = {zero2, zero2};
        const int base = (p / kTile) * stride * side + (p % kTile) * stride;
        const __half* taps = shared.depthwise(w.expand_row);
        M2U_UNROLL
        for (int tap = 0; tap < 9; ++tap) {
          __half2 e[2], t[2];
          load_pairs(shared.expanded() + (base + (tap / 3) * side + tap % 3) * kRow + quad * 4, e);
          load_pairs(taps + tap * kChunk + quad * 4, t);
          partial[0] = __hfma2(e[0], t[0], partial[0]);
          partial[1] = __hfma2(e[1], t[1], partial[1]);
        }
        const float sums4[4] = {__low2float(partial[0]), __high2float(partial[0]), __low2float(partial[1]),
                                __high2float(partial[1])};
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) {
          values[i] = chunk + quad * 4 + i < hidden
                          ? activate(sums4[i] + shared.depthwise_bias()[quad * 4 + i], w.depthwise_activation)
                          : 0.0f;
        }
      }
      store_quad(shared.filtered() + p * kRow + quad * 4, values);
    }
    if (chunk + kChunk < hidden) stage(w, shared, chunk + kChunk, 0, out_channels, tid);
    __syncthreads();
    // 3. project: this thread's pixel x its output quads, the chunk's 16
    // hidden channels (zeros past `hidden`) in one half2 per output.
    {
      __half2 d_low[4], d_high[4];  // hidden channels 0..7, 8..15 of the chunk
      load_pairs(shared.filtered() + q * kRow, d_low);
      load_pairs(shared.filtered() + q * kRow + 8, d_high);
      M2U_UNROLL
      for (int j = 0; j < kQuads; ++j) {
        const int first_out = (group + 4 * j) * 4;
        if (first_out >= out_padded) break;
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) {
          __half2 w_low[4], w_high[4];
          const __half* column = shared.project() + (first_out + i) * kRow;
          load_pairs(column, w_low);
          load_pairs(column + 8, w_high);
          __half2 partial = zero2;
          M2U_UNROLL
          for (int k = 0; k < 4; ++k) partial = __hfma2(d_low[k], w_low[k], partial);
          M2U_UNROLL
          for (int k = 0; k < 4; ++k) partial = __hfma2(d_high[k], w_high[k], partial);
          sums[j][i] += flushed(partial);
        }
      }
    }
    if (chunk + kChunk < hidden) stage(w, shared, chunk + kChunk, 1, out_channels, tid);
    __syncthreads();  // the next chunk overwrites the tiles and the columns
  }

  fused::store_outputs<__half, kQuads>(sums, output, residual, w, n, q, group);
}

template <int kQuads>
cudaError_t launch_fused_half2(TensorView<const __half> input, TensorView<__half> output,
                               TensorView<const __half> residual, const FusedBlockWeights& weights, int stride,
                               cudaStream_t stream) {
  const size_t shared =
      shared_bytes(window_side(stride), padded_channels<__half>(output.channels), weights.expand_row);
  return launch("inverted_residual_fused_half2", kernel_inverted_residual_fused_half2<kQuads>,
                fused::grid_of(output), dim3(kThreads), shared, stream, input, output, residual, weights, stride);
}

}  // namespace

template <>
cudaError_t inverted_residual_fused<__half>(TensorView<const __half> input, TensorView<__half> output,
                                            TensorView<const __half> residual, const FusedBlockWeights& weights,
                                            int stride, cudaStream_t stream) {
  if (!fused::runnable<__half>(input, output, residual, weights, stride)) return cudaErrorInvalidValue;
  if (padded_channels<__half>(output.channels) <= 32) {
    return launch_fused_half2<2>(input, output, residual, weights, stride, stream);
  }
  return launch_fused_half2<4>(input, output, residual, weights, stride, stream);
}

}  // namespace m2u
