// trainer.cpp - creation (the decoder's convs from the plan, the parameter
// layout, every allocation) and the training step (see trainer.h).
#include "trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "atomic_file.h"
#include "caller_values.h"
#include "conv_kernels.h"
#include "kernel_activation.h"
#include "sha256.h"
#include "trained_writer.h"
#include "upsample_kernels.h"

namespace m2u {
namespace {

TensorView<const float> as_const(const TensorView<float>& v) {
  return TensorView<const float>{v.data, v.batch, v.height, v.width, v.channels, v.pixel_stride, v.scale};
}

bool trains(TrainSchedule schedule, const std::string& stage, int position_in_block, bool final_conv) {
  switch (schedule) {
    case TrainSchedule::kDecoder: return true;
    case TrainSchedule::kDecoderLast: return final_conv || stage == "decode1";
    case TrainSchedule::kDecoderProject: return !final_conv && position_in_block == 2;
  }
  return false;
}

}  // namespace

std::unique_ptr<Trainer> Trainer::create(const Model& model, const TrainerOptions& options, m2u_status* status,
                                         std::string* error) {
  auto refuse = [&](m2u_status code, const std::string& message) {
    *status = code;
    *error = message;
    return std::unique_ptr<Trainer>();
  };
  const int schedule = enum_value(options.schedule), loss = enum_value(options.loss);
  const int optimizer = enum_value(options.optimizer.kind);
  if (schedule < 0 || schedule > 2) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "trainer options: schedule " + std::to_string(schedule) +
                                                  " is not one of decoder (0), decoder-last (1), decoder-project (2)");
  }
  if (loss < 0 || loss > 1) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT,
                  "trainer options: loss " + std::to_string(loss) + " is not one of bce (0), bce+dice (1)");
  }
  if (optimizer < 0 || optimizer > 2) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "trainer options: optimizer " + std::to_string(optimizer) +
                                                  " is not one of sgd (0), adam (1), rmsprop (2)");
  }
  const OptimizerSettings& o = options.optimizer;
  const bool finite = std::isfinite(o.learning_rate) && std::isfinite(o.momentum) && std::isfinite(o.weight_decay) &&
                      std::isfinite(o.beta1) && std::isfinite(o.beta2) && std::isfinite(o.alpha) &&
                      std::isfinite(o.epsilon) && std::isfinite(options.dice_smoothing);
  if (!finite || o.learning_rate < 0.0f || o.momentum < 0.0f || o.weight_decay < 0.0f || o.beta1 < 0.0f ||
      o.beta1 >= 1.0f || o.beta2 < 0.0f || o.beta2 >= 1.0f || o.alpha < 0.0f || o.alpha >= 1.0f ||
      o.epsilon < 0.0f || options.dice_smoothing < 0.0f) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT,
                  "trainer options: learning rate " + std::to_string(o.learning_rate) + ", momentum " +
                      std::to_string(o.momentum) + ", weight decay " + std::to_string(o.weight_decay) +
                      ", betas " + std::to_string(o.beta1) + " / " + std::to_string(o.beta2) + ", alpha " +
                      std::to_string(o.alpha) + ", epsilon " + std::to_string(o.epsilon) +
                      ", Dice smoothing " + std::to_string(options.dice_smoothing) +
                      ": all must be finite and >= 0, the betas and alpha below 1");
  }

  EngineOptions engine_options;
  engine_options.max_batch = options.max_batch;
  engine_options.max_height = options.max_height;
  engine_options.max_width = options.max_width;
  engine_options.device = options.device;
  engine_options.precision = M2U_PRECISION_FP32;
  engine_options.keep_decoder_activations = true;
  std::unique_ptr<Trainer> trainer(new Trainer());
  Trainer& t = *trainer;
  t.engine_ = Engine::create(model, engine_options, status, error);
  if (!t.engine_) return nullptr;
  t.model_ = model;
  t.model_.index_tensors();
  if (t.model_.source.empty()) {
    return refuse(M2U_ERROR_INVALID_ARGUMENT, "the model has no file bytes to save a trained copy from");
  }
  t.options_ = options;
  t.stream_ = t.engine_->stream();
  const Architecture& arch = model.architecture;
  const ExecutionPlan& plan = t.engine_->plan();

  // The decoder's steps, in forward order.
  std::vector<ConvParameters> params = gather_conv_parameters(model);
  std::vector<int> columns;  // the device int array: every conv's column_of
  size_t first_decoder = 0;
  while (plan.steps[first_decoder].kind != StepKind::kUpsample) ++first_decoder;
  std::string stage;
  int position = 0;
  int upsampled_channels = 0;
  for (size_t i = first_decoder; i < plan.steps.size(); ++i) {
    const PlannedStep& step = plan.steps[i];
    if (step.kind == StepKind::kUpsample) {
      Entry e;
      e.upsample = true;
      e.input = step.input;
      e.output = step.output;
      t.entries_.push_back(e);
      stage = step.label.substr(0, step.label.find(' '));
      position = 0;
      upsampled_channels = step.output.channels;
      continue;
    }
    const ConvSpec& spec = arch.convs[step.conv];
    const ConvParameters& p = params[step.conv];
    Conv c;
    c.conv = step.conv;
    c.name = spec.name;
    c.bn_name = spec.bn_name;
    c.depthwise = step.kind == StepKind::kDepthwise;
    c.final_conv = step.kind == StepKind::kOutput;
    c.batch_norm = p.has_batch_norm;
    c.activation = c.final_conv ? KernelActivation::kLinear : kernel_activation(spec.activation);
    c.trainable = trains(options.schedule, stage, position, c.final_conv);
    c.input = step.input;
    c.output = step.output;
    if (position == 0 && !c.final_conv && step.kind != StepKind::kPointwise) {
      return refuse(M2U_ERROR_BAD_MODEL, "decoder block of '" + spec.name +
                                             "' has no expand conv; fine-tuning needs one after each concat");
    }
    if (c.depthwise && spec.stride != 1) {
      return refuse(M2U_ERROR_BAD_MODEL, "decoder conv '" + spec.name + "' has stride " +
                                             std::to_string(spec.stride) + "; fine-tuning takes stride-1 decoder convs");
    }
    if (c.depthwise) {
      // Tap-major (conv_kernels.h): output channel o, tap t at o + t * row.
      c.shape = FoldShape{spec.out_channels, 9, 9, 1, depthwise_weight_row(spec.out_channels)};
      c.gradient_inputs = spec.in_channels;
      for (int j = 0; j < 9; ++j) columns.push_back(j);
    } else {
      const ConvInputLayout& layout = plan.conv_inputs[step.conv];
      c.shape = FoldShape{spec.out_channels, spec.in_channels, layout.row_length, layout.row_length, 1};
      c.gradient_inputs = position == 0 && !c.final_conv ? upsampled_channels : spec.in_channels;
      c.column_of = columns.size();
      columns.insert(columns.end(), layout.input_columns.begin(), layout.input_columns.end());
    }
    if (c.depthwise) c.column_of = columns.size() - 9;
    Entry e;
    e.conv = static_cast<int>(t.convs_.size());
    t.entries_.push_back(e);
    t.convs_.push_back(c);
    ++position;
  }
  t.first_trainable_entry_ = static_cast<int>(t.entries_.size());
  for (size_t i = 0; i < t.entries_.size(); ++i) {
    if (!t.entries_[i].upsample && t.convs_[t.entries_[i].conv].trainable) {
      t.first_trainable_entry_ = static_cast<int>(i);
      break;
    }
  }

  // Parameter layout: trainable tensors first (the optimiser's range), then
  // the frozen ones, then the running statistics.
  size_t offset = 0;
  auto place = [&](size_t count) {
    const size_t at = offset;
    offset += count;
    return at;
  };
  for (int pass = 0; pass < 3; ++pass) {
    for (Conv& c : t.convs_) {
      const size_t out = static_cast<size_t>(c.shape.out_channels);
      if (pass == 2) {
        if (c.batch_norm) {
          c.mean = place(out);
          c.var = place(out);
        }
        continue;
      }
      if (c.trainable != (pass == 0)) continue;
      c.weight = place(out * c.shape.row);
      if (c.batch_norm) c.gamma = place(out);
      c.beta = place(out);
    }
    if (pass == 0) t.trainable_floats_ = offset;
  }
  t.parameter_floats_ = offset;
  t.state_floats_ = optimizer_state_floats(options.optimizer.kind, t.trainable_floats_);
  std::vector<float> host(t.parameter_floats_, 0.0f);
  for (const Conv& c : t.convs_) {
    const ConvParameters& p = params[c.conv];
    std::copy(p.weight.begin(), p.weight.end(), host.begin() + c.weight);
    if (c.batch_norm) {
      std::copy(p.bn_gamma.begin(), p.bn_gamma.end(), host.begin() + c.gamma);
      std::copy(p.bn_beta.begin(), p.bn_beta.end(), host.begin() + c.beta);
      std::copy(p.bn_mean.begin(), p.bn_mean.end(), host.begin() + c.mean);
      std::copy(p.bn_var.begin(), p.bn_var.end(), host.begin() + c.var);
    } else {
      std::copy(p.bias.begin(), p.bias.end(), host.begin() + c.beta);
    }
  }

  // Scratch sizes at the largest frame.
  const int batch = plan.max_batch, ph = plan.max_height, pw = plan.max_width;
  size_t gradient_floats = 0, partial_floats = 0, folded_floats = 0, transposed_floats = 0;
  int widest = 0;
  for (const Conv& c : t.convs_) {
    const TensorView<float> in = t.engine_->float_view(c.input, batch, ph, pw);
    const size_t pixels = in.pixel_count();
    gradient_floats = std::max(gradient_floats, pixels * padded_channels<float>(in.channels));
    gradient_floats = std::max(gradient_floats, pixels * padded_channels<float>(c.shape.out_channels));
    const size_t rows = c.depthwise ? 10 : static_cast<size_t>(padded_channels<float>(in.channels)) + 1;
    partial_floats = std::max(partial_floats, static_cast<size_t>(weight_gradient_blocks(pixels)) *
                                                  c.shape.out_channels * rows);
    folded_floats = std::max(folded_floats, c.shape.out_channels * rows);
    transposed_floats = std::max(transposed_floats, c.depthwise ? static_cast<size_t>(9) * depthwise_weight_row(c.shape.out_channels)
                                                                : static_cast<size_t>(c.gradient_inputs) *
                                                                      padded_channels<float>(c.shape.out_channels));
    widest = std::max(widest, padded_channels<float>(std::max(in.channels, c.shape.out_channels)));
  }
  const int out_channels = arch.out_channels;
  const size_t frame_floats = static_cast<size_t>(batch) * ph * pw * padded_channels<float>(out_channels);
  const TensorView<const float> largest_logits{nullptr, batch, ph, pw, out_channels,
                                               padded_channels<float>(out_channels)};
  const int loss_blocks = bce_loss_blocks(largest_logits);
  if (loss_blocks < 1) return refuse(M2U_ERROR_INVALID_ARGUMENT, "trainer options: the frame is too large for the loss kernels");
  partial_floats = std::max(partial_floats, static_cast<size_t>(loss_blocks) * 3);
  t.gradient_floats_ = gradient_floats;
  t.frame_floats_ = frame_floats;
  t.partial_floats_ = partial_floats;
  // The nine pieces carved below, each from a 16-byte boundary (the
  // kernels read weights as float4): up to 3 floats of rounding each.
  const size_t scratch_floats = 2 * gradient_floats + 2 * frame_floats + partial_floats + folded_floats +
                                transposed_floats + widest + 4 + 9 * 3;

  auto cuda = [&](cudaError_t result, const std::string& what) {
    if (result == cudaSuccess) return true;
    cudaGetLastError();
    *status = result == cudaErrorMemoryAllocation ? M2U_ERROR_OUT_OF_MEMORY : M2U_ERROR_CUDA;
    *error = what + ": " + cudaGetErrorString(result);
    return false;
  };
  const size_t training_floats = t.parameter_floats_ + t.trainable_floats_ + t.state_floats_;
  const size_t mask_staging_bytes =
      static_cast<size_t>(batch) * out_channels * ph * pw * sizeof(float);  // the padded maxima: see the engine
  if (!cuda(cudaMalloc(reinterpret_cast<void**>(&t.parameters_), training_floats * sizeof(float)),
            "allocating " + std::to_string(training_floats * sizeof(float)) +
                " bytes of master weights, gradients and optimiser state") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&t.scratch_), scratch_floats * sizeof(float)),
            "allocating " + std::to_string(scratch_floats * sizeof(float)) + " bytes of training scratch") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&t.columns_), std::max<size_t>(columns.size(), 1) * sizeof(int)),
            "allocating the column maps") ||
      !cuda(cudaMallocHost(reinterpret_cast<void**>(&t.targets_host_), frame_floats * sizeof(float)),
            "allocating pinned memory for the targets") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&t.mask_staging_), mask_staging_bytes),
            "allocating " + std::to_string(mask_staging_bytes) + " bytes of mask staging") ||
      !cuda(cudaMalloc(reinterpret_cast<void**>(&t.invalid_targets_), batch * sizeof(unsigned long long)),
            "allocating the invalid-target counters") ||
      !cuda(cudaMallocHost(reinterpret_cast<void**>(&t.invalid_targets_host_), batch * sizeof(unsigned long long)),
            "allocating pinned memory for the invalid-target counters") ||
      !cuda(cudaMallocHost(reinterpret_cast<void**>(&t.readback_host_), (4 + t.trainable_floats_) * sizeof(float)),
            "allocating pinned memory for the loss and gradients") ||
      !cuda(cudaMallocHost(reinterpret_cast<void**>(&t.probabilities_host_),
                           static_cast<size_t>(batch) * ph * pw * out_channels *
                               sizeof(float)),
            "allocating pinned memory for the evaluation's probabilities")) {
    return nullptr;
  }
  t.device_bytes_ = (training_floats + scratch_floats) * sizeof(float) + columns.size() * sizeof(int) +
                    mask_staging_bytes + batch * sizeof(unsigned long long);
  t.gradients_ = t.parameters_ + t.parameter_floats_;
  t.state_ = t.gradients_ + t.trainable_floats_;
  float* next = t.scratch_;
  auto carve = [&](size_t count) {
    float* at = next;
    next += (count + 3) / 4 * 4;
    return at;
  };
  t.gradient_a_ = carve(gradient_floats);
  t.gradient_b_ = carve(gradient_floats);
  t.logits_ = carve(frame_floats);
  t.targets_ = carve(frame_floats);
  t.partials_ = carve(partial_floats);
  t.folded_gradient_ = carve(folded_floats);
  t.transposed_ = carve(transposed_floats);
  t.zero_bias_ = carve(widest);
  t.sums_ = carve(4);
  if (!cuda(cudaMemcpy(t.parameters_, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice),
            "uploading the master weights") ||
      !cuda(cudaMemset(t.gradients_, 0, (t.trainable_floats_ + t.state_floats_) * sizeof(float)),
            "zeroing the optimiser state") ||
      !cuda(cudaMemset(t.scratch_, 0, scratch_floats * sizeof(float)), "zeroing the training scratch") ||
      (!columns.empty() && !cuda(cudaMemcpy(t.columns_, columns.data(), columns.size() * sizeof(int),
                                            cudaMemcpyHostToDevice),
                                 "uploading the column maps"))) {
    return nullptr;
  }
  // Every decoder conv folded on the device from the master weights, so
  // that the first step runs what later steps will.
  for (const Conv& c : t.convs_) {
    if (!cuda(t.fold(c), "folding " + c.name)) return nullptr;
  }
  if (!cuda(cudaStreamSynchronize(t.stream_), "folding the decoder")) return nullptr;
  *status = M2U_OK;
  return trainer;
}

