// emu_builtins.h - CUDA qualifiers and built-in variables for host execution.
//
// NVIDIA's headers are included before this file (emu.h does it); they define
// __global__, __device__, ... as attributes the host compiler does not know,
// so we redefine them here. threadIdx, blockIdx, blockDim and gridDim are real
// thread-local variables that the scheduler sets before it switches to a CUDA
// thread's fiber (they cannot be macros: driver_types.h uses the same names as
// struct fields).
#ifndef M2U_KERNELS_EMU_EMU_BUILTINS_H
#define M2U_KERNELS_EMU_EMU_BUILTINS_H

#include <vector_types.h>

#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __constant__
#undef __managed__
#undef __forceinline__
#undef __noinline__
#undef __launch_bounds__
#undef __grid_constant__

#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __grid_constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)

// Every thread of a block runs on the same OS thread, so a function-local
// `static` is shared by the block exactly like __shared__ memory is. It is
// thread_local so that OS threads running blocks at the same time each have
// their own. All of them go into one TLS section, m2u_emu_shared, whose
// bounds the linker defines in every module (__start_/__stop_); each
// translation unit registers a function that returns its module's bounds as
// the calling OS thread sees them, and the scheduler fills them with 0xCD
// before every block, like dynamic shared memory. GCC ignores section
// attributes inside function templates (GCC PR 70435): there a static
// __shared__ array is not poisoned. `extern __shared__` is not supported:
// use M2U_DYNAMIC_SHARED.
#define __shared__ static thread_local __attribute__((section("m2u_emu_shared")))

extern "C" {
extern __thread unsigned char __start_m2u_emu_shared[] __attribute__((visibility("hidden")));
extern __thread unsigned char __stop_m2u_emu_shared[] __attribute__((visibility("hidden")));
}

namespace m2u_emu {

struct StaticSharedBounds {
  unsigned char* begin;
  unsigned char* end;
};
// Called once per translation unit at static initialisation; the scheduler
// keeps one `bounds` per module. Returns true.
bool register_static_shared(StaticSharedBounds (*bounds)());

namespace {
// One byte in the section, so that every module including this header has it.
__shared__ __attribute__((used)) unsigned char static_shared_anchor;
inline StaticSharedBounds module_static_shared() {
  return StaticSharedBounds{__start_m2u_emu_shared, __stop_m2u_emu_shared};
}
__attribute__((used)) const bool static_shared_registered =
    register_static_shared(&module_static_shared);
}  // namespace

}  // namespace m2u_emu

// The general-dynamic model: in an executable built without -fPIC the linker
// would otherwise rewrite the `add x@gottpoff(%rip)` that computes their
// address into an `lea`, which leaves the flags alone, while GCC tests the
// flags of that `add` for UBSan's null check: a false "member access within
// null pointer of type 'struct uint3'". (The linker relaxes this model's
// __tls_get_addr call to a plain load in executables, so it costs nothing.)
#define M2U_EMU_BUILTIN_TLS thread_local __attribute__((tls_model("global-dynamic")))
extern M2U_EMU_BUILTIN_TLS uint3 threadIdx;
extern M2U_EMU_BUILTIN_TLS uint3 blockIdx;
extern M2U_EMU_BUILTIN_TLS dim3 blockDim;
extern M2U_EMU_BUILTIN_TLS dim3 gridDim;
static constexpr int warpSize = 32;

#endif  // M2U_KERNELS_EMU_EMU_BUILTINS_H
