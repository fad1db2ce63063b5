// bench_kernels.cpp - Google Benchmark of m2urt's inference kernels and
// their precision variants at M2U-Net's layer shapes for a 512x512 frame
// (an eighth of each side in the emu flavour, where the figures are a smoke
// test of the CPU emulation, labelled so, never a speed):
//   pointwise 1x1 (FP32, FP16 half2, INT8), depthwise 3x3 (FP32, FP16 half2,
//   INT8; stride 1 and 2), the fused inverted-residual block (FP32, FP16
//   half2) and the bilinear x2 upsampling (FP32, FP16 storage).
// Each benchmark first checks the kernel's output against the CPU
// reference - FP32 within 1e-5 of the reference's largest magnitude, FP16
// within the kernel tests' half2 bars (4e-3 for the 1x1 and the fused
// block, 3e-3 for the depthwise, 2e-3 for the upsampling's rounding to
// half), INT8 bit-exact
// against the int32-sum + FP32-epilogue reference - and stops with an error
// when it differs. Then it times launches with CUDA events (manual time) and
// reports the work model's rates per launch (GB = GB/s: every input, weight and
// output byte once; GFLOP = GFLOP/s: 2 flops a multiply-add; the minimal work, so a
// fused block's recomputed halo is not counted), the bytes (MB) and the Nano
// profile's modeled microseconds for the same work (model_us_nano: a floor
// on another GPU, beside a figure measured on this one).
// Rivals from cuDNN and cuBLAS: bench_rivals.cpp (cuda flavour only).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "architecture.h"
#include "bench_tensors.h"
#include "conv_kernels.h"
#include "conv_kernels_int8.h"
#include "depthwise_layout.h"
#include "int8_reference.h"
#include "reference_ops.h"
#include "upsample_kernels.h"

namespace {

using bench::DeviceBuffer;
using bench::DeviceTensor;
using bench::HostTensor;
using m2u::KernelActivation;
using m2u::WorkArithmetic;

constexpr double kFp32Tolerance = 1e-5;
constexpr double kPointwiseHalf2Tolerance = 4e-3;
constexpr double kDepthwiseHalf2Tolerance = 3e-3;
constexpr double kFusedHalf2Tolerance = 4e-3;  // tests/kernels/test_inverted_residual_fused.cpp
constexpr double kHalfStorageTolerance = 2e-3;

HostTensor activated(const HostTensor& x, KernelActivation activation) {
  return m2u::ref::activation(x, activation == KernelActivation::kRelu6 ? m2u::Activation::kRelu6
                                 : activation == KernelActivation::kRelu ? m2u::Activation::kRelu
                                                                         : m2u::Activation::kLinear);
}

// [rows][padded row] floats from [rows][columns], zeros in the padding.
std::vector<float> padded_rows(const std::vector<float>& values, int rows, int columns, int padded) {
  std::vector<float> out(static_cast<size_t>(rows) * padded, 0.0f);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < columns; ++c) out[static_cast<size_t>(r) * padded + c] = values[static_cast<size_t>(r) * columns + c];
  return out;
}

std::vector<float> weights(size_t count, int fan_in, uint32_t seed) {
  const float bound = 1.5f / std::sqrt(static_cast<float>(fan_in));
  return bench::random_values(count, seed, -bound, bound);
}

template <typename T>
bool check_or_skip(benchmark::State& state, const DeviceTensor<T>& out, const HostTensor& ref, double tolerance) {
  std::string why;
  if (bench::matches(out.download(), ref, tolerance, &why)) return true;
  state.SkipWithError(why.c_str());
  return false;
}

// INT8 outputs are checked bit for bit, every byte of the buffer (the
// padded channels' zeros included).
bool int8_matches_or_skip(benchmark::State& state, const DeviceBuffer<int8_t>& out, const std::vector<int8_t>& expected) {
  std::vector<int8_t> got = out.download();
  if (bench::corrupt_outputs()) got[got.size() / 2] ^= 1;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != expected[i]) {
      const std::string why = "INT8 output differs from the reference at byte " + std::to_string(i) + ": " +
                              std::to_string(got[i]) + " instead of " + std::to_string(expected[i]);
      state.SkipWithError(why.c_str());
      return false;
    }
  }
  return true;
}