Trainer::~Trainer() {
  if (stream_) cudaStreamSynchronize(stream_);
  cudaFree(parameters_);
  cudaFree(scratch_);
  cudaFree(columns_);
  cudaFreeHost(targets_host_);
  cudaFree(mask_staging_);
  cudaFree(invalid_targets_);
  cudaFreeHost(invalid_targets_host_);
  cudaFreeHost(readback_host_);
  cudaFreeHost(probabilities_host_);
}

m2u_status Trainer::fail(m2u_status status, const std::string& message) {
  last_error_ = message;
  return status;
}

m2u_status Trainer::cuda_failure(const char* what, cudaError_t error) {
  cudaGetLastError();
  return fail(M2U_ERROR_CUDA, std::string(what) + ": " + cudaGetErrorName(error) + " (" +
                                  cudaGetErrorString(error) + ")");
}

cudaError_t Trainer::fold(const Conv& c) {
  const float* gamma = c.batch_norm ? parameters_ + c.gamma : nullptr;
  const float* mean = c.batch_norm ? parameters_ + c.mean : nullptr;
  const float* var = c.batch_norm ? parameters_ + c.var : nullptr;
  return fold_batch_norm(parameters_ + c.weight, gamma, parameters_ + c.beta, mean, var, model_.bn_epsilon,
                         columns_ + c.column_of, c.shape, engine_->folded_weight(c.conv),
                         engine_->folded_bias(c.conv), stream_);
}

