// mask_targets.cu - the loss's targets from masks as the caller gives them
// (training_kernels.h): planar U8 or F32 images of the frame's own size,
// in host staging or the caller's device memory, into the NHWC targets
// view of the padded frame, zeros in the padding pixels and channels.
//
// One thread per (pixel, 4-channel group) of the padded frame; a float
// target outside [0, 1] (NaN included) is written as 0 and counted per
// image (one atomicAdd per thread that saw any). DRAM traffic: the mask
// bytes read once, 16 bytes a target group written.
#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"
#include "training_kernels.h"

namespace m2u {
namespace {

__global__ void kernel_mask_targets(MaskPlanes masks, TensorView<float> targets, int groups,
                                    unsigned long long* invalid) {
  constexpr int kGroup = ChannelAlignment<float>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(targets.width, groups);
  if (!at.valid) return;
  const bool inside = at.y < masks.height && at.x < masks.width;
  const unsigned char* row = static_cast<const unsigned char*>(masks.data);
  if (inside) row += at.n * masks.image_stride + at.y * masks.row_stride;
  float values[kGroup];
  unsigned bad = 0;
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    const int c = at.first_channel + j;
    float value = 0.0f;
    if (inside && c < masks.channels) {
      const unsigned char* plane = row + c * masks.plane_stride;
      if (masks.is_float) {
        value = reinterpret_cast<const float*>(plane)[at.x];
        if (!(value >= 0.0f && value <= 1.0f)) {
          value = 0.0f;
          ++bad;
        }
      } else {
        value = plane[at.x] != 0 ? 1.0f : 0.0f;
      }
    }
    values[j] = value;
  }
  store_group(pixel_at(targets, at.n, at.y, at.x) + at.first_channel, values);
  if (bad != 0) atomicAdd(&invalid[at.n], static_cast<unsigned long long>(bad));
}

}  // namespace

cudaError_t mask_targets(const MaskPlanes& masks, TensorView<float> targets, unsigned long long* invalid,
                         cudaStream_t stream) {
  const size_t element = masks.is_float ? sizeof(float) : 1;
  const size_t row_bytes = static_cast<size_t>(masks.width) * element;
  const bool aligned = !masks.is_float || (reinterpret_cast<uintptr_t>(masks.data) % sizeof(float) == 0 &&
                                           masks.row_stride % sizeof(float) == 0 &&
                                           masks.plane_stride % sizeof(float) == 0 &&
                                           masks.image_stride % sizeof(float) == 0);
  if (!valid_view(targets) || masks.data == nullptr || invalid == nullptr || !aligned || masks.batch != targets.batch ||
      masks.channels != targets.channels || masks.height < 1 || masks.width < 1 || masks.height > targets.height ||
      masks.width > targets.width || masks.row_stride < row_bytes ||
      masks.plane_stride < masks.row_stride * (masks.height - 1) + row_bytes ||
      masks.image_stride < masks.plane_stride * (masks.channels - 1) + masks.row_stride * (masks.height - 1) + row_bytes) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<float>(targets.channels) / ChannelAlignment<float>::value;
  const RowGroupLaunch shape = row_group_launch(targets.batch, targets.height, targets.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("mask_targets", kernel_mask_targets, shape.grid, shape.block, 0, stream, masks, targets, groups,
                invalid);
}

}  // namespace m2u
