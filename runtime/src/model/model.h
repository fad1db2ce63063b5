// model.h - an M2U-Net loaded from a .m2u file: header fields, provenance
// and tensors, validated against the architecture (see weights_loader.h).
#ifndef M2U_RUNTIME_MODEL_MODEL_H
#define M2U_RUNTIME_MODEL_MODEL_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "architecture.h"

namespace m2u {

enum class DType : uint32_t { kF32 = 0, kF16 = 1, kI8 = 2 };

enum class NormalizationKind : uint32_t { kAffine = 0, kPerImageStandardize = 1 };
enum class GreyFill : uint32_t { kReplicate = 0, kFirstChannel = 1 };

constexpr int kMaxInputChannels = 8;
constexpr int kMaxOutputChannels = 64;

// How raw pixels become the network's input (weights/FORMAT.md).
struct InputConvention {
  NormalizationKind normalization = NormalizationKind::kAffine;
  GreyFill grey_fill = GreyFill::kReplicate;
  float pixel_scale = 1.0f;  // intensity in [0, 1] times this
  float std_floor = 0.0f;
  float channel_mean[kMaxInputChannels] = {};
  float channel_std[kMaxInputChannels] = {};
};

struct Tensor {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int> dims;
  std::vector<float> values;        // F32 and F16 tensors, widened to float
  std::vector<int8_t> int8_values;  // I8 tensors
  int quant_index = -1;             // into Model::quantisation, -1 none

  size_t element_count() const {
    size_t n = 1;
    for (int d : dims) n *= static_cast<size_t>(d);
    return n;
  }
};

enum class QuantKind : uint32_t { kWeightPerOutputChannel = 1, kActivationPerTensor = 2 };

struct QuantEntry {
  std::string name;
  QuantKind kind;
  std::vector<float> scales;
};

struct Model {
  uint32_t format_version = 0;
  bool bn_folded = false;
  float bn_epsilon = 1e-5f;
  Architecture architecture;
  InputConvention input;
  std::string provenance;
  std::vector<Tensor> tensors;  // in file order
  std::vector<QuantEntry> quantisation;
  // The file's bytes as loaded (INT8 calibration writes a copy with its
  // activation scales: quant_writer.h).
  std::vector<uint8_t> source;

  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors[it->second];
  }
  void index_tensors() {
    index_.clear();
    for (size_t i = 0; i < tensors.size(); ++i) index_[tensors[i].name] = i;
  }

 private:
  std::map<std::string, size_t> index_;
};

// One convolution's parameters, gathered by name from a model. With raw BN
// (has_batch_norm): bias is empty and the bn_* vectors are filled; folded
// models and the final conv have `bias` and no bn_*.
struct ConvParameters {
  const ConvSpec* spec = nullptr;
  std::vector<float> weight;  // [out, in/groups, k, k]
  std::vector<float> bias;
  bool has_batch_norm = false;
  std::vector<float> bn_gamma, bn_beta, bn_mean, bn_var;
};

// Parameters of every conv of model.architecture, in architecture order.
// The model must have passed the loader's validation.
std::vector<ConvParameters> gather_conv_parameters(const Model& model);

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_MODEL_H
