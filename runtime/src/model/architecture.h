// architecture.h - M2U-Net's layer list for given input and output channel
// counts (weights/M2UNET.md), the single source of tensor names and
// shapes for the loader, the CPU reference and the engine.
#ifndef M2U_RUNTIME_MODEL_ARCHITECTURE_H
#define M2U_RUNTIME_MODEL_ARCHITECTURE_H

#include <string>
#include <vector>

namespace m2u {

enum class Activation { kRelu6, kRelu, kSigmoid, kLinear };

// One convolution and what follows it: batch norm (or, for the final 1x1
// convolution, its own bias) and an activation (kLinear: none).
struct ConvSpec {
  std::string name;     // state_dict prefix of the conv, e.g. "conv4.13.conv.6"
  std::string bn_name;  // of its BatchNorm, e.g. "conv4.13.conv.7"; "" for the final conv
  int in_channels;
  int out_channels;
  int kernel;  // 1 or 3 (padding kernel / 2)
  int stride;  // 1 or 2
  int groups;  // 1, or in_channels (== out_channels) for depthwise
  Activation activation;  // after BN / bias

  // Weight shape [out, in/groups, k, k].
  std::vector<int> weight_dims() const {
    return {out_channels, in_channels / groups, kernel, kernel};
  }
  bool is_depthwise() const { return groups > 1; }
};

// MobileNetV2 inverted residual: [expand 1x1] -> depthwise 3x3 -> project 1x1,
// plus the input when `residual`.
struct InvertedResidualSpec {
  std::string name;  // e.g. "conv4.13", "decode2.ir1"
  int in_channels;
  int out_channels;
  int hidden_channels;
  int stride;
  bool has_expand;  // t != 1
  bool residual;    // stride 1 and in == out
  std::vector<int> convs;  // indices into Architecture::convs: [expand,] depthwise, project
};

// A run of layers that produces one of the named stage outputs.
struct StageSpec {
  std::string name;  // conv1..conv4, decode4..decode1
  std::vector<int> blocks;  // indices into Architecture::blocks
  int out_channels;
  int downscale;  // output resolution = input / downscale
  // Decoder stages: the tensor concatenated after the upsampled previous
  // stage (the skip connection): an encoder stage's output ("conv1".."conv3")
  // or kNetworkInputName. "" for encoder stages.
  std::string skip_from;
};

// StageSpec::skip_from of the stage whose skip is the network input.
constexpr const char* kNetworkInputName = "input";

struct Architecture {
  int in_channels;
  int out_channels;
  Activation hidden_activation;  // kRelu6 or kRelu
  Activation output_activation;  // kSigmoid or kLinear
  std::vector<ConvSpec> convs;   // in execution order
  std::vector<InvertedResidualSpec> blocks;
  int stem_conv;   // conv1.0: 3x3 stride-2 ConvBN(Cin, 32)
  int final_conv;  // decode1.conv.0: 1x1 with bias, then output_activation
  // conv1, conv2, conv3, conv4 (encoder), decode4, decode3, decode2, decode1.
  // conv1 also contains the stem; decode stages start with
  // Up(previous) ++ skip (skip of decode1 is the network input); decode1
  // ends with the final conv.
  std::vector<StageSpec> stages;
};

// Builds the layer list. in_channels >= 1, out_channels >= 1.
Architecture make_architecture(int in_channels, int out_channels, Activation hidden_activation,
                               Activation output_activation);

// Python's round() (banker's rounding on exact halves) of in * t, as
// PyTorch's M2U-Net computes hidden widths.
int hidden_width(int in_channels, double expand_ratio);

// Heights and widths must be multiples of this (four stride-2 stages).
constexpr int kSpatialMultiple = 16;

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_ARCHITECTURE_H
