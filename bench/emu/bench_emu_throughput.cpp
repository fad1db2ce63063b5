// bench_emu_throughput.cpp - how fast the SIMT emulation runs kernels:
// CUDA threads per second, block barriers per second and warp collectives
// per second, on 256x256-thread grids (the size of an M2U-Net layer at
// 256x256 pixels), for block sizes 64, 256 and 1024.
#include <benchmark/benchmark.h>

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <stdexcept>

#include "emu/emu_scheduler.h"
#include "throughput_kernels.h"

namespace {

constexpr int kThreads = 256 * 256;

void check(cudaError_t status) {
  if (status != cudaSuccess) throw std::runtime_error(cudaGetErrorString(status));
}

class DeviceInts {
 public:
  explicit DeviceInts(int count) { check(cudaMalloc(reinterpret_cast<void**>(&data_), count * sizeof(int))); }
  ~DeviceInts() { cudaFree(data_); }
  int* data() { return data_; }

 private:
  int* data_ = nullptr;
};

void BM_threads(benchmark::State& state) {
  const int block = static_cast<int>(state.range(0));
  DeviceInts out(kThreads);
  for (auto _ : state) check(bench_emu::write_index(out.data(), kThreads, block, nullptr));
  state.counters["threads/s"] = benchmark::Counter(double(kThreads) * state.iterations(),
                                                   benchmark::Counter::kIsRate);
}
BENCHMARK(BM_threads)->Arg(64)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);

void BM_barriers(benchmark::State& state) {
  const int block = static_cast<int>(state.range(0));
  const int barriers = static_cast<int>(state.range(1));
  DeviceInts out(kThreads);
  const m2u_emu::Counters before = m2u_emu::counters();
  for (auto _ : state) check(bench_emu::barrier_chain(out.data(), kThreads, block, barriers, nullptr));
  const m2u_emu::Counters after = m2u_emu::counters();
  // One block barrier releases every thread of the block.
  state.counters["block_barriers/s"] = benchmark::Counter(
      double(after.barriers_released - before.barriers_released), benchmark::Counter::kIsRate);
  state.counters["thread_barriers/s"] = benchmark::Counter(
      double(after.barriers_released - before.barriers_released) * block, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_barriers)->Args({256, 4})->Args({256, 16})->Args({1024, 4})->Unit(benchmark::kMillisecond);

void BM_warp_shuffles(benchmark::State& state) {
  const int block = static_cast<int>(state.range(0));
  DeviceInts in(kThreads), out(kThreads / 32);
  check(cudaMemset(in.data(), 0, kThreads * sizeof(int)));
  const m2u_emu::Counters before = m2u_emu::counters();
  for (auto _ : state) check(bench_emu::warp_reduce(in.data(), out.data(), kThreads, block, nullptr));
  const m2u_emu::Counters after = m2u_emu::counters();
  state.counters["warp_collectives/s"] = benchmark::Counter(
      double(after.warp_collectives_released - before.warp_collectives_released),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_warp_shuffles)->Arg(256)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
