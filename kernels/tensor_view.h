// tensor_view.h - how m2urt's kernels see activations.
//
// Layout: NHWC with the channels of every pixel padded to 16 bytes
// (4 floats, 8 halves, 16 int8), so a pixel's channels load as float4 /
// half2 x4 / dp4a-packed words. A view may be a channel slice of a wider
// buffer (the decoder's concat buffers): `data` points at the slice's first
// channel and `pixel_stride` is the buffer's padded channel count.
//
// INT8 activations are symmetric: a view carries its tensor's scale (real =
// q * scale); float and __half views ignore it.
//
// Padding rule: a kernel writing a view writes every channel of its padded
// range [0, padded_channels(channels)), zeros past `channels`, so readers
// may load whole 16-byte groups and weights are zero-padded to match.
#ifndef M2U_KERNELS_TENSOR_VIEW_H
#define M2U_KERNELS_TENSOR_VIEW_H

#include <cstddef>

namespace m2u {

template <typename T>
struct ChannelAlignment {
  static constexpr int value = static_cast<int>(16 / sizeof(T));
};

inline int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

template <typename T>
inline int padded_channels(int channels) {
  return round_up(channels, ChannelAlignment<T>::value);
}

template <typename T>
struct TensorView {
  T* data;           // element (image 0, row 0, column 0, channel 0 of the view)
  int batch;
  int height;
  int width;
  int channels;      // logical channels of the view
  int pixel_stride;  // elements between neighbouring pixels; >= padded_channels<T>(channels)
  float scale = 1.0f;  // int8_t views: real value = stored value * scale (ignored otherwise)

  size_t image_stride() const { return static_cast<size_t>(height) * width * pixel_stride; }
  size_t pixel_count() const { return static_cast<size_t>(batch) * height * width; }
};

}  // namespace m2u

#endif  // M2U_KERNELS_TENSOR_VIEW_H
