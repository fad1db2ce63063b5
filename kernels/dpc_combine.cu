// dpc_combine.cu - differential phase contrast from a left / right pair of
// flat-fielded planes: dpc = clip((L - R) / (L + R) + 0.5, 0, 1), 0.5 where
// L + R == 0, NaN propagated (dpc_kernels.h).
//
// One thread per pixel. Per pixel: 4 FLOPs (subtract, add, divide, add)
// and the clip. Minimal DRAM traffic: 8 bytes read, 4 bytes written.
#include "dpc_kernels.h"

#include "launch.h"
#include "plane_support.h"

namespace m2u {
namespace {

// No __restrict__: `dpc` may alias `left` or `right`.
__global__ void kernel_dpc_combine(const float* left, const float* right, int width,
                                   size_t pitch_floats, float* dpc) {
  const int x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (x >= width) return;
  const size_t i = static_cast<size_t>(blockIdx.y) * pitch_floats + x;
  const float l = left[i];
  const float r = right[i];
  const float sum = l + r;
  float value = 0.5f;
  if (sum != 0.0f) {  // true for NaN, which then runs through
    value = (l - r) / sum + 0.5f;
    // Comparisons rather than fminf / fmaxf, which would turn NaN into a bound.
    value = value < 0.0f ? 0.0f : (value > 1.0f ? 1.0f : value);
  }
  dpc[i] = value;
}

}  // namespace

cudaError_t dpc_combine(const float* left, const float* right, int height, int width,
                        size_t pitch_floats, float* dpc, cudaStream_t stream) {
  if (!valid_plane(left, height, width, pitch_floats) ||
      !valid_plane(right, height, width, pitch_floats) ||
      !valid_plane(dpc, height, width, pitch_floats)) {
    return cudaErrorInvalidValue;
  }
  const RowGroupLaunch shape = plane_launch(height, width);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("dpc_combine", kernel_dpc_combine, shape.grid, shape.block, 0, stream, left, right,
                width, pitch_floats, dpc);
}

}  // namespace m2u
