// int8_math.cuh - what the INT8 convolutions (pointwise_conv_int8.cu,
// depthwise_conv_int8.cu) share: signed bytes of packed words, the int32
// dot product of two packed words on either Int8DotPath, the FP32
// requantising epilogue of conv_kernels_int8.h, and the launchers' host-side
// checks of the arguments common to both.
#ifndef M2U_KERNELS_INT8_MATH_CUH
#define M2U_KERNELS_INT8_MATH_CUH

#include <cstdint>

#include "conv_kernels_int8.h"
#include "device_math.cuh"
#include "launcher_support.h"
#include "m2u_cuda.h"

namespace m2u {

// Signed byte `i` (0 = the lowest address) of a word loaded from int8 memory.
__device__ __forceinline__ int signed_byte(unsigned int word, int i) {
  return static_cast<int>(word << (24 - 8 * i)) >> 24;
}

// c + the products of the four signed byte pairs of a and b, summed exactly.
__device__ __forceinline__ int dot4_scalar(unsigned int a, unsigned int b, int c) {
  M2U_UNROLL
  for (int i = 0; i < 4; ++i) c += signed_byte(a, i) * signed_byte(b, i);
  return c;
}

// The same on `kPath`: dp4a where the code is for sm_61+ (or the
// emulation) and kNative is asked for, the scalar form otherwise. Device
// code for older architectures never names __dp4a.
template <Int8DotPath kPath>
__device__ __forceinline__ int dot4(unsigned int a, unsigned int b, int c) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 610
  return dot4_scalar(a, b, c);
#else
  return kPath == Int8DotPath::kNative ? __dp4a(static_cast<int>(a), static_cast<int>(b), c)
                                       : dot4_scalar(a, b, c);
#endif
}

// The epilogue's real value before a residual: __fmaf_rn((float)acc,
// multiplier, bias), then the activation (linear, ReLU or ReLU6).
__device__ __forceinline__ float int8_activated(int acc, float multiplier, float bias,
                                                KernelActivation activation) {
  return activate(__fmaf_rn(__int2float_rn(acc), multiplier, bias), activation);
}

// `real` in output steps, clamped to [-127, 127] in float (NaN gives -127)
// before the conversion, which rounds to nearest even.
__device__ __forceinline__ unsigned int int8_quantized_byte(float real,
                                                            float output_inverse_scale) {
  const float steps = fminf(fmaxf(__fmul_rn(real, output_inverse_scale), -127.0f), 127.0f);
  return static_cast<unsigned int>(__float2int_rn(steps)) & 0xFFu;
}

// ---- host-side checks

// A weight or view pointer the kernels load 16 bytes at a time from.
inline bool aligned_16(const void* pointer) {
  return pointer != nullptr && reinterpret_cast<uintptr_t>(pointer) % 16 == 0;
}

// Requantisation arrays present and an activation with correctly rounded
// arithmetic (no sigmoid).
inline bool valid_int8_epilogue(const Int8Requant& requant, KernelActivation activation) {
  return requant.multiplier != nullptr && requant.bias != nullptr &&
         (activation == KernelActivation::kLinear || activation == KernelActivation::kRelu ||
          activation == KernelActivation::kRelu6);
}

}  // namespace m2u

#endif  // M2U_KERNELS_INT8_MATH_CUH
