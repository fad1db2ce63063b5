// launcher_support.h - host-side checks and launch shapes shared by the
// kernel launchers (the launchers check, the kernels trust).
#ifndef M2U_KERNELS_LAUNCHER_SUPPORT_H
#define M2U_KERNELS_LAUNCHER_SUPPORT_H

#include <cuda_runtime_api.h>

#include <climits>
#include <cstddef>
#include <cstdint>

#include "io_kernels.h"
#include "tensor_view.h"

namespace m2u {

constexpr int kMaxGridRows = 65535;  // gridDim.y and gridDim.z limit

// A view the kernels can address: non-empty, 16-byte aligned groups
// (pixel_stride a multiple of the alignment, so every pixel's channel 0 is
// aligned too), pixels and grid rows within int and grid limits.
template <typename T>
inline bool valid_view(const TensorView<T>& view) {
  return view.data != nullptr && reinterpret_cast<uintptr_t>(view.data) % 16 == 0 &&
         view.batch >= 1 && view.height >= 1 && view.width >= 1 && view.channels >= 1 &&
         view.batch <= kMaxGridRows && view.height <= kMaxGridRows &&
         view.pixel_stride >= padded_channels<T>(view.channels) &&
         view.pixel_stride % ChannelAlignment<T>::value == 0 &&
         view.pixel_count() <= static_cast<size_t>(INT_MAX);
}

template <typename A, typename B>
inline bool same_shape(const TensorView<A>& a, const TensorView<B>& b) {
  return a.batch == b.batch && a.height == b.height && a.width == b.width &&
         a.channels == b.channels;
}

// The arguments pointwise_conv accepts (conv_kernels.h), whatever its
// storage types: valid views of one pixel grid, weights and bias, a residual
// of the output's shape or none (data == nullptr).
template <typename Tin, typename Tout>
inline bool valid_pointwise_arguments(const TensorView<const Tin>& input, const TensorView<Tout>& output,
                                      const float* weight, const float* bias,
                                      const TensorView<const Tout>& residual) {
  return valid_view(input) && valid_view(output) && weight != nullptr && bias != nullptr &&
         output.batch == input.batch && output.height == input.height &&
         output.width == input.width &&
         (residual.data == nullptr || (valid_view(residual) && same_shape(residual, output)));
}

// The arguments depthwise_conv accepts: stride 1 or 2, the output
// ceil(H/stride) x ceil(W/stride) with the input's channels.
template <typename T>
inline bool valid_depthwise_arguments(const TensorView<const T>& input, const TensorView<T>& output,
                                      const float* weight, const float* bias, int stride) {
  return valid_view(input) && valid_view(output) && weight != nullptr && bias != nullptr &&
         reinterpret_cast<uintptr_t>(weight) % 16 == 0 && (stride == 1 || stride == 2) && output.batch == input.batch &&
         output.channels == input.channels &&
         output.height == (input.height + stride - 1) / stride &&
         output.width == (input.width + stride - 1) / stride;
}

// The launch of a kernel with one thread per (pixel, 16-byte channel group)
// of an output: blockIdx.z the image, blockIdx.y the row, x covering the
// row's width * groups threads (group fastest), in blocks of up to 256.
struct RowGroupLaunch {
  dim3 grid;
  dim3 block;
  bool fits;  // false when a row's threads overflow int
};

inline RowGroupLaunch row_group_launch(int batch, int height, int width, int groups) {
  const long long threads = static_cast<long long>(width) * groups;
  if (threads > INT_MAX - 256) return RowGroupLaunch{dim3(1), dim3(1), false};
  const int block = threads >= 256 ? 256 : round_up(static_cast<int>(threads), 32);
  const unsigned blocks = static_cast<unsigned>((threads + block - 1) / block);
  return RowGroupLaunch{dim3(blocks, static_cast<unsigned>(height), static_cast<unsigned>(batch)),
                        dim3(static_cast<unsigned>(block)), true};
}

inline size_t pixel_type_bytes(PixelType type) {
  switch (type) {
    case PixelType::kU8:
      return 1;
    case PixelType::kU16:
      return 2;
    case PixelType::kF32:
      return 4;
  }
  return 0;
}

// Whether `output` takes `channels` planes of `batch` images cropped from a
// height x width network output: a known type, at least one pixel, no
// larger than the network's output, strides that keep rows, planes and
// images apart, everything aligned to the value size.
inline bool probability_image_fits(const ProbabilityImage& output, int channels, int batch, int height, int width) {
  const size_t value_bytes = pixel_type_bytes(output.type);
  if (channels < 1 || batch < 1 || value_bytes == 0 || output.data == nullptr || output.height < 1 ||
      output.width < 1 || output.height > height || output.width > width) {
    return false;
  }
  const size_t row_bytes = static_cast<size_t>(output.width) * value_bytes;
  const size_t plane_bytes = (static_cast<size_t>(output.height) - 1) * output.row_stride_bytes + row_bytes;
  const size_t image_bytes = (static_cast<size_t>(channels) - 1) * output.channel_stride_bytes + plane_bytes;
  return output.row_stride_bytes >= row_bytes && (channels == 1 || output.channel_stride_bytes >= plane_bytes) &&
         (batch == 1 || output.image_stride_bytes >= image_bytes) &&
         reinterpret_cast<uintptr_t>(output.data) % value_bytes == 0 && output.row_stride_bytes % value_bytes == 0 &&
         output.channel_stride_bytes % value_bytes == 0 && output.image_stride_bytes % value_bytes == 0;
}

// A raw image the io kernels can read: known type, 1..8 channels, rows and
// images that hold their pixels, data and strides aligned to the value size.
inline bool valid_pixel_image(const PixelImage& image) {
  const size_t value_bytes = pixel_type_bytes(image.type);
  if (value_bytes == 0 || image.data == nullptr || image.batch < 1 || image.batch > kMaxGridRows ||
      image.height < 1 || image.height > kMaxGridRows || image.width < 1 || image.channels < 1 ||
      image.channels > 8 || !(image.max_value > 0.0f)) {
    return false;
  }
  const size_t row_bytes = static_cast<size_t>(image.width) * image.channels * value_bytes;
  const size_t image_bytes =
      (static_cast<size_t>(image.height) - 1) * image.row_stride_bytes + row_bytes;
  return row_bytes <= static_cast<size_t>(INT_MAX) && image.row_stride_bytes >= row_bytes &&
         (image.batch == 1 || image.image_stride_bytes >= image_bytes) &&
         reinterpret_cast<uintptr_t>(image.data) % value_bytes == 0 &&
         image.row_stride_bytes % value_bytes == 0 && image.image_stride_bytes % value_bytes == 0;
}

}  // namespace m2u

#endif  // M2U_KERNELS_LAUNCHER_SUPPORT_H
