// test_emu_correct_kernels.cpp - correct kernels (tiled transpose, warp
// shuffle reduction, block scan, atomic histogram, 3-D indexing) give exact
// answers under many schedules, on odd sizes, without touching guard bytes.
#include <doctest/doctest.h>

#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "device_buffer.h"
#include "emu_test_support.h"
#include "kernels/emu_test_kernels.h"

using m2u_test::DeviceBuffer;

TEST_CASE("tiled transpose through shared memory is exact on odd shapes") {
  const int shapes[][2] = {{17, 34}, {67, 45}, {1, 33}, {64, 64}};
  for (auto shape : shapes) {
    const int rows = shape[0], cols = shape[1];
    std::vector<float> in(rows * cols);
    for (int i = 0; i < rows * cols; ++i) in[i] = static_cast<float>(i) * 0.5f - 3.0f;
    std::vector<float> expected(rows * cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) expected[c * rows + r] = in[r * cols + c];
    DeviceBuffer<float> d_in(in.size());
    d_in.upload(in);
    for (uint64_t seed : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(seed);
      DeviceBuffer<float> d_out(in.size());
      REQUIRE(emu_test::transpose_tiled(d_in.data(), d_out.data(), rows, cols, nullptr) == cudaSuccess);
      std::string where;
      CHECK_MESSAGE(d_out.guards_intact(&where), where);
      CHECK_MESSAGE(d_out.download() == expected, rows << "x" << cols << " seed " << seed);
    }
  }
}

TEST_CASE("shared tree + warp shuffle reduction is exact") {
  const int count = 256 * 7 + 13;
  std::vector<int> values(count);
  std::mt19937 rng(5);
  for (int& v : values) v = static_cast<int>(rng() % 2001) - 1000;
  const int blocks = (count + 255) / 256;
  std::vector<int> expected(blocks, 0);
  for (int i = 0; i < count; ++i) expected[i / 256] += values[i];
  DeviceBuffer<int> in(count);
  in.upload(values);
  for (uint64_t seed : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(seed);
    DeviceBuffer<int> out(blocks);
    REQUIRE(emu_test::block_sum(in.data(), out.data(), count, nullptr) == cudaSuccess);
    CHECK(out.guards_intact());
    CHECK_MESSAGE(out.download() == expected, "seed " << seed);
  }
}

TEST_CASE("block inclusive scan with dynamic shared memory is exact") {
  for (int block : {32, 128, 1024}) {
    const int count = block * 3 + 17;
    std::vector<int> values(count);
    for (int i = 0; i < count; ++i) values[i] = (i * 7919) % 13 - 6;
    std::vector<int> expected(count);
    for (int i = 0; i < count; ++i) expected[i] = values[i] + (i % block ? expected[i - 1] : 0);
    DeviceBuffer<int> in(count);
    in.upload(values);
    for (uint64_t seed : emu_test::test_seeds()) {
      emu_test::ScopedSeed scoped(seed);
      DeviceBuffer<int> out(count);
      REQUIRE(emu_test::block_inclusive_scan(in.data(), out.data(), count, block, nullptr) == cudaSuccess);
      CHECK(out.guards_intact());
      CHECK_MESSAGE(out.download() == expected, "block " << block << " seed " << seed);
    }
  }
}

TEST_CASE("atomic histogram (shared then global atomics) is exact") {
  const int count = 10007, bins = 37;
  std::vector<unsigned char> values(count);
  std::mt19937 rng(9);
  for (auto& v : values) v = static_cast<unsigned char>(rng() % bins);
  std::vector<unsigned> expected(bins, 0);
  for (auto v : values) expected[v]++;
  DeviceBuffer<unsigned char> in(count);
  in.upload(values);
  for (uint64_t seed : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(seed);
    DeviceBuffer<unsigned> out(bins);
    out.poison(0);
    REQUIRE(emu_test::histogram(in.data(), count, out.data(), bins, nullptr) == cudaSuccess);
    CHECK(out.guards_intact());
    CHECK_MESSAGE(out.download() == expected, "seed " << seed);
  }
}

TEST_CASE("3-D grids and blocks see every (threadIdx, blockIdx) exactly once") {
  const dim3 grid(3, 2, 2), block(5, 3, 2);
  const int threads = 30, blocks = 12;
  DeviceBuffer<int4> records(threads * blocks);
  REQUIRE(emu_test::write_indices(records.data(), grid, block, nullptr) == cudaSuccess);
  const std::vector<int4> got = records.download();
  for (int b = 0; b < blocks; ++b) {
    for (int z = 0, t = 0; z < 2; ++z)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 5; ++x, ++t) {
          const int4 r = got[b * threads + t];
          CHECK((r.x == x && r.y == y && r.z == z && r.w == b));
        }
  }
}
