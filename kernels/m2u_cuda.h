// m2u_cuda.h - the one header every kernel source (.cu) includes first.
//
// Under nvcc (the "cuda" flavour) it pulls in NVIDIA's runtime and fp16
// headers. Under the host compiler (the "emu" flavour) it pulls in the SIMT
// host emulation, which supplies the built-in variables, barriers, warp
// collectives, atomics and intrinsics the kernels use. Kernel code written
// against this header compiles unchanged in both flavours, as C++14.
//
// Project-wide kernel conventions defined here:
//   M2U_HOT_KERNEL                 marks a kernel whose ptxas resource usage
//                                  .ci/device_check.sh audits (no spills).
//   M2U_DYNAMIC_SHARED(T, name)    declares `T* name` pointing at the block's
//                                  dynamic shared memory (16-byte aligned).
#ifndef M2U_KERNELS_M2U_CUDA_H
#define M2U_KERNELS_M2U_CUDA_H

#define M2U_HOT_KERNEL

#if defined(__CUDACC__)

#include <cuda_runtime.h>
#include <cuda_fp16.h>

#define M2U_DYNAMIC_SHARED(T, name)                                   \
  extern __shared__ __align__(16) unsigned char name##_shared_bytes[]; \
  T* name = reinterpret_cast<T*>(name##_shared_bytes)

#else

#include "emu/emu.h"

#define M2U_DYNAMIC_SHARED(T, name) \
  T* name = reinterpret_cast<T*>(::m2u_emu::dynamic_shared_memory())

#endif

#endif  // M2U_KERNELS_M2U_CUDA_H
