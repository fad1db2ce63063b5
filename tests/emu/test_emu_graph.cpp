// test_emu_graph.cpp - stream capture and CUDA graphs in the emulated
// runtime (kernels/emu/emu_graph.cpp): a capturing stream records instead
// of running, a replay re-issues the recorded work in order with the
// arguments captured (reading device memory as it is at replay time), and
// what CUDA forbids during a capture is refused and breaks the capture.
#include <doctest/doctest.h>

#include <numeric>
#include <vector>

#include "device_buffer.h"
#include "emu_test_support.h"
#include "kernels/emu_test_kernels.h"

using m2u_test::DeviceBuffer;

namespace {

struct Stream {
  Stream() { REQUIRE(cudaStreamCreate(&stream) == cudaSuccess); }
  ~Stream() { cudaStreamDestroy(stream); }
  cudaStream_t stream = nullptr;
};

// CUDA 13's cudaGraphInstantiate (the emu flavour builds against its headers).
cudaGraphExec_t instantiate(cudaGraph_t graph) {
  cudaGraphExec_t executable = nullptr;
  REQUIRE(cudaGraphInstantiate(&executable, graph, 0) == cudaSuccess);
  return executable;
}

std::vector<int> iota_values(int count, int first) {
  std::vector<int> values(count);
  std::iota(values.begin(), values.end(), first);
  return values;
}

int sum(const std::vector<int>& values) { return std::accumulate(values.begin(), values.end(), 0); }

}  // namespace

TEST_CASE("a captured chain runs only when launched, in order, with the device memory of the moment") {
  Stream s;
  const int count = 300;  // two blocks of block_sum
  DeviceBuffer<int> in(count), partial(2), copy(2);
  in.upload(iota_values(count, 1));
  copy.poison(0xFF);
  const uint64_t grids_before = m2u_emu::counters().grids_launched;

  REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  REQUIRE(cudaStreamIsCapturing(s.stream, &status) == cudaSuccess);
  CHECK(status == cudaStreamCaptureStatusActive);
  REQUIRE(cudaMemsetAsync(partial.data(), 0, 2 * sizeof(int), s.stream) == cudaSuccess);
  REQUIRE(emu_test::block_sum(in.data(), partial.data(), count, s.stream) == cudaSuccess);
  REQUIRE(cudaMemcpyAsync(copy.data(), partial.data(), 2 * sizeof(int), cudaMemcpyDeviceToDevice, s.stream) ==
          cudaSuccess);
  cudaGraph_t graph = nullptr;
  REQUIRE(cudaStreamEndCapture(s.stream, &graph) == cudaSuccess);
  REQUIRE(graph != nullptr);
  REQUIRE(cudaStreamIsCapturing(s.stream, &status) == cudaSuccess);
  CHECK(status == cudaStreamCaptureStatusNone);
  // Nothing ran: no grid, the copy still poisoned.
  CHECK(m2u_emu::counters().grids_launched == grids_before);
  CHECK(copy.download() == std::vector<int>(2, static_cast<int>(0xFFFFFFFF)));

  cudaGraphExec_t executable = instantiate(graph);
  REQUIRE(cudaGraphLaunch(executable, s.stream) == cudaSuccess);
  REQUIRE(cudaStreamSynchronize(s.stream) == cudaSuccess);
  const std::vector<int> first = iota_values(count, 1);
  CHECK(copy.download() ==
        std::vector<int>{sum(std::vector<int>(first.begin(), first.begin() + 256)),
                         sum(std::vector<int>(first.begin() + 256, first.end()))});
  CHECK(m2u_emu::counters().grids_launched == grids_before + 1);

  // New input between replays: the graph reads it (pointers were captured,
  // not values).
  in.upload(iota_values(count, -100));
  copy.poison(0xFF);
  REQUIRE(cudaGraphLaunch(executable, s.stream) == cudaSuccess);
  const std::vector<int> second = iota_values(count, -100);
  CHECK(copy.download() ==
        std::vector<int>{sum(std::vector<int>(second.begin(), second.begin() + 256)),
                         sum(std::vector<int>(second.begin() + 256, second.end()))});
  CHECK(m2u_emu::counters().grids_launched == grids_before + 2);
  CHECK(in.guards_intact());
  CHECK(copy.guards_intact());
  CHECK(cudaGraphExecDestroy(executable) == cudaSuccess);
  CHECK(cudaGraphDestroy(graph) == cudaSuccess);
  CHECK(cudaGraphDestroy(graph) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
}

TEST_CASE("a launch-configuration error during capture is returned at once and recorded nothing") {
  Stream s;
  DeviceBuffer<int4> records(64);
  const uint64_t grids_before = m2u_emu::counters().grids_launched;
  REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal) == cudaSuccess);
  CHECK(emu_test::write_indices(records.data(), dim3(1), dim3(0), s.stream) == cudaErrorInvalidConfiguration);
  CHECK(emu_test::write_indices(records.data(), dim3(2), dim3(32), s.stream) == cudaSuccess);
  cudaGraph_t graph = nullptr;
  REQUIRE(cudaStreamEndCapture(s.stream, &graph) == cudaSuccess);
  cudaGraphExec_t executable = instantiate(graph);
  REQUIRE(cudaGraphLaunch(executable, s.stream) == cudaSuccess);
  CHECK(m2u_emu::counters().grids_launched == grids_before + 1);
  cudaGraphExecDestroy(executable);
  cudaGraphDestroy(graph);
  cudaGetLastError();
}

