// layer_precision.h - FP16's per-layer choice of storage and arithmetic
// (which stages multiply in half2, which decoder stages stay FP32), and what
// each step of a plan stores its output in and computes in, per engine
// precision: the table m2u_engine_get_layer reports and the README shows.
#ifndef M2U_RUNTIME_ENGINE_LAYER_PRECISION_H
#define M2U_RUNTIME_ENGINE_LAYER_PRECISION_H

#include "execution_plan.h"
#include "m2urt.h"

namespace m2u {

// The mixed precision an FP16 engine plans with.
MixedPrecision fp16_mixed_precision();

struct LayerPrecision {
  const char* storage;     // "fp32", "fp16", "int8", or the output image's dtype
  const char* arithmetic;  // "fp32", "half2, ...", ...
};

// Step `step` of `plan`, planned for an engine of `precision`.
LayerPrecision layer_precision(const ExecutionPlan& plan, const PlannedStep& step, m2u_precision precision);

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_LAYER_PRECISION_H
