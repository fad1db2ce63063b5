// emu_runtime.cpp - the subset of the CUDA runtime API that m2urt uses,
// implemented on the host for the emu flavour.
//
// "Device" memory is host heap memory (exact size, 256-byte aligned, filled
// with 0xFF bytes - NaN as floats - so reads of uninitialised memory show),
// tracked in a registry so that copies check their direction and bounds like
// the real runtime with unified addressing does. Streams execute work at once,
// in issue order, unless they capture (emu_graph.cpp: the work is checked
// and recorded instead); events take the host clock when recorded. The emulated
// device describes itself as a 48 KiB-shared-memory, 1024-thread part.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "emu_device_state.h"
#include "emu_scheduler.h"

struct CUstream_st {
  unsigned flags;
};

struct CUevent_st {
  unsigned flags;
  bool recorded;
  std::chrono::steady_clock::time_point when;
};

namespace m2u_emu {
namespace {

constexpr size_t kDeviceAlignment = 256;
// The emulated device's memory, like a 4 GB Jetson Nano: larger requests
// fail with cudaErrorMemoryAllocation instead of exhausting the host.
constexpr size_t kDeviceMemoryBytes = size_t(4) << 30;
constexpr unsigned char kUninitialisedByte = 0xFF;

enum class MemoryKind { kDevice, kPinnedHost };

struct Allocation {
  size_t bytes;
  MemoryKind kind;
};

struct DeviceState {
  std::mutex mutex;
  std::map<uintptr_t, Allocation> allocations;  // by start address
  std::set<cudaStream_t> streams;
  std::set<cudaEvent_t> events;
  cudaError_t last_error = cudaSuccess;
  cudaError_t sticky_error = cudaSuccess;
  MemoryCounters counters{};
};

DeviceState& state() {
  static DeviceState instance;
  return instance;
}

// Kind of the allocation holding [address, address + bytes), if one does.
bool find_allocation(const void* address, size_t bytes, MemoryKind* kind) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(address);
  auto& allocations = state().allocations;
  auto it = allocations.upper_bound(begin);
  if (it == allocations.begin()) return false;
  --it;
  if (begin - it->first > it->second.bytes || bytes > it->second.bytes - (begin - it->first)) {
    return false;
  }
  *kind = it->second.kind;
  return true;
}

bool is_device_range(const void* address, size_t bytes) {
  MemoryKind kind;
  return find_allocation(address, bytes, &kind) && kind == MemoryKind::kDevice;
}

// Whether a pointer lies in any device allocation (used to reject device
// pointers passed as host memory).
bool touches_device(const void* address) { return is_device_range(address, 1); }

cudaError_t finish(cudaError_t error) {
  if (error != cudaSuccess) state().last_error = error;
  return error;
}

// Checks a copy that spans `dst_bytes` at dst and `src_bytes` at src; the
// caller holds the mutex.
cudaError_t check_copy(void* dst, size_t dst_bytes, const void* src, size_t src_bytes,
                       cudaMemcpyKind kind) {
  if (!dst || !src) return cudaErrorInvalidValue;
  const bool dst_device = is_device_range(dst, dst_bytes);
  const bool src_device = is_device_range(src, src_bytes);
  switch (kind) {
    case cudaMemcpyHostToDevice:
      return dst_device && !touches_device(src) ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToHost:
      return src_device && !touches_device(dst) ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToDevice:
      return dst_device && src_device ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyHostToHost:
      return !touches_device(dst) && !touches_device(src) ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDefault:
      // Any direction, but a pointer into a device allocation must fit in it.
      if (touches_device(dst) && !dst_device) return cudaErrorInvalidValue;
      if (touches_device(src) && !src_device) return cudaErrorInvalidValue;
      return cudaSuccess;
  }
  return cudaErrorInvalidMemcpyDirection;
}

cudaError_t allocate(void** pointer, size_t bytes, MemoryKind kind) {
  if (!pointer) return cudaErrorInvalidValue;
  const cudaError_t capturing = refuse_during_capture(nullptr);
  if (capturing != cudaSuccess) return capturing;
  DeviceState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.sticky_error != cudaSuccess) return s.sticky_error;
  *pointer = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (kind == MemoryKind::kDevice && bytes > kDeviceMemoryBytes - s.counters.device_bytes_in_use) {
    return finish(cudaErrorMemoryAllocation);
  }
  void* memory = nullptr;
  if (posix_memalign(&memory, kDeviceAlignment, bytes) != 0) {
    return finish(cudaErrorMemoryAllocation);
  }
  std::memset(memory, kUninitialisedByte, bytes);
  s.allocations[reinterpret_cast<uintptr_t>(memory)] = Allocation{bytes, kind};
  if (kind == MemoryKind::kDevice) {
    s.counters.device_allocations++;
    s.counters.device_bytes_in_use += bytes;
  } else {
    s.counters.pinned_allocations++;
  }
  *pointer = memory;
  return cudaSuccess;
}

