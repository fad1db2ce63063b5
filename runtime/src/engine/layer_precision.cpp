// layer_precision.cpp - the per-layer precision table (layer_precision.h).
// FP16 keeps FP32 arithmetic where it costs little and accuracy needs it:
// the input conversion (per-image statistics, then one rounding to half),
// the stem (1-3 input channels: few FLOPs), the upsampling (4 taps) and the
// final 1x1 + sigmoid (the probabilities the mask is cut from). The 1x1 and
// depthwise convs, nearly all of the FLOPs, run in half2 with FP32 flushes
// (kernels/pointwise_conv_fp16.cu, kernels/depthwise_conv_fp16.cu).
// INT8 stores every activation as int8 with its buffer's calibrated scale;
// the 1x1 and depthwise convs sum int8 products in int32 (conv_kernels_int8.h),
// the others compute in FP32 between int8 loads and stores.
#include "layer_precision.h"

namespace m2u {

LayerPrecision layer_precision(StepKind kind, m2u_precision precision) {
  if (precision == M2U_PRECISION_INT8) {
    switch (kind) {
      case StepKind::kPointwise:
        return {"int8", "int8 x int8 -> int32 (dp4a on sm_61+, scalar on sm_53), fp32 requantisation"};
      case StepKind::kDepthwise:
        return {"int8", "int8 x int8 -> int32 over the 9 taps, fp32 requantisation"};
      case StepKind::kOutput:
        return {"output image dtype", "fp32 from int8"};
      case StepKind::kInputConvert:
      case StepKind::kStem:
      case StepKind::kUpsample:
        break;
    }
    return {"int8", "fp32 from int8"};
  }
  const bool half = precision == M2U_PRECISION_FP16;
  const char* storage = half ? "fp16" : "fp32";
  switch (kind) {
    case StepKind::kPointwise:
      return {storage, half ? "half2, fp32 flush every 16 input channels" : "fp32"};
    case StepKind::kDepthwise:
      return {storage, half ? "half2 over the 9 taps, fp32 flush" : "fp32"};
    case StepKind::kOutput:
      return {"output image dtype", "fp32"};
    case StepKind::kInputConvert:
    case StepKind::kStem:
    case StepKind::kUpsample:
      break;
  }
  return {storage, "fp32"};
}

}  // namespace m2u
