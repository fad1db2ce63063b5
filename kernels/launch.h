// launch.h - the one launch helper every kernel launcher in m2urt uses.
//
//   cudaError_t status = m2u::launch("depthwise_conv", kernel_depthwise<float>,
//                                    grid, block, shared_bytes, stream, args...);
//
// cuda flavour: kernel<<<grid, block, shared_bytes, stream>>>(args...) inside
// an NVTX range named after the launch (when built with M2U_WITH_NVTX), then
// cudaGetLastError(). emu flavour: the same arguments are converted to the
// kernel's parameter types once, as CUDA does, and the SIMT emulator runs the
// grid (or, on a capturing stream, records a copy of the arguments for the
// graph); a configuration error or a fault comes back the same way.
// This is the only place in the project where `<<<` appears.
#ifndef M2U_KERNELS_LAUNCH_H
#define M2U_KERNELS_LAUNCH_H

#include <cstddef>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include "m2u_cuda.h"

#if defined(__CUDACC__) && defined(M2U_WITH_NVTX)
#include <nvtx3/nvToolsExt.h>
#endif

namespace m2u {

#if defined(__CUDACC__)

template <typename... Params, typename... Args>
cudaError_t launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                   size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel argument count mismatch");
#if defined(M2U_WITH_NVTX)
  nvtxRangePushA(name);
#else
  (void)name;
#endif
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
#if defined(M2U_WITH_NVTX)
  nvtxRangePop();
#endif
  return cudaGetLastError();
}

#else

namespace detail {

template <typename... Params>
struct LaunchClosure {
  void (*kernel)(Params...);
  std::tuple<typename std::decay<Params>::type...> arguments;
};

template <typename... Params, size_t... I>
void invoke_kernel(const LaunchClosure<Params...>& closure, std::index_sequence<I...>) {
  // Each CUDA thread gets its own copy of the by-value parameters.
  closure.kernel(std::get<I>(closure.arguments)...);
}

template <typename... Params>
void invoke_closure(const void* closure) {
  invoke_kernel(*static_cast<const LaunchClosure<Params...>*>(closure),
                std::index_sequence_for<Params...>{});
}

template <typename... Params>
std::shared_ptr<const void> copy_closure(const void* closure) {
  return std::make_shared<const LaunchClosure<Params...>>(*static_cast<const LaunchClosure<Params...>*>(closure));
}

}  // namespace detail

template <typename... Params, typename... Args>
cudaError_t launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block,
                   size_t shared_bytes, cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "kernel argument count mismatch");
  const detail::LaunchClosure<Params...> closure{
      kernel, std::tuple<typename std::decay<Params>::type...>(std::forward<Args>(args)...)};
  const m2u_emu::LaunchRequest request{name, grid, block, shared_bytes, stream};
  m2u_emu::launch(request, m2u_emu::KernelThunk{&detail::invoke_closure<Params...>, &closure,
                                                  &detail::copy_closure<Params...>});
  return cudaGetLastError();
}

#endif

}  // namespace m2u

#endif  // M2U_KERNELS_LAUNCH_H
