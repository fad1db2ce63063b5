// input_convert.cu - raw camera pixels (U8, U16 or F32, 1..8 interleaved
// channels, any row and image strides) into the network input view,
// normalised by the model's input convention (io_kernels.h,
// weights/FORMAT.md "Input convention"); the padding rows and columns of the
// view are written 0. The view is usually decode1's concat slice.
//
// One thread per (output pixel, 16-byte channel group). With the intensity
// v = value * (pixel_scale / max_value): affine gives (v - channel_mean[c])
// / channel_std[c], per-image standardisation (v - mean) * inverse_std from
// image_statistics' stats. A grey image fills channel 0, or every channel
// when replicate_grey; the others get 0. A non-finite F32 value is read as
// intensity 0 and counted per image (one atomicAdd per thread that saw any),
// so one NaN pixel neither poisons the frame nor passes unnoticed.
//
// Per output pixel, C channels: about 3 C FLOPs. Minimal DRAM traffic:
// C_image * sizeof(value) bytes read, C_pad * sizeof(T) written.
#include "io_kernels.h"

#include "scaled_storage.cuh"
#include "launch.h"
#include "launcher_support.h"

namespace m2u {
namespace {

constexpr int kConventionChannels = 8;  // KernelInputConvention's per-channel entries

// values[c] for a run-time c < 8, without indexing a parameter array (which
// would put it in local memory).
__device__ __forceinline__ float channel_entry(const float (&values)[kConventionChannels], int c) {
  float entry = values[0];
  M2U_UNROLL
  for (int i = 1; i < kConventionChannels; ++i) {
    if (c == i) entry = values[i];
  }
  return entry;
}

// A float's exponent bits all set: NaN or +-infinity (a bit test, immune to
// fast-math assumptions).
__device__ __forceinline__ bool is_nonfinite(float value) {
  return (__float_as_uint(value) & 0x7F800000u) == 0x7F800000u;
}

template <typename T>
__global__ void kernel_input_convert(PixelImage image, KernelInputConvention normalization,
                                     const float* stats, TensorView<T> output, int groups,
                                     float intensity_scale, unsigned long long* nonfinite_counts) {
  constexpr int kGroup = ChannelAlignment<T>::value;
  const PixelGroup at = pixel_group_of_thread<kGroup>(output.width, groups);
  if (!at.valid) return;
  const int n = at.n, y = at.y, x = at.x, first_channel = at.first_channel;

  float results[kGroup];
  M2U_UNROLL
  for (int j = 0; j < kGroup; ++j) results[j] = 0.0f;
  if (y < image.height && x < image.width) {
    const unsigned char* row = static_cast<const unsigned char*>(image.data) +
                               static_cast<size_t>(n) * image.image_stride_bytes +
                               static_cast<size_t>(y) * image.row_stride_bytes;
    const bool grey = image.channels == 1;
    float image_mean = 0.0f;
    float image_inverse_std = 1.0f;
    if (normalization.per_image_standardize) {
      image_mean = stats[2 * n];
      image_inverse_std = stats[2 * n + 1];
    }
    unsigned nonfinite = 0;
    M2U_UNROLL
    for (int j = 0; j < kGroup; ++j) {
      const int c = first_channel + j;
      if (c >= output.channels || (grey && c > 0 && !normalization.replicate_grey)) continue;
      float value = raw_pixel_value(row, image.type, x * image.channels + (grey ? 0 : c));
      if (image.type == PixelType::kF32 && is_nonfinite(value)) {
        if (!grey || c == 0) ++nonfinite;  // a grey value once, at its channel 0
        value = 0.0f;
      }
      const float intensity = value * intensity_scale;
      results[j] = normalization.per_image_standardize
                       ? (intensity - image_mean) * image_inverse_std
                       : (intensity - channel_entry(normalization.channel_mean, c)) /
                             channel_entry(normalization.channel_std, c);
    }
    if (nonfinite != 0) atomicAdd(&nonfinite_counts[n], static_cast<unsigned long long>(nonfinite));
  }
  store_group_scaled(pixel_at(output, n, y, x) + first_channel, results, __frcp_rn(output.scale));
}

}  // namespace

template <typename T>
cudaError_t input_convert(const PixelImage& image, const KernelInputConvention& normalization,
                          const float* stats, TensorView<T> output,
                          unsigned long long* nonfinite_counts, cudaStream_t stream) {
  if (!valid_pixel_image(image) || !valid_view(output) || output.batch != image.batch ||
      output.height < image.height || output.width < image.width ||
      output.channels > kConventionChannels ||
      (image.channels != 1 && image.channels != output.channels) ||
      !(normalization.pixel_scale > 0.0f) ||
      (image.type == PixelType::kF32 && nonfinite_counts == nullptr)) {
    return cudaErrorInvalidValue;
  }
  if (normalization.per_image_standardize) {
    if (stats == nullptr) return cudaErrorInvalidValue;
  } else {
    const int filled_channels =
        image.channels == 1 && !normalization.replicate_grey ? 1 : output.channels;
    for (int c = 0; c < filled_channels; ++c) {
      if (!(normalization.channel_std[c] != 0.0f)) return cudaErrorInvalidValue;
    }
  }
  const float intensity_scale =
      static_cast<float>(static_cast<double>(normalization.pixel_scale) / image.max_value);
  const int groups = padded_channels<T>(output.channels) / ChannelAlignment<T>::value;
  const RowGroupLaunch shape = row_group_launch(output.batch, output.height, output.width, groups);
  if (!shape.fits) return cudaErrorInvalidValue;
  return launch("input_convert", kernel_input_convert<T>, shape.grid, shape.block, 0, stream, image,
                normalization, stats, output, groups, intensity_scale, nonfinite_counts);
}

template cudaError_t input_convert<float>(const PixelImage&, const KernelInputConvention&,
                                          const float*, TensorView<float>, unsigned long long*,
                                          cudaStream_t);
template cudaError_t input_convert<__half>(const PixelImage&, const KernelInputConvention&,
                                           const float*, TensorView<__half>, unsigned long long*,
                                           cudaStream_t);
template cudaError_t input_convert<int8_t>(const PixelImage&, const KernelInputConvention&,
                                           const float*, TensorView<int8_t>, unsigned long long*,
                                           cudaStream_t);

}  // namespace m2u
