// profiler.cpp - m2u_profiler_start / m2u_profiler_stop (m2urt.h
// "Profiling"): cudaProfilerStart / cudaProfilerStop in the cuda flavour,
// so that Nsight captures only the frames between them; nothing in the emu
// flavour, which has no profiler.
#include <string>

#include "c_api_support.h"
#include "m2urt.h"

#if defined(M2U_FLAVOUR_CUDA)
#include <cuda_profiler_api.h>
#include <cuda_runtime_api.h>
#endif

namespace {

#if defined(M2U_FLAVOUR_CUDA)
m2u_status profiler_call(cudaError_t (*call)(), const char* who) {
  const cudaError_t status = call();
  if (status == cudaSuccess) return M2U_OK;
  cudaGetLastError();
  return m2u_capi::set_last_error(M2U_ERROR_CUDA, std::string(who) + ": " + cudaGetErrorString(status));
}
#endif

}  // namespace

extern "C" {

m2u_status m2u_profiler_start(void) {
#if defined(M2U_FLAVOUR_CUDA)
  return profiler_call(cudaProfilerStart, "m2u_profiler_start");
#else
  return M2U_OK;
#endif
}

m2u_status m2u_profiler_stop(void) {
#if defined(M2U_FLAVOUR_CUDA)
  return profiler_call(cudaProfilerStop, "m2u_profiler_stop");
#else
  return M2U_OK;
#endif
}

}  // extern "C"
