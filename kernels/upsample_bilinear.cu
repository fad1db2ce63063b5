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
// 3 adds a channel). Minimal DRAM traffic: C_pad * sizeof(T) written plus
// C_pad * sizeof(T) / 4 read (each input pixel once for 4 output pixels).
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

template <typename T>
M2U_HOT_KERNEL __global__ void kernel_upsample_bilinear2x(TensorView<const T> input,
                                                          TensorView<T> output, int groups) {
  constexpr int kGroup = ChannelAlignment<T>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  const int n = at.n, oy = at.y, ox = at.x, first_channel = at.first_channel;

  const SourceSpan sy = source_span(oy, input.height);
  const SourceSpan sx = source_span(ox, input.width);
  const int rows[2] = {sy.lower, sy.upper};
  const int columns[2] = {sx.lower, sx.upper};
  const float row_weights[2] = {1.0f - sy.upper_weight, sy.upper_weight};
  const float column_weights[2] = {1.0f - sx.upper_weight, sx.upper_weight};

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
      load_group_scaled(pixel_at(input, n, rows[r], columns[c]) + first_channel, values, input.scale);
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

}  // namespace

template <typename T>
cudaError_t upsample_bilinear2x(TensorView<const T> input, TensorView<T> output,
                                cudaStream_t stream) {
  if (!valid_view(input) || !valid_view(output) || output.batch != input.batch ||
      output.channels != input.channels || output.height != 2 * input.height ||
      output.width != 2 * input.width) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<T>(output.channels) / ChannelAlignment<T>::value;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("upsample_bilinear2x", kernel_upsample_bilinear2x<T>, shape.grid, shape.block, 0,
                stream, input, output, groups);
}

template cudaError_t upsample_bilinear2x<float>(TensorView<const float>, TensorView<float>,
                                                cudaStream_t);
template cudaError_t upsample_bilinear2x<__half>(TensorView<const __half>, TensorView<__half>,
                                                 cudaStream_t);
template cudaError_t upsample_bilinear2x<int8_t>(TensorView<const int8_t>, TensorView<int8_t>,
                                                 cudaStream_t);

}  // namespace m2u
