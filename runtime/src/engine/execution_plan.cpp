// execution_plan.cpp - builds the step list and the arena layout (see
// execution_plan.h).
#include "execution_plan.h"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace m2u {
namespace {

constexpr size_t kArenaAlignment = 256;

size_t align_up(size_t value, size_t alignment) { return (value + alignment - 1) / alignment * alignment; }

class PlanBuilder {
 public:
  PlanBuilder(const Architecture& arch, const MixedPrecision& mixed, bool fuse_blocks, ExecutionPlan& plan)
      : arch_(arch), mixed_(mixed), fuse_blocks_(fuse_blocks), plan_(plan) {
    plan_.conv_inputs.resize(arch.convs.size());
    for (const std::string& name : mixed.float_stages) {
      if (stage_named(name).skip_from.empty()) {  // stage_named throws for an unknown stage
        throw std::logic_error("FP32 storage is planned for decoder stages only, not " + name);
      }
    }
    for (const std::string& name : mixed.half2_stages) stage_named(name);  // throws for an unknown stage
  }

  // Channels padded to a buffer's 16-byte group: the plan's storage, or
  // FP32's 4 channels in a float stage.
  int pad(int channels, bool float_storage = false) const {
    const int alignment = float_storage ? 4 : plan_.channel_alignment;
    return (channels + alignment - 1) / alignment * alignment;
  }

  int new_buffer(const std::string& name, int pixel_stride, int downscale, bool float_storage = false) {
    const size_t pixels = static_cast<size_t>(plan_.max_batch) * (plan_.max_height / downscale) *
                          (plan_.max_width / downscale);
    const size_t element = float_storage ? sizeof(float) : plan_.element_bytes;
    plan_.buffers.push_back(
        PlannedBuffer{name, pixel_stride, downscale, pixels * pixel_stride * element, -1, -1, 0, element});
    return static_cast<int>(plan_.buffers.size()) - 1;
  }

  bool float_stage(const std::string& stage) const { return listed(mixed_.float_stages, stage); }
  bool half2_stage(const std::string& stage) const { return listed(mixed_.half2_stages, stage); }

  PlannedView whole(int buffer, int channels) const { return PlannedView{buffer, 0, channels}; }

  void add_step(PlannedStep step) {
    const int index = static_cast<int>(plan_.steps.size());
    for (const PlannedView* view : {&step.input, &step.output, &step.residual}) {
      if (view->buffer < 0) continue;
      PlannedBuffer& b = plan_.buffers[view->buffer];
      if (b.first_step < 0) b.first_step = index;
      b.last_step = std::max(b.last_step, index);
    }
    plan_.steps.push_back(std::move(step));
  }

  // Identity column layout for a conv reading a plain view (of an FP32
  // buffer when float_storage).
  void plain_input(int conv, int channels, bool float_storage) {
    ConvInputLayout& layout = plan_.conv_inputs[conv];
    layout.input_columns.resize(channels);
    for (int c = 0; c < channels; ++c) layout.input_columns[c] = c;
    layout.row_length = pad(channels, float_storage);
  }

  // A conv reading a concat buffer: the skip channels start after the
  // padded upsampled ones.
  void concat_input(int conv, int upsampled, int skip) {
    ConvInputLayout& layout = plan_.conv_inputs[conv];
    layout.input_columns.resize(upsampled + skip);
    for (int c = 0; c < upsampled; ++c) layout.input_columns[c] = c;
    for (int c = 0; c < skip; ++c) layout.input_columns[upsampled + c] = pad(upsampled) + c;
    layout.row_length = pad(upsampled) + pad(skip);
  }

  void conv_step(StepKind kind, int conv, PlannedView input, PlannedView output, const std::string& stage,
                 PlannedView residual = PlannedView{}) {
    const ConvSpec& spec = arch_.convs[conv];
    const char* kind_name = kind == StepKind::kDepthwise ? "depthwise"
                            : kind == StepKind::kStem    ? "stem"
                            : kind == StepKind::kOutput  ? "output"
                                                         : "pointwise";
    const bool half2 = (kind == StepKind::kPointwise || kind == StepKind::kDepthwise) && half2_stage(stage);
    add_step(PlannedStep{kind, spec.name + " (" + kind_name + ")", conv, input, output, residual, spec.stride,
                         stage, half2});
  }

