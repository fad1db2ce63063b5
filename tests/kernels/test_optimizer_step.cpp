// test_optimizer_step.cpp - optimizer_step (SGD with momentum, Adam,
// RMSprop with and without momentum, each with and without weight decay)
// against the double CPU reference of PyTorch's update rules
// (reference_training.h), 20 steps with fresh gradients each, on a count
// that is not a multiple of the block (guards checked, gradients left
// untouched); SGD with lr 1 and nothing else moves each parameter by
// exactly -gradient; bad arguments refused.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backward_test_support.h"
#include "kernel_test_support.h"
#include "reference_training.h"
#include "training_kernels.h"

namespace {

using kernel_test::random_values;
using m2u_test::DeviceBuffer;

std::vector<double> widened(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

void run_trajectory(const m2u::OptimizerSettings& settings, const std::string& name) {
  constexpr size_t kCount = 1000 + 37;
  constexpr int kSteps = 20;
  const std::vector<float> initial = random_values(kCount, 11, -1.0f, 1.0f);
  std::vector<double> parameters = widened(initial);
  std::vector<double> state0(kCount, 0.0), state1(kCount, 0.0);
  DeviceBuffer<float> device_parameters(kCount);
  device_parameters.upload(initial);
  DeviceBuffer<float> device_state(m2u::optimizer_state_floats(settings.kind, kCount));
  device_state.upload(std::vector<float>(device_state.size(), 0.0f));
  DeviceBuffer<float> device_gradients(kCount);
  for (int step = 1; step <= kSteps; ++step) {
    const std::string context = name + " step " + std::to_string(step);
    const std::vector<float> gradients = random_values(kCount, 100 + step, -0.5f, 0.5f);
    device_gradients.upload(gradients);
    const cudaError_t status = m2u::optimizer_step(settings, step, device_parameters.data(), device_gradients.data(),
                                                   device_state.data(), kCount, nullptr);
    REQUIRE_MESSAGE(status == cudaSuccess, context << ": " << cudaGetErrorName(status));
    const std::vector<double> g = widened(gradients);
    switch (settings.kind) {
      case m2u::Optimizer::kSgd:
        m2u::ref::sgd_step(settings.learning_rate, settings.momentum, settings.weight_decay, parameters, g, state0);
        break;
      case m2u::Optimizer::kAdam:
        m2u::ref::adam_step(settings.learning_rate, settings.beta1, settings.beta2, settings.epsilon,
                            settings.weight_decay, step, parameters, g, state0, state1);
        break;
      case m2u::Optimizer::kRmsprop:
        m2u::ref::rmsprop_step(settings.learning_rate, settings.alpha, settings.epsilon, settings.momentum,
                               settings.weight_decay, parameters, g, state0, state1);
        break;
    }
    backward_test::check_close(device_parameters.download(), parameters, 1e-5, context);
    CHECK_MESSAGE(backward_test::same_bits(device_gradients.download(), gradients), context << ": gradients changed");
  }
  std::string where;
  CHECK_MESSAGE(device_parameters.guards_intact(&where), name << ": " << where);
  CHECK_MESSAGE(device_state.guards_intact(&where), name << ": " << where);
  CHECK_MESSAGE(device_gradients.guards_intact(&where), name << ": " << where);
}

m2u::OptimizerSettings settings_of(m2u::Optimizer kind, float learning_rate, float momentum, float weight_decay) {
  m2u::OptimizerSettings s;
  s.kind = kind;
  s.learning_rate = learning_rate;
  s.momentum = momentum;
  s.weight_decay = weight_decay;
  return s;
}

}  // namespace

TEST_CASE("optimizer_step follows PyTorch's update rules for 20 steps") {
  using m2u::Optimizer;
  run_trajectory(settings_of(Optimizer::kSgd, 0.05f, 0.0f, 0.0f), "SGD");
  run_trajectory(settings_of(Optimizer::kSgd, 0.05f, 0.9f, 1e-2f), "SGD momentum 0.9, weight decay 1e-2");
  run_trajectory(settings_of(Optimizer::kAdam, 1e-2f, 0.0f, 0.0f), "Adam");
  run_trajectory(settings_of(Optimizer::kAdam, 1e-2f, 0.0f, 1e-2f), "Adam weight decay 1e-2");
  run_trajectory(settings_of(Optimizer::kRmsprop, 1e-3f, 0.0f, 0.0f), "RMSprop");
  run_trajectory(settings_of(Optimizer::kRmsprop, 1e-3f, 0.9f, 1e-2f), "RMSprop momentum 0.9, weight decay 1e-2");
}

TEST_CASE("SGD with lr 1, no momentum and no weight decay moves each parameter by exactly -gradient") {
  const size_t count = 300;
  const std::vector<float> initial = random_values(count, 5, -1.0f, 1.0f);
  const std::vector<float> gradients = random_values(count, 6, -1.0f, 1.0f);
  DeviceBuffer<float> parameters(count), grads(count), state(count);
  parameters.upload(initial);
  grads.upload(gradients);
  state.upload(std::vector<float>(count, 0.0f));
  REQUIRE(m2u::optimizer_step(settings_of(m2u::Optimizer::kSgd, 1.0f, 0.0f, 0.0f), 1, parameters.data(),
                              grads.data(), state.data(), count, nullptr) == cudaSuccess);
  std::vector<float> expected(count);
  for (size_t i = 0; i < count; ++i) expected[i] = initial[i] - gradients[i];
  CHECK(backward_test::same_bits(parameters.download(), expected));
}

TEST_CASE("optimizer_step refuses bad arguments") {
  DeviceBuffer<float> buffer(100);
  const m2u::OptimizerSettings adam = settings_of(m2u::Optimizer::kAdam, 1e-3f, 0.0f, 0.0f);
  float* p = buffer.data();
  CHECK(m2u::optimizer_step(adam, 1, p, p + 10, p + 20, 10, nullptr) == cudaSuccess);
  CHECK(m2u::optimizer_step(adam, 0, p, p + 10, p + 20, 10, nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::optimizer_step(adam, 1, p, p + 10, p + 20, 0, nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::optimizer_step(adam, 1, p, p + 5, p + 20, 10, nullptr) == cudaErrorInvalidValue);   // gradients overlap
  CHECK(m2u::optimizer_step(adam, 1, p, p + 30, p + 5, 10, nullptr) == cudaErrorInvalidValue);   // state overlaps
  m2u::OptimizerSettings unknown = adam;
  unknown.kind = static_cast<m2u::Optimizer>(7);
  CHECK(m2u::optimizer_step(unknown, 1, p, p + 10, p + 20, 10, nullptr) == cudaErrorInvalidValue);
  CHECK(m2u::optimizer_state_floats(m2u::Optimizer::kSgd, 10) == 10);
  CHECK(m2u::optimizer_state_floats(m2u::Optimizer::kRmsprop, 10) == 20);
}