// ---- 1x1 convolution
struct PointwiseShape {
  const char* layer;
  int size, in_channels, out_channels;
  KernelActivation activation;
  bool residual;
};

template <typename T>
void bench_pointwise(benchmark::State& state, PointwiseShape s) {
  const int h = bench::scaled(s.size), w = h;
  const HostTensor x = bench::rounded<T>(bench::random_tensor(s.in_channels, h, w, 1));
  const HostTensor skip = bench::rounded<T>(bench::random_tensor(s.out_channels, h, w, 2));
  const std::vector<float> weight = weights(static_cast<size_t>(s.out_channels) * s.in_channels, s.in_channels, 3);
  const std::vector<float> bias = bench::random_values(s.out_channels, 4, -0.5f, 0.5f);
  HostTensor ref = activated(m2u::ref::conv2d(x, weight, bias, s.out_channels, 1, 1, 1), s.activation);
  if (s.residual) ref = m2u::ref::add(ref, skip);
  const int row = m2u::padded_channels<T>(s.in_channels);
  DeviceTensor<T> in(x), residual(skip), out(s.out_channels, h, w);
  DeviceBuffer<float> packed(static_cast<size_t>(s.out_channels) * row), device_bias(s.out_channels);
  packed.upload(padded_rows(weight, s.out_channels, s.in_channels, row));
  device_bias.upload(bias);
  const m2u::TensorView<const T> skip_view =
      s.residual ? residual.const_view() : m2u::TensorView<const T>{nullptr, 0, 0, 0, 0, 0};
  auto launch = [&] {
    return m2u::pointwise_conv<T>(in.const_view(), out.view(), packed.data(), device_bias.data(), s.activation,
                                  skip_view, nullptr);
  };
  bench::check(launch(), "pointwise_conv");
  bench::check(cudaDeviceSynchronize(), "pointwise_conv");
  const bool half = sizeof(T) == 2;
  if (!check_or_skip(state, out, ref, half ? kPointwiseHalf2Tolerance : kFp32Tolerance)) return;
  const double weight_bytes = s.out_channels * (row + 1.0) * 4.0;
  bench::time_launches(state, launch,
                       bench::work_of("1x1 conv", half ? WorkArithmetic::kHalf2 : WorkArithmetic::kFp32,
                                      static_cast<double>(h) * w * s.out_channels * s.in_channels,
                                      in.bytes() + (s.residual ? residual.bytes() : 0.0), weight_bytes, out.bytes()));
}