  // Whether `block` of `stage` runs as one fused step. A mixed-precision
  // plan (FP16) fuses its half2 stages' blocks (the fused half2 kernel) and
  // its FP32 decoder stages' blocks (the float kernel from the half concat
  // buffer into FP32), not its other FP32 arithmetic on half storage
  // (conv_kernels.h). A decoder block's input is its concat buffer, read
  // whole: [upsampled, padded | skip].
  bool fused(const std::string& stage, const InvertedResidualSpec& block, bool input_is_concat,
             int upsampled_channels) const {
    const bool wide = float_stage(stage);
    const bool fusable_precision = mixed_.half2_stages.empty() || half2_stage(stage) || wide;
    const int in_row = input_is_concat ? pad(upsampled_channels) + pad(block.in_channels - upsampled_channels)
                                       : pad(block.in_channels);
    return fuse_blocks_ && fusable_precision && block.has_expand && block.hidden_channels <= kMaxFusedHiddenChannels &&
           pad(block.out_channels, wide) <= kMaxFusedBlockOutputs && in_row <= kMaxFusedBlockInputs;
  }

  // Whether the last decoder block (fused) also runs the final conv: FP32
  // arithmetic (an FP32 plan or an FP32 decoder stage; not an all-half
  // plan's half2 block), stride 1, no
  // residual, outputs and final channels within the fused head's limits.
  bool fused_head(const std::string& stage, const InvertedResidualSpec& block, int upsampled_channels) const {
    const bool float_arithmetic = plan_.element_bytes == sizeof(float) || float_stage(stage);
    return fused(stage, block, true, upsampled_channels) && float_arithmetic && block.stride == 1 &&
           !block.residual && (block.out_channels + 3) / 4 * 4 <= kMaxFusedHeadInputs &&
           arch_.out_channels <= kMaxFusedHeadChannels;
  }

  // One inverted residual block of `stage` from `input` (at `downscale`)
  // into `output` (none for the fused head); its expanded and depthwise
  // buffers are FP32 in a float stage.
  void block(const std::string& stage, const InvertedResidualSpec& block, PlannedView input, int downscale,
             PlannedView output, bool input_is_concat, int upsampled_channels) {
    const bool wide = float_stage(stage);
    const int out_downscale = downscale * block.stride;
    if (fused(stage, block, input_is_concat, upsampled_channels)) {
      const int expand = block.convs[0], depthwise = block.convs[1], project = block.convs[2];
      if (input_is_concat) {
        concat_input(expand, upsampled_channels, block.in_channels - upsampled_channels);
      } else {
        plain_input(expand, block.in_channels, false);
      }
      plain_input(project, block.hidden_channels, wide);
      PlannedStep step{StepKind::kFusedBlock, block.name + " (fused block)", expand, input, output,
                       block.residual ? input : PlannedView{}, block.stride, stage, half2_stage(stage)};
      step.depthwise_conv = depthwise;
      step.project_conv = project;
      add_step(std::move(step));
      return;
    }
    PlannedView depthwise_input = input;
    size_t next = 0;
    if (block.has_expand) {
      const int expand = block.convs[next++];
      if (input_is_concat) {
        concat_input(expand, upsampled_channels, block.in_channels - upsampled_channels);
      } else {
        plain_input(expand, block.in_channels, false);
      }
      const int expanded =
          new_buffer(block.name + " expanded", pad(block.hidden_channels, wide), downscale, wide);
      conv_step(StepKind::kPointwise, expand, input, whole(expanded, block.hidden_channels), stage);
      depthwise_input = whole(expanded, block.hidden_channels);
    }
    const int depthwise = block.convs[next++];
    const int filtered =
        new_buffer(block.name + " depthwise", pad(block.hidden_channels, wide), out_downscale, wide);
    conv_step(StepKind::kDepthwise, depthwise, depthwise_input, whole(filtered, block.hidden_channels), stage);
    const int project = block.convs[next++];
    plain_input(project, block.hidden_channels, wide);
    conv_step(StepKind::kPointwise, project, whole(filtered, block.hidden_channels), output, stage,
              block.residual ? input : PlannedView{});
  }

