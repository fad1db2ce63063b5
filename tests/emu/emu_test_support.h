// emu_test_support.h - helpers shared by the emulation's self-tests.
#ifndef M2U_TESTS_EMU_EMU_TEST_SUPPORT_H
#define M2U_TESTS_EMU_EMU_TEST_SUPPORT_H

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#if defined(M2U_FLAVOUR_EMU)
#include "emu/emu_device_state.h"
#include "emu/emu_scheduler.h"
#endif

namespace emu_test {

#if defined(M2U_FLAVOUR_EMU)
// Schedules every correctness test runs under: in order, reversed, and
// pseudo-random ones.
inline std::vector<uint64_t> test_seeds() { return {0, 1, 2, 3, 7, 42, 1234, 987654321}; }

// Sets the schedule seed for one scope and restores the previous one.
class ScopedSeed {
 public:
  explicit ScopedSeed(uint64_t seed) : previous_(m2u_emu::schedule_seed()) {
    m2u_emu::set_schedule_seed(seed);
  }
  ~ScopedSeed() { m2u_emu::set_schedule_seed(previous_); }

 private:
  uint64_t previous_;
};
#else
// On a GPU the hardware picks the schedule: one run per test.
inline std::vector<uint64_t> test_seeds() { return {0}; }
class ScopedSeed {
 public:
  explicit ScopedSeed(uint64_t) {}
};
#endif

#if defined(M2U_FLAVOUR_EMU)
// Runs `launch` expecting a kernel fault; returns the fault's text and
// resets the device (which clears the sticky error and frees all memory).
template <typename Launch>
std::string expect_fault(Launch launch) {
  m2u_emu::set_fault_printing(false);
  const cudaError_t status = launch();
  std::string text = status == cudaErrorLaunchFailure ? m2u_emu::last_fault()
                                                      : std::string("no fault, status ") +
                                                            cudaGetErrorName(status);
  cudaDeviceReset();
  m2u_emu::set_fault_printing(true);
  return text;
}
#endif

}  // namespace emu_test

#endif  // M2U_TESTS_EMU_EMU_TEST_SUPPORT_H
