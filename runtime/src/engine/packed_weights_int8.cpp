// packed_weights_int8.cpp - per-output-channel INT8 weights and the
// requantisation multipliers (see packed_weights_int8.h).
#include "packed_weights_int8.h"

#include <algorithm>
#include <cmath>

#include "conv_kernels.h"

namespace m2u {
namespace {

constexpr size_t kInt8BlockAlignment = 16;  // bytes

size_t reserve_int8(std::vector<int8_t>& weights, size_t count) {
  const size_t offset = (weights.size() + kInt8BlockAlignment - 1) / kInt8BlockAlignment * kInt8BlockAlignment;
  weights.resize(offset + count, 0);
  return offset;
}

int8_t quantise(float w, float scale) {
  return static_cast<int8_t>(std::max(-127.0f, std::min(127.0f, std::nearbyint(w / scale))));
}

}  // namespace

void pack_weights_int8(const Architecture& arch, const ExecutionPlan& plan, const std::vector<float>& buffer_scales,
                       PackedWeights* packed, PackedWeightsInt8* int8) {
  *int8 = PackedWeightsInt8();
  int8->convs.resize(arch.convs.size());
  for (const PlannedStep& step : plan.steps) {
    if (step.kind != StepKind::kPointwise && step.kind != StepKind::kDepthwise) continue;
    const ConvSpec& spec = arch.convs[step.conv];
    const PackedConv& conv = packed->convs[step.conv];
    PackedConvInt8& q = int8->convs[step.conv];
    const int out = spec.out_channels;
    const bool depthwise = step.kind == StepKind::kDepthwise;
    const int row = depthwise ? 9 : plan.conv_inputs[step.conv].row_length;
    // The float weight k of output channel co: a 1x1's rows, a depthwise's
    // tap-major layout (packed_weights.h).
    const int taps_row = depthwise_weight_row(out);
    auto float_weight = [&](int co, int k) {
      return packed->values[conv.weight_offset + (depthwise ? static_cast<size_t>(k) * taps_row + co
                                                            : static_cast<size_t>(co) * row + k)];
    };
    std::vector<float> scales(out);
    for (int co = 0; co < out; ++co) {
      float largest = 0.0f;
      for (int k = 0; k < row; ++k) largest = std::max(largest, std::fabs(float_weight(co, k)));
      scales[co] = largest > 0.0f ? largest / 127.0f : 1.0f;
    }
    const int padded = (out + 15) / 16 * 16;
    q.quantised = true;
    q.weight_offset = reserve_int8(int8->weights, depthwise ? 9 * static_cast<size_t>(padded)
                                                            : static_cast<size_t>(out) * row);
    for (int co = 0; co < out; ++co) {
      for (int k = 0; k < row; ++k) {
        const int8_t value = quantise(float_weight(co, k), scales[co]);
        int8->weights[q.weight_offset + (depthwise ? static_cast<size_t>(k) * padded + co
                                                   : static_cast<size_t>(co) * row + k)] = value;
      }
    }
    const float input_scale = buffer_scales[step.input.buffer];
    q.multiplier_offset = (packed->values.size() + 15) / 16 * 16;
    packed->values.resize(q.multiplier_offset + out, 0.0f);
    for (int co = 0; co < out; ++co) packed->values[q.multiplier_offset + co] = input_scale * scales[co];
  }
}

}  // namespace m2u
