// emu_device_state.h - device-wide state of the emulated runtime API: the
// error slots and stream handles the scheduler consults, and the memory
// counters tests use to prove that a code path allocates nothing.
#ifndef M2U_KERNELS_EMU_EMU_DEVICE_STATE_H
#define M2U_KERNELS_EMU_EMU_DEVICE_STATE_H

#include <driver_types.h>

#include <cstdint>

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

}  // namespace m2u_emu

#endif  // M2U_KERNELS_EMU_EMU_DEVICE_STATE_H
