// inverted_residual_fused.cu - one MobileNetV2 inverted-residual block in one
// kernel (conv_kernels.h): expand 1x1 -> depthwise 3x3 (stride 1 or 2) ->
// project 1x1 (+ residual), FP32 arithmetic on float storage, or from
// __half into float storage (an FP16 engine's decoder blocks, whose input
// is the half concat buffer and whose hidden tensors and output are FP32);
// and the same kernel with the network's final 1x1 in its epilogue (the
// fused head: the last decoder block's outputs become probabilities on
// chip, store_head below).
// The expanded and depthwise tensors never leave the block's shared memory:
// only the block's input is read and its output written (F7's fusion; the
// work model's per-block numbers are in tests/engine/test_fusion_model.cpp).
//
// A block of 256 threads owns an 8 x 8 tile of output pixels and walks the
// hidden (expanded) channels in chunks of 16, the chunk's weights staged in
// shared memory one phase ahead of their use (StagedWeights below; the
// record of this change against the version that read them through the
// texture path: bench/variants/README.md):
//   1. expand: the tile's input window ((8 - 1) * stride + 3 pixels a side,
//      the halo recomputed by the neighbouring tiles too) x 16 hidden
//      channels into shared memory, each thread 4 channels of a pixel;
//      pixels outside the image are 0 (the depthwise's zero padding); a
//      last chunk of fewer channels (a decoder block's 5 or 9 hidden
//      channels are all of its one chunk) spreads the threads over its
//      quads only, and the quads past it are neither computed nor read;
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
#include "inverted_residual_fused.cuh"
#include "launch.h"
#include "launcher_support.h"
#include "probability_store.cuh"

