// weights_loader.h - reads and validates .m2u weight files.
//
// The format (weights/FORMAT.md has the full tables), version 1, all
// little-endian:
//   header (256 B): magic "M2UWEIGH", u32 format_version = 1, u32
//     header_bytes = 256, u64 file_bytes, u32 flags (bit 0 BN_FOLDED),
//     u32 in_channels (1..8), u32 out_channels (1..64), u32
//     hidden_activation (0 ReLU6, 1 ReLU), u32 output_activation (0 sigmoid,
//     1 linear), f32 bn_epsilon, u32 input_normalization (0 affine, 1
//     per-image standardisation), u32 grey_fill (0 replicate, 1 first
//     channel), f32 pixel_scale, f32 std_floor, f32 channel_mean[8], f32
//     channel_std[8], u64 provenance_offset, u32 provenance_bytes, u32
//     tensor_count, u64 tensor_table_offset, u32 quant_count, u32 0, u64
//     quant_table_offset, u64 data_offset, u64 data_bytes, 72 reserved zero
//     bytes;
//   provenance: UTF-8 "key: value" lines;
//   tensor table, 128 B per tensor: name[64] (NUL-terminated), u32 dtype (0
//     F32, 1 F16, 2 I8), u32 rank (1..4), u32 dims[4], u64 offset (64-byte
//     aligned, inside the data section), u64 bytes, u32 quant_index
//     (0xFFFFFFFF none), 20 reserved zero bytes;
//   quantisation table, 96 B per entry: name[64], u32 kind (1 weight per
//     output channel, 2 activation per tensor), u32 count, u64 offset, u64
//     bytes, 8 reserved zero bytes;
//   data section (tensors and scales, each 64-byte aligned, no overlaps);
//   u32 CRC-32 (zlib's) of every byte before it, as the file's last 4 bytes.
// The tensor names and shapes must be exactly those architecture.h derives
// from (in_channels, out_channels, BN_FOLDED); all values finite,
// running_var >= 0, scales > 0.
//
// Errors: every malformed file is refused with a message naming the field,
// the tensor, the offset or the value that is wrong, and how to fix it where
// that is known. The loader never reads outside the buffer it is given.
#ifndef M2U_RUNTIME_MODEL_WEIGHTS_LOADER_H
#define M2U_RUNTIME_MODEL_WEIGHTS_LOADER_H

#include <cstddef>
#include <cstdint>
#include <string>

#include "model.h"

namespace m2u {

constexpr uint32_t kWeightsFormatVersion = 1;
constexpr size_t kWeightsHeaderBytes = 256;
constexpr size_t kTensorEntryBytes = 128;
constexpr size_t kQuantEntryBytes = 96;
constexpr size_t kWeightsDataAlignment = 64;
constexpr uint32_t kFlagBnFolded = 1u;

// Parses `size` bytes at `data` into *model. On failure returns false, sets
// *error and leaves *model unspecified.
bool parse_weights(const uint8_t* data, size_t size, Model* model, std::string* error);

// Reads the file at `path` and parses it; errors name the path.
bool load_weights_file(const std::string& path, Model* model, std::string* error);

// CRC-32 (ISO-HDLC, as zlib.crc32) of `size` bytes, continuing from `crc`
// (start with 0).
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_WEIGHTS_LOADER_H
