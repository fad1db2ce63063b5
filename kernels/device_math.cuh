// device_math.cuh - device helpers shared by m2urt's kernels: FP32 values
// loaded from and stored to the activation storage type (float or __half),
// four channels or one 16-byte channel group at a time, pixel addressing in
// a TensorView, raw camera values (io_kernels.h's PixelType) and the
// activations; __half channels as unconverted half2 pairs for the kernels
// that compute in half2 (pointwise_conv_fp16.cu, depthwise_conv_fp16.cu).
// The other kernels compute in FP32 whatever T is.
#ifndef M2U_KERNELS_DEVICE_MATH_CUH
#define M2U_KERNELS_DEVICE_MATH_CUH

#include <cstddef>
#include <cstring>

#include "activation.h"
#include "io_kernels.h"
#include "m2u_cuda.h"
#include "tensor_view.h"

// `#pragma unroll` for nvcc; the host compiler of the emu flavour does not
// know the pragma (and unrolls small constant loops itself).
// M2U_NO_UNROLL keeps a loop rolled (register pressure).
#if defined(__CUDACC__)
#define M2U_UNROLL _Pragma("unroll")
#define M2U_NO_UNROLL _Pragma("unroll 1")
#else
#define M2U_UNROLL
#define M2U_NO_UNROLL
#endif

