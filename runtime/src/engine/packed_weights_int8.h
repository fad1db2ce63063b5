// packed_weights_int8.h - the INT8 engine's parameters, made from the
// folded float packing (packed_weights.h) of the same plan (16-channel
// alignment): for every 1x1 convolution but the final one and every
// depthwise convolution, int8 weights quantised symmetrically per output
// channel (weight scale s_w[co] = max |w[co]| / 127, 1 for an all-zero
// channel; q = round half to even of w / s_w), laid out as the INT8 kernels
// read them (conv_kernels_int8.h):
//   1x1        [Cout][row_length], the float packing's columns
//   depthwise  [9][pad16(C)], tap-major
// each block 16-byte aligned, and the requantisation multipliers
// s_in * s_w[co] (s_in: the scale of the conv's input buffer) appended to
// the float values. The stem and the final 1x1 keep their float weights
// (FP32 arithmetic on int8 activations); biases stay the float ones.
#ifndef M2U_RUNTIME_ENGINE_PACKED_WEIGHTS_INT8_H
#define M2U_RUNTIME_ENGINE_PACKED_WEIGHTS_INT8_H

#include <cstdint>
#include <vector>

#include "execution_plan.h"
#include "packed_weights.h"

namespace m2u {

struct PackedConvInt8 {
  bool quantised = false;     // false: the stem and the final conv (float weights)
  size_t weight_offset = 0;   // bytes into PackedWeightsInt8::weights
  size_t multiplier_offset = 0;  // floats into the float values
};

struct PackedWeightsInt8 {
  std::vector<int8_t> weights;
  std::vector<PackedConvInt8> convs;  // per Architecture::convs entry
};

// Quantises `packed` (made for `plan`) in place: appends the multipliers to
// packed->values. buffer_scales: one per plan buffer.
void pack_weights_int8(const Architecture& arch, const ExecutionPlan& plan, const std::vector<float>& buffer_scales,
                       PackedWeights* packed, PackedWeightsInt8* int8);

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_PACKED_WEIGHTS_INT8_H
