// correct_kernels.cu - textbook CUDA kernels that must give exact results
// under every emulated schedule (and on a real GPU).
#include "emu_test_kernels.h"

#include "launch.h"

namespace emu_test {
namespace {

constexpr int kTile = 32;
constexpr int kTileRows = 8;

__global__ void kernel_transpose_tiled(const float* in, float* out, int rows, int cols) {
  __shared__ float tile[kTile][kTile + 1];  // +1: no shared bank conflicts
  int column = blockIdx.x * kTile + threadIdx.x;
  int row = blockIdx.y * kTile + threadIdx.y;
  for (int r = 0; r < kTile; r += kTileRows) {
    if (column < cols && row + r < rows) tile[threadIdx.y + r][threadIdx.x] = in[(row + r) * cols + column];
  }
  __syncthreads();
  column = blockIdx.y * kTile + threadIdx.x;
  row = blockIdx.x * kTile + threadIdx.y;
  for (int r = 0; r < kTile; r += kTileRows) {
    if (column < rows && row + r < cols) out[(row + r) * rows + column] = tile[threadIdx.x][threadIdx.y + r];
  }
}

constexpr int kSumBlock = 256;

__global__ void kernel_block_sum(const int* in, int* out, int count) {
  __shared__ int partial[kSumBlock];
  const int tid = static_cast<int>(threadIdx.x);
  const int i = blockIdx.x * kSumBlock + tid;
  partial[tid] = i < count ? in[i] : 0;
  __syncthreads();
  for (int stride = kSumBlock / 2; stride >= 32; stride /= 2) {
    if (tid < stride) partial[tid] += partial[tid + stride];
    __syncthreads();
  }
  if (tid < 32) {
    int value = partial[tid];
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xFFFFFFFFu, value, offset);
    if (tid == 0) out[blockIdx.x] = value;
  }
}

__global__ void kernel_block_inclusive_scan(const int* in, int* out, int count) {
  M2U_DYNAMIC_SHARED(int, buffers);  // two buffers of blockDim.x ints
  const int n = static_cast<int>(blockDim.x);
  const int tid = static_cast<int>(threadIdx.x);
  const int i = blockIdx.x * n + tid;
  int source = 0;
  buffers[tid] = i < count ? in[i] : 0;
  __syncthreads();
  for (int offset = 1; offset < n; offset *= 2) {
    const int* from = buffers + source * n;
    int* to = buffers + (1 - source) * n;
    to[tid] = tid >= offset ? from[tid] + from[tid - offset] : from[tid];
    source = 1 - source;
    __syncthreads();
  }
  if (i < count) out[i] = buffers[source * n + tid];
}

__global__ void kernel_histogram(const unsigned char* values, int count, unsigned* bins, int bin_count) {
  M2U_DYNAMIC_SHARED(unsigned, local_bins);
  for (int b = threadIdx.x; b < bin_count; b += blockDim.x) local_bins[b] = 0;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
    atomicAdd(&local_bins[values[i]], 1u);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < bin_count; b += blockDim.x) {
    if (local_bins[b] != 0) atomicAdd(&bins[b], local_bins[b]);
  }
}

__global__ void kernel_write_indices(int4* records) {
  const unsigned threads_per_block = blockDim.x * blockDim.y * blockDim.z;
  const unsigned block_linear = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread_linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  records[block_linear * threads_per_block + thread_linear] =
      make_int4(static_cast<int>(threadIdx.x), static_cast<int>(threadIdx.y),
                static_cast<int>(threadIdx.z), static_cast<int>(block_linear));
}

}  // namespace

cudaError_t transpose_tiled(const float* in, float* out, int rows, int cols, cudaStream_t stream) {
  const dim3 grid((cols + kTile - 1) / kTile, (rows + kTile - 1) / kTile);
  return m2u::launch("transpose_tiled", kernel_transpose_tiled, grid, dim3(kTile, kTileRows), 0,
                     stream, in, out, rows, cols);
}

cudaError_t block_sum(const int* in, int* out, int count, cudaStream_t stream) {
  return m2u::launch("block_sum", kernel_block_sum, dim3((count + kSumBlock - 1) / kSumBlock),
                     dim3(kSumBlock), 0, stream, in, out, count);
}

cudaError_t block_inclusive_scan(const int* in, int* out, int count, int block, cudaStream_t stream) {
  return m2u::launch("block_inclusive_scan", kernel_block_inclusive_scan,
                     dim3((count + block - 1) / block), dim3(block), 2 * block * sizeof(int), stream,
                     in, out, count);
}

cudaError_t histogram(const unsigned char* values, int count, unsigned* bins, int bin_count,
                      cudaStream_t stream) {
  return m2u::launch("histogram", kernel_histogram, dim3(4), dim3(128), bin_count * sizeof(unsigned),
                     stream, values, count, bins, bin_count);
}

cudaError_t write_indices(int4* records, dim3 grid, dim3 block, cudaStream_t stream) {
  return m2u::launch("write_indices", kernel_write_indices, grid, block, 0, stream, records);
}

}  // namespace emu_test
