// test_batch_norm_fold.cpp - fold_batch_norm and its backward against the
// double CPU formulas (the engine's host folding, packed_weights.cpp) and
// against finite differences of the fold kernel itself (the folded
// weights and bias are linear in weight, gamma and beta: step 1), for a
// decoder expand conv reading a concat buffer (columns with gaps), a
// depthwise conv and the final conv without batch norm; plus the
// transposed and flipped weights of the input-gradient passes. Outputs
// poisoned, guards checked.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backward_test_support.h"
#include "conv_kernels.h"
#include "kernel_test_support.h"
#include "training_kernels.h"

namespace {

using kernel_test::random_values;
using m2u_test::DeviceBuffer;

constexpr float kEpsilon = 1e-5f;

struct FoldCase {
  const char* name;
  int out_channels;
  std::vector<int> column_of;  // per source value
  int columns;
  bool batch_norm;
  bool tap_major;  // a depthwise conv's layout: (o, column) at column * depthwise_weight_row(out) + o
};

template <typename T>
std::unique_ptr<DeviceBuffer<T>> device_copy(const std::vector<T>& values) {
  auto buffer = std::make_unique<DeviceBuffer<T>>(values.size());
  buffer->upload(values);
  return buffer;
}

void run_fold_case(const FoldCase& c, uint32_t seed) {
  const int row = static_cast<int>(c.column_of.size());
  const int channel_row = m2u::depthwise_weight_row(c.out_channels);
  const m2u::FoldShape shape = c.tap_major ? m2u::FoldShape{c.out_channels, row, c.columns, 1, channel_row}
                                           : m2u::FoldShape{c.out_channels, row, c.columns, c.columns, 1};
  const size_t kernel_floats = c.tap_major ? static_cast<size_t>(c.columns) * channel_row
                                           : static_cast<size_t>(c.out_channels) * c.columns;
  auto kernel_index = [&](int o, int col) {
    return c.tap_major ? static_cast<size_t>(col) * channel_row + o : static_cast<size_t>(o) * c.columns + col;
  };
  std::vector<float> weight = random_values(static_cast<size_t>(c.out_channels) * row, seed);
  std::vector<float> gamma = random_values(c.out_channels, seed + 1, 0.5f, 1.5f);
  std::vector<float> beta = random_values(c.out_channels, seed + 2);
  const std::vector<float> mean = random_values(c.out_channels, seed + 3, -0.3f, 0.3f);
  const std::vector<float> var = random_values(c.out_channels, seed + 4, 0.2f, 2.0f);
  const auto column_of = device_copy(c.column_of);
  const auto device_mean = device_copy(mean), device_var = device_copy(var);

  // Runs the fold on the device; returns folded weights ([o][columns],
  // from the kernel layout) then biases. The padding channels of the
  // tap-major layout are the engine's zeros: the fold must not touch them.
  auto fold = [&](const std::vector<float>& w, const std::vector<float>& g, const std::vector<float>& b) {
    const auto dw = device_copy(w), dg = device_copy(g), db = device_copy(b);
    DeviceBuffer<float> folded(kernel_floats), bias(c.out_channels);
    folded.upload(std::vector<float>(kernel_floats, -7.0f));
    REQUIRE(m2u::fold_batch_norm(dw->data(), c.batch_norm ? dg->data() : nullptr, db->data(), device_mean->data(),
                                 device_var->data(), kEpsilon, column_of->data(), shape, folded.data(), bias.data(),
                                 nullptr) == cudaSuccess);
    std::string where;
    CHECK_MESSAGE(folded.guards_intact(&where), c.name << ": " << where);
    CHECK_MESSAGE(bias.guards_intact(&where), c.name << ": " << where);
    const std::vector<float> kernel_layout = folded.download();
    std::vector<float> out(static_cast<size_t>(c.out_channels) * c.columns);
    for (int o = 0; o < c.out_channels; ++o)
      for (int col = 0; col < c.columns; ++col) out[static_cast<size_t>(o) * c.columns + col] = kernel_layout[kernel_index(o, col)];
    for (int o = c.out_channels; c.tap_major && o < channel_row; ++o)
      for (int col = 0; col < c.columns; ++col) CHECK(kernel_layout[kernel_index(o, col)] == -7.0f);
    const std::vector<float> biases = bias.download();
    out.insert(out.end(), biases.begin(), biases.end());
    return out;
  };

  // The fold in double.
  std::vector<double> expected(static_cast<size_t>(c.out_channels) * (c.columns + 1), 0.0);
  std::vector<double> scale(c.out_channels, 1.0);
  for (int o = 0; o < c.out_channels; ++o) {
    if (c.batch_norm) scale[o] = gamma[o] / std::sqrt(static_cast<double>(var[o]) + kEpsilon);
    for (int j = 0; j < row; ++j) expected[o * c.columns + c.column_of[j]] = weight[o * row + j] * scale[o];
    expected[c.out_channels * c.columns + o] = c.batch_norm ? beta[o] - mean[o] * scale[o] : beta[o];
  }
  const std::vector<float> folded = fold(weight, gamma, beta);
  backward_test::check_close(folded, expected, 1e-6, std::string(c.name) + " fold");
  for (int o = 0; o < c.out_channels; ++o)
    for (int col = 0; col < c.columns; ++col) {
      bool used = false;
      for (int j : c.column_of) used = used || j == col;
      if (!used) CHECK_MESSAGE(folded[o * c.columns + col] == 0.0f, c.name << ": gap column " << col << " not 0");
    }

  // Backward: G rows [o][columns + 1] as the weight-gradient kernels give them.
  const std::vector<float> rows = random_values(static_cast<size_t>(c.out_channels) * (c.columns + 1), seed + 5);
  const auto device_rows = device_copy(rows), device_weight = device_copy(weight), device_gamma = device_copy(gamma);
  DeviceBuffer<float> weight_gradient(weight.size()), gamma_gradient(c.out_channels), beta_gradient(c.out_channels);
  REQUIRE(m2u::fold_batch_norm_backward(device_weight->data(), c.batch_norm ? device_gamma->data() : nullptr,
                                        device_mean->data(), device_var->data(), kEpsilon, column_of->data(), shape,
                                        device_rows->data(), weight_gradient.data(), gamma_gradient.data(),
                                        beta_gradient.data(), nullptr) == cudaSuccess);
  const std::vector<float> dw = weight_gradient.download(), dgamma = gamma_gradient.download(),
                           dbeta = beta_gradient.download();
  std::string where;
  CHECK_MESSAGE(weight_gradient.guards_intact(&where), c.name << ": " << where);
  CHECK_MESSAGE(gamma_gradient.guards_intact(&where), c.name << ": " << where);
  std::vector<double> expected_dw(weight.size()), expected_dbeta(c.out_channels), expected_dgamma(c.out_channels);
  for (int o = 0; o < c.out_channels; ++o) {
    double scale_gradient = 0.0;
    const double bias_gradient = rows[o * (c.columns + 1) + c.columns];
    for (int j = 0; j < row; ++j) {
      const double g = rows[o * (c.columns + 1) + c.column_of[j]];
      expected_dw[o * row + j] = g * scale[o];
      scale_gradient += g * weight[o * row + j];
    }
    expected_dbeta[o] = bias_gradient;
    expected_dgamma[o] = (scale_gradient - mean[o] * bias_gradient) / std::sqrt(static_cast<double>(var[o]) + kEpsilon);
  }
  backward_test::check_close(dw, expected_dw, 1e-6, std::string(c.name) + " weight gradient");
  backward_test::check_close(dbeta, expected_dbeta, 1e-6, std::string(c.name) + " beta gradient");
  if (c.batch_norm) backward_test::check_close(dgamma, expected_dgamma, 1e-6, std::string(c.name) + " gamma gradient");

  // Finite differences of the fold kernel: L = sum G . (folded weights, bias).
  auto loss = [&] {
    const std::vector<float> f = fold(weight, gamma, beta);
    double sum = 0.0;
    for (int o = 0; o < c.out_channels; ++o) {
      for (int col = 0; col < c.columns; ++col) sum += static_cast<double>(rows[o * (c.columns + 1) + col]) * f[o * c.columns + col];
      sum += static_cast<double>(rows[o * (c.columns + 1) + c.columns]) * f[c.out_channels * c.columns + o];
    }
    return sum;
  };
  const int last = c.out_channels - 1;
  CHECK(dw[last * row + row - 1] ==
        doctest::Approx(backward_test::central_difference(weight[last * row + row - 1], 1.0, loss)).epsilon(1e-4));
  CHECK(dbeta[0] == doctest::Approx(backward_test::central_difference(beta[0], 1.0, loss)).epsilon(1e-4));
  if (c.batch_norm) {
    CHECK(dgamma[last] == doctest::Approx(backward_test::central_difference(gamma[last], 1.0, loss)).epsilon(1e-4));
  }
}

}  // namespace

