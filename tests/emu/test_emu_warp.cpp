// test_emu_warp.cpp - warp shuffles, votes and __syncwarp follow the CUDA
// programming guide lane by lane, for every width, partial masks included;
// a mask naming a lane the block does not have is reported.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "device_buffer.h"
#include "emu_test_support.h"
#include "kernels/emu_test_kernels.h"

using emu_test::WarpOp;
using m2u_test::DeviceBuffer;

namespace {

// The CUDA C++ Programming Guide's description of each shuffle, written
// independently of the emulation's PTX-based formula.
int guide_source_lane(WarpOp op, int lane, int argument, int width) {
  const int segment_start = lane / width * width;
  switch (op) {
    case WarpOp::kShflIndex: return segment_start + argument % width;
    case WarpOp::kShflUp: return lane - segment_start >= argument ? lane - argument : lane;
    case WarpOp::kShflDown: return lane - segment_start + argument < width ? lane + argument : lane;
    case WarpOp::kShflXor: {
      // Earlier groups may be read; a later group gives the caller's own value.
      const int source = lane ^ argument;
      return source >= segment_start + width ? lane : source;
    }
    default: return lane;
  }
}

std::vector<int> run_warp_op(WarpOp op, unsigned mask, int argument, int width,
                             const std::vector<int>& inputs) {
  DeviceBuffer<int> d_in(32), d_out(32);
  d_in.upload(inputs);
  d_out.poison(0);
  REQUIRE(emu_test::warp_op(op, mask, argument, width, d_in.data(), d_out.data(), 32, nullptr) ==
          cudaSuccess);
  return d_out.download();
}

}  // namespace

TEST_CASE("shuffles match the programming guide for every width and argument") {
  std::vector<int> inputs(32);
  for (int lane = 0; lane < 32; ++lane) inputs[lane] = 100 + lane;
  for (WarpOp op : {WarpOp::kShflIndex, WarpOp::kShflUp, WarpOp::kShflDown, WarpOp::kShflXor}) {
    for (int width : {1, 2, 4, 8, 16, 32}) {
      for (int argument : {0, 1, 3, 7, 16, 31}) {
        const std::vector<int> got = run_warp_op(op, 0xFFFFFFFFu, argument, width, inputs);
        for (int lane = 0; lane < 32; ++lane) {
          const int expected = inputs[guide_source_lane(op, lane, argument, width)];
          CHECK_MESSAGE(got[lane] == expected, "op " << static_cast<int>(op) << " width " << width
                                                     << " argument " << argument << " lane " << lane);
        }
      }
    }
  }
}

TEST_CASE("__shfl_down_sync with width 8 gives 15 15 17 18 19 on lanes 14..18") {
  std::vector<int> inputs(32);
  for (int lane = 0; lane < 32; ++lane) inputs[lane] = lane;
  const std::vector<int> got = run_warp_op(WarpOp::kShflDown, 0xFFFFFFFFu, 1, 8, inputs);
  CHECK(std::vector<int>(got.begin() + 14, got.begin() + 19) == std::vector<int>{15, 15, 17, 18, 19});
}

TEST_CASE("votes over full and partial masks") {
  std::vector<int> inputs(32, 0);
  for (int lane : {1, 4, 9, 30}) inputs[lane] = 1;
  const unsigned expected_ballot = (1u << 1) | (1u << 4) | (1u << 9) | (1u << 30);
  for (int got : run_warp_op(WarpOp::kBallot, 0xFFFFFFFFu, 0, 32, inputs)) {
    CHECK(static_cast<unsigned>(got) == expected_ballot);
  }
  const unsigned low_half = 0x0000FFFFu;
  const std::vector<int> partial = run_warp_op(WarpOp::kBallot, low_half, 0, 32, inputs);
  for (int lane = 0; lane < 16; ++lane) CHECK(static_cast<unsigned>(partial[lane]) == (expected_ballot & low_half));
  for (int lane = 16; lane < 32; ++lane) CHECK(partial[lane] == 0);  // skipped the call
  CHECK(run_warp_op(WarpOp::kAny, 0xFFFFFFFFu, 0, 32, inputs)[0] == 1);
  CHECK(run_warp_op(WarpOp::kAll, 0xFFFFFFFFu, 0, 32, inputs)[0] == 0);
  CHECK(run_warp_op(WarpOp::kAny, 0x00000F00u, 0, 32, inputs)[8] == 1);
  CHECK(run_warp_op(WarpOp::kAny, 0x000000C0u, 0, 32, inputs)[6] == 0);
  std::vector<int> ones(32, 1);
  CHECK(run_warp_op(WarpOp::kAll, 0xFFFFFFFFu, 0, 32, ones)[31] == 1);
}

TEST_CASE("a shuffle reading a lane outside a partial mask is reported") {
  std::vector<int> inputs(32, 1);
  const std::string fault = emu_test::expect_fault([&] {
    DeviceBuffer<int> d_in(32), d_out(32);
    d_in.upload(inputs);
    // Lanes 0..15 take part, all read lane 20.
    return emu_test::warp_op(WarpOp::kShflIndex, 0x0000FFFFu, 20, 32, d_in.data(), d_out.data(), 32,
                             nullptr);
  });
  INFO(fault);
  CHECK(fault.find("source lane 20 is not in mask 0xffff") != std::string::npos);
}

TEST_CASE("a full mask in a partial warp names the missing lane") {
  const std::string fault = emu_test::expect_fault([] {
    DeviceBuffer<int> d_in(32), d_out(32);
    return emu_test::warp_op(WarpOp::kBallot, 0xFFFFFFFFu, 0, 32, d_in.data(), d_out.data(), 20,
                             nullptr);
  });
  INFO(fault);
  CHECK(fault.find("names lane 20, which does not exist (the block has 20 threads)") !=
        std::string::npos);
}

TEST_CASE("__syncwarp orders shared memory within a warp; atomics interleave safely") {
  for (uint64_t seed : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(seed);
    DeviceBuffer<int> out(32);
    REQUIRE(emu_test::syncwarp_exchange(out.data(), nullptr) == cudaSuccess);
    const std::vector<int> got = out.download();
    for (int lane = 0; lane < 32; ++lane) CHECK(got[lane] == (lane ^ 1));
    DeviceBuffer<int> counter(1);
    REQUIRE(emu_test::atomic_counter(counter.data(), 1000, nullptr) == cudaSuccess);
    CHECK(counter.download()[0] == 1000);
  }
}

TEST_CASE("a shuffle width that is not a power of two is reported from inside the kernel") {
  const std::string fault = emu_test::expect_fault([] {
    DeviceBuffer<int> d_in(32), d_out(32);
    return emu_test::warp_op(WarpOp::kShflDown, 0xFFFFFFFFu, 1, 12, d_in.data(), d_out.data(), 32,
                             nullptr);
  });
  INFO(fault);
  CHECK(fault.find("__shfl_down_sync: width 12 is not a power of two in [1, 32]") != std::string::npos);
  CHECK(fault.find("warp_kernels.cu:") != std::string::npos);
}
