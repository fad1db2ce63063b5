// test_emu_planted_bugs.cpp - the emulation exposes the bugs planted in
// kernels/planted_bugs.cu: a missing barrier gives wrong results under some
// schedule, and divergent barriers and bad warp collectives are reported with
// the kernel and the source line.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "device_buffer.h"
#include "emu_test_support.h"
#include "kernels/emu_test_kernels.h"

using m2u_test::DeviceBuffer;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a shared-memory reduction missing one __syncthreads gives a wrong sum under some seed") {
  const int count = 4096;
  std::vector<int> values(count);
  std::iota(values.begin(), values.end(), 1);
  const int blocks = count / 256;
  std::vector<int> expected(blocks);
  for (int b = 0; b < blocks; ++b) {
    expected[b] = std::accumulate(values.begin() + b * 256, values.begin() + (b + 1) * 256, 0);
  }
  DeviceBuffer<int> in(count);
  in.upload(values);
  int wrong_seeds = 0;
  for (uint64_t seed : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(seed);
    DeviceBuffer<int> good(blocks), bad(blocks);
    REQUIRE(emu_test::block_sum(in.data(), good.data(), count, nullptr) == cudaSuccess);
    REQUIRE(emu_test::block_sum_missing_barrier(in.data(), bad.data(), count, nullptr) == cudaSuccess);
    CHECK_MESSAGE(good.download() == expected, "correct kernel, seed " << seed);
    if (bad.download() != expected) ++wrong_seeds;
  }
  MESSAGE("missing barrier exposed by " << wrong_seeds << " of " << emu_test::test_seeds().size()
                                        << " seeds");
  CHECK(wrong_seeds > 0);
}

TEST_CASE("static __shared__ memory is poisoned per block: a missing barrier shows on every launch") {
  // Thread order: thread t reads slot t + 1 before thread t + 1 stores it.
  // Stale slots from an earlier block or launch would hide the bug.
  emu_test::ScopedSeed scoped(0);
  const int blocks = 3;
  const int poison = static_cast<int>(0xCDCDCDCDu);
  for (int launch = 0; launch < 2; ++launch) {
    DeviceBuffer<int> out(blocks * 32);
    REQUIRE(emu_test::static_shared_missing_barrier(out.data(), blocks, nullptr) == cudaSuccess);
    const std::vector<int> got = out.download();
    int unpoisoned = 0;
    for (int b = 0; b < blocks; ++b) {
      for (int t = 0; t < 31; ++t) unpoisoned += got[b * 32 + t] != poison;
      CHECK_MESSAGE(got[b * 32 + 31] == 0, "launch " << launch << " block " << b);
    }
    CHECK_MESSAGE(unpoisoned == 0, "launch " << launch << ": " << unpoisoned
                                             << " reads of unstored slots saw stale values");
  }
}

TEST_CASE("__syncthreads inside a divergent branch is reported with kernel and line") {
  const std::string fault = emu_test::expect_fault([] {
    DeviceBuffer<int> out(32);
    return emu_test::barrier_in_divergent_branch(out.data(), nullptr);
  });
  INFO(fault);
  CHECK(contains(fault, "kernel 'barrier_in_divergent_branch'"));
  CHECK(contains(fault, "of grid (4,1,1)"));
  CHECK(contains(fault, "has exited while thread"));
  CHECK(contains(fault, "__syncthreads at "));
  CHECK(contains(fault, "planted_bugs.cu:"));
  CHECK(contains(fault, "M2U_EMU_SEED="));
}

TEST_CASE("a shuffle whose mask names an exited lane is reported") {
  const std::string fault = emu_test::expect_fault([] {
    DeviceBuffer<int> out(32);
    return emu_test::shuffle_with_exited_lane(out.data(), nullptr);
  });
  INFO(fault);
  CHECK(contains(fault, "kernel 'shuffle_with_exited_lane'"));
  CHECK(contains(fault, "__shfl_sync at "));
  CHECK(contains(fault, "lane 31 of mask 0xffffffff"));
  CHECK(contains(fault, "has exited"));
}

TEST_CASE("a shuffle called by a lane outside its mask is reported") {
  const std::string fault = emu_test::expect_fault([] {
    DeviceBuffer<int> out(32);
    return emu_test::shuffle_caller_outside_mask(out.data(), nullptr);
  });
  INFO(fault);
  CHECK(contains(fault, "calling lane 5"));
  CHECK(contains(fault, "is not in mask 0xffffffdf"));
}

TEST_CASE("lanes of one warp at two different shuffle call sites are reported") {
  const std::string fault = emu_test::expect_fault([] {
    DeviceBuffer<int> out(32);
    return emu_test::shuffle_divergent_sites(out.data(), nullptr);
  });
  INFO(fault);
  CHECK(contains(fault, "lanes of one warp wait at different collectives"));
}

TEST_CASE("a fault is sticky until cudaDeviceReset, like a device fault") {
  m2u_emu::set_fault_printing(false);
  int* out = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&out), 32 * sizeof(int)) == cudaSuccess);
  CHECK(emu_test::barrier_in_divergent_branch(out, nullptr) == cudaErrorLaunchFailure);
  CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure);
  void* more = nullptr;
  CHECK(cudaMalloc(&more, 16) == cudaErrorLaunchFailure);
  CHECK(emu_test::syncwarp_exchange(out, nullptr) == cudaErrorLaunchFailure);
  CHECK(cudaDeviceReset() == cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  CHECK(m2u_emu::last_fault().empty());
  m2u_emu::set_fault_printing(true);
}
