// file_bytes.h - little-endian fields of a .m2u file image (weights/
// FORMAT.md) read and patched in place, and the format's alignment
// arithmetic; for the writers that copy a file (quant_writer,
// trained_writer). Offsets must lie inside the vector.
#ifndef M2U_RUNTIME_MODEL_FILE_BYTES_H
#define M2U_RUNTIME_MODEL_FILE_BYTES_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace m2u {

inline uint32_t get_u32(const std::vector<uint8_t>& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
inline uint64_t get_u64(const std::vector<uint8_t>& b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}
inline void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) { std::memcpy(b.data() + at, &v, 4); }
inline void put_u64(std::vector<uint8_t>& b, size_t at, uint64_t v) { std::memcpy(b.data() + at, &v, 8); }
inline size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_FILE_BYTES_H
