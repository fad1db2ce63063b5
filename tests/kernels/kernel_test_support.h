// kernel_test_support.h - what the kernel tests share: the CPU reference's
// NCHW HostTensor to and from padded-NHWC buffers (slices of concat buffers
// included), inputs rounded to the storage precision so that the kernel and
// the reference see the same values, per-precision tolerances, and one
// check of a kernel's output buffer: the view against the reference, zeros in
// its padded channels, every other element of the buffer untouched, guards
// intact.
#ifndef M2U_TESTS_KERNELS_KERNEL_TEST_SUPPORT_H
#define M2U_TESTS_KERNELS_KERNEL_TEST_SUPPORT_H

#include <cuda_fp16.h>
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "activation.h"
#include "architecture.h"
#include "compare.h"
#include "device_buffer.h"
#include "host_tensor.h"
#include "io_kernels.h"
#include "tensor_view.h"

namespace kernel_test {

using m2u::ref::HostTensor;
using m2u_test::DeviceBuffer;

// ---- storage types

template <typename T>
struct Precision;
template <>
struct Precision<float> {
  static std::string name() { return "FP32"; }
  static constexpr double kTolerance = 1e-5;  // max |diff| / max |ref|
  static float to_float(float value) { return value; }
  static float from_float(float value) { return value; }
};
template <>
struct Precision<__half> {
  static std::string name() { return "FP16"; }
  static constexpr double kTolerance = 2e-3;  // the output's rounding to half: 2^-11 relative
  static float to_float(__half value) { return __half2float(value); }
  static __half from_float(float value) { return __float2half_rn(value); }
};

// `tensor` with every value rounded to T (exact for float).
template <typename T>
HostTensor rounded_to(const HostTensor& tensor) {
  HostTensor rounded = tensor;
  for (float& value : rounded.data) value = Precision<T>::to_float(Precision<T>::from_float(value));
  return rounded;
}

template <typename T>
bool same_bits(const T& a, const T& b) {
  return std::memcmp(static_cast<const void*>(&a), static_cast<const void*>(&b), sizeof(T)) == 0;
}

// ---- random data

inline std::vector<float> random_values(size_t count, uint32_t seed, float low = -1.0f,
                                        float high = 1.0f) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> distribution(low, high);
  std::vector<float> values(count);
  for (float& value : values) value = distribution(generator);
  return values;
}

// Rows of `length` values widened to `padded_length` with zeros (weights
// packed as the kernels read them).
inline std::vector<float> padded_rows(const std::vector<float>& rows, int count, int length, int padded_length) {
  std::vector<float> out(static_cast<size_t>(count) * padded_length, 0.0f);
  for (int r = 0; r < count; ++r)
    for (int c = 0; c < length; ++c) out[static_cast<size_t>(r) * padded_length + c] = rows[static_cast<size_t>(r) * length + c];
  return out;
}

inline HostTensor random_tensor(int n, int c, int h, int w, uint32_t seed, float low = -1.0f,
                                float high = 1.0f) {
  HostTensor tensor(n, c, h, w);
  tensor.data = random_values(tensor.size(), seed, low, high);
  return tensor;
}

// ---- activations in both vocabularies

struct ActivationCase {
  m2u::KernelActivation kernel;
  m2u::Activation reference;
  const char* name;
};

inline std::vector<ActivationCase> all_activations() {
  return {{m2u::KernelActivation::kLinear, m2u::Activation::kLinear, "linear"},
          {m2u::KernelActivation::kRelu, m2u::Activation::kRelu, "relu"},
          {m2u::KernelActivation::kRelu6, m2u::Activation::kRelu6, "relu6"},
          {m2u::KernelActivation::kSigmoid, m2u::Activation::kSigmoid, "sigmoid"}};
}