// INT8: int8 activations and weights, int32 sums, the FP32 epilogue; the
// reference is int8_reference.h's, and the check bit-exact.
void bench_pointwise_int8(benchmark::State& state, PointwiseShape s) {
  const int h = bench::scaled(s.size), w = h;
  const int row = m2u::padded_channels<int8_t>(s.in_channels), out_row = m2u::padded_channels<int8_t>(s.out_channels);
  const int8_test::QTensor x = int8_test::random_qtensor(1, h, w, s.in_channels, 5, 0, 127);
  const int8_test::QTensor skip = int8_test::random_qtensor(1, h, w, s.out_channels, 6);
  const std::vector<int8_t> weight = int8_test::random_q(static_cast<size_t>(s.out_channels) * s.in_channels, 7, -127, 127);
  // Sums of in_channels products of ~64 x ~64: real values of a few units.
  const std::vector<float> multiplier =
      bench::random_values(s.out_channels, 8, 0.5f / (4096.0f * std::sqrt(float(s.in_channels))),
                           1.5f / (4096.0f * std::sqrt(float(s.in_channels))));
  const std::vector<float> bias = bench::random_values(s.out_channels, 9, -0.5f, 0.5f);
  const float inverse_scale = 127.0f / 6.0f, residual_scale = 6.0f / 127.0f;
  std::vector<int8_t> in_nhwc(static_cast<size_t>(h) * w * row, 0), skip_nhwc(static_cast<size_t>(h) * w * out_row, 0),
      packed(static_cast<size_t>(s.out_channels) * row, 0), expected(static_cast<size_t>(h) * w * out_row, 0);
  for (int p = 0; p < h * w; ++p) {
    for (int c = 0; c < s.in_channels; ++c) in_nhwc[static_cast<size_t>(p) * row + c] = x.q[static_cast<size_t>(p) * s.in_channels + c];
    for (int c = 0; c < s.out_channels; ++c)
      skip_nhwc[static_cast<size_t>(p) * out_row + c] = skip.q[static_cast<size_t>(p) * s.out_channels + c];
  }
  for (int o = 0; o < s.out_channels; ++o)
    for (int c = 0; c < s.in_channels; ++c) packed[static_cast<size_t>(o) * row + c] = weight[static_cast<size_t>(o) * s.in_channels + c];
  for (int p = 0; p < h * w; ++p) {
    for (int o = 0; o < s.out_channels; ++o) {
      int32_t acc = 0;
      for (int c = 0; c < s.in_channels; ++c)
        acc += int32_t(in_nhwc[static_cast<size_t>(p) * row + c]) * packed[static_cast<size_t>(o) * row + c];
      float real = int8_test::reference_activated(acc, multiplier[o], bias[o], s.activation);
      if (s.residual) real = real + static_cast<float>(skip_nhwc[static_cast<size_t>(p) * out_row + o]) * residual_scale;
      expected[static_cast<size_t>(p) * out_row + o] = int8_test::reference_quantized(real, inverse_scale);
    }
  }
  DeviceBuffer<int8_t> in(in_nhwc.size()), residual(skip_nhwc.size()), out(expected.size()), device_weight(packed.size());
  DeviceBuffer<float> device_multiplier(multiplier.size()), device_bias(bias.size());
  in.upload(in_nhwc);
  residual.upload(skip_nhwc);
  device_weight.upload(packed);
  device_multiplier.upload(multiplier);
  device_bias.upload(bias);
  const m2u::TensorView<const int8_t> in_view{in.data(), 1, h, w, s.in_channels, row};
  const m2u::TensorView<int8_t> out_view{out.data(), 1, h, w, s.out_channels, out_row};
  const m2u::TensorView<const int8_t> skip_view =
      s.residual ? m2u::TensorView<const int8_t>{residual.data(), 1, h, w, s.out_channels, out_row}
                 : m2u::TensorView<const int8_t>{nullptr, 0, 0, 0, 0, 0};
  const m2u::Int8Requant requant{device_multiplier.data(), device_bias.data(), inverse_scale};
  auto launch = [&] {
    return m2u::pointwise_conv_int8(in_view, out_view, device_weight.data(), requant, s.activation, skip_view,
                                    residual_scale, nullptr);
  };
  bench::check(launch(), "pointwise_conv_int8");
  if (!int8_matches_or_skip(state, out, expected)) return;
  bench::time_launches(state, launch,
                       bench::work_of("1x1 conv", WorkArithmetic::kInt8,
                                      static_cast<double>(h) * w * s.out_channels * s.in_channels,
                                      double(in_nhwc.size()) + (s.residual ? double(skip_nhwc.size()) : 0.0),
                                      s.out_channels * (row + 8.0), double(expected.size())));
}

// ---- 3x3 depthwise convolution
struct DepthwiseShape {
  const char* layer;
  int size, channels, stride;
};

