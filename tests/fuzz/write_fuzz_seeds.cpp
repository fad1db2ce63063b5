// write_fuzz_seeds.cpp - writes the fuzzer's seed corpus into a directory:
// (an INT8-calibrated model among the whole-file seeds)
// patch-mode seeds (the valid base file, and patches of the header, the
// tensor table and the data) and whole-file seeds (a valid raw-BN model, a
// folded one, the bare header, and two the loader accepts but the engine
// refuses: an INT8 tensor, batch-norm folding that overflows float). See
// fuzz_weights_loader.cpp for the modes.
// Usage: write_fuzz_seeds DIR
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "execution_plan.h"
#include "weights_writer.h"

namespace {

bool write(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  return static_cast<bool>(
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())));
}

std::vector<uint8_t> patch_seed(uint32_t offset, std::vector<uint8_t> patch) {
  std::vector<uint8_t> seed = {1};
  for (int i = 0; i < 4; ++i) seed.push_back(static_cast<uint8_t>(offset >> (8 * i)));
  seed.push_back(static_cast<uint8_t>(patch.size()));
  seed.insert(seed.end(), patch.begin(), patch.end());
  return seed;
}

std::vector<uint8_t> whole_file_seed(std::vector<uint8_t> file) {
  file.insert(file.begin(), 0);
  return file;
}

m2u_test::WriterTensor& tensor_named(m2u_test::WeightsFile& file, const std::string& name) {
  for (m2u_test::WriterTensor& tensor : file.tensors) {
    if (tensor.name == name) return tensor;
  }
  std::fprintf(stderr, "write_fuzz_seeds: no tensor %s\n", name.c_str());
  std::exit(1);
}

// Seeds stay F16 (about 1.1 MB, under run_all.sh's -max_len).
// A folded model whose first conv's weights are INT8 with per-channel scales.
std::vector<uint8_t> int8_model() {
  m2u_test::WeightsFile file = m2u_test::make_valid_file(1, 1, true, 1, 7);
  m2u_test::WriterTensor& tensor = tensor_named(file, "conv1.0.0.weight");
  tensor.dtype = 2;
  tensor.bytes.assign(tensor.bytes.size() / 2, 3);
  tensor.quant_index = 0;
  m2u_test::WriterQuant quant;
  quant.name = tensor.name;
  quant.scales.assign(tensor.dims[0], 0.01f);
  file.quant.push_back(quant);
  return m2u_test::serialize(file);
}

// A folded model calibrated for INT8: an activation scale for every buffer
// of its plan (the names the engine looks up), so the fuzzer's INT8 engine
// runs it.
std::vector<uint8_t> calibrated_model() {
  m2u_test::WeightsFile file = m2u_test::make_valid_file(1, 1, true, 1, 9);
  const m2u::Architecture arch = m2u::make_architecture(1, 1, m2u::Activation::kRelu6, m2u::Activation::kSigmoid);
  const m2u::ExecutionPlan plan = m2u::make_execution_plan(arch, 1, 16, 32, 16, 1, false);
  for (const m2u::PlannedBuffer& buffer : plan.buffers) {
    m2u_test::WriterQuant quant;
    quant.name = m2u::activation_scale_name(buffer.name);
    quant.kind = 2;
    quant.scales = {0.05f};
    file.quant.push_back(quant);
  }
  return m2u_test::serialize(file);
}

// A raw-BN model with one batch norm in F32: gamma 3e38 over a running_var
// of 0 at channel 0 (finite values, a folded weight that is not; F16 cannot
// hold such a gamma).
std::vector<uint8_t> bn_overflow_model() {
  m2u_test::WeightsFile file = m2u_test::make_valid_file(1, 1, false, 1, 8);
  for (const char* name : {"decode2.ir1.conv.1.weight", "decode2.ir1.conv.1.running_var"}) {
    m2u_test::WriterTensor& tensor = tensor_named(file, name);
    const bool gamma = std::strstr(name, "running_var") == nullptr;
    std::vector<float> values(tensor.bytes.size() / 2, 1.0f);
    values[0] = gamma ? 3e38f : 0.0f;
    tensor.dtype = 0;
    tensor.bytes.resize(4 * values.size());
    std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  }
  return m2u_test::serialize(file);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  m2u_test::WeightsLayout layout;
  const std::vector<uint8_t> base = m2u_test::serialize(m2u_test::make_valid_file(1, 1, false, 1, 5), &layout);
  const std::vector<uint8_t> folded = m2u_test::serialize(m2u_test::make_valid_file(3, 2, true, 1, 6));
  const std::vector<std::pair<std::string, std::vector<uint8_t>>> seeds = {
      {"patch_none", {1}},
      {"patch_header", patch_seed(28, {3, 0, 0, 0})},
      {"patch_table", patch_seed(static_cast<uint32_t>(layout.tensor_table_offset + 72), {5, 0, 0, 0})},
      {"patch_data", patch_seed(static_cast<uint32_t>(layout.data_offset), {0xFF, 0x7F})},
      {"whole_raw_f16", whole_file_seed(base)},
      {"whole_folded_f16", whole_file_seed(folded)},
      {"whole_header_only", whole_file_seed(std::vector<uint8_t>(base.begin(), base.begin() + 256))},
      {"whole_int8", whole_file_seed(int8_model())},
      {"whole_bn_overflow", whole_file_seed(bn_overflow_model())},
      {"whole_calibrated", whole_file_seed(calibrated_model())},
  };
  for (const auto& seed : seeds) {
    if (!write(dir + "/" + seed.first, seed.second)) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), seed.first.c_str());
      return 1;
    }
  }
  return 0;
}
