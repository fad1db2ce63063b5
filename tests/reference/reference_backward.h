// reference_backward.h - the gradients of the decoder's operations
// (reference_ops.h), written as the obvious loops with double arithmetic:
// the oracle of every backward kernel test, itself checked against finite
// differences (test_reference_backward.cpp). Each op checks its arguments
// and throws std::invalid_argument naming the mismatch.
#ifndef M2U_TESTS_REFERENCE_REFERENCE_BACKWARD_H
#define M2U_TESTS_REFERENCE_REFERENCE_BACKWARD_H

#include <vector>

#include "architecture.h"
#include "host_tensor.h"

namespace m2u::ref {

// Gradients of conv2d(input, weight, bias, out_channels, kernel, stride,
// groups) given dL/d(output): dL/d(input) (input's shape), dL/d(weight)
// (weight's layout [out, in / groups, k, k]) and dL/d(bias) (out_channels
// values: the output gradient summed over images and pixels).
struct ConvGradients {
  HostTensor input;
  std::vector<float> weight;
  std::vector<float> bias;
};
ConvGradients conv2d_backward(const HostTensor& input, const std::vector<float>& weight,
                              int out_channels, int kernel, int stride, int groups,
                              const HostTensor& output_gradient);

// Gradients of batch_norm_eval with frozen running statistics: dL/dx =
// g * gamma / sqrt(var + eps); dL/dgamma = sum of g * (x - mean) / sqrt(var +
// eps); dL/dbeta = sum of g (sums over images and pixels, per channel).
struct BatchNormGradients {
  HostTensor input;
  std::vector<float> gamma;
  std::vector<float> beta;
};
BatchNormGradients batch_norm_eval_backward(const HostTensor& x, const std::vector<float>& gamma,
                                            const std::vector<float>& mean,
                                            const std::vector<float>& var, double eps,
                                            const HostTensor& output_gradient);

// dL/d(pre-activation) from the activation's output y and dL/dy: ReLU6
// passes the gradient where 0 < y < 6, ReLU where y > 0 (PyTorch's
// hardtanh_backward and threshold_backward: zero at the kinks), sigmoid
// multiplies by y (1 - y), linear passes it on.
HostTensor activation_backward(const HostTensor& output, Activation kind,
                               const HostTensor& output_gradient);

// dL/dx of upsample_bilinear2x: each input pixel sums the gradients of the
// output pixels it contributed to, times its weights. The output gradient
// has even height and width.
HostTensor upsample_bilinear2x_backward(const HostTensor& output_gradient);

// Binary cross-entropy from logits z against targets t in [0, 1], averaged
// over the images' own pixels: the top-left valid_height x valid_width of
// each plane (the rest is the engine's zero padding and takes no part),
// every image and channel. Per element max(z, 0) - z t + log(1 + exp(-|z|))
// (no overflow for any finite z); dL/dz = (sigmoid(z) - t) / count inside,
// 0 outside.
struct LossGradient {
  double loss;
  HostTensor logits;  // dL/d(logits)
};
LossGradient bce_with_logits(const HostTensor& logits, const HostTensor& targets, int valid_height,
                             int valid_width);

// Soft Dice loss from logits over the same pixels as bce_with_logits, the
// whole batch at once: with p = sigmoid(z), I = sum p t, U = sum p + sum t,
// loss = 1 - (2 I + smoothing) / (U + smoothing); dL/dz = -((2 t (U + s) -
// (2 I + s)) / (U + s)^2) p (1 - p) inside, 0 outside.
LossGradient soft_dice_with_logits(const HostTensor& logits, const HostTensor& targets, int valid_height,
                                   int valid_width, double smoothing);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_REFERENCE_BACKWARD_H
