// planted_bugs.cu - deliberately wrong kernels. Each bug is one a real GPU
// may hide for years; the emulation must expose every one (tests/emu).
#include "emu_test_kernels.h"

#include "launch.h"

namespace emu_test {
namespace {

constexpr int kSumBlock = 256;

// BUG: no __syncthreads between the store to `partial` and the first read of
// a neighbour's slot. (Unsigned, so that sums of unstored, poisoned slots
// wrap instead of overflowing under UBSan.)
__global__ void kernel_block_sum_missing_barrier(const int* in, int* out, int count) {
  __shared__ unsigned partial[kSumBlock];
  const int tid = static_cast<int>(threadIdx.x);
  const int i = blockIdx.x * kSumBlock + tid;
  partial[tid] = i < count ? static_cast<unsigned>(in[i]) : 0u;
  for (int stride = kSumBlock / 2; stride >= 32; stride /= 2) {
    if (tid < stride) partial[tid] += partial[tid + stride];
    __syncthreads();
  }
  if (tid < 32) {
    unsigned value = partial[tid];
    for (int offset = 16; offset > 0; offset /= 2) value += __shfl_down_sync(0xFFFFFFFFu, value, offset);
    if (tid == 0) out[blockIdx.x] = static_cast<int>(value);
  }
}

// BUG: only half the block reaches the barrier.
__global__ void kernel_barrier_in_divergent_branch(int* out) {
  __shared__ int value;
  if (threadIdx.x < 16) {
    if (threadIdx.x == 0) value = 7;
    __syncthreads();
    out[threadIdx.x] = value;
  }
}

// BUG: lane 31 leaves before the full-mask shuffle.
__global__ void kernel_shuffle_with_exited_lane(int* out) {
  const int lane = static_cast<int>(threadIdx.x);
  if (lane == 31) return;
  out[lane] = __shfl_sync(0xFFFFFFFFu, lane, (lane + 1) % 32);
}

// BUG: lane 5 calls the shuffle but is not in the mask it passes.
__global__ void kernel_shuffle_caller_outside_mask(int* out) {
  const int lane = static_cast<int>(threadIdx.x);
  out[lane] = __shfl_sync(0xFFFFFFFFu & ~(1u << 5), lane, 0);
}

// BUG: odd and even lanes use two different shuffle instructions with the
// same full mask.
__global__ void kernel_shuffle_divergent_sites(int* out) {
  const int lane = static_cast<int>(threadIdx.x);
  if (lane % 2 == 0) {
    out[lane] = __shfl_xor_sync(0xFFFFFFFFu, lane, 1);
  } else {
    out[lane] = __shfl_xor_sync(0xFFFFFFFFu, lane, 1);
  }
}

// BUG: no __syncthreads between the store to `slots` and the read of the
// next thread's slot: in thread order thread t reads slot t + 1 before
// thread t + 1 has stored it in this block.
__global__ void kernel_static_shared_missing_barrier(int* out) {
  __shared__ int slots[32];
  const int t = static_cast<int>(threadIdx.x);
  slots[t] = t;
  out[blockIdx.x * 32 + t] = slots[(t + 1) % 32];
}

// BUG: every block adds its partial to out[0] with a plain read-modify-write
// instead of atomicAdd (no ordering between blocks at all).
__global__ void kernel_blocks_add_without_atomic(int* out) {
  if (threadIdx.x == 0) out[0] += static_cast<int>(blockIdx.x) + 1;
}

// `column` is 33, passed at run time so that the compiler cannot see it.
__global__ void kernel_out_of_bounds_write(int kind, float* global, int count, int column) {
  __shared__ float tile[32][33];
  __shared__ float row[64];
  M2U_DYNAMIC_SHARED(float, dynamic);
  const int t = static_cast<int>(threadIdx.x);
  if (t != 0) return;
  switch (kind) {
    case 0: tile[0][column] = 1.0f; global[0] = tile[1][0]; break;  // BUG: column 33 of [32][33]
    case 1: row[column + 31] = 1.0f; global[0] = row[0]; break;     // BUG: index 64 of [64]
    case 2: global[count] = 1.0f; break;                             // BUG: one past the buffer
    case 3: dynamic[blockDim.x] = 1.0f; break;                       // BUG: one past dynamic smem
  }
}

}  // namespace

cudaError_t block_sum_missing_barrier(const int* in, int* out, int count, cudaStream_t stream) {
  return m2u::launch("block_sum_missing_barrier", kernel_block_sum_missing_barrier,
                     dim3((count + kSumBlock - 1) / kSumBlock), dim3(kSumBlock), 0, stream, in, out, count);
}

cudaError_t barrier_in_divergent_branch(int* out, cudaStream_t stream) {
  return m2u::launch("barrier_in_divergent_branch", kernel_barrier_in_divergent_branch, dim3(4), dim3(32),
                     0, stream, out);
}

cudaError_t shuffle_with_exited_lane(int* out, cudaStream_t stream) {
  return m2u::launch("shuffle_with_exited_lane", kernel_shuffle_with_exited_lane, dim3(1), dim3(32), 0,
                     stream, out);
}

cudaError_t shuffle_caller_outside_mask(int* out, cudaStream_t stream) {
  return m2u::launch("shuffle_caller_outside_mask", kernel_shuffle_caller_outside_mask, dim3(1), dim3(32),
                     0, stream, out);
}

cudaError_t shuffle_divergent_sites(int* out, cudaStream_t stream) {
  return m2u::launch("shuffle_divergent_sites", kernel_shuffle_divergent_sites, dim3(1), dim3(32), 0,
                     stream, out);
}

cudaError_t static_shared_missing_barrier(int* out, int blocks, cudaStream_t stream) {
  return m2u::launch("static_shared_missing_barrier", kernel_static_shared_missing_barrier,
                     dim3(blocks), dim3(32), 0, stream, out);
}

cudaError_t blocks_add_without_atomic(int* out, int blocks, cudaStream_t stream) {
  return m2u::launch("blocks_add_without_atomic", kernel_blocks_add_without_atomic, dim3(blocks),
                     dim3(32), 0, stream, out);
}

cudaError_t out_of_bounds_write(int kind, float* global, int count, cudaStream_t stream) {
  const int threads = 32;
  return m2u::launch("out_of_bounds_write", kernel_out_of_bounds_write, dim3(1), dim3(threads),
                     threads * sizeof(float), stream, kind, global, count, 33);
}

}  // namespace emu_test
