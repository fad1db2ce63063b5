// png_write.cpp - a minimal PNG encoder: IHDR, one zlib-compressed IDAT
// (filter 0 on every row), IEND.
#include "png_write.h"

#include <zlib.h>

namespace m2u_infer {
namespace {

void put_u32_be(std::vector<uint8_t>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

void put_chunk(std::vector<uint8_t>& out, const char type[4], const std::vector<uint8_t>& data) {
  put_u32_be(out, static_cast<uint32_t>(data.size()));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uint32_t crc = static_cast<uint32_t>(::crc32(0L, out.data() + start, static_cast<uInt>(out.size() - start)));
  put_u32_be(out, crc);
}

}  // namespace

std::vector<uint8_t> encode_png(const void* pixels, int width, int height, int channels, int bit_depth) {
  if (width < 1 || height < 1 || (channels != 1 && channels != 3) || (bit_depth != 8 && bit_depth != 16) ||
      (bit_depth == 16 && channels != 1)) {
    return {};
  }
  const size_t sample_bytes = bit_depth / 8;
  const size_t row_bytes = static_cast<size_t>(width) * channels * sample_bytes;
  std::vector<uint8_t> raw((row_bytes + 1) * height);
  const uint8_t* source = static_cast<const uint8_t*>(pixels);
  for (int y = 0; y < height; ++y) {
    uint8_t* row = raw.data() + y * (row_bytes + 1);
    row[0] = 0;  // filter: none
    if (bit_depth == 8) {
      std::copy(source + y * row_bytes, source + (y + 1) * row_bytes, row + 1);
    } else {  // PNG stores 16-bit samples big-endian
      const uint16_t* samples = static_cast<const uint16_t*>(pixels) + static_cast<size_t>(y) * width;
      for (int x = 0; x < width; ++x) {
        row[1 + 2 * x] = static_cast<uint8_t>(samples[x] >> 8);
        row[2 + 2 * x] = static_cast<uint8_t>(samples[x]);
      }
    }
  }
  uLongf compressed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<uint8_t> compressed(compressed_size);
  if (compress2(compressed.data(), &compressed_size, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK) {
    return {};
  }
  compressed.resize(compressed_size);
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> header;
  put_u32_be(header, static_cast<uint32_t>(width));
  put_u32_be(header, static_cast<uint32_t>(height));
  header.push_back(static_cast<uint8_t>(bit_depth));
  header.push_back(channels == 1 ? 0 : 2);  // grey or truecolour
  header.push_back(0);  // deflate
  header.push_back(0);  // adaptive filtering
  header.push_back(0);  // no interlace
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", compressed);
  put_chunk(png, "IEND", {});
  return png;
}

}  // namespace m2u_infer
