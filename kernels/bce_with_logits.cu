// bce_with_logits.cu - the fine-tuning loss: binary cross-entropy computed
// from the logits (the final 1x1 convolution's output before the sigmoid),
// and its gradient, averaged over the frame's own pixels
// (training_kernels.h).
//
// Per element: loss max(z, 0) - z t + log1p(exp(-|z|)), which neither
// overflows nor loses the small losses of confident logits; gradient
// (sigmoid(z) - t) / count. One thread per (pixel, 4-channel group); each
// block sums its threads' losses in thread order (thread 0, in shared
// memory) into one partial, which sum_block_partials adds in block order:
// the loss is bit-identical from run to run. Per element about 20 FLOPs
// (two exponentials and a log); DRAM traffic 12 bytes an element plus 4
// per block.
#include <climits>

#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"
#include "training_kernels.h"

namespace m2u {
namespace {

constexpr int kMaxThreads = 256;  // row_group_launch's largest block

__global__ void kernel_bce_with_logits(TensorView<const float> logits, TensorView<const float> targets,
                                       int valid_height, int valid_width, float inverse_count,
                                       TensorView<float> gradient, float* loss_partials, int groups) {
  constexpr int kGroup = ChannelAlignment<float>::value;
  __shared__ float losses[kMaxThreads];
  const PixelGroup at = pixel_group_of_thread<kGroup>(logits.width, groups);
  float loss = 0.0f;
  if (at.valid) {
    float z[kGroup], t[kGroup], g[kGroup];
    load_group(pixel_at(logits, at.n, at.y, at.x) + at.first_channel, z);
    load_group(pixel_at(targets, at.n, at.y, at.x) + at.first_channel, t);
    const bool inside = at.y < valid_height && at.x < valid_width;
    M2U_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      g[j] = 0.0f;
      if (inside && at.first_channel + j < logits.channels) {
        const float element = fmaxf(z[j], 0.0f) - z[j] * t[j] + log1pf(expf(-fabsf(z[j])));
        loss += element * inverse_count;
        g[j] = (1.0f / (1.0f + expf(-z[j])) - t[j]) * inverse_count;
      }
    }
    store_group(pixel_at(gradient, at.n, at.y, at.x) + at.first_channel, g);
  }
  losses[threadIdx.x] = loss;
  __syncthreads();
  if (threadIdx.x == 0) {
    float sum = 0.0f;
    for (unsigned i = 0; i < blockDim.x; ++i) sum += losses[i];
    loss_partials[(blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x] = sum;
  }
}

RowGroupLaunch bce_launch(const TensorView<const float>& logits) {
  const int groups = padded_channels<float>(logits.channels) / ChannelAlignment<float>::value;
  RowGroupLaunch shape = row_group_launch(logits.batch, logits.height, logits.width, groups);
  // One loss partial per block, indexed as an int.
  if (static_cast<unsigned long long>(shape.grid.x) * shape.grid.y * shape.grid.z > INT_MAX) shape.fits = false;
  return shape;
}

}  // namespace

int bce_loss_blocks(const TensorView<const float>& logits) {
  const RowGroupLaunch shape = bce_launch(logits);
  return shape.fits ? static_cast<int>(shape.grid.x * shape.grid.y * shape.grid.z) : 0;
}

cudaError_t bce_with_logits(TensorView<const float> logits, TensorView<const float> targets,
                            int valid_height, int valid_width, TensorView<float> gradient,
                            float* loss_partials, cudaStream_t stream) {
  if (!valid_view(logits) || !valid_view(targets) || !valid_view(gradient) ||
      !same_shape(logits, targets) || !same_shape(logits, gradient) || loss_partials == nullptr ||
      valid_height < 1 || valid_height > logits.height || valid_width < 1 || valid_width > logits.width) {
    return cudaErrorInvalidValue;
  }
  const RowGroupLaunch shape = bce_launch(logits);
  if (!shape.fits) return cudaErrorInvalidValue;
  const double count = static_cast<double>(logits.batch) * logits.channels * valid_height * valid_width;
  const int groups = padded_channels<float>(logits.channels) / ChannelAlignment<float>::value;
  return launch("bce_with_logits", kernel_bce_with_logits, shape.grid, shape.block, 0, stream, logits,
                targets, valid_height, valid_width, static_cast<float>(1.0 / count), gradient,
                loss_partials, groups);
}

}  // namespace m2u
