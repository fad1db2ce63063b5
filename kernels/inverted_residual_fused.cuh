// inverted_residual_fused.cuh - what the fused inverted-residual kernels
// share (inverted_residual_fused.cu: FP32 arithmetic on float storage, or
// from __half into float storage; inverted_residual_fused_fp16.cu: half2
// arithmetic on __half storage): the
// tile (a block of 256 threads owns 8 x 8 output pixels and walks the hidden
// channels in chunks of 16), the input window a tile expands, the launch
// checks and grid, and the epilogue (bias, activation, residual, store).
#pragma once

#include "conv_kernels.h"
#include "device_math.cuh"
#include "launcher_support.h"

namespace m2u {
namespace fused {

constexpr int kThreads = 256;
constexpr int kTile = kFusedTileOutputs;  // output pixels a side
constexpr int kChunk = 16;                // hidden channels a pass
constexpr int kTilePixels = kTile * kTile;
static_assert(kThreads == 4 * kTilePixels, "the depthwise phase runs a thread per pixel and 4 hidden channels");

// Input pixels a side of a tile's window (the halo recomputed by the
// neighbouring tiles too).
__host__ __device__ constexpr int window_side(int stride) { return (kTile - 1) * stride + 3; }

// padded_channels<T> (host-only) in device code.
template <typename T>
__device__ __forceinline__ int padded_in_device(int channels) {
  constexpr int kGroup = ChannelAlignment<T>::value;
  return (channels + kGroup - 1) / kGroup * kGroup;
}

inline bool aligned16(const float* p) { return p != nullptr && reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// What the fused kernels accept (conv_kernels.h): Tin and Tout the input's
// and output's storage (the residual is stored as the output), Tarith the
// arithmetic, whose padding the project rows follow (float: 4 channels,
// __half: 8).
// The shapes checked without the output's storage (the fused head has
// none): out_height x out_width x out_channels from the input at stride.
template <typename Tarith, typename Tin, typename Tout>
bool block_fits(const TensorView<const Tin>& input, int out_height, int out_width, int out_channels,
                const FusedBlockWeights& weights, int stride) {
  return valid_view(input) && (stride == 1 || stride == 2) && out_height == (input.height + stride - 1) / stride &&
         out_width == (input.width + stride - 1) / stride && out_channels >= 1 && weights.hidden_channels >= 1 &&
         padded_channels<Tout>(out_channels) <= kMaxFusedOutputChannels &&
         padded_channels<Tin>(input.channels) <= kMaxFusedInputChannels &&
         weights.expand_row == padded_channels<Tin>(input.channels) &&
         weights.project_row == padded_channels<Tarith>(weights.hidden_channels) && aligned16(weights.expand_weight) &&
         aligned16(weights.project_weight) && weights.expand_bias != nullptr && aligned16(weights.depthwise_weight) &&
         weights.depthwise_bias != nullptr && weights.project_bias != nullptr;
}

template <typename Tarith, typename Tin, typename Tout>
bool runnable(const TensorView<const Tin>& input, const TensorView<Tout>& output, const TensorView<const Tout>& residual,
              const FusedBlockWeights& weights, int stride) {
  return valid_view(output) && output.batch == input.batch &&
         block_fits<Tarith, Tin, Tout>(input, output.height, output.width, output.channels, weights, stride) &&
         (residual.data == nullptr || (valid_view(residual) && same_shape(residual, output)));
}

template <typename T>
dim3 grid_of(const TensorView<T>& output) {
  return dim3(static_cast<unsigned>((output.width + kTile - 1) / kTile),
              static_cast<unsigned>((output.height + kTile - 1) / kTile), static_cast<unsigned>(output.batch));
}

// The epilogue of the thread that summed pixel `q` of the tile for output
// quads group, group + 4, ... (sums[j] for quad group + 4 j): bias and
// activation in FP32, then the residual; channels of the output's padding
// are written 0; pixels past the output write nothing.
template <typename T, int kQuads>
__device__ __forceinline__ void store_outputs(const float (&sums)[kQuads][4], const TensorView<T>& output,
                                              const TensorView<const T>& residual, const FusedBlockWeights& w, int n,
                                              int q, int group) {
  const int oy = static_cast<int>(blockIdx.y) * kTile + q / kTile, ox = static_cast<int>(blockIdx.x) * kTile + q % kTile;
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

}  // namespace fused
}  // namespace m2u