m2u_status Trainer::check_masks(const m2u_image& images, const m2u_image& masks) {
  if (!masks.data) return fail(M2U_ERROR_INVALID_ARGUMENT, "masks: data is NULL");
  const int memory = enum_value(masks.memory), dtype = enum_value(masks.dtype);
  if (memory != M2U_MEMORY_HOST && memory != M2U_MEMORY_PINNED && memory != M2U_MEMORY_DEVICE) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "masks: unknown memory kind " + std::to_string(memory));
  }
  if (dtype != M2U_DTYPE_U8 && dtype != M2U_DTYPE_F32) {
    return fail(M2U_ERROR_INVALID_ARGUMENT,
                "masks: U8 (0 background, else foreground) or F32 targets in [0, 1] (dtype " +
                    std::to_string(dtype) + ")");
  }
  const int out_channels = model_.architecture.out_channels;
  if (masks.batch != images.batch || masks.height != images.height || masks.width != images.width ||
      masks.channels != out_channels) {
    return fail(M2U_ERROR_SHAPE, "masks are " + std::to_string(masks.batch) + " x " +
                                     std::to_string(masks.channels) + " x " + std::to_string(masks.height) +
                                     " x " + std::to_string(masks.width) + "; the images need " +
                                     std::to_string(images.batch) + " x " + std::to_string(out_channels) +
                                     " x " + std::to_string(images.height) + " x " + std::to_string(images.width));
  }
  const MaskPlanes planes = mask_planes(masks);
  const size_t row_bytes = masks.width * dtype_bytes(masks.dtype);
  if (planes.row_stride < row_bytes || planes.plane_stride < planes.row_stride * (masks.height - 1) + row_bytes ||
      planes.image_stride <
          planes.plane_stride * (masks.channels - 1) + planes.row_stride * (masks.height - 1) + row_bytes) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "masks: strides are smaller than their rows, planes or images");
  }
  if (masks.dtype == M2U_DTYPE_F32 && masks.memory == M2U_MEMORY_DEVICE &&
      (reinterpret_cast<uintptr_t>(masks.data) % 4 || planes.row_stride % 4 || planes.plane_stride % 4 ||
       planes.image_stride % 4)) {
    return fail(M2U_ERROR_INVALID_ARGUMENT, "masks: F32 masks in device memory need 4-byte aligned data and strides");
  }
  return M2U_OK;
}

