// flat_field.cu - flat-field correction of an intensity plane: out = image /
// max(flat, kFlatFieldFloor), NaN propagated (dpc_kernels.h).
//
// One thread per pixel. Per pixel: 1 FLOP (the division) and a compare.
// Minimal DRAM traffic: 8 bytes read (image and flat), 4 bytes written.
#include "dpc_kernels.h"

#include "launch.h"
#include "plane_support.h"

namespace m2u {
namespace {

// No __restrict__: `out` may alias `image` or `flat` (each thread reads its
// pixel before writing it).
__global__ void kernel_flat_field_divide(const float* image, const float* flat, int width,
                                         size_t pitch_floats, float* out) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (x >= width) return;
  const size_t i = static_cast<size_t>(blockIdx.y) * pitch_floats + x;
  const float divisor = flat[i];
  // `<` is false for NaN, so a NaN flat stays NaN instead of becoming the floor.
  out[i] = image[i] / (divisor < kFlatFieldFloor ? kFlatFieldFloor : divisor);
}

}  // namespace

cudaError_t flat_field_divide(const float* image, const float* flat, int height, int width,
                              size_t pitch_floats, float* out, cudaStream_t stream) {
  if (!valid_plane(image, height, width, pitch_floats) ||
      !valid_plane(flat, height, width, pitch_floats) ||
      !valid_plane(out, height, width, pitch_floats)) {
    return cudaErrorInvalidValue;
  }
  const RowGroupLaunch shape = plane_launch(height, width);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("flat_field_divide", kernel_flat_field_divide, shape.grid, shape.block, 0, stream,
                image, flat, width, pitch_floats, out);
}

}  // namespace m2u
