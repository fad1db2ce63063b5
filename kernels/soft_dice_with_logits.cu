// soft_dice_with_logits.cu - the soft Dice part of the "bce+dice"
// fine-tuning loss (training_kernels.h): the Jaccard the paper reports is
// closer to Dice than to cross-entropy. Pass 1, one thread per (pixel,
// 4-channel group) of the valid region, each block summing p t, p and t in
// thread order into one row of partials (the rows then added in block
// order by sum_block_partials: deterministic); pass 2 adds the gradient,
// which needs the three global sums, element by element. Per element
// about 25 FLOPs over both passes (an exponential each); DRAM traffic 8
// bytes an element in pass 1, 16 in pass 2.
#include "device_math.cuh"
#include "launch.h"
#include "launcher_support.h"
#include "training_kernels.h"

namespace m2u {
namespace {

constexpr int kMaxThreads = 256;  // row_group_launch's largest block

__device__ __forceinline__ float sigmoid(float z) { return 1.0f / (1.0f + expf(-z)); }

__global__ void kernel_soft_dice_sums(TensorView<const float> logits, TensorView<const float> targets,
                                      int valid_height, int valid_width, float* partials, int groups) {
  constexpr int kGroup = ChannelAlignment<float>::value;
  __shared__ float sums[3][kMaxThreads];
  const PixelGroup at = pixel_group_of_thread<kGroup>(logits.width, groups);
  float intersection = 0.0f, predicted = 0.0f, actual = 0.0f;
  if (at.valid && at.y < valid_height && at.x < valid_width) {
    float z[kGroup], t[kGroup];
    load_group(pixel_at(logits, at.n, at.y, at.x) + at.first_channel, z);
    load_group(pixel_at(targets, at.n, at.y, at.x) + at.first_channel, t);
    M2U_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      if (at.first_channel + j < logits.channels) {
        const float p = sigmoid(z[j]);
        intersection += p * t[j];
        predicted += p;
        actual += t[j];
      }
    }
  }
  sums[0][threadIdx.x] = intersection;
  sums[1][threadIdx.x] = predicted;
  sums[2][threadIdx.x] = actual;
  __syncthreads();
  if (threadIdx.x < 3) {
    float sum = 0.0f;
    for (unsigned i = 0; i < blockDim.x; ++i) sum += sums[threadIdx.x][i];
    partials[((blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x) * 3 + threadIdx.x] = sum;
  }
}

__global__ void kernel_soft_dice_gradient(TensorView<const float> logits, TensorView<const float> targets,
                                          int valid_height, int valid_width, const float* sums, float smoothing,
                                          TensorView<float> gradient, int groups) {
  constexpr int kGroup = ChannelAlignment<float>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(logits.width, groups);
  if (!at.valid || at.y >= valid_height || at.x >= valid_width) return;
  const float numerator = 2.0f * sums[0] + smoothing;
  const float denominator = sums[1] + sums[2] + smoothing;
  const float scale = 1.0f / (denominator * denominator);
  float z[kGroup], t[kGroup], g[kGroup];
  load_group(pixel_at(logits, at.n, at.y, at.x) + at.first_channel, z);
  load_group(pixel_at(targets, at.n, at.y, at.x) + at.first_channel, t);
  float* destination = pixel_at(gradient, at.n, at.y, at.x) + at.first_channel;
  load_group(destination, g);
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    if (at.first_channel + j < logits.channels) {
      const float p = sigmoid(z[j]);
      g[j] -= (2.0f * t[j] * denominator - numerator) * scale * p * (1.0f - p);
    }
  }
  store_group(destination, g);
}

bool valid_loss_views(const TensorView<const float>& logits, const TensorView<const float>& targets,
                      int valid_height, int valid_width) {
  return valid_view(logits) && valid_view(targets) && same_shape(logits, targets) && valid_height >= 1 &&
         valid_height <= logits.height && valid_width >= 1 && valid_width <= logits.width;
}

}  // namespace

cudaError_t soft_dice_sums(TensorView<const float> logits, TensorView<const float> targets, int valid_height,
                           int valid_width, float* partials, cudaStream_t stream) {
  if (!valid_loss_views(logits, targets, valid_height, valid_width) || partials == nullptr) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<float>(logits.channels) / ChannelAlignment<float>::value;
  const RowGroupLaunch shape = row_group_launch(logits.batch, logits.height, logits.width, groups);
  if (!shape.fits || bce_loss_blocks(logits) == 0) return cudaErrorInvalidValue;  // its partials: one per block
  return launch("soft_dice_sums", kernel_soft_dice_sums, shape.grid, shape.block, 0, stream, logits, targets,
                valid_height, valid_width, partials, groups);
}

cudaError_t soft_dice_gradient(TensorView<const float> logits, TensorView<const float> targets, int valid_height,
                               int valid_width, const float* sums, float smoothing, TensorView<float> gradient,
                               cudaStream_t stream) {
  if (!valid_loss_views(logits, targets, valid_height, valid_width) || sums == nullptr || !valid_view(gradient) ||
      !same_shape(logits, gradient) || !(smoothing >= 0.0f)) {
    return cudaErrorInvalidValue;
  }
  const int groups = padded_channels<float>(logits.channels) / ChannelAlignment<float>::value;
  const RowGroupLaunch shape = row_group_launch(logits.batch, logits.height, logits.width, groups);
  if (!shape.fits || bce_loss_blocks(logits) == 0) return cudaErrorInvalidValue;  // its partials: one per block
  return launch("soft_dice_gradient", kernel_soft_dice_gradient, shape.grid, shape.block, 0, stream, logits,
                targets, valid_height, valid_width, sums, smoothing, gradient, groups);
}

}  // namespace m2u