MaskPlanes Trainer::mask_planes(const m2u_image& masks) {
  const size_t row = masks.row_stride ? masks.row_stride : masks.width * dtype_bytes(masks.dtype);
  const size_t plane = masks.plane_stride ? masks.plane_stride : row * masks.height;
  const size_t image = masks.image_stride ? masks.image_stride : plane * masks.channels;
  return MaskPlanes{masks.data, masks.dtype == M2U_DTYPE_F32, masks.batch, masks.channels, masks.height,
                    masks.width, row, plane, image};
}

cudaError_t Trainer::upload_targets(const m2u_image& masks, int padded_height, int padded_width) {
  MaskPlanes planes = mask_planes(masks);
  cudaError_t status = cudaSuccess;
  if (masks.memory != M2U_MEMORY_DEVICE) {
    // Host or pinned: each plane's rows packed into the device staging.
    const size_t row_bytes = masks.width * dtype_bytes(masks.dtype);
    const MaskPlanes from = planes;
    planes.data = mask_staging_;
    planes.row_stride = row_bytes;
    planes.plane_stride = row_bytes * masks.height;
    planes.image_stride = planes.plane_stride * masks.channels;
    for (int n = 0; status == cudaSuccess && n < masks.batch; ++n) {
      for (int c = 0; status == cudaSuccess && c < masks.channels; ++c) {
        status = cudaMemcpy2DAsync(mask_staging_ + n * planes.image_stride + c * planes.plane_stride, row_bytes,
                                   static_cast<const unsigned char*>(from.data) + n * from.image_stride +
                                       c * from.plane_stride,
                                   from.row_stride, row_bytes, masks.height, cudaMemcpyHostToDevice, stream_);
      }
    }
  }
  if (status == cudaSuccess) {
    status = cudaMemsetAsync(invalid_targets_, 0, masks.batch * sizeof(unsigned long long), stream_);
  }
  const int out_channels = model_.architecture.out_channels;
  const TensorView<float> targets{targets_, masks.batch, padded_height, padded_width, out_channels,
                                  padded_channels<float>(out_channels)};
  if (status == cudaSuccess) status = mask_targets(planes, targets, invalid_targets_, stream_);
  if (status == cudaSuccess) {
    status = cudaMemcpyAsync(invalid_targets_host_, invalid_targets_, masks.batch * sizeof(unsigned long long),
                             cudaMemcpyDeviceToHost, stream_);
  }
  return status;
}