template <typename T>
void bench_depthwise(benchmark::State& state, DepthwiseShape s) {
  const int h = bench::scaled(s.size), w = h, oh = (h + s.stride - 1) / s.stride, ow = oh;
  const HostTensor x = bench::rounded<T>(bench::random_tensor(s.channels, h, w, 11));
  const std::vector<float> weight = weights(static_cast<size_t>(s.channels) * 9, 9, 12);
  const std::vector<float> bias = bench::random_values(s.channels, 13, -0.5f, 0.5f);
  const HostTensor ref = activated(m2u::ref::conv2d(x, weight, bias, s.channels, 3, s.stride, s.channels),
                                   KernelActivation::kRelu6);
  DeviceTensor<T> in(x), out(s.channels, oh, ow);
  const std::vector<float> taps = kernel_test::tap_major_depthwise(weight, s.channels);
  DeviceBuffer<float> device_weight(taps.size()), device_bias(bias.size());
  device_weight.upload(taps);
  device_bias.upload(bias);
  auto launch = [&] {
    return m2u::depthwise_conv<T>(in.const_view(), out.view(), device_weight.data(), device_bias.data(), s.stride,
                                  KernelActivation::kRelu6, nullptr);
  };
  bench::check(launch(), "depthwise_conv");
  const bool half = sizeof(T) == 2;
  if (!check_or_skip(state, out, ref, half ? kDepthwiseHalf2Tolerance : kFp32Tolerance)) return;
  bench::time_launches(state, launch,
                       bench::work_of("depthwise 3x3", half ? WorkArithmetic::kHalf2 : WorkArithmetic::kFp32,
                                      static_cast<double>(oh) * ow * s.channels * 9.0, in.bytes(),
                                      s.channels * 10.0 * 4.0, out.bytes()));
}

void bench_depthwise_int8(benchmark::State& state, DepthwiseShape s) {
  const int h = bench::scaled(s.size), w = h, oh = (h + s.stride - 1) / s.stride, ow = oh;
  const int row = m2u::padded_channels<int8_t>(s.channels);
  const int8_test::QTensor x = int8_test::random_qtensor(1, h, w, s.channels, 14, 0, 127);
  const std::vector<int8_t> taps = int8_test::random_q(static_cast<size_t>(9) * s.channels, 15, -127, 127);
  const std::vector<float> multiplier = bench::random_values(s.channels, 16, 0.5f / 12000.0f, 1.5f / 12000.0f);
  const std::vector<float> bias = bench::random_values(s.channels, 17, -0.5f, 0.5f);
  const float inverse_scale = 127.0f / 6.0f;
  std::vector<int8_t> in_nhwc(static_cast<size_t>(h) * w * row, 0), packed(static_cast<size_t>(9) * row, 0),
      expected(static_cast<size_t>(oh) * ow * row, 0);
  for (int p = 0; p < h * w; ++p)
    for (int c = 0; c < s.channels; ++c) in_nhwc[static_cast<size_t>(p) * row + c] = x.q[static_cast<size_t>(p) * s.channels + c];
  for (int t = 0; t < 9; ++t)
    for (int c = 0; c < s.channels; ++c) packed[static_cast<size_t>(t) * row + c] = taps[static_cast<size_t>(t) * s.channels + c];
  for (int y = 0; y < oh; ++y) {
    for (int x0 = 0; x0 < ow; ++x0) {
      for (int c = 0; c < s.channels; ++c) {
        int32_t acc = 0;
        for (int t = 0; t < 9; ++t) {
          const int iy = y * s.stride - 1 + t / 3, ix = x0 * s.stride - 1 + t % 3;
          if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
          acc += int32_t(in_nhwc[(static_cast<size_t>(iy) * w + ix) * row + c]) * packed[static_cast<size_t>(t) * row + c];
        }
        const float real = int8_test::reference_activated(acc, multiplier[c], bias[c], KernelActivation::kRelu6);
        expected[(static_cast<size_t>(y) * ow + x0) * row + c] = int8_test::reference_quantized(real, inverse_scale);
      }
    }
  }
  DeviceBuffer<int8_t> in(in_nhwc.size()), out(expected.size()), device_weight(packed.size());
  DeviceBuffer<float> device_multiplier(multiplier.size()), device_bias(bias.size());
  in.upload(in_nhwc);
  device_weight.upload(packed);
  device_multiplier.upload(multiplier);
  device_bias.upload(bias);
  const m2u::TensorView<const int8_t> in_view{in.data(), 1, h, w, s.channels, row};
  const m2u::TensorView<int8_t> out_view{out.data(), 1, oh, ow, s.channels, row};
  const m2u::Int8Requant requant{device_multiplier.data(), device_bias.data(), inverse_scale};
  auto launch = [&] {
    return m2u::depthwise_conv_int8(in_view, out_view, device_weight.data(), requant, s.stride,
                                    KernelActivation::kRelu6, nullptr);
  };
  bench::check(launch(), "depthwise_conv_int8");
  if (!int8_matches_or_skip(state, out, expected)) return;
  bench::time_launches(state, launch,
                       bench::work_of("depthwise 3x3", WorkArithmetic::kInt8,
                                      static_cast<double>(oh) * ow * s.channels * 9.0, double(in_nhwc.size()),
                                      s.channels * (9.0 + 8.0), double(expected.size())));
}

