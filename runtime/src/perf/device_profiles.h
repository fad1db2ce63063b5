// device_profiles.h - the target GPUs of the work model, and how a launch's
// work (work_model.h) becomes modeled microseconds on one of them. Every
// assumption of the model lives in device_profiles.cpp, in one table.
//
// The model of one launch: launch overhead + max(compute time, DRAM time),
// compute = 2 x multiply-adds / (peak rate of its arithmetic x achievable
// fraction), DRAM = bytes / (peak bandwidth x achievable fraction). A
// forward is the sum of its launches (one stream, no overlap). A roofline
// floor for kernels that reach the fractions, not a timing of any device.
#ifndef M2U_RUNTIME_PERF_DEVICE_PROFILES_H
#define M2U_RUNTIME_PERF_DEVICE_PROFILES_H

#include <string>
#include <vector>

#include "work_model.h"

namespace m2u {

struct DeviceProfile {
  const char* name;         // "nano", "xavier-nx", "orin-nano"
  const char* description;  // the board, its GPU and clock
  int compute_capability;   // 53, 72, 87
  double fp32_gflops;       // peak FP32 (2 flops per FMA)
  double half2_gflops;      // peak FP16 in half2 instructions
  double int8_gops;         // int8 multiply-adds x 2 per second: dp4a, or the scalar fallback below sm_61
  double dram_gbps;         // peak DRAM bandwidth, GB/s (1e9 bytes)
  double compute_fraction;  // achievable fraction of the peak rates
  double dram_fraction;     // achievable fraction of the bandwidth
  double launch_us;         // per kernel launch on a stream
  double graph_launch_us;   // per kernel node of a replayed CUDA Graph
  const char* assumptions;  // where the figures come from
};

const std::vector<DeviceProfile>& device_profiles();
// nullptr when `name` is not a profile's name.
const DeviceProfile* find_device_profile(const std::string& name);
// "nano, xavier-nx, orin-nano": for messages.
std::string device_profile_names();

struct LaunchEstimate {
  double compute_us;
  double dram_us;
  double overhead_us;
  double us;          // overhead + max(compute, dram)
  const char* bound;  // "compute", "dram" or "launch" (the overhead exceeds both)
};

// `work`'s launches on `profile` (row.launches launches of overhead).
LaunchEstimate estimate_launch(const DeviceProfile& profile, const KernelWork& work);

}  // namespace m2u

#endif  // M2U_RUNTIME_PERF_DEVICE_PROFILES_H
