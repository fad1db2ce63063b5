// layer_precision.h - what each kind of step of the forward pass stores its
// output in and computes in, per engine precision: the per-layer precision
// table that m2u_engine_get_layer reports and the README documents.
#ifndef M2U_RUNTIME_ENGINE_LAYER_PRECISION_H
#define M2U_RUNTIME_ENGINE_LAYER_PRECISION_H

#include "execution_plan.h"
#include "m2urt.h"

namespace m2u {

struct LayerPrecision {
  const char* storage;     // "fp32", "fp16", or the output image's dtype
  const char* arithmetic;  // "fp32", "half2, ..."
};

LayerPrecision layer_precision(StepKind kind, m2u_precision precision);

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_LAYER_PRECISION_H
