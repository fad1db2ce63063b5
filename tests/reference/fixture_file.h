// fixture_file.h - reads `.m2uf` golden fixture files: named float32 tensors
// written by the PyTorch fixture script, for the engine tests to compare against.
//
// The format, all little-endian:
//   header (16 B): magic "M2UFIXT1", u32 count (>= 1), u32 reserved = 0;
//   count entries of 104 B: u8 name[64] (ASCII, non-empty, NUL-terminated,
//     NUL-padded, unique); u32 rank (1..4); u32 dims[4] (dims[0..rank) >= 1,
//     the rest 0); u32 reserved = 0; u64 offset (absolute, a multiple of 64,
//     after the entry table); u64 bytes (= product(dims) * 4);
//   data: each tensor's float32 values in row-major (NCHW) order, inside the
//     file, no two tensors overlapping. Every value must be finite.
#ifndef M2U_TESTS_REFERENCE_FIXTURE_FILE_H
#define M2U_TESTS_REFERENCE_FIXTURE_FILE_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "host_tensor.h"

namespace m2u::ref {

constexpr char kFixtureMagic[8] = {'M', '2', 'U', 'F', 'I', 'X', 'T', '1'};
constexpr size_t kFixtureHeaderBytes = 16;
constexpr size_t kFixtureEntryBytes = 104;
constexpr size_t kFixtureNameBytes = 64;
constexpr size_t kFixtureDataAlignment = 64;

// The tensors by name. A tensor of rank r < 4 fills the last r of (n, c, h,
// w) and the others are 1, as NumPy broadcasting adds leading axes ([H, W]
// becomes 1 x 1 x H x W).
using FixtureTensors = std::map<std::string, HostTensor>;

// Parses `size` bytes at `data`; throws std::runtime_error whose message
// starts with `source` (the file name) and names the entry and field at fault.
FixtureTensors parse_fixture(const uint8_t* data, size_t size, const std::string& source);

// Reads and parses the file at `path`.
FixtureTensors read_fixture_file(const std::string& path);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_FIXTURE_FILE_H
