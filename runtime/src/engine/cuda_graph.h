// cuda_graph.h - one CUDA graph captured from the work queued on a stream,
// and its replay: the engine's cuda_graph option (engine.h).
//
//   CapturedGraph graph;
//   graph.begin(stream);                 // the stream records from here
//   ... queue kernels, device copies, memsets on `stream` ...
//   graph.end(stream);                   // instantiated; or graph.abandon(stream) after an error
//   graph.replay(stream);                // as often as wanted
//
// Wraps the runtime API where it differs between the Nano's CUDA 10.2 (and
// 11.x) and CUDA 12+ (cudaGraphInstantiate's signature). Captures in
// thread-local mode: other threads of the caller's process (another engine)
// may allocate meanwhile; this thread must not. In the emu flavour the
// emulated runtime records and replays (kernels/emu/emu_graph.cpp).
#ifndef M2U_RUNTIME_ENGINE_CUDA_GRAPH_H
#define M2U_RUNTIME_ENGINE_CUDA_GRAPH_H

#include <cuda_runtime_api.h>

namespace m2u {

class CapturedGraph {
 public:
  CapturedGraph() = default;
  ~CapturedGraph() { reset(); }
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;

  // Drops any graph held and starts capturing `stream`.
  cudaError_t begin(cudaStream_t stream);
  // Ends the capture and instantiates it; on failure nothing is held.
  cudaError_t end(cudaStream_t stream);
  // Ends a capture after a failure inside it, discarding what was recorded
  // (and the error the ended capture reports).
  void abandon(cudaStream_t stream);
  // Launches the instantiated graph on `stream` (ready() must be true).
  cudaError_t replay(cudaStream_t stream) const;
  bool ready() const { return executable_ != nullptr; }
  void reset();

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t executable_ = nullptr;
};

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_CUDA_GRAPH_H
