// profile_ranges.h - NVTX ranges for Nsight Systems / Compute (README
// "Profiling with Nsight"): the engine puts each forward and each of its
// steps in a range named after it. NVTX 3 is header-only (the toolkit's
// nvtx3/); without a profiler attached a range costs a branch. The emu
// flavour has no profiler: the ranges compile to nothing there.
#ifndef M2U_RUNTIME_ENGINE_PROFILE_RANGES_H
#define M2U_RUNTIME_ENGINE_PROFILE_RANGES_H

#if defined(M2U_FLAVOUR_CUDA)
#include <nvtx3/nvToolsExt.h>
#endif

namespace m2u {

class ProfileRange {
 public:
#if defined(M2U_FLAVOUR_CUDA)
  explicit ProfileRange(const char* name) { nvtxRangePushA(name); }
  ~ProfileRange() { nvtxRangePop(); }
#else
  explicit ProfileRange(const char*) {}
#endif
  ProfileRange(const ProfileRange&) = delete;
  ProfileRange& operator=(const ProfileRange&) = delete;
};

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_PROFILE_RANGES_H
