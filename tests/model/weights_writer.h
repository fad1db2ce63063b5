// weights_writer.h - a second, independent writer of .m2u files, for tests:
// builds valid files from the format specification (weights/FORMAT.md) so
// the loader can be checked against the spec and broken copies can be made
// byte by byte. (The product's writer is converter/m2u_format.py.)
#ifndef M2U_TESTS_MODEL_WEIGHTS_WRITER_H
#define M2U_TESTS_MODEL_WEIGHTS_WRITER_H

#include <cstdint>
#include <string>
#include <vector>

namespace m2u_test {

struct WriterTensor {
  std::string name;
  uint32_t dtype = 0;  // 0 F32, 1 F16, 2 I8
  std::vector<uint32_t> dims;
  std::vector<uint8_t> bytes;
  uint32_t quant_index = 0xFFFFFFFFu;
};

struct WriterQuant {
  std::string name;
  uint32_t kind = 1;
  std::vector<float> scales;
};

struct WeightsFile {
  uint32_t flags = 0;
  uint32_t in_channels = 3;
  uint32_t out_channels = 1;
  uint32_t hidden_activation = 0;
  uint32_t output_activation = 0;
  float bn_epsilon = 1e-5f;
  uint32_t input_normalization = 0;
  uint32_t grey_fill = 0;
  float pixel_scale = 255.0f;
  float std_floor = 0.0f;
  float channel_mean[8] = {};
  float channel_std[8] = {};
  std::string provenance = "source: weights_writer\nconverter: tests/model/weights_writer.h\n";
  std::vector<WriterTensor> tensors;
  std::vector<WriterQuant> quant;
};

// Where serialize() put things, so tests can patch single fields.
struct WeightsLayout {
  size_t provenance_offset = 0;
  size_t tensor_table_offset = 0;
  size_t quant_table_offset = 0;
  size_t data_offset = 0;
  size_t data_bytes = 0;
  std::vector<size_t> tensor_data_offsets;
  std::vector<size_t> quant_data_offsets;
};

std::vector<uint8_t> serialize(const WeightsFile& file, WeightsLayout* layout = nullptr);

// A complete, valid M2U-Net file with seeded pseudo-random weights:
// `dtype` 0 (F32) or 1 (F16); raw BN unless `bn_folded`.
WeightsFile make_valid_file(int in_channels, int out_channels, bool bn_folded, uint32_t dtype,
                            uint32_t seed);

// Little-endian patching helpers; refresh_checksum recomputes the CRC-32
// trailer after a patch.
void put_u32(std::vector<uint8_t>& bytes, size_t offset, uint32_t value);
void put_u64(std::vector<uint8_t>& bytes, size_t offset, uint64_t value);
void put_f32(std::vector<uint8_t>& bytes, size_t offset, float value);
void refresh_checksum(std::vector<uint8_t>& bytes);

}  // namespace m2u_test

#endif  // M2U_TESTS_MODEL_WEIGHTS_WRITER_H
