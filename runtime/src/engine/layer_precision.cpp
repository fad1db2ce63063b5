// layer_precision.cpp - FP16's per-layer choice and the per-layer precision
// table (layer_precision.h).
//
// FP16 stores activations in half and chooses the arithmetic per stage,
// from the real 1-channel model on the real 1024x1024 image against FP32
// (README "Precision"; a float64 PyTorch model of each choice, then the
// engine itself):
// - conv2..conv4 (80% of the multiply-adds) run their 1x1 and depthwise
//   convs in half2 (__hfma2, FP32 flushes): rounding their weights to half
//   moves no probability by more than a few 1e-4.
// - conv1, decode4 and decode3 compute in FP32 on half storage: few
//   multiply-adds (8%), and half weights in decode3 alone already add a
//   tenth to the mean error.
// - decode2 and decode1, the two full- and half-resolution decoder blocks
//   (11% of the multiply-adds), store their expanded, depthwise and output
//   tensors in FP32 and compute in FP32: half storage there accounts for
//   most of FP16's error (with half weights in decode1 alone the mask IoU
//   drops to 0.9975). Their concat buffers stay half (the skips' producers
//   write them in place).
// - The input conversion, the stem, the upsampling and the final 1x1 +
//   sigmoid compute in FP32 (a few percent of the FLOPs; the last one makes
//   the probabilities the mask is cut from).
// INT8 stores every activation as int8 with its buffer's calibrated scale;
// the 1x1 and depthwise convs sum int8 products in int32 (conv_kernels_int8.h),
// the others compute in FP32 between int8 loads and stores.
#include "layer_precision.h"

namespace m2u {

MixedPrecision fp16_mixed_precision() {
  MixedPrecision mixed;
  mixed.half2_stages = {"conv2", "conv3", "conv4"};
  mixed.float_stages = {"decode2", "decode1"};
  return mixed;
}

LayerPrecision layer_precision(const ExecutionPlan& plan, const PlannedStep& step, m2u_precision precision) {
  if (step.kind == StepKind::kOutput) {
    return {"output image dtype", precision == M2U_PRECISION_INT8   ? "fp32 from int8"
                                  : precision == M2U_PRECISION_FP16 ? (plan.buffers[step.input.buffer].element_bytes == 4
                                                                           ? "fp32"
                                                                           : "fp32 from fp16")
                                                                    : "fp32"};
  }
  if (precision == M2U_PRECISION_INT8) {
    switch (step.kind) {
      case StepKind::kPointwise:
        return {"int8", "int8 x int8 -> int32 (dp4a on sm_61+, scalar on sm_53), fp32 requantisation"};
      case StepKind::kDepthwise:
        return {"int8", "int8 x int8 -> int32 over the 9 taps, fp32 requantisation"};
      default:
        return {"int8", "fp32 from int8"};
    }
  }
  if (step.kind == StepKind::kFusedBlock) {
    if (step.head_conv >= 0) {  // the last decoder block and the final conv: probabilities out
      return {"output image dtype",
              precision == M2U_PRECISION_FP16
                  ? "fp32 from fp16, fused: expand -> depthwise -> project -> final 1x1, the block's tensors on chip"
                  : "fp32, fused: expand -> depthwise -> project -> final 1x1, the block's tensors on chip"};
    }
    if (precision == M2U_PRECISION_FP16 && !step.half2) {  // a decoder block: the half concat buffer in
      return {"fp32", "fp32 from fp16, fused: expand -> depthwise -> project, the hidden tensors in shared memory"};
    }
    if (precision == M2U_PRECISION_FP16) {
      return {"fp16", "half2, fused: expand -> depthwise -> project, the hidden tensors in shared memory as fp16, "
                      "fp32 flush every 16 channels"};
    }
    return {"fp32", "fp32, fused: expand -> depthwise -> project, the hidden tensors in shared memory"};
  }
  if (precision != M2U_PRECISION_FP16) return {"fp32", "fp32"};
  const bool float_out = plan.buffers[step.output.buffer].element_bytes == 4;
  const bool float_in = step.input.buffer >= 0 && plan.buffers[step.input.buffer].element_bytes == 4;
  const char* storage = float_out ? "fp32" : "fp16";
  if (step.half2) {
    return {storage, step.kind == StepKind::kPointwise ? "half2, fp32 flush every 16 input channels"
                                                       : "half2 over the 9 taps, fp32 flush"};
  }
  if (float_in && float_out) return {storage, "fp32"};
  if (float_in) return {storage, "fp32 from fp32"};
  return {storage, step.kind == StepKind::kInputConvert ? "fp32" : "fp32 from fp16"};
}

}  // namespace m2u
