// execution_plan.h - the forward pass as a list of kernel steps over
// buffers in one activation arena (no CUDA here: plain planning).
//
// Buffers hold NHWC activations with channels padded to the storage type's
// 16-byte group (kernels/tensor_view.h); every buffer has the plan's
// storage but those of FP16's FP32 decoder stages (MixedPrecision). The decoder's concat buffers are
// written in two slices: the skip tensor by its producer in the encoder
// (conv1 -> decode2's buffer, conv2 -> decode3's, conv3 -> decode4's, the
// network input -> decode1's) and the upsampled tensor by the upsampling
// kernel; the decoder's expand convolution reads the whole buffer. Buffer
// sizes are planned for the largest frame; a smaller frame uses the same
// offsets with smaller extents. Buffers whose lifetimes do not overlap share
// arena memory (first fit, largest first).
#ifndef M2U_RUNTIME_ENGINE_EXECUTION_PLAN_H
#define M2U_RUNTIME_ENGINE_EXECUTION_PLAN_H

#include <cstddef>
#include <string>
#include <vector>

#include "architecture.h"

namespace m2u {

// The widest block output a fused step takes (the fused kernel's
// kMaxFusedOutputChannels; engine.cpp checks that they agree).
constexpr int kMaxFusedBlockOutputs = 64;
// And the widest block input (kMaxFusedInputChannels): decode2's and
// decode1's concat rows fit (64 and 40 padded channels in FP16, 60 and 36
// in FP32), decode4's and decode3's (128, 88) do not.
constexpr int kMaxFusedBlockInputs = 64;
// Fusion pays where a block is DRAM bound: the work model (README
// "Performance model", tests/engine/test_fusion_model.cpp) with the fused
// kernel's 8x8 tiles gains for conv2.2 .. conv4.7 (hidden 96 .. 192) and
// loses for the compute-bound conv4.8 .. conv4.13 (hidden 384, 576), whose
// recomputed halo (1.56x the expand's work at stride 1) costs more than
// the traffic saves, on every profile in FP32 and FP16.
constexpr int kMaxFusedHiddenChannels = 192;
// The fused head's limits (the kernel's kMaxFusedHeadBlockOutputs and
// kMaxFusedHeadOutputs; engine.cpp checks that they agree).
constexpr int kMaxFusedHeadInputs = 16;
constexpr int kMaxFusedHeadChannels = 4;

struct PlannedBuffer {
  std::string name;
  int pixel_stride;  // padded channels per pixel
  int downscale;     // resolution = network input / downscale
  size_t bytes;      // at the planned (largest) size
  int first_step;
  int last_step;
  size_t offset;     // in the arena
  // The plan's storage (ExecutionPlan::element_bytes), or FP32 (4 bytes,
  // channels padded to 4) in a MixedPrecision::float_stages stage.
  size_t element_bytes;
};

// A channel slice of a buffer.
struct PlannedView {
  int buffer = -1;  // -1: none
  int channel_offset = 0;
  int channels = 0;  // logical channels of the view (for the decoder's
                     // concat reads: pad(C_up) + C_skip, gap included)
};

// kFusedBlock: an inverted-residual block (expand, depthwise,
// project) as one launch (inverted_residual_fused); its conv is the
// expand, depthwise_conv and project_conv the other two.
enum class StepKind { kInputConvert, kStem, kPointwise, kDepthwise, kUpsample, kOutput, kFusedBlock };

struct PlannedStep {
  StepKind kind;
  std::string label;  // e.g. "conv4.13.conv.3 (depthwise)"
  int conv = -1;      // index into Architecture::convs, -1 for input/upsample
  PlannedView input;
  PlannedView output;
  PlannedView residual;
  int stride = 1;
  std::string stage;  // "conv1".."decode1"; "" for the input conversion and the final 1x1
  bool half2 = false;  // a 1x1 or depthwise step in half2 arithmetic (MixedPrecision::half2_stages)
  int depthwise_conv = -1;  // kFusedBlock: its depthwise and project convs
  int project_conv = -1;
  // kFusedBlock: the network's final 1x1 conv run in the block's epilogue
  // (the fused head, inverted_residual_fused_head): the step has no output
  // view and writes the probabilities; -1: none.
  int head_conv = -1;
};

// FP16's per-layer choice (layer_precision.h says which stages and why).
// A stage in float_stages must be a decoder stage: its own buffers (the
// expanded, depthwise and output tensors) are FP32; its concat buffer,
// which its skip's producer also writes, keeps the plan's storage. The 1x1
// and depthwise steps of a stage in half2_stages are marked half2.
struct MixedPrecision {
  std::vector<std::string> float_stages;
  std::vector<std::string> half2_stages;
};

// For 1x1 convolutions (expand, project, output): logical input channel c
// lands in column input_columns[c] of the packed weight rows, which are
// row_length long (zeros elsewhere). Empty for the stem and depthwise convs.
struct ConvInputLayout {
  std::vector<int> input_columns;
  int row_length = 0;
};

struct ExecutionPlan {
  int max_batch = 0;
  int max_height = 0;  // padded to kSpatialMultiple
  int max_width = 0;
  int channel_alignment = 0;
  size_t element_bytes = 0;
  std::vector<PlannedBuffer> buffers;
  std::vector<PlannedStep> steps;
  std::vector<ConvInputLayout> conv_inputs;  // per Architecture::convs entry
  // Stage outputs ("conv1".."conv4", "decode4".."decode1") as views, valid
  // after the run only when the plan keeps them (keep_stage_outputs).
  std::vector<std::pair<std::string, PlannedView>> stage_outputs;
  size_t arena_bytes = 0;
};

// Plans the forward of `arch` for frames up to max_batch x max_height x
// max_width (padded up to multiples of 16 here). `keep_stage_outputs`
// extends the stage outputs' lifetimes to the end (for tests that compare
// every stage; costs arena memory). `keep_decoder_activations` does the same
// for every buffer a decoder step reads or writes (decoder fine-tuning's
// backward pass reads them; the encoder's buffers are still shared).
// `mixed` marks FP32 stages and half2 steps (empty: one storage, no half2).
// `fuse_blocks` plans every block with an expand conv, at most
// kMaxFusedHiddenChannels hidden, kMaxFusedBlockInputs padded input (a
// decoder block's whole concat row) and kMaxFusedBlockOutputs padded output
// channels as one kFusedBlock step: its expanded and depthwise tensors get
// no buffers (FP32 engines; FP16's half2 stages and FP32 decoder stages).
// With fuse_blocks and without keep_stage_outputs, the last decoder block,
// when fused in FP32 arithmetic at stride 1 without a residual, with at most
// kMaxFusedHeadBlockOutputs outputs and a final conv of at most
// kMaxFusedHeadOutputs channels, also runs the final conv (head_conv): no
// output step, and its stage output ("decode1") gets no buffer.
ExecutionPlan make_execution_plan(const Architecture& arch, int max_batch, int max_height,
                                  int max_width, int channel_alignment, size_t element_bytes,
                                  bool keep_stage_outputs, bool keep_decoder_activations = false,
                                  const MixedPrecision& mixed = MixedPrecision{}, bool fuse_blocks = false);

int pad_to_spatial_multiple(int size);

// The name of a plan buffer's INT8 activation scale in a calibrated model's
// quantisation table: "act:" + the buffer's name with spaces as dots
// ("act:decode1.concat").
std::string activation_scale_name(const std::string& buffer_name);

}  // namespace m2u

#endif  // M2U_RUNTIME_ENGINE_EXECUTION_PLAN_H
