// fill.cu - fills a device buffer with a repeated 32-bit pattern (for
// example a NaN, to poison outputs before a kernel runs).
#include "fill.h"

#include "launch.h"

namespace m2u {
namespace {

constexpr int kFillBlock = 256;

M2U_HOT_KERNEL __global__ void kernel_fill_u32(uint32_t* destination, uint32_t pattern, size_t count) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride) {
    destination[i] = pattern;
  }
}

}  // namespace

cudaError_t fill_u32(uint32_t* destination, uint32_t pattern, size_t count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  const size_t blocks_needed = (count + kFillBlock - 1) / kFillBlock;
  const unsigned blocks = static_cast<unsigned>(blocks_needed < 4096 ? blocks_needed : 4096);
  return launch("fill_u32", kernel_fill_u32, dim3(blocks), dim3(kFillBlock), 0, stream, destination,
                pattern, count);
}

}  // namespace m2u
