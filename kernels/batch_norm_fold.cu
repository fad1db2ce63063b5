// batch_norm_fold.cu - frozen batch norm folded into the trained conv
// weights and the chain rule back through the fold, plus the transposed
// and flipped weights of the input-gradient passes (training_kernels.h).
// Tiny kernels (one thread per output channel or per weight), run once per
// training step per conv: per conv at most 4 (out x row) FLOPs and the
// weights read and written once.
#include <cstdint>

#include "conv_kernels.h"
#include "launch.h"
#include "launcher_support.h"
#include "training_kernels.h"

namespace m2u {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ float fold_scale(const float* gamma, const float* var, float epsilon, int o) {
  return gamma == nullptr ? 1.0f : gamma[o] * rsqrtf(var[o] + epsilon);
}

// One thread per output channel: its row of the folded weights (zeros
// first, then the scaled sources) and its bias.
__global__ void kernel_fold_batch_norm(const float* weight, const float* gamma, const float* beta,
                                       const float* mean, const float* var, float epsilon, const int* column_of,
                                       FoldShape shape, float* folded_weight, float* folded_bias) {
  const int o = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (o >= shape.out_channels) return;
  const float s = fold_scale(gamma, var, epsilon, o);
  float* row = folded_weight + static_cast<size_t>(o) * shape.output_stride;
  for (int c = 0; c < shape.columns; ++c) row[static_cast<size_t>(c) * shape.column_stride] = 0.0f;
  for (int j = 0; j < shape.row; ++j) {
    row[static_cast<size_t>(column_of[j]) * shape.column_stride] = weight[static_cast<size_t>(o) * shape.row + j] * s;
  }
  folded_bias[o] = gamma == nullptr ? beta[o] : beta[o] - mean[o] * s;
}

__global__ void kernel_fold_batch_norm_backward(const float* weight, const float* gamma, const float* mean,
                                                const float* var, float epsilon, const int* column_of,
                                                FoldShape shape, const float* folded_gradient,
                                                float* weight_gradient, float* gamma_gradient,
                                                float* beta_gradient) {
  const int o = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (o >= shape.out_channels) return;
  const float s = fold_scale(gamma, var, epsilon, o);
  const float* g = folded_gradient + static_cast<size_t>(o) * (shape.columns + 1);
  float scale_gradient = 0.0f;
  for (int j = 0; j < shape.row; ++j) {
    const size_t w = static_cast<size_t>(o) * shape.row + j;
    weight_gradient[w] = g[column_of[j]] * s;
    scale_gradient += g[column_of[j]] * weight[w];
  }
  beta_gradient[o] = g[shape.columns];
  if (gamma != nullptr) {
    gamma_gradient[o] = (scale_gradient - mean[o] * g[shape.columns]) * rsqrtf(var[o] + epsilon);
  }
}

__global__ void kernel_transpose_pointwise(const float* folded, int out_channels, int columns, int inputs,
                                           int transposed_columns, float* transposed) {
  const int index = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (index >= inputs * transposed_columns) return;
  const int i = index / transposed_columns, o = index % transposed_columns;
  transposed[index] = o < out_channels ? folded[static_cast<size_t>(o) * columns + i] : 0.0f;
}

__global__ void kernel_flip_depthwise(const float* folded, int row, float* flipped) {
  const int index = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (index >= row * 9) return;
  const int t = index / row, c = index % row;
  flipped[index] = folded[(8 - t) * row + c];
}

unsigned blocks_for(long long threads) { return static_cast<unsigned>((threads + kThreads - 1) / kThreads); }

bool valid_fold_shape(const FoldShape& shape, const float* weight, const int* column_of, const float* gamma,
                      const float* mean, const float* var) {
  return weight != nullptr && column_of != nullptr && shape.out_channels >= 1 && shape.row >= 1 &&
         shape.columns >= shape.row && shape.output_stride >= 1 && shape.column_stride >= 1 &&
         (gamma == nullptr || (mean != nullptr && var != nullptr));
}

}  // namespace

cudaError_t fold_batch_norm(const float* weight, const float* gamma, const float* beta, const float* mean,
                            const float* var, float epsilon, const int* column_of, FoldShape shape,
                            float* folded_weight, float* folded_bias, cudaStream_t stream) {
  if (!valid_fold_shape(shape, weight, column_of, gamma, mean, var) || beta == nullptr ||
      folded_weight == nullptr || folded_bias == nullptr || !(epsilon >= 0.0f)) {
    return cudaErrorInvalidValue;
  }
  return launch("fold_batch_norm", kernel_fold_batch_norm, dim3(blocks_for(shape.out_channels)), dim3(kThreads), 0,
                stream, weight, gamma, beta, mean, var, epsilon, column_of, shape, folded_weight, folded_bias);
}

cudaError_t fold_batch_norm_backward(const float* weight, const float* gamma, const float* mean, const float* var,
                                     float epsilon, const int* column_of, FoldShape shape,
                                     const float* folded_gradient, float* weight_gradient, float* gamma_gradient,
                                     float* beta_gradient, cudaStream_t stream) {
  if (!valid_fold_shape(shape, weight, column_of, gamma, mean, var) || folded_gradient == nullptr ||
      weight_gradient == nullptr || beta_gradient == nullptr || (gamma != nullptr && gamma_gradient == nullptr) ||
      !(epsilon >= 0.0f)) {
    return cudaErrorInvalidValue;
  }
  return launch("fold_batch_norm_backward", kernel_fold_batch_norm_backward, dim3(blocks_for(shape.out_channels)),
                dim3(kThreads), 0, stream, weight, gamma, mean, var, epsilon, column_of, shape, folded_gradient,
                weight_gradient, gamma_gradient, beta_gradient);
}

cudaError_t transpose_pointwise_weights(const float* folded, int out_channels, int columns, int inputs,
                                        int transposed_columns, float* transposed, cudaStream_t stream) {
  if (folded == nullptr || transposed == nullptr || out_channels < 1 || inputs < 1 || inputs > columns ||
      transposed_columns < out_channels) {
    return cudaErrorInvalidValue;
  }
  return launch("transpose_pointwise_weights", kernel_transpose_pointwise,
                dim3(blocks_for(static_cast<long long>(inputs) * transposed_columns)), dim3(kThreads), 0, stream,
                folded, out_channels, columns, inputs, transposed_columns, transposed);
}

cudaError_t flip_depthwise_weights(const float* folded, int channels, float* flipped, cudaStream_t stream) {
  if (folded == nullptr || flipped == nullptr || channels < 1) return cudaErrorInvalidValue;
  const int row = depthwise_weight_row(channels);
  return launch("flip_depthwise_weights", kernel_flip_depthwise, dim3(blocks_for(row * 9LL)), dim3(kThreads), 0,
                stream, folded, row, flipped);
}

}  // namespace m2u
