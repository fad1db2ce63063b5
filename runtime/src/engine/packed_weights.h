// packed_weights.h - a model's parameters as the kernels read them, in one
// float array uploaded once: batch norm folded into each conv
// (w * gamma / sqrt(var + eps), beta - mean * gamma / sqrt(var + eps), in
// double), then laid out per kernel (kernels/conv_kernels.h, io_kernels.h):
//   stem       [32][3][3][Cin]
//   depthwise  [9][depthwise_weight_row(C)], tap-major, zeros past C
//   1x1 convs  [Cout][row_length], input channel c in column
//              ExecutionPlan::conv_inputs[conv].input_columns[c], zeros elsewhere
// Every block starts at a multiple of 16 floats (64 bytes).
//
// pack_weights refuses (false, with a message naming the tensor) what the
// kernels cannot run: INT8 (I8) tensors, which this build has no kernels
// for, and a folding whose float weight or bias is not finite (a finite
// gamma of 3e38 over a running_var of 0 overflows), which would turn every
// output into NaN.
#ifndef M2U_RUNTIME_ENGINE_PACKED_WEIGHTS_H
#define M2U_RUNTIME_ENGINE_PACKED_WEIGHTS_H

#include <cstddef>
#include <string>
#include <vector>

#include "execution_plan.h"
#include "model.h"

namespace m2u {

struct PackedConv {
  size_t weight_offset;  // in floats, into PackedWeights::values
  size_t bias_offset;
};

struct PackedWeights {
  std::vector<float> values;
  std::vector<PackedConv> convs;  // per Architecture::convs entry
};

bool pack_weights(const Model& model, const ExecutionPlan& plan, PackedWeights* packed,
                  std::string* error);

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_PACKED_WEIGHTS_H
