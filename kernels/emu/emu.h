// emu.h - the SIMT host emulation as kernel code sees it (emu flavour only).
//
// NVIDIA's headers come first and are used as they are (types, error codes,
// half arithmetic); __CUDACC__ is never defined on the host, or cuda_fp16.h
// would take its device paths. Then come the emulation's qualifiers and
// built-ins, synchronisation, atomics and intrinsics.
#ifndef M2U_KERNELS_EMU_EMU_H
#define M2U_KERNELS_EMU_EMU_H

#if defined(__CUDACC__)
#error "emu.h is for the host compiler; nvcc builds use the CUDA headers directly"
#endif

#include <cuda_runtime_api.h>
#include <cuda_fp16.h>
#include <vector_types.h>
#include <vector_functions.h>

#include <cmath>
#include <memory>  // before emu_builtins.h's __noinline__ (libstdc++ spells the attribute so)

#include "emu_builtins.h"
#include "emu_scheduler.h"
#include "emu_sync.h"
#include "emu_atomics.h"
#include "emu_intrinsics.h"
#include "emu_fp16.h"

#endif  // M2U_KERNELS_EMU_EMU_H
