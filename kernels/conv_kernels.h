// conv_kernels.h - launchers of M2U-Net's convolution kernels (one op per
// .cu: conv_stem.cu, pointwise_conv.cu, depthwise_conv.cu; the __half paths
// of the last two in pointwise_conv_fp16.cu, depthwise_conv_fp16.cu). Batch
// norm is folded into `weight` and `bias` by the engine before upload. All
// pointers are device pointers; T is the activation storage type (float or
// __half). Arithmetic is FP32, except that pointwise_conv<__half> and
// depthwise_conv<__half> multiply-add in half2, flushing short half partial
// sums (16 input channels, 9 taps) into FP32 for bias, activation and
// residual. Each launcher checks its assumptions (returns
// cudaErrorInvalidValue when a view does not fit) and returns the launch's
// status. Views follow tensor_view.h's layout and padding rule.
#ifndef M2U_KERNELS_CONV_KERNELS_H
#define M2U_KERNELS_CONV_KERNELS_H

#include <cuda_runtime_api.h>

#include "activation.h"
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

// 3x3 depthwise convolution, padding 1, stride 1 or 2 (output
// ceil(H/stride) x ceil(W/stride)). weight: [channels][3][3].
template <typename T>
cudaError_t depthwise_conv(TensorView<const T> input, TensorView<T> output, const float* weight,
                           const float* bias, int stride, KernelActivation activation,
                           cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_CONV_KERNELS_H
