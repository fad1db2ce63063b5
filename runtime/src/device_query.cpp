// device_query.cpp - which CUDA devices there are, through the CUDA runtime
// API (the real cudart, or the emulation's subset in the emu flavour).
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>

#include "m2urt.h"

extern "C" {

m2u_status m2u_device_count(int* count) {
  if (!count) return M2U_ERROR_INVALID_ARGUMENT;
  *count = 0;
  const cudaError_t status = cudaGetDeviceCount(count);
  if (status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver) {
    cudaGetLastError();
    *count = 0;
    return M2U_OK;
  }
  return status == cudaSuccess ? M2U_OK : M2U_ERROR_CUDA;
}

m2u_status m2u_query_device(int device, m2u_device_info* info) {
  if (!info || device < 0) return M2U_ERROR_INVALID_ARGUMENT;
  int count = 0;
  const m2u_status counted = m2u_device_count(&count);
  if (counted != M2U_OK) return counted;
  if (device >= count) return M2U_ERROR_NO_DEVICE;
  cudaDeviceProp prop;
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return M2U_ERROR_CUDA;
  std::memset(info, 0, sizeof(*info));
  std::snprintf(info->name, sizeof(info->name), "%s", prop.name);
  info->compute_capability_major = prop.major;
  info->compute_capability_minor = prop.minor;
  info->multiprocessor_count = prop.multiProcessorCount;
  info->global_memory_bytes = prop.totalGlobalMem;
  info->shared_memory_per_block_bytes = prop.sharedMemPerBlock;
#if defined(M2U_FLAVOUR_CUDA)
  info->is_emulated = 0;
#else
  info->is_emulated = 1;
#endif
  return M2U_OK;
}

}  // extern "C"
