// trainer.h - decoder-only fine-tuning on the device (issue F6): an FP32
// engine runs the frozen encoder and the decoder forward, keeping the
// decoder's activations in its arena (EngineOptions::
// keep_decoder_activations); the trainer adds the final 1x1 conv as
// logits, the loss, the backward pass of the decoder with the kernels of
// kernels/training_kernels.h and conv_kernels.h, the optimiser step on FP32
// master weights, and refolds batch norm into the engine's weights in place
// for the next step. Internal C++ class behind the C API's m2u_trainer.
//
// Memory: everything is allocated at creation. The trainable tensors'
// master weights, their gradients and the optimiser state are one device
// allocation (parameters | gradients | state); the frozen decoder tensors
// and the batch norms' running statistics sit after the trainable ones in
// the parameters (folding reads them, the optimiser does not touch them).
// A step allocates nothing on the host or the device.
//
// Batch norm is in eval form throughout: gamma and beta are trained, the
// running statistics stay as they are. The loss is averaged over each
// image's own pixels (the engine's padding of the frame to a multiple of 16
// takes no part).
#ifndef M2U_RUNTIME_TRAIN_TRAINER_H
#define M2U_RUNTIME_TRAIN_TRAINER_H

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "m2urt.h"
#include "model.h"
#include "work_model.h"
#include "training_kernels.h"

namespace m2u {

// Which convolutions train (each with its batch norm, or its own bias):
//   kDecoder         every conv of decode4..decode1 and the final 1x1 conv
//   kDecoderLast     the last decoder stage (decode1's block) and the final conv
//   kDecoderProject  the four decoder blocks' project convs only
enum class TrainSchedule : int { kDecoder = 0, kDecoderLast = 1, kDecoderProject = 2 };
// kBce: binary cross-entropy from logits; kBceDice: plus soft Dice.
enum class TrainLoss : int { kBce = 0, kBceDice = 1 };

struct TrainerOptions {
  int max_batch = 1;
  int max_height = 256;
  int max_width = 256;
  int device = 0;
  TrainSchedule schedule = TrainSchedule::kDecoder;
  TrainLoss loss = TrainLoss::kBce;
  float dice_smoothing = 1.0f;
  OptimizerSettings optimizer;
};

// Foreground = probability >= 0.5 against mask foreground (U8 non-zero, F32
// >= 0.5), over every image, channel and pixel of the batch.
struct EvaluationResult {
  double iou = 1.0;  // intersection / union; 1 when both are empty
  long long intersection = 0;
  long long union_pixels = 0;
};

struct TrainStepResult {
  double loss = 0.0;     // the batch's loss before the update
  bool skipped = false;  // the loss or a gradient was not finite: no update
};

// The work of one training step, counted from the same plan and decoder
// list the step runs (trainer_work_model.cpp): one row per kind of kernel
// (its launches summed), FP32 throughout (work_model.h).
using TrainingWork = WorkModel;

class Trainer {
 public:
  // The trainer, or nullptr with *status and *error saying why.
  static std::unique_ptr<Trainer> create(const Model& model, const TrainerOptions& options,
                                         m2u_status* status, std::string* error);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // One step on `images` (as Engine::run takes them) against `masks`:
  // batch x out_channels planes of the images' height x width, in host,
  // pinned or device memory, U8 (0 background, anything else foreground)
  // or F32 targets in [0, 1] (others: M2U_ERROR_INPUT, nothing updated). Forward, loss, backward, then (when the loss and
  // every gradient are finite) the optimiser's update and the refold.
  // Waits for the device (the loss is read back).
  m2u_status step(const m2u_image& images, const m2u_image& masks, TrainStepResult* result);

  // The network with the current weights on `images` (the engine's full
  // forward, FP32), thresholded at probability 0.5 (logit 0 for a linear
  // output) and compared with `masks` (as step takes them). Waits for the
  // device.
  m2u_status evaluate(const m2u_image& images, const m2u_image& masks, EvaluationResult* result);

  // The model as trained so far, written to `path` atomically
  // (atomic_file.h; trained_writer.h: trained tensors as F32, batch norm
  // raw, the INT8 scales dropped). The provenance gains the source file's
  // SHA-256, the schedule, optimiser, loss, the update and skip counts,
  // then `provenance_lines` (the caller's "key: value" lines).
  m2u_status save(const std::string& path, const std::string& provenance_lines);

  // The trainable tensors' current values, or the gradients of the last
  // step that got as far as its backward pass (a skipped batch's too), by
  // tensor name in the tensor's own layout (copies; allocates).
  m2u_status read_tensors(bool gradients, std::map<std::string, std::vector<float>>* tensors);
  // Every decoder tensor (trained or frozen, running statistics included).
  m2u_status read_all_parameters(std::map<std::string, std::vector<float>>* tensors);

  // One step's work on a batch x height x width frame, images of `pixel_bytes`
  // bytes per value (1 for U8) and `image_channels` channels.
  TrainingWork work_model(int batch, int height, int width, int pixel_bytes, int image_channels) const;