  void build(bool keep_stage_outputs, bool keep_decoder_activations) {
    const int cin = arch_.in_channels;
    // Which decoder stage takes each skip (Architecture's StageSpec::skip_from):
    // the skip's producer writes straight into that stage's concat buffer,
    // after the slice its upsampling fills.
    std::map<std::string, std::string> skip_consumer;
    for (const StageSpec& stage : arch_.stages) {
      if (!stage.skip_from.empty()) skip_consumer[stage.skip_from] = stage.name;
    }
    // The concat buffer that takes the network input: [upsampled | input (Cin)].
    const StageSpec& input_taker = stage_named(skip_consumer.at(kNetworkInputName));
    const int input_up = decoder_upsampled_channels(input_taker);
    const int input_concat = new_buffer(input_taker.name + " concat", pad(input_up) + pad(cin), 1);
    const PlannedView network_input{input_concat, pad(input_up), cin};
    add_step(PlannedStep{StepKind::kInputConvert, "input", -1, PlannedView{}, network_input, PlannedView{}, 1,
                         "", false});

    const int stem = new_buffer("conv1.0 output", pad(32), 2);
    conv_step(StepKind::kStem, arch_.stem_conv, network_input, whole(stem, 32), arch_.stages.front().name);

    // Encoder. A stage's output goes into the concat buffer of the decoder
    // stage that takes it as its skip.
    std::map<std::string, int> concat_buffers;
    std::map<std::string, PlannedView> stage_out;
    PlannedView current = whole(stem, 32);
    int downscale = 2;
    for (size_t s = 0; s < 4; ++s) {
      const StageSpec& stage = arch_.stages[s];
      for (size_t b = 0; b < stage.blocks.size(); ++b) {
        const InvertedResidualSpec& spec = arch_.blocks[stage.blocks[b]];
        const int out_downscale = downscale * spec.stride;
        PlannedView output;
        const bool last = b + 1 == stage.blocks.size();
        auto consumer = skip_consumer.find(stage.name);
        if (last && consumer != skip_consumer.end()) {
          const StageSpec& decoder = stage_named(consumer->second);
          const int upsampled = decoder_upsampled_channels(decoder);
          const int buffer = new_buffer(decoder.name + " concat", pad(upsampled) + pad(spec.out_channels),
                                        out_downscale);
          concat_buffers[decoder.name] = buffer;
          output = PlannedView{buffer, pad(upsampled), spec.out_channels};
        } else {
          output = whole(new_buffer(spec.name + " output", pad(spec.out_channels), out_downscale),
                         spec.out_channels);
        }
        block(stage.name, spec, current, downscale, output, false, 0);
        current = output;
        downscale = out_downscale;
      }
      stage_out[stage.name] = current;
    }
    concat_buffers[input_taker.name] = input_concat;

    // Decoder: upsample into the concat buffer's first slice, then one block
    // (the last one with the final conv when it can: fused_head).
    bool head = false;
    for (size_t s = 4; s < 8; ++s) {
      const StageSpec& stage = arch_.stages[s];
      const InvertedResidualSpec& spec = arch_.blocks[stage.blocks.front()];
      const int concat = concat_buffers.at(stage.name);
      const int upsampled = current.channels;
      const PlannedView upsample_target{concat, 0, upsampled};
      add_step(PlannedStep{StepKind::kUpsample, stage.name + " upsample", -1, current, upsample_target,
                           PlannedView{}, 1, stage.name, false});
      downscale /= 2;
      const PlannedView concat_view{concat, 0, pad(upsampled) + (spec.in_channels - upsampled)};
      const bool wide = float_stage(stage.name);
      // (Not for a trainer's plan: its backward reads decode1's output.)
      head = s == 7 && !keep_stage_outputs && !keep_decoder_activations && fused_head(stage.name, spec, upsampled);
      if (head) {
        block(stage.name, spec, concat_view, downscale, PlannedView{}, true, upsampled);
        PlannedStep& step = plan_.steps.back();
        step.head_conv = arch_.final_conv;
        step.label = spec.name + " + " + arch_.convs[arch_.final_conv].name + " (fused block + output)";
        current = PlannedView{};
      } else {
        const int out = new_buffer(stage.name + " output", pad(spec.out_channels, wide), downscale, wide);
        block(stage.name, spec, concat_view, downscale, whole(out, spec.out_channels), true, upsampled);
        current = whole(out, spec.out_channels);
      }
      stage_out[stage.name] = current;
    }

    // The final conv reads the last block's FP32 (or the plan's) outputs.
    const bool float_head_input =
        head || plan_.buffers[current.buffer].element_bytes == sizeof(float);
    plain_input(arch_.final_conv, arch_.convs[arch_.final_conv].in_channels, float_head_input);
    if (!head) conv_step(StepKind::kOutput, arch_.final_conv, current, PlannedView{}, "");

    for (const char* name : {"conv1", "conv2", "conv3", "conv4", "decode4", "decode3", "decode2", "decode1"}) {
      plan_.stage_outputs.emplace_back(name, stage_out.at(name));  // decode1: none with the fused head
      if (keep_stage_outputs) {
        plan_.buffers[stage_out.at(name).buffer].last_step = static_cast<int>(plan_.steps.size());
      }
    }
    if (keep_decoder_activations) {
      // Every buffer a decoder step touches (its inputs, the concat buffers
      // with their skips, its outputs) lives to the end: the backward pass
      // reads them all after the forward.
      size_t first_decoder = 0;
      while (plan_.steps[first_decoder].kind != StepKind::kUpsample) ++first_decoder;
      for (size_t i = first_decoder; i < plan_.steps.size(); ++i) {
        for (const PlannedView* view : {&plan_.steps[i].input, &plan_.steps[i].output, &plan_.steps[i].residual}) {
          if (view->buffer >= 0) plan_.buffers[view->buffer].last_step = static_cast<int>(plan_.steps.size());
        }
      }
    }
  }