m2u_status Trainer::report_invalid_targets(int batch) {
  std::string counts;
  for (int n = 0; n < batch; ++n) {
    if (invalid_targets_host_[n] == 0) continue;
    counts += (counts.empty() ? "" : ", ") + std::to_string(invalid_targets_host_[n]) + " in image " +
              std::to_string(n);
  }
  if (counts.empty()) return M2U_OK;
  return fail(M2U_ERROR_INPUT, "masks: F32 target values not in [0, 1] (NaN included): " + counts +
                                   "; nothing was trained on this batch");
}

TensorView<float> Trainer::scratch_view(float* data, const TensorView<float>& shape, int channels) const {
  return TensorView<float>{data, shape.batch, shape.height, shape.width, channels, padded_channels<float>(channels)};
}

cudaError_t Trainer::forward_loss(int batch, int height, int width, int padded_height, int padded_width) {
  const Conv& final_conv = convs_.back();
  const int out_channels = final_conv.shape.out_channels;
  const TensorView<float> features = engine_->float_view(final_conv.input, batch, padded_height, padded_width);
  const TensorView<float> logits{logits_, batch, padded_height, padded_width, out_channels,
                                 padded_channels<float>(out_channels)};
  const TensorView<float> targets{targets_, batch, padded_height, padded_width, out_channels,
                                  padded_channels<float>(out_channels)};
  const TensorView<float> gradient{gradient_a_, batch, padded_height, padded_width, out_channels,
                                   padded_channels<float>(out_channels)};
  cudaError_t status = pointwise_conv<float>(as_const(features), logits, engine_->folded_weight(final_conv.conv),
                                             engine_->folded_bias(final_conv.conv), KernelActivation::kLinear,
                                             TensorView<const float>{}, stream_);
  const int blocks = bce_loss_blocks(as_const(logits));
  if (status == cudaSuccess && (blocks < 1 || static_cast<size_t>(blocks) * 3 > partial_floats_)) {
    status = cudaErrorInvalidValue;
  }
  if (status == cudaSuccess) {
    status = bce_with_logits(as_const(logits), as_const(targets), height, width, gradient, partials_, stream_);
  }
  if (status == cudaSuccess) status = sum_block_partials(partials_, blocks, 1, sums_, stream_);
  if (options_.loss == TrainLoss::kBceDice) {
    if (status == cudaSuccess) {
      status = soft_dice_sums(as_const(logits), as_const(targets), height, width, partials_, stream_);
    }
    if (status == cudaSuccess) status = sum_block_partials(partials_, blocks, 3, sums_ + 1, stream_);
    if (status == cudaSuccess) {
      status = soft_dice_gradient(as_const(logits), as_const(targets), height, width, sums_ + 1,
                                  options_.dice_smoothing, gradient, stream_);
    }
  }
  return status;
}

