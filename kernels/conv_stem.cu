// conv_stem.cu - M2U-Net's first layer: 3x3 stride-2 convolution, padding 1,
// over the 1..8 input channels, with the folded batch-norm bias and an
// activation (conv_kernels.h).
//
// Each block stages the weights in shared memory transposed to
// [tap][input channel][padded output channel] (zeros past out_channels) and
// the bias; then one thread per (output pixel, 16-byte output channel group)
// accumulates its 4 float / 8 half output channels in FP32 over the 9 taps
// and the input channels. The input may be a channel slice (the network
// input lives in decode1's concat buffer).
//
// Per output pixel (Cin in, Cout out, padded Cin_pad / Cout_pad): 18 Cin
// Cout FLOPs. Minimal DRAM traffic, every input pixel read once (4 per
// output pixel at stride 2): (4 Cin_pad + Cout_pad) * sizeof(T) bytes.
#include "conv_kernels.h"
#include "scaled_storage.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kMaxStemInputChannels = 8;
constexpr size_t kMaxStemSharedBytes = 48 * 1024;

// Floats of shared memory the block stages: weights, then bias.
inline size_t stem_shared_floats(int input_channels, int padded_output_channels) {
  return static_cast<size_t>(9 * input_channels + 1) * padded_output_channels;
}

template <typename T>
M2U_HOT_KERNEL __global__ void kernel_conv_stem(TensorView<const T> input, TensorView<T> output,
                                                const float* weight, const float* bias,
                                                KernelActivation activation, int groups) {
  constexpr int kGroup = ChannelAlignment<T>::value;
  M2U_DYNAMIC_SHARED(float, stem_shared);
  const int input_channels = input.channels;
  const int out_channels = output.channels;
  const int padded_out = groups * kGroup;
  float* staged_weight = stem_shared;  // [9][input_channels][padded_out]
  float* staged_bias = stem_shared + 9 * input_channels * padded_out;
  const int weight_count = 9 * input_channels * padded_out;
  for (int i = static_cast<int>(threadIdx.x); i < weight_count; i += static_cast<int>(blockDim.x)) {
    const int co = i % padded_out;
    const int tap_channel = i / padded_out;  // tap * input_channels + ci
    const int ci = tap_channel % input_channels;
    const int tap = tap_channel / input_channels;
    staged_weight[i] =
        co < out_channels ? __ldg(weight + (co * 9 + tap) * input_channels + ci) : 0.0f;
  }
  for (int co = static_cast<int>(threadIdx.x); co < padded_out;
       co += static_cast<int>(blockDim.x)) {
    staged_bias[co] = co < out_channels ? __ldg(bias + co) : 0.0f;
  }
  __syncthreads();

  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  const int n = at.n, oy = at.y, ox = at.x, first_channel = at.first_channel;

  float sums[kGroup];
  M2U_UNROLL
  for (int q = 0; q < kGroup; q += 4) {
    float quad[4];
    load_quad(staged_bias + first_channel + q, quad);
    M2U_UNROLL
    for (int j = 0; j < 4; ++j) sums[q + j] = quad[j];
  }
  M2U_UNROLL
  for (int ky = 0; ky < 3; ++ky) {
    const int iy = 2 * oy - 1 + ky;
    if (iy < 0 || iy >= input.height) continue;
    M2U_UNROLL
    for (int kx = 0; kx < 3; ++kx) {
      const int ix = 2 * ox - 1 + kx;
      if (ix < 0 || ix >= input.width) continue;
      const T* pixel = pixel_at(input, n, iy, ix);
      const float* tap_weight =
          staged_weight + (ky * 3 + kx) * input_channels * padded_out + first_channel;
      for (int ci = 0; ci < input_channels; ++ci) {
        const float value = load_scaled(pixel + ci, input.scale);
        M2U_UNROLL
        for (int q = 0; q < kGroup; q += 4) {
          float quad[4];
          load_quad(tap_weight + ci * padded_out + q, quad);
          M2U_UNROLL
          for (int j = 0; j < 4; ++j) sums[q + j] += value * quad[j];
        }
      }
    }
  }
  store_activated_group_scaled(pixel_at(output, n, oy, ox) + first_channel, sums, first_channel, out_channels, activation,
                               __frcp_rn(output.scale));
}

}  // namespace

template <typename T>
cudaError_t conv_stem(TensorView<const T> input, TensorView<T> output, const float* weight,
                      const float* bias, KernelActivation activation, cudaStream_t stream) {
  if (!valid_view(input) || !valid_view(output) || weight == nullptr || bias == nullptr ||
      input.channels > kMaxStemInputChannels || output.batch != input.batch ||
      output.height != (input.height + 1) / 2 || output.width != (input.width + 1) / 2) {
    return cudaErrorInvalidValue;
  }
  const int padded_out = padded_channels<T>(output.channels);
  const size_t shared_bytes = stem_shared_floats(input.channels, padded_out) * sizeof(float);
  if (shared_bytes > kMaxStemSharedBytes) return cudaErrorInvalidValue;
  const int groups = padded_out / ChannelAlignment<T>::value;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("conv_stem", kernel_conv_stem<T>, shape.grid, shape.block, shared_bytes, stream,
                input, output, weight, bias, activation, groups);
}

template cudaError_t conv_stem<float>(TensorView<const float>, TensorView<float>, const float*,
                                      const float*, KernelActivation, cudaStream_t);
template cudaError_t conv_stem<__half>(TensorView<const __half>, TensorView<__half>, const float*,
                                       const float*, KernelActivation, cudaStream_t);
template cudaError_t conv_stem<int8_t>(TensorView<const int8_t>, TensorView<int8_t>, const float*,
                                       const float*, KernelActivation, cudaStream_t);

}  // namespace m2u
