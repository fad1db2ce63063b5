// frame_source.h - m2u_infer's inputs as they arrive: raw sensor dumps of a
// declared format (checked against the file size), or PNG / BMP / PGM
// images (stb_image; 8 or 16 bit; colour converted to grey), from a file or
// from standard input. The result is the frame's bytes in one of the
// unpack kernel's raw formats, still on the host.
#ifndef M2U_EXAMPLES_INFER_FRAME_SOURCE_H
#define M2U_EXAMPLES_INFER_FRAME_SOURCE_H

#include <cstdint>
#include <string>
#include <vector>

#include "raw_kernels.h"

namespace m2u_infer {

struct RawLayout {
  bool given = false;  // --format was given: inputs are raw dumps
  m2u::RawFormat format = m2u::RawFormat::kMono8;
  int width = 0;
  int height = 0;
  size_t stride = 0;  // bytes per row; 0: minimal
  size_t offset = 0;  // header bytes to skip
};

struct HostFrame {
  std::string name;  // the path, or "stdin"
  m2u::RawFormat format;
  int width;
  int height;
  size_t stride;
  std::vector<uint8_t> bytes;  // row 0 at bytes[0]
};

// Parses "mono8", "mono16", "mono12", "mono12p".
bool parse_raw_format(const std::string& text, m2u::RawFormat* format);

// Reads `path` ("-" for standard input) as a raw dump when layout.given,
// else as an image. On failure returns false with a one-line *error naming
// the file and the numbers.
bool read_frame(const std::string& path, const RawLayout& layout, HostFrame* frame, std::string* error);

// Lists the inputs a directory holds (sorted): raw dumps (*.raw, *.bin)
// when `raw`, else images (*.png, *.bmp, *.pgm, *.pnm).
bool list_directory(const std::string& directory, bool raw, std::vector<std::string>* paths, std::string* error);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_FRAME_SOURCE_H
