// probability_test_support.h - the probability images the kernels that end
// the network write (output_conv, inverted_residual_fused_head): planar
// layouts with padding, a stored value read back, which bytes a crop may
// write, and the check of a kernel's output against the reference.
#ifndef M2U_TESTS_KERNELS_PROBABILITY_TEST_SUPPORT_H
#define M2U_TESTS_KERNELS_PROBABILITY_TEST_SUPPORT_H

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "io_kernels.h"
#include "kernel_test_support.h"

namespace kernel_test {

constexpr unsigned char kUnwrittenByte = 0x5A;

struct ProbabilityLayout {
  m2u::PixelType type;
  int height;
  int width;
  size_t row_stride_bytes;
  size_t channel_stride_bytes;
  size_t image_stride_bytes;

  size_t value_bytes() const {
    return type == m2u::PixelType::kU8 ? 1 : type == m2u::PixelType::kU16 ? 2 : 4;
  }
  size_t offset(int n, int c, int y, int x) const {
    return n * image_stride_bytes + c * channel_stride_bytes + y * row_stride_bytes +
           x * value_bytes();
  }
};

// Planar layout with `padding` values after each row, plane and image.
inline ProbabilityLayout padded_layout(m2u::PixelType type, int channels, int height, int width,
                                int padding) {
  ProbabilityLayout layout{type, height, width, 0, 0, 0};
  layout.row_stride_bytes = (width + padding) * layout.value_bytes();
  layout.channel_stride_bytes = layout.row_stride_bytes * height + padding * layout.value_bytes();
  layout.image_stride_bytes =
      layout.channel_stride_bytes * channels + padding * layout.value_bytes();
  return layout;
}

inline double stored_value(const std::vector<unsigned char>& bytes, const ProbabilityLayout& layout,
                    size_t offset) {
  if (layout.type == m2u::PixelType::kU8) return bytes[offset];
  if (layout.type == m2u::PixelType::kU16) {
    uint16_t v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
  }
  float v;
  std::memcpy(&v, bytes.data() + offset, sizeof v);
  return v;
}

// Which bytes of `batch` images of `channels` planes a kernel may write:
// the cropped pixels of every plane.
inline std::vector<bool> writable_bytes(const ProbabilityLayout& layout, int batch, int channels) {
  std::vector<bool> written(layout.image_stride_bytes * batch, false);
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < channels; ++c)
      for (int y = 0; y < layout.height; ++y)
        for (int x = 0; x < layout.width; ++x)
          for (size_t b = 0; b < layout.value_bytes(); ++b) written[layout.offset(n, c, y, x) + b] = true;
  return written;
}

// Counts of a run's results: quantised values off by one LSB, and the worst
// relative error of F32 values.
struct OutputErrors {
  size_t off_by_one = 0;
  size_t quantised = 0;
  double relative = 0.0;
};

// The kernel's output against `expected` (batch x channels x at least the
// crop): the guards, no byte outside the crop changed from kUnwrittenByte,
// F32 within `tolerance` of the largest |expected| (relative), U8 / U16
// within 1 LSB of the rounded, clamped reference.
inline void check_probabilities(const DeviceBuffer<unsigned char>& output, const ProbabilityLayout& layout, int batch,
                                int out_channels, const HostTensor& expected, double tolerance,
                                const std::string& context, OutputErrors* errors) {
  std::string where;
  CHECK_MESSAGE(output.guards_intact(&where), context << ": " << where);
  const std::vector<unsigned char> got = output.download();
  const std::vector<bool> written = writable_bytes(layout, batch, out_channels);
  size_t changed_outside = 0;
  for (size_t i = 0; i < written.size(); ++i) {
    if (!written[i] && got[i] != kUnwrittenByte) ++changed_outside;
  }
  CHECK_MESSAGE(changed_outside == 0,
                context << ": " << changed_outside << " bytes outside the crop changed");

  double max_ref = 0.0, max_diff = 0.0, worst_lsb = 0.0;
  for (int n = 0; n < batch; ++n)
    for (int c = 0; c < out_channels; ++c)
      for (int y = 0; y < layout.height; ++y)
        for (int x = 0; x < layout.width; ++x) {
          const double v = expected.at(n, c, y, x);
          const double value = stored_value(got, layout, layout.offset(n, c, y, x));
          if (layout.type == m2u::PixelType::kF32) {
            max_ref = std::fmax(max_ref, std::fabs(v));
            max_diff =
                std::isfinite(value) ? std::fmax(max_diff, std::fabs(value - v)) : INFINITY;
          } else {
            const double scale = layout.type == m2u::PixelType::kU8 ? 255.0 : 65535.0;
            const double rounded = std::fmin(std::fmax(std::round(v * scale), 0.0), scale);
            const double lsb = std::fabs(value - rounded);
            worst_lsb = std::fmax(worst_lsb, lsb);
            errors->off_by_one += lsb == 1.0;
            ++errors->quantised;
          }
        }
  if (layout.type == m2u::PixelType::kF32) {
    const double relative = max_diff / max_ref;
    CHECK_MESSAGE(relative <= tolerance, context << ": relative error " << relative);
    errors->relative = std::fmax(errors->relative, relative);
  } else {
    CHECK_MESSAGE(worst_lsb <= 1.0,
                  context << ": " << worst_lsb << " LSB from the rounded reference");
  }
}

inline m2u::ProbabilityImage probability_image(void* data, const ProbabilityLayout& layout) {
  return m2u::ProbabilityImage{data, layout.type, layout.height, layout.width, layout.row_stride_bytes,
                               layout.channel_stride_bytes, layout.image_stride_bytes};
}

}  // namespace kernel_test

#endif  // M2U_TESTS_KERNELS_PROBABILITY_TEST_SUPPORT_H
