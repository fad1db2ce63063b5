// Tests for reference_backward.h: every gradient against central finite
// differences of the forward op in reference_ops.h, on small odd shapes and
// several seeds, plus the conventions finite differences cannot see (the
// activations' kinks, the loss's padding, no overflow at large logits).
//
// The scalar checked is L = sum(R * op(x)) for a random R, whose gradient
// with respect to op's output is R. The ops other than the activations
// and the loss are linear in what is differentiated, so their differences
// are exact for any step: a step of 1 keeps the forward's float rounding
// small against it. The activations and the loss take values on a grid of
// 1/64 and a step of 1/128, so x + h and x - h are exact in float.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "random_model.h"
#include "reference_backward.h"
#include "reference_ops.h"

namespace {

using m2u::Activation;
using m2u::ref::HostTensor;

double weighted_sum(const HostTensor& y, const HostTensor& r) {
  REQUIRE(y.same_shape(r));
  double sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(y.data[i]) * r.data[i];
  return sum;
}

// Central differences of `loss` with respect to every value of `values`.
std::vector<double> finite_differences(std::vector<float>& values, double step,
                                       const std::function<double()>& loss) {
  std::vector<double> gradient(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const float saved = values[i];
    values[i] = static_cast<float>(saved + step);
    const double up = loss();
    values[i] = static_cast<float>(saved - step);
    const double down = loss();
    values[i] = saved;
    gradient[i] = (up - down) / (2.0 * step);
  }
  return gradient;
}

// ||analytic - numeric|| / ||numeric|| <= tolerance.
void check_gradient(const std::vector<float>& analytic, const std::vector<double>& numeric,
                    double tolerance, const std::string& what) {
  REQUIRE(analytic.size() == numeric.size());
  double difference = 0.0, norm = 0.0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    difference += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
    norm += numeric[i] * numeric[i];
  }
  REQUIRE_MESSAGE(norm > 0.0, what << ": the numeric gradient is zero (the check would be empty)");
  const double error = std::sqrt(difference / norm);
  CHECK_MESSAGE(error <= tolerance, what << ": normalised error " << error << " > " << tolerance);
}

std::vector<float> random_values(size_t count, uint64_t seed, double low, double high) {
  return m2u::ref::random_tensor(1, 1, 1, static_cast<int>(count), seed, low, high).data;
}

// Values k / 64 in [low, high), none equal to any of `avoid`.
HostTensor grid_tensor(int n, int c, int h, int w, uint64_t seed, double low, double high,
                       const std::vector<double>& avoid) {
  HostTensor t = m2u::ref::random_tensor(n, c, h, w, seed, low, high);
  for (float& v : t.data) {
    double k = std::floor(v * 64.0) / 64.0;
    for (double a : avoid) {
      if (k == a) k += 1.0 / 64.0;
    }
    v = static_cast<float>(k);
  }
  return t;
}

constexpr double kLinearStep = 1.0;
constexpr double kGridStep = 1.0 / 128.0;
constexpr double kTolerance = 1e-4;

struct ConvCase {
  const char* name;
  int n, c, h, w, out_channels, kernel, stride, groups;
};

}  // namespace

TEST_CASE("conv2d_backward matches finite differences for 1x1, depthwise and strided convolutions") {
  const ConvCase cases[] = {
      {"1x1 5->3 on 2x7x9", 2, 5, 7, 9, 3, 1, 1, 1},
      {"depthwise 3x3 stride 1, 6 channels on 1x5x7", 1, 6, 5, 7, 6, 3, 1, 6},
      {"depthwise 3x3 stride 2, 3 channels on 2x7x5", 2, 3, 7, 5, 3, 3, 2, 3},
      {"3x3 stride 2 2->4 on 1x5x6", 1, 2, 5, 6, 4, 3, 2, 1},
  };
  for (const ConvCase& c : cases) {
    for (uint64_t seed : {1u, 2u, 3u}) {
      const std::string what = std::string(c.name) + ", seed " + std::to_string(seed);
      HostTensor input = m2u::ref::random_tensor(c.n, c.c, c.h, c.w, seed, -1.0, 1.0);
      std::vector<float> weight = random_values(
          static_cast<size_t>(c.out_channels) * (c.c / c.groups) * c.kernel * c.kernel, seed + 10, -1.0, 1.0);
      std::vector<float> bias = random_values(c.out_channels, seed + 20, -1.0, 1.0);
      const HostTensor output = m2u::ref::conv2d(input, weight, bias, c.out_channels, c.kernel, c.stride, c.groups);
      const HostTensor r = m2u::ref::random_tensor(output.n, output.c, output.h, output.w, seed + 30, -1.0, 1.0);
      auto loss = [&] {
        return weighted_sum(m2u::ref::conv2d(input, weight, bias, c.out_channels, c.kernel, c.stride, c.groups), r);
      };
      const m2u::ref::ConvGradients g =
          m2u::ref::conv2d_backward(input, weight, c.out_channels, c.kernel, c.stride, c.groups, r);
      check_gradient(g.input.data, finite_differences(input.data, kLinearStep, loss), kTolerance, what + " input");
      check_gradient(g.weight, finite_differences(weight, kLinearStep, loss), kTolerance, what + " weight");
      check_gradient(g.bias, finite_differences(bias, kLinearStep, loss), kTolerance, what + " bias");
    }
  }
}

