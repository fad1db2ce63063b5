// reference_ops.h - M2U-Net's operations (weights/M2UNET.md) on
// NCHW float tensors, written as the obvious loops with double arithmetic:
// the oracle every kernel test compares against. Each op checks its
// arguments and throws std::invalid_argument naming the mismatch.
#ifndef M2U_TESTS_REFERENCE_REFERENCE_OPS_H
#define M2U_TESTS_REFERENCE_REFERENCE_OPS_H

#include <vector>

#include "architecture.h"
#include "host_tensor.h"

namespace m2u::ref {

// PyTorch Conv2d with padding kernel / 2: output size
// (H + 2 * (kernel / 2) - kernel) / stride + 1. `weight` is
// [out_channels, input.c / groups, kernel, kernel]; `bias` is empty or has
// out_channels values.
HostTensor conv2d(const HostTensor& input, const std::vector<float>& weight,
                  const std::vector<float>& bias, int out_channels, int kernel, int stride,
                  int groups);

// Eval-mode BatchNorm2d: (x - mean) / sqrt(var + eps) * gamma + beta, per channel.
HostTensor batch_norm_eval(const HostTensor& x, const std::vector<float>& gamma,
                           const std::vector<float>& beta, const std::vector<float>& mean,
                           const std::vector<float>& var, double eps);

// ReLU6 clamp(x, 0, 6), ReLU max(x, 0), sigmoid 1 / (1 + exp(-x)), linear x.
// NaN stays NaN.
HostTensor activation(const HostTensor& x, Activation kind);

// Element-wise a + b of equal shapes.
HostTensor add(const HostTensor& a, const HostTensor& b);

// Bilinear x2, align_corners=False (PyTorch upsample_bilinear2d): source
// coordinate (dst + 0.5) / 2 - 0.5 clamped at 0, neighbours clamped at the border.
HostTensor upsample_bilinear2x(const HostTensor& x);

// Channel concatenation, `first`'s channels before `second`'s.
HostTensor concat_channels(const HostTensor& first, const HostTensor& second);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_REFERENCE_OPS_H
