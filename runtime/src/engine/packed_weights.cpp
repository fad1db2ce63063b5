// packed_weights.cpp - folds batch norm and packs weights (see packed_weights.h).
#include "packed_weights.h"

#include <cmath>
#include <cstdio>

#include "conv_kernels.h"

namespace m2u {
namespace {

constexpr size_t kBlockAlignment = 16;  // floats

size_t reserve_block(std::vector<float>& values, size_t count) {
  const size_t offset = (values.size() + kBlockAlignment - 1) / kBlockAlignment * kBlockAlignment;
  values.resize(offset + count, 0.0f);
  return offset;
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

// Why batch-norm folding of output channel `co` of `spec` is refused: its
// float weights or bias are not finite (checked in the float the kernels
// read), or "" when they are.
std::string folding_problem(const ConvSpec& spec, const ConvParameters& p, int co, double scale,
                            double bias, float epsilon) {
  const size_t per_channel = static_cast<size_t>(spec.in_channels / spec.groups) * spec.kernel * spec.kernel;
  const char* what = nullptr;
  for (size_t k = 0; k < per_channel && !what; ++k) {
    if (!std::isfinite(static_cast<float>(p.weight[co * per_channel + k] * scale))) what = "weight";
  }
  if (!what && !std::isfinite(static_cast<float>(bias))) what = "bias";
  if (!what) return std::string();
  return "tensor '" + spec.name + ".weight': batch-norm folding with '" + spec.bn_name +
         "' gives a non-finite " + what + " at output channel " + std::to_string(co) + " (gamma " +
         number(p.bn_gamma[co]) + ", running_var " + number(p.bn_var[co]) + ", running_mean " +
         number(p.bn_mean[co]) + ", beta " + number(p.bn_beta[co]) + ", epsilon " + number(epsilon) +
         "): the folded value overflows float; check that batch norm's statistics in the source model";
}

}  // namespace

bool pack_weights(const Model& model, const ExecutionPlan& plan, PackedWeights* packed_out,
                  std::string* error) {
  for (const Tensor& tensor : model.tensors) {
    if (tensor.dtype == DType::kI8) {
      *error = "tensor '" + tensor.name +
               "' is stored as INT8 (I8): INT8 weights are not supported by this build yet; "
               "convert the model with F32 or F16 weights (converter/m2u_convert.py --dtype f32)";
      return false;
    }
  }
  const Architecture& arch = model.architecture;
  const std::vector<ConvParameters> params = gather_conv_parameters(model);
  PackedWeights& packed = *packed_out;
  packed = PackedWeights();
  packed.convs.resize(arch.convs.size());
  for (size_t i = 0; i < arch.convs.size(); ++i) {
    const ConvSpec& spec = arch.convs[i];
    const ConvParameters& p = params[i];
    const int out = spec.out_channels;
    const int per_group_in = spec.in_channels / spec.groups;
    const int taps = spec.kernel * spec.kernel;
    // Folded scale and bias per output channel.
    std::vector<double> scale(out, 1.0), bias(out, 0.0);
    for (int co = 0; co < out; ++co) {
      if (p.has_batch_norm) {
        scale[co] = p.bn_gamma[co] / std::sqrt(static_cast<double>(p.bn_var[co]) + model.bn_epsilon);
        bias[co] = p.bn_beta[co] - p.bn_mean[co] * scale[co];
        const std::string problem = folding_problem(spec, p, co, scale[co], bias[co], model.bn_epsilon);
        if (!problem.empty()) {
          *error = problem;
          return false;
        }
      } else {
        bias[co] = p.bias[co];
      }
    }
    auto weight = [&](int co, int ci, int tap) {
      return static_cast<float>(p.weight[(static_cast<size_t>(co) * per_group_in + ci) * taps + tap] * scale[co]);
    };
    PackedConv& conv = packed.convs[i];
    if (static_cast<int>(i) == arch.stem_conv) {
      conv.weight_offset = reserve_block(packed.values, static_cast<size_t>(out) * taps * per_group_in);
      for (int co = 0; co < out; ++co)
        for (int tap = 0; tap < taps; ++tap)
          for (int ci = 0; ci < per_group_in; ++ci)
            packed.values[conv.weight_offset + (static_cast<size_t>(co) * taps + tap) * per_group_in + ci] =
                weight(co, ci, tap);
    } else if (spec.is_depthwise()) {
      const int row = depthwise_weight_row(out);  // tap-major, zeros past `out`
      conv.weight_offset = reserve_block(packed.values, static_cast<size_t>(taps) * row);
      for (int co = 0; co < out; ++co)
        for (int tap = 0; tap < taps; ++tap)
          packed.values[conv.weight_offset + static_cast<size_t>(tap) * row + co] = weight(co, 0, tap);
    } else {
      const ConvInputLayout& layout = plan.conv_inputs[i];
      conv.weight_offset = reserve_block(packed.values, static_cast<size_t>(out) * layout.row_length);
      for (int co = 0; co < out; ++co)
        for (int ci = 0; ci < spec.in_channels; ++ci)
          packed.values[conv.weight_offset + static_cast<size_t>(co) * layout.row_length +
                        layout.input_columns[ci]] = weight(co, ci, 0);
    }
    conv.bias_offset = reserve_block(packed.values, out);
    for (int co = 0; co < out; ++co) packed.values[conv.bias_offset + co] = static_cast<float>(bias[co]);
  }
  return true;
}

}  // namespace m2u
