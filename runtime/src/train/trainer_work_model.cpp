// trainer_work_model.cpp - the work of one training step (see trainer.h's
// TrainingWork), walked from the engine's plan (the forward to the final
// conv's input) and the trainer's decoder list (the logits, the loss, the
// backward pass and the update), in the order Trainer::step launches them.
#include <map>

#include "conv_kernels.h"
#include "trainer.h"

namespace m2u {
namespace {

class Tally {
 public:
  void add(const std::string& kernel, long long launches, double multiply_adds, double read, double written) {
    auto found = index_.find(kernel);
    if (found == index_.end()) {
      found = index_.emplace(kernel, work_.rows.size()).first;
      KernelWork row;
      row.kernel = kernel;
      work_.rows.push_back(row);
    }
    KernelWork& row = work_.rows[found->second];
    for (KernelWork* w : {&row, &work_.total}) {
      w->launches += launches;
      w->multiply_adds += multiply_adds;
      w->bytes_read += read;
      w->bytes_written += written;
    }
  }
  TrainingWork take() {
    work_.total.kernel = "total";
    return work_;
  }

 private:
  TrainingWork work_;
  std::map<std::string, size_t> index_;
};

double bytes_of(const TensorView<float>& v, int channels) {
  return static_cast<double>(v.pixel_count()) * padded_channels<float>(channels) * sizeof(float);
}

}  // namespace

TrainingWork Trainer::work_model(int batch, int height, int width, int pixel_bytes, int image_channels) const {
  Tally tally;
  const ExecutionPlan& plan = engine_->plan();
  const Architecture& arch = model_.architecture;
  const int ph = pad_to_spatial_multiple(height), pw = pad_to_spatial_multiple(width);
  const double image_bytes = static_cast<double>(batch) * height * width * image_channels * pixel_bytes;
  if (model_.input.normalization == NormalizationKind::kPerImageStandardize) {
    // image_statistics: the sums, the centred squares, the finish.
    tally.add("forward: input statistics", 3, 0.0, 2.0 * image_bytes, 8.0 * batch);
  }
  for (const PlannedStep& step : plan.steps) {
    if (step.kind == StepKind::kOutput) continue;
    const TensorView<float> out = engine_->float_view(step.output, batch, ph, pw);
    const TensorView<float> in =
        step.input.buffer >= 0 ? engine_->float_view(step.input, batch, ph, pw) : TensorView<float>{};
    const ConvSpec* spec = step.conv >= 0 ? &arch.convs[step.conv] : nullptr;
    switch (step.kind) {
      case StepKind::kInputConvert:
        tally.add("forward: input conversion", 1, 0.0, image_bytes, bytes_of(out, out.channels));
        break;
      case StepKind::kStem:
        tally.add("forward: stem 3x3", 1, static_cast<double>(out.pixel_count()) * spec->out_channels * 9 * in.channels,
                  bytes_of(in, in.channels) + spec->out_channels * 9.0 * in.channels * 4, bytes_of(out, out.channels));
        break;
      case StepKind::kPointwise: {
        const double residual = step.residual.buffer >= 0 ? bytes_of(out, out.channels) : 0.0;
        tally.add("forward: 1x1 conv", 1, static_cast<double>(out.pixel_count()) * out.channels * spec->in_channels,
                  bytes_of(in, in.channels) + residual + out.channels * 4.0 * (padded_channels<float>(in.channels) + 1),
                  bytes_of(out, out.channels));
        break;
      }
      case StepKind::kDepthwise:
        tally.add("forward: depthwise 3x3", 1, static_cast<double>(out.pixel_count()) * out.channels * 9,
                  bytes_of(in, in.channels) + out.channels * 40.0, bytes_of(out, out.channels));
        break;
      case StepKind::kUpsample:
        tally.add("forward: bilinear x2", 1, static_cast<double>(out.pixel_count()) * out.channels * 4,
                  bytes_of(in, in.channels), bytes_of(out, out.channels));
        break;
      case StepKind::kOutput: break;
      case StepKind::kFusedBlock: break;  // never planned: trainers keep decoder activations, which fusion refuses
    }
  }
  // The targets from the masks (U8 counted; F32 masks read 4 bytes a value).
  const double mask_bytes = static_cast<double>(batch) * arch.out_channels * height * width;
  tally.add("loss: targets from the masks", 1, 0.0, mask_bytes,
            static_cast<double>(batch) * ph * pw * padded_channels<float>(arch.out_channels) * 4);
  // The logits and the loss.
  const Conv& final_conv = convs_.back();
  const int out_channels = final_conv.shape.out_channels;
  const TensorView<float> features = engine_->float_view(final_conv.input, batch, ph, pw);
  const TensorView<float> logits{nullptr, batch, ph, pw, out_channels, padded_channels<float>(out_channels)};
  const double frame = bytes_of(logits, out_channels);
  const double loss_blocks = bce_loss_blocks(TensorView<const float>{nullptr, batch, ph, pw, out_channels,
                                                                     padded_channels<float>(out_channels)});
  tally.add("forward: final 1x1 conv (logits)", 1,
            static_cast<double>(features.pixel_count()) * out_channels * final_conv.shape.row,
            bytes_of(features, features.channels) + out_channels * 4.0 * (final_conv.shape.columns + 1), frame);
  tally.add("loss: BCE from logits", 1, 0.0, 2.0 * frame, frame + loss_blocks * 4);
  tally.add("loss: block partial sums", 1, 0.0, loss_blocks * 4, 4.0);
  if (options_.loss == TrainLoss::kBceDice) {
    tally.add("loss: soft Dice (sums, gradient)", 2, 0.0, 5.0 * frame, frame + loss_blocks * 12);
    tally.add("loss: block partial sums", 1, 0.0, loss_blocks * 12, 12.0);
  }
  // The backward pass, as Trainer::backward walks it.
  for (int i = static_cast<int>(entries_.size()) - 1; i >= first_trainable_entry_; --i) {
    const Entry& e = entries_[i];
    if (e.upsample) {
      const TensorView<float> source = engine_->float_view(e.input, batch, ph, pw);
      const TensorView<float> target = engine_->float_view(e.output, batch, ph, pw);
      tally.add("backward: bilinear x2 (gather)", 1, static_cast<double>(target.pixel_count()) * target.channels * 4,
                bytes_of(target, target.channels), bytes_of(source, source.channels));
      continue;
    }
    const Conv& c = convs_[e.conv];
    const TensorView<float> in = engine_->float_view(c.input, batch, ph, pw);
    const TensorView<float> out = c.final_conv ? logits : engine_->float_view(c.output, batch, ph, pw);
    const double g = bytes_of(out, c.shape.out_channels);
    if (c.activation != KernelActivation::kLinear) tally.add("backward: activation mask", 1, 0.0, 2.0 * g, g);
    const double taps = c.depthwise ? 9.0 : static_cast<double>(c.shape.row);
    if (c.trainable) {
      const int rows = c.depthwise ? 10 : padded_channels<float>(in.channels) + 1;
      const double partials =
          static_cast<double>(weight_gradient_blocks(out.pixel_count())) * c.shape.out_channels * rows * 4;
      const double weights = static_cast<double>(c.shape.out_channels) * c.shape.row * 4;
      tally.add(c.depthwise ? "backward: depthwise weight gradient" : "backward: 1x1 weight gradient", 1,
                static_cast<double>(out.pixel_count()) * c.shape.out_channels * taps, bytes_of(in, in.channels) + g,
                partials);
      tally.add("backward: block partial sums", 1, 0.0, partials, c.shape.out_channels * rows * 4.0);
      tally.add("backward: batch-norm fold backward", 1, 0.0, c.shape.out_channels * rows * 4.0 + weights,
                weights + 2.0 * c.shape.out_channels * 4);
    }
    if (i > first_trainable_entry_) {
      const double weights = static_cast<double>(c.shape.out_channels) * (c.depthwise ? 9 : c.shape.columns) * 4;
      tally.add(c.depthwise ? "backward: flipped taps" : "backward: transposed weights", 1, 0.0, weights, weights);
      const double dx = static_cast<double>(in.pixel_count()) * padded_channels<float>(c.gradient_inputs) * 4;
      tally.add(c.depthwise ? "backward: depthwise input gradient" : "backward: 1x1 input gradient", 1,
                static_cast<double>(in.pixel_count()) * (c.depthwise ? 9.0 * c.shape.out_channels
                                                                      : static_cast<double>(c.shape.out_channels) *
                                                                            c.gradient_inputs),
                g + weights, dx);
    }
  }
  // The update: the optimiser over the trainable floats, then the refolds.
  const double p = static_cast<double>(trainable_floats_) * 4;
  const double state = static_cast<double>(state_floats_) * 4;
  tally.add("update: optimiser step", 1, 0.0, 2.0 * p + state, p + state);
  for (const Conv& c : convs_) {
    if (!c.trainable) continue;
    const double weights = static_cast<double>(c.shape.out_channels) * c.shape.row * 4;
    tally.add("update: batch-norm refold", 1, 0.0, weights + 4.0 * c.shape.out_channels * 4,
              static_cast<double>(c.shape.out_channels) * (c.shape.columns + 1) * 4);
  }
  return tally.take();
}

}  // namespace m2u