namespace m2u {

__device__ __forceinline__ float load_as_float(const float* source) { return *source; }
__device__ __forceinline__ float load_as_float(const __half* source) {
  return __half2float(*source);
}
__device__ __forceinline__ void store_from_float(float* destination, float value) {
  *destination = value;
}
__device__ __forceinline__ void store_from_float(__half* destination, float value) {
  *destination = __float2half_rn(value);
}

// The two halves packed in a 32-bit word (low half first, as in memory).
__device__ __forceinline__ void unpack_halves(unsigned int word, float& low, float& high) {
  low = __half2float(__ushort_as_half(static_cast<unsigned short>(word & 0xFFFFu)));
  high = __half2float(__ushort_as_half(static_cast<unsigned short>(word >> 16)));
}
__device__ __forceinline__ unsigned int pack_halves(float low, float high) {
  return static_cast<unsigned int>(__half_as_ushort(__float2half_rn(low))) |
         static_cast<unsigned int>(__half_as_ushort(__float2half_rn(high))) << 16;
}

// Four consecutive channels; `source` / `destination` aligned to their size
// (16 bytes of float, 8 of __half). The float overloads also serve shared memory.
__device__ __forceinline__ void load_quad(const float* source, float (&values)[4]) {
  const float4 quad = *reinterpret_cast<const float4*>(source);
  values[0] = quad.x;
  values[1] = quad.y;
  values[2] = quad.z;
  values[3] = quad.w;
}
__device__ __forceinline__ void load_quad(const __half* source, float (&values)[4]) {
  const uint2 raw = *reinterpret_cast<const uint2*>(source);
  unpack_halves(raw.x, values[0], values[1]);
  unpack_halves(raw.y, values[2], values[3]);
}
__device__ __forceinline__ void store_quad(float* destination, const float (&values)[4]) {
  *reinterpret_cast<float4*>(destination) = make_float4(values[0], values[1], values[2], values[3]);
}
__device__ __forceinline__ void store_quad(__half* destination, const float (&values)[4]) {
  *reinterpret_cast<uint2*>(destination) =
      make_uint2(pack_halves(values[0], values[1]), pack_halves(values[2], values[3]));
}

// One 16-byte channel group (ChannelAlignment<T>::value channels), aligned.
__device__ __forceinline__ void load_group(const float* source, float (&values)[4]) {
  load_quad(source, values);
}
__device__ __forceinline__ void load_group(const __half* source, float (&values)[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(source);
  unpack_halves(raw.x, values[0], values[1]);
  unpack_halves(raw.y, values[2], values[3]);
  unpack_halves(raw.z, values[4], values[5]);
  unpack_halves(raw.w, values[6], values[7]);
}
__device__ __forceinline__ void store_group(float* destination, const float (&values)[4]) {
  store_quad(destination, values);
}
__device__ __forceinline__ void store_group(__half* destination, const float (&values)[8]) {
  *reinterpret_cast<uint4*>(destination) =
      make_uint4(pack_halves(values[0], values[1]), pack_halves(values[2], values[3]),
                 pack_halves(values[4], values[5]), pack_halves(values[6], values[7]));
}

// Two or four half2 pairs of consecutive channels, as stored (low half the
// lower channel), from 8 or 16 bytes at `source`, aligned to their size;
// global or shared memory.
// The word's bits as the pair: a copy, no instruction (building the pair
// from two shifted and masked halves cost three a pair on sm_53).
__device__ __forceinline__ __half2 half2_of_word(unsigned int word) {
  static_assert(sizeof(__half2) == sizeof(word), "a half2 is one 32-bit word");
  __half2 pair;
  memcpy(static_cast<void*>(&pair), &word, sizeof pair);  // (void*: __half2 is not trivially copy-assignable on the host)
  return pair;
}
__device__ __forceinline__ void load_pairs(const __half* source, __half2 (&pairs)[2]) {
  const uint2 raw = *reinterpret_cast<const uint2*>(source);
  pairs[0] = half2_of_word(raw.x);
  pairs[1] = half2_of_word(raw.y);
}
__device__ __forceinline__ void load_pairs(const __half* source, __half2 (&pairs)[4]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(source);
  pairs[0] = half2_of_word(raw.x);
  pairs[1] = half2_of_word(raw.y);
  pairs[2] = half2_of_word(raw.z);
  pairs[3] = half2_of_word(raw.w);
}

// Channel 0 of pixel (n, y, x) of `view`.
template <typename T>
__device__ __forceinline__ T* pixel_at(const TensorView<T>& view, int n, int y, int x) {
  return view.data +
         ((static_cast<size_t>(n) * view.height + y) * view.width + x) * view.pixel_stride;
}

// Value `index` of a row of a PixelImage of `type` (exact as float).
__device__ __forceinline__ float raw_pixel_value(const unsigned char* row, PixelType type,
                                                 int index) {
  switch (type) {
    case PixelType::kU8:
      return row[index];
    case PixelType::kU16:
      return reinterpret_cast<const unsigned short*>(row)[index];
    case PixelType::kF32:
      break;
  }
  return reinterpret_cast<const float*>(row)[index];
}

// NaN stays NaN (the comparisons are false for it), as in the CPU reference.
__device__ __forceinline__ float activate(float x, KernelActivation activation) {
  switch (activation) {
    case KernelActivation::kRelu:
      return x < 0.0f ? 0.0f : x;
    case KernelActivation::kRelu6:
      return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case KernelActivation::kSigmoid:
      return 1.0f / (1.0f + expf(-x));
    case KernelActivation::kLinear:
      break;
  }
  return x;
}

// What one thread of a "one thread per pixel and 16-byte channel group"
// launch works on: grid (ceil(width * groups / block), height, batch), the
// threads of a row taking its pixels' channel groups in order. `valid` is
// false for the threads past the end of the row.
struct PixelGroup {
  int n, y, x, first_channel;
  bool valid;
};

template <int kGroup>
__device__ __forceinline__ PixelGroup pixel_group_of_thread(int width, int groups) {
  const int row_thread = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  PixelGroup at;
  at.valid = row_thread < width * groups;
  at.x = row_thread / groups;
  at.first_channel = (row_thread % groups) * kGroup;
  at.y = static_cast<int>(blockIdx.y);
  at.n = static_cast<int>(blockIdx.z);
  return at;
}

// Stores activate(sums) for the channels below `channels` and zeros for the
// group's padding channels (the padding rule of tensor_view.h).
template <typename T, int kGroup>
__device__ __forceinline__ void store_activated_group(T* destination, const float (&sums)[kGroup], int first_channel,
                                                      int channels, KernelActivation activation) {
  float results[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) {
    results[j] = first_channel + j < channels ? activate(sums[j], activation) : 0.0f;
  }
  store_group(destination, results);
}

}  // namespace m2u

#endif  // M2U_KERNELS_DEVICE_MATH_CUH
