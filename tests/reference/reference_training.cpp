// reference_training.cpp - the decoder forward with every intermediate
// kept, then the chain rule backwards through it (reference_training.h).
#include "reference_training.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "reference_backward.h"
#include "reference_forward.h"
#include "reference_ops.h"

namespace m2u::ref {

namespace {

// One conv of the decoder as the forward ran it.
struct ConvTrace {
  const ConvParameters* parameters;
  HostTensor input;        // the conv's input
  HostTensor convolved;    // conv2d (with the conv's own bias, if any)
  HostTensor activated;    // after batch norm and the activation
};

ConvTrace run_conv(const ConvParameters& p, double eps, const HostTensor& x, bool activate) {
  const ConvSpec& spec = *p.spec;
  ConvTrace trace{&p, x, conv2d(x, p.weight, p.bias, spec.out_channels, spec.kernel, spec.stride, spec.groups), {}};
  HostTensor y = trace.convolved;
  if (p.has_batch_norm) y = batch_norm_eval(y, p.bn_gamma, p.bn_beta, p.bn_mean, p.bn_var, eps);
  trace.activated = activate ? activation(y, spec.activation) : y;
  return trace;
}

// Back through one conv: from dL/d(activated) to dL/d(input), recording the
// conv's tensors' gradients.
HostTensor backward_conv(const ConvTrace& t, double eps, const HostTensor& gradient, bool activated,
                         DecoderGradients* out) {
  const ConvParameters& p = *t.parameters;
  const ConvSpec& spec = *p.spec;
  HostTensor g = activated ? activation_backward(t.activated, spec.activation, gradient) : gradient;
  if (p.has_batch_norm) {
    const BatchNormGradients bn = batch_norm_eval_backward(t.convolved, p.bn_gamma, p.bn_mean, p.bn_var, eps, g);
    out->tensors[spec.bn_name + ".weight"] = bn.gamma;
    out->tensors[spec.bn_name + ".bias"] = bn.beta;
    g = bn.input;
  }
  const ConvGradients conv = conv2d_backward(t.input, p.weight, spec.out_channels, spec.kernel, spec.stride, spec.groups, g);
  out->tensors[spec.name + ".weight"] = conv.weight;
  if (!p.bias.empty()) out->tensors[spec.name + ".bias"] = conv.bias;
  return conv.input;
}

}  // namespace

DecoderGradients decoder_gradients(const Model& model, const HostTensor& input,
                                   const HostTensor& targets, int valid_height, int valid_width) {
  const Architecture& arch = model.architecture;
  const ReferenceOutputs encoder = reference_forward(model, input);
  const std::vector<ConvParameters> convs = gather_conv_parameters(model);
  const double eps = model.bn_epsilon;
  static const char* const kSkips[] = {"conv3", "conv2", "conv1", ""};
  constexpr int kFirstDecoderStage = 4;

  // Forward through the decoder, keeping every conv's input and outputs.
  std::vector<std::vector<ConvTrace>> stages;
  std::vector<int> upsampled_channels;
  HostTensor x = encoder.at("conv4");
  for (int i = 0; i < 4; ++i) {
    const StageSpec& stage = arch.stages[kFirstDecoderStage + i];
    const HostTensor up = upsample_bilinear2x(x);
    upsampled_channels.push_back(up.c);
    x = concat_channels(up, *kSkips[i] ? encoder.at(kSkips[i]) : input);
    std::vector<ConvTrace> traces;
    for (int block : stage.blocks) {
      if (arch.blocks[block].residual) throw std::invalid_argument("decoder_gradients: a decoder block with a residual");
      for (int conv : arch.blocks[block].convs) {
        traces.push_back(run_conv(convs[conv], eps, x, true));
        x = traces.back().activated;
      }
    }
    stages.push_back(std::move(traces));
  }
  const ConvTrace final_conv = run_conv(convs[arch.final_conv], eps, x, false);
  if (!targets.same_shape(final_conv.activated)) {
    throw std::invalid_argument("decoder_gradients: targets " + targets.shape_string() + ", logits " +
                                final_conv.activated.shape_string());
  }

  DecoderGradients out;
  const LossGradient loss = bce_with_logits(final_conv.activated, targets, valid_height, valid_width);
  out.loss = loss.loss;
  HostTensor g = backward_conv(final_conv, eps, loss.logits, false, &out);
  for (int i = 3; i >= 0; --i) {
    for (auto trace = stages[i].rbegin(); trace != stages[i].rend(); ++trace) {
      g = backward_conv(*trace, eps, g, trace->parameters->spec->activation != Activation::kLinear, &out);
    }
    if (i == 0) break;  // decode4's upsampled input comes from the frozen encoder
    // The concat's upsampled part carries the gradient on; the skip needs none.
    HostTensor upsampled(g.n, upsampled_channels[i], g.h, g.w);
    for (int b = 0; b < g.n; ++b)
      for (int c = 0; c < upsampled.c; ++c)
        for (int y = 0; y < g.h; ++y)
          for (int xx = 0; xx < g.w; ++xx) upsampled.at(b, c, y, xx) = g.at(b, c, y, xx);
    g = upsample_bilinear2x_backward(upsampled);
  }
  return out;
}

namespace {

void require_sizes(size_t count, const std::vector<const std::vector<double>*>& vectors, const char* op) {
  for (const std::vector<double>* v : vectors) {
    if (v->size() != count) {
      throw std::invalid_argument(std::string(op) + ": vectors of " + std::to_string(v->size()) + " and " +
                                  std::to_string(count) + " values");
    }
  }
}

}  // namespace

void sgd_step(double learning_rate, double momentum, double weight_decay, std::vector<double>& parameters,
              const std::vector<double>& gradients, std::vector<double>& velocity) {
  require_sizes(parameters.size(), {&gradients, &velocity}, "sgd_step");
  for (size_t i = 0; i < parameters.size(); ++i) {
    const double g = gradients[i] + weight_decay * parameters[i];
    velocity[i] = momentum * velocity[i] + g;
    parameters[i] -= learning_rate * velocity[i];
  }
}

void adam_step(double learning_rate, double beta1, double beta2, double epsilon, double weight_decay, int step,
               std::vector<double>& parameters, const std::vector<double>& gradients, std::vector<double>& mean,
               std::vector<double>& square_mean) {
  require_sizes(parameters.size(), {&gradients, &mean, &square_mean}, "adam_step");
  const double correction1 = 1.0 - std::pow(beta1, step), correction2 = 1.0 - std::pow(beta2, step);
  for (size_t i = 0; i < parameters.size(); ++i) {
    const double g = gradients[i] + weight_decay * parameters[i];
    mean[i] = beta1 * mean[i] + (1.0 - beta1) * g;
    square_mean[i] = beta2 * square_mean[i] + (1.0 - beta2) * g * g;
    parameters[i] -= learning_rate / correction1 * mean[i] / (std::sqrt(square_mean[i]) / std::sqrt(correction2) + epsilon);
  }
}

void rmsprop_step(double learning_rate, double alpha, double epsilon, double momentum, double weight_decay,
                  std::vector<double>& parameters, const std::vector<double>& gradients,
                  std::vector<double>& square_mean, std::vector<double>& velocity) {
  require_sizes(parameters.size(), {&gradients, &square_mean, &velocity}, "rmsprop_step");
  for (size_t i = 0; i < parameters.size(); ++i) {
    const double g = gradients[i] + weight_decay * parameters[i];
    square_mean[i] = alpha * square_mean[i] + (1.0 - alpha) * g * g;
    const double average = std::sqrt(square_mean[i]) + epsilon;
    if (momentum > 0.0) {
      velocity[i] = momentum * velocity[i] + g / average;
      parameters[i] -= learning_rate * velocity[i];
    } else {
      parameters[i] -= learning_rate * g / average;
    }
  }
}

}  // namespace m2u::ref
