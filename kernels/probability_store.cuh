// probability_store.cuh - how the kernels that end the network
// (output_conv.cu; the fused last decoder block with the final 1x1,
// inverted_residual_fused.cu) store a probability into a ProbabilityImage
// (io_kernels.h; launcher_support.h's probability_image_fits checks one).
#pragma once

#include "io_kernels.h"
#include "m2u_cuda.h"

namespace m2u {

// F32 as is; U8 / U16 as round(v * 255) / round(v * 65535) (ties to even),
// clamped in float before rounding (NaN -> 0), so that values beyond int (a
// linear output's) do not depend on the conversion's saturation.
__device__ __forceinline__ void store_probability(unsigned char* plane_row, PixelType type, int x,
                                                  float probability) {
  switch (type) {
    case PixelType::kU8:
      plane_row[x] = static_cast<unsigned char>(__float2int_rn(fminf(fmaxf(probability * 255.0f, 0.0f), 255.0f)));
      return;
    case PixelType::kU16:
      reinterpret_cast<unsigned short*>(plane_row)[x] =
          static_cast<unsigned short>(__float2int_rn(fminf(fmaxf(probability * 65535.0f, 0.0f), 65535.0f)));
      return;
    case PixelType::kF32:
      break;
  }
  reinterpret_cast<float*>(plane_row)[x] = probability;
}

// The row of channel `channel` of image `n` at row `y`.
__device__ __forceinline__ unsigned char* probability_row(const ProbabilityImage& output, int n, int channel, int y) {
  return static_cast<unsigned char*>(output.data) + static_cast<size_t>(n) * output.image_stride_bytes +
         static_cast<size_t>(channel) * output.channel_stride_bytes + static_cast<size_t>(y) * output.row_stride_bytes;
}

}  // namespace m2u
