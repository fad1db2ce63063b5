// emu_graph.cpp - stream capture and CUDA graphs for the emu flavour.
//
// cudaStreamBeginCapture turns a stream into a recorder: kernel launches
// (with an owned copy of their arguments), device and pinned copies and
// memsets queued on it are recorded in order instead of run, after the same
// argument checks a real call makes. cudaStreamEndCapture hands the recording
// over as a cudaGraph_t; cudaGraphInstantiate copies it into an executable
// graph and cudaGraphLaunch re-issues each recorded call, in order, on the
// stream it is launched on (a fault stops the replay and is sticky, as on a
// device). A graph is the linear chain one stream records: no forks, joins,
// events or child graphs.
//
// What CUDA refuses during capture is refused here too, and invalidates the
// capture (cudaStreamEndCapture then returns cudaErrorStreamCaptureInvalidated
// and no graph): synchronising or querying the capturing stream, work on the
// legacy stream while a global-mode capture runs, and allocations, frees and
// synchronous copies under a global or thread-local capture of this thread
// (or a global one of any thread). Stricter than CUDA: copies to or from
// pageable host memory and event records or waits on a capturing stream are
// refused (cudaErrorStreamCaptureUnsupported) - m2urt keeps its pageable
// copies outside its graphs, and this makes a slip show in CI.
#include <cuda_runtime_api.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "emu_device_state.h"

struct CUgraph_st {
  std::vector<m2u_emu::RecordedWork> work;
};

struct CUgraphExec_st {
  std::vector<m2u_emu::RecordedWork> work;
};

namespace m2u_emu {
namespace {

struct Capture {
  cudaStreamCaptureMode mode;
  std::thread::id thread;
  bool invalidated = false;
  std::unique_ptr<CUgraph_st> graph;
};

struct GraphState {
  std::mutex mutex;
  std::map<cudaStream_t, Capture> captures;
  std::set<cudaGraph_t> graphs;
  std::set<cudaGraphExec_t> executables;
};

GraphState& graph_state() {
  static GraphState instance;
  return instance;
}

std::atomic<uint64_t> g_graph_launches{0};

bool is_legacy(cudaStream_t stream) { return stream == nullptr || stream == cudaStreamLegacy; }

bool global_capture_running_locked() {
  for (const auto& entry : graph_state().captures) {
    if (entry.second.mode == cudaStreamCaptureModeGlobal) return true;
  }
  return false;
}

void invalidate_global_captures_locked() {
  for (auto& entry : graph_state().captures) {
    if (entry.second.mode == cudaStreamCaptureModeGlobal) entry.second.invalidated = true;
  }
}

}  // namespace

bool is_capturing(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  if (graph_state().captures.count(stream)) return true;
  return is_legacy(stream) && global_capture_running_locked();
}

cudaError_t record_work(cudaStream_t stream, RecordedWork work) {
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  auto it = graph_state().captures.find(stream);
  if (it == graph_state().captures.end()) {
    invalidate_global_captures_locked();
    record_error(cudaErrorStreamCaptureImplicit);
    return cudaErrorStreamCaptureImplicit;
  }
  if (it->second.invalidated) {
    record_error(cudaErrorStreamCaptureInvalidated);
    return cudaErrorStreamCaptureInvalidated;
  }
  it->second.graph->work.push_back(std::move(work));
  return cudaSuccess;
}

cudaError_t refuse_during_capture(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  bool refused = false;
  for (auto& entry : graph_state().captures) {
    Capture& capture = entry.second;
    const bool breaks =
        stream != nullptr
            ? entry.first == stream
            : capture.mode == cudaStreamCaptureModeGlobal ||
                  (capture.mode == cudaStreamCaptureModeThreadLocal && capture.thread == std::this_thread::get_id());
    if (breaks) {
      capture.invalidated = true;
      refused = true;
    }
  }
  if (!refused) return cudaSuccess;
  record_error(cudaErrorStreamCaptureUnsupported);
  return cudaErrorStreamCaptureUnsupported;
}

uint64_t graph_launches() { return g_graph_launches.load(); }

void forget_stream_capture(cudaStream_t stream) {
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  graph_state().captures.erase(stream);
}

}  // namespace m2u_emu

using m2u_emu::graph_state;

