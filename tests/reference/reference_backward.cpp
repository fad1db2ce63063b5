// reference_backward.cpp - the obvious loops behind reference_backward.h:
// each gradient is the forward loop of reference_ops.cpp run backwards,
// accumulated in double.
#include "reference_backward.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace m2u::ref {

namespace {

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument(message);
}

void require_shape(const HostTensor& actual, const HostTensor& expected, const char* op,
                   const char* what) {
  require(actual.same_shape(expected), std::string(op) + ": " + what + " is " +
                                           actual.shape_string() + ", expected " +
                                           expected.shape_string());
}

void require_per_channel(const std::vector<float>& values, int channels, const char* op,
                         const char* what) {
  require(static_cast<int>(values.size()) == channels,
          std::string(op) + ": " + what + " has " + std::to_string(values.size()) +
              " values, the tensor " + std::to_string(channels) + " channels");
}

std::vector<float> to_float(const std::vector<double>& values) {
  return std::vector<float>(values.begin(), values.end());
}

}  // namespace

ConvGradients conv2d_backward(const HostTensor& input, const std::vector<float>& weight,
                              int out_channels, int kernel, int stride, int groups,
                              const HostTensor& output_gradient) {
  require(kernel >= 1 && stride >= 1 && groups >= 1 && out_channels >= 1,
          "conv2d_backward: kernel, stride, groups and out_channels must be >= 1");
  require(input.c % groups == 0 && out_channels % groups == 0,
          "conv2d_backward: " + std::to_string(groups) + " groups do not divide " +
              std::to_string(input.c) + " input or " + std::to_string(out_channels) +
              " output channels");
  const int group_in = input.c / groups;
  const int group_out = out_channels / groups;
  const size_t weight_count = static_cast<size_t>(out_channels) * group_in * kernel * kernel;
  require(weight.size() == weight_count, "conv2d_backward: weight has " +
                                             std::to_string(weight.size()) + " values, needs " +
                                             std::to_string(weight_count));
  const int padding = kernel / 2;
  const int out_h = (input.h + 2 * padding - kernel) / stride + 1;
  const int out_w = (input.w + 2 * padding - kernel) / stride + 1;
  require_shape(output_gradient, HostTensor(input.n, out_channels, out_h, out_w),
                "conv2d_backward", "the output gradient");

  std::vector<double> input_gradient(input.size(), 0.0);
  std::vector<double> weight_gradient(weight_count, 0.0);
  std::vector<double> bias_gradient(out_channels, 0.0);
  for (int b = 0; b < input.n; ++b) {
    for (int oc = 0; oc < out_channels; ++oc) {
      const int first_in = (oc / group_out) * group_in;
      for (int oy = 0; oy < out_h; ++oy) {
        for (int ox = 0; ox < out_w; ++ox) {
          const double g = output_gradient.at(b, oc, oy, ox);
          bias_gradient[oc] += g;
          for (int ic = 0; ic < group_in; ++ic) {
            for (int ky = 0; ky < kernel; ++ky) {
              const int iy = oy * stride - padding + ky;
              if (iy < 0 || iy >= input.h) continue;
              for (int kx = 0; kx < kernel; ++kx) {
                const int ix = ox * stride - padding + kx;
                if (ix < 0 || ix >= input.w) continue;
                const size_t w = ((static_cast<size_t>(oc) * group_in + ic) * kernel + ky) * kernel + kx;
                const size_t x = input.index(b, first_in + ic, iy, ix);
                weight_gradient[w] += g * input.data[x];
                input_gradient[x] += g * weight[w];
              }
            }
          }
        }
      }
    }
  }
  ConvGradients gradients;
  gradients.input = HostTensor(input.n, input.c, input.h, input.w);
  gradients.input.data = to_float(input_gradient);
  gradients.weight = to_float(weight_gradient);
  gradients.bias = to_float(bias_gradient);
  return gradients;
}