namespace m2u {
namespace {

using fused::kChunk;
using fused::kThreads;
using fused::kTile;
using fused::kTilePixels;
using fused::padded_in_device;
using fused::window_side;
constexpr int kSharedRow = kChunk + 4;

__device__ __forceinline__ float dot4(const float (&a)[4], const float4& b) {
  return a[0] * b.x + a[1] * b.y + a[2] * b.z + a[3] * b.w;
}

// The chunk's weights staged in shared memory (every thread of the block
// reads the same ones: from shared memory they come at shared-memory
// latency, not the texture path's):
//   expand     [kChunk][expand_stride]: the chunk's expand rows, hidden
//              channel h at row (h % 4) * 4 + h / 4, so that the four rows
//              a warp reads at once (one per quad of lanes) are adjacent;
//              expand_stride = 4 * odd puts them in distinct bank groups;
//   expand_bias [kChunk];
//   depthwise  [9][kChunk]: tap-major, 4 channels a float4;
//   depthwise_bias [kChunk];
//   project    [out_padded][kSharedRow]: the chunk's 16 columns.
__host__ __device__ constexpr int expand_stride(int expand_row) { return 4 * ((expand_row / 4) | 1); }
__host__ __device__ constexpr int expand_slot(int h) { return (h % 4) * 4 + h / 4; }

// The parts' places from the base and the expand stride (computed where
// used: held as pointers they cost sm_53 the registers it lacks).
struct StagedWeights {
  float* base;
  int stride;  // expand_stride(expand_row)
  __device__ float* expand() const { return base; }
  __device__ float* expand_bias() const { return base + kChunk * stride; }
  __device__ float* depthwise() const { return base + kChunk * (stride + 1); }
  __device__ float* depthwise_bias() const { return base + kChunk * (stride + 10); }
  __device__ float* project() const { return base + kChunk * (stride + 11); }
};

__host__ __device__ constexpr int staged_floats(int expand_row, int out_padded) {
  return kChunk * (expand_stride(expand_row) + 11) + out_padded * kSharedRow;
}

// Stages what phase `phase` of chunk `chunk` will need (0: the expand's
// rows and biases; 1: the depthwise taps and biases; 2: the project's
// columns), zeros past `hidden`. Called by every thread, in a phase whose
// own reads do not touch what it writes (see the kernel).
__device__ __forceinline__ void stage(const FusedBlockWeights& w, const StagedWeights& staged, int chunk, int phase,
                                      int out_channels, int out_padded, int tid) {
  const int hidden = w.hidden_channels;
  if (phase == 0) {
    const int quads = w.expand_row / 4;
    for (int item = tid; item < kChunk * quads; item += kThreads) {
      const int h = item / quads, c = (item % quads) * 4;
      const float4 v = chunk + h < hidden
                           ? __ldg(reinterpret_cast<const float4*>(w.expand_weight +
                                                                   static_cast<size_t>(chunk + h) * w.expand_row + c))
                           : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      *reinterpret_cast<float4*>(staged.expand() + expand_slot(h) * staged.stride + c) = v;
    }
    if (tid < kChunk) staged.expand_bias()[tid] = chunk + tid < hidden ? __ldg(w.expand_bias + chunk + tid) : 0.0f;
  } else if (phase == 1) {
    for (int item = tid; item < 9 * kChunk; item += kThreads) {
      const int tap = item / kChunk, h = item % kChunk;
      staged.depthwise()[item] =
          chunk + h < hidden ? __ldg(w.depthwise_weight + tap * depthwise_weight_row(hidden) + chunk + h) : 0.0f;
    }
    if (tid < kChunk) {
      staged.depthwise_bias()[tid] = chunk + tid < hidden ? __ldg(w.depthwise_bias + chunk + tid) : 0.0f;
    }
  } else {
    // The project rows are padded with zeros up to project_row (a multiple
    // of 4 >= hidden), and the chunk's columns past it are zeros here.
    for (int item = tid; item < out_padded * (kChunk / 4); item += kThreads) {
      const int o = item / (kChunk / 4), k = (item % (kChunk / 4)) * 4;
      const float4 v = chunk + k < w.project_row && o < out_channels
                           ? __ldg(reinterpret_cast<const float4*>(w.project_weight +
                                                                   static_cast<size_t>(o) * w.project_row + chunk + k))
                           : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      *reinterpret_cast<float4*>(staged.project() + o * kSharedRow + k) = v;
    }
  }
}

// The fused head's epilogue (inverted_residual_fused_head, conv_kernels.h):
// the block's outputs of pixel q (the 4 threads of groups 0..3 hold its
// quads 0..3: out_padded <= 16) get their bias and activation, each thread
// sums its quad's share of every head channel into `partials`
// ([head channel][group][kTilePixels]), and group 0's thread of the pixel
// adds the four shares to the head's bias, applies the activation and
// stores the probability when the pixel lies inside the cropped image.
// Every thread reaches the barrier.
struct FusedHead {
  FusedHeadWeights weights;
  ProbabilityImage probabilities;
};

__device__ __forceinline__ void store_head(const float (&sums)[4], int block_outputs, const FusedBlockWeights& w,
                                           const FusedHead& head, float* partials, int n, int q, int group) {
  const int first = group * 4;
  float results[4];
  M2U_UNROLL
  for (int i = 0; i < 4; ++i) {
    const int o = first + i;
    results[i] = o < block_outputs ? activate(sums[i] + __ldg(w.project_bias + o), w.project_activation) : 0.0f;
  }
  const FusedHeadWeights& h = head.weights;
  for (int co = 0; co < h.out_channels; ++co) {
    const float* row = h.weight + static_cast<size_t>(co) * h.row + first;
    float share = 0.0f;
    if (first < h.row) {
      M2U_UNROLL
      for (int i = 0; i < 4; ++i) share += results[i] * __ldg(row + i);
    }
    partials[(co * 4 + group) * kTilePixels + q] = share;
  }
  __syncthreads();
  const int oy = static_cast<int>(blockIdx.y) * kTile + q / kTile, ox = static_cast<int>(blockIdx.x) * kTile + q % kTile;
  if (group != 0 || oy >= head.probabilities.height || ox >= head.probabilities.width) return;
  for (int co = 0; co < h.out_channels; ++co) {
    const float* share = partials + co * 4 * kTilePixels + q;
    const float sum = __ldg(h.bias + co) + share[0] + share[kTilePixels] + share[2 * kTilePixels] +
                      share[3 * kTilePixels];
    store_probability(probability_row(head.probabilities, n, co, oy), head.probabilities.type, ox,
                      activate(sum, h.activation));
  }
}

// kQuads: output quads per thread (4 kQuads threads' quads cover the
// output's padded channels).
// __launch_bounds__: sm_53 (the Nano) allows 32K registers a block, so 256
// threads get at most 128 registers each (without the bound ptxas used 138
// for 4 quads: the launch would fail on the Nano). The widest fused block
// (conv4.7) has 64 outputs: 4 quads a thread; 6 (96 outputs) spilled on sm_53.
// kHead: the fused head (output.data is nullptr: output gives the block's
// shape; `head` where its results go).
template <typename Tin, typename Tout, int kQuads, bool kHead>
M2U_HOT_KERNEL __global__ void __launch_bounds__(kThreads, 1)
    kernel_inverted_residual_fused(TensorView<const Tin> input, TensorView<Tout> output, TensorView<const Tout> residual,
                                   FusedBlockWeights w, int stride, FusedHead head) {
  M2U_DYNAMIC_SHARED(float, fused_shared);
  const int side = window_side(stride);
  const int out_padded = padded_in_device<Tout>(output.channels);
  float* expanded = fused_shared;                      // [side * side][kSharedRow]
  float* filtered = fused_shared + side * side * kSharedRow;  // [kTilePixels][kSharedRow]
  const StagedWeights staged{filtered + kTilePixels * kSharedRow, expand_stride(w.expand_row)};
  const int out_channels = output.channels;
  const int tid = static_cast<int>(threadIdx.x);
  const int n = static_cast<int>(blockIdx.z);
  const int tile_y = static_cast<int>(blockIdx.y) * kTile;
  const int tile_x = static_cast<int>(blockIdx.x) * kTile;
  const int window_y = tile_y * stride - 1, window_x = tile_x * stride - 1;
  const int in_padded = padded_in_device<Tin>(input.channels);
  const int hidden = w.hidden_channels;

  // The project phase's pixel and output quads.
  const int q = tid % kTilePixels, group = tid / kTilePixels;
  float sums[kQuads][4];
  M2U_UNROLL
  for (int j = 0; j < kQuads; ++j)
    M2U_UNROLL
    for (int i = 0; i < 4; ++i) sums[j][i] = 0.0f;

  // Each chunk: phase 1 (expand) reads the staged expand rows and writes the
  // chunk's project columns; phase 2 (depthwise) reads the taps and stages
  // the next chunk's expand rows; phase 3 (project) reads the columns and
  // stages the next chunk's taps. So each staging writes what no thread
  // reads until after the next barrier.
  stage(w, staged, 0, 0, out_channels, out_padded, tid);
  stage(w, staged, 0, 1, out_channels, out_padded, tid);
  __syncthreads();
  for (int chunk = 0; chunk < hidden; chunk += kChunk) {
    // 1. expand the window's pixels, 4 hidden channels per item, over the
    // chunk's quads that hold channels.
    const int quads = min(kChunk / 4, (hidden - chunk + 3) / 4);
    stage(w, staged, chunk, 2, out_channels, out_padded, tid);
    for (int item = tid; item < side * side * quads; item += kThreads) {
      const int p = item / quads, quad = item % quads;
      const int iy = window_y + p / side, ix = window_x + p % side;
      float values[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (iy >= 0 && iy < input.height && ix >= 0 && ix < input.width) {
        float acc[4];
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) acc[i] = staged.expand_bias()[quad * 4 + i];
        const Tin* pixel = pixel_at(input, n, iy, ix);
        const float* rows = staged.expand() + quad * staged.stride;  // slot i * 4 + quad: row 4 quad + i
        for (int c = 0; c < in_padded; c += 4) {
          float x[4];
          load_quad(pixel + c, x);
          M2U_UNROLL
          for (int i = 0; i < 4; ++i) {
            acc[i] += dot4(x, *reinterpret_cast<const float4*>(rows + i * 4 * staged.stride + c));
          }
        }
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) {
          values[i] = chunk + quad * 4 + i < hidden ? activate(acc[i], w.expand_activation) : 0.0f;
        }
      }
      store_quad(expanded + p * kSharedRow + quad * 4, values);
    }
    __syncthreads();
    // 2. depthwise: one thread per tile pixel and 4 hidden channels.
    {
      const int p = tid / 4, quad = tid % 4;
      const int oy = tile_y + p / kTile, ox = tile_x + p % kTile;
      float values[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (quad < quads && oy < output.height && ox < output.width) {
        float acc[4];
        load_quad(staged.depthwise_bias() + quad * 4, acc);
        const int base = (p / kTile) * stride * side + (p % kTile) * stride;
        M2U_UNROLL
        for (int tap = 0; tap < 9; ++tap) {
          float e[4], t[4];
          load_quad(expanded + (base + (tap / 3) * side + tap % 3) * kSharedRow + quad * 4, e);
          load_quad(staged.depthwise() + tap * kChunk + quad * 4, t);
          M2U_UNROLL
          for (int i = 0; i < 4; ++i) acc[i] += e[i] * t[i];
        }
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) {
          values[i] = chunk + quad * 4 + i < hidden ? activate(acc[i], w.depthwise_activation) : 0.0f;
        }
      }
      store_quad(filtered + p * kSharedRow + quad * 4, values);
    }
    if (chunk + kChunk < hidden) stage(w, staged, chunk + kChunk, 0, out_channels, out_padded, tid);
    __syncthreads();
    // 3. project: this thread's pixel x its output quads, 4 hidden channels
    // at a time (zeros past `hidden` in the staged columns).
    M2U_UNROLL
    for (int kq = 0; kq < kChunk / 4; ++kq) {
      if (chunk + kq * 4 >= hidden) break;
      float d[4];
      load_quad(filtered + q * kSharedRow + kq * 4, d);
      M2U_UNROLL
      for (int j = 0; j < kQuads; ++j) {
        const int first_out = (group + 4 * j) * 4;
        if (first_out >= out_padded) break;
        M2U_UNROLL
        for (int i = 0; i < 4; ++i) {
          sums[j][i] += dot4(d, *reinterpret_cast<const float4*>(staged.project() + (first_out + i) * kSharedRow + kq * 4));
        }
      }
    }
    if (chunk + kChunk < hidden) stage(w, staged, chunk + kChunk, 1, out_channels, out_padded, tid);
    __syncthreads();  // the next chunk overwrites the tiles and the columns
  }

