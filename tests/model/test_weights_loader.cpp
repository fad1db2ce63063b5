// test_weights_loader.cpp - the .m2u loader accepts valid files written from
// the specification and refuses each hand-made broken file with a message
// naming the problem (truncated at every section, wrong magic, bad header
// fields, huge dims, overlapping offsets, NaN weights, ...).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "weights_loader.h"
#include "weights_writer.h"

using m2u_test::WeightsFile;
using m2u_test::WeightsLayout;

namespace {

struct Parsed {
  bool ok;
  std::string error;
  m2u::Model model;
};

Parsed parse(const std::vector<uint8_t>& bytes) {
  Parsed result;
  result.ok = m2u::parse_weights(bytes.data(), bytes.size(), &result.model, &result.error);
  return result;
}

// Index of tensor `name` in the file's table.
size_t tensor_index(const WeightsFile& file, const std::string& name) {
  for (size_t i = 0; i < file.tensors.size(); ++i) {
    if (file.tensors[i].name == name) return i;
  }
  FAIL("no tensor " << name);
  return 0;
}

// A broken copy: `mutate` edits the bytes of a valid Cin=3 raw-BN F32 file;
// the checksum is then recomputed unless `keep_checksum`.
struct BrokenCase {
  const char* what;
  std::function<void(std::vector<uint8_t>&, const WeightsLayout&, const WeightsFile&)> mutate;
  const char* expected_message;
  bool keep_checksum = false;
};

}  // namespace

TEST_CASE("valid files written from the specification load, F32 and F16, raw and folded") {
  for (uint32_t dtype : {0u, 1u}) {
    for (bool folded : {false, true}) {
      for (int in_channels : {1, 3}) {
        const WeightsFile file = m2u_test::make_valid_file(in_channels, 2, folded, dtype, 7);
        const Parsed parsed = parse(m2u_test::serialize(file));
        INFO("dtype " << dtype << " folded " << folded << " Cin " << in_channels);
        REQUIRE_MESSAGE(parsed.ok, parsed.error);
        CHECK(parsed.model.bn_folded == folded);
        CHECK(parsed.model.architecture.in_channels == in_channels);
        CHECK(parsed.model.architecture.out_channels == 2);
        CHECK(parsed.model.tensors.size() == file.tensors.size());
        CHECK(parsed.model.provenance == file.provenance);
        // Spot-check decoded values against the bytes written.
        const m2u_test::WriterTensor& first = file.tensors.front();
        const m2u::Tensor* tensor = parsed.model.find(first.name);
        REQUIRE(tensor != nullptr);
        float expected;
        if (dtype == 0) {
          std::memcpy(&expected, first.bytes.data(), 4);
        } else {
          const uint16_t h = static_cast<uint16_t>(first.bytes[0] | first.bytes[1] << 8);
          const int exponent = (h >> 10) & 0x1F;
          const float magnitude = exponent ? std::ldexp(1.0f + (h & 0x3FF) / 1024.0f, exponent - 15)
                                           : std::ldexp((h & 0x3FF) / 1024.0f, -14);
          expected = (h & 0x8000) ? -magnitude : magnitude;
        }
        CHECK(tensor->values[0] == expected);
        const std::vector<m2u::ConvParameters> convs = m2u::gather_conv_parameters(parsed.model);
        REQUIRE(convs.size() == parsed.model.architecture.convs.size());
        CHECK(convs.front().has_batch_norm == !folded);
        CHECK(convs.back().bias.size() == 2);
      }
    }
  }
}

TEST_CASE("the CRC-32 is zlib's") {
  const char* text = "123456789";
  CHECK(m2u::crc32(reinterpret_cast<const uint8_t*>(text), 9) == 0xCBF43926u);
}

