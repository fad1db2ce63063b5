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
// thread_local so that two host threads emulating launches do not collide.
// `extern __shared__` is not supported: use M2U_DYNAMIC_SHARED.
#define __shared__ static thread_local

extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern thread_local dim3 blockDim;
extern thread_local dim3 gridDim;
static constexpr int warpSize = 32;

#endif  // M2U_KERNELS_EMU_EMU_BUILTINS_H
