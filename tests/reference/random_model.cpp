// random_model.cpp - the generators of random_model.h.
#include "random_model.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace m2u::ref {

HostTensor random_tensor(int n, int c, int h, int w, uint64_t seed, double low, double high) {
  SplitMix64 random(seed);
  HostTensor tensor(n, c, h, w);
  for (float& value : tensor.data) value = static_cast<float>(random.uniform(low, high));
  return tensor;
}

namespace {

std::vector<float> random_values(SplitMix64& random, size_t count, double low, double high) {
  std::vector<float> values(count);
  for (float& value : values) value = static_cast<float>(random.uniform(low, high));
  return values;
}

void add_tensor(Model& model, const std::string& name, std::vector<int> dims,
                std::vector<float> values) {
  Tensor tensor;
  tensor.name = name;
  tensor.dims = std::move(dims);
  tensor.values = std::move(values);
  model.tensors.push_back(std::move(tensor));
}

}  // namespace

Model make_random_model(const Architecture& architecture, uint64_t seed, bool bn_folded) {
  Model model;
  model.format_version = 1;
  model.bn_folded = bn_folded;
  model.bn_epsilon = 1e-5f;
  model.architecture = architecture;
  SplitMix64 random(seed);
  for (const ConvSpec& conv : architecture.convs) {
    const int out = conv.out_channels;
    const int fan_in = conv.in_channels / conv.groups * conv.kernel * conv.kernel;
    const double bound = std::sqrt(6.0 / fan_in);
    std::vector<int> weight_dims = conv.weight_dims();
    std::vector<float> weight =
        random_values(random, static_cast<size_t>(out) * fan_in, -bound, bound);
    if (conv.bn_name.empty()) {  // the final conv: its own bias
      add_tensor(model, conv.name + ".weight", weight_dims, std::move(weight));
      add_tensor(model, conv.name + ".bias", {out}, random_values(random, out, -0.5, 0.5));
      continue;
    }
    std::vector<float> gamma = random_values(random, out, 0.5, 1.5);
    std::vector<float> beta = random_values(random, out, -0.2, 0.2);
    std::vector<float> mean = random_values(random, out, -0.2, 0.2);
    std::vector<float> var = random_values(random, out, 0.5, 1.5);
    if (!bn_folded) {
      add_tensor(model, conv.name + ".weight", weight_dims, std::move(weight));
      add_tensor(model, conv.bn_name + ".weight", {out}, std::move(gamma));
      add_tensor(model, conv.bn_name + ".bias", {out}, std::move(beta));
      add_tensor(model, conv.bn_name + ".running_mean", {out}, std::move(mean));
      add_tensor(model, conv.bn_name + ".running_var", {out}, std::move(var));
      continue;
    }
    // Folding: w' = w * s, b' = beta - mean * s with s = gamma / sqrt(var + eps).
    std::vector<float> bias(out);
    for (int o = 0; o < out; ++o) {
      const double scale = gamma[o] / std::sqrt(static_cast<double>(var[o]) + model.bn_epsilon);
      for (int i = 0; i < fan_in; ++i) {
        float& w = weight[static_cast<size_t>(o) * fan_in + i];
        w = static_cast<float>(w * scale);
      }
      bias[o] = static_cast<float>(beta[o] - mean[o] * scale);
    }
    add_tensor(model, conv.name + ".weight", weight_dims, std::move(weight));
    add_tensor(model, conv.name + ".bias", {out}, std::move(bias));
  }
  model.index_tensors();
  return model;
}

}  // namespace m2u::ref
