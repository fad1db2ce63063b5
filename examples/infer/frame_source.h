// frame_source.h - m2u_infer's inputs as they arrive: raw sensor dumps of a
// declared format (checked against the file size), or PNG / BMP / PGM
// images (stb_image; 8 or 16 bit; colour converted to grey; PNG and PGM
// headers checked for size and truncation before decoding), from a file or
// from standard input. The result is the frame's bytes in one of libm2urt's
// raw formats (m2u_raw_format), still on the host.
#ifndef M2U_EXAMPLES_INFER_FRAME_SOURCE_H
#define M2U_EXAMPLES_INFER_FRAME_SOURCE_H

#include <cstdint>
#include <string>
#include <vector>

#include "m2urt.h"

namespace m2u_infer {

struct RawLayout {
  bool given = false;  // --format was given: inputs are raw dumps
  m2u_raw_format format = M2U_RAW_MONO8;
  int width = 0;
  int height = 0;
  size_t stride = 0;  // bytes per row; 0: minimal
  size_t offset = 0;  // header bytes to skip
};

struct HostFrame {
  std::string name;  // the path, or "stdin"
  m2u_raw_format format;
  int width;
  int height;
  size_t stride;
  std::vector<uint8_t> bytes;  // row 0 at bytes[0]
};

// Parses "mono8", "mono16", "mono12", "mono12p".
bool parse_raw_format(const std::string& text, m2u_raw_format* format);

// The raw-layout options the CLIs share: --format, --width, --height,
// --stride, --offset (each with a value). apply_raw_layout_option sets one
// in `layout`; false with *error naming the option and value when the value
// is bad.
bool is_raw_layout_option(const std::string& option);
bool apply_raw_layout_option(const std::string& option, const char* value, RawLayout* layout, std::string* error);

// Frames are at most this many pixels a side (libm2urt's kernels' limit).
constexpr long kMaxDimension = 65535;

// The frame as libm2urt reads it from host memory.
m2u_raw_frame raw_frame_of(const HostFrame& frame);

// Reads `path` ("-" for standard input) as a raw dump when layout.given,
// else as an image. On failure returns false with a one-line *error naming
// the file and the numbers.
bool read_frame(const std::string& path, const RawLayout& layout, HostFrame* frame, std::string* error);

// The frame as an m2u_image in host memory (batch 1, grey): Mono8 as U8,
// Mono16 and Mono12 as U16 (12 significant bits), Mono12p unpacked on the
// host into `unpacked` as 12-bit U16. Valid while frame and unpacked are.
m2u_image image_of(const HostFrame& frame, std::vector<uint16_t>* unpacked);

// Lists the inputs a directory holds (sorted): raw dumps (*.raw, *.bin)
// when `raw`, else images (*.png, *.bmp, *.pgm, *.pnm).
bool list_directory(const std::string& directory, bool raw, std::vector<std::string>* paths, std::string* error);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_FRAME_SOURCE_H