// True under the GPU simulator: tests/sim/run_sim_tests.sh sets
// M2U_UNDER_SIMULATOR=1 (a simulated thread-instruction costs about 1 us).
inline bool under_simulator() {
  const char* value = std::getenv("M2U_UNDER_SIMULATOR");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

// The activations a suite's largest cases (2x17x34 pixels) sweep: `all`,
// except under the GPU simulator, where they keep ReLU6 (index 2 of every
// activation list) and each suite's smaller cases still sweep all of them,
// so that every epilogue branch still runs there.
template <typename Activations>
Activations large_case_activations(const Activations& all) {
  if (!under_simulator()) return all;
  return Activations{all.at(2)};
}

// ---- padded NHWC buffers

// A buffer of batch x height x width pixels of pixel_stride elements, which
// holds one or more channel slices.
struct BufferShape {
  int batch;
  int height;
  int width;
  int pixel_stride;

  size_t elements() const { return static_cast<size_t>(batch) * height * width * pixel_stride; }
  size_t index(int n, int y, int x, int channel) const {
    return ((static_cast<size_t>(n) * height + y) * width + x) * pixel_stride + channel;
  }
};

// Host contents of a buffer: every element `fill` (T's NaN by default).
template <typename T>
std::vector<T> filled_buffer(const BufferShape& shape,
                             float fill = std::numeric_limits<float>::quiet_NaN()) {
  return std::vector<T>(shape.elements(), Precision<T>::from_float(fill));
}

// Writes `tensor` into the slice at `channel_offset` (zeros in the slice's
// padded channels, as a producing kernel would).
template <typename T>
void write_slice(std::vector<T>& buffer, const BufferShape& shape, int channel_offset,
                 const HostTensor& tensor) {
  REQUIRE(tensor.n == shape.batch);
  REQUIRE(tensor.h == shape.height);
  REQUIRE(tensor.w == shape.width);
  const int padded = m2u::padded_channels<T>(tensor.c);
  REQUIRE(channel_offset + padded <= shape.pixel_stride);
  for (int n = 0; n < shape.batch; ++n)
    for (int y = 0; y < shape.height; ++y)
      for (int x = 0; x < shape.width; ++x)
        for (int c = 0; c < padded; ++c)
          buffer[shape.index(n, y, x, channel_offset + c)] =
              Precision<T>::from_float(c < tensor.c ? tensor.at(n, c, y, x) : 0.0f);
}

template <typename T>
HostTensor read_slice(const std::vector<T>& buffer, const BufferShape& shape, int channel_offset,
                      int channels) {
  HostTensor tensor(shape.batch, channels, shape.height, shape.width);
  for (int n = 0; n < shape.batch; ++n)
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < shape.height; ++y)
        for (int x = 0; x < shape.width; ++x)
          tensor.at(n, c, y, x) =
              Precision<T>::to_float(buffer[shape.index(n, y, x, channel_offset + c)]);
  return tensor;
}

// A kernel's output buffer before it runs: `fill` everywhere (the other
// slices of a concat buffer), T's NaN in the padded channels of the slice
// at `channel_offset` that the kernel must write.
template <typename T>
std::vector<T> output_before(const BufferShape& shape, int channel_offset, int channels,
                             float fill) {
  std::vector<T> buffer = filled_buffer<T>(shape, fill);
  const T poison = Precision<T>::from_float(std::numeric_limits<float>::quiet_NaN());
  const int padded = m2u::padded_channels<T>(channels);
  for (size_t pixel = 0; pixel < buffer.size() / shape.pixel_stride; ++pixel)
    for (int c = channel_offset; c < channel_offset + padded; ++c)
      buffer[pixel * shape.pixel_stride + c] = poison;
  return buffer;
}

template <typename T>
m2u::TensorView<T> view_of(T* buffer_data, const BufferShape& shape, int channel_offset,
                           int channels) {
  return m2u::TensorView<T>{buffer_data + channel_offset,
                            shape.batch,
                            shape.height,
                            shape.width,
                            channels,
                            shape.pixel_stride};
}

// A device copy of a host buffer (uploaded once, for inputs).
template <typename T>
struct DeviceInput {
  BufferShape shape;
  DeviceBuffer<T> buffer;

  DeviceInput(const BufferShape& buffer_shape, const std::vector<T>& contents)
      : shape(buffer_shape), buffer(buffer_shape.elements()) {
    buffer.upload(contents);
  }
  m2u::TensorView<const T> view(int channel_offset, int channels) const {
    return view_of<const T>(buffer.data(), shape, channel_offset, channels);
  }
};

// A tensor alone in a buffer of its own padded width.
template <typename T>
DeviceInput<T> upload_tensor(const HostTensor& tensor) {
  const BufferShape shape{tensor.n, tensor.h, tensor.w, m2u::padded_channels<T>(tensor.c)};
  std::vector<T> contents = filled_buffer<T>(shape);
  write_slice(contents, shape, 0, tensor);
  return DeviceInput<T>(shape, contents);
}

// A tensor as the channel slice [offset, offset + padded) of a wider buffer
// (`extra` channels after it), every other value `foreign`.
template <typename T>
DeviceInput<T> upload_slice(const HostTensor& tensor, int offset, int extra, float foreign) {
  const BufferShape shape{tensor.n, tensor.h, tensor.w, offset + m2u::padded_channels<T>(tensor.c) + extra};
  std::vector<T> contents = filled_buffer<T>(shape, foreign);
  write_slice(contents, shape, offset, tensor);
  return DeviceInput<T>(shape, contents);
}

// Largest relative error seen per test case, reported once at its end.
struct WorstError {
  double relative = 0.0;
  void record(double value) {
    if (value > relative) relative = value;
  }
};

