// half2_conv_reference.h - CPU references of the arithmetic of the half2
// kernels (kernels/pointwise_conv_fp16.cu, kernels/depthwise_conv_fp16.cu),
// operation for operation and in their order: every half multiply-add is a
// double fma of the exact half operands rounded once to half by the host's
// __double2half (correctly rounded, as fma.rn.f16x2 is); the flushes into
// float, the bias, the activation and the residual in float. A kernel's
// half output must equal them to the ulp (half2_ulp_tolerance), which
// max_half_ulps measures. Also the looser tolerances of the same kernels
// against the FP32 reference, and what they stand for.
#ifndef M2U_TESTS_KERNELS_HALF2_CONV_REFERENCE_H
#define M2U_TESTS_KERNELS_HALF2_CONV_REFERENCE_H

#include <cuda_fp16.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "activation.h"
#include "compare.h"
#include "host_tensor.h"
#include "kernel_test_support.h"
#include "tensor_view.h"

namespace kernel_test {

// Against the FP32 reference (max |diff| / max |ref|, compare.h). A half
// fma rounds to 2^-11 of its result; a chunk of the pointwise kernel sums 16
// products (|x| <= 1, |w| <= 0.5 here), so each of its 16 roundings is at
// most 2^-11 of a partial sum that stays near the size of the final value,
// and the errors of the K/16 chunks add up in FP32: worst case about
// 16 * 2^-11 = 8e-3 of a chunk's magnitude, random-walk size
// sqrt(16) * 2^-12 = 1e-3, plus the output's own rounding (2^-11 = 4.9e-4).
// Measured worst over all shapes, activations and schedules (the MESSAGE
// lines): 1.2e-3 (2x17x34 33->5), against 2.6e-7 in FP32. 4e-3 is about
// three times that and half the worst-case bound.
constexpr double kPointwiseHalf2Tolerance = 4e-3;
// Nine taps (|x|, |w| <= 1): at most 9 roundings of the partial sum
// (random-walk 3 * 2^-12 = 7e-4) plus the output's rounding; measured worst
// 8.8e-4 (2x17x35 19ch stride 2 slices), so 3e-3.
constexpr double kDepthwiseHalf2Tolerance = 3e-3;

// Against the same arithmetic, in half ulps. The emulation: exact but for
// the sigmoid (float expf against the reference's double exp). The cuda
// flavour: 1 everywhere, for the device's expf and for GPGPU-Sim, whose
// cvt.rn.f16.f32 rounds float ties away from zero (half.h's default
// HALF_ROUND_TIES_TO_EVEN 0), a result 1 ulp off for about 1 in 16,000
// outputs; a GPU rounds ties to even and should match exactly.
inline int half2_ulp_tolerance(m2u::KernelActivation activation) {
#if defined(M2U_FLAVOUR_EMU)
  return activation == m2u::KernelActivation::kSigmoid ? 1 : 0;
#else
  (void)activation;
  return 1;
#endif
}

inline float half_rounded(float value) { return __half2float(__float2half_rn(value)); }

// a * b + c, the operands halves, rounded once to half.
inline float half_fma(float a, float b, float c) {
  return __half2float(__double2half(
      std::fma(static_cast<double>(a), static_cast<double>(b), static_cast<double>(c))));
}

constexpr int kHalf2PointwiseChunk = 16;  // kChunk of pointwise_conv_fp16.cu

// kernel_pointwise_conv_half2 before its activation: `input` the view's K
// padded channels as the kernel reads them (gaps and padding 0), `weight`
// [out_channels][K] as uploaded (float; rounded to half as the kernel
// stages it). Per output: half partial sums over each chunk of 16 channels
// (a chunk's channels past K multiply staged zeros), each added into a
// float sum, then + bias.
inline HostTensor half2_pointwise_conv(const HostTensor& input, const std::vector<float>& weight,
                                       const std::vector<float>& bias, int out_channels) {
  const int k_channels = input.c;
  REQUIRE(weight.size() == static_cast<size_t>(out_channels) * k_channels);
  HostTensor result(input.n, out_channels, input.h, input.w);
  for (int n = 0; n < input.n; ++n)
    for (int y = 0; y < input.h; ++y)
      for (int x = 0; x < input.w; ++x)
        for (int co = 0; co < out_channels; ++co) {
          float sum = 0.0f;
          for (int chunk = 0; chunk < k_channels; chunk += kHalf2PointwiseChunk) {
            float partial = 0.0f;
            for (int k = chunk; k < chunk + kHalf2PointwiseChunk; ++k) {
              const bool staged = k < k_channels;
              partial = half_fma(
                  staged ? input.at(n, k, y, x) : 0.0f,
                  staged ? half_rounded(weight[static_cast<size_t>(co) * k_channels + k]) : 0.0f,
                  partial);
            }
            sum += partial;
          }
          result.at(n, co, y, x) = sum + bias[co];
        }
  return result;
}

// kernel_depthwise_conv_half2 before its activation: per channel a half
// partial sum over the taps inside the image (ky, kx order), the weights
// [channels][3][3] rounded to half, then flushed into float + bias.
inline HostTensor half2_depthwise_conv(const HostTensor& input, const std::vector<float>& weight,
                                       const std::vector<float>& bias, int stride) {
  HostTensor result(input.n, input.c, (input.h + stride - 1) / stride,
                    (input.w + stride - 1) / stride);
  for (int n = 0; n < result.n; ++n)
    for (int c = 0; c < result.c; ++c)
      for (int oy = 0; oy < result.h; ++oy)
        for (int ox = 0; ox < result.w; ++ox) {
          float partial = 0.0f;
          for (int ky = 0; ky < 3; ++ky) {
            const int iy = oy * stride - 1 + ky;
            if (iy < 0 || iy >= input.h) continue;
            for (int kx = 0; kx < 3; ++kx) {
              const int ix = ox * stride - 1 + kx;
              if (ix < 0 || ix >= input.w) continue;
              partial = half_fma(input.at(n, c, iy, ix),
                                 half_rounded(weight[static_cast<size_t>(c) * 9 + ky * 3 + kx]),
                                 partial);
            }
          }
          result.at(n, c, oy, ox) = partial + bias[c];
        }
  return result;
}

// The 1x1 convolutions of the fused half2 kernel
// (kernels/inverted_residual_fused_fp16.cu) before their activation: `input`
// the K padded channels as the kernel reads them (padding 0), `weight`
// [out_channels][K] as uploaded (rounded to half as staged). Per output and
// chunk of 16 channels, one half2 from zero: the even channels' products
// chained in the low lane, the odd ones' in the high lane, each in
// increasing order; then (low + high) added into a float sum that starts at
// the bias (`bias_first`: the expand) or at 0, the bias added last (the
// project).
inline HostTensor half2_paired_pointwise_conv(const HostTensor& input, const std::vector<float>& weight,
                                              const std::vector<float>& bias, int out_channels, bool bias_first) {
  const int k_channels = input.c;
  REQUIRE(weight.size() == static_cast<size_t>(out_channels) * k_channels);
  HostTensor result(input.n, out_channels, input.h, input.w);
  for (int n = 0; n < input.n; ++n)
    for (int y = 0; y < input.h; ++y)
      for (int x = 0; x < input.w; ++x)
        for (int co = 0; co < out_channels; ++co) {
          float sum = bias_first ? bias[co] : 0.0f;
          for (int chunk = 0; chunk < k_channels; chunk += kHalf2PointwiseChunk) {
            float lanes[2] = {0.0f, 0.0f};
            for (int k = chunk; k < std::min(chunk + kHalf2PointwiseChunk, k_channels); ++k) {
              lanes[k % 2] = half_fma(input.at(n, k, y, x),
                                      half_rounded(weight[static_cast<size_t>(co) * k_channels + k]), lanes[k % 2]);
            }
            sum += lanes[0] + lanes[1];
          }
          result.at(n, co, y, x) = bias_first ? sum : sum + bias[co];
        }
  return result;
}

// Steps between neighbouring halves from `expected` to `got` (both hold
// half values; +0 and -0 are one), the largest over the tensors; INT_MAX for
// a NaN or a shape mismatch.
inline int max_half_ulps(const HostTensor& got, const HostTensor& expected) {
  if (!got.same_shape(expected) || got.size() != expected.size()) return INT_MAX;
  const auto ordered = [](float value) {
    const __half_raw raw = __float2half_rn(value);  // (no host __half_as_ushort in CUDA 11.8)
    const int bits = raw.x;
    return (bits & 0x8000) != 0 ? -(bits & 0x7FFF) : bits;
  };
  int worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got.data[i]) || std::isnan(expected.data[i])) return INT_MAX;
    worst = std::max(worst, std::abs(ordered(got.data[i]) - ordered(expected.data[i])));
  }
  return worst;
}

