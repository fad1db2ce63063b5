// throughput_kernels.cu - see throughput_kernels.h.
#include "throughput_kernels.h"

#include "launch.h"

namespace bench_emu {
namespace {

__global__ void kernel_write_index(int* out, int threads) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < threads) out[i] = i * 2 + 1;
}

__global__ void kernel_barrier_chain(int* out, int threads, int barriers) {
  __shared__ int slots[1024];
  const int t = static_cast<int>(threadIdx.x);
  int value = blockIdx.x * blockDim.x + t;
  for (int b = 0; b < barriers; ++b) {
    slots[t] = value;
    __syncthreads();
    value = slots[(t + 1) % blockDim.x];
    __syncthreads();
  }
  const int i = blockIdx.x * blockDim.x + t;
  if (i < threads) out[i] = value;
}

__global__ void kernel_warp_reduce(const int* in, int* out, int threads) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  int value = i < threads ? in[i] : 0;
  for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xFFFFFFFFu, value, offset);
  if ((threadIdx.x & 31) == 0 && i < threads) out[i / 32] = value;
}

unsigned blocks_for(int threads, int block) { return static_cast<unsigned>((threads + block - 1) / block); }

}  // namespace

cudaError_t write_index(int* out, int threads, int block, cudaStream_t stream) {
  return m2u::launch("write_index", kernel_write_index, dim3(blocks_for(threads, block)), dim3(block), 0,
                     stream, out, threads);
}

cudaError_t barrier_chain(int* out, int threads, int block, int barriers, cudaStream_t stream) {
  // Two barriers per step of the chain.
  return m2u::launch("barrier_chain", kernel_barrier_chain, dim3(blocks_for(threads, block)), dim3(block),
                     0, stream, out, threads, (barriers + 1) / 2);
}

cudaError_t warp_reduce(const int* in, int* out, int threads, int block, cudaStream_t stream) {
  return m2u::launch("warp_reduce", kernel_warp_reduce, dim3(blocks_for(threads, block)), dim3(block), 0,
                     stream, in, out, threads);
}

}  // namespace bench_emu