// Checks a kernel's output buffer after a run: the view's channels against
// `expected` within `tolerance`, zeros in its padded channels, and every
// element outside the view's padded range bit-identical to `before` (the
// other slices of a concat buffer, gaps, poison); the guards intact.
template <typename T>
void check_output(const DeviceBuffer<T>& device, const std::vector<T>& before,
                  const BufferShape& shape, int channel_offset, const HostTensor& expected,
                  double tolerance, const std::string& context, WorstError* worst) {
  std::string where;
  CHECK_MESSAGE(device.guards_intact(&where), context << ": " << where);
  const std::vector<T> after = device.download();
  const m2u::ref::Comparison comparison =
      m2u::ref::compare(read_slice(after, shape, channel_offset, expected.c), expected);
  CHECK_MESSAGE(comparison.within(tolerance), context << ": " << comparison.describe());
  if (worst != nullptr) worst->record(comparison.relative);

  const int padded_end = channel_offset + m2u::padded_channels<T>(expected.c);
  size_t nonzero_padding = 0;
  size_t changed_outside = 0;
  for (int n = 0; n < shape.batch; ++n)
    for (int y = 0; y < shape.height; ++y)
      for (int x = 0; x < shape.width; ++x)
        for (int c = 0; c < shape.pixel_stride; ++c) {
          const size_t i = shape.index(n, y, x, c);
          if (c >= channel_offset + expected.c && c < padded_end) {
            if (!same_bits(after[i], Precision<T>::from_float(0.0f))) ++nonzero_padding;
          } else if (c < channel_offset || c >= padded_end) {
            if (!same_bits(after[i], before[i])) ++changed_outside;
          }
        }
  CHECK_MESSAGE(nonzero_padding == 0,
                context << ": " << nonzero_padding << " padded channel values are not +0");
  CHECK_MESSAGE(changed_outside == 0, context
                                          << ": " << changed_outside
                                          << " values outside the view's padded channels changed");
}

// ---- raw camera images (io kernels)

// A PixelImage's bytes on the host: random values in [0, max_value] (U8,
// U16) or [0, 1) (F32), rows and images with `row_padding` /
// `image_padding` bytes of 0xAB between them that a kernel must not read
// as pixels.
struct RawImage {
  m2u::PixelType type;
  int batch;
  int height;
  int width;
  int channels;
  float max_value;
  size_t row_stride_bytes;
  size_t image_stride_bytes;
  std::vector<unsigned char> bytes;

  size_t value_bytes() const {
    return type == m2u::PixelType::kU8 ? 1 : type == m2u::PixelType::kU16 ? 2 : 4;
  }
  size_t offset(int n, int y, int x, int c) const {
    return n * image_stride_bytes + y * row_stride_bytes +
           (static_cast<size_t>(x) * channels + c) * value_bytes();
  }
  double value(int n, int y, int x, int c) const {
    const unsigned char* at = bytes.data() + offset(n, y, x, c);
    if (type == m2u::PixelType::kU8) return *at;
    if (type == m2u::PixelType::kU16) {
      uint16_t v;
      std::memcpy(&v, at, sizeof v);
      return v;
    }
    float v;
    std::memcpy(&v, at, sizeof v);
    return v;
  }
  // The image as the kernels see it, with its bytes at `device_bytes`.
  m2u::PixelImage pixel_image(const unsigned char* device_bytes) const {
    return m2u::PixelImage{
        device_bytes,       type,     batch, height, width, channels, row_stride_bytes,
        image_stride_bytes, max_value};
  }
};

inline RawImage make_raw_image(m2u::PixelType type, int batch, int height, int width, int channels,
                               float max_value, size_t row_padding, size_t image_padding,
                               uint32_t seed) {
  RawImage image{type, batch, height, width, channels, max_value, 0, 0, {}};
  image.row_stride_bytes =
      static_cast<size_t>(width) * channels * image.value_bytes() + row_padding;
  image.image_stride_bytes = image.row_stride_bytes * height + image_padding;
  image.bytes.assign(image.image_stride_bytes * batch, 0xAB);
  std::mt19937 generator(seed);
  for (int n = 0; n < batch; ++n)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        for (int c = 0; c < channels; ++c) {
          unsigned char* at = image.bytes.data() + image.offset(n, y, x, c);
          if (type == m2u::PixelType::kU8) {
            *at = static_cast<unsigned char>(generator() % (static_cast<unsigned>(max_value) + 1));
          } else if (type == m2u::PixelType::kU16) {
            const uint16_t v =
                static_cast<uint16_t>(generator() % (static_cast<unsigned>(max_value) + 1));
            std::memcpy(at, &v, sizeof v);
          } else {
            const float v = std::uniform_real_distribution<float>(0.0f, 1.0f)(generator);
            std::memcpy(at, &v, sizeof v);
          }
        }
  return image;
}

// Mean and population std of value / max_value * pixel_scale over each
// image's pixels and channels, in double.
struct ImageMoments {
  double mean;
  double std_dev;
};

inline ImageMoments image_moments(const RawImage& image, int n, double pixel_scale) {
  const double count = static_cast<double>(image.height) * image.width * image.channels;
  double sum = 0.0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < image.channels; ++c)
        sum += image.value(n, y, x, c) / image.max_value * pixel_scale;
  const double mean = sum / count;
  double squares = 0.0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < image.channels; ++c) {
        const double centred = image.value(n, y, x, c) / image.max_value * pixel_scale - mean;
        squares += centred * centred;
      }
  return ImageMoments{mean, std::sqrt(squares / count)};
}

}  // namespace kernel_test

#endif  // M2U_TESTS_KERNELS_KERNEL_TEST_SUPPORT_H
