// fuzz_weights_loader.cpp - libFuzzer target for the .m2u loader.
//
// The first input byte picks a mode:
//   even: the rest is a whole file, parsed as it is and once more with its
//         CRC-32 trailer recomputed, so mutations reach the checks behind
//         the checksum;
//   odd:  the rest is a list of patches {u32 offset, u8 length, bytes} applied
//         to a valid 1-channel F16 model (built once from the test writer),
//         whose checksum is then recomputed: structure-aware mutations of
//         header, tables and data at the speed of small inputs.
// Any crash, sanitizer report or hang is a bug; a refusal without a message
// aborts.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "weights_loader.h"
#include "weights_writer.h"

namespace {

void parse_or_die(const std::vector<uint8_t>& bytes) {
  m2u::Model model;
  std::string error;
  if (!m2u::parse_weights(bytes.data(), bytes.size(), &model, &error) && error.empty()) std::abort();
}

const std::vector<uint8_t>& base_file() {
  static const std::vector<uint8_t> base =
      m2u_test::serialize(m2u_test::make_valid_file(1, 1, false, 1, 5));
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  ++data;
  --size;
  if ((mode & 1u) == 0) {
    std::vector<uint8_t> bytes(data, data + size);
    parse_or_die(bytes);
    if (bytes.size() >= 4) {
      m2u_test::refresh_checksum(bytes);
      parse_or_die(bytes);
    }
    return 0;
  }
  std::vector<uint8_t> bytes = base_file();
  size_t cursor = 0;
  while (cursor + 5 <= size) {
    uint32_t offset;
    std::memcpy(&offset, data + cursor, 4);
    const size_t length = data[cursor + 4];
    cursor += 5;
    const size_t available = std::min(length, size - cursor);
    const size_t at = offset % (bytes.size() - 4);
    const size_t count = std::min(available, bytes.size() - 4 - at);
    std::memcpy(bytes.data() + at, data + cursor, count);
    cursor += available;
  }
  m2u_test::refresh_checksum(bytes);
  parse_or_die(bytes);
  return 0;
}
