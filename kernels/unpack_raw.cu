// unpack_raw.cu - a raw monochrome camera frame (Mono8, Mono16, Mono12 in
// 16-bit words, GenICam Mono12p) into a float intensity plane in [0, 1]
// (raw_kernels.h).
//
// One thread per output pixel, the format a template parameter. Bytes are
// read one at a time and assembled little-endian, so the frame may have any
// alignment and row stride; Mono12 keeps the low 12 bits of each word; in
// Mono12p pixel x lives in group x / 2 (3 bytes): even x reads the group's
// bytes 0 and 1, odd x bytes 1 and 2, so a row reads exactly its
// ceil(3 * width / 2) bytes.
//
// Per pixel: 1 FLOP (the division by the full-scale value) and a few integer
// operations. Minimal DRAM traffic: 1 / 2 / 2 / 1.5 bytes read (Mono8 /
// Mono16 / Mono12 / Mono12p), 4 bytes written.
#include "raw_kernels.h"

#include "launch.h"
#include "plane_support.h"

namespace m2u {
namespace {

// The raw value of pixel x of a row (size_t byte offsets: 3 * width / 2
// may exceed int).
template <RawFormat kFormat>
__device__ __forceinline__ unsigned raw_value(const uint8_t* __restrict__ row, int x) {
  const size_t pixel = static_cast<size_t>(x);
  switch (kFormat) {
    case RawFormat::kMono8:
      return row[pixel];
    case RawFormat::kMono16:
      return static_cast<unsigned>(row[2 * pixel]) | static_cast<unsigned>(row[2 * pixel + 1]) << 8;
    case RawFormat::kMono12:
      return (static_cast<unsigned>(row[2 * pixel]) |
              static_cast<unsigned>(row[2 * pixel + 1]) << 8) &
             0xFFFu;
    case RawFormat::kMono12p:
      break;
  }
  const uint8_t* group = row + 3 * (pixel >> 1);
  if ((x & 1) == 0) {
    return static_cast<unsigned>(group[0]) | (static_cast<unsigned>(group[1]) & 0xFu) << 8;
  }
  return static_cast<unsigned>(group[1]) >> 4 | static_cast<unsigned>(group[2]) << 4;
}

template <RawFormat kFormat>
M2U_HOT_KERNEL __global__ void kernel_unpack_raw(const uint8_t* __restrict__ raw, int width,
                                                 size_t row_stride_bytes, float full_scale,
                                                 float* __restrict__ intensity,
                                                 size_t intensity_pitch_floats) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (x >= width) return;
  const size_t y = blockIdx.y;
  const unsigned value = raw_value<kFormat>(raw + y * row_stride_bytes, x);
  intensity[y * intensity_pitch_floats + x] = static_cast<float>(value) / full_scale;
}

}  // namespace

cudaError_t unpack_raw(const uint8_t* raw, RawFormat format, int height, int width,
                       size_t row_stride_bytes, float* intensity, size_t intensity_pitch_floats,
                       cudaStream_t stream) {
  const size_t row_bytes = raw_row_bytes(format, width);
  if (raw == nullptr || row_bytes == 0 || row_stride_bytes < row_bytes ||
      !valid_plane(intensity, height, width, intensity_pitch_floats)) {
    return cudaErrorInvalidValue;
  }
  // The frame's bytes, (height - 1) * stride + row_bytes, must fit size_t.
  const size_t rows_before_last = static_cast<size_t>(height) - 1;
  if (rows_before_last != 0 && row_stride_bytes > (SIZE_MAX - row_bytes) / rows_before_last) {
    return cudaErrorInvalidValue;
  }
  const RowGroupLaunch shape = plane_launch(height, width);
  if (!shape.fits) return cudaErrorInvalidValue;
  const float full_scale = static_cast<float>(raw_full_scale(format));
  switch (format) {
    case RawFormat::kMono8:
      return launch("unpack_raw_mono8", kernel_unpack_raw<RawFormat::kMono8>, shape.grid,
                    shape.block, 0, stream, raw, width, row_stride_bytes, full_scale, intensity,
                    intensity_pitch_floats);
    case RawFormat::kMono16:
      return launch("unpack_raw_mono16", kernel_unpack_raw<RawFormat::kMono16>, shape.grid,
                    shape.block, 0, stream, raw, width, row_stride_bytes, full_scale, intensity,
                    intensity_pitch_floats);
    case RawFormat::kMono12:
      return launch("unpack_raw_mono12", kernel_unpack_raw<RawFormat::kMono12>, shape.grid,
                    shape.block, 0, stream, raw, width, row_stride_bytes, full_scale, intensity,
                    intensity_pitch_floats);
    case RawFormat::kMono12p:
      return launch("unpack_raw_mono12p", kernel_unpack_raw<RawFormat::kMono12p>, shape.grid,
                    shape.block, 0, stream, raw, width, row_stride_bytes, full_scale, intensity,
                    intensity_pitch_floats);
  }
  return cudaErrorInvalidValue;
}

}  // namespace m2u
