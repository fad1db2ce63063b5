// reference_forward.cpp - the stage-by-stage forward pass of reference_forward.h.
#include "reference_forward.h"

#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "reference_ops.h"

namespace m2u::ref {

namespace {

// The decoder stages and the encoder stage whose output each concatenates
// after the upsampled previous stage ("" = the network input).
struct DecoderSkip {
  const char* stage;
  const char* skip;
};
constexpr DecoderSkip kDecoderSkips[] = {
    {"decode4", "conv3"}, {"decode3", "conv2"}, {"decode2", "conv1"}, {"decode1", ""}};
constexpr const char* kEncoderStages[] = {"conv1", "conv2", "conv3", "conv4"};

// Convolution, then batch norm or the conv's bias, then the activation.
HostTensor run_conv(const ConvParameters& parameters, double bn_epsilon, const HostTensor& x) {
  const ConvSpec& spec = *parameters.spec;
  HostTensor y = conv2d(x, parameters.weight, parameters.bias, spec.out_channels, spec.kernel,
                        spec.stride, spec.groups);
  if (parameters.has_batch_norm) {
    y = batch_norm_eval(y, parameters.bn_gamma, parameters.bn_beta, parameters.bn_mean,
                        parameters.bn_var, bn_epsilon);
  }
  return activation(y, spec.activation);
}

HostTensor run_block(const InvertedResidualSpec& block, const std::vector<ConvParameters>& convs,
                     double bn_epsilon, const HostTensor& x) {
  HostTensor y = x;
  for (int conv : block.convs) y = run_conv(convs[conv], bn_epsilon, y);
  return block.residual ? add(x, y) : y;
}

HostTensor run_stage_blocks(const StageSpec& stage, const Architecture& arch,
                            const std::vector<ConvParameters>& convs, double bn_epsilon,
                            HostTensor x) {
  for (int block : stage.blocks) x = run_block(arch.blocks[block], convs, bn_epsilon, x);
  return x;
}

void check_input(const Architecture& arch, const HostTensor& input) {
  if (input.n < 1 || input.c != arch.in_channels || input.h < kSpatialMultiple ||
      input.w < kSpatialMultiple || input.h % kSpatialMultiple != 0 ||
      input.w % kSpatialMultiple != 0) {
    throw std::invalid_argument("reference_forward: input " + input.shape_string() +
                                " must be N x " + std::to_string(arch.in_channels) +
                                " x H x W with N >= 1 and H, W positive multiples of " +
                                std::to_string(kSpatialMultiple));
  }
  const size_t stage_count = std::size(kEncoderStages) + std::size(kDecoderSkips);
  bool names_match = arch.stages.size() == stage_count;
  for (size_t i = 0; names_match && i < stage_count; ++i) {
    const char* expected = i < std::size(kEncoderStages)
                               ? kEncoderStages[i]
                               : kDecoderSkips[i - std::size(kEncoderStages)].stage;
    names_match = arch.stages[i].name == expected;
  }
  if (!names_match) {
    throw std::invalid_argument(
        "reference_forward: the architecture's stages are not conv1..conv4, decode4..decode1");
  }
}

}  // namespace

const HostTensor& ReferenceOutputs::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw std::out_of_range("ReferenceOutputs: no tensor \"" + name + "\"");
  return it->second;
}

ReferenceOutputs reference_forward(const Model& model, const HostTensor& input) {
  const Architecture& arch = model.architecture;
  check_input(arch, input);
  const std::vector<ConvParameters> convs = gather_conv_parameters(model);
  const double eps = model.bn_epsilon;
  ReferenceOutputs outputs;

  // Encoder: the stem conv opens conv1; each stage continues from the last.
  HostTensor x = run_conv(convs[arch.stem_conv], eps, input);
  for (size_t i = 0; i < std::size(kEncoderStages); ++i) {
    x = run_stage_blocks(arch.stages[i], arch, convs, eps, x);
    outputs.tensors[kEncoderStages[i]] = x;
  }
  // Decoder: Up(previous) ++ skip, then the stage's block.
  for (size_t i = 0; i < std::size(kDecoderSkips); ++i) {
    const DecoderSkip& decoder = kDecoderSkips[i];
    const HostTensor& skip = *decoder.skip ? outputs.at(decoder.skip) : input;
    x = concat_channels(upsample_bilinear2x(x), skip);
    x = run_stage_blocks(arch.stages[std::size(kEncoderStages) + i], arch, convs, eps, x);
    outputs.tensors[decoder.stage] = x;
  }
  outputs.tensors["output"] = run_conv(convs[arch.final_conv], eps, x);
  return outputs;
}

}  // namespace m2u::ref