TEST_CASE("a file truncated at any section is refused") {
  WeightsLayout layout;
  const std::vector<uint8_t> bytes = m2u_test::serialize(m2u_test::make_valid_file(3, 1, false, 0, 1), &layout);
  const size_t cuts[] = {0, 7, 100, 255, 256, layout.provenance_offset + 10, layout.tensor_table_offset + 5,
                         layout.quant_table_offset, layout.data_offset + 1, bytes.size() / 2,
                         bytes.size() - 5, bytes.size() - 1};
  for (size_t cut : cuts) {
    const std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + cut);
    const Parsed parsed = parse(truncated);
    INFO("cut at " << cut << ": " << parsed.error);
    CHECK_FALSE(parsed.ok);
    if (cut < 260) {
      CHECK(parsed.error.find("too short") != std::string::npos);
    } else {
      CHECK(parsed.error.find("header says the file is " + std::to_string(bytes.size()) + " bytes but it is " +
                              std::to_string(cut)) != std::string::npos);
    }
  }
}

TEST_CASE("each hand-made broken file is refused with a specific message") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<BrokenCase> cases = {
      {"wrong magic", [](auto& b, auto&, auto&) { b[0] = 'X'; }, "not an .m2u weights file"},
      {"future version", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 8, 2); },
       "format version 2 is not supported (this loader reads version 1)"},
      {"header size", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 12, 128); }, "header_bytes is 128"},
      {"file size field", [](auto& b, auto&, auto&) { m2u_test::put_u64(b, 16, b.size() + 64); },
       "header says the file is"},
      {"flipped data byte", [](auto& b, auto& l, auto&) { b[l.data_offset + 3] ^= 0x10; },
       "checksum mismatch", true},
      {"flipped checksum", [](auto& b, auto&, auto&) { b[b.size() - 1] ^= 0x01; }, "checksum mismatch", true},
      {"unknown flag", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 24, 6); }, "unknown flag bits 0x6"},
      {"zero input channels", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 28, 0); },
       "in_channels is 0, expected 1..8"},
      {"too many output channels", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 32, 65); },
       "out_channels is 65, expected 1..64"},
      {"unknown activation", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 36, 2); }, "hidden_activation is 2"},
      {"unknown output activation", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 40, 9); },
       "output_activation is 9"},
      {"NaN epsilon", [nan](auto& b, auto&, auto&) { m2u_test::put_f32(b, 44, nan); }, "bn_epsilon is nan"},
      {"unknown normalisation", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 48, 3); },
       "input_normalization is 3"},
      {"unknown grey fill", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 52, 2); }, "grey_fill is 2"},
      {"zero pixel scale", [](auto& b, auto&, auto&) { m2u_test::put_f32(b, 56, 0.0f); }, "pixel_scale is 0"},
      {"negative std floor", [](auto& b, auto&, auto&) { m2u_test::put_f32(b, 60, -1.0f); }, "std_floor is -1"},
      {"standardisation without a std floor", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 48, 1); },
       "std_floor is 0 with per-image standardisation"},
      {"zero channel std", [](auto& b, auto&, auto&) { m2u_test::put_f32(b, 96 + 4, 0.0f); },
       "channel_std[1] is 0"},
      {"mean beyond Cin", [](auto& b, auto&, auto&) { m2u_test::put_f32(b, 64 + 4 * 5, 1.0f); },
       "channel_mean/channel_std[5] must be 0: the model has 3 input channel(s)"},
      {"reserved header byte", [](auto& b, auto&, auto&) { b[200] = 1; }, "reserved header bytes are not zero"},
      {"provenance outside", [](auto& b, auto&, auto&) { m2u_test::put_u64(b, 128, b.size()); },
       "provenance [offset"},
      {"huge provenance", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 136, 70000); },
       "provenance is 70000 bytes, at most 65536"},
      {"NUL in provenance", [](auto& b, auto& l, auto&) { b[l.provenance_offset + 2] = 0; },
       "provenance text contains a NUL byte"},
      {"no tensors", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 140, 0); }, "tensor_count is 0"},
      {"huge tensor count", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 140, 0xFFFFFFFFu); },
       "tensor_count is 4294967295"},
      {"tensor table beyond the end", [](auto& b, auto&, auto&) { m2u_test::put_u64(b, 144, (b.size() - 64) & ~size_t(7)); },
       "tensor table [offset"},
      {"misaligned tensor table", [](auto& b, auto& l, auto&) { m2u_test::put_u64(b, 144, l.tensor_table_offset + 4); },
       "is not a multiple of 8"},
      {"tensor table over the provenance",
       [](auto& b, auto&, auto&) { m2u_test::put_u64(b, 144, 256); }, "overlaps"},
      {"huge quant count", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 152, 5000); }, "quant_count is 5000"},
      {"misaligned data", [](auto& b, auto& l, auto&) { m2u_test::put_u64(b, 168, l.data_offset + 8); },
       "data_offset"},
      {"data section past the checksum",
       [](auto& b, auto& l, auto&) { m2u_test::put_u64(b, 176, l.data_bytes + 64); }, "data section [offset"},
      {"unterminated name",
       [](auto& b, auto& l, auto&) { std::memset(b.data() + l.tensor_table_offset, 'a', 64); },
       "tensor entry 0: name is not NUL-terminated within 64 bytes"},
      {"duplicate name",
       [](auto& b, auto& l, auto&) { std::memcpy(b.data() + l.tensor_table_offset + 128, b.data() + l.tensor_table_offset, 64); },
       "appears twice in the tensor table"},
      {"unknown dtype", [](auto& b, auto& l, auto&) { m2u_test::put_u32(b, l.tensor_table_offset + 64, 7); },
       "dtype 7 is unknown"},
      {"rank 0", [](auto& b, auto& l, auto&) { m2u_test::put_u32(b, l.tensor_table_offset + 68, 0); }, "rank 0"},
      {"rank 5", [](auto& b, auto& l, auto&) { m2u_test::put_u32(b, l.tensor_table_offset + 68, 5); }, "rank 5"},
      {"huge dimension",
       [](auto& b, auto& l, auto&) { m2u_test::put_u32(b, l.tensor_table_offset + 72, 0xFFFFFFFFu); },
       "dimension 0 is 4294967295"},
      {"huge element count",
       [](auto& b, auto& l, auto&) {
         for (int d = 0; d < 4; ++d) m2u_test::put_u32(b, l.tensor_table_offset + 72 + 4 * d, 1u << 24);
       },
       "more than 2^31 elements"},
      {"dimension beyond rank",
       [](auto& b, auto& l, auto&) { m2u_test::put_u32(b, l.tensor_table_offset + 128 + 72 + 4, 3); },
       "dimension 1 beyond rank 1 must be 0"},
      {"byte count", [](auto& b, auto& l, auto&) { m2u_test::put_u64(b, l.tensor_table_offset + 96, 12); },
       "12 bytes for 864 elements of 4 bytes"},
      {"tensor outside the data section",
       [](auto& b, auto& l, auto&) { m2u_test::put_u64(b, l.tensor_table_offset + 88, l.data_offset - 64); },
       "lies outside the data section"},
      {"misaligned tensor",
       [](auto& b, auto& l, auto&) { m2u_test::put_u64(b, l.tensor_table_offset + 88, l.data_offset + 4); },
       "is not a multiple of 64"},
      {"overlapping tensors",
       [](auto& b, auto& l, auto&) {
         m2u_test::put_u64(b, l.tensor_table_offset + 128 + 88, l.tensor_data_offsets[0]);
       },
       "overlaps"},
      {"quant index without entries",
       [](auto& b, auto& l, auto&) { m2u_test::put_u32(b, l.tensor_table_offset + 104, 0); },
       "quant_index 0 but the file has 0 quantisation entries"},
      {"I8 tensor without scales",
       [](auto& b, auto& l, auto&) {
         m2u_test::put_u32(b, l.tensor_table_offset + 64, 2);
         m2u_test::put_u64(b, l.tensor_table_offset + 96, 864);
       },
       "an I8 tensor needs a quantisation entry"},
      {"reserved entry byte", [](auto& b, auto& l, auto&) { b[l.tensor_table_offset + 120] = 1; },
       "reserved bytes of its table entry are not zero"},
      {"renamed tensor",
       [](auto& b, auto& l, auto&) { b[l.tensor_table_offset + 3] = 'X'; },
       "tensor 'conv1.0.0.weight' [32, 3, 3, 3] is missing; a Cin=3 Cout=1 raw-BN M2U-Net needs"},
      {"transposed weight",
       [](auto& b, auto& l, auto&) {
         m2u_test::put_u32(b, l.tensor_table_offset + 72, 3);
         m2u_test::put_u32(b, l.tensor_table_offset + 76, 32);
       },
       "tensor 'conv1.0.0.weight' has shape [3, 32, 3, 3], expected [32, 3, 3, 3]"},
      {"folded flag on a raw file", [](auto& b, auto&, auto&) { m2u_test::put_u32(b, 24, 1); },
       "tensor 'conv1.0.0.bias' [32] is missing; a Cin=3 Cout=1 BN-folded M2U-Net"},
      {"more input channels than weights", [](auto& b, auto&, auto&) {
         m2u_test::put_u32(b, 28, 4);
         m2u_test::put_f32(b, 96 + 12, 1.0f);
       },
       "has shape [32, 3, 3, 3], expected [32, 4, 3, 3]"},
      {"NaN weight",
       [nan](auto& b, auto& l, auto&) { m2u_test::put_f32(b, l.tensor_data_offsets[0] + 4 * 5, nan); },
       "tensor 'conv1.0.0.weight' element 5 is NaN"},
      {"infinite weight",
       [](auto& b, auto& l, auto&) {
         m2u_test::put_f32(b, l.tensor_data_offsets[1], std::numeric_limits<float>::infinity());
       },
       "tensor 'conv1.0.1.weight' element 0 is infinite"},
      {"negative variance",
       [](auto& b, auto& l, auto& f) {
         m2u_test::put_f32(b, l.tensor_data_offsets[tensor_index(f, "conv1.0.1.running_var")] + 8, -0.5f);
       },
       "tensor 'conv1.0.1.running_var' element 2 is -0.5"},
  };
  const WeightsFile file = m2u_test::make_valid_file(3, 1, false, 0, 3);
  WeightsLayout layout;
  const std::vector<uint8_t> valid = m2u_test::serialize(file, &layout);
  REQUIRE(parse(valid).ok);
  for (const BrokenCase& broken : cases) {
    std::vector<uint8_t> bytes = valid;
    broken.mutate(bytes, layout, file);
    if (!broken.keep_checksum) m2u_test::refresh_checksum(bytes);
    const Parsed parsed = parse(bytes);
    INFO(std::string(broken.what) << ": " << parsed.error);
    CHECK_FALSE(parsed.ok);
    CHECK(parsed.error.find(broken.expected_message) != std::string::npos);
  }
}

