// scaled_storage.cuh - activation loads and stores through a view's scale,
// so that the kernels computing in FP32 (the stem, the bilinear upsampling,
// the input conversion, the final 1x1) also store and read INT8
// activations: for int8_t real = q * scale on load, and q = round(real /
// scale) (ties to even) clamped to [-127, 127] on store (NaN to -127);
// float and __half ignore the scale (identity, as device_math.cuh's loads).
// Every operation is an explicitly rounded intrinsic (no FMA contraction),
// the same bits on every executor.
#ifndef M2U_KERNELS_SCALED_STORAGE_CUH
#define M2U_KERNELS_SCALED_STORAGE_CUH

#include <cstdint>

#include "device_math.cuh"

namespace m2u {

__device__ __forceinline__ float load_scaled(const float* source, float) { return *source; }
__device__ __forceinline__ float load_scaled(const __half* source, float) { return __half2float(*source); }
__device__ __forceinline__ float load_scaled(const int8_t* source, float scale) {
  return __fmul_rn(static_cast<float>(*source), scale);
}

__device__ __forceinline__ int8_t quantize_int8(float real, float inverse_scale) {
  const float clamped = fminf(fmaxf(__fmul_rn(real, inverse_scale), -127.0f), 127.0f);
  return static_cast<int8_t>(__float2int_rn(clamped));
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
  for (int j = 0; j < 4; ++j) {
    values[j] = __fmul_rn(static_cast<float>(static_cast<int8_t>((word >> (8 * j)) & 0xFFu)), scale);
  }
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
      values[4 * w + j] =
          __fmul_rn(static_cast<float>(static_cast<int8_t>((words[w] >> (8 * j)) & 0xFFu)), scale);
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
  unsigned int words[4];
  M2U_UNROLL
  for (int w = 0; w < 4; ++w) {
    words[w] = 0u;
    M2U_UNROLL
    for (int j = 0; j < 4; ++j) {
      words[w] |= (static_cast<unsigned int>(quantize_int8(values[4 * w + j], inverse_scale)) & 0xFFu) << (8 * j);
    }
  }
  *reinterpret_cast<uint4*>(destination) = make_uint4(words[0], words[1], words[2], words[3]);
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