// ---- the fused inverted-residual block (FP32; FP16 in half2)
struct BlockShape {
  const char* layer;
  int size, in_channels, hidden, out_channels, stride;
};

template <typename T>
void bench_fused_block(benchmark::State& state, BlockShape s) {
  const bool half = sizeof(T) == 2;
  const int h = bench::scaled(s.size), w = h, oh = (h + s.stride - 1) / s.stride, ow = oh;
  const bool residual = s.stride == 1 && s.in_channels == s.out_channels;
  const HostTensor x = bench::rounded<T>(bench::random_tensor(s.in_channels, h, w, 21));
  const std::vector<float> expand = weights(static_cast<size_t>(s.hidden) * s.in_channels, s.in_channels, 22);
  const std::vector<float> expand_bias = bench::random_values(s.hidden, 23, -0.5f, 0.5f);
  const std::vector<float> taps = weights(static_cast<size_t>(s.hidden) * 9, 9, 24);
  const std::vector<float> taps_bias = bench::random_values(s.hidden, 25, -0.5f, 0.5f);
  const std::vector<float> project = weights(static_cast<size_t>(s.out_channels) * s.hidden, s.hidden, 26);
  const std::vector<float> project_bias = bench::random_values(s.out_channels, 27, -0.5f, 0.5f);
  const HostTensor expanded =
      activated(m2u::ref::conv2d(x, expand, expand_bias, s.hidden, 1, 1, 1), KernelActivation::kRelu6);
  const HostTensor filtered = activated(m2u::ref::conv2d(expanded, taps, taps_bias, s.hidden, 3, s.stride, s.hidden),
                                        KernelActivation::kRelu6);
  HostTensor ref = m2u::ref::conv2d(filtered, project, project_bias, s.out_channels, 1, 1, 1);
  if (residual) ref = m2u::ref::add(ref, x);
  const int expand_row = m2u::padded_channels<T>(s.in_channels), project_row = m2u::padded_channels<T>(s.hidden);
  DeviceTensor<T> in(x), out(s.out_channels, oh, ow);
  DeviceBuffer<float> d_expand(static_cast<size_t>(s.hidden) * expand_row), d_expand_bias(s.hidden),
      d_taps(static_cast<size_t>(9) * m2u::depthwise_weight_row(s.hidden)), d_taps_bias(s.hidden), d_project(static_cast<size_t>(s.out_channels) * project_row),
      d_project_bias(s.out_channels);
  d_expand.upload(padded_rows(expand, s.hidden, s.in_channels, expand_row));
  d_expand_bias.upload(expand_bias);
  d_taps.upload(kernel_test::tap_major_depthwise(taps, s.hidden));
  d_taps_bias.upload(taps_bias);
  d_project.upload(padded_rows(project, s.out_channels, s.hidden, project_row));
  d_project_bias.upload(project_bias);
  const m2u::FusedBlockWeights block{d_expand.data(), d_expand_bias.data(), d_taps.data(), d_taps_bias.data(),
                                     d_project.data(), d_project_bias.data(), s.hidden, expand_row, project_row,
                                     KernelActivation::kRelu6, KernelActivation::kRelu6, KernelActivation::kLinear};
  const m2u::TensorView<const T> skip = residual ? in.const_view() : m2u::TensorView<const T>{nullptr, 0, 0, 0, 0, 0};
  auto launch = [&] { return m2u::inverted_residual_fused<T>(in.const_view(), out.view(), skip, block, s.stride, nullptr); };
  bench::check(launch(), "inverted_residual_fused");
  if (!check_or_skip(state, out, ref, half ? kFusedHalf2Tolerance : kFp32Tolerance)) return;
  const double weight_bytes = (s.hidden * (expand_row + 1.0) + s.hidden * 10.0 + s.out_channels * (project_row + 1.0)) * 4.0;
  const double macs = static_cast<double>(h) * w * s.hidden * s.in_channels + static_cast<double>(oh) * ow * s.hidden * 9.0 +
                      static_cast<double>(oh) * ow * s.out_channels * s.hidden;
  bench::time_launches(state, launch,
                       bench::work_of("fused block", half ? WorkArithmetic::kHalf2 : WorkArithmetic::kFp32, macs, in.bytes(), weight_bytes, out.bytes()));
}

