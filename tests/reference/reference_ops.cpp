// reference_ops.cpp - the obvious loops behind reference_ops.h.
#include "reference_ops.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace m2u::ref {

namespace {

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument(message);
}

void require_per_channel(const std::vector<float>& values, int channels, const char* op,
                         const char* what) {
  require(static_cast<int>(values.size()) == channels,
          std::string(op) + ": " + what + " has " + std::to_string(values.size()) +
              " values, the tensor " + std::to_string(channels) + " channels");
}

}  // namespace

HostTensor conv2d(const HostTensor& input, const std::vector<float>& weight,
                  const std::vector<float>& bias, int out_channels, int kernel, int stride,
                  int groups) {
  require(kernel >= 1 && stride >= 1 && groups >= 1 && out_channels >= 1,
          "conv2d: kernel, stride, groups and out_channels must be >= 1");
  require(input.c % groups == 0 && out_channels % groups == 0,
          "conv2d: " + std::to_string(groups) + " groups do not divide " +
              std::to_string(input.c) + " input or " + std::to_string(out_channels) +
              " output channels");
  const int group_in = input.c / groups;
  const int group_out = out_channels / groups;
  const size_t weight_count = static_cast<size_t>(out_channels) * group_in * kernel * kernel;
  require(weight.size() == weight_count,
          "conv2d: weight has " + std::to_string(weight.size()) + " values, [" +
              std::to_string(out_channels) + ", " + std::to_string(group_in) + ", " +
              std::to_string(kernel) + ", " + std::to_string(kernel) + "] needs " +
              std::to_string(weight_count));
  require(bias.empty() || static_cast<int>(bias.size()) == out_channels,
          "conv2d: bias has " + std::to_string(bias.size()) + " values, expected 0 or " +
              std::to_string(out_channels));
  const int padding = kernel / 2;
  require(input.h + 2 * padding >= kernel && input.w + 2 * padding >= kernel,
          "conv2d: input " + input.shape_string() + " is smaller than the kernel");
  const int out_h = (input.h + 2 * padding - kernel) / stride + 1;
  const int out_w = (input.w + 2 * padding - kernel) / stride + 1;

  HostTensor output(input.n, out_channels, out_h, out_w);
  // One output plane at a time, accumulated in double over the group's
  // input channels and the kernel taps; taps outside the input are zero padding.
  std::vector<double> plane(static_cast<size_t>(out_h) * out_w);
  for (int b = 0; b < input.n; ++b) {
    for (int oc = 0; oc < out_channels; ++oc) {
      plane.assign(plane.size(), bias.empty() ? 0.0 : static_cast<double>(bias[oc]));
      const int first_in = (oc / group_out) * group_in;
      for (int ic = 0; ic < group_in; ++ic) {
        for (int ky = 0; ky < kernel; ++ky) {
          for (int kx = 0; kx < kernel; ++kx) {
            const double tap =
                weight[((static_cast<size_t>(oc) * group_in + ic) * kernel + ky) * kernel + kx];
            for (int oy = 0; oy < out_h; ++oy) {
              const int iy = oy * stride - padding + ky;
              if (iy < 0 || iy >= input.h) continue;
              const float* input_row = &input.data[input.index(b, first_in + ic, iy, 0)];
              double* plane_row = &plane[static_cast<size_t>(oy) * out_w];
              for (int ox = 0; ox < out_w; ++ox) {
                const int ix = ox * stride - padding + kx;
                if (ix < 0 || ix >= input.w) continue;
                plane_row[ox] += tap * input_row[ix];
              }
            }
          }
        }
      }
      for (int oy = 0; oy < out_h; ++oy) {
        for (int ox = 0; ox < out_w; ++ox) {
          output.at(b, oc, oy, ox) = static_cast<float>(plane[static_cast<size_t>(oy) * out_w + ox]);
        }
      }
    }
  }
  return output;
}

