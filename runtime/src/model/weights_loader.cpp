// weights_loader.cpp - parses and validates .m2u files (see weights_loader.h
// and weights/FORMAT.md). Every check reads through bounds-checked helpers;
// any failure returns a message naming what is wrong.
#include "weights_loader.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include <sys/stat.h>

#include "expected_tensors.h"

namespace m2u {
namespace {

constexpr char kMagic[8] = {'M', '2', 'U', 'W', 'E', 'I', 'G', 'H'};
constexpr size_t kChecksumBytes = 4;
constexpr size_t kNameBytes = 64;
constexpr uint32_t kMaxTensors = 1024;
constexpr uint32_t kMaxQuantEntries = 1024;
constexpr uint32_t kMaxProvenanceBytes = 65536;
constexpr uint32_t kNoQuant = 0xFFFFFFFFu;
constexpr uint64_t kMaxTensorElements = uint64_t(1) << 31;
constexpr uint64_t kMaxFileBytes = uint64_t(1) << 32;

uint32_t read_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t read_u64(const uint8_t* p) { return uint64_t(read_u32(p)) | uint64_t(read_u32(p + 4)) << 32; }
float read_f32(const uint8_t* p) {
  const uint32_t bits = read_u32(p);
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// IEEE binary16 -> binary32, exact (the loader keeps no CUDA dependency).
float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  uint32_t bits;
  if (exponent == 0x1F) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int shift = 0;
      while (!(mantissa & 0x400u)) {
        mantissa <<= 1;
        ++shift;
      }
      mantissa &= 0x3FFu;
      bits = sign | uint32_t(127 - 15 - shift + 1) << 23 | (mantissa << 13);
    }
  } else {
    bits = sign | (exponent + 127 - 15) << 23 | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// [offset, offset + length) inside [0, limit), without overflow.
bool range_inside(uint64_t offset, uint64_t length, uint64_t limit) {
  return offset <= limit && length <= limit - offset;
}

std::string hex(uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string dims_text(const std::vector<int>& dims) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < dims.size(); ++i) out << (i ? ", " : "") << dims[i];
  out << "]";
  return out.str();
}

bool all_zero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

// A NUL-terminated printable-ASCII name in a 64-byte field, NUL-padded.
bool read_name(const uint8_t* field, std::string* name, std::string* problem) {
  const uint8_t* end = static_cast<const uint8_t*>(std::memchr(field, 0, kNameBytes));
  if (!end) {
    *problem = "is not NUL-terminated within 64 bytes";
    return false;
  }
  const size_t length = static_cast<size_t>(end - field);
  if (length == 0) {
    *problem = "is empty";
    return false;
  }
  for (size_t i = 0; i < length; ++i) {
    if (field[i] < 0x21 || field[i] > 0x7E) {
      *problem = "has a non-printable byte " + hex(field[i]) + " at " + std::to_string(i);
      return false;
    }
  }
  if (!all_zero(end, kNameBytes - length)) {
    *problem = "has nonzero bytes after its terminating NUL";
    return false;
  }
  name->assign(reinterpret_cast<const char*>(field), length);
  return true;
}

struct Section {
  std::string what;
  uint64_t offset;
  uint64_t length;
};

// Fails when two non-empty sections overlap; names both.
bool check_no_overlap(std::vector<Section> sections, std::string* error) {
  sections.erase(std::remove_if(sections.begin(), sections.end(),
                                [](const Section& s) { return s.length == 0; }),
                 sections.end());
  std::sort(sections.begin(), sections.end(),
            [](const Section& a, const Section& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < sections.size(); ++i) {
    const Section& a = sections[i - 1];
    const Section& b = sections[i];
    if (b.offset < a.offset + a.length) {
      *error = a.what + " [" + std::to_string(a.offset) + ", " + std::to_string(a.offset + a.length) +
               ") overlaps " + b.what + " [" + std::to_string(b.offset) + ", " +
               std::to_string(b.offset + b.length) + ")";
      return false;
    }
  }
  return true;
}

class Parser {
 public:
  Parser(const uint8_t* data, size_t size, Model* model, std::string* error)
      : data_(data), size_(size), model_(model), error_(error) {}

  bool parse() {
    return parse_header() && check_checksum() && parse_architecture() && parse_convention() &&
           parse_sections() && parse_tensor_table() && parse_quant_table() && check_data_ranges() &&
           check_tensor_set() && decode_tensors() && decode_scales();
  }

 private:
  bool fail(const std::string& message) {
    *error_ = message;
    return false;
  }

  uint32_t u32(size_t offset) const { return read_u32(data_ + offset); }
  uint64_t u64(size_t offset) const { return read_u64(data_ + offset); }
  float f32(size_t offset) const { return read_f32(data_ + offset); }

  bool parse_header() {
    if (size_ < kWeightsHeaderBytes + kChecksumBytes) {
      return fail("file is " + std::to_string(size_) + " bytes, too short for the " +
                  std::to_string(kWeightsHeaderBytes) + "-byte header and the 4-byte checksum");
    }
    if (std::memcmp(data_, kMagic, sizeof(kMagic)) != 0) {
      return fail("not an .m2u weights file (the first 8 bytes are not \"M2UWEIGH\"); convert "
                  "PyTorch or ONNX models with converter/m2u_convert.py");
    }
    model_->format_version = u32(8);
    if (model_->format_version != kWeightsFormatVersion) {
      return fail("format version " + std::to_string(model_->format_version) +
                  " is not supported (this loader reads version " +
                  std::to_string(kWeightsFormatVersion) +
                  "); reconvert the model with this release's converter/m2u_convert.py");
    }
    if (u32(12) != kWeightsHeaderBytes) {
      return fail("header_bytes is " + std::to_string(u32(12)) + ", expected " +
                  std::to_string(kWeightsHeaderBytes));
    }
    if (u64(16) != size_) {
      return fail("header says the file is " + std::to_string(u64(16)) + " bytes but it is " +
                  std::to_string(size_) + " (truncated or extended copy?)");
    }
    if (size_ > kMaxFileBytes) return fail("file is larger than 4 GiB");
    return true;
  }

  bool check_checksum() {
    const uint32_t stored = u32(size_ - kChecksumBytes);
    const uint32_t computed = crc32(data_, size_ - kChecksumBytes);
    if (stored != computed) {
      return fail("checksum mismatch: the file stores CRC-32 " + hex(stored) + " but its bytes give " +
                  hex(computed) + " (the file is corrupted)");
    }
    return true;
  }

  bool parse_architecture() {
    const uint32_t flags = u32(24);
    if (flags & ~kFlagBnFolded) return fail("unknown flag bits " + hex(flags & ~kFlagBnFolded));
    model_->bn_folded = (flags & kFlagBnFolded) != 0;
    const uint32_t in_channels = u32(28), out_channels = u32(32);
    if (in_channels < 1 || in_channels > kMaxInputChannels) {
      return fail("in_channels is " + std::to_string(in_channels) + ", expected 1.." +
                  std::to_string(kMaxInputChannels));
    }
    if (out_channels < 1 || out_channels > kMaxOutputChannels) {
      return fail("out_channels is " + std::to_string(out_channels) + ", expected 1.." +
                  std::to_string(kMaxOutputChannels));
    }
    const uint32_t hidden = u32(36), output = u32(40);
    if (hidden > 1) return fail("hidden_activation is " + std::to_string(hidden) + ", expected 0 (ReLU6) or 1 (ReLU)");
    if (output > 1) return fail("output_activation is " + std::to_string(output) + ", expected 0 (sigmoid) or 1 (linear)");
    const float eps = f32(44);
    if (!std::isfinite(eps) || eps <= 0.0f || eps >= 1.0f) {
      return fail("bn_epsilon is " + std::to_string(eps) + ", expected a finite value in (0, 1)");
    }
    model_->bn_epsilon = eps;
    model_->architecture = make_architecture(
        static_cast<int>(in_channels), static_cast<int>(out_channels),
        hidden == 0 ? Activation::kRelu6 : Activation::kRelu,
        output == 0 ? Activation::kSigmoid : Activation::kLinear);
    return true;
  }

  bool parse_convention() {
    InputConvention& in = model_->input;
    const uint32_t normalization = u32(48), grey_fill = u32(52);
    if (normalization > 1) {
      return fail("input_normalization is " + std::to_string(normalization) +
                  ", expected 0 (affine) or 1 (per-image standardisation)");
    }
    if (grey_fill > 1) {
      return fail("grey_fill is " + std::to_string(grey_fill) + ", expected 0 (replicate) or 1 (first channel)");
    }
    in.normalization = static_cast<NormalizationKind>(normalization);
    in.grey_fill = static_cast<GreyFill>(grey_fill);
    in.pixel_scale = f32(56);
    in.std_floor = f32(60);
    if (!std::isfinite(in.pixel_scale) || in.pixel_scale <= 0.0f) {
      return fail("pixel_scale is " + std::to_string(in.pixel_scale) + ", expected finite and > 0");
    }
    if (!std::isfinite(in.std_floor) || in.std_floor < 0.0f) {
      return fail("std_floor is " + std::to_string(in.std_floor) + ", expected finite and >= 0");
    }
    if (in.normalization == NormalizationKind::kPerImageStandardize && !(in.std_floor > 0.0f)) {
      return fail("std_floor is 0 with per-image standardisation: it must be > 0, or a flat frame "
                  "divides by zero; reconvert with converter/m2u_convert.py");
    }
    const int channels = model_->architecture.in_channels;
    for (int c = 0; c < kMaxInputChannels; ++c) {
      in.channel_mean[c] = f32(64 + 4 * c);
      in.channel_std[c] = f32(96 + 4 * c);
      const std::string which = "[" + std::to_string(c) + "]";
      if (c < channels) {
        if (!std::isfinite(in.channel_mean[c])) return fail("channel_mean" + which + " is not finite");
        if (!std::isfinite(in.channel_std[c]) || in.channel_std[c] <= 0.0f) {
          return fail("channel_std" + which + " is " + std::to_string(in.channel_std[c]) +
                      ", expected finite and > 0");
        }
      } else if (in.channel_mean[c] != 0.0f || in.channel_std[c] != 0.0f) {
        return fail("channel_mean/channel_std" + which + " must be 0: the model has " +
                    std::to_string(channels) + " input channel(s)");
      }
    }
    return true;
  }

  bool parse_sections() {
    provenance_offset_ = u64(128);
    provenance_bytes_ = u32(136);
    tensor_count_ = u32(140);
    tensor_table_offset_ = u64(144);
    quant_count_ = u32(152);
    quant_table_offset_ = u64(160);
    data_offset_ = u64(168);
    data_bytes_ = u64(176);
    if (u32(156) != 0 || !all_zero(data_ + 184, kWeightsHeaderBytes - 184)) {
      return fail("reserved header bytes are not zero");
    }
    const uint64_t body_end = size_ - kChecksumBytes;
    if (provenance_bytes_ > kMaxProvenanceBytes) {
      return fail("provenance is " + std::to_string(provenance_bytes_) + " bytes, at most " +
                  std::to_string(kMaxProvenanceBytes) + " allowed");
    }
    if (!range_inside(provenance_offset_, provenance_bytes_, body_end)) {
      return fail("provenance [offset " + std::to_string(provenance_offset_) + ", " +
                  std::to_string(provenance_bytes_) + " bytes] lies outside the file");
    }
    if (tensor_count_ < 1 || tensor_count_ > kMaxTensors) {
      return fail("tensor_count is " + std::to_string(tensor_count_) + ", expected 1.." +
                  std::to_string(kMaxTensors));
    }
    if (tensor_table_offset_ % 8 != 0) return fail("tensor_table_offset " + std::to_string(tensor_table_offset_) + " is not a multiple of 8");
    if (!range_inside(tensor_table_offset_, uint64_t(tensor_count_) * kTensorEntryBytes, body_end)) {
      return fail("tensor table [offset " + std::to_string(tensor_table_offset_) + ", " +
                  std::to_string(tensor_count_) + " entries] lies outside the file");
    }
    if (quant_count_ > kMaxQuantEntries) {
      return fail("quant_count is " + std::to_string(quant_count_) + ", at most " +
                  std::to_string(kMaxQuantEntries));
    }
    if (quant_table_offset_ % 8 != 0) return fail("quant_table_offset " + std::to_string(quant_table_offset_) + " is not a multiple of 8");
    if (!range_inside(quant_table_offset_, uint64_t(quant_count_) * kQuantEntryBytes, body_end)) {
      return fail("quantisation table [offset " + std::to_string(quant_table_offset_) + ", " +
                  std::to_string(quant_count_) + " entries] lies outside the file");
    }
    if (data_offset_ % kWeightsDataAlignment != 0) {
      return fail("data_offset " + std::to_string(data_offset_) + " is not a multiple of 64");
    }
    if (!range_inside(data_offset_, data_bytes_, body_end)) {
      return fail("data section [offset " + std::to_string(data_offset_) + ", " +
                  std::to_string(data_bytes_) + " bytes] lies outside the file (" +
                  std::to_string(body_end) + " bytes before the checksum)");
    }
    const uint8_t* provenance = data_ + provenance_offset_;
    if (std::memchr(provenance, 0, provenance_bytes_)) return fail("provenance text contains a NUL byte");
    model_->provenance.assign(reinterpret_cast<const char*>(provenance), provenance_bytes_);
    return check_no_overlap(
        {{"the header", 0, kWeightsHeaderBytes},
         {"the provenance", provenance_offset_, provenance_bytes_},
         {"the tensor table", tensor_table_offset_, uint64_t(tensor_count_) * kTensorEntryBytes},
         {"the quantisation table", quant_table_offset_, uint64_t(quant_count_) * kQuantEntryBytes},
         {"the data section", data_offset_, data_bytes_}},
        error_);
  }

  // Offset and length of a data range inside the data section.
  bool check_data_range(const std::string& what, uint64_t offset, uint64_t bytes) {
    if (offset % kWeightsDataAlignment != 0) {
      return fail(what + ": data offset " + std::to_string(offset) + " is not a multiple of 64");
    }
    if (offset < data_offset_ || !range_inside(offset - data_offset_, bytes, data_bytes_)) {
      return fail(what + ": data [offset " + std::to_string(offset) + ", " + std::to_string(bytes) +
                  " bytes] lies outside the data section [" + std::to_string(data_offset_) + ", " +
                  std::to_string(data_offset_ + data_bytes_) + ")");
    }
    return true;
  }

  bool parse_tensor_table() {
    std::set<std::string> names;
    model_->tensors.clear();
    model_->tensors.reserve(tensor_count_);
    offsets_.clear();
    for (uint32_t i = 0; i < tensor_count_; ++i) {
      const size_t entry = tensor_table_offset_ + size_t(i) * kTensorEntryBytes;
      const std::string which = "tensor entry " + std::to_string(i);
      Tensor tensor;
      std::string problem;
      if (!read_name(data_ + entry, &tensor.name, &problem)) return fail(which + ": name " + problem);
      const std::string named = "tensor '" + tensor.name + "'";
      if (!names.insert(tensor.name).second) return fail(named + " appears twice in the tensor table");
      const uint32_t dtype = u32(entry + 64), rank = u32(entry + 68);
      if (dtype > 2) return fail(named + ": dtype " + std::to_string(dtype) + " is unknown (0 F32, 1 F16, 2 I8)");
      tensor.dtype = static_cast<DType>(dtype);
      if (rank < 1 || rank > 4) return fail(named + ": rank " + std::to_string(rank) + ", expected 1..4");
      uint64_t elements = 1;
      for (uint32_t d = 0; d < 4; ++d) {
        const uint32_t dim = u32(entry + 72 + 4 * d);
        if (d < rank) {
          if (dim < 1 || dim > (1u << 24)) {
            return fail(named + ": dimension " + std::to_string(d) + " is " + std::to_string(dim) +
                        ", expected 1..16777216");
          }
          elements *= dim;
          if (elements > kMaxTensorElements) return fail(named + ": more than 2^31 elements");
          tensor.dims.push_back(static_cast<int>(dim));
        } else if (dim != 0) {
          return fail(named + ": dimension " + std::to_string(d) + " beyond rank " +
                      std::to_string(rank) + " must be 0, is " + std::to_string(dim));
        }
      }
      const uint64_t offset = u64(entry + 88), bytes = u64(entry + 96);
      const uint64_t element_bytes = dtype == 0 ? 4 : dtype == 1 ? 2 : 1;
      if (bytes != elements * element_bytes) {
        return fail(named + ": " + std::to_string(bytes) + " bytes for " + std::to_string(elements) +
                    " elements of " + std::to_string(element_bytes) + " bytes");
      }
      if (!check_data_range(named, offset, bytes)) return false;
      const uint32_t quant_index = u32(entry + 104);
      if (quant_index != kNoQuant && quant_index >= quant_count_) {
        return fail(named + ": quant_index " + std::to_string(quant_index) + " but the file has " +
                    std::to_string(quant_count_) + " quantisation entries");
      }
      if (tensor.dtype == DType::kI8 && quant_index == kNoQuant) {
        return fail(named + ": an I8 tensor needs a quantisation entry");
      }
      tensor.quant_index = quant_index == kNoQuant ? -1 : static_cast<int>(quant_index);
      if (!all_zero(data_ + entry + 108, kTensorEntryBytes - 108)) {
        return fail(named + ": reserved bytes of its table entry are not zero");
      }
      offsets_.push_back(offset);
      ranges_.push_back({named + "'s data", offset, bytes});
      model_->tensors.push_back(std::move(tensor));
    }
    model_->index_tensors();
    return true;
  }

  bool parse_quant_table() {
    model_->quantisation.clear();
    scale_offsets_.clear();
    for (uint32_t i = 0; i < quant_count_; ++i) {
      const size_t entry = quant_table_offset_ + size_t(i) * kQuantEntryBytes;
      QuantEntry quant;
      std::string problem;
      const std::string which = "quantisation entry " + std::to_string(i);
      if (!read_name(data_ + entry, &quant.name, &problem)) return fail(which + ": name " + problem);
      const uint32_t kind = u32(entry + 64), count = u32(entry + 68);
      if (kind != 1 && kind != 2) return fail(which + " ('" + quant.name + "'): kind " + std::to_string(kind) + " is unknown");
      quant.kind = static_cast<QuantKind>(kind);
      const uint64_t offset = u64(entry + 72), bytes = u64(entry + 80);
      if (count < 1 || bytes != uint64_t(count) * 4) {
        return fail(which + " ('" + quant.name + "'): " + std::to_string(count) + " scales in " +
                    std::to_string(bytes) + " bytes");
      }
      if (!check_data_range(which + " ('" + quant.name + "')", offset, bytes)) return false;
      if (!all_zero(data_ + entry + 88, kQuantEntryBytes - 88)) {
        return fail(which + ": reserved bytes are not zero");
      }
      quant.scales.resize(count);
      scale_offsets_.push_back(offset);
      ranges_.push_back({which + "'s scales", offset, bytes});
      model_->quantisation.push_back(std::move(quant));
    }
    return true;
  }

  bool check_data_ranges() { return check_no_overlap(ranges_, error_); }

  bool check_tensor_set() {
    const std::vector<ExpectedTensor> expected =
        expected_tensors(model_->architecture, model_->bn_folded);
    const std::string model_kind = "a Cin=" + std::to_string(model_->architecture.in_channels) +
                                   " Cout=" + std::to_string(model_->architecture.out_channels) +
                                   (model_->bn_folded ? " BN-folded" : " raw-BN") + " M2U-Net";
    std::set<std::string> expected_names;
    for (const ExpectedTensor& e : expected) {
      expected_names.insert(e.name);
      const Tensor* tensor = model_->find(e.name);
      if (!tensor) {
        return fail("tensor '" + e.name + "' " + dims_text(e.dims) + " is missing; " + model_kind +
                    " needs " + std::to_string(expected.size()) + " tensors");
      }
      if (tensor->dims != e.dims) {
        return fail("tensor '" + e.name + "' has shape " + dims_text(tensor->dims) + ", expected " +
                    dims_text(e.dims) + " for " + model_kind);
      }
    }
    for (const Tensor& tensor : model_->tensors) {
      if (!expected_names.count(tensor.name)) {
        return fail("unexpected tensor '" + tensor.name + "': not part of " + model_kind);
      }
    }
    for (const QuantEntry& quant : model_->quantisation) {
      const Tensor* tensor = model_->find(quant.name);
      if (quant.kind == QuantKind::kWeightPerOutputChannel &&
          (!tensor || quant.scales.size() != static_cast<size_t>(tensor->dims[0]))) {
        return fail("quantisation entry '" + quant.name + "' has " + std::to_string(quant.scales.size()) +
                    " per-channel scales but no tensor of that many output channels has that name");
      }
      if (quant.kind == QuantKind::kActivationPerTensor && quant.scales.size() != 1) {
        return fail("quantisation entry '" + quant.name + "': an activation scale is one value");
      }
    }
    return true;
  }

  bool decode_tensors() {
    for (size_t i = 0; i < model_->tensors.size(); ++i) {
      Tensor& tensor = model_->tensors[i];
      const uint8_t* p = data_ + offsets_[i];
      const size_t count = tensor.element_count();
      if (tensor.dtype == DType::kI8) {
        tensor.int8_values.resize(count);
        std::memcpy(tensor.int8_values.data(), p, count);
        continue;
      }
      tensor.values.resize(count);
      for (size_t k = 0; k < count; ++k) {
        tensor.values[k] = tensor.dtype == DType::kF32
                               ? read_f32(p + 4 * k)
                               : half_to_float(static_cast<uint16_t>(p[2 * k] | p[2 * k + 1] << 8));
        if (!std::isfinite(tensor.values[k])) {
          return fail("tensor '" + tensor.name + "' element " + std::to_string(k) + " is " +
                      (std::isnan(tensor.values[k]) ? "NaN" : "infinite") +
                      "; the model cannot be used (was it saved after a diverged training step?)");
        }
      }
      const std::string suffix = ".running_var";
      if (tensor.name.size() > suffix.size() &&
          tensor.name.compare(tensor.name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        for (size_t k = 0; k < count; ++k) {
          if (tensor.values[k] < 0.0f) {
            return fail("tensor '" + tensor.name + "' element " + std::to_string(k) + " is " +
                        std::to_string(tensor.values[k]) + ": a variance cannot be negative");
          }
        }
      }
    }
    return true;
  }

  bool decode_scales() {
    for (size_t i = 0; i < model_->quantisation.size(); ++i) {
      QuantEntry& quant = model_->quantisation[i];
      for (size_t k = 0; k < quant.scales.size(); ++k) {
        quant.scales[k] = read_f32(data_ + scale_offsets_[i] + 4 * k);
        if (!std::isfinite(quant.scales[k]) || quant.scales[k] <= 0.0f) {
          return fail("quantisation entry '" + quant.name + "' scale " + std::to_string(k) + " is " +
                      std::to_string(quant.scales[k]) + ", expected finite and > 0");
        }
      }
    }
    return true;
  }

  const uint8_t* data_;
  size_t size_;
  Model* model_;
  std::string* error_;
  uint64_t provenance_offset_ = 0, tensor_table_offset_ = 0, quant_table_offset_ = 0;
  uint64_t data_offset_ = 0, data_bytes_ = 0;
  uint32_t provenance_bytes_ = 0, tensor_count_ = 0, quant_count_ = 0;
  std::vector<uint64_t> offsets_;        // per tensor, file order
  std::vector<uint64_t> scale_offsets_;  // per quantisation entry
  std::vector<Section> ranges_;          // every data range, for the overlap check
};

}  // namespace

// Slicing-by-8: eight table lookups per 8 bytes (a 2 MB model checks in
// about a millisecond).
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  static const std::vector<uint32_t> tables = [] {
    std::vector<uint32_t> t(8 * 256);
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int slice = 1; slice < 8; ++slice) {
        t[slice * 256 + i] = (t[(slice - 1) * 256 + i] >> 8) ^ t[t[(slice - 1) * 256 + i] & 0xFFu];
      }
    }
    return t;
  }();
  const uint32_t* t = tables.data();
  crc = ~crc;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    const uint32_t low = read_u32(data + i) ^ crc;
    const uint32_t high = read_u32(data + i + 4);
    crc = t[7 * 256 + (low & 0xFF)] ^ t[6 * 256 + ((low >> 8) & 0xFF)] ^
          t[5 * 256 + ((low >> 16) & 0xFF)] ^ t[4 * 256 + (low >> 24)] ^
          t[3 * 256 + (high & 0xFF)] ^ t[2 * 256 + ((high >> 8) & 0xFF)] ^
          t[1 * 256 + ((high >> 16) & 0xFF)] ^ t[0 * 256 + (high >> 24)];
  }
  for (; i < size; ++i) crc = t[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

bool parse_weights(const uint8_t* data, size_t size, Model* model, std::string* error) {
  if (!data && size != 0) {
    *error = "no data";
    return false;
  }
  Parser parser(data, size, model, error);
  if (!parser.parse()) return false;
  model->source.assign(data, data + size);
  return true;
}

bool load_weights_file(const std::string& path, Model* model, std::string* error) {
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    *error = path + ": cannot open: it is a directory, not an .m2u file";
    return false;
  }
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) {
    *error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  const std::streamoff length = file.tellg();
  if (length < 0 || static_cast<uint64_t>(length) > kMaxFileBytes) {
    *error = length < 0 ? path + ": cannot determine the size"
                        : path + ": " + std::to_string(length) + " bytes, larger than the 4 GiB an .m2u file may hold";
    return false;
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(length));
  file.seekg(0);
  if (length > 0 && !file.read(reinterpret_cast<char*>(bytes.data()), length)) {
    *error = path + ": read failed: " + std::strerror(errno);
    return false;
  }
  std::string problem;
  if (!parse_weights(bytes.data(), bytes.size(), model, &problem)) {
    *error = path + ": " + problem;
    return false;
  }
  return true;
}

std::vector<ConvParameters> gather_conv_parameters(const Model& model) {
  std::vector<ConvParameters> result;
  result.reserve(model.architecture.convs.size());
  auto values = [&](const std::string& name) { return model.find(name)->values; };
  for (const ConvSpec& spec : model.architecture.convs) {
    ConvParameters p;
    p.spec = &spec;
    p.weight = values(spec.name + ".weight");
    if (spec.bn_name.empty() || model.bn_folded) {
      p.bias = values(spec.name + ".bias");
    } else {
      p.has_batch_norm = true;
      p.bn_gamma = values(spec.bn_name + ".weight");
      p.bn_beta = values(spec.bn_name + ".bias");
      p.bn_mean = values(spec.bn_name + ".running_mean");
      p.bn_var = values(spec.bn_name + ".running_var");
    }
    result.push_back(std::move(p));
  }
  return result;
}

}  // namespace m2u
