// upsample_bilinear.cu - bilinear x2 upsampling, align_corners = False
// (PyTorch nn.Upsample), written straight into a channel slice of a decoder
// concat buffer (upsample_kernels.h).
//
// One thread per (output pixel, 16-byte channel group): the four source
// pixels' groups blended in FP32. Along an axis, destination d samples
// (d + 0.5) / 2 - 0.5 clamped at 0, i.e. the weights are 1/4 and 3/4 (1 at
// the clamped borders). Channels past `channels` are written 0.
//
// Per output pixel, C channels (C_pad padded): 7 C FLOPs (4 multiplies and
// 3 adds a channel). Minimal DRAM traffic: C_pad * sizeof(Tout) written
// plus C_pad * sizeof(Tin) / 4 read (each input pixel once for 4 output
// pixels).
//
// Backward (FP32): upsample_bilinear2x_backward in gather form, one thread
// per (input pixel, 4-channel group): it sums the gradients of the output
// rows 2y-1 .. 2y+2 and columns 2x-1 .. 2x+2 (the only ones whose sources
// include it) times its weight in each, from the forward's own
// source_span, so the clamped borders (where both sources are one pixel)
// add both weights. No atomics. Per input pixel and channel at most 32
// FLOPs; DRAM traffic C_pad * 4 bytes written plus 4 C_pad * 4 read.
#include "upsample_kernels.h"

#include "scaled_storage.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

// The lower source index, the upper one (clamped) and the upper's weight of
// destination index `destination` along an axis of `size` source samples.
struct SourceSpan {
  int lower;
  int upper;
  float upper_weight;
};

__device__ __forceinline__ SourceSpan source_span(int destination, int size) {
  const float position = fmaxf((static_cast<float>(destination) + 0.5f) * 0.5f - 0.5f, 0.0f);
  const int lower = static_cast<int>(position);
  return SourceSpan{lower, min(lower + 1, size - 1), position - static_cast<float>(lower)};
}

// kGroup channels of `source` as float; the parts of the group past
// `available` channels (the source's padded channels from here) are 0 and
// not read. A float source's 16-byte groups hold 4 channels, a __half
// destination's 8: a float-to-half upsampling reads two per group.
template <int kGroup, typename Tin>
__device__ __forceinline__ void load_channels(const Tin* source, float (&values)[kGroup], int available,
                                              float scale) {
  constexpr int kIn = ChannelAlignment<Tin>::value;
  static_assert(kGroup % kIn == 0, "a destination group holds whole source groups");
  M2U_UNROLL
  for (int part = 0; part < kGroup / kIn; ++part) {
    float loaded[kIn];
    if (part * kIn < available) {
      load_group_scaled(source + part * kIn, loaded, scale);
    } else {
      M2U_UNROLL
      for (int j = 0; j < kIn; ++j) loaded[j] = 0.0f;
    }
    M2U_UNROLL
    for (int j = 0; j < kIn; ++j) values[part * kIn + j] = loaded[j];
  }
}

template <typename Tin, typename Tout>
M2U_HOT_KERNEL __global__ void kernel_upsample_bilinear2x(TensorView<const Tin> input,
                                                          TensorView<Tout> output, int groups) {
  constexpr int kGroup = ChannelAlignment<Tout>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  const int n = at.n, oy = at.y, ox = at.x, first_channel = at.first_channel;

  const SourceSpan sy = source_span(oy, input.height);
  const SourceSpan sx = source_span(ox, input.width);
  const int rows[2] = {sy.lower, sy.upper};
  const int columns[2] = {sx.lower, sx.upper};
  const float row_weights[2] = {1.0f - sy.upper_weight, sy.upper_weight};
  const float column_weights[2] = {1.0f - sx.upper_weight, sx.upper_weight};

  // The input's padded channels (padded_channels<Tin>, which is host code).
  constexpr int kInGroup = ChannelAlignment<Tin>::value;
  const int input_padded = (input.channels + kInGroup - 1) / kInGroup * kInGroup;
  float results[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) results[j] = 0.0f;
  M2U_UNROLL
  for (int r = 0; r < 2; ++r) {
    float row_values[kGroup];
    M2U_UNROLL
    for (int j = 0; j < kGroup; ++j) row_values[j] = 0.0f;
    M2U_UNROLL
    for (int c = 0; c < 2; ++c) {
      float values[kGroup];
      load_channels<kGroup>(pixel_at(input, n, rows[r], columns[c]) + first_channel, values,
                            input_padded - first_channel, input.scale);
      M2U_UNROLL
      for (int j = 0; j < kGroup; ++j) row_values[j] += column_weights[c] * values[j];
    }
    M2U_UNROLL
    for (int j = 0; j < kGroup; ++j) results[j] += row_weights[r] * row_values[j];
  }
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    if (first_channel + j >= output.channels) results[j] = 0.0f;
  }
  store_group_scaled(pixel_at(output, n, oy, ox) + first_channel, results, __frcp_rn(output.scale));
}

