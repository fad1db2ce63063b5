// scaled_storage.cuh - activation loads and stores through a view's scale,
// so that the kernels computing in FP32 (the stem, the bilinear upsampling,
// the input conversion, the final 1x1) also store and read INT8
// activations: for int8_t real = q * scale on load, and q = round(real /
// scale) (ties to even) clamped to [-127, 127] on store (NaN to -127);
// float and __half ignore the scale (identity, as device_math.cuh's loads).
// Every operation is an explicitly rounded intrinsic (no FMA contraction),
// the same bits on every executor; bytes are taken apart with shifts
// (int8_math.cuh) and stored one by one (see store_group_scaled).
#ifndef M2U_KERNELS_SCALED_STORAGE_CUH
#define M2U_KERNELS_SCALED_STORAGE_CUH

#include <cstdint>

#include "device_math.cuh"
#include "int8_math.cuh"

namespace m2u {

__device__ __forceinline__ float load_scaled(const float* source, float) { return *source; }
__device__ __forceinline__ float load_scaled(const __half* source, float) { return __half2float(*source); }
// One int8 through its aligned 32-bit word: with a plain signed-byte load
// (ld.global.s8, cvt.rn.f32.s16) GPGPU-Sim read the stem's negative inputs
// wrong (its run of test_scaled_storage_kernels; a GPU does not).
__device__ __forceinline__ float load_scaled(const int8_t* source, float scale) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(source);
  const unsigned int word = *reinterpret_cast<const unsigned int*>(address & ~static_cast<uintptr_t>(3));
  return __fmul_rn(static_cast<float>(signed_byte(word, static_cast<int>(address & 3u))), scale);
}

// Four consecutive channels (int8: one aligned 32-bit word).
__device__ __forceinline__ void load_quad_scaled(const float* source, float (&values)[4], float) {
  load_quad(source, values);
}
__device__ __forceinline__ void load_quad_scaled(const __half* source, float (&values)[4], float) {
  load_quad(source, values);
}
__device__ __forceinline__ void load_quad_scaled(const int8_t* source, float (&values)[4], float scale) {
  const unsigned int word = *reinterpret_cast<const unsigned int*>(source);
  M2U_UNROLL
  for (int j = 0; j < 4; ++j) values[j] = __fmul_rn(static_cast<float>(signed_byte(word, j)), scale);
}

// One 16-byte channel group (16 int8 channels: one aligned uint4).
__device__ __forceinline__ void load_group_scaled(const float* source, float (&values)[4], float) {
  load_group(source, values);
}
__device__ __forceinline__ void load_group_scaled(const __half* source, float (&values)[8], float) {
  load_group(source, values);
}
__device__ __forceinline__ void load_group_scaled(const int8_t* source, float (&values)[16], float scale) {
  const uint4 raw = *reinterpret_cast<const uint4*>(source);
  const unsigned int words[4] = {raw.x, raw.y, raw.z, raw.w};
  M2U_UNROLL
  for (int w = 0; w < 4; ++w) {
    M2U_UNROLL
    for (int j = 0; j < 4; ++j) {
      values[4 * w + j] = __fmul_rn(static_cast<float>(signed_byte(words[w], j)), scale);
    }
  }
}

__device__ __forceinline__ void store_group_scaled(float* destination, const float (&values)[4], float) {
  store_group(destination, values);
}
__device__ __forceinline__ void store_group_scaled(__half* destination, const float (&values)[8], float) {
  store_group(destination, values);
}
__device__ __forceinline__ void store_group_scaled(int8_t* destination, const float (&values)[16],
                                                   float inverse_scale) {
  // Byte by byte: packed into words, nvcc's prmt with byte selectors came
  // out wrong under GPGPU-Sim (its run of test_scaled_storage_kernels:
  // padding not 0); 16 byte stores to one 16-byte group coalesce like one
  // 16-byte store.
  unsigned char* bytes = reinterpret_cast<unsigned char*>(destination);
  M2U_UNROLL
  for (int j = 0; j < 16; ++j) bytes[j] = static_cast<unsigned char>(int8_quantized_byte(values[j], inverse_scale));
}

// device_math.cuh's store_activated_group through the scale.
template <typename T, int kGroup>
__device__ __forceinline__ void store_activated_group_scaled(T* destination, const float (&sums)[kGroup],
                                                             int first_channel, int channels,
                                                             KernelActivation activation, float inverse_scale) {
  float results[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    results[j] = first_channel + j < channels ? activate(sums[j], activation) : 0.0f;
  }
  store_group_scaled(destination, results, inverse_scale);
}

}  // namespace m2u

#endif  // M2U_KERNELS_SCALED_STORAGE_CUH