TEST_CASE("batch_norm_eval_backward matches finite differences (frozen running statistics)") {
  for (uint64_t seed : {4u, 5u, 6u}) {
    const std::string what = "2x5x3x7, seed " + std::to_string(seed);
    HostTensor x = m2u::ref::random_tensor(2, 5, 3, 7, seed, -2.0, 2.0);
    std::vector<float> gamma = random_values(5, seed + 1, 0.5, 1.5);
    std::vector<float> beta = random_values(5, seed + 2, -0.5, 0.5);
    const std::vector<float> mean = random_values(5, seed + 3, -0.3, 0.3);
    const std::vector<float> var = random_values(5, seed + 4, 0.2, 2.0);
    const double eps = 1e-5;
    const HostTensor r = m2u::ref::random_tensor(2, 5, 3, 7, seed + 5, -1.0, 1.0);
    auto loss = [&] { return weighted_sum(m2u::ref::batch_norm_eval(x, gamma, beta, mean, var, eps), r); };
    const m2u::ref::BatchNormGradients g = m2u::ref::batch_norm_eval_backward(x, gamma, mean, var, eps, r);
    check_gradient(g.input.data, finite_differences(x.data, kLinearStep, loss), kTolerance, what + " input");
    check_gradient(g.gamma, finite_differences(gamma, kLinearStep, loss), kTolerance, what + " gamma");
    check_gradient(g.beta, finite_differences(beta, kLinearStep, loss), kTolerance, what + " beta");
  }
}

TEST_CASE("activation_backward matches finite differences away from the kinks, and is zero at them") {
  const struct {
    Activation kind;
    const char* name;
  } kinds[] = {{Activation::kRelu6, "relu6"}, {Activation::kRelu, "relu"},
               {Activation::kSigmoid, "sigmoid"}, {Activation::kLinear, "linear"}};
  for (const auto& kind : kinds) {
    for (uint64_t seed : {7u, 8u}) {
      const std::string what = std::string(kind.name) + ", seed " + std::to_string(seed);
      HostTensor x = grid_tensor(1, 3, 5, 7, seed, -2.0, 8.0, {0.0, 6.0});
      const HostTensor r = m2u::ref::random_tensor(1, 3, 5, 7, seed + 1, -1.0, 1.0);
      auto loss = [&] { return weighted_sum(m2u::ref::activation(x, kind.kind), r); };
      const HostTensor g = m2u::ref::activation_backward(m2u::ref::activation(x, kind.kind), kind.kind, r);
      check_gradient(g.data, finite_differences(x.data, kGridStep, loss), kTolerance, what);
    }
  }
  // PyTorch's convention at the kinks: ReLU6 passes nothing at outputs 0 and
  // 6, ReLU nothing at 0.
  HostTensor y(1, 1, 1, 3);
  y.data = {0.0f, 6.0f, 3.0f};
  HostTensor g(1, 1, 1, 3, 1.0f);
  CHECK(m2u::ref::activation_backward(y, Activation::kRelu6, g).data == std::vector<float>{0, 0, 1});
  CHECK(m2u::ref::activation_backward(y, Activation::kRelu, g).data == std::vector<float>{0, 1, 1});
}

