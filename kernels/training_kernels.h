// training_kernels.h - launchers of the kernels that only decoder
// fine-tuning uses and that belong to no forward op: the targets from the
// caller's masks (mask_targets.cu), the loss
// (bce_with_logits.cu, soft_dice_with_logits.cu), the activations' backward
// (activation_backward.cu),
// the deterministic reduction of per-block partial sums (block_partials.cu),
// batch-norm folding of the trained weights and its backward
// (batch_norm_fold.cu) and the optimisers (optimizer_step.cu). The convolutions' and the upsampling's backward
// kernels sit beside their forward ones (conv_kernels.h,
// upsample_kernels.h). FP32 storage and arithmetic; all pointers are device
// pointers; each launcher checks its arguments (cudaErrorInvalidValue when
// they do not fit) and returns the launch's status.
#ifndef M2U_KERNELS_TRAINING_KERNELS_H
#define M2U_KERNELS_TRAINING_KERNELS_H

#include <cuda_runtime_api.h>

#include <cstddef>

#include "activation.h"
#include "tensor_view.h"

namespace m2u {

// out[i] = partials[0][i] + partials[1][i] + ... + partials[blocks - 1][i]
// (rows of `count` floats), added in row order: the same inputs give
// bit-identical sums, whatever the schedule. `out` must not overlap
// `partials`.
cudaError_t sum_block_partials(const float* partials, int blocks, int count, float* out,
                               cudaStream_t stream);

// Masks as the trainer's caller gives them (m2urt.h's m2u_trainer_step):
// batch x channels planes of height x width at `data` (device memory), U8
// (0 background, anything else foreground) or F32 targets, byte strides.
struct MaskPlanes {
  const void* data;
  bool is_float;
  int batch, channels, height, width;
  size_t row_stride, plane_stride, image_stride;
};

// The loss's targets (mask_targets.cu): targets[n][y][x][c] = 1 / 0 for a
// U8 mask's non-zero / zero, the value for an F32 one, inside the masks'
// height x width and c < channels; 0 in the rest of the (padded) frame and
// in the padding channels. An F32 value outside [0, 1] (NaN included)
// becomes 0 and is counted in invalid[n] (added to: zero it first). The
// targets view has the masks' batch and channels and at least their size.
cudaError_t mask_targets(const MaskPlanes& masks, TensorView<float> targets, unsigned long long* invalid,
                         cudaStream_t stream);

// Binary cross-entropy from logits z against targets t in [0, 1] (views of
// one shape), averaged over the top-left valid_height x valid_width pixels
// of every image and channel (the rest of the frame is the engine's zero
// padding and takes no part): with count = batch * channels * valid_height
// * valid_width,
//   gradient[p][c] = (sigmoid(z) - t) / count inside, 0 outside and in the
//                    padding channels,
//   loss_partials[b] = the sum of (max(z, 0) - z t + log(1 + exp(-|z|))) / count
//                      over the elements of launch block b,
// bce_loss_blocks(logits) partials; sum_block_partials(loss_partials,
// bce_loss_blocks(logits), 1, loss) gives the loss. `gradient` may alias
// `logits`.
int bce_loss_blocks(const TensorView<const float>& logits);
cudaError_t bce_with_logits(TensorView<const float> logits, TensorView<const float> targets,
                            int valid_height, int valid_width, TensorView<float> gradient,
                            float* loss_partials, cudaStream_t stream);

// Soft Dice loss from logits, over the same elements as bce_with_logits and
// the whole batch at once: with p = sigmoid(z), I = sum p t and U = sum p +
// sum t, loss = 1 - (2 I + smoothing) / (U + smoothing). Two passes:
// soft_dice_sums writes per-block partials (I, sum p, sum t) into
// `partials` (bce_loss_blocks(logits) rows of 3; reduce them with
// sum_block_partials(partials, blocks, 3, sums)); soft_dice_gradient then
// ADDS dL/dz = -((2 t (U + s) - (2 I + s)) / (U + s)^2) p (1 - p) to
// `gradient` inside the valid region (typically holding bce_with_logits'
// gradient: the "bce+dice" loss) and leaves the rest of it as it is.
// soft_dice_loss gives the loss from the three sums (host).
cudaError_t soft_dice_sums(TensorView<const float> logits, TensorView<const float> targets, int valid_height,
                           int valid_width, float* partials, cudaStream_t stream);
cudaError_t soft_dice_gradient(TensorView<const float> logits, TensorView<const float> targets, int valid_height,
                               int valid_width, const float* sums, float smoothing, TensorView<float> gradient,
                               cudaStream_t stream);
inline double soft_dice_loss(const float (&sums)[3], double smoothing) {
  return 1.0 - (2.0 * sums[0] + smoothing) / (static_cast<double>(sums[1]) + sums[2] + smoothing);
}

// dL/d(pre-activation) from the activation's output y and dL/dy, per
// element: ReLU6 passes it where 0 < y < 6, ReLU where y > 0 (zero at the
// kinks, as PyTorch), sigmoid times y (1 - y), linear as is; 0 in the
// padding channels. Views of one shape; `input_gradient` may alias
// `output_gradient`.
cudaError_t activation_backward(TensorView<const float> output, TensorView<const float> output_gradient,
                                KernelActivation activation, TensorView<float> input_gradient,
                                cudaStream_t stream);

// ---- Batch norm with frozen statistics, folded into the conv (training
// refolds after every step; the engine folds once on the host,
// packed_weights.cpp). A conv's FP32 weights hold `row` values per output
// channel (PyTorch's [out][in / groups][k][k] flattened: in for a 1x1, 9
// taps for a depthwise 3x3); the kernels' layout holds `columns` per output
// channel, source value j going to column column_of[j] (a device array;
// the decoder's concat buffers leave gaps between their slices, which
// stay 0), value (o, column) at o * output_stride + column * column_stride
// (a 1x1's rows: columns and 1; a depthwise's tap-major layout, conv_kernels.h:
// 1 and depthwise_weight_row(out)). With s = gamma / sqrt(var + eps):
//   folded_weight(o, column_of[j]) = weight[o][j] * s[o], other columns 0,
//   folded_bias[o] = beta[o] - mean[o] * s[o].
// Without batch norm (gamma == nullptr: the final conv, a BN_FOLDED model)
// s = 1 and folded_bias = `beta` (the conv's own bias); mean and var unused.
struct FoldShape {
  int out_channels;
  int row;            // source values per output channel
  int columns;        // kernel-layout values per output channel (>= row)
  int output_stride;  // floats from one output channel's values to the next
  int column_stride;  // floats from one column to the next
};
cudaError_t fold_batch_norm(const float* weight, const float* gamma, const float* beta, const float* mean,
                            const float* var, float epsilon, const int* column_of, FoldShape shape,
                            float* folded_weight, float* folded_bias, cudaStream_t stream);

// The chain rule back through fold_batch_norm: from the gradient rows of
// the folded weights and bias ([o][columns + 1], the bias last: the
// weight-gradient kernels' layout after sum_block_partials) to
//   weight_gradient[o][j] = G[o][column_of[j]] * s[o],
//   gamma_gradient[o] = (sum_j G[o][column_of[j]] weight[o][j] - mean[o] G[o][columns]) / sqrt(var[o] + eps),
//   beta_gradient[o] = G[o][columns]
// (without batch norm: s = 1, gamma_gradient unused, beta_gradient the
// conv bias's gradient).
cudaError_t fold_batch_norm_backward(const float* weight, const float* gamma, const float* mean, const float* var,
                                     float epsilon, const int* column_of, FoldShape shape,
                                     const float* folded_gradient, float* weight_gradient, float* gamma_gradient,
                                     float* beta_gradient, cudaStream_t stream);

// The weights that turn the forward kernels into input-gradient kernels
// (conv_kernels.h): transposed[i][o] = folded[o][i] for the first `inputs`
// columns of a 1x1 conv's folded weights ([out][columns]), rows of
// `transposed_columns` (>= out, the rest 0) - pointwise_conv's weight for
// dL/d(input) from dL/d(output); and the taps reversed for a depthwise
// conv's tap-major weights ([9][depthwise_weight_row(channels)]:
// flipped[t][c] = folded[8 - t][c]) - depthwise_conv's at stride 1.
cudaError_t transpose_pointwise_weights(const float* folded, int out_channels, int columns, int inputs,
                                        int transposed_columns, float* transposed, cudaStream_t stream);
cudaError_t flip_depthwise_weights(const float* folded, int channels, float* flipped, cudaStream_t stream);

// ---- Optimisers: PyTorch's torch.optim update rules (1.13, single
// tensor), element by element, in place on FP32 parameters. weight_decay
// is PyTorch's (L2: the gradient gains weight_decay * parameter first).
//   SGD:     v = momentum v + g; p -= lr v             (v = g at step 1, as
//            PyTorch's buffer: the state starts at zero)
//   Adam:    m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2;
//            p -= (lr / (1 - b1^t)) m / (sqrt(s) / sqrt(1 - b2^t) + eps)
//   RMSprop: s = alpha s + (1 - alpha) g^2; a = sqrt(s) + eps;
//            momentum 0: p -= lr g / a; else v = momentum v + g / a, p -= lr v
enum class Optimizer : int { kSgd = 0, kAdam = 1, kRmsprop = 2 };

struct OptimizerSettings {
  Optimizer kind = Optimizer::kSgd;
  float learning_rate = 0.01f;
  float momentum = 0.0f;      // SGD, RMSprop
  float weight_decay = 0.0f;  // all
  float beta1 = 0.9f;         // Adam
  float beta2 = 0.999f;       // Adam
  float alpha = 0.99f;        // RMSprop
  float epsilon = 1e-8f;      // Adam, RMSprop
};

// Floats of optimiser state for `count` parameters: SGD `count` (the
// momentum buffer), Adam and RMSprop 2 `count` (Adam: m then s; RMSprop: s
// then the momentum buffer). All zero before the first step.
size_t optimizer_state_floats(Optimizer kind, size_t count);

// Step number `step` (1, 2, ...; Adam's bias correction) on `count`
// parameters: `parameters` and `state` in place, `gradients` read. The
// gradients must not overlap the parameters or the state.
cudaError_t optimizer_step(const OptimizerSettings& settings, int step, float* parameters,
                           const float* gradients, float* state, size_t count, cudaStream_t stream);

}  // namespace m2u

#endif  // M2U_KERNELS_TRAINING_KERNELS_H