 private:
  static bool listed(const std::vector<std::string>& names, const std::string& name) {
    for (const std::string& n : names) {
      if (n == name) return true;
    }
    return false;
  }

  const StageSpec& stage_named(const std::string& name) const {
    for (const StageSpec& stage : arch_.stages) {
      if (stage.name == name) return stage;
    }
    throw std::logic_error("no stage " + name);
  }

  // Channels the decoder stage gets from upsampling the previous stage.
  int decoder_upsampled_channels(const StageSpec& decoder) const {
    for (size_t s = 1; s < arch_.stages.size(); ++s) {
      if (arch_.stages[s].name == decoder.name) return arch_.stages[s - 1].out_channels;
    }
    throw std::logic_error("no stage before " + decoder.name);
  }

  const Architecture& arch_;
  const MixedPrecision& mixed_;
  const bool fuse_blocks_;
  ExecutionPlan& plan_;
};

// First fit, largest buffer first, among buffers whose lifetimes overlap.
size_t assign_offsets(std::vector<PlannedBuffer>& buffers) {
  std::vector<size_t> order(buffers.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<size_t> placed;
  size_t arena = 0;
  for (size_t index : order) {
    PlannedBuffer& buffer = buffers[index];
    std::vector<std::pair<size_t, size_t>> taken;  // [begin, end) of live overlapping buffers
    for (size_t other_index : placed) {
      const PlannedBuffer& other = buffers[other_index];
      if (other.first_step <= buffer.last_step && buffer.first_step <= other.last_step) {
        taken.emplace_back(other.offset, other.offset + align_up(other.bytes, kArenaAlignment));
      }
    }
    std::sort(taken.begin(), taken.end());
    size_t offset = 0;
    for (const auto& range : taken) {
      if (offset + buffer.bytes <= range.first) break;
      offset = std::max(offset, range.second);
    }
    buffer.offset = offset;
    arena = std::max(arena, offset + align_up(buffer.bytes, kArenaAlignment));
    placed.push_back(index);
  }
  return arena;
}

}  // namespace

int pad_to_spatial_multiple(int size) {
  return (size + kSpatialMultiple - 1) / kSpatialMultiple * kSpatialMultiple;
}

ExecutionPlan make_execution_plan(const Architecture& arch, int max_batch, int max_height,
                                  int max_width, int channel_alignment, size_t element_bytes,
                                  bool keep_stage_outputs, bool keep_decoder_activations,
                                  const MixedPrecision& mixed, bool fuse_blocks) {
  ExecutionPlan plan;
  plan.max_batch = max_batch;
  plan.max_height = pad_to_spatial_multiple(max_height);
  plan.max_width = pad_to_spatial_multiple(max_width);
  plan.channel_alignment = channel_alignment;
  plan.element_bytes = element_bytes;
  PlanBuilder(arch, mixed, fuse_blocks, plan).build(keep_stage_outputs, keep_decoder_activations);
  plan.arena_bytes = assign_offsets(plan.buffers);
  return plan;
}

std::string activation_scale_name(const std::string& buffer_name) {
  std::string name = "act:" + buffer_name;
  for (char& c : name) {
    if (c == ' ') c = '.';
  }
  return name;
}

}  // namespace m2u
