// reference_training.h - decoder-only fine-tuning on the CPU: the loss and
// the gradient of every trainable tensor of M2U-Net's decoder (and the
// optimisers' update rules), composed
// from reference_ops.h (forward) and reference_backward.h (backward) in
// double-accumulating loops. The oracle of the training engine; itself
// checked against PyTorch autograd (tests/fixtures/*_grad.m2uf, made by
// converter/make_gradient_fixtures.py).
#ifndef M2U_TESTS_REFERENCE_REFERENCE_TRAINING_H
#define M2U_TESTS_REFERENCE_REFERENCE_TRAINING_H

#include <map>
#include <string>
#include <vector>

#include "host_tensor.h"
#include "model.h"

namespace m2u::ref {

struct DecoderGradients {
  double loss = 0.0;
  // By tensor name, in the tensor's own layout: for each decoder conv its
  // ".weight" and its batch norm's ".weight" (gamma) and ".bias" (beta), or
  // its own ".bias" in a BN_FOLDED model; the final conv's ".weight" and
  // ".bias". The encoder is frozen: none of its tensors appear.
  std::map<std::string, std::vector<float>> tensors;
};

// The mean binary cross-entropy of the logits (the final conv's output,
// before the output activation) against `targets` (N x Cout x H x W,
// values in [0, 1]) over the top-left valid_height x valid_width pixels,
// and its gradients, with batch norm in eval form (frozen running
// statistics). `input` as for reference_forward. Throws
// std::invalid_argument on shapes that do not fit.
DecoderGradients decoder_gradients(const Model& model, const HostTensor& input,
                                   const HostTensor& targets, int valid_height, int valid_width);

// PyTorch's torch.optim update rules (1.13, single tensor, maximize off,
// no Nesterov, no dampening, RMSprop not centred), in double, in place.
// weight_decay adds weight_decay * p to the gradient first. `step` counts
// from 1 (Adam's bias corrections). State vectors start at zero.
void sgd_step(double learning_rate, double momentum, double weight_decay, std::vector<double>& parameters,
              const std::vector<double>& gradients, std::vector<double>& velocity);
void adam_step(double learning_rate, double beta1, double beta2, double epsilon, double weight_decay, int step,
               std::vector<double>& parameters, const std::vector<double>& gradients, std::vector<double>& mean,
               std::vector<double>& square_mean);
void rmsprop_step(double learning_rate, double alpha, double epsilon, double momentum, double weight_decay,
                  std::vector<double>& parameters, const std::vector<double>& gradients,
                  std::vector<double>& square_mean, std::vector<double>& velocity);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_REFERENCE_TRAINING_H
