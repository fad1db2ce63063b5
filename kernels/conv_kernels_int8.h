// conv_kernels_int8.h - launchers of M2U-Net's INT8 convolution kernels:
// the 1x1 pointwise (pointwise_conv_int8.cu) and the 3x3 depthwise
// (depthwise_conv_int8.cu) convolution on int8 activations.
//
// Quantisation is symmetric, real = q * scale: one scale per activation
// tensor, one per output channel for the weights. Activations are int8_t in
// tensor_view.h's layout (NHWC, channels padded to 16; a kernel writes 0 in
// its view's padded channels); the kernels write values in [-127, 127].
// Weights are int8 in [-127, 127], zero in their padding. Products are summed
// exactly in int32; the epilogue is FP32, every operation an explicitly
// rounded intrinsic, so that a GPU, the emulation and a CPU reference
// produce the same bits:
//
//   real = __fmaf_rn((float)acc, multiplier[co], bias[co])
//   real = act(real)                        linear, ReLU (max 0), ReLU6 ([0, 6])
//   real = __fadd_rn(real, __fmul_rn((float)q_residual, residual_scale))
//                                           pointwise with a residual only
//   q    = __float2int_rn(clamp(__fmul_rn(real, output_inverse_scale), -127, 127))
//
// multiplier[co] = input_scale * weight_scale[co], bias[co] the real
// (float) folded batch-norm bias, output_inverse_scale = 1 / output_scale.
// (float)acc is exact while |acc| < 2^24: at |q| <= 127 a sum of K products
// stays below 2^24 for K <= 1040 (1040 * 127^2 = 16,774,160), so the
// pointwise launcher refuses more than kInt8MaxReduceChannels padded input
// channels; the depthwise sums have 9 terms. The sigmoid is not offered
// (its expf is not correctly rounded, so the bits would differ by executor).
//
// All pointers are device pointers. Each launcher checks its arguments
// (cudaErrorInvalidValue when a view, a pointer's alignment, K or the
// activation does not fit) and returns the launch's status.
#ifndef M2U_KERNELS_CONV_KERNELS_INT8_H
#define M2U_KERNELS_CONV_KERNELS_INT8_H

#include <cuda_runtime_api.h>

#include <cstdint>

#include "activation.h"
#include "tensor_view.h"

namespace m2u {

// Largest padded input channel count of pointwise_conv_int8 (see above).
constexpr int kInt8MaxReduceChannels = 1040;

// How the pointwise kernel forms its int32 dot products of 4 packed int8
// pairs. kNative: __dp4a where the device code is compiled for sm_61 or
// newer (and in the emulation), the scalar code on older architectures,
// which lack dp4a. kScalar: sign-extended byte products on every
// architecture. Both give the same integers.
enum class Int8DotPath : int { kNative = 0, kScalar = 1 };

// The per-output-channel requantisation of a convolution's int32 sums.
struct Int8Requant {
  const float* multiplier;     // [channels]: input_scale * weight_scale[c]
  const float* bias;           // [channels]: the real bias
  float output_inverse_scale;  // 1 / output_scale
};

// 1x1 convolution: acc[p][co] = sum over k < padded_channels<int8_t>(input.channels)
// of input[p][k] * weight[co][k], then the epilogue above.
// weight: [output.channels][padded_channels<int8_t>(input.channels)] int8,
// 16-byte aligned, zeros in the padding columns (and in the gap columns of a
// concat view). residual: a view of the output's shape, or data == nullptr
// for none; it may alias the output; residual_scale is its scale.
cudaError_t pointwise_conv_int8(TensorView<const int8_t> input, TensorView<int8_t> output,
                                const int8_t* weight, Int8Requant requant,
                                KernelActivation activation, TensorView<const int8_t> residual,
                                float residual_scale, cudaStream_t stream);

// The same with the dot-product path chosen by the caller (tests compare
// the two paths bitwise; the engine calls pointwise_conv_int8, kNative).
cudaError_t pointwise_conv_int8_on_path(TensorView<const int8_t> input, TensorView<int8_t> output,
                                        const int8_t* weight, Int8Requant requant,
                                        KernelActivation activation,
                                        TensorView<const int8_t> residual, float residual_scale,
                                        Int8DotPath path, cudaStream_t stream);

// 3x3 depthwise convolution, padding 1, stride 1 or 2 (output
// ceil(H/stride) x ceil(W/stride), the input's channels):
// acc[p][c] = sum over taps t = 3 ky + kx of input[tap pixel][c] * weight[t][c].
// weight: [9][padded_channels<int8_t>(channels)] int8 (tap-major, channels
// innermost, zeros in the padding), 16-byte aligned.
cudaError_t depthwise_conv_int8(TensorView<const int8_t> input, TensorView<int8_t> output,
                                const int8_t* weight, Int8Requant requant, int stride,
                                KernelActivation activation, cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_CONV_KERNELS_INT8_H
