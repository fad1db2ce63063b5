// write_fuzz_seeds.cpp - writes the fuzzer's seed corpus into a directory:
// patch-mode seeds (the valid base file, and patches of the header, the
// tensor table and the data) and whole-file seeds (a valid raw-BN model, a
// folded one, the bare header). See fuzz_weights_loader.cpp for the modes.
// Usage: write_fuzz_seeds DIR
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

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
  };
  for (const auto& seed : seeds) {
    if (!write(dir + "/" + seed.first, seed.second)) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), seed.first.c_str());
      return 1;
    }
  }
  return 0;
}