HostTensor batch_norm_eval(const HostTensor& x, const std::vector<float>& gamma,
                           const std::vector<float>& beta, const std::vector<float>& mean,
                           const std::vector<float>& var, double eps) {
  require_per_channel(gamma, x.c, "batch_norm_eval", "gamma");
  require_per_channel(beta, x.c, "batch_norm_eval", "beta");
  require_per_channel(mean, x.c, "batch_norm_eval", "mean");
  require_per_channel(var, x.c, "batch_norm_eval", "var");
  HostTensor y(x.n, x.c, x.h, x.w);
  for (int b = 0; b < x.n; ++b) {
    for (int ch = 0; ch < x.c; ++ch) {
      const double inverse_std = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
      for (int yy = 0; yy < x.h; ++yy) {
        for (int xx = 0; xx < x.w; ++xx) {
          const double centred = static_cast<double>(x.at(b, ch, yy, xx)) - mean[ch];
          y.at(b, ch, yy, xx) = static_cast<float>(centred * inverse_std * gamma[ch] + beta[ch]);
        }
      }
    }
  }
  return y;
}

HostTensor activation(const HostTensor& x, Activation kind) {
  HostTensor y = x;
  for (float& value : y.data) {
    const double v = value;
    switch (kind) {
      case Activation::kRelu6:
        value = static_cast<float>(v < 0.0 ? 0.0 : (v > 6.0 ? 6.0 : v));
        break;
      case Activation::kRelu:
        value = static_cast<float>(v < 0.0 ? 0.0 : v);
        break;
      case Activation::kSigmoid:
        value = static_cast<float>(1.0 / (1.0 + std::exp(-v)));
        break;
      case Activation::kLinear:
        break;
    }
  }
  return y;
}

HostTensor add(const HostTensor& a, const HostTensor& b) {
  require(a.same_shape(b), "add: shapes " + a.shape_string() + " and " + b.shape_string() + " differ");
  HostTensor sum(a.n, a.c, a.h, a.w);
  for (size_t i = 0; i < sum.size(); ++i) {
    sum.data[i] = static_cast<float>(static_cast<double>(a.data[i]) + b.data[i]);
  }
  return sum;
}

HostTensor upsample_bilinear2x(const HostTensor& x) {
  require(x.h >= 1 && x.w >= 1, "upsample_bilinear2x: empty input " + x.shape_string());
  // Source position of destination index `dst` along an axis of `size`
  // input samples: the lower neighbour, the upper one and the upper's weight.
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
  HostTensor y(x.n, x.c, 2 * x.h, 2 * x.w);
  for (int b = 0; b < x.n; ++b) {
    for (int ch = 0; ch < x.c; ++ch) {
      for (int oy = 0; oy < y.h; ++oy) {
        const Source sy = source(oy, x.h);
        for (int ox = 0; ox < y.w; ++ox) {
          const Source sx = source(ox, x.w);
          const double top = (1.0 - sx.upper_weight) * x.at(b, ch, sy.lower, sx.lower) +
                             sx.upper_weight * x.at(b, ch, sy.lower, sx.upper);
          const double bottom = (1.0 - sx.upper_weight) * x.at(b, ch, sy.upper, sx.lower) +
                                sx.upper_weight * x.at(b, ch, sy.upper, sx.upper);
          y.at(b, ch, oy, ox) = static_cast<float>((1.0 - sy.upper_weight) * top + sy.upper_weight * bottom);
        }
      }
    }
  }
  return y;
}

HostTensor concat_channels(const HostTensor& first, const HostTensor& second) {
  require(first.n == second.n && first.h == second.h && first.w == second.w,
          "concat_channels: shapes " + first.shape_string() + " and " + second.shape_string() +
              " differ outside the channels");
  HostTensor y(first.n, first.c + second.c, first.h, first.w);
  for (int b = 0; b < y.n; ++b) {
    for (int ch = 0; ch < y.c; ++ch) {
      for (int yy = 0; yy < y.h; ++yy) {
        for (int xx = 0; xx < y.w; ++xx) {
          y.at(b, ch, yy, xx) = ch < first.c ? first.at(b, ch, yy, xx)
                                             : second.at(b, ch - first.c, yy, xx);
        }
      }
    }
  }
  return y;
}

}  // namespace m2u::ref
