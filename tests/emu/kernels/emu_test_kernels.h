// emu_test_kernels.h - launchers of the kernels that test the SIMT emulation:
// correct kernels that must give exact answers for every schedule, and
// deliberately wrong ones whose bugs the emulation must expose. Pointers are
// device pointers; every launcher returns the launch's status.
#ifndef M2U_TESTS_EMU_KERNELS_EMU_TEST_KERNELS_H
#define M2U_TESTS_EMU_KERNELS_EMU_TEST_KERNELS_H

#include <cuda_runtime_api.h>

namespace emu_test {

// ---- correct kernels (correct_kernels.cu) ----
// out[c * rows + r] = in[r * cols + c], 32x32 tiles through shared memory.
cudaError_t transpose_tiled(const float* in, float* out, int rows, int cols, cudaStream_t stream);
// out[b] = sum of in[b * 256 .. b * 256 + 255] (integers, exact): shared
// memory tree down to one warp, then warp shuffles.
cudaError_t block_sum(const int* in, int* out, int count, cudaStream_t stream);
// Inclusive prefix sum of each block of `block` elements (Hillis-Steele with
// double buffering in dynamic shared memory).
cudaError_t block_inclusive_scan(const int* in, int* out, int count, int block,
                                 cudaStream_t stream);
// bins[v] += 1 for each value (values < bin_count), shared then global atomics.
cudaError_t histogram(const unsigned char* values, int count, unsigned* bins, int bin_count,
                      cudaStream_t stream);
// Each thread writes (its 3-D thread index, its block index) into one record.
cudaError_t write_indices(int4* records, dim3 grid, dim3 block, cudaStream_t stream);

// ---- warp collectives (warp_kernels.cu): one warp-sized block per call ----
enum class WarpOp { kShflIndex, kShflUp, kShflDown, kShflXor, kBallot, kAny, kAll };
// out[lane] = result of `op` with the given mask, argument (source lane,
// delta or lane mask) and width; lanes not in `mask` skip the call. The value
// each lane contributes is `inputs[lane]` (predicate: inputs[lane] != 0).
cudaError_t warp_op(WarpOp op, unsigned mask, int argument, int width, const int* inputs,
                    int* out, int threads, cudaStream_t stream);
// A __syncwarp-ordered exchange through shared memory: out[lane] = lane ^ 1.
cudaError_t syncwarp_exchange(int* out, cudaStream_t stream);
// Sums 1 over `threads` threads through a shared counter guarded only by
// atomics (no barrier); out[0] = threads.
cudaError_t atomic_counter(int* out, int threads, cudaStream_t stream);

// ---- planted bugs (planted_bugs.cu) ----
// block_sum with the __syncthreads after the first shared store missing.
cudaError_t block_sum_missing_barrier(const int* in, int* out, int count, cudaStream_t stream);
// __syncthreads inside `if (threadIdx.x < 16)`, in each of 4 blocks.
cudaError_t barrier_in_divergent_branch(int* out, cudaStream_t stream);
// Lanes 0..30 shuffle with the full mask; lane 31 returned early.
cudaError_t shuffle_with_exited_lane(int* out, cudaStream_t stream);
// Lane 5 is left out of the mask but still calls the shuffle.
cudaError_t shuffle_caller_outside_mask(int* out, cudaStream_t stream);
// Odd and even lanes shuffle at two different call sites.
cudaError_t shuffle_divergent_sites(int* out, cudaStream_t stream);
// Each of `blocks` blocks of 32 threads stores slots[t] = t in static shared
// memory and reads slots[t + 1] with no barrier between:
// out[b * 32 + t] = whatever slot (t + 1) % 32 held.
cudaError_t static_shared_missing_barrier(int* out, int blocks, cudaStream_t stream);
// Every block does out[0] += blockIdx.x + 1 from one thread, not atomically:
// a race between blocks.
cudaError_t blocks_add_without_atomic(int* out, int blocks, cudaStream_t stream);
// Out-of-bounds writes for the sanitizer runs: kind 0 writes tile[0][33] of
// a [32][33] shared array (stays inside the array, only -fsanitize=bounds
// sees it); 1 writes one past a 1-D shared array; 2 writes one past the end
// of a global buffer of `count` floats; 3 one past the dynamic shared memory.
cudaError_t out_of_bounds_write(int kind, float* global, int count, cudaStream_t stream);

}  // namespace emu_test

#endif  // M2U_TESTS_EMU_KERNELS_EMU_TEST_KERNELS_H
