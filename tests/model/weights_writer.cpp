// weights_writer.cpp - see weights_writer.h. Layout: header, provenance,
// tensor table, quantisation table, 64-byte aligned data, CRC-32 trailer.
#include "weights_writer.h"

#include <cmath>
#include <cstring>
#include <random>

#include "architecture.h"
#include "expected_tensors.h"
#include "weights_loader.h"

namespace m2u_test {
namespace {

size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

void put_name(std::vector<uint8_t>& bytes, size_t offset, const std::string& name) {
  std::memcpy(bytes.data() + offset, name.data(), std::min<size_t>(name.size(), 63));
}

// float -> IEEE binary16, round to nearest even (values here are in range).
uint16_t float_to_half(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint32_t sign = (bits >> 16) & 0x8000u;
  const int exponent = static_cast<int>((bits >> 23) & 0xFF) - 127 + 15;
  uint32_t mantissa = bits & 0x7FFFFFu;
  if (exponent <= 0) {  // subnormal or zero in half
    if (exponent < -10) return static_cast<uint16_t>(sign);
    mantissa |= 0x800000u;
    const int shift = 14 - exponent;
    uint32_t half = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = sign | static_cast<uint32_t>(exponent) << 10 | mantissa >> 13;
  const uint32_t rest = mantissa & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) ++half;
  return static_cast<uint16_t>(half);
}

}  // namespace

void put_u32(std::vector<uint8_t>& bytes, size_t offset, uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}
void put_u64(std::vector<uint8_t>& bytes, size_t offset, uint64_t value) {
  for (int i = 0; i < 8; ++i) bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}
void put_f32(std::vector<uint8_t>& bytes, size_t offset, float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  put_u32(bytes, offset, bits);
}
void refresh_checksum(std::vector<uint8_t>& bytes) {
  put_u32(bytes, bytes.size() - 4, m2u::crc32(bytes.data(), bytes.size() - 4));
}

std::vector<uint8_t> serialize(const WeightsFile& file, WeightsLayout* layout_out) {
  WeightsLayout layout;
  layout.provenance_offset = 256;
  layout.tensor_table_offset = align_up(layout.provenance_offset + file.provenance.size(), 8);
  layout.quant_table_offset = layout.tensor_table_offset + 128 * file.tensors.size();
  layout.data_offset = align_up(layout.quant_table_offset + 96 * file.quant.size(), 64);
  size_t cursor = layout.data_offset;
  for (const WriterTensor& t : file.tensors) {
    layout.tensor_data_offsets.push_back(cursor);
    cursor = align_up(cursor + t.bytes.size(), 64);
  }
  for (const WriterQuant& q : file.quant) {
    layout.quant_data_offsets.push_back(cursor);
    cursor = align_up(cursor + 4 * q.scales.size(), 64);
  }
  layout.data_bytes = cursor - layout.data_offset;
  std::vector<uint8_t> bytes(cursor + 4, 0);

  std::memcpy(bytes.data(), "M2UWEIGH", 8);
  put_u32(bytes, 8, 1);
  put_u32(bytes, 12, 256);
  put_u64(bytes, 16, bytes.size());
  put_u32(bytes, 24, file.flags);
  put_u32(bytes, 28, file.in_channels);
  put_u32(bytes, 32, file.out_channels);
  put_u32(bytes, 36, file.hidden_activation);
  put_u32(bytes, 40, file.output_activation);
  put_f32(bytes, 44, file.bn_epsilon);
  put_u32(bytes, 48, file.input_normalization);
  put_u32(bytes, 52, file.grey_fill);
  put_f32(bytes, 56, file.pixel_scale);
  put_f32(bytes, 60, file.std_floor);
  for (int c = 0; c < 8; ++c) {
    put_f32(bytes, 64 + 4 * c, file.channel_mean[c]);
    put_f32(bytes, 96 + 4 * c, file.channel_std[c]);
  }
  put_u64(bytes, 128, layout.provenance_offset);
  put_u32(bytes, 136, static_cast<uint32_t>(file.provenance.size()));
  put_u32(bytes, 140, static_cast<uint32_t>(file.tensors.size()));
  put_u64(bytes, 144, layout.tensor_table_offset);
  put_u32(bytes, 152, static_cast<uint32_t>(file.quant.size()));
  put_u64(bytes, 160, layout.quant_table_offset);
  put_u64(bytes, 168, layout.data_offset);
  put_u64(bytes, 176, layout.data_bytes);
  std::memcpy(bytes.data() + layout.provenance_offset, file.provenance.data(), file.provenance.size());

  for (size_t i = 0; i < file.tensors.size(); ++i) {
    const WriterTensor& t = file.tensors[i];
    const size_t entry = layout.tensor_table_offset + 128 * i;
    put_name(bytes, entry, t.name);
    put_u32(bytes, entry + 64, t.dtype);
    put_u32(bytes, entry + 68, static_cast<uint32_t>(t.dims.size()));
    for (size_t d = 0; d < t.dims.size() && d < 4; ++d) put_u32(bytes, entry + 72 + 4 * d, t.dims[d]);
    put_u64(bytes, entry + 88, layout.tensor_data_offsets[i]);
    put_u64(bytes, entry + 96, t.bytes.size());
    put_u32(bytes, entry + 104, t.quant_index);
    std::memcpy(bytes.data() + layout.tensor_data_offsets[i], t.bytes.data(), t.bytes.size());
  }
  for (size_t i = 0; i < file.quant.size(); ++i) {
    const WriterQuant& q = file.quant[i];
    const size_t entry = layout.quant_table_offset + 96 * i;
    put_name(bytes, entry, q.name);
    put_u32(bytes, entry + 64, q.kind);
    put_u32(bytes, entry + 68, static_cast<uint32_t>(q.scales.size()));
    put_u64(bytes, entry + 72, layout.quant_data_offsets[i]);
    put_u64(bytes, entry + 80, 4 * q.scales.size());
    for (size_t k = 0; k < q.scales.size(); ++k) put_f32(bytes, layout.quant_data_offsets[i] + 4 * k, q.scales[k]);
  }
  refresh_checksum(bytes);
  if (layout_out) *layout_out = layout;
  return bytes;
}

WeightsFile make_valid_file(int in_channels, int out_channels, bool bn_folded, uint32_t dtype,
                            uint32_t seed) {
  WeightsFile file;
  file.flags = bn_folded ? 1u : 0u;
  file.in_channels = static_cast<uint32_t>(in_channels);
  file.out_channels = static_cast<uint32_t>(out_channels);
  for (int c = 0; c < in_channels; ++c) file.channel_std[c] = 1.0f;
  const m2u::Architecture arch = m2u::make_architecture(in_channels, out_channels, m2u::Activation::kRelu6,
                                                        m2u::Activation::kSigmoid);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  for (const m2u::ExpectedTensor& e : m2u::expected_tensors(arch, bn_folded)) {
    WriterTensor t;
    t.name = e.name;
    t.dtype = dtype;
    size_t count = 1;
    for (int d : e.dims) {
      t.dims.push_back(static_cast<uint32_t>(d));
      count *= static_cast<size_t>(d);
    }
    const bool variance = e.name.find("running_var") != std::string::npos;
    const size_t element_bytes = dtype == 0 ? 4 : 2;
    t.bytes.resize(count * element_bytes);
    for (size_t k = 0; k < count; ++k) {
      const float value = variance ? 0.5f + uniform(rng) + 0.5f : uniform(rng);
      if (dtype == 0) {
        std::memcpy(t.bytes.data() + 4 * k, &value, 4);
      } else {
        const uint16_t half = float_to_half(value);
        t.bytes[2 * k] = static_cast<uint8_t>(half);
        t.bytes[2 * k + 1] = static_cast<uint8_t>(half >> 8);
      }
    }
    file.tensors.push_back(std::move(t));
  }
  return file;
}

}  // namespace m2u_test
