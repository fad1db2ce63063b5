// plane_support.h - host-side checks and launch shape shared by the
// launchers of the single-channel image kernels (raw unpacking, flat field,
// DPC, probability histogram and mask): a plane is `height` rows of `width`
// values of T, rows `pitch` elements apart, the first row at `data`.
#ifndef M2U_KERNELS_PLANE_SUPPORT_H
#define M2U_KERNELS_PLANE_SUPPORT_H

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "launcher_support.h"

namespace m2u {

// The bytes a plane's rows span, (height - 1) * pitch + width elements, or
// 0 when that overflows size_t (callers have checked height, width >= 1).
inline size_t plane_span_bytes(int height, int width, size_t pitch, size_t element_bytes) {
  const size_t rows_before_last = static_cast<size_t>(height) - 1;
  const size_t limit = SIZE_MAX / element_bytes;
  if (rows_before_last != 0 && pitch > (limit - static_cast<size_t>(width)) / rows_before_last) {
    return 0;
  }
  return (rows_before_last * pitch + static_cast<size_t>(width)) * element_bytes;
}

// A plane the kernels can address: data aligned to T, 1 <= height <= 65535
// (a grid row per image row), width >= 1, pitch >= width, span within size_t.
template <typename T>
inline bool valid_plane(const T* data, int height, int width, size_t pitch) {
  return data != nullptr && reinterpret_cast<uintptr_t>(data) % alignof(T) == 0 && height >= 1 &&
         height <= kMaxGridRows && width >= 1 && pitch >= static_cast<size_t>(width) &&
         plane_span_bytes(height, width, pitch, sizeof(T)) != 0;
}

// One thread per pixel: blockIdx.y the row, x covering the row in blocks of
// up to 256 threads (row_group_launch with one group per pixel).
inline RowGroupLaunch plane_launch(int height, int width) {
  return row_group_launch(1, height, width, 1);
}

}  // namespace m2u

#endif  // M2U_KERNELS_PLANE_SUPPORT_H
