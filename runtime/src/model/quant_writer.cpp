// quant_writer.cpp - activation scales into a .m2u file image (see
// quant_writer.h). The result is checked by parsing it again.
#include "quant_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "file_bytes.h"
#include "model.h"
#include "weights_loader.h"

namespace m2u {

bool write_activation_scales(const std::vector<uint8_t>& file, const std::vector<ActivationScale>& scales,
                             std::vector<uint8_t>* out, std::string* error) {
  Model model;
  std::string problem;
  if (!parse_weights(file.data(), file.size(), &model, &problem)) {
    *error = "the model to calibrate does not load: " + problem;
    return false;
  }
  for (const Tensor& tensor : model.tensors) {
    if (tensor.quant_index >= 0) {
      *error = "tensor '" + tensor.name + "' already carries INT8 weights; calibrate the float model instead";
      return false;
    }
  }
  for (const ActivationScale& scale : scales) {
    const bool printable = std::all_of(scale.first.begin(), scale.first.end(),
                                       [](char c) { return c >= 0x21 && c <= 0x7E; });
    if (scale.first.empty() || scale.first.size() > 63 || !printable) {
      *error = "activation name '" + scale.first + "' is not 1..63 printable ASCII characters";
      return false;
    }
    if (!std::isfinite(scale.second) || !(scale.second > 0.0f)) {
      *error = "activation '" + scale.first + "': scale " + std::to_string(scale.second) + " is not finite and > 0";
      return false;
    }
  }
  const uint64_t data_offset = get_u64(file, 168), data_bytes = get_u64(file, 176);
  const uint64_t data_end = data_offset + data_bytes;
  const uint64_t provenance_end = get_u64(file, 128) + get_u32(file, 136);
  const uint64_t table_end = get_u64(file, 144) + uint64_t(get_u32(file, 140)) * kTensorEntryBytes;
  if (provenance_end > data_end || table_end > data_end) {
    *error = "the provenance or the tensor table lies after the data section; only layouts like "
             "m2u_convert.py's can be calibrated";
    return false;
  }
  std::vector<uint8_t> result(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(data_end));
  std::vector<uint64_t> scale_offsets;
  for (const ActivationScale& scale : scales) {
    const size_t at = align_up(result.size(), kWeightsDataAlignment);
    result.resize(at + kWeightsDataAlignment, 0);
    std::memcpy(result.data() + at, &scale.second, sizeof(float));
    scale_offsets.push_back(at);
  }
  const uint64_t new_data_end = result.size();
  const size_t quant_table = align_up(result.size(), 8);
  result.resize(quant_table + scales.size() * kQuantEntryBytes, 0);
  for (size_t i = 0; i < scales.size(); ++i) {
    const size_t entry = quant_table + i * kQuantEntryBytes;
    std::memcpy(result.data() + entry, scales[i].first.data(), scales[i].first.size());
    put_u32(result, entry + 64, static_cast<uint32_t>(QuantKind::kActivationPerTensor));
    put_u32(result, entry + 68, 1);
    put_u64(result, entry + 72, scale_offsets[i]);
    put_u64(result, entry + 80, sizeof(float));
  }
  result.resize(result.size() + 4, 0);
  put_u64(result, 16, result.size());
  put_u32(result, 152, static_cast<uint32_t>(scales.size()));
  put_u64(result, 160, quant_table);
  put_u64(result, 176, new_data_end - data_offset);
  put_u32(result, result.size() - 4, crc32(result.data(), result.size() - 4));
  Model check;
  if (!parse_weights(result.data(), result.size(), &check, &problem)) {
    *error = "the calibrated file does not load (a bug in the writer): " + problem;
    return false;
  }
  *out = std::move(result);
  return true;
}

}  // namespace m2u
