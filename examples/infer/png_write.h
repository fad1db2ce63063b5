// png_write.h - writes 8- and 16-bit grey and 8-bit RGB PNG files (zlib),
// for m2u_infer's probability, mask, label and overlay images.
#ifndef M2U_EXAMPLES_INFER_PNG_WRITE_H
#define M2U_EXAMPLES_INFER_PNG_WRITE_H

#include <cstdint>
#include <string>
#include <vector>

namespace m2u_infer {

// `channels` 1 (grey) or 3 (RGB); `bit_depth` 8 or 16 (16: grey only,
// samples as host uint16_t). Returns the encoded file, or an empty vector.
std::vector<uint8_t> encode_png(const void* pixels, int width, int height, int channels, int bit_depth);

}  // namespace m2u_infer

#endif  // M2U_EXAMPLES_INFER_PNG_WRITE_H