BatchNormGradients batch_norm_eval_backward(const HostTensor& x, const std::vector<float>& gamma,
                                            const std::vector<float>& mean,
                                            const std::vector<float>& var, double eps,
                                            const HostTensor& output_gradient) {
  require_per_channel(gamma, x.c, "batch_norm_eval_backward", "gamma");
  require_per_channel(mean, x.c, "batch_norm_eval_backward", "mean");
  require_per_channel(var, x.c, "batch_norm_eval_backward", "var");
  require_shape(output_gradient, x, "batch_norm_eval_backward", "the output gradient");
  BatchNormGradients gradients;
  gradients.input = HostTensor(x.n, x.c, x.h, x.w);
  std::vector<double> gamma_gradient(x.c, 0.0), beta_gradient(x.c, 0.0);
  for (int b = 0; b < x.n; ++b) {
    for (int ch = 0; ch < x.c; ++ch) {
      const double inverse_std = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
      for (int yy = 0; yy < x.h; ++yy) {
        for (int xx = 0; xx < x.w; ++xx) {
          const double g = output_gradient.at(b, ch, yy, xx);
          gamma_gradient[ch] += g * (static_cast<double>(x.at(b, ch, yy, xx)) - mean[ch]) * inverse_std;
          beta_gradient[ch] += g;
          gradients.input.at(b, ch, yy, xx) = static_cast<float>(g * gamma[ch] * inverse_std);
        }
      }
    }
  }
  gradients.gamma = to_float(gamma_gradient);
  gradients.beta = to_float(beta_gradient);
  return gradients;
}

HostTensor activation_backward(const HostTensor& output, Activation kind,
                               const HostTensor& output_gradient) {
  require_shape(output_gradient, output, "activation_backward", "the output gradient");
  HostTensor gradient = output_gradient;
  for (size_t i = 0; i < gradient.size(); ++i) {
    const double y = output.data[i];
    const double g = output_gradient.data[i];
    switch (kind) {
      case Activation::kRelu6:
        gradient.data[i] = y > 0.0 && y < 6.0 ? static_cast<float>(g) : 0.0f;
        break;
      case Activation::kRelu:
        gradient.data[i] = y > 0.0 ? static_cast<float>(g) : 0.0f;
        break;
      case Activation::kSigmoid:
        gradient.data[i] = static_cast<float>(g * y * (1.0 - y));
        break;
      case Activation::kLinear:
        break;
    }
  }
  return gradient;
}

HostTensor upsample_bilinear2x_backward(const HostTensor& output_gradient) {
  const HostTensor& g = output_gradient;
  require(g.h >= 2 && g.w >= 2 && g.h % 2 == 0 && g.w % 2 == 0,
          "upsample_bilinear2x_backward: the output gradient " + g.shape_string() +
              " is not twice an image's size");
  const int in_h = g.h / 2, in_w = g.w / 2;
  // The forward's sources of destination `dst` (reference_ops.cpp), scattered back.
  struct Source {
    int lower;
    int upper;
    double upper_weight;
  };
  auto source = [](int dst, int size) {
    double position = (dst + 0.5) / 2.0 - 0.5;
    if (position < 0.0) position = 0.0;
    const int lower = static_cast<int>(std::floor(position));
    const int upper = lower + 1 < size ? lower + 1 : size - 1;
    return Source{lower, upper, position - lower};
  };
  std::vector<double> sums(static_cast<size_t>(g.n) * g.c * in_h * in_w, 0.0);
  auto at = [&](int b, int ch, int y, int x) -> double& {
    return sums[((static_cast<size_t>(b) * g.c + ch) * in_h + y) * in_w + x];
  };
  for (int b = 0; b < g.n; ++b) {
    for (int ch = 0; ch < g.c; ++ch) {
      for (int oy = 0; oy < g.h; ++oy) {
        const Source sy = source(oy, in_h);
        for (int ox = 0; ox < g.w; ++ox) {
          const Source sx = source(ox, in_w);
          const double v = g.at(b, ch, oy, ox);
          at(b, ch, sy.lower, sx.lower) += v * (1.0 - sy.upper_weight) * (1.0 - sx.upper_weight);
          at(b, ch, sy.lower, sx.upper) += v * (1.0 - sy.upper_weight) * sx.upper_weight;
          at(b, ch, sy.upper, sx.lower) += v * sy.upper_weight * (1.0 - sx.upper_weight);
          at(b, ch, sy.upper, sx.upper) += v * sy.upper_weight * sx.upper_weight;
        }
      }
    }
  }
  HostTensor input_gradient(g.n, g.c, in_h, in_w);
  input_gradient.data = to_float(sums);
  return input_gradient;
}

