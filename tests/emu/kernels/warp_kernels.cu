// warp_kernels.cu - one kernel per warp collective, to check the emulation's
// shuffle, vote and __syncwarp semantics lane by lane.
#include "emu_test_kernels.h"

#include "launch.h"

namespace emu_test {
namespace {

__global__ void kernel_warp_op(WarpOp op, unsigned mask, int argument, int width, const int* inputs, int* out) {
  const unsigned lane = threadIdx.x;
  if (!(mask >> lane & 1u)) return;
  const int value = inputs[lane];
  int result = 0;
  switch (op) {
    case WarpOp::kShflIndex: result = __shfl_sync(mask, value, argument, width); break;
    case WarpOp::kShflUp: result = __shfl_up_sync(mask, value, static_cast<unsigned>(argument), width); break;
    case WarpOp::kShflDown: result = __shfl_down_sync(mask, value, static_cast<unsigned>(argument), width); break;
    case WarpOp::kShflXor: result = __shfl_xor_sync(mask, value, argument, width); break;
    case WarpOp::kBallot: result = static_cast<int>(__ballot_sync(mask, value != 0)); break;
    case WarpOp::kAny: result = __any_sync(mask, value != 0); break;
    case WarpOp::kAll: result = __all_sync(mask, value != 0); break;
  }
  out[lane] = result;
}

__global__ void kernel_syncwarp_exchange(int* out) {
  __shared__ int slots[32];
  const int lane = static_cast<int>(threadIdx.x);
  slots[lane] = lane;
  __syncwarp();
  out[lane] = slots[lane ^ 1];
}

__global__ void kernel_atomic_counter(int* out) {
  __shared__ int counter;
  if (threadIdx.x == 0) counter = 0;
  __syncthreads();
  atomicAdd(&counter, 1);
  __syncthreads();
  if (threadIdx.x == 0) out[0] = counter;
}

}  // namespace

cudaError_t warp_op(WarpOp op, unsigned mask, int argument, int width, const int* inputs, int* out,
                    int threads, cudaStream_t stream) {
  return m2u::launch("warp_op", kernel_warp_op, dim3(1), dim3(threads), 0, stream, op, mask, argument,
                     width, inputs, out);
}

cudaError_t syncwarp_exchange(int* out, cudaStream_t stream) {
  return m2u::launch("syncwarp_exchange", kernel_syncwarp_exchange, dim3(1), dim3(32), 0, stream, out);
}

cudaError_t atomic_counter(int* out, int threads, cudaStream_t stream) {
  return m2u::launch("atomic_counter", kernel_atomic_counter, dim3(1), dim3(threads), 0, stream, out);
}

}  // namespace emu_test