TEST_CASE("upsample_bilinear2x_backward matches finite differences, borders included") {
  for (const auto& shape : {std::vector<int>{2, 3, 5, 7}, std::vector<int>{1, 2, 1, 1},
                            std::vector<int>{1, 1, 1, 6}, std::vector<int>{1, 4, 4, 3}}) {
    for (uint64_t seed : {9u, 10u}) {
      const std::string what = std::to_string(shape[0]) + "x" + std::to_string(shape[1]) + "x" +
                               std::to_string(shape[2]) + "x" + std::to_string(shape[3]) +
                               ", seed " + std::to_string(seed);
      HostTensor x = m2u::ref::random_tensor(shape[0], shape[1], shape[2], shape[3], seed, -1.0, 1.0);
      const HostTensor r =
          m2u::ref::random_tensor(shape[0], shape[1], 2 * shape[2], 2 * shape[3], seed + 1, -1.0, 1.0);
      auto loss = [&] { return weighted_sum(m2u::ref::upsample_bilinear2x(x), r); };
      const HostTensor g = m2u::ref::upsample_bilinear2x_backward(r);
      CHECK(g.same_shape(x));
      check_gradient(g.data, finite_differences(x.data, kLinearStep, loss), kTolerance, what);
    }
  }
}

TEST_CASE("bce_with_logits: its gradient matches finite differences over the valid pixels; padding takes no part") {
  for (uint64_t seed : {11u, 12u, 13u}) {
    const std::string what = "2x1x7x9 valid 5x6, seed " + std::to_string(seed);
    HostTensor logits = grid_tensor(2, 1, 7, 9, seed, -4.0, 4.0, {});
    HostTensor targets = m2u::ref::random_tensor(2, 1, 7, 9, seed + 1, 0.0, 1.0);
    for (float& t : targets.data) t = t < 0.5f ? 0.0f : 1.0f;
    auto loss = [&] { return m2u::ref::bce_with_logits(logits, targets, 5, 6).loss; };
    const m2u::ref::LossGradient g = m2u::ref::bce_with_logits(logits, targets, 5, 6);
    check_gradient(g.logits.data, finite_differences(logits.data, kGridStep, loss), kTolerance, what);
    // Outside the valid region: no gradient, and the loss ignores the logits there.
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 9; ++x)
          if (y >= 5 || x >= 6) CHECK(g.logits.at(b, 0, y, x) == 0.0f);
    HostTensor changed = logits;
    changed.at(1, 0, 6, 8) = 1000.0f;
    CHECK(m2u::ref::bce_with_logits(changed, targets, 5, 6).loss == g.loss);
  }
  // Large logits: finite loss and gradient (the naive log(sigmoid) overflows).
  HostTensor z(1, 1, 1, 4);
  z.data = {-200.0f, 200.0f, -200.0f, 200.0f};
  HostTensor t(1, 1, 1, 4);
  t.data = {1.0f, 0.0f, 0.0f, 1.0f};
  const m2u::ref::LossGradient g = m2u::ref::bce_with_logits(z, t, 1, 4);
  CHECK(g.loss == doctest::Approx(100.0));  // (200 + 200 + 0 + 0) / 4
  CHECK(g.logits.data == std::vector<float>{-0.25f, 0.25f, 0.0f, 0.0f});
}

TEST_CASE("soft_dice_with_logits: its gradient matches finite differences over the valid pixels") {
  for (uint64_t seed : {14u, 15u}) {
    const std::string what = "2x1x7x9 valid 5x6, seed " + std::to_string(seed);
    HostTensor logits = grid_tensor(2, 1, 7, 9, seed, -4.0, 4.0, {});
    HostTensor targets = m2u::ref::random_tensor(2, 1, 7, 9, seed + 1, 0.0, 1.0);
    for (float& t : targets.data) t = t < 0.5f ? 0.0f : 1.0f;
    auto loss = [&] { return m2u::ref::soft_dice_with_logits(logits, targets, 5, 6, 1.0).loss; };
    const m2u::ref::LossGradient g = m2u::ref::soft_dice_with_logits(logits, targets, 5, 6, 1.0);
    CHECK(g.loss > 0.0);
    CHECK(g.loss < 1.0);
    check_gradient(g.logits.data, finite_differences(logits.data, kGridStep, loss), kTolerance, what);
    for (int b = 0; b < 2; ++b)
      for (int y = 0; y < 7; ++y)
        for (int x = 0; x < 9; ++x)
          if (y >= 5 || x >= 6) CHECK(g.logits.at(b, 0, y, x) == 0.0f);
  }
  // Perfect confident agreement: loss near 0.
  HostTensor z(1, 1, 1, 4);
  z.data = {30.0f, -30.0f, 30.0f, -30.0f};
  HostTensor t(1, 1, 1, 4);
  t.data = {1.0f, 0.0f, 1.0f, 0.0f};
  CHECK(m2u::ref::soft_dice_with_logits(z, t, 1, 4, 1.0).loss == doctest::Approx(0.0).epsilon(1e-9));
}