TEST_CASE("fold_batch_norm and its backward: expand over a concat buffer, depthwise, final conv") {
  // decode1's expand with Cin 3: up(decode2) 30 channels at columns 0..29,
  // the input image's 3 at 32..34 (the slices padded to 4 floats).
  std::vector<int> concat_columns;
  for (int j = 0; j < 30; ++j) concat_columns.push_back(j);
  for (int j = 0; j < 3; ++j) concat_columns.push_back(32 + j);
  run_fold_case({"expand 33 -> 5 over 30 + 3 (columns 36)", 5, concat_columns, 36, true, false}, 10);
  run_fold_case({"depthwise 13 x 9 taps", 13, {0, 1, 2, 3, 4, 5, 6, 7, 8}, 9, true, true}, 20);
  std::vector<int> identity16;
  for (int j = 0; j < 16; ++j) identity16.push_back(j);
  run_fold_case({"final conv 16 -> 1, own bias", 1, identity16, 16, false, false}, 30);
}

TEST_CASE("transposed and flipped weights of the input-gradient passes") {
  const int out = 5, columns = 36, inputs = 30, transposed_columns = 8;
  const std::vector<float> folded = random_values(static_cast<size_t>(out) * columns, 40);
  const auto device_folded = device_copy(folded);
  DeviceBuffer<float> transposed(static_cast<size_t>(inputs) * transposed_columns);
  REQUIRE(m2u::transpose_pointwise_weights(device_folded->data(), out, columns, inputs, transposed_columns,
                                           transposed.data(), nullptr) == cudaSuccess);
  const std::vector<float> t = transposed.download();
  for (int i = 0; i < inputs; ++i)
    for (int o = 0; o < transposed_columns; ++o)
      CHECK(t[i * transposed_columns + o] == (o < out ? folded[o * columns + i] : 0.0f));
  CHECK(m2u::transpose_pointwise_weights(device_folded->data(), out, columns, columns + 1, transposed_columns,
                                         transposed.data(), nullptr) == cudaErrorInvalidValue);

  // Tap-major [9][16] for 13 channels (the padding channels flipped too).
  const int channel_row = m2u::depthwise_weight_row(13);
  const std::vector<float> taps = random_values(static_cast<size_t>(9) * channel_row, 41);
  const auto device_taps = device_copy(taps);
  DeviceBuffer<float> flipped(taps.size());
  REQUIRE(m2u::flip_depthwise_weights(device_taps->data(), 13, flipped.data(), nullptr) == cudaSuccess);
  const std::vector<float> f = flipped.download();
  for (int c = 0; c < channel_row; ++c)
    for (int tap = 0; tap < 9; ++tap) CHECK(f[tap * channel_row + c] == taps[(8 - tap) * channel_row + c]);
  std::string where;
  CHECK(transposed.guards_intact(&where));
  CHECK(flipped.guards_intact(&where));
}