  if (kHead) {
    store_head(sums[0], out_channels, w, head, fused_shared, n, q, group);  // the chunks' tiles are free now
  } else {
    fused::store_outputs<Tout, kQuads>(sums, output, residual, w, n, q, group);
  }
}

template <typename Tin, typename Tout, int kQuads, bool kHead = false>
cudaError_t launch_fused(TensorView<const Tin> input, TensorView<Tout> output, TensorView<const Tout> residual,
                         const FusedBlockWeights& weights, int stride, cudaStream_t stream,
                         const FusedHead& head = FusedHead{}) {
  const int side = window_side(stride);
  const size_t shared = (static_cast<size_t>(side * side + kTilePixels) * kSharedRow +
                         staged_floats(weights.expand_row, padded_channels<Tout>(output.channels))) *
                        sizeof(float);
  return launch(kHead ? "inverted_residual_fused_head" : "inverted_residual_fused",
                kernel_inverted_residual_fused<Tin, Tout, kQuads, kHead>, fused::grid_of(output), dim3(kThreads), shared,
                stream, input, output, residual, weights, stride, head);
}

}  // namespace

template <typename Tin, typename Tout>
cudaError_t inverted_residual_fused_float_arithmetic(TensorView<const Tin> input, TensorView<Tout> output,
                                                     TensorView<const Tout> residual,
                                                     const FusedBlockWeights& weights, int stride,
                                                     cudaStream_t stream) {
  if (!fused::runnable<float>(input, output, residual, weights, stride)) return cudaErrorInvalidValue;
  if (padded_channels<Tout>(output.channels) <= 32) {
    return launch_fused<Tin, Tout, 2>(input, output, residual, weights, stride, stream);
  }
  return launch_fused<Tin, Tout, 4>(input, output, residual, weights, stride, stream);
}

