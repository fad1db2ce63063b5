// layer_precision.cpp - the per-layer precision table (layer_precision.h).
// FP16 keeps FP32 arithmetic where it costs little and accuracy needs it:
// the input conversion (per-image statistics, then one rounding to half),
// the stem (1-3 input channels: few FLOPs), the upsampling (4 taps) and the
// final 1x1 + sigmoid (the probabilities the mask is cut from). The 1x1 and
// depthwise convs, nearly all of the FLOPs, run in half2 with FP32 flushes
// (kernels/pointwise_conv_fp16.cu, kernels/depthwise_conv_fp16.cu).
#include "layer_precision.h"

namespace m2u {

LayerPrecision layer_precision(StepKind kind, m2u_precision precision) {
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
