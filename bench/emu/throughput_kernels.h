// throughput_kernels.h - kernels that measure the SIMT emulation's cost per
// CUDA thread, per barrier and per warp collective.
#ifndef M2U_BENCH_EMU_THROUGHPUT_KERNELS_H
#define M2U_BENCH_EMU_THROUGHPUT_KERNELS_H

#include <cuda_runtime_api.h>

namespace bench_emu {

// out[i] = i * 2 + 1 for `threads` threads in blocks of `block`.
cudaError_t write_index(int* out, int threads, int block, cudaStream_t stream);
// Like write_index, but every thread passes `barriers` __syncthreads,
// shifting a value through shared memory between them.
cudaError_t barrier_chain(int* out, int threads, int block, int barriers, cudaStream_t stream);
// A full-warp shuffle reduction (5 __shfl_down_sync) per warp.
cudaError_t warp_reduce(const int* in, int* out, int threads, int block, cudaStream_t stream);

}  // namespace bench_emu

#endif  // M2U_BENCH_EMU_THROUGHPUT_KERNELS_H
