// probability_histogram.cu - the 256-bin histogram of a probability plane's
// 8-bit values round(p * 255) (ties to even, clamped, NaN in bin 0), for
// Otsu's threshold (mask_kernels.h, otsu.h).
//
// Blocks of up to 256 threads (one column each) over a stripe of columns,
// grid y striding the rows (about kRowsPerBlock rows a block). Each block
// counts into a shared-memory histogram (shared atomicAdd on unsigned), then
// adds its non-zero bins to the global one (global atomicAdd on unsigned:
// sm_53 has both natively). Integer counts: the same result in any order.
//
// Per pixel: 1 FLOP (p * 255), the rounding and one shared atomic. Minimal
// DRAM traffic: 4 bytes read; plus at most 256 global atomics a block.
//
// device_check: kernel_probability_histogram expects-ptx atom.shared.add.u32
#include "mask_kernels.h"

#include <climits>

#include "launch.h"
#include "plane_support.h"

namespace m2u {
namespace {

constexpr int kHistogramThreads = 256;
constexpr int kRowsPerBlock = 32;

// otsu.h's probability_bin on the device: p * 255 clamped to [0, 255] in
// float first (fmaxf gives 0 for NaN), then rounded ties to even. Clamping
// before the conversion keeps the result independent of how the float-to-
// int conversion treats values beyond int: PTX's cvt saturates (+inf ->
// INT_MAX), but the GPU simulator's does not (+inf, 1e30 -> INT_MIN, bin 0),
// which is how the simulator run found this kernel relying on it.
// The integer clamp after it bounds the index for the compiler too (the
// emulation's host build would otherwise fold an out-of-range constant
// address into a relocation for the conversion's overflow path).
__device__ __forceinline__ int probability_bin_device(float p) {
  return min(max(__float2int_rn(fminf(fmaxf(p * 255.0f, 0.0f), 255.0f)), 0), kProbabilityBins - 1);
}

__global__ void kernel_probability_histogram(const float* __restrict__ probability, int height,
                                             int width, size_t pitch_floats,
                                             unsigned* __restrict__ bins) {
  __shared__ unsigned block_bins[kProbabilityBins];
  const int thread = static_cast<int>(threadIdx.x);
  const int threads = static_cast<int>(blockDim.x);
  for (int b = thread; b < kProbabilityBins; b += threads) block_bins[b] = 0u;
  __syncthreads();

  const int x = static_cast<int>(blockIdx.x) * threads + thread;
  if (x < width) {
    for (int y = static_cast<int>(blockIdx.y); y < height; y += static_cast<int>(gridDim.y)) {
      const float p = probability[static_cast<size_t>(y) * pitch_floats + x];
      atomicAdd(&block_bins[probability_bin_device(p)], 1u);
    }
  }
  __syncthreads();

  for (int b = thread; b < kProbabilityBins; b += threads) {
    const unsigned count = block_bins[b];
    if (count != 0u) atomicAdd(&bins[b], count);
  }
}

}  // namespace

cudaError_t probability_histogram(const float* probability, int height, int width,
                                  size_t pitch_floats, unsigned* bins256, cudaStream_t stream) {
  if (!valid_plane(probability, height, width, pitch_floats) ||
      !valid_plane(bins256, 1, kProbabilityBins, kProbabilityBins) ||
      static_cast<unsigned long long>(height) * static_cast<unsigned long long>(width) >
          static_cast<unsigned long long>(UINT_MAX)) {
    return cudaErrorInvalidValue;
  }
  const int block = width >= kHistogramThreads ? kHistogramThreads : round_up(width, 32);
  const unsigned column_blocks = static_cast<unsigned>((width + block - 1) / block);
  const unsigned row_blocks = static_cast<unsigned>((height + kRowsPerBlock - 1) / kRowsPerBlock);
  const cudaError_t status =
      cudaMemsetAsync(bins256, 0, kProbabilityBins * sizeof(unsigned), stream);
  if (status != cudaSuccess) return status;
  return launch("probability_histogram", kernel_probability_histogram,
                dim3(column_blocks, row_blocks), dim3(static_cast<unsigned>(block)), 0, stream,
                probability, height, width, pitch_floats, bins256);
}

}  // namespace m2u
