// trained_writer.cpp - lays out a fine-tuned model's file (see
// trained_writer.h).
#include "trained_writer.h"

#include <cmath>
#include <cstring>

#include "file_bytes.h"
#include "model.h"
#include "weights_loader.h"

namespace m2u {
namespace {

constexpr size_t kMaxProvenanceBytes = 65536;  // weights/FORMAT.md

}  // namespace

bool write_trained_model(const std::vector<uint8_t>& file, const std::map<std::string, std::vector<float>>& trained,
                         const std::string& provenance_lines, std::vector<uint8_t>* out, std::string* error) {
  Model model;
  std::string problem;
  if (!parse_weights(file.data(), file.size(), &model, &problem)) {
    *error = "the model trained from does not load: " + problem;
    return false;
  }
  for (const Tensor& tensor : model.tensors) {
    if (tensor.dtype == DType::kI8) {
      *error = "tensor '" + tensor.name + "' is INT8 (I8): fine-tune the float model instead";
      return false;
    }
  }
  for (const auto& t : trained) {
    const Tensor* tensor = model.find(t.first);
    if (!tensor) {
      *error = "trained tensor '" + t.first + "' is not in the model";
      return false;
    }
    if (tensor->element_count() != t.second.size()) {
      *error = "trained tensor '" + t.first + "' has " + std::to_string(t.second.size()) + " values, the model's " +
               std::to_string(tensor->element_count());
      return false;
    }
    for (size_t i = 0; i < t.second.size(); ++i) {
      if (!std::isfinite(t.second[i])) {
        *error = "trained tensor '" + t.first + "' value " + std::to_string(i) + " is not finite";
        return false;
      }
    }
  }
  std::string provenance(reinterpret_cast<const char*>(file.data() + get_u64(file, 128)), get_u32(file, 136));
  if (!provenance.empty() && provenance.back() != '\n') provenance += '\n';
  provenance += provenance_lines;
  if (provenance.size() > kMaxProvenanceBytes || provenance.find('\0') != std::string::npos) {
    *error = "the provenance would be " + std::to_string(provenance.size()) +
             " bytes (at most 65536, no NUL bytes)";
    return false;
  }

  const uint32_t tensor_count = get_u32(file, 140);
  const uint64_t old_table = get_u64(file, 144);
  const size_t provenance_offset = kWeightsHeaderBytes;
  const size_t table_offset = align_up(provenance_offset + provenance.size(), 8);
  const size_t quant_offset = align_up(table_offset + tensor_count * kTensorEntryBytes, 8);
  const size_t data_offset = align_up(quant_offset, 64);
  std::vector<uint8_t> bytes(data_offset, 0);
  std::memcpy(bytes.data(), file.data(), kWeightsHeaderBytes);
  std::memcpy(bytes.data() + provenance_offset, provenance.data(), provenance.size());
  size_t end = data_offset;
  for (uint32_t i = 0; i < tensor_count; ++i) {
    const size_t old_entry = old_table + i * kTensorEntryBytes, entry = table_offset + i * kTensorEntryBytes;
    std::memcpy(bytes.data() + entry, file.data() + old_entry, kTensorEntryBytes);
    const std::string name(reinterpret_cast<const char*>(file.data() + old_entry),
                           strnlen(reinterpret_cast<const char*>(file.data() + old_entry), 64));
    const auto replacement = trained.find(name);
    const size_t at = align_up(end, 64);
    size_t size;
    bytes.resize(at, 0);
    if (replacement != trained.end()) {
      size = replacement->second.size() * sizeof(float);
      bytes.resize(at + size);
      std::memcpy(bytes.data() + at, replacement->second.data(), size);
      put_u32(bytes, entry + 64, 0);  // F32
    } else {
      size = get_u64(file, old_entry + 96);
      const uint64_t from = get_u64(file, old_entry + 88);
      bytes.insert(bytes.end(), file.begin() + from, file.begin() + from + size);
    }
    put_u64(bytes, entry + 88, at);
    put_u64(bytes, entry + 96, size);
    put_u32(bytes, entry + 104, 0xFFFFFFFFu);
    end = at + size;
  }
  put_u64(bytes, 128, provenance_offset);
  put_u32(bytes, 136, static_cast<uint32_t>(provenance.size()));
  put_u64(bytes, 144, table_offset);
  put_u32(bytes, 152, 0);
  put_u64(bytes, 160, quant_offset);
  put_u64(bytes, 168, data_offset);
  put_u64(bytes, 176, end - data_offset);
  put_u64(bytes, 16, end + 4);
  const uint32_t crc = crc32(bytes.data(), bytes.size());
  bytes.resize(end + 4);
  put_u32(bytes, end, crc);

  Model check;
  if (!parse_weights(bytes.data(), bytes.size(), &check, &problem)) {
    *error = "the trained file does not load again (a bug in trained_writer): " + problem;
    return false;
  }
  *out = std::move(bytes);
  return true;
}

}  // namespace m2u