cudaError_t release(void* pointer, MemoryKind kind) {
  if (!pointer) return cudaSuccess;
  const cudaError_t capturing = refuse_during_capture(nullptr);
  if (capturing != cudaSuccess) return capturing;
  DeviceState& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.allocations.find(reinterpret_cast<uintptr_t>(pointer));
  if (it == s.allocations.end() || it->second.kind != kind) return finish(cudaErrorInvalidValue);
  if (kind == MemoryKind::kDevice) {
    s.counters.device_frees++;
    s.counters.device_bytes_in_use -= it->second.bytes;
  }
  s.allocations.erase(it);
  std::free(pointer);
  return cudaSuccess;
}

bool valid_stream_locked(cudaStream_t stream) {
  return stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread ||
         state().streams.count(stream) != 0;
}

bool device_or_pinned_locked(const void* address, size_t bytes) {
  MemoryKind kind;
  return find_allocation(address, bytes, &kind);
}

cudaError_t copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch,
                    size_t width, size_t height, cudaMemcpyKind kind, cudaStream_t stream) {
  const bool capturing = is_capturing(stream);
  DeviceState& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  if (s.sticky_error != cudaSuccess) return s.sticky_error;
  if (!valid_stream_locked(stream)) return finish(cudaErrorInvalidResourceHandle);
  if (height == 0 || width == 0) return cudaSuccess;
  if (width > dst_pitch || width > src_pitch) return finish(cudaErrorInvalidPitchValue);
  // The whole pitched extent must be valid, then each row is copied.
  const size_t dst_extent = dst_pitch * (height - 1) + width;
  const size_t src_extent = src_pitch * (height - 1) + width;
  const cudaError_t checked = check_copy(dst, dst_extent, src, src_extent, kind);
  if (checked != cudaSuccess) return finish(checked);
  if (capturing) {
    const bool pinned_or_device =
        device_or_pinned_locked(dst, dst_extent) && device_or_pinned_locked(src, src_extent);
    lock.unlock();
    if (!pinned_or_device) return refuse_during_capture(stream);
    return record_work(stream, [=](cudaStream_t replay) {
      return copy_2d(dst, dst_pitch, src, src_pitch, width, height, kind, replay);
    });
  }
  for (size_t row = 0; row < height; ++row) {
    std::memmove(static_cast<char*>(dst) + row * dst_pitch,
                 static_cast<const char*>(src) + row * src_pitch, width);
  }
  return cudaSuccess;
}

cudaError_t fill(void* pointer, int value, size_t bytes, cudaStream_t stream) {
  const bool capturing = is_capturing(stream);
  DeviceState& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  if (s.sticky_error != cudaSuccess) return s.sticky_error;
  if (!valid_stream_locked(stream)) return finish(cudaErrorInvalidResourceHandle);
  if (bytes == 0) return cudaSuccess;
  if (!is_device_range(pointer, bytes)) return finish(cudaErrorInvalidValue);
  if (capturing) {
    lock.unlock();
    return record_work(stream, [=](cudaStream_t replay) { return fill(pointer, value, bytes, replay); });
  }
  std::memset(pointer, value, bytes);
  return cudaSuccess;
}

}  // namespace