  int updates() const { return updates_; }             // steps that updated the weights
  int skipped_steps() const { return skipped_; }       // steps skipped for non-finite values
  int skipped_in_a_row() const { return skipped_in_a_row_; }
  size_t trainable_count() const { return trainable_floats_; }
  size_t device_bytes() const { return device_bytes_; }  // allocated at creation, all of it
  Engine& engine() { return *engine_; }
  const Engine& engine() const { return *engine_; }
  const std::string& last_error() const { return last_error_; }

 private:
  // One convolution of the decoder (or the final conv) as the trainer sees it.
  struct Conv {
    int conv = -1;  // Architecture::convs index
    std::string name, bn_name;
    bool depthwise = false;
    bool final_conv = false;
    bool trainable = false;
    bool batch_norm = false;
    KernelActivation activation = KernelActivation::kLinear;
    FoldShape shape{0, 0, 0, 0, 0};
    int gradient_inputs = 0;  // input channels that carry a gradient on (the upsampled slice of a concat)
    PlannedView input, output;  // output.buffer < 0: the trainer's logits
    size_t weight = 0, gamma = 0, beta = 0, mean = 0, var = 0;  // offsets into the parameters
    size_t column_of = 0;  // offset into the device int array
  };
  // The decoder forward as a list: convs and upsamplings (whose backward
  // carries the gradient to the previous stage).
  struct Entry {
    bool upsample = false;
    int conv = -1;  // into convs_
    PlannedView input, output;  // upsample
  };

  Trainer() = default;
  m2u_status fail(m2u_status status, const std::string& message);
  // The start of step / evaluate / save: refuses a broken trainer, waits
  // for the stream, drops a report left by a failed call.
  m2u_status begin_call();
  m2u_status cuda_failure(const char* what, cudaError_t error);
  m2u_status check_masks(const m2u_image& images, const m2u_image& masks);
  static MaskPlanes mask_planes(const m2u_image& masks);  // strides filled in
  // The masks (any memory kind) as the targets view, the invalid-target
  // counts queued back to the host; on the stream.
  cudaError_t upload_targets(const m2u_image& masks, int padded_height, int padded_width);
  // After the stream: M2U_ERROR_INPUT naming the images with F32 targets
  // outside [0, 1].
  m2u_status report_invalid_targets(int batch);
  cudaError_t fold(const Conv& conv);
  cudaError_t forward_loss(int batch, int height, int width, int padded_height, int padded_width);
  cudaError_t backward(int batch, int padded_height, int padded_width);
  cudaError_t backward_conv(const Conv& conv, TensorView<float> gradient, bool input_gradient,
                            TensorView<float>* input_gradient_view, int batch, int padded_height,
                            int padded_width);
  TensorView<float> scratch_view(float* data, const TensorView<float>& shape, int channels) const;
  void describe_tensors(std::vector<std::pair<std::string, std::pair<size_t, size_t>>>* tensors,
                        bool trainable_only) const;

  std::unique_ptr<Engine> engine_;
  Model model_;
  TrainerOptions options_;
  std::vector<Conv> convs_;
  std::vector<Entry> entries_;  // forward order
  int first_trainable_entry_ = 0;
  cudaStream_t stream_ = nullptr;
  size_t trainable_floats_ = 0, parameter_floats_ = 0, state_floats_ = 0;
  size_t device_bytes_ = 0;
  // Device memory, allocated at creation.
  float* parameters_ = nullptr;  // parameters | gradients | optimiser state (one allocation)
  float* gradients_ = nullptr;
  float* state_ = nullptr;
  float* scratch_ = nullptr;  // one allocation for the pieces below
  float* gradient_a_ = nullptr;
  float* gradient_b_ = nullptr;
  size_t gradient_floats_ = 0;
  float* logits_ = nullptr;
  float* targets_ = nullptr;
  size_t frame_floats_ = 0;  // logits / targets
  float* partials_ = nullptr;
  size_t partial_floats_ = 0;
  float* folded_gradient_ = nullptr;
  float* transposed_ = nullptr;
  float* zero_bias_ = nullptr;
  float* sums_ = nullptr;  // [0] loss, [1..3] Dice sums
  int* columns_ = nullptr;
  unsigned char* mask_staging_ = nullptr;  // host masks, packed, on the device
  unsigned long long* invalid_targets_ = nullptr;  // per image
  // Pinned host memory: the targets read back (evaluate), the invalid
  // counts, the loss, sums and gradients read back.
  float* targets_host_ = nullptr;
  unsigned long long* invalid_targets_host_ = nullptr;
  float* readback_host_ = nullptr;
  float* probabilities_host_ = nullptr;  // evaluate's output, planar
  int updates_ = 0, skipped_ = 0, skipped_in_a_row_ = 0;
  std::string broken_;  // why the trainer cannot go on ("" while it can)
  std::string last_error_;
};

}  // namespace m2u

#endif  // M2U_RUNTIME_TRAIN_TRAINER_H
