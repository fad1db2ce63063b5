// conv_kernels.h - launchers of M2U-Net's convolution kernels (one op per
// .cu: conv_stem.cu, pointwise_conv.cu, depthwise_conv.cu; the __half paths
// of the last two in pointwise_conv_fp16.cu, depthwise_conv_fp16.cu). Batch
// norm is folded into `weight` and `bias` by the engine before upload. All
// pointers are device pointers; T is the activation storage type (float or
// __half). Arithmetic is FP32, except that pointwise_conv<__half> and
// depthwise_conv<__half> multiply-add in half2 (the *_float_arithmetic
// variants compute the __half layers in FP32), flushing short half partial
// sums (16 input channels, 9 taps) into FP32 for bias, activation and
// residual. Each launcher checks its assumptions (returns
// cudaErrorInvalidValue when a view does not fit) and returns the launch's
// status. Views follow tensor_view.h's layout and padding rule.
#ifndef M2U_KERNELS_CONV_KERNELS_H
#define M2U_KERNELS_CONV_KERNELS_H

#include <cuda_runtime_api.h>

#include <cstddef>

#include "activation.h"
#include "io_kernels.h"
#include "tensor_view.h"

namespace m2u {

// 3x3 stride-2 convolution, padding 1, over the input's channels (1..8):
// output (N, ceil(H/2), ceil(W/2), out_channels).
// weight: [out_channels][3][3][input.channels] (ky, kx, ci innermost).
template <typename T>
cudaError_t conv_stem(TensorView<const T> input, TensorView<T> output, const float* weight,
                      const float* bias, KernelActivation activation, cudaStream_t stream);

// 1x1 convolution: out[p][co] = act(bias[co] + sum_ci in[p][ci] * weight[co][ci])
// + residual[p][co], ci over the input's padded channels.
// weight: [output.channels][padded_channels<T>(input.channels)], zeros in
// the padding columns. (A decoder conv reads its whole concat buffer as one
// view whose channels include the padding between the two slices; the
// engine puts zero weights in those columns.) residual: a view of the
// output's shape, or data == nullptr for none (MobileNetV2's residual blocks
// end in a linear projection, so with a residual the activation is kLinear).
template <typename T>
cudaError_t pointwise_conv(TensorView<const T> input, TensorView<T> output, const float* weight,
                           const float* bias, KernelActivation activation,
                           TensorView<const T> residual, cudaStream_t stream);

// The same 1x1 convolution in FP32 arithmetic on float or __half storage,
// input and output each: instantiated for <float, float> (what
// pointwise_conv<float> runs), <__half, __half> and <__half, float> (FP16's
// layers kept in FP32 arithmetic, layer_precision.h). The residual has the
// output's type; weight rows are padded_channels<Tin>(input.channels) long.
template <typename Tin, typename Tout>
cudaError_t pointwise_conv_float_arithmetic(TensorView<const Tin> input, TensorView<Tout> output,
                                            const float* weight, const float* bias,
                                            KernelActivation activation, TensorView<const Tout> residual,
                                            cudaStream_t stream);

// The depthwise weights' layout (depthwise_conv, the fused kernel, the
// engine's packing, the trainer's fold): [9][depthwise_weight_row(channels)]
// floats, tap-major (tap = 3 ky + kx), channels innermost, zeros in the
// padding, 16-byte aligned: a thread reads its channel group's weights of a
// tap as float4 vectors. The row pads to 8 channels, both storages' groups.
__host__ __device__ inline int depthwise_weight_row(int channels) { return (channels + 7) / 8 * 8; }

// 3x3 depthwise convolution, padding 1, stride 1 or 2 (output
// ceil(H/stride) x ceil(W/stride)). weight: [9][depthwise_weight_row(channels)]
// (above).
template <typename T>
cudaError_t depthwise_conv(TensorView<const T> input, TensorView<T> output, const float* weight,
                           const float* bias, int stride, KernelActivation activation,
                           cudaStream_t stream);

// The same in FP32 arithmetic, T float (what depthwise_conv<float> runs) or
// __half (FP16's layers kept in FP32 arithmetic).
template <typename T>
cudaError_t depthwise_conv_float_arithmetic(TensorView<const T> input, TensorView<T> output,
                                            const float* weight, const float* bias, int stride,
                                            KernelActivation activation, cudaStream_t stream);

// ---- Fused inverted-residual block (inverted_residual_fused.cu, _fp16.cu)
//
// expand 1x1 (+ activation) -> depthwise 3x3 at `stride` (+ activation) ->
// project 1x1 (+ activation) + residual, in one kernel: the expanded and
// depthwise tensors stay in shared memory. The same arithmetic as
// pointwise_conv -> depthwise_conv -> pointwise_conv, summed in another
// order. float: FP32 arithmetic (inverted_residual_fused.cu); __half:
// half2 arithmetic with FP32 flushes, as pointwise_conv<__half> and
// depthwise_conv<__half> round (inverted_residual_fused_fp16.cu). Weights
// (float) in those kernels' layouts: expand
// [hidden][expand_row = padded_channels<T>(input.channels)], depthwise
// [9][depthwise_weight_row(hidden)], project [output.channels][project_row =
// padded_channels<T>(hidden)], zeros in the padding columns; expand,
// depthwise and project 16-byte aligned. Output: the depthwise's ceil(H/stride) x
// ceil(W/stride) with at most kMaxFusedOutputChannels padded channels.
// At most kMaxFusedInputChannels padded input channels (the chunk's expand
// rows are staged in shared memory). Instantiated for float and __half.
constexpr int kMaxFusedOutputChannels = 64;
constexpr int kMaxFusedInputChannels = 64;
// Output pixels a side of the fused kernel's tile (the work model counts
// the expand over these tiles' windows).
constexpr int kFusedTileOutputs = 8;

struct FusedBlockWeights {
  const float* expand_weight;
  const float* expand_bias;
  const float* depthwise_weight;
  const float* depthwise_bias;
  const float* project_weight;
  const float* project_bias;
  int hidden_channels;
  int expand_row;
  int project_row;
  KernelActivation expand_activation;
  KernelActivation depthwise_activation;
  KernelActivation project_activation;
};

template <typename T>
cudaError_t inverted_residual_fused(TensorView<const T> input, TensorView<T> output, TensorView<const T> residual,
                                    const FusedBlockWeights& weights, int stride, cudaStream_t stream);
// The float kernel's FP32 arithmetic on float or __half input storage into
// float output: instantiated for <float, float> (what
// inverted_residual_fused<float> runs) and <__half, float> (an FP16
// engine's decoder block: the half concat buffer in, FP32 hidden tensors
// and output, as its unfused pointwise_conv_float_arithmetic<__half, float>
// and depthwise_conv<float> run it). expand_row =
// padded_channels<Tin>(input.channels), project_row =
// padded_channels<float>(hidden); the residual has the output's type.
template <typename Tin, typename Tout>
cudaError_t inverted_residual_fused_float_arithmetic(TensorView<const Tin> input, TensorView<Tout> output,
                                                     TensorView<const Tout> residual,
                                                     const FusedBlockWeights& weights, int stride,
                                                     cudaStream_t stream);

// The last decoder block and the network's final 1x1 convolution in one
// kernel (inverted_residual_fused.cu): the block (stride 1, no residual,
// block_outputs channels, at most kMaxFusedHeadBlockOutputs padded in
// FP32) as inverted_residual_fused_float_arithmetic<Tin, float> computes
// it, then output_conv's 1x1 with bias and activation over the block's
// FP32 outputs in the kernel's epilogue, written as output_conv writes
// (io_kernels.h: cropped, F32 / U8 / U16): the block's output never leaves
// the chip. head.weight [head.out_channels][head.row =
// padded_channels<float>(block_outputs)], at most kMaxFusedHeadOutputs
// rows; the sum of a probability adds the block's channels in another
// order than output_conv's. Tin: float or __half.
constexpr int kMaxFusedHeadBlockOutputs = 16;
constexpr int kMaxFusedHeadOutputs = 4;

struct FusedHeadWeights {
  const float* weight;
  const float* bias;
  int out_channels;
  int row;
  KernelActivation activation;
};

template <typename Tin>
cudaError_t inverted_residual_fused_head(TensorView<const Tin> input, int block_outputs,
                                         const FusedBlockWeights& block, const FusedHeadWeights& head,
                                         const ProbabilityImage& probabilities, cudaStream_t stream);

// ---- Backward (decoder fine-tuning; FP32 storage and arithmetic)
//
// The weight gradients of a convolution with folded weights W' and bias b'
// are sums over pixels. Each kernel splits the pixels into
// weight_gradient_blocks(pixels) blocks and writes one row of partial sums
// per block, in a fixed order; sum_block_partials (training_kernels.h)
// adds the rows in block order: no atomics, and two runs give bit-identical
// gradients. Input gradients need no kernel of their own: the one of a 1x1
// convolution is pointwise_conv with the transposed weights, the one of a
// stride-1 depthwise convolution depthwise_conv with the taps flipped
// (both with a zero bias and kLinear).

// The number of pixel blocks (rows of partials) for `pixels` pixels:
// ceil(pixels / 64), at most 256. 0 for 0 pixels.
constexpr int kMaxWeightGradientBlocks = 256;
inline int weight_gradient_blocks(size_t pixels) {
  const size_t blocks = (pixels + 63) / 64;
  return blocks < kMaxWeightGradientBlocks ? static_cast<int>(blocks) : kMaxWeightGradientBlocks;
}

// Partial sums of the 1x1 convolution's gradients, given its input and
// dL/d(output) g (of the input's pixel grid; g.channels = Cout): with
// K = padded_channels<float>(input.channels),
//   partials[b][co][k] = sum over block b's pixels p of g[p][co] * in[p][k] (k < K),
//   partials[b][co][K] = sum over block b's pixels p of g[p][co]   (the bias),
// weight_gradient_blocks(pixels) * Cout * (K + 1) floats.
cudaError_t pointwise_weight_gradient(TensorView<const float> input,
                                      TensorView<const float> output_gradient, float* partials,
                                      cudaStream_t stream);

// Partial sums of the 3x3 depthwise convolution's gradients (padding 1,
// stride 1 or 2; g of the output's grid, g.channels = input.channels = C):
//   partials[b][c][ky * 3 + kx] = sum over block b's output pixels of
//       g[n][oy][ox][c] * in[n][oy * stride - 1 + ky][ox * stride - 1 + kx][c]
//       (0 outside the input),
//   partials[b][c][9] = sum over block b's output pixels of g[n][oy][ox][c],
// weight_gradient_blocks(output pixels) * C * 10 floats.
cudaError_t depthwise_weight_gradient(TensorView<const float> input,
                                      TensorView<const float> output_gradient, int stride,
                                      float* partials, cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_CONV_KERNELS_H
