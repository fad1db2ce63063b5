// test_emu_runtime.cpp - the emulated CUDA runtime API behaves like the real
// one where m2urt depends on it: launch-configuration errors, copy
// direction and bounds checks, streams, events, device properties.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "device_buffer.h"
#include "emu_test_support.h"
#include "kernels/emu_test_kernels.h"

using m2u_test::DeviceBuffer;

TEST_CASE("launch configuration errors are reported like CUDA and are not sticky") {
  DeviceBuffer<int4> records(64);
  CHECK(emu_test::write_indices(records.data(), dim3(1), dim3(0), nullptr) == cudaErrorInvalidConfiguration);
  CHECK(emu_test::write_indices(records.data(), dim3(0), dim3(32), nullptr) == cudaErrorInvalidConfiguration);
  CHECK(emu_test::write_indices(records.data(), dim3(1), dim3(1025), nullptr) == cudaErrorInvalidConfiguration);
  CHECK(emu_test::write_indices(records.data(), dim3(1), dim3(32, 32, 2), nullptr) == cudaErrorInvalidConfiguration);
  CHECK(emu_test::write_indices(records.data(), dim3(1, 65536), dim3(1), nullptr) == cudaErrorInvalidConfiguration);
  CHECK(cudaGetLastError() == cudaSuccess);  // each error was returned once
  DeviceBuffer<unsigned char> values(64);
  DeviceBuffer<unsigned> bins(13000);
  // 13000 shared bins = 52,000 bytes of dynamic shared memory: over 48 KiB.
  CHECK(emu_test::histogram(values.data(), 64, bins.data(), 13000, nullptr) == cudaErrorInvalidValue);
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  REQUIRE(cudaStreamDestroy(stream) == cudaSuccess);
  CHECK(emu_test::write_indices(records.data(), dim3(1), dim3(4), stream) == cudaErrorInvalidResourceHandle);
  CHECK(emu_test::write_indices(records.data(), dim3(2), dim3(32), nullptr) == cudaSuccess);
}

TEST_CASE("copies check direction and bounds against the allocations") {
  DeviceBuffer<float> device(16, 0);
  std::vector<float> host(16, 1.0f), twice(32, 0.0f);
  CHECK(cudaMemcpy(device.data(), host.data(), 64, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaMemcpy(host.data(), device.data(), 64, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(twice.data(), device.data(), 65, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(device.data() + 1, host.data(), 64, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(device.data(), host.data(), 64, cudaMemcpyDefault) == cudaSuccess);
  CHECK(cudaMemset(host.data(), 0, 4) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaSuccess);
  // A 2-D copy of 3 rows of 8 bytes with pitches 16 (device) and 12 (host).
  DeviceBuffer<unsigned char> pitched(40, 0);
  std::vector<unsigned char> rows(36);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<unsigned char>(i);
  REQUIRE(cudaMemcpy2D(pitched.data(), 16, rows.data(), 12, 8, 3, cudaMemcpyHostToDevice) == cudaSuccess);
  const std::vector<unsigned char> got = pitched.download();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 8; ++c) CHECK(got[r * 16 + c] == rows[r * 12 + c]);
  CHECK(got[8] == 0xFF);  // untouched padding keeps the poison
  CHECK(cudaMemcpy2D(pitched.data(), 16, rows.data(), 12, 8, 4, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy2D(pitched.data(), 4, rows.data(), 12, 8, 2, cudaMemcpyHostToDevice) == cudaErrorInvalidPitchValue);
}

TEST_CASE("fresh device memory reads as NaN; pinned memory is host memory") {
  float* device = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&device), 8 * sizeof(float)) == cudaSuccess);
  std::vector<float> host(8, 0.0f);
  REQUIRE(cudaMemcpy(host.data(), device, 32, cudaMemcpyDeviceToHost) == cudaSuccess);
  for (float v : host) CHECK(v != v);
  float* pinned = nullptr;
  REQUIRE(cudaMallocHost(reinterpret_cast<void**>(&pinned), 32) == cudaSuccess);
  CHECK(cudaMemcpy(device, pinned, 32, cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaFree(pinned) == cudaErrorInvalidValue);
  CHECK(cudaFreeHost(pinned) == cudaSuccess);
  const m2u_emu::MemoryCounters before = m2u_emu::memory_counters();
  CHECK(cudaFree(device) == cudaSuccess);
  CHECK(m2u_emu::memory_counters().device_frees == before.device_frees + 1);
  cudaGetLastError();
}

TEST_CASE("events measure elapsed host time; timing-disabled events refuse") {
  cudaEvent_t start, stop, untimed;
  REQUIRE(cudaEventCreate(&start) == cudaSuccess);
  REQUIRE(cudaEventCreate(&stop) == cudaSuccess);
  REQUIRE(cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming) == cudaSuccess);
  float ms = -1.0f;
  CHECK(cudaEventElapsedTime(&ms, start, stop) == cudaErrorNotReady);
  REQUIRE(cudaEventRecord(start, nullptr) == cudaSuccess);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(cudaEventRecord(stop, nullptr) == cudaSuccess);
  REQUIRE(cudaEventSynchronize(stop) == cudaSuccess);
  REQUIRE(cudaEventElapsedTime(&ms, start, stop) == cudaSuccess);
  CHECK(ms >= 19.0f);
  CHECK(ms < 2000.0f);
  REQUIRE(cudaEventRecord(untimed, nullptr) == cudaSuccess);
  CHECK(cudaEventElapsedTime(&ms, start, untimed) == cudaErrorInvalidResourceHandle);
  for (cudaEvent_t e : {start, stop, untimed}) CHECK(cudaEventDestroy(e) == cudaSuccess);
  CHECK(cudaEventDestroy(start) == cudaErrorInvalidResourceHandle);
  cudaGetLastError();
}

TEST_CASE("the emulated device describes itself") {
  cudaDeviceProp prop;
  REQUIRE(cudaGetDeviceProperties(&prop, 0) == cudaSuccess);
  CHECK(prop.warpSize == 32);
  CHECK(prop.maxThreadsPerBlock == 1024);
  CHECK(prop.sharedMemPerBlock == 48 * 1024);
  CHECK(cudaGetDeviceProperties(&prop, 1) == cudaErrorInvalidDevice);
  int value = 0;
  CHECK(cudaDeviceGetAttribute(&value, cudaDevAttrWarpSize, 0) == cudaSuccess);
  CHECK(value == 32);
  int count = 0;
  CHECK(cudaGetDeviceCount(&count) == cudaSuccess);
  CHECK(count == 1);
  cudaGetLastError();
}

TEST_CASE("the emulated device has 4 GiB: larger allocations fail like on a device") {
  void* huge = nullptr;
  CHECK(cudaMalloc(&huge, size_t(5) << 30) == cudaErrorMemoryAllocation);
  CHECK(huge == nullptr);
  CHECK(cudaGetLastError() == cudaErrorMemoryAllocation);
  size_t free_bytes = 0, total_bytes = 0;
  CHECK(cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess);
  CHECK(total_bytes == size_t(4) << 30);
}
