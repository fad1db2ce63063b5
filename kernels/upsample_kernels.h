// upsample_kernels.h - launcher of the bilinear x2 upsampling kernel
// (upsample_bilinear.cu), which writes straight into its channel slice of a
// decoder concat buffer: there is no separate concat pass.
#ifndef M2U_KERNELS_UPSAMPLE_KERNELS_H
#define M2U_KERNELS_UPSAMPLE_KERNELS_H

#include <cuda_runtime_api.h>

#include "tensor_view.h"

namespace m2u {

// output (N, 2H, 2W, C) = bilinear x2 of input (N, H, W, C), align_corners
// = False: source coordinate (dst + 0.5) / 2 - 0.5 clamped at 0, neighbours
// clamped at the border (PyTorch nn.Upsample). `output` is usually a slice.
// Tin -> Tout: float, __half or int8_t to the same, or float to __half (an
// FP16 engine's FP32 decoder stage into a half concat buffer); FP32
// arithmetic; int8_t views are read and written through their scales
// (scaled_storage.cuh).
template <typename Tin, typename Tout>
cudaError_t upsample_bilinear2x(TensorView<const Tin> input, TensorView<Tout> output, cudaStream_t stream);

// Backward (decoder fine-tuning, FP32): input_gradient (N, H, W, C) =
// dL/d(input) of upsample_bilinear2x from output_gradient (N, 2H, 2W, C):
// each input pixel gathers the gradients of the output pixels it
// contributed to, times its weights (no atomics). `output_gradient` is
// usually a slice: the upsampled part of a concat buffer's gradient.
cudaError_t upsample_bilinear2x_backward(TensorView<const float> output_gradient,
                                         TensorView<float> input_gradient, cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_UPSAMPLE_KERNELS_H