template cudaError_t inverted_residual_fused_float_arithmetic<float, float>(TensorView<const float>, TensorView<float>,
                                                                            TensorView<const float>,
                                                                            const FusedBlockWeights&, int,
                                                                            cudaStream_t);
template cudaError_t inverted_residual_fused_float_arithmetic<__half, float>(TensorView<const __half>,
                                                                             TensorView<float>,
                                                                             TensorView<const float>,
                                                                             const FusedBlockWeights&, int,
                                                                             cudaStream_t);

// The head's partial sums reuse the expanded tile's shared memory.
static_assert(kMaxFusedHeadOutputs * 4 * kTilePixels <= window_side(1) * window_side(1) * kSharedRow,
              "the head's partial sums fit the expanded tile");
static_assert(kMaxFusedHeadBlockOutputs <= 16, "the head's epilogue takes each pixel's outputs from 4 threads' quads");

template <typename Tin>
cudaError_t inverted_residual_fused_head(TensorView<const Tin> input, int block_outputs,
                                         const FusedBlockWeights& block, const FusedHeadWeights& head,
                                         const ProbabilityImage& probabilities, cudaStream_t stream) {
  const TensorView<float> shape{nullptr, input.batch, input.height, input.width, block_outputs,
                                padded_channels<float>(block_outputs)};
  const FusedHeadWeights& h = head;
  if (!fused::block_fits<float, Tin, float>(input, input.height, input.width, block_outputs, block, 1) ||
      shape.pixel_stride > kMaxFusedHeadBlockOutputs || h.weight == nullptr || h.bias == nullptr ||
      h.out_channels < 1 || h.out_channels > kMaxFusedHeadOutputs || h.row != shape.pixel_stride ||
      !probability_image_fits(probabilities, h.out_channels, input.batch, input.height, input.width)) {
    return cudaErrorInvalidValue;
  }
  return launch_fused<Tin, float, 2, true>(input, shape, TensorView<const float>{}, block, 1, stream,
                                           FusedHead{head, probabilities});
}

template cudaError_t inverted_residual_fused_head<float>(TensorView<const float>, int, const FusedBlockWeights&,
                                                         const FusedHeadWeights&, const ProbabilityImage&,
                                                         cudaStream_t);
template cudaError_t inverted_residual_fused_head<__half>(TensorView<const __half>, int, const FusedBlockWeights&,
                                                          const FusedHeadWeights&, const ProbabilityImage&,
                                                          cudaStream_t);

template <>
cudaError_t inverted_residual_fused<float>(TensorView<const float> input, TensorView<float> output,
                                           TensorView<const float> residual, const FusedBlockWeights& weights,
                                           int stride, cudaStream_t stream) {
  return inverted_residual_fused_float_arithmetic<float, float>(input, output, residual, weights, stride, stream);
}

}  // namespace m2u
