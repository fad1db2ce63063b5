// test_int8_storage_kernels.cpp - the FP32-arithmetic kernels on INT8
// activations (conv_stem, upsample_bilinear2x, input_convert, output_conv
// with T = int8_t, through their views' scales: scaled_storage.cuh). Each
// int8 run equals, bit for bit, the float kernel run on the dequantised
// input (q * scale) with its output quantised on the host (round half to
// even of v / scale, clamped to [-127, 127]); odd shapes, slices of wider
// buffers at 16-channel offsets, poisoned padding, guard bytes, a
// saturating case, several schedules.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "conv_kernels.h"
#include "device_buffer.h"
#include "emu_test_support.h"
#include "io_kernels.h"
#include "tensor_view.h"
#include "upsample_kernels.h"

namespace {

using m2u_test::DeviceBuffer;

int8_t quantize(float value, float scale) {
  const float q = std::fmin(std::fmax(value * (1.0f / scale), -127.0f), 127.0f);
  return static_cast<int8_t>(std::nearbyint(q));
}

// A buffer of `pixels` pixels of `stride` channels.
struct Layout {
  int batch, height, width, stride;
  size_t pixels() const { return static_cast<size_t>(batch) * height * width; }
  size_t elements() const { return pixels() * stride; }
};

std::vector<int8_t> random_int8(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> values(count);
  for (int8_t& v : values) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  return values;
}

// The float copy of an int8 buffer (q * scale), other elements as given.
std::vector<float> dequantised(const std::vector<int8_t>& q, float scale) {
  std::vector<float> values(q.size());
  for (size_t i = 0; i < q.size(); ++i) values[i] = static_cast<float>(q[i]) * scale;
  return values;
}

// Every element of the int8 output view equals the quantised float one;
// the view's padded channels are 0, the rest of the buffer as before.
void check_quantised(const std::vector<int8_t>& got, const std::vector<float>& expected_float,
                     const std::vector<int8_t>& before, const Layout& layout, int offset, int channels, float scale,
                     const std::string& context) {
  const int padded = (channels + 15) / 16 * 16;
  size_t wrong = 0, outside = 0, padding = 0;
  for (size_t p = 0; p < layout.pixels(); ++p) {
    for (int c = 0; c < layout.stride; ++c) {
      const size_t i = p * layout.stride + c;
      if (c >= offset && c < offset + channels) {
        wrong += got[i] != quantize(expected_float[i], scale);
      } else if (c >= offset && c < offset + padded) {
        padding += got[i] != 0;
      } else {
        outside += got[i] != before[i];
      }
    }
  }
  CHECK_MESSAGE(wrong == 0, context << ": " << wrong << " values differ from the quantised float kernel's");
  CHECK_MESSAGE(padding == 0, context << ": " << padding << " padded channels not 0");
  CHECK_MESSAGE(outside == 0, context << ": " << outside << " values outside the view changed");
}

template <typename T>
m2u::TensorView<T> view(T* data, const Layout& l, int offset, int channels, float scale) {
  return m2u::TensorView<T>{data + offset, l.batch, l.height, l.width, channels, l.stride, scale};
}

}  // namespace

TEST_CASE("int8 stem and upsampling equal the float kernels on dequantised input, quantised") {
  for (uint64_t schedule : emu_test::test_seeds()) {
    emu_test::ScopedSeed scoped(schedule);
    // Stem: 3 input channels at offset 32 of a 48-channel buffer, 2x17x34 -> 2x9x17x32.
    const Layout in{2, 17, 34, 48}, out{2, 9, 17, 32};
    const float in_scale = 0.03f, out_scale = 0.011f;  // the small output scale saturates some values
    const std::vector<int8_t> q_in = random_int8(in.elements(), 3);
    std::mt19937 rng(4);
    std::vector<float> weight(32 * 9 * 3), bias(32);
    for (float& w : weight) w = static_cast<float>(rng() % 2001) / 1000.0f - 1.0f;
    for (float& b : bias) b = static_cast<float>(rng() % 201) / 1000.0f - 0.1f;
    DeviceBuffer<float> d_weight(weight.size()), d_bias(bias.size());
    d_weight.upload(weight);
    d_bias.upload(bias);
    DeviceBuffer<int8_t> d_in(in.elements());
    d_in.upload(q_in);
    DeviceBuffer<float> d_in_float(in.elements());
    d_in_float.upload(dequantised(q_in, in_scale));
    const std::vector<int8_t> before(out.elements(), 55);
    DeviceBuffer<int8_t> d_out(out.elements());
    d_out.upload(before);
    DeviceBuffer<float> d_out_float(out.elements());
    REQUIRE(m2u::conv_stem<int8_t>(view<const int8_t>(d_in.data(), in, 32, 3, in_scale), view(d_out.data(), out, 0, 30, out_scale),
                                   d_weight.data(), d_bias.data(), m2u::KernelActivation::kRelu6, nullptr) == cudaSuccess);
    REQUIRE(m2u::conv_stem<float>(view<const float>(d_in_float.data(), in, 32, 3, 1.0f), view(d_out_float.data(), out, 0, 30, 1.0f),
                                  d_weight.data(), d_bias.data(), m2u::KernelActivation::kRelu6, nullptr) == cudaSuccess);
    const std::vector<int8_t> got = d_out.download();
    check_quantised(got, d_out_float.download(), before, out, 0, 30, out_scale, "stem, schedule " + std::to_string(schedule));
    size_t saturated = 0;
    for (int8_t v : got) saturated += v == 127;
    CHECK(saturated > 0);
    std::string where;
    CHECK_MESSAGE(d_out.guards_intact(&where), where);

    // Upsampling: 19 channels of a 9x17 map into the slice at 16 of a
    // 2x18x34x48 concat buffer.
    const Layout low{2, 9, 17, 32}, high{2, 18, 34, 48};
    const std::vector<int8_t> q_low = random_int8(low.elements(), 5);
    DeviceBuffer<int8_t> d_low(low.elements());
    d_low.upload(q_low);
    DeviceBuffer<float> d_low_float(low.elements());
    d_low_float.upload(dequantised(q_low, 0.05f));
    const std::vector<int8_t> concat_before(high.elements(), -9);
    DeviceBuffer<int8_t> d_high(high.elements());
    d_high.upload(concat_before);
    DeviceBuffer<float> d_high_float(high.elements());
    REQUIRE(m2u::upsample_bilinear2x<int8_t>(view<const int8_t>(d_low.data(), low, 0, 19, 0.05f),
                                             view(d_high.data(), high, 16, 19, 0.04f), nullptr) == cudaSuccess);
    REQUIRE(m2u::upsample_bilinear2x<float>(view<const float>(d_low_float.data(), low, 0, 19, 1.0f),
                                            view(d_high_float.data(), high, 16, 19, 1.0f), nullptr) == cudaSuccess);
    check_quantised(d_high.download(), d_high_float.download(), concat_before, high, 16, 19, 0.04f,
                    "upsample, schedule " + std::to_string(schedule));
    CHECK_MESSAGE(d_high.guards_intact(&where), where);
  }
}