void record_error(cudaError_t error) {
  std::lock_guard<std::mutex> lock(state().mutex);
  finish(error);
}

void set_sticky_error(cudaError_t error) {
  std::lock_guard<std::mutex> lock(state().mutex);
  state().sticky_error = error;
  state().last_error = error;
}

cudaError_t sticky_error() {
  std::lock_guard<std::mutex> lock(state().mutex);
  return state().sticky_error;
}

bool is_valid_stream(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return valid_stream_locked(stream);
}

MemoryCounters memory_counters() {
  std::lock_guard<std::mutex> lock(state().mutex);
  return state().counters;
}

bool is_device_or_pinned_range(const void* address, size_t bytes) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return device_or_pinned_locked(address, bytes);
}

}  // namespace m2u_emu

using m2u_emu::MemoryKind;

extern "C" {

cudaError_t cudaMalloc(void** pointer, size_t bytes) {
  return m2u_emu::allocate(pointer, bytes, MemoryKind::kDevice);
}
cudaError_t cudaFree(void* pointer) { return m2u_emu::release(pointer, MemoryKind::kDevice); }
cudaError_t cudaMallocHost(void** pointer, size_t bytes) {
  return m2u_emu::allocate(pointer, bytes, MemoryKind::kPinnedHost);
}
cudaError_t cudaHostAlloc(void** pointer, size_t bytes, unsigned int flags) {
  (void)flags;
  return m2u_emu::allocate(pointer, bytes, MemoryKind::kPinnedHost);
}
cudaError_t cudaFreeHost(void* pointer) {
  return m2u_emu::release(pointer, MemoryKind::kPinnedHost);
}

cudaError_t cudaMemcpy2DAsync(void* dst, size_t dst_pitch, const void* src, size_t src_pitch,
                              size_t width, size_t height, cudaMemcpyKind kind,
                              cudaStream_t stream) {
  return m2u_emu::copy_2d(dst, dst_pitch, src, src_pitch, width, height, kind, stream);
}
cudaError_t cudaMemcpy2D(void* dst, size_t dst_pitch, const void* src, size_t src_pitch,
                         size_t width, size_t height, cudaMemcpyKind kind) {
  const cudaError_t capturing = m2u_emu::refuse_during_capture(nullptr);
  if (capturing != cudaSuccess) return capturing;
  return m2u_emu::copy_2d(dst, dst_pitch, src, src_pitch, width, height, kind, nullptr);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  return m2u_emu::copy_2d(dst, bytes, src, bytes, bytes, 1, kind, stream);
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const cudaError_t capturing = m2u_emu::refuse_during_capture(nullptr);
  if (capturing != cudaSuccess) return capturing;
  return m2u_emu::copy_2d(dst, bytes, src, bytes, bytes, 1, kind, nullptr);
}
cudaError_t cudaMemsetAsync(void* pointer, int value, size_t bytes, cudaStream_t stream) {
  return m2u_emu::fill(pointer, value, bytes, stream);
}
cudaError_t cudaMemset(void* pointer, int value, size_t bytes) {
  const cudaError_t capturing = m2u_emu::refuse_during_capture(nullptr);
  if (capturing != cudaSuccess) return capturing;
  return m2u_emu::fill(pointer, value, bytes, nullptr);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (!stream) return m2u_emu::finish(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  *stream = new CUstream_st{flags};
  m2u_emu::state().streams.insert(*stream);
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  m2u_emu::forget_stream_capture(stream);
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  if (m2u_emu::state().streams.erase(stream) == 0) {
    return m2u_emu::finish(cudaErrorInvalidResourceHandle);
  }
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  const cudaError_t capturing =
      m2u_emu::refuse_during_capture(stream == cudaStreamLegacy ? nullptr : stream);
  if (capturing != cudaSuccess) return capturing;
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  if (m2u_emu::state().sticky_error != cudaSuccess) return m2u_emu::state().sticky_error;
  return m2u_emu::valid_stream_locked(stream) ? cudaSuccess
                                              : m2u_emu::finish(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaStreamQuery(cudaStream_t stream) { return cudaStreamSynchronize(stream); }
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  (void)flags;
  if (m2u_emu::is_capturing(stream)) return m2u_emu::refuse_during_capture(stream);
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  if (!m2u_emu::valid_stream_locked(stream) || m2u_emu::state().events.count(event) == 0) {
    return m2u_emu::finish(cudaErrorInvalidResourceHandle);
  }
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (!event) return m2u_emu::finish(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  *event = new CUevent_st{flags, false, {}};
  m2u_emu::state().events.insert(*event);
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  if (m2u_emu::state().events.erase(event) == 0) {
    return m2u_emu::finish(cudaErrorInvalidResourceHandle);
  }
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (m2u_emu::is_capturing(stream)) return m2u_emu::refuse_during_capture(stream);
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  if (m2u_emu::state().events.count(event) == 0 || !m2u_emu::valid_stream_locked(stream)) {
    return m2u_emu::finish(cudaErrorInvalidResourceHandle);
  }
  event->recorded = true;
  event->when = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  if (m2u_emu::state().events.count(event) == 0) {
    return m2u_emu::finish(cudaErrorInvalidResourceHandle);
  }
  return m2u_emu::state().sticky_error;
}
cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  auto& events = m2u_emu::state().events;
  if (!ms) return m2u_emu::finish(cudaErrorInvalidValue);
  if (events.count(start) == 0 || events.count(end) == 0 ||
      (start->flags & cudaEventDisableTiming) || (end->flags & cudaEventDisableTiming)) {
    return m2u_emu::finish(cudaErrorInvalidResourceHandle);
  }
  if (!start->recorded || !end->recorded) return m2u_emu::finish(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}

cudaError_t cudaGetLastError(void) {
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  m2u_emu::DeviceState& s = m2u_emu::state();
  const cudaError_t error = s.last_error;
  s.last_error = s.sticky_error;
  return error;
}
cudaError_t cudaPeekAtLastError(void) {
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  return m2u_emu::state().last_error;
}
cudaError_t cudaDeviceSynchronize(void) {
  const cudaError_t capturing = m2u_emu::refuse_during_capture(nullptr);
  if (capturing != cudaSuccess) return capturing;
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  return m2u_emu::state().sticky_error;
}

// Like the real call: destroys every allocation, stream and event of the
// device and clears the errors (including a sticky fault).
cudaError_t cudaDeviceReset(void) {
  {
    std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
    m2u_emu::DeviceState& s = m2u_emu::state();
    for (auto& entry : s.allocations) std::free(reinterpret_cast<void*>(entry.first));
    s.allocations.clear();
    s.counters.device_bytes_in_use = 0;
    for (cudaStream_t stream : s.streams) delete stream;
    s.streams.clear();
    for (cudaEvent_t event : s.events) delete event;
    s.events.clear();
    s.last_error = cudaSuccess;
    s.sticky_error = cudaSuccess;
  }
  m2u_emu::clear_last_fault();
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return m2u_emu::finish(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return m2u_emu::finish(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : m2u_emu::finish(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!prop) return m2u_emu::finish(cudaErrorInvalidValue);
  if (device != 0) return m2u_emu::finish(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof(*prop));
  std::strncpy(prop->name, "m2urt SIMT host emulator", sizeof(prop->name) - 1);
  prop->totalGlobalMem = m2u_emu::kDeviceMemoryBytes;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 48 * 1024;
  prop->sharedMemPerMultiprocessor = 64 * 1024;
  prop->regsPerBlock = 65536;
  prop->regsPerMultiprocessor = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7FFFFFFF;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 64 * 1024;
  prop->major = 8;
  prop->minor = 7;
  prop->multiProcessorCount = 1;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->integrated = 1;
  prop->unifiedAddressing = 1;
  prop->memoryBusWidth = 128;
  prop->l2CacheSize = 2 * 1024 * 1024;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attribute, int device) {
  if (!value) return m2u_emu::finish(cudaErrorInvalidValue);
  cudaDeviceProp prop;
  const cudaError_t status = cudaGetDeviceProperties(&prop, device);
  if (status != cudaSuccess) return status;
  switch (attribute) {
    case cudaDevAttrMaxThreadsPerBlock: *value = prop.maxThreadsPerBlock; break;
    case cudaDevAttrMaxBlockDimX: *value = prop.maxThreadsDim[0]; break;
    case cudaDevAttrMaxBlockDimY: *value = prop.maxThreadsDim[1]; break;
    case cudaDevAttrMaxBlockDimZ: *value = prop.maxThreadsDim[2]; break;
    case cudaDevAttrMaxGridDimX: *value = prop.maxGridSize[0]; break;
    case cudaDevAttrMaxGridDimY: *value = prop.maxGridSize[1]; break;
    case cudaDevAttrMaxGridDimZ: *value = prop.maxGridSize[2]; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = int(prop.sharedMemPerBlock); break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = int(prop.sharedMemPerBlockOptin); break;
    case cudaDevAttrWarpSize: *value = prop.warpSize; break;
    case cudaDevAttrMultiProcessorCount: *value = prop.multiProcessorCount; break;
    case cudaDevAttrComputeCapabilityMajor: *value = prop.major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = prop.minor; break;
    case cudaDevAttrIntegrated: *value = prop.integrated; break;
    default: return m2u_emu::finish(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return m2u_emu::finish(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(m2u_emu::state().mutex);
  *total_bytes = m2u_emu::kDeviceMemoryBytes;
  *free_bytes = *total_bytes - std::min(*total_bytes,
                                        size_t(m2u_emu::state().counters.device_bytes_in_use));
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  if (!version) return m2u_emu::finish(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}
cudaError_t cudaDriverGetVersion(int* version) { return cudaRuntimeGetVersion(version); }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define M2U_EMU_ERROR_NAME(code) \
  case code:                     \
    return #code;
    M2U_EMU_ERROR_NAME(cudaSuccess)
    M2U_EMU_ERROR_NAME(cudaErrorInvalidValue)
    M2U_EMU_ERROR_NAME(cudaErrorMemoryAllocation)
    M2U_EMU_ERROR_NAME(cudaErrorInvalidConfiguration)
    M2U_EMU_ERROR_NAME(cudaErrorInvalidPitchValue)
    M2U_EMU_ERROR_NAME(cudaErrorInvalidMemcpyDirection)
    M2U_EMU_ERROR_NAME(cudaErrorInvalidDevice)
    M2U_EMU_ERROR_NAME(cudaErrorInvalidResourceHandle)
    M2U_EMU_ERROR_NAME(cudaErrorNotReady)
    M2U_EMU_ERROR_NAME(cudaErrorNotSupported)
    M2U_EMU_ERROR_NAME(cudaErrorLaunchFailure)
    M2U_EMU_ERROR_NAME(cudaErrorLaunchOutOfResources)
    M2U_EMU_ERROR_NAME(cudaErrorNoDevice)
    M2U_EMU_ERROR_NAME(cudaErrorIllegalState)
    M2U_EMU_ERROR_NAME(cudaErrorStreamCaptureUnsupported)
    M2U_EMU_ERROR_NAME(cudaErrorStreamCaptureInvalidated)
    M2U_EMU_ERROR_NAME(cudaErrorStreamCaptureImplicit)
    M2U_EMU_ERROR_NAME(cudaErrorStreamCaptureWrongThread)
#undef M2U_EMU_ERROR_NAME
    default:
      return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorLaunchFailure:
      return "unspecified launch failure (emulator: see m2u_emu::last_fault())";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorIllegalState: return "operation not permitted in the current state (stream capture)";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorStreamCaptureWrongThread:
      return "attempt to terminate a thread-local capture sequence from another thread";
    default: return "unrecognized error code";
  }
}

}  // extern "C"