// The weight of source index `source` in destination `destination`'s sample.
__device__ __forceinline__ float source_weight(int source, int destination, int size) {
  const SourceSpan span = source_span(destination, size);
  return (span.lower == source ? 1.0f - span.upper_weight : 0.0f) +
         (span.upper == source ? span.upper_weight : 0.0f);
}

__global__ void kernel_upsample_bilinear2x_backward(TensorView<const float> output_gradient,
                                                    TensorView<float> input_gradient, int groups) {
  constexpr int kGroup = ChannelAlignment<float>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(input_gradient.width, groups);
  if (!at.valid) return;
  const int height = input_gradient.height, width = input_gradient.width;
  float sums[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) sums[j] = 0.0f;
  for (int oy = max(2 * at.y - 1, 0); oy <= min(2 * at.y + 2, 2 * height - 1); ++oy) {
    const float row_weight = source_weight(at.y, oy, height);
    if (row_weight == 0.0f) continue;
    for (int ox = max(2 * at.x - 1, 0); ox <= min(2 * at.x + 2, 2 * width - 1); ++ox) {
      const float weight = row_weight * source_weight(at.x, ox, width);
      if (weight == 0.0f) continue;
      float values[kGroup];
      load_group(pixel_at(output_gradient, at.n, oy, ox) + at.first_channel, values);
      M2U_UNROLL
      for (int j = 0; j < kGroup; ++j) sums[j] = fmaf(weight, values[j], sums[j]);
    }
  }
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    if (at.first_channel + j >= input_gradient.channels) sums[j] = 0.0f;
  }
  store_group(pixel_at(input_gradient, at.n, at.y, at.x) + at.first_channel, sums);
}

}  // namespace

cudaError_t upsample_bilinear2x_backward(TensorView<const float> output_gradient,
                                         TensorView<float> input_gradient, cudaStream_t stream) {
  if (!valid_view(output_gradient) || !valid_view(input_gradient) ||
      output_gradient.batch != input_gradient.batch ||
      output_gradient.channels != input_gradient.channels ||
      output_gradient.height != 2 * input_gradient.height ||
      output_gradient.width != 2 * input_gradient.width) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<float>(input_gradient.channels) / ChannelAlignment<float>::value;
  const RowGroupLaunch shape =
      row_group_launch(input_gradient.batch, input_gradient.height, input_gradient.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("upsample_bilinear2x_backward", kernel_upsample_bilinear2x_backward, shape.grid,
                shape.block, 0, stream, output_gradient, input_gradient, groups);
}

template <typename Tin, typename Tout>
cudaError_t upsample_bilinear2x(TensorView<const Tin> input, TensorView<Tout> output,
                                cudaStream_t stream) {
  if (!valid_view(input) || !valid_view(output) || output.batch != input.batch ||
      output.channels != input.channels || output.height != 2 * input.height ||
      output.width != 2 * input.width) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<Tout>(output.channels) / ChannelAlignment<Tout>::value;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("upsample_bilinear2x", kernel_upsample_bilinear2x<Tin, Tout>, shape.grid, shape.block, 0,
                stream, input, output, groups);
}

template cudaError_t upsample_bilinear2x<float, float>(TensorView<const float>, TensorView<float>,
                                                       cudaStream_t);
template cudaError_t upsample_bilinear2x<__half, __half>(TensorView<const __half>, TensorView<__half>,
                                                         cudaStream_t);
template cudaError_t upsample_bilinear2x<int8_t, int8_t>(TensorView<const int8_t>, TensorView<int8_t>,
                                                         cudaStream_t);
template cudaError_t upsample_bilinear2x<float, __half>(TensorView<const float>, TensorView<__half>,
                                                        cudaStream_t);

}  // namespace m2u
