// device_profiles.cpp - the work model's target GPUs and all of its
// assumptions (device_profiles.h says how they are used).
//
// Peak rates are cores x 2 x clock, from the programming guide's
// per-SM throughput table (results per clock per multiprocessor):
//   sm_53 (Nano, 1 SM of 128 cores): FP32 128, FP16 256 (half2) -> 2x FP32.
//     No dp4a: the INT8 kernels' scalar fallback takes about four integer
//     instructions per multiply-add (two byte extractions, a 16-bit
//     multiply-add, the sum), so 32 multiply-adds per clock.
//   sm_72 (Xavier NX, 6 SMs of 64 cores): FP32 64, FP16 128 (2x), 32-bit
//     integer multiply-add 64 -> dp4a 64 x 4 = 256 int8 multiply-adds.
//   sm_87 (Orin Nano 8GB, 8 SMs of 128 cores): FP32 128, FP16 256 as the
//     guide lists for 8.x (2x; unverified on Orin), integer multiply-add 64
//     -> dp4a 256 int8 multiply-adds (2x FP32).
// Achievable fractions: 0.70 of the arithmetic peak (F7's goal for FP16 is
// two thirds) and 0.75 of the DRAM bandwidth (what a streaming copy
// typically reaches on LPDDR4/5 boards). Launch overhead: 5 us per kernel
// on a stream, 2 us per node of a replayed graph (Jetson launches are CPU
// bound; typical published figures, not measured here).
#include "device_profiles.h"

#include <algorithm>

namespace m2u {

const std::vector<DeviceProfile>& device_profiles() {
  static const std::vector<DeviceProfile> profiles = {
      {"nano", "Jetson Nano 4GB: Maxwell GM20B, 128 cores at 921.6 MHz, 64-bit LPDDR4-3200", 53,
       128 * 2 * 0.9216, 256 * 2 * 0.9216, 32 * 2 * 0.9216, 25.6, 0.70, 0.75, 5.0, 2.0,
       "FP32 236, half2 472 GFLOP/s; INT8 scalar fallback 59 GOP/s (no dp4a on sm_53); 25.6 GB/s"},
      {"xavier-nx", "Jetson Xavier NX: Volta, 384 cores (6 SMs) at 1100 MHz, 128-bit LPDDR4x-3733", 72,
       6 * 64 * 2 * 1.1, 6 * 128 * 2 * 1.1, 6 * 256 * 2 * 1.1, 59.7, 0.70, 0.75, 5.0, 2.0,
       "FP32 845, half2 1690 GFLOP/s; dp4a 3379 GOP/s; 59.7 GB/s"},
      {"orin-nano", "Jetson Orin Nano 8GB: Ampere, 1024 cores (8 SMs) at 625 MHz, 128-bit LPDDR5-4266", 87,
       8 * 128 * 2 * 0.625, 8 * 256 * 2 * 0.625, 8 * 256 * 2 * 0.625, 68.0, 0.70, 0.75, 5.0, 2.0,
       "FP32 1280, half2 2560 GFLOP/s; dp4a 2560 GOP/s; 68 GB/s (JetPack 5 clocks)"},
  };
  return profiles;
}

const DeviceProfile* find_device_profile(const std::string& name) {
  for (const DeviceProfile& p : device_profiles()) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

std::string device_profile_names() {
  std::string names;
  for (const DeviceProfile& p : device_profiles()) names += (names.empty() ? "" : ", ") + std::string(p.name);
  return names;
}

LaunchEstimate estimate_launch(const DeviceProfile& profile, const KernelWork& work) {
  const double peak = work.arithmetic == WorkArithmetic::kHalf2  ? profile.half2_gflops
                      : work.arithmetic == WorkArithmetic::kInt8 ? profile.int8_gops
                                                                 : profile.fp32_gflops;
  LaunchEstimate e;
  e.compute_us = 2.0 * work.multiply_adds / (peak * profile.compute_fraction * 1e3);
  e.dram_us = (work.bytes_read + work.bytes_written) / (profile.dram_gbps * profile.dram_fraction * 1e3);
  e.overhead_us = static_cast<double>(work.launches) * profile.launch_us;
  const double busy = std::max(e.compute_us, e.dram_us);
  e.us = e.overhead_us + busy;
  e.bound = e.overhead_us > busy ? "launch" : e.compute_us >= e.dram_us ? "compute" : "dram";
  return e;
}

}  // namespace m2u
