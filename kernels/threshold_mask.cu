// threshold_mask.cu - a binary mask from a probability plane: 255 where
// p > threshold (strict; NaN gives 0), else 0 (mask_kernels.h).
//
// One thread per pixel. Per pixel: 1 comparison. Minimal DRAM traffic:
// 4 bytes read, 1 byte written.
#include "mask_kernels.h"

#include <cmath>

#include "launch.h"
#include "plane_support.h"

namespace m2u {
namespace {

M2U_HOT_KERNEL __global__ void kernel_threshold_mask(const float* __restrict__ probability,
                                                     int width, size_t pitch_floats,
                                                     float threshold, uint8_t* __restrict__ mask,
                                                     size_t mask_pitch_bytes) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (x >= width) return;
  const size_t y = blockIdx.y;
  const float p = probability[y * pitch_floats + x];
  mask[y * mask_pitch_bytes + x] = p > threshold ? uint8_t{255} : uint8_t{0};
}

}  // namespace

cudaError_t threshold_mask(const float* probability, int height, int width, size_t pitch_floats,
                           float threshold, uint8_t* mask, size_t mask_pitch_bytes,
                           cudaStream_t stream) {
  if (!valid_plane(probability, height, width, pitch_floats) ||
      !valid_plane(mask, height, width, mask_pitch_bytes) || std::isnan(threshold)) {
    return cudaErrorInvalidValue;
  }
  const RowGroupLaunch shape = plane_launch(height, width);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("threshold_mask", kernel_threshold_mask, shape.grid, shape.block, 0, stream,
                probability, width, pitch_floats, threshold, mask, mask_pitch_bytes);
}

}  // namespace m2u
