// architecture.cpp - builds M2U-Net's layer list (see architecture.h).
#include "architecture.h"

#include <cmath>

namespace m2u {

int hidden_width(int in_channels, double expand_ratio) {
  const double exact = in_channels * expand_ratio;
  // Python's round(): half to even. The products are not exact in binary,
  // so decide halves with a tolerance.
  const double floor_value = std::floor(exact);
  const double fraction = exact - floor_value;
  if (std::fabs(fraction - 0.5) < 1e-9) {
    const long f = static_cast<long>(floor_value);
    return static_cast<int>(f % 2 == 0 ? f : f + 1);
  }
  return static_cast<int>(std::lround(exact));
}

namespace {

class Builder {
 public:
  explicit Builder(Architecture& arch) : arch_(arch) {}

  int conv(const std::string& name, const std::string& bn_name, int in, int out, int kernel,
           int stride, int groups, Activation activation) {
    arch_.convs.push_back(ConvSpec{name, bn_name, in, out, kernel, stride, groups, activation});
    return static_cast<int>(arch_.convs.size()) - 1;
  }

  // InvertedResidual(inp, oup, stride, t) with the state_dict prefix `name`.
  int inverted_residual(const std::string& name, int in, int out, int stride, double t) {
    InvertedResidualSpec block;
    block.name = name;
    block.in_channels = in;
    block.out_channels = out;
    block.hidden_channels = hidden_width(in, t);
    block.stride = stride;
    block.has_expand = t != 1.0;
    block.residual = stride == 1 && in == out;
    const int hidden = block.hidden_channels;
    const Activation act = arch_.hidden_activation;
    const std::string p = name + ".conv.";
    if (block.has_expand) {
      block.convs.push_back(conv(p + "0", p + "1", in, hidden, 1, 1, 1, act));
      block.convs.push_back(conv(p + "3", p + "4", hidden, hidden, 3, stride, hidden, act));
      block.convs.push_back(conv(p + "6", p + "7", hidden, out, 1, 1, 1, Activation::kLinear));
    } else {
      block.convs.push_back(conv(p + "0", p + "1", hidden, hidden, 3, stride, hidden, act));
      block.convs.push_back(conv(p + "3", p + "4", hidden, out, 1, 1, 1, Activation::kLinear));
    }
    arch_.blocks.push_back(block);
    return static_cast<int>(arch_.blocks.size()) - 1;
  }

 private:
  Architecture& arch_;
};

}  // namespace

Architecture make_architecture(int in_channels, int out_channels, Activation hidden_activation,
                               Activation output_activation) {
  Architecture arch;
  arch.in_channels = in_channels;
  arch.out_channels = out_channels;
  arch.hidden_activation = hidden_activation;
  arch.output_activation = output_activation;
  Builder b(arch);

  arch.stem_conv = b.conv("conv1.0.0", "conv1.0.1", in_channels, 32, 3, 2, 1, hidden_activation);
  arch.stages.push_back({"conv1", {b.inverted_residual("conv1.1", 32, 16, 1, 1)}, 16, 2, ""});
  arch.stages.push_back({"conv2",
                         {b.inverted_residual("conv2.2", 16, 24, 2, 6),
                          b.inverted_residual("conv2.3", 24, 24, 1, 6)},
                         24, 4, ""});
  arch.stages.push_back({"conv3",
                         {b.inverted_residual("conv3.4", 24, 32, 2, 6),
                          b.inverted_residual("conv3.5", 32, 32, 1, 6),
                          b.inverted_residual("conv3.6", 32, 32, 1, 6)},
                         32, 8, ""});
  StageSpec conv4{"conv4", {b.inverted_residual("conv4.7", 32, 64, 2, 6)}, 96, 16, ""};
  for (int i = 8; i <= 10; ++i) {
    conv4.blocks.push_back(b.inverted_residual("conv4." + std::to_string(i), 64, 64, 1, 6));
  }
  conv4.blocks.push_back(b.inverted_residual("conv4.11", 64, 96, 1, 6));
  conv4.blocks.push_back(b.inverted_residual("conv4.12", 96, 96, 1, 6));
  conv4.blocks.push_back(b.inverted_residual("conv4.13", 96, 96, 1, 6));
  arch.stages.push_back(conv4);

  const double decoder_t = 0.15;
  arch.stages.push_back({"decode4", {b.inverted_residual("decode4.ir1", 96 + 32, 64, 1, decoder_t)}, 64, 8, "conv3"});
  arch.stages.push_back({"decode3", {b.inverted_residual("decode3.ir1", 64 + 24, 44, 1, decoder_t)}, 44, 4, "conv2"});
  arch.stages.push_back({"decode2", {b.inverted_residual("decode2.ir1", 44 + 16, 30, 1, decoder_t)}, 30, 2, "conv1"});
  arch.stages.push_back(
      {"decode1", {b.inverted_residual("decode1.ir1", 30 + in_channels, 16, 1, decoder_t)}, out_channels, 1,
       kNetworkInputName});
  arch.final_conv = b.conv("decode1.conv.0", "", 16, out_channels, 1, 1, 1, output_activation);
  return arch;
}

}  // namespace m2u