LossGradient bce_with_logits(const HostTensor& logits, const HostTensor& targets, int valid_height,
                             int valid_width) {
  require_shape(targets, logits, "bce_with_logits", "the targets");
  require(valid_height >= 1 && valid_height <= logits.h && valid_width >= 1 && valid_width <= logits.w,
          "bce_with_logits: valid region " + std::to_string(valid_height) + "x" +
              std::to_string(valid_width) + " is not inside " + logits.shape_string());
  const double count = static_cast<double>(logits.n) * logits.c * valid_height * valid_width;
  LossGradient result{0.0, HostTensor(logits.n, logits.c, logits.h, logits.w)};
  for (int b = 0; b < logits.n; ++b) {
    for (int ch = 0; ch < logits.c; ++ch) {
      for (int y = 0; y < valid_height; ++y) {
        for (int x = 0; x < valid_width; ++x) {
          const double z = logits.at(b, ch, y, x);
          const double t = targets.at(b, ch, y, x);
          result.loss += std::fmax(z, 0.0) - z * t + std::log1p(std::exp(-std::fabs(z)));
          const double p = 1.0 / (1.0 + std::exp(-z));
          result.logits.at(b, ch, y, x) = static_cast<float>((p - t) / count);
        }
      }
    }
  }
  result.loss /= count;
  return result;
}

LossGradient soft_dice_with_logits(const HostTensor& logits, const HostTensor& targets, int valid_height,
                                   int valid_width, double smoothing) {
  require_shape(targets, logits, "soft_dice_with_logits", "the targets");
  require(valid_height >= 1 && valid_height <= logits.h && valid_width >= 1 && valid_width <= logits.w,
          "soft_dice_with_logits: valid region " + std::to_string(valid_height) + "x" +
              std::to_string(valid_width) + " is not inside " + logits.shape_string());
  auto sigmoid = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  double intersection = 0.0, total = 0.0;
  for (int b = 0; b < logits.n; ++b)
    for (int ch = 0; ch < logits.c; ++ch)
      for (int y = 0; y < valid_height; ++y)
        for (int x = 0; x < valid_width; ++x) {
          const double p = sigmoid(logits.at(b, ch, y, x)), t = targets.at(b, ch, y, x);
          intersection += p * t;
          total += p + t;
        }
  const double numerator = 2.0 * intersection + smoothing, denominator = total + smoothing;
  LossGradient result{1.0 - numerator / denominator, HostTensor(logits.n, logits.c, logits.h, logits.w)};
  for (int b = 0; b < logits.n; ++b)
    for (int ch = 0; ch < logits.c; ++ch)
      for (int y = 0; y < valid_height; ++y)
        for (int x = 0; x < valid_width; ++x) {
          const double p = sigmoid(logits.at(b, ch, y, x)), t = targets.at(b, ch, y, x);
          const double dp = -(2.0 * t * denominator - numerator) / (denominator * denominator);
          result.logits.at(b, ch, y, x) = static_cast<float>(dp * p * (1.0 - p));
        }
  return result;
}

}  // namespace m2u::ref
