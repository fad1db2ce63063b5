// emu_device_state.h - device-wide state of the emulated runtime API: the
// error slots and stream handles the scheduler consults, the memory
// counters tests use to prove that a code path allocates nothing, and the
// stream-capture hooks through which emu_runtime.cpp and the scheduler
// record work into a graph (emu_graph.cpp).
#ifndef M2U_KERNELS_EMU_EMU_DEVICE_STATE_H
#define M2U_KERNELS_EMU_EMU_DEVICE_STATE_H

#include <driver_types.h>

#include <cstdint>
#include <functional>

namespace m2u_emu {

// Like the CUDA runtime: the last error is returned and cleared by
// cudaGetLastError; a sticky error (a fault in a kernel) is returned by
// every later call until cudaDeviceReset.
void record_error(cudaError_t error);
void set_sticky_error(cudaError_t error);
cudaError_t sticky_error();

// The legacy default stream (0), cudaStreamPerThread and every stream made
// by cudaStreamCreate* and not destroyed yet.
bool is_valid_stream(cudaStream_t stream);

struct MemoryCounters {
  uint64_t device_allocations;  // successful cudaMalloc calls
  uint64_t device_frees;
  uint64_t pinned_allocations;  // cudaMallocHost / cudaHostAlloc
  uint64_t device_bytes_in_use;
};
MemoryCounters memory_counters();

// Whether a device or pinned allocation holds [address, address + bytes).
bool is_device_or_pinned_range(const void* address, size_t bytes);

// ---- Stream capture (emu_graph.cpp) ----
// Work recorded by a capturing stream; cudaGraphLaunch calls it with the
// stream the graph is launched on, in recording order.
using RecordedWork = std::function<cudaError_t(cudaStream_t stream)>;

// Whether work issued on `stream` now is captured: true when `stream`
// captures, or when it is the legacy stream while a global-mode capture
// runs (an implicit dependency CUDA refuses).
bool is_capturing(cudaStream_t stream);
// Records `work` into `stream`'s capture; cudaErrorStreamCaptureImplicit
// (invalidating the capture) for the legacy stream as above.
cudaError_t record_work(cudaStream_t stream, RecordedWork work);
// Refuses what CUDA forbids during capture and invalidates the capture it
// would break: `stream` capturing (a synchronise or query of it), or, for
// `stream` nullptr (an allocation, a free or a synchronous copy), any
// capture begun by this thread in global or thread-local mode or by another
// thread in global mode. cudaErrorStreamCaptureUnsupported, else cudaSuccess.
cudaError_t refuse_during_capture(cudaStream_t stream);
// A destroyed stream's capture, if any, is dropped.
void forget_stream_capture(cudaStream_t stream);
// cudaGraphLaunch calls that replayed a graph, since the process started.
uint64_t graph_launches();

}  // namespace m2u_emu

#endif  // M2U_KERNELS_EMU_EMU_DEVICE_STATE_H
