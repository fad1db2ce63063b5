// activation_statistics.cu - INT8 calibration's activation statistics
// (calibration_kernels.h): max |v| and the 2048-bin histogram of |v| of an
// FP32 view's logical channels (the histogram leaves out exact zeros).
//
// Both kernels: blocks of 256 threads striding the view's values (pixel
// major, channel minor; blockIdx.y strides the pixels of large views).
// absmax: a per-thread maximum, a shared-memory tree reduction, one global
// atomicMax of the float's bits per block. histogram: a shared-memory
// histogram (shared atomicAdd on unsigned), then the block's non-zero bins
// added to the 64-bit global counters. Integer results: the same in any
// order and on every executor.
//
// Per value: 1 FLOP (absmax), 2 (histogram: |v| * bins / range, clamp) and
// one shared atomic. Minimal DRAM traffic: 4 bytes per logical value read
// (the view's padding is skipped but shares its 16-byte groups).
//
// device_check: kernel_activation_histogram expects-ptx atom.shared.add.u32
#include "calibration_kernels.h"

#include <climits>
#include <cmath>

#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kStatisticsThreads = 256;
constexpr unsigned kMaxStatisticsBlocks = 1024;

__device__ __forceinline__ float view_value(const TensorView<const float>& view, size_t index, int channels) {
  const size_t pixel = index / static_cast<size_t>(channels);
  const int channel = static_cast<int>(index % static_cast<size_t>(channels));
  return view.data[pixel * static_cast<size_t>(view.pixel_stride) + channel];
}

__global__ void kernel_activation_absmax(TensorView<const float> view, size_t values,
                                         unsigned int* __restrict__ absmax_bits) {
  __shared__ float block_max[kStatisticsThreads];
  const int thread = static_cast<int>(threadIdx.x);
  float largest = 0.0f;
  const size_t stride = static_cast<size_t>(gridDim.x) * kStatisticsThreads;
  for (size_t i = static_cast<size_t>(blockIdx.x) * kStatisticsThreads + thread; i < values; i += stride) {
    const float magnitude = fabsf(view_value(view, i, view.channels));
    if (magnitude <= 3.402823466e38f) largest = fmaxf(largest, magnitude);  // false for NaN and inf
  }
  block_max[thread] = largest;
  __syncthreads();
  for (int half = kStatisticsThreads / 2; half > 0; half /= 2) {
    if (thread < half) block_max[thread] = fmaxf(block_max[thread], block_max[thread + half]);
    __syncthreads();
  }
  if (thread == 0) atomicMax(absmax_bits, __float_as_uint(block_max[0]));
}

__global__ void kernel_activation_histogram(TensorView<const float> view, size_t values, float bins_per_unit,
                                            unsigned long long* __restrict__ bins) {
  __shared__ unsigned block_bins[kCalibrationBins];
  const int thread = static_cast<int>(threadIdx.x);
  for (int b = thread; b < kCalibrationBins; b += kStatisticsThreads) block_bins[b] = 0u;
  __syncthreads();
  const size_t stride = static_cast<size_t>(gridDim.x) * kStatisticsThreads;
  for (size_t i = static_cast<size_t>(blockIdx.x) * kStatisticsThreads + thread; i < values; i += stride) {
    const float magnitude = fabsf(view_value(view, i, view.channels));
    // Exact zeros (most of a ReLU's output) quantise exactly at any scale:
    // left out, they do not pull the entropy method's clipping down.
    if (!(magnitude <= 3.402823466e38f) || magnitude == 0.0f) continue;
    // Clamped in float before converting (the simulator's cvt does not
    // saturate), then in int to bound the index for the compiler.
    const float position = fminf(magnitude * bins_per_unit, static_cast<float>(kCalibrationBins - 1));
    const int bin = min(max(__float2int_rz(position), 0), kCalibrationBins - 1);
    atomicAdd(&block_bins[bin], 1u);
  }
  __syncthreads();
  for (int b = thread; b < kCalibrationBins; b += kStatisticsThreads) {
    const unsigned count = block_bins[b];
    if (count != 0u) atomicAdd(&bins[b], static_cast<unsigned long long>(count));
  }
}

dim3 statistics_grid(size_t values) {
  const size_t blocks = (values + kStatisticsThreads - 1) / kStatisticsThreads;
  return dim3(static_cast<unsigned>(blocks < kMaxStatisticsBlocks ? blocks : kMaxStatisticsBlocks));
}

}  // namespace

cudaError_t activation_absmax(TensorView<const float> view, unsigned int* absmax_bits, cudaStream_t stream) {
  if (!valid_view(view) || absmax_bits == nullptr) return cudaErrorInvalidValue;
  const size_t values = view.pixel_count() * static_cast<size_t>(view.channels);
  return launch("activation_absmax", kernel_activation_absmax, statistics_grid(values), dim3(kStatisticsThreads), 0,
                stream, view, values, absmax_bits);
}

cudaError_t activation_histogram(TensorView<const float> view, float range, unsigned long long* bins,
                                 cudaStream_t stream) {
  if (!valid_view(view) || bins == nullptr || !(range > 0.0f) || !std::isfinite(range)) {
    return cudaErrorInvalidValue;
  }
  const size_t values = view.pixel_count() * static_cast<size_t>(view.channels);
  const float bins_per_unit = static_cast<float>(kCalibrationBins) / range;
  if (!std::isfinite(bins_per_unit)) return cudaErrorInvalidValue;
  return launch("activation_histogram", kernel_activation_histogram, statistics_grid(values),
                dim3(kStatisticsThreads), 0, stream, view, values, bins_per_unit, bins);
}

}  // namespace m2u