// ---- bilinear x2 upsampling
template <typename T>
void bench_upsample(benchmark::State& state, DepthwiseShape s) {
  const int h = bench::scaled(s.size), w = h;
  const HostTensor x = bench::rounded<T>(bench::random_tensor(s.channels, h, w, 31));
  const HostTensor ref = m2u::ref::upsample_bilinear2x(x);
  DeviceTensor<T> in(x), out(s.channels, 2 * h, 2 * w);
  auto launch = [&] { return m2u::upsample_bilinear2x<T, T>(in.const_view(), out.view(), nullptr); };
  bench::check(launch(), "upsample_bilinear2x");
  if (!check_or_skip(state, out, ref, sizeof(T) == 2 ? kHalfStorageTolerance : kFp32Tolerance)) return;
  bench::time_launches(state, launch,
                       bench::work_of("bilinear x2", WorkArithmetic::kFp32, 4.0 * 4.0 * h * w * s.channels, in.bytes(),
                                      0.0, out.bytes()));
}

template <typename Shape, typename Function>
void add(const std::string& name, Function function, Shape shape) {
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) { function(state, shape); })
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

std::string at(int size) {
  const int s = bench::scaled(size);
  return " @" + std::to_string(s) + "x" + std::to_string(s);
}

void register_benchmarks() {
  const PointwiseShape pointwise[] = {
      {"conv2.3 expand 24->144", 128, 24, 144, KernelActivation::kRelu6, false},
      {"conv2.3 project 144->24 + residual", 128, 144, 24, KernelActivation::kLinear, true},
      {"conv4.12 expand 96->576", 32, 96, 576, KernelActivation::kRelu6, false},
  };
  for (const PointwiseShape& s : pointwise) {
    add("pointwise/fp32/" + std::string(s.layer) + at(s.size), bench_pointwise<float>, s);
    add("pointwise/fp16/" + std::string(s.layer) + at(s.size), bench_pointwise<__half>, s);
    add("pointwise/int8/" + std::string(s.layer) + at(s.size), bench_pointwise_int8, s);
  }
  const DepthwiseShape depthwise[] = {{"conv2.3 depthwise 144", 128, 144, 1}, {"conv2.2 depthwise 96 stride 2", 256, 96, 2}};
  for (const DepthwiseShape& s : depthwise) {
    add("depthwise/fp32/" + std::string(s.layer) + at(s.size), bench_depthwise<float>, s);
    add("depthwise/fp16/" + std::string(s.layer) + at(s.size), bench_depthwise<__half>, s);
    add("depthwise/int8/" + std::string(s.layer) + at(s.size), bench_depthwise_int8, s);
  }
  const BlockShape blocks[] = {{"conv2.3 block 24->144->24", 128, 24, 144, 24, 1},
                               {"conv2.2 block 16->96->24 stride 2", 256, 16, 96, 24, 2}};
  for (const BlockShape& s : blocks) {
    add("fused/fp32/" + std::string(s.layer) + at(s.size), bench_fused_block<float>, s);
    add("fused/fp16/" + std::string(s.layer) + at(s.size), bench_fused_block<__half>, s);
  }
  const DepthwiseShape upsample = {"bilinear x2 32 channels", 128, 32, 1};
  add("upsample/fp32/" + std::string(upsample.layer) + at(upsample.size), bench_upsample<float>, upsample);
  add("upsample/fp16/" + std::string(upsample.layer) + at(upsample.size), bench_upsample<__half>, upsample);
}

}  // namespace

void register_rival_benchmarks();  // bench_rivals.cpp (cuda flavour) or none

int main(int argc, char** argv) {
  register_benchmarks();
  register_rival_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