cudaError_t Trainer::backward_conv(const Conv& c, TensorView<float> g, bool input_gradient,
                                   TensorView<float>* input_gradient_view, int batch, int padded_height,
                                   int padded_width) {
  const TensorView<float> in = engine_->float_view(c.input, batch, padded_height, padded_width);
  cudaError_t status = cudaSuccess;
  if (c.activation != KernelActivation::kLinear) {
    const TensorView<float> y = engine_->float_view(c.output, batch, padded_height, padded_width);
    status = activation_backward(as_const(y), as_const(g), c.activation, g, stream_);
  }
  if (status == cudaSuccess && c.trainable) {
    const int rows = c.depthwise ? 10 : padded_channels<float>(in.channels) + 1;
    const size_t pixels = (c.depthwise ? g : in).pixel_count();
    const int blocks = weight_gradient_blocks(pixels);
    status = c.depthwise ? depthwise_weight_gradient(as_const(in), as_const(g), 1, partials_, stream_)
                         : pointwise_weight_gradient(as_const(in), as_const(g), partials_, stream_);
    if (status == cudaSuccess) {
      status = sum_block_partials(partials_, blocks, c.shape.out_channels * rows, folded_gradient_, stream_);
    }
    if (status == cudaSuccess) {
      const float* gamma = c.batch_norm ? parameters_ + c.gamma : nullptr;
      const float* mean = c.batch_norm ? parameters_ + c.mean : nullptr;
      const float* var = c.batch_norm ? parameters_ + c.var : nullptr;
      // Trainable tensors lie in [0, trainable_floats_): a gradient sits at
      // its parameter's offset.
      status = fold_batch_norm_backward(parameters_ + c.weight, gamma, mean, var, model_.bn_epsilon,
                                        columns_ + c.column_of, c.shape, folded_gradient_, gradients_ + c.weight,
                                        c.batch_norm ? gradients_ + c.gamma : nullptr, gradients_ + c.beta, stream_);
    }
  }
  if (status != cudaSuccess || !input_gradient) return status;
  float* target = g.data == gradient_a_ ? gradient_b_ : gradient_a_;
  const TensorView<float> dx = scratch_view(target, in, c.gradient_inputs);
  const float* folded = engine_->folded_weight(c.conv);
  if (c.depthwise) {
    status = flip_depthwise_weights(folded, c.shape.out_channels, transposed_, stream_);
    if (status == cudaSuccess) {
      status = depthwise_conv<float>(as_const(g), dx, transposed_, zero_bias_, 1, KernelActivation::kLinear, stream_);
    }
  } else {
    status = transpose_pointwise_weights(folded, c.shape.out_channels, c.shape.columns, c.gradient_inputs,
                                         padded_channels<float>(c.shape.out_channels), transposed_, stream_);
    if (status == cudaSuccess) {
      status = pointwise_conv<float>(as_const(g), dx, transposed_, zero_bias_, KernelActivation::kLinear,
                                     TensorView<const float>{}, stream_);
    }
  }
  *input_gradient_view = dx;
  return status;
}

cudaError_t Trainer::backward(int batch, int padded_height, int padded_width) {
  const int out_channels = convs_.back().shape.out_channels;
  TensorView<float> g{gradient_a_, batch, padded_height, padded_width, out_channels,
                      padded_channels<float>(out_channels)};
  for (int i = static_cast<int>(entries_.size()) - 1; i >= first_trainable_entry_; --i) {
    const Entry& e = entries_[i];
    cudaError_t status = cudaSuccess;
    if (e.upsample) {
      const TensorView<float> source = engine_->float_view(e.input, batch, padded_height, padded_width);
      float* target = g.data == gradient_a_ ? gradient_b_ : gradient_a_;
      const TensorView<float> dx = scratch_view(target, source, source.channels);
      status = upsample_bilinear2x_backward(as_const(g), dx, stream_);
      g = dx;
    } else {
      TensorView<float> dx{};
      status = backward_conv(convs_[e.conv], g, i > first_trainable_entry_, &dx, batch, padded_height, padded_width);
      g = dx;
    }
    if (status != cudaSuccess) return status;
  }
  return cudaSuccess;
}