TEST_CASE("what CUDA forbids during a capture is refused and invalidates the capture") {
  Stream s;
  DeviceBuffer<int> device(16);
  std::vector<int> pageable(16, 7);
  int* pinned = nullptr;
  REQUIRE(cudaMallocHost(reinterpret_cast<void**>(&pinned), 16 * sizeof(int)) == cudaSuccess);
  cudaGraph_t graph = nullptr;

  SUBCASE("synchronising the capturing stream") {
    REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    CHECK(cudaStreamSynchronize(s.stream) == cudaErrorStreamCaptureUnsupported);
  }
  SUBCASE("querying it") {
    REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    CHECK(cudaStreamQuery(s.stream) == cudaErrorStreamCaptureUnsupported);
  }
  SUBCASE("an allocation on the capturing thread") {
    REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    void* more = nullptr;
    CHECK(cudaMalloc(&more, 64) == cudaErrorStreamCaptureUnsupported);
    CHECK(more == nullptr);
  }
  SUBCASE("a synchronous copy") {
    REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal) == cudaSuccess);
    CHECK(cudaMemcpy(device.data(), pageable.data(), 64, cudaMemcpyHostToDevice) ==
          cudaErrorStreamCaptureUnsupported);
  }
  SUBCASE("work on the legacy stream under a global capture") {
    REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal) == cudaSuccess);
    CHECK(cudaMemsetAsync(device.data(), 0, 64, nullptr) == cudaErrorStreamCaptureImplicit);
  }
  SUBCASE("a copy from pageable memory (the emulator is stricter than CUDA here)") {
    REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    CHECK(cudaMemcpyAsync(device.data(), pageable.data(), 64, cudaMemcpyHostToDevice, s.stream) ==
          cudaErrorStreamCaptureUnsupported);
  }
  SUBCASE("an event record") {
    cudaEvent_t event = nullptr;
    REQUIRE(cudaEventCreate(&event) == cudaSuccess);
    REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
    CHECK(cudaEventRecord(event, s.stream) == cudaErrorStreamCaptureUnsupported);
    cudaEventDestroy(event);
  }
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  REQUIRE(cudaStreamIsCapturing(s.stream, &status) == cudaSuccess);
  CHECK(status == cudaStreamCaptureStatusInvalidated);
  // Later work on the broken capture is refused too; its end gives no graph.
  CHECK(cudaMemsetAsync(device.data(), 0, 64, s.stream) == cudaErrorStreamCaptureInvalidated);
  CHECK(cudaStreamEndCapture(s.stream, &graph) == cudaErrorStreamCaptureInvalidated);
  CHECK(graph == nullptr);
  // The stream works normally again, and pinned copies may be captured.
  CHECK(cudaStreamSynchronize(s.stream) == cudaSuccess);
  REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  CHECK(cudaMemcpyAsync(device.data(), pinned, 64, cudaMemcpyHostToDevice, s.stream) == cudaSuccess);
  REQUIRE(cudaStreamEndCapture(s.stream, &graph) == cudaSuccess);
  CHECK(cudaGraphDestroy(graph) == cudaSuccess);
  cudaFreeHost(pinned);
  cudaGetLastError();
}

TEST_CASE("capture state errors: the legacy stream, a second begin, an end without a begin, nested launch") {
  Stream s;
  cudaGraph_t graph = nullptr;
  CHECK(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal) == cudaErrorStreamCaptureUnsupported);
  CHECK(cudaStreamEndCapture(s.stream, &graph) == cudaErrorIllegalState);
  REQUIRE(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeRelaxed) == cudaSuccess);
  CHECK(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeRelaxed) == cudaErrorIllegalState);
  // Relaxed mode allows allocations.
  void* allowed = nullptr;
  CHECK(cudaMalloc(&allowed, 64) == cudaSuccess);
  CHECK(cudaFree(allowed) == cudaSuccess);
  REQUIRE(cudaStreamEndCapture(s.stream, &graph) == cudaSuccess);
  cudaGraphExec_t executable = instantiate(graph);
  // A graph launched into a capture would be a child graph: not emulated.
  Stream other;
  REQUIRE(cudaStreamBeginCapture(other.stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess);
  CHECK(cudaGraphLaunch(executable, other.stream) == cudaErrorStreamCaptureUnsupported);
  cudaGraph_t broken = nullptr;
  CHECK(cudaStreamEndCapture(other.stream, &broken) == cudaErrorStreamCaptureInvalidated);
  CHECK(cudaGraphLaunch(executable, s.stream) == cudaSuccess);  // an empty graph
  cudaGraphExecDestroy(executable);
  cudaGraphDestroy(graph);
  CHECK(cudaGraphLaunch(executable, s.stream) == cudaErrorInvalidValue);
  cudaGetLastError();
}