extern "C" {

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode) {
  if (m2u_emu::is_legacy(stream)) {
    m2u_emu::record_error(cudaErrorStreamCaptureUnsupported);
    return cudaErrorStreamCaptureUnsupported;
  }
  if (!m2u_emu::is_valid_stream(stream)) {
    m2u_emu::record_error(cudaErrorInvalidResourceHandle);
    return cudaErrorInvalidResourceHandle;
  }
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed) {
    m2u_emu::record_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  if (graph_state().captures.count(stream)) {
    m2u_emu::record_error(cudaErrorIllegalState);
    return cudaErrorIllegalState;
  }
  m2u_emu::Capture& capture = graph_state().captures[stream];
  capture.mode = mode;
  capture.thread = std::this_thread::get_id();
  capture.graph.reset(new CUgraph_st);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!graph) {
    m2u_emu::record_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  *graph = nullptr;
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  auto it = graph_state().captures.find(stream);
  if (it == graph_state().captures.end()) {
    m2u_emu::record_error(cudaErrorIllegalState);
    return cudaErrorIllegalState;
  }
  if (it->second.mode != cudaStreamCaptureModeRelaxed && it->second.thread != std::this_thread::get_id()) {
    m2u_emu::record_error(cudaErrorStreamCaptureWrongThread);
    return cudaErrorStreamCaptureWrongThread;
  }
  const bool invalidated = it->second.invalidated;
  std::unique_ptr<CUgraph_st> recorded = std::move(it->second.graph);
  graph_state().captures.erase(it);
  if (invalidated) {
    m2u_emu::record_error(cudaErrorStreamCaptureInvalidated);
    return cudaErrorStreamCaptureInvalidated;
  }
  *graph = recorded.release();
  graph_state().graphs.insert(*graph);
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus* status) {
  if (!status) {
    m2u_emu::record_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  auto it = graph_state().captures.find(stream);
  *status = it == graph_state().captures.end() ? cudaStreamCaptureStatusNone
            : it->second.invalidated           ? cudaStreamCaptureStatusInvalidated
                                               : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

#if CUDART_VERSION >= 12000
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* executable, cudaGraph_t graph, unsigned long long flags) {
#else
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* executable, cudaGraph_t graph, cudaGraphNode_t* error_node,
                                 char* log, size_t log_bytes) {
  (void)error_node;
  if (log && log_bytes) log[0] = '\0';
  const unsigned long long flags = 0;
#endif
  if (!executable || flags != 0) {
    m2u_emu::record_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  if (!graph_state().graphs.count(graph)) {
    m2u_emu::record_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  *executable = new CUgraphExec_st{graph->work};
  graph_state().executables.insert(*executable);
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t executable, cudaStream_t stream) {
  const cudaError_t sticky = m2u_emu::sticky_error();
  if (sticky != cudaSuccess) return sticky;
  if (!m2u_emu::is_valid_stream(stream)) {
    m2u_emu::record_error(cudaErrorInvalidResourceHandle);
    return cudaErrorInvalidResourceHandle;
  }
  {
    std::lock_guard<std::mutex> lock(graph_state().mutex);
    if (!graph_state().executables.count(executable)) {
      m2u_emu::record_error(cudaErrorInvalidValue);
      return cudaErrorInvalidValue;
    }
  }
  if (m2u_emu::is_capturing(stream)) {
    // A graph launched into a capture would become a child graph node.
    m2u_emu::refuse_during_capture(stream);
    return cudaErrorStreamCaptureUnsupported;
  }
  // Like CUDA, destroying an executable graph while it is being launched is
  // the caller's error; a replay allocates nothing.
  m2u_emu::g_graph_launches.fetch_add(1, std::memory_order_relaxed);
  for (const m2u_emu::RecordedWork& item : executable->work) {
    const cudaError_t status = item(stream);
    if (status != cudaSuccess) return status;
  }
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t executable) {
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  if (graph_state().executables.erase(executable) == 0) {
    m2u_emu::record_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  delete executable;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::mutex> lock(graph_state().mutex);
  if (graph_state().graphs.erase(graph) == 0) {
    m2u_emu::record_error(cudaErrorInvalidValue);
    return cudaErrorInvalidValue;
  }
  delete graph;
  return cudaSuccess;
}

}  // extern "C"
