// raw_kernels.h - launcher of the raw camera frame unpacking kernel
// (unpack_raw.cu): monochrome GenICam-style pixel formats into a float
// intensity plane in [0, 1], the first step of preprocessing.
#ifndef M2U_KERNELS_RAW_KERNELS_H
#define M2U_KERNELS_RAW_KERNELS_H

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace m2u {

// Raw monochrome pixel formats. Multi-byte values are little-endian whatever
// the machine; every row starts on a byte boundary, `row_stride_bytes` apart.
//   kMono8    one byte a pixel, intensity v / 255.
//   kMono16   16-bit words, intensity v / 65535.
//   kMono12   12 significant bits in 16-bit words, intensity v / 4095. A word
//             above 4095 is a format error for the host to detect (the
//             data is not Mono12); the kernel does not check it, it uses the
//             low 12 bits (v & 0xFFF), so the output stays in [0, 1].
//   kMono12p  GenICam Mono12p: two pixels in three bytes, byte 0 = p0 bits
//             0..7, byte 1 low nibble = p0 bits 8..11, byte 1 high nibble =
//             p1 bits 0..3, byte 2 = p1 bits 4..11; intensity v / 4095. A
//             row of odd width ends with a half-used group (its last pixel
//             in bytes 0 and 1, byte 2 absent): ceil(3 * width / 2) bytes.
//             Packing that runs on across rows of odd width (a row starting
//             mid-byte) is not this format; unpack such frames as one row.
enum class RawFormat : int { kMono8 = 0, kMono16 = 1, kMono12 = 2, kMono12p = 3 };

// The bytes a row of `width` pixels of `format` occupies (the minimal row
// stride): width, 2 * width, 2 * width, ceil(3 * width / 2). 0 for width < 1
// or an unknown format.
inline size_t raw_row_bytes(RawFormat format, int width) {
  if (width < 1) return 0;
  const size_t pixels = static_cast<size_t>(width);
  switch (format) {
    case RawFormat::kMono8:
      return pixels;
    case RawFormat::kMono16:
    case RawFormat::kMono12:
      return 2 * pixels;
    case RawFormat::kMono12p:
      return (3 * pixels + 1) / 2;
  }
  return 0;
}

// The raw value of intensity 1 (255, 65535, 4095, 4095); 0 for an unknown format.
inline unsigned raw_full_scale(RawFormat format) {
  switch (format) {
    case RawFormat::kMono8:
      return 255u;
    case RawFormat::kMono16:
      return 65535u;
    case RawFormat::kMono12:
    case RawFormat::kMono12p:
      return 4095u;
  }
  return 0u;
}

// intensity[y * intensity_pitch_floats + x] = value(y, x) / raw_full_scale
// (an IEEE float division, so exact to the rounding), for the height x
// width frame whose first row is at `raw` (device memory, any alignment),
// rows row_stride_bytes >= raw_row_bytes(format, width) apart; only each
// row's raw_row_bytes are read. `intensity` (device, 4-byte aligned) must not
// overlap `raw`; its columns [width, intensity_pitch_floats) are not written.
// cudaErrorInvalidValue for a null pointer, an unknown format, height outside
// [1, 65535], width < 1, a stride below the row bytes, a pitch below width
// or a misaligned `intensity`; otherwise the launch status.
cudaError_t unpack_raw(const uint8_t* raw, RawFormat format, int height, int width,
                       size_t row_stride_bytes, float* intensity, size_t intensity_pitch_floats,
                       cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_RAW_KERNELS_H