// The worst a case's runs came to against the same-arithmetic reference.
struct SameArithmeticWorst {
  double relative = 0.0;
  int ulps = 0;
};

// Checks the view at `channel_offset` of a half2 kernel's output buffer
// against the same-arithmetic result `expected` (rounded to half here)
// within `ulp_tolerance`. check_output does the buffer's other checks.
inline void check_same_arithmetic(const DeviceBuffer<__half>& device, const BufferShape& shape,
                                  int channel_offset, const HostTensor& expected,
                                  int ulp_tolerance, const std::string& context,
                                  SameArithmeticWorst* worst) {
  const HostTensor got = read_slice(device.download(), shape, channel_offset, expected.c);
  const HostTensor rounded = rounded_to<__half>(expected);
  const int ulps = max_half_ulps(got, rounded);
  const m2u::ref::Comparison comparison = m2u::ref::compare(got, rounded);
#if defined(M2U_FLAVOUR_EMU)
  const bool within = ulps <= ulp_tolerance;
#else
  // The cuda flavour also runs under GPGPU-Sim, whose ties-away rounding of
  // a staged weight or a partial sum carries through the chained half2
  // sums of a chunk: measured up to 64 ulps of a small output (the 72->130
  // and 19->33 cases), relative 5.1e-4. There the check is relative 1e-3
  // (the FP32-reference check, 4e-3, still applies on top).
  const bool within = ulps <= ulp_tolerance || comparison.relative <= 1e-3;
#endif
  CHECK_MESSAGE(within,
                context << ": " << ulps << " half ulps from the same-arithmetic reference (allowed "
                        << ulp_tolerance << "); " << comparison.describe());
  worst->relative = std::max(worst->relative, comparison.relative);
  worst->ulps = std::max(worst->ulps, ulps);
}

}  // namespace kernel_test

#endif  // M2U_TESTS_KERNELS_HALF2_CONV_REFERENCE_H