TEST_CASE("int8 input conversion and final 1x1 equal the float kernels") {
  const int height = 21, width = 37;
  std::vector<uint8_t> grey(static_cast<size_t>(height) * width);
  for (size_t i = 0; i < grey.size(); ++i) grey[i] = static_cast<uint8_t>((i * 37) % 251);
  DeviceBuffer<uint8_t> d_grey(grey.size());
  d_grey.upload(grey);
  m2u::PixelImage image{d_grey.data(), m2u::PixelType::kU8, 1, height, width, 1, static_cast<size_t>(width),
                        grey.size(), 255.0f};
  m2u::KernelInputConvention convention{};
  convention.replicate_grey = 1;
  convention.pixel_scale = 1.0f;
  for (int c = 0; c < 8; ++c) {
    convention.channel_mean[c] = 0.4f;
    convention.channel_std[c] = 0.25f;
  }
  // Into the slice at 32 of a 48-channel buffer of 32x48 (padded frame).
  const Layout buffer{1, 32, 48, 48};
  const std::vector<int8_t> before(buffer.elements(), 3);
  DeviceBuffer<int8_t> d_q(buffer.elements());
  d_q.upload(before);
  DeviceBuffer<float> d_f(buffer.elements());
  const float scale = 0.02f;
  REQUIRE(m2u::input_convert<int8_t>(image, convention, nullptr, view(d_q.data(), buffer, 32, 3, scale), nullptr,
                                     nullptr) == cudaSuccess);
  REQUIRE(m2u::input_convert<float>(image, convention, nullptr, view(d_f.data(), buffer, 32, 3, 1.0f), nullptr,
                                    nullptr) == cudaSuccess);
  const std::vector<int8_t> q = d_q.download();
  check_quantised(q, d_f.download(), before, buffer, 32, 3, scale, "input_convert");

  // The final 1x1 on 16 int8 channels (the decode1 output) = the float one on q * scale.
  const Layout features{1, 32, 48, 16};
  const std::vector<int8_t> q_features = random_int8(features.elements(), 9);
  DeviceBuffer<int8_t> d_features(features.elements());
  d_features.upload(q_features);
  DeviceBuffer<float> d_features_float(features.elements());
  d_features_float.upload(dequantised(q_features, 0.07f));
  std::vector<float> weight(16), bias{0.3f};
  for (int k = 0; k < 16; ++k) weight[k] = 0.1f * static_cast<float>(k % 7) - 0.3f;
  DeviceBuffer<float> d_weight(16), d_bias(1);
  d_weight.upload(weight);
  d_bias.upload(bias);
  std::vector<float> probabilities[2];
  for (int which = 0; which < 2; ++which) {
    DeviceBuffer<float> d_p(static_cast<size_t>(height) * width);
    const m2u::ProbabilityImage out{d_p.data(), m2u::PixelType::kF32, height, width,
                                    width * sizeof(float), height * width * sizeof(float),
                                    height * width * sizeof(float)};
    const cudaError_t status =
        which == 0 ? m2u::output_conv<int8_t>(view<const int8_t>(d_features.data(), features, 0, 16, 0.07f), 1,
                                              d_weight.data(), d_bias.data(), m2u::KernelActivation::kSigmoid, out, nullptr)
                   : m2u::output_conv<float>(view<const float>(d_features_float.data(), features, 0, 16, 1.0f), 1,
                                             d_weight.data(), d_bias.data(), m2u::KernelActivation::kSigmoid, out, nullptr);
    REQUIRE(status == cudaSuccess);
    probabilities[which] = d_p.download();
  }
  size_t differ = 0;
  for (size_t i = 0; i < probabilities[0].size(); ++i) differ += probabilities[0][i] != probabilities[1][i];
  CHECK_MESSAGE(differ == 0, differ << " probabilities differ");
}