TEST_CASE("quantisation entries are validated") {
  WeightsFile file = m2u_test::make_valid_file(1, 1, false, 0, 4);
  const size_t stem = tensor_index(file, "conv1.0.0.weight");
  file.tensors[stem].quant_index = 0;
  file.quant.push_back({"conv1.0.0.weight", 1, std::vector<float>(32, 0.01f)});
  WeightsLayout layout;
  std::vector<uint8_t> bytes = m2u_test::serialize(file, &layout);
  const Parsed ok = parse(bytes);
  REQUIRE_MESSAGE(ok.ok, ok.error);
  CHECK(ok.model.find("conv1.0.0.weight")->quant_index == 0);
  CHECK(ok.model.quantisation.at(0).scales.size() == 32);

  m2u_test::put_f32(bytes, layout.quant_data_offsets[0] + 4, 0.0f);
  m2u_test::refresh_checksum(bytes);
  const Parsed zero = parse(bytes);
  CHECK_FALSE(zero.ok);
  CHECK(zero.error.find("scale 1 is 0") != std::string::npos);

  file.quant[0].scales.resize(31, 0.01f);
  const Parsed short_scales = parse(m2u_test::serialize(file));
  CHECK_FALSE(short_scales.ok);
  CHECK(short_scales.error.find("has 31 per-channel scales") != std::string::npos);
}

TEST_CASE("a missing file names the path") {
  m2u::Model model;
  std::string error;
  CHECK_FALSE(m2u::load_weights_file("/nonexistent/model.m2u", &model, &error));
  CHECK(error.find("/nonexistent/model.m2u: cannot open") != std::string::npos);
}