m2u_status Trainer::step(const m2u_image& images, const m2u_image& masks, TrainStepResult* result) {
  last_error_.clear();
  *result = TrainStepResult();
  const m2u_status ready = begin_call();
  if (ready != M2U_OK) return ready;
  const m2u_status checked = check_masks(images, masks);
  if (checked != M2U_OK) return checked;
  const int batch = images.batch;
  const int padded_height = pad_to_spatial_multiple(images.height);
  const int padded_width = pad_to_spatial_multiple(images.width);
  // The masks first: a copy from pageable memory waits for the stream, so
  // queued behind the forward it would stall the host.
  cudaError_t status = upload_targets(masks, padded_height, padded_width);
  if (status != cudaSuccess) return cuda_failure("the targets from the masks", status);
  const m2u_status ran = engine_->run_features(images);
  if (ran != M2U_OK) return fail(ran, engine_->last_error());
  status = forward_loss(batch, images.height, images.width, padded_height, padded_width);
  if (status != cudaSuccess) return cuda_failure("the loss", status);
  status = backward(batch, padded_height, padded_width);
  if (status != cudaSuccess) return cuda_failure("the backward pass", status);
  status = cudaMemcpyAsync(readback_host_, sums_, 4 * sizeof(float), cudaMemcpyDeviceToHost, stream_);
  if (status == cudaSuccess) {
    status = cudaMemcpyAsync(readback_host_ + 4, gradients_, trainable_floats_ * sizeof(float),
                             cudaMemcpyDeviceToHost, stream_);
  }
  if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
  if (status != cudaSuccess) return cuda_failure("reading the loss and gradients back", status);
  const m2u_status input = engine_->synchronize();  // non-finite input pixels
  if (input != M2U_OK) return fail(input, engine_->last_error());
  const m2u_status targets = report_invalid_targets(batch);
  if (targets != M2U_OK) return targets;

  double loss = readback_host_[0];
  if (options_.loss == TrainLoss::kBceDice) {
    const float sums[3] = {readback_host_[1], readback_host_[2], readback_host_[3]};
    loss += soft_dice_loss(sums, options_.dice_smoothing);
  }
  bool finite = std::isfinite(loss);
  for (size_t i = 0; finite && i < trainable_floats_; ++i) finite = std::isfinite(readback_host_[4 + i]);
  result->loss = loss;
  if (!finite) {
    result->skipped = true;
    ++skipped_;
    ++skipped_in_a_row_;
    return M2U_OK;
  }
  skipped_in_a_row_ = 0;
  status = optimizer_step(options_.optimizer, updates_ + 1, parameters_, gradients_, state_, trainable_floats_,
                          stream_);
  for (size_t i = 0; status == cudaSuccess && i < convs_.size(); ++i) {
    if (convs_[i].trainable) status = fold(convs_[i]);
  }
  if (status == cudaSuccess) status = cudaStreamSynchronize(stream_);
  if (status != cudaSuccess) {
    // The master weights or the optimiser state may have changed without
    // every fold: the trainer cannot go on from here.
    const m2u_status failed = cuda_failure("the optimiser step", status);
    broken_ = "an optimiser step failed half-way (" + last_error_ + "); create the trainer again";
    return failed;
  }
  ++updates_;
  return M2U_OK;
}

m2u_status Trainer::begin_call() {
  if (!broken_.empty()) return fail(M2U_ERROR_CUDA, broken_);
  // A call that failed half-way may have left work queued (copies from the
  // caller's memory, the staging) and a non-finite-input report pending:
  // let the work finish and drop the report, which belonged to that call.
  const cudaError_t idle = cudaStreamSynchronize(stream_);
  if (idle != cudaSuccess) return cuda_failure("waiting for the trainer's stream", idle);
  engine_->synchronize();
  return M2U_OK;
}

m2u_status Trainer::evaluate(const m2u_image& images, const m2u_image& masks, EvaluationResult* result) {
  last_error_.clear();
  *result = EvaluationResult();
  const m2u_status ready = begin_call();
  if (ready != M2U_OK) return ready;
  const m2u_status checked = check_masks(images, masks);
  if (checked != M2U_OK) return checked;
  const int out_channels = model_.architecture.out_channels;
  m2u_image probabilities{};
  probabilities.data = probabilities_host_;
  probabilities.memory = M2U_MEMORY_PINNED;
  probabilities.dtype = M2U_DTYPE_F32;
  probabilities.batch = images.batch;
  probabilities.channels = out_channels;
  probabilities.height = images.height;
  probabilities.width = images.width;
  m2u_status status = engine_->run(images, probabilities);
  if (status != M2U_OK) return fail(status, engine_->last_error());
  // The masks as targets, on the device for any memory kind, then back.
  const int padded_height = pad_to_spatial_multiple(images.height);
  const int padded_width = pad_to_spatial_multiple(images.width);
  const int stride = padded_channels<float>(out_channels);
  const size_t target_floats = static_cast<size_t>(images.batch) * padded_height * padded_width * stride;
  cudaError_t copied = upload_targets(masks, padded_height, padded_width);
  if (copied == cudaSuccess) {
    copied = cudaMemcpyAsync(targets_host_, targets_, target_floats * sizeof(float), cudaMemcpyDeviceToHost, stream_);
  }
  if (copied == cudaSuccess) copied = cudaStreamSynchronize(stream_);
  if (copied != cudaSuccess) return cuda_failure("the targets from the masks", copied);
  status = engine_->synchronize();
  if (status != M2U_OK) return fail(status, engine_->last_error());
  status = report_invalid_targets(images.batch);
  if (status != M2U_OK) return status;
  // Probability 0.5: the engine's output, or its logit 0 for a model
  // whose output activation is linear.
  const float threshold = model_.architecture.output_activation == Activation::kLinear ? 0.0f : 0.5f;
  const float* p = probabilities_host_;
  for (int n = 0; n < masks.batch; ++n)
    for (int c = 0; c < masks.channels; ++c)
      for (int y = 0; y < masks.height; ++y)
        for (int x = 0; x < masks.width; ++x, ++p) {
          const bool truth =
              targets_host_[((static_cast<size_t>(n) * padded_height + y) * padded_width + x) * stride + c] >= 0.5f;
          const bool predicted = *p >= threshold;
          result->intersection += truth && predicted;
          result->union_pixels += truth || predicted;
        }
  result->iou = result->union_pixels ? static_cast<double>(result->intersection) / result->union_pixels : 1.0;
  return M2U_OK;
}

