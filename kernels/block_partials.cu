// block_partials.cu - the deterministic second pass of every reduction
// over pixels in training (training_kernels.h): one thread per output
// value adds the blocks' partial rows in row order. Per value `blocks`
// FLOPs and 4 (blocks + 1) bytes of DRAM traffic.
#include "launch.h"
#include "launcher_support.h"
#include "training_kernels.h"

namespace m2u {
namespace {

constexpr int kThreads = 256;

__global__ void kernel_sum_block_partials(const float* partials, int blocks, int count, float* out) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= count) return;
  float sum = 0.0f;
  for (int b = 0; b < blocks; ++b) sum += partials[static_cast<size_t>(b) * count + i];
  out[i] = sum;
}

}  // namespace

cudaError_t sum_block_partials(const float* partials, int blocks, int count, float* out,
                               cudaStream_t stream) {
  if (partials == nullptr || out == nullptr || blocks < 1 || count < 1) return cudaErrorInvalidValue;
  const float* partials_end = partials + static_cast<size_t>(blocks) * count;
  if (out < partials_end && partials < out + count) return cudaErrorInvalidValue;
  return launch("sum_block_partials", kernel_sum_block_partials,
                dim3(static_cast<unsigned>((count + kThreads - 1) / kThreads)), dim3(kThreads), 0,
                stream, partials, blocks, count, out);
}

}  // namespace m2u
