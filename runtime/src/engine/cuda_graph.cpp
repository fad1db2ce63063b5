// cuda_graph.cpp - CapturedGraph: stream capture, instantiation (the one
// call whose signature changed in CUDA 12) and replay.
#include "cuda_graph.h"

namespace m2u {

cudaError_t CapturedGraph::begin(cudaStream_t stream) {
  reset();
  return cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
}

cudaError_t CapturedGraph::end(cudaStream_t stream) {
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  if (ended != cudaSuccess) {
    if (graph) cudaGraphDestroy(graph);
    return ended;
  }
  graph_ = graph;
#if CUDART_VERSION >= 12000
  const cudaError_t instantiated = cudaGraphInstantiate(&executable_, graph_, 0);
#else
  // CUDA 10.2 and 11.x: (exec, graph, error node, log buffer, log size).
  const cudaError_t instantiated = cudaGraphInstantiate(&executable_, graph_, nullptr, nullptr, 0);
#endif
  if (instantiated != cudaSuccess) {
    executable_ = nullptr;
    reset();
  }
  return instantiated;
}

void CapturedGraph::abandon(cudaStream_t stream) {
  cudaGraph_t graph = nullptr;
  if (cudaStreamEndCapture(stream, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
  cudaGetLastError();  // the failure being handled is the caller's to report
  reset();
}

cudaError_t CapturedGraph::replay(cudaStream_t stream) const { return cudaGraphLaunch(executable_, stream); }

void CapturedGraph::reset() {
  if (executable_) cudaGraphExecDestroy(executable_);
  if (graph_) cudaGraphDestroy(graph_);
  executable_ = nullptr;
  graph_ = nullptr;
}

}  // namespace m2u