m2u_status Trainer::save(const std::string& path, const std::string& provenance_lines) {
  last_error_.clear();
  const m2u_status ready = begin_call();
  if (ready != M2U_OK) return ready;
  std::map<std::string, std::vector<float>> trained;
  const m2u_status read = read_tensors(false, &trained);
  if (read != M2U_OK) return read;
  static const char* const kSchedules[] = {"decoder", "decoder-last", "decoder-project"};
  static const char* const kOptimizers[] = {"sgd", "adam", "rmsprop"};
  const OptimizerSettings& o = options_.optimizer;
  char settings[256];
  std::snprintf(settings, sizeof(settings), "%s lr %g momentum %g weight_decay %g betas %g %g alpha %g eps %g",
                kOptimizers[static_cast<int>(o.kind)], o.learning_rate, o.momentum, o.weight_decay, o.beta1, o.beta2,
                o.alpha, o.epsilon);
  const std::string lines = "fine_tuned_from_sha256: " + sha256_hex(model_.source.data(), model_.source.size()) +
                            "\nfine_tune_schedule: " + kSchedules[static_cast<int>(options_.schedule)] +
                            "\nfine_tune_optimizer: " + settings + "\nfine_tune_loss: " +
                            (options_.loss == TrainLoss::kBce ? "bce" : "bce+dice") +
                            "\nfine_tune_updates: " + std::to_string(updates_) +
                            "\nfine_tune_skipped_steps: " + std::to_string(skipped_) + "\n" + provenance_lines;
  std::vector<uint8_t> bytes;
  std::string problem;
  if (!write_trained_model(model_.source, trained, lines, &bytes, &problem)) return fail(M2U_ERROR_BAD_MODEL, problem);
  if (!write_file_atomically(path, bytes, &problem)) return fail(M2U_ERROR_FILE, problem);
  return M2U_OK;
}

void Trainer::describe_tensors(std::vector<std::pair<std::string, std::pair<size_t, size_t>>>* tensors,
                               bool trainable_only) const {
  for (const Conv& c : convs_) {
    if (trainable_only && !c.trainable) continue;
    const size_t out = c.shape.out_channels;
    tensors->push_back({c.name + ".weight", {c.weight, out * c.shape.row}});
    if (c.batch_norm) {
      tensors->push_back({c.bn_name + ".weight", {c.gamma, out}});
      tensors->push_back({c.bn_name + ".bias", {c.beta, out}});
      if (!trainable_only) {
        tensors->push_back({c.bn_name + ".running_mean", {c.mean, out}});
        tensors->push_back({c.bn_name + ".running_var", {c.var, out}});
      }
    } else {
      tensors->push_back({c.name + ".bias", {c.beta, out}});
    }
  }
}

m2u_status Trainer::read_tensors(bool gradients, std::map<std::string, std::vector<float>>* tensors) {
  std::vector<std::pair<std::string, std::pair<size_t, size_t>>> list;
  describe_tensors(&list, true);
  std::vector<float> host(trainable_floats_);
  cudaError_t status = cudaStreamSynchronize(stream_);
  if (status == cudaSuccess) {
    status = cudaMemcpy(host.data(), gradients ? gradients_ : parameters_, host.size() * sizeof(float),
                        cudaMemcpyDeviceToHost);
  }
  if (status != cudaSuccess) return cuda_failure("reading the trainable tensors", status);
  tensors->clear();
  for (const auto& t : list) {
    (*tensors)[t.first].assign(host.begin() + t.second.first, host.begin() + t.second.first + t.second.second);
  }
  return M2U_OK;
}

m2u_status Trainer::read_all_parameters(std::map<std::string, std::vector<float>>* tensors) {
  std::vector<std::pair<std::string, std::pair<size_t, size_t>>> list;
  describe_tensors(&list, false);
  std::vector<float> host(parameter_floats_);
  cudaError_t status = cudaStreamSynchronize(stream_);
  if (status == cudaSuccess) {
    status = cudaMemcpy(host.data(), parameters_, host.size() * sizeof(float), cudaMemcpyDeviceToHost);
  }
  if (status != cudaSuccess) return cuda_failure("reading the decoder's tensors", status);
  tensors->clear();
  for (const auto& t : list) {
    (*tensors)[t.first].assign(host.begin() + t.second.first, host.begin() + t.second.first + t.second.second);
  }
  return M2U_OK;
}

}  // namespace m2u
