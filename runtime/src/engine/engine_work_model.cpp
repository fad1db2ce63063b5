// engine_work_model.cpp - the work of one forward pass (Engine::work_model):
// one row per kernel launch, walked from the plan in the order
// launch_steps launches them, with each buffer's own element size (FP16's
// FP32 decoder buffers count 4 bytes a value) and each step's arithmetic.
#include <algorithm>

#include "conv_kernels.h"
#include "engine.h"

namespace m2u {
namespace {

// Bytes of a view's values at its buffer's storage, channels padded to the
// 16-byte group as the kernels read and write them.
double view_bytes(const ExecutionPlan& plan, const PlannedView& v, int batch, int padded_height, int padded_width) {
  const PlannedBuffer& buffer = plan.buffers[v.buffer];
  const int per_group = static_cast<int>(16 / buffer.element_bytes);
  const int padded = (v.channels + per_group - 1) / per_group * per_group;
  const double pixels = static_cast<double>(batch) * (padded_height / buffer.downscale) *
                        (padded_width / buffer.downscale);
  return pixels * padded * static_cast<double>(buffer.element_bytes);
}

// Input positions along one axis that a fused block's tiles expand: each
// tile of kFusedTileOutputs outputs reads a window of (tile - 1) * stride + 3
// positions starting at tile_start * stride - 1, clipped to the input (the
// halo is expanded by both neighbours).
double fused_window_positions(int outputs, int inputs, int stride) {
  constexpr int kTile = kFusedTileOutputs;
  double positions = 0.0;
  for (int start = 0; start < outputs; start += kTile) {
    const int first = start * stride - 1, last = first + (kTile - 1) * stride + 3;  // [first, last)
    positions += std::min(last, inputs) - std::max(first, 0);
  }
  return positions;
}

}  // namespace

WorkModel Engine::work_model(const WorkRequest& r) const {
  WorkModel model;
  const int ph = pad_to_spatial_multiple(r.height), pw = pad_to_spatial_multiple(r.width);
  const double image_bytes = static_cast<double>(r.batch) * r.height * r.width * r.input_channels * r.input_value_bytes;
  const bool int8 = precision_ == M2U_PRECISION_INT8;
  if (normalization_.per_image_standardize) {
    // image_statistics: the sums, the centred squares, the finish.
    KernelWork row;
    row.kernel = "input statistics";
    row.launches = 3;
    row.batch = r.batch;
    row.bytes_read = 2.0 * image_bytes;
    row.bytes_written = 8.0 * r.batch;
    add_work(&model, row);
  }
  for (const PlannedStep& step : plan_.steps) {
    KernelWork row;
    row.layer = step.label;
    row.launches = 1;
    row.batch = r.batch;
    const PlannedBuffer* out_buffer = step.output.buffer >= 0 ? &plan_.buffers[step.output.buffer] : nullptr;
    row.height = out_buffer ? ph / out_buffer->downscale : r.height;
    row.width = out_buffer ? pw / out_buffer->downscale : r.width;
    const double out_pixels = static_cast<double>(r.batch) * row.height * row.width;
    const double read = step.input.buffer >= 0 ? view_bytes(plan_, step.input, r.batch, ph, pw) : image_bytes;
    const double written = out_buffer ? view_bytes(plan_, step.output, r.batch, ph, pw) : 0.0;
    const ConvSpec* spec = step.conv >= 0 ? &architecture_.convs[step.conv] : nullptr;
    row.in_channels = spec ? spec->in_channels : step.input.buffer >= 0 ? step.input.channels : r.input_channels;
    row.out_channels = spec ? spec->out_channels : step.output.channels;
    // Packed weights: FP32 values (FP32 and FP16 engines), or int8 values
    // with a requantisation multiplier and a bias per output channel.
    const bool int8_weights = int8 && (step.kind == StepKind::kPointwise || step.kind == StepKind::kDepthwise);
    auto weight_bytes = [&](double row_length) {
      row.weight_bytes =
          int8_weights ? spec->out_channels * (row_length + 8.0) : spec->out_channels * (row_length + 1.0) * 4.0;
      return row.weight_bytes;
    };
    row.arithmetic = int8_weights ? WorkArithmetic::kInt8 : step.half2 ? WorkArithmetic::kHalf2 : WorkArithmetic::kFp32;
    row.bytes_read = read;
    row.bytes_written = written;
    switch (step.kind) {
      case StepKind::kInputConvert:
        row.kernel = "input conversion";
        break;
      case StepKind::kStem:
        row.kernel = "stem 3x3";
        row.multiply_adds = out_pixels * spec->out_channels * 9.0 * spec->in_channels;
        row.bytes_read += weight_bytes(9.0 * spec->in_channels);
        break;
      case StepKind::kPointwise:
        row.kernel = "1x1 conv";
        row.multiply_adds = out_pixels * spec->out_channels * spec->in_channels;
        row.bytes_read += weight_bytes(plan_.conv_inputs[step.conv].row_length);
        if (step.residual.buffer >= 0) {
          row.residual_bytes = view_bytes(plan_, step.residual, r.batch, ph, pw);
          row.bytes_read += row.residual_bytes;
        }
        break;
      case StepKind::kDepthwise:
        row.kernel = "depthwise 3x3";
        row.multiply_adds = out_pixels * spec->out_channels * 9.0;
        row.bytes_read += weight_bytes(9.0);
        break;
      case StepKind::kUpsample:
        row.kernel = "bilinear x2";
        row.multiply_adds = out_pixels * step.output.channels * 4.0;
        break;
      case StepKind::kFusedBlock: {
        // Expand (over the tiles' windows), depthwise, project: the hidden
        // tensors stay on chip; the residual is the block's input (its
        // re-read at the tile's own pixels counted as cache hits). With the
        // fused head the block's outputs stay on chip too: the final 1x1
        // runs over them and only the cropped probabilities are written.
        row.kernel = step.head_conv >= 0 ? "fused block + final 1x1" : "fused block";
        const ConvSpec& dw = architecture_.convs[step.depthwise_conv];
        const ConvSpec& project = architecture_.convs[step.project_conv];
        const PlannedBuffer& in_buffer = plan_.buffers[step.input.buffer];
        const int in_h = ph / in_buffer.downscale, in_w = pw / in_buffer.downscale;
        // The block's output grid (the head's is the padded frame, stride 1).
        const int block_h = out_buffer ? row.height : in_h, block_w = out_buffer ? row.width : in_w;
        const double block_pixels = static_cast<double>(r.batch) * block_h * block_w;
        const double windows = static_cast<double>(r.batch) * fused_window_positions(block_h, in_h, step.stride) *
                               fused_window_positions(block_w, in_w, step.stride);
        // The project runs for every pixel of the 8x8 tiles, the edge tiles'
        // pixels past the output included.
        auto whole_tiles = [](int size) { return (size + kFusedTileOutputs - 1) / kFusedTileOutputs * kFusedTileOutputs; };
        const double tiled_pixels = static_cast<double>(r.batch) * whole_tiles(block_h) * whole_tiles(block_w);
        row.out_channels = project.out_channels;
        row.multiply_adds = windows * spec->out_channels * spec->in_channels + block_pixels * dw.out_channels * 9.0 +
                            tiled_pixels * project.out_channels * dw.out_channels;
        double weights = spec->out_channels * (plan_.conv_inputs[step.conv].row_length + 1.0) * 4.0 +
                         dw.out_channels * 10.0 * 4.0 +
                         project.out_channels * (plan_.conv_inputs[step.project_conv].row_length + 1.0) * 4.0;
        if (step.head_conv >= 0) {
          const ConvSpec& head = architecture_.convs[step.head_conv];
          row.out_channels = head.out_channels;
          row.multiply_adds += tiled_pixels * head.out_channels * head.in_channels;
          weights += head.out_channels * (plan_.conv_inputs[step.head_conv].row_length + 1.0) * 4.0;
          row.bytes_written = static_cast<double>(r.batch) * r.height * r.width * head.out_channels *
                              r.output_value_bytes;
        }
        row.weight_bytes = weights;
        row.bytes_read += weights;  // the residual is the input, already counted once
        break;
      }
      case StepKind::kOutput:
        row.kernel = "final 1x1 + sigmoid";
        row.height = r.height;
        row.width = r.width;
        row.multiply_adds = static_cast<double>(r.batch) * ph * pw * spec->out_channels * spec->in_channels;
        row.bytes_read += weight_bytes(plan_.conv_inputs[step.conv].row_length);
        row.bytes_written = static_cast<double>(r.batch) * r.height * r.width * spec->out_channels *
                            r.output_value_bytes;
        break;
    }
    add_work(&model, row);
  }
  return model;
}

}  // namespace m2u
