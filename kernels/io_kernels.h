// io_kernels.h - launchers of the kernels at the network's edges: raw pixels
// in (input_convert.cu, image_statistics.cu), probabilities out
// (output_conv.cu). All pointers are device pointers.
#ifndef M2U_KERNELS_IO_KERNELS_H
#define M2U_KERNELS_IO_KERNELS_H

#include <cuda_runtime_api.h>

#include <cstddef>

#include "activation.h"
#include "tensor_view.h"

namespace m2u {

enum class PixelType : int { kU8 = 0, kU16 = 1, kF32 = 2 };

// Pixels as a camera or a file gives them: `channels` interleaved values per
// pixel (1 = grey), rows `row_stride_bytes` apart, images
// `image_stride_bytes` apart. Intensity = value / max_value (255 for 8-bit,
// 4095 for 12-bit in 16, 65535 for 16-bit, 1 for float).
struct PixelImage {
  const void* data;
  PixelType type;
  int batch;
  int height;
  int width;
  int channels;
  size_t row_stride_bytes;
  size_t image_stride_bytes;
  float max_value;
};

// The model's input convention (weights/FORMAT.md), as kernels need it
// (model.h's InputConvention is the loader's form of it).
struct KernelInputConvention {
  int per_image_standardize;  // 0: affine per channel, 1: per-image standardisation
  int replicate_grey;         // grey input: 1 fills every channel, 0 only channel 0
  float pixel_scale;
  float std_floor;
  float channel_mean[8];
  float channel_std[8];
};

// Per-image mean and 1 / max(std, std_floor) of v = intensity * pixel_scale
// over every pixel and channel of each image (population std), for
// per-image standardisation: stats[2 * n] = mean, stats[2 * n + 1] =
// inverse std. `partials` is scratch of image_statistics_scratch(image)
// doubles. Deterministic (fixed reduction order, double accumulation).
// A non-finite F32 value (NaN, +-infinity) counts as intensity 0, as
// input_convert reads it, so that it does not turn the whole image's
// statistics into NaN (input_convert counts it).
size_t image_statistics_scratch(const PixelImage& image);
cudaError_t image_statistics(const PixelImage& image, const KernelInputConvention& normalization,
                             double* partials, float* stats, cudaStream_t stream);

// Normalises `image` into `output` (N, H_pad, W_pad, C): pixels inside the
// image get the convention (channel c of a grey image: the grey value if
// replicate_grey or c == 0, else 0; a colour image needs output.channels ==
// image.channels), pixels of the padding (rows >= image.height, columns >=
// image.width) get 0. stats: image_statistics' output for per-image
// standardisation, else ignored.
// F32 images: a non-finite value (NaN, +-infinity) is read as intensity 0
// and counted: nonfinite_counts[n] (device memory, one per image, zeroed by
// the caller) grows by the number of such values of image n, each value of
// a pixel's channels once (a grey value once, however many channels it
// fills). U8 and U16 values are always finite: nonfinite_counts is not used
// (may be nullptr).
// T: float, __half or int8_t (quantised with the output view's scale).
template <typename T>
cudaError_t input_convert(const PixelImage& image, const KernelInputConvention& normalization,
                          const float* stats, TensorView<T> output,
                          unsigned long long* nonfinite_counts, cudaStream_t stream);

// Where and how output_conv writes probabilities: channel-planar images
// cropped to height x width, value v as F32, or round(v * 255) / round(v *
// 65535) clamped for U8 / U16.
struct ProbabilityImage {
  void* data;
  PixelType type;
  int height;
  int width;
  size_t row_stride_bytes;
  size_t channel_stride_bytes;
  size_t image_stride_bytes;
};

// The final 1x1 convolution with bias and activation (sigmoid or linear),
// written straight into `output` (cropped):
// weight [out_channels][padded_channels<T>(input.channels)]. T: float,
// __half or int8_t (read through the input view's scale); FP32 arithmetic.
template <typename T>
cudaError_t output_conv(TensorView<const T> input, int out_channels, const float* weight,
                        const float* bias, KernelActivation activation,
                        const ProbabilityImage& output, cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_IO_KERNELS_H
