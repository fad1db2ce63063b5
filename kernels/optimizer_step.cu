// optimizer_step.cu - SGD with momentum, Adam and RMSprop as PyTorch 1.13
// computes them, one thread per parameter (training_kernels.h). The step's
// scalars (Adam's bias corrections) are computed once on the host in
// double. Per parameter at most ~12 FLOPs and 16-24 bytes of DRAM traffic
// (parameter, gradient and one or two state values).
#include <cmath>

#include "launch.h"
#include "launcher_support.h"
#include "training_kernels.h"

namespace m2u {
namespace {

constexpr int kThreads = 256;

struct StepScalars {
  float learning_rate, momentum, weight_decay, beta1, beta2, alpha, epsilon;
  float step_size;          // Adam: lr / (1 - beta1^t)
  float correction2_sqrt;   // Adam: sqrt(1 - beta2^t)
};

__global__ void kernel_sgd(StepScalars s, float* parameters, const float* gradients, float* velocity, size_t count) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const float g = gradients[i] + s.weight_decay * parameters[i];
  const float v = s.momentum * velocity[i] + g;
  velocity[i] = v;
  parameters[i] -= s.learning_rate * v;
}

__global__ void kernel_adam(StepScalars s, float* parameters, const float* gradients, float* state, size_t count) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const float g = gradients[i] + s.weight_decay * parameters[i];
  const float m = s.beta1 * state[i] + (1.0f - s.beta1) * g;
  const float v = s.beta2 * state[count + i] + (1.0f - s.beta2) * g * g;
  state[i] = m;
  state[count + i] = v;
  parameters[i] -= s.step_size * m / (sqrtf(v) / s.correction2_sqrt + s.epsilon);
}

__global__ void kernel_rmsprop(StepScalars s, float* parameters, const float* gradients, float* state, size_t count) {
  const size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const float g = gradients[i] + s.weight_decay * parameters[i];
  const float square = s.alpha * state[i] + (1.0f - s.alpha) * g * g;
  state[i] = square;
  const float average = sqrtf(square) + s.epsilon;
  if (s.momentum > 0.0f) {
    const float v = s.momentum * state[count + i] + g / average;
    state[count + i] = v;
    parameters[i] -= s.learning_rate * v;
  } else {
    parameters[i] -= s.learning_rate * g / average;
  }
}

bool overlaps(const float* a, size_t a_count, const float* b, size_t b_count) {
  return a < b + b_count && b < a + a_count;
}

}  // namespace

size_t optimizer_state_floats(Optimizer kind, size_t count) {
  return kind == Optimizer::kSgd ? count : 2 * count;
}

cudaError_t optimizer_step(const OptimizerSettings& settings, int step, float* parameters,
                           const float* gradients, float* state, size_t count, cudaStream_t stream) {
  const bool known = settings.kind == Optimizer::kSgd || settings.kind == Optimizer::kAdam ||
                     settings.kind == Optimizer::kRmsprop;
  if (!known || step < 1 || parameters == nullptr || gradients == nullptr || state == nullptr || count == 0 ||
      overlaps(gradients, count, parameters, count) ||
      overlaps(gradients, count, state, optimizer_state_floats(settings.kind, count)) ||
      overlaps(parameters, count, state, optimizer_state_floats(settings.kind, count))) {
    return cudaErrorInvalidValue;
  }
  const size_t blocks = (count + kThreads - 1) / kThreads;
  if (blocks > 0x7fffffffu) return cudaErrorInvalidValue;
  StepScalars s{settings.learning_rate, settings.momentum, settings.weight_decay, settings.beta1,
                settings.beta2,         settings.alpha,    settings.epsilon,      0.0f, 1.0f};
  const dim3 grid(static_cast<unsigned>(blocks)), block(kThreads);
  switch (settings.kind) {
    case Optimizer::kSgd:
      return launch("optimizer_sgd", kernel_sgd, grid, block, 0, stream, s, parameters, gradients, state, count);
    case Optimizer::kAdam:
      s.step_size = static_cast<float>(settings.learning_rate / (1.0 - std::pow(static_cast<double>(settings.beta1), step)));
      s.correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(settings.beta2), step)));
      return launch("optimizer_adam", kernel_adam, grid, block, 0, stream, s, parameters, gradients, state, count);
    case Optimizer::kRmsprop:
      return launch("optimizer_rmsprop", kernel_rmsprop, grid, block, 0, stream, s, parameters, gradients, state,
                    count);
  }
  return cudaErrorInvalidValue;
}

}  // namespace m2u
