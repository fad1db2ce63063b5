// emu_scheduler.h - the SIMT host emulation's execution engine.
//
// A launch runs its blocks one after another on the calling OS thread, or on
// M2U_EMU_BLOCK_THREADS OS threads at once (default 2 under ThreadSanitizer,
// else 1; block i of the seed's order on thread i mod N, with nothing that
// orders two threads' blocks for TSan). The threads of a block are fibers (Boost.Context fcontext, pooled stacks with a
// guard page) that the scheduler resumes in a seeded random order between
// synchronisation points. Barriers and warp collectives are released only when
// every thread concerned waits at the same call site with the same mask;
// anything else is a fault that names the kernel, the block, the threads and
// the source lines, and fails the launch like a device fault would.
//
// Seeds: M2U_EMU_SEED (environment) or set_schedule_seed(). Seed 0 runs
// threads and blocks in order, seed 1 in reverse order, any other seed in a
// pseudo-random order derived from it. The seed is printed with every fault;
// with several block threads the first fault any of them meets is reported.
#ifndef M2U_KERNELS_EMU_EMU_SCHEDULER_H
#define M2U_KERNELS_EMU_EMU_SCHEDULER_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <driver_types.h>
#include <vector_types.h>

namespace m2u_emu {

// The kernel body of one launch, type-erased: calls the kernel with its
// arguments for whatever thread the scheduler has made current. `copy`
// makes an owned copy of the closure (the kernel and its converted
// arguments), which a capturing stream keeps for its graph (emu_graph.cpp);
// a thunk without one cannot be captured.
struct KernelThunk {
  void (*invoke)(const void* closure);
  const void* closure;
  std::shared_ptr<const void> (*copy)(const void* closure);
};

struct LaunchRequest {
  const char* kernel_name;
  dim3 grid;
  dim3 block;
  size_t dynamic_shared_bytes;
  cudaStream_t stream;
};

// Validates the configuration like the CUDA runtime and runs the grid to
// completion; on a capturing stream, records the launch into the stream's
// graph instead (it runs when the graph is launched). Returns cudaSuccess, a launch-configuration error (not sticky),
// or cudaErrorLaunchFailure after a fault (sticky until cudaDeviceReset).
cudaError_t launch(const LaunchRequest& request, KernelThunk thunk);

// Seed of the thread/block order; see the file comment.
void set_schedule_seed(uint64_t seed);
uint64_t schedule_seed();

// Text of the last fault detected in a kernel ("" if none since the reset).
std::string last_fault();
void clear_last_fault();
// Whether faults are also written to stderr (default: yes, like a sanitizer;
// M2U_EMU_QUIET=1 turns it off).
void set_fault_printing(bool enabled);

// Statistics since the process started, for throughput measurements.
struct Counters {
  uint64_t threads_run;
  uint64_t blocks_run;
  uint64_t barriers_released;
  uint64_t warp_collectives_released;
  uint64_t fiber_switches;
  uint64_t grids_launched;  // launches whose configuration was valid
};
Counters counters();

// ---- Called from kernel code through the macros in emu_warp.h etc. ----

// __syncthreads and its _count/_and/_or forms: waits for the whole block at
// this call site; returns how many threads passed a nonzero predicate.
int block_barrier(const char* op, const char* file, int line, int predicate);

// A warp collective: the calling lane deposits `value`; once every lane of
// `mask` has arrived at the same site with the same mask, each gets back the
// value deposited by `source_lane` (ignored if negative) and the ballot of
// nonzero deposits over the mask.
struct WarpExchange {
  uint64_t fetched;
  unsigned ballot;
};
WarpExchange warp_collective(const char* op, const char* file, int line,
                             unsigned mask, uint64_t value, int source_lane);

// Lets the other threads of the block run (atomics, __nanosleep, fences).
void yield_thread();

// Reports a fault from kernel code (e.g. __trap, a bad shuffle width) and
// never returns to the caller: the block is abandoned, its fiber stacks are
// discarded without unwinding (so `what` must not be a heap string).
[[noreturn]] void kernel_fault(const char* file, int line, const char* what);

unsigned lane_id();
void* dynamic_shared_memory();

}  // namespace m2u_emu

#endif  // M2U_KERNELS_EMU_EMU_SCHEDULER_H
