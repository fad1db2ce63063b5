// test_execution_plan.cpp - the plan's invariants: buffers alive at the same
// time never share arena bytes, every view fits its buffer, concat slices
// sit where the decoder's weights expect them, FP16's mixed precision marks
// exactly the stages it names; arena sizes reported.
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>

#include "architecture.h"
#include "execution_plan.h"
#include "layer_precision.h"

namespace {

m2u::Architecture arch(int in_channels) {
  return m2u::make_architecture(in_channels, 1, m2u::Activation::kRelu6, m2u::Activation::kSigmoid);
}

void check_invariants(const m2u::ExecutionPlan& plan) {
  for (size_t a = 0; a < plan.buffers.size(); ++a) {
    const m2u::PlannedBuffer& x = plan.buffers[a];
    REQUIRE_MESSAGE(x.first_step >= 0, x.name << " is never used");
    CHECK(x.offset % 256 == 0);
    CHECK((x.element_bytes == plan.element_bytes || x.element_bytes == 4));
    CHECK(x.offset + x.bytes <= plan.arena_bytes);
    for (size_t b = a + 1; b < plan.buffers.size(); ++b) {
      const m2u::PlannedBuffer& y = plan.buffers[b];
      const bool live_together = x.first_step <= y.last_step && y.first_step <= x.last_step;
      const bool share_bytes = x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
      CHECK_MESSAGE(!(live_together && share_bytes), x.name << " and " << y.name << " overlap");
    }
  }
  // Exactly one step writes the probabilities, the last: the final conv's
  // own, or the fused head (the last decoder block with the final conv, no
  // output view).
  int probability_steps = 0;
  for (const m2u::PlannedStep& step : plan.steps) {
    const bool head = step.head_conv >= 0;
    probability_steps += step.kind == m2u::StepKind::kOutput || head;
    if (head) {
      CHECK(step.kind == m2u::StepKind::kFusedBlock);
      CHECK(step.output.buffer == -1);
      CHECK(step.residual.buffer == -1);
      CHECK(step.stride == 1);
    }
  }
  CHECK(probability_steps == 1);
  REQUIRE(!plan.steps.empty());
  CHECK((plan.steps.back().kind == m2u::StepKind::kOutput || plan.steps.back().head_conv >= 0));
  for (const m2u::PlannedStep& step : plan.steps) {
    for (const m2u::PlannedView* v : {&step.input, &step.output, &step.residual}) {
      if (v->buffer < 0) continue;
      // A buffer's channels pad to its own element's 16-byte group.
      const int alignment = static_cast<int>(16 / plan.buffers[v->buffer].element_bytes);
      const int padded = (v->channels + alignment - 1) / alignment * alignment;
      CHECK_MESSAGE(v->channel_offset + padded <= plan.buffers[v->buffer].pixel_stride, step.label);
      CHECK(v->channel_offset % alignment == 0);
    }
  }
}

// A decoder stage's upsampled channels: the previous stage's output.
int upsampled_channels(const m2u::Architecture& a, const std::string& stage) {
  for (size_t i = 1; i < a.stages.size(); ++i) {
    if (a.stages[i].name == stage) return a.stages[i - 1].out_channels;
  }
  return -1;
}

int pad_to(int channels, int alignment) { return (channels + alignment - 1) / alignment * alignment; }

}  // namespace

TEST_CASE("plans hold their invariants for Cin 1 and 3, with and without kept stages") {
  for (int in_channels : {1, 3}) {
    for (bool keep : {false, true}) {
      check_invariants(m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 4, 4, keep));
      check_invariants(m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 8, 2, keep));  // FP16, all half
      check_invariants(m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 8, 2, keep, false,
                                                m2u::fp16_mixed_precision()));
    }
  }
}

TEST_CASE("decoder fine-tuning's plan: every buffer a decoder step touches keeps its bytes to the end") {
  for (int in_channels : {1, 3}) {
    const m2u::ExecutionPlan plan = m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 4, 4, false, true);
    check_invariants(plan);
    size_t first_decoder = 0;
    while (plan.steps[first_decoder].kind != m2u::StepKind::kUpsample) ++first_decoder;
    int kept = 0;
    for (size_t i = first_decoder; i < plan.steps.size(); ++i) {
      for (const m2u::PlannedView* v : {&plan.steps[i].input, &plan.steps[i].output}) {
        if (v->buffer < 0) continue;
        const m2u::PlannedBuffer& b = plan.buffers[v->buffer];
        CHECK_MESSAGE(b.last_step == static_cast<int>(plan.steps.size()), b.name);
        // Nothing written after this buffer's first use reuses its bytes.
        for (const m2u::PlannedBuffer& other : plan.buffers) {
          if (&other == &b || other.last_step < b.first_step) continue;
          CHECK_MESSAGE(!(b.offset < other.offset + other.bytes && other.offset < b.offset + b.bytes),
                        b.name << " shares bytes with " << other.name);
        }
        ++kept;
      }
    }
    CHECK(kept > 0);
    // The encoder still shares: the plan is smaller than one without reuse.
    size_t all = 0;
    for (const m2u::PlannedBuffer& b : plan.buffers) all += b.bytes;
    CHECK(plan.arena_bytes < all);
  }
}

TEST_CASE("frame sizes are padded to multiples of 16") {
  const m2u::ExecutionPlan plan = m2u::make_execution_plan(arch(1), 1, 40, 70, 4, 4, false);
  CHECK(plan.max_height == 48);
  CHECK(plan.max_width == 80);
}

TEST_CASE("decoder concat layout: skip slices after the padded upsampled channels") {
  const m2u::Architecture a = arch(3);
  const m2u::ExecutionPlan plan = m2u::make_execution_plan(a, 1, 64, 64, 4, 4, false);
  // decode1.ir1's expand conv reads [30 upsampled | 2 pad | 3 input | 1 pad].
  const int expand = a.blocks[a.stages[7].blocks.front()].convs.front();
  const m2u::ConvInputLayout& layout = plan.conv_inputs[expand];
  REQUIRE(layout.input_columns.size() == 33);
  CHECK(layout.input_columns[29] == 29);
  CHECK(layout.input_columns[30] == 32);
  CHECK(layout.row_length == 36);
}

TEST_CASE("arena sizes (FP32) at 256, 512 and 1024 square") {
  for (int size : {256, 512, 1024}) {
    const m2u::ExecutionPlan plan = m2u::make_execution_plan(arch(3), 1, size, size, 4, 4, false);
    size_t total = 0;
    for (const m2u::PlannedBuffer& b : plan.buffers) total += b.bytes;
    MESSAGE("Cin 3, " << size << "x" << size << ": arena " << plan.arena_bytes / (1024.0 * 1024.0)
                      << " MiB for " << plan.buffers.size() << " buffers of " << total / (1024.0 * 1024.0)
                      << " MiB in all");
    CHECK(plan.arena_bytes < total);
  }
}

TEST_CASE("arena per precision at 512x512 and 3000x3000: FP16 at most half of FP32 plus the padding, INT8 less") {
  for (int in_channels : {1, 3}) {
    for (int size : {512, 3000}) {
      const m2u::ExecutionPlan fp32 = m2u::make_execution_plan(arch(in_channels), 1, size, size, 4, 4, false);
      const m2u::ExecutionPlan fp16 =
          m2u::make_execution_plan(arch(in_channels), 1, size, size, 8, 2, false, false, m2u::fp16_mixed_precision());
      const m2u::ExecutionPlan int8 = m2u::make_execution_plan(arch(in_channels), 1, size, size, 16, 1, false);
      check_invariants(fp16);
      check_invariants(int8);
      const double ratio = static_cast<double>(fp16.arena_bytes) / fp32.arena_bytes;
      MESSAGE("Cin " << in_channels << ", " << size << "x" << size << ": arena FP32 "
                     << fp32.arena_bytes / (1024.0 * 1024.0) << " MiB, FP16 " << fp16.arena_bytes / (1024.0 * 1024.0)
                     << " MiB (ratio " << ratio << "), INT8 " << int8.arena_bytes / (1024.0 * 1024.0) << " MiB");
      CHECK(int8.arena_bytes < fp16.arena_bytes);
      // Channels pad to 4 floats or 8 halves (16 bytes each): a half buffer
      // of C channels costs 2 pad8(C) bytes against 4 pad4(C), exactly half
      // for multiples of 8. decode2's and decode1's own FP32 buffers are
      // narrow (their expansion is 0.15) and fit beside the peak, which is
      // in the encoder: measured 0.530 with and without them.
      CHECK(fp16.arena_bytes < fp32.arena_bytes);
      CHECK(ratio <= 0.56);
    }
  }
}

TEST_CASE("FP16's mixed precision: FP32 buffers only in decode2 and decode1 (not their concat), half2 only in conv2-conv4") {
  const m2u::MixedPrecision mixed = m2u::fp16_mixed_precision();
  auto named = [](const std::vector<std::string>& stages, const std::string& stage) {
    return std::find(stages.begin(), stages.end(), stage) != stages.end();
  };
  const m2u::ExecutionPlan plan = m2u::make_execution_plan(arch(1), 1, 48, 80, 8, 2, false, false, mixed);
  check_invariants(plan);
  int float_buffers = 0;
  for (const m2u::PlannedBuffer& b : plan.buffers) {
    const std::string stage = b.name.substr(0, b.name.find_first_of(". "));
    const bool concat = b.name.find("concat") != std::string::npos;
    const size_t expected = named(mixed.float_stages, stage) && !concat ? 4 : 2;
    CHECK_MESSAGE(b.element_bytes == expected, b.name);
    CHECK_MESSAGE(b.pixel_stride % (16 / static_cast<int>(b.element_bytes)) == 0, b.name);
    float_buffers += b.element_bytes == 4;
  }
  CHECK(float_buffers == 6);  // expanded, depthwise and output of decode2 and decode1
  int half2_steps = 0;
  for (const m2u::PlannedStep& step : plan.steps) {
    const bool conv = step.kind == m2u::StepKind::kPointwise || step.kind == m2u::StepKind::kDepthwise;
    CHECK_MESSAGE(step.half2 == (conv && named(mixed.half2_stages, step.stage)), step.label);
    half2_steps += step.half2;
    if (step.kind == m2u::StepKind::kOutput) CHECK(step.stage.empty());
    if (step.kind == m2u::StepKind::kStem) CHECK(step.stage == "conv1");
  }
  CHECK(half2_steps == 36);  // conv2 2 blocks, conv3 3, conv4 7; 3 convs each
  // The final 1x1 reads decode1's FP32 output with FP32 columns.
  CHECK(plan.conv_inputs[arch(1).final_conv].row_length == 16);
  // No plan without mixed precision has an FP32 buffer or a half2 step.
  const m2u::ExecutionPlan all_half = m2u::make_execution_plan(arch(1), 1, 48, 80, 8, 2, false);
  for (const m2u::PlannedBuffer& b : all_half.buffers) CHECK(b.element_bytes == 2);
  for (const m2u::PlannedStep& step : all_half.steps) CHECK(!step.half2);
}

TEST_CASE("mixed precision refuses an encoder stage in FP32 and a stage the network does not have") {
  m2u::MixedPrecision encoder;
  encoder.float_stages = {"conv3"};
  CHECK_THROWS_AS(m2u::make_execution_plan(arch(1), 1, 48, 80, 8, 2, false, false, encoder), std::logic_error);
  m2u::MixedPrecision unknown;
  unknown.half2_stages = {"conv9"};
  CHECK_THROWS_AS(m2u::make_execution_plan(arch(1), 1, 48, 80, 8, 2, false, false, unknown), std::logic_error);
}

TEST_CASE("fused blocks: each block with an expand, up to 192 hidden channels and 64 padded inputs, is one step, "
          "its hidden tensors get no buffers") {
  for (int in_channels : {1, 3}) {
    const m2u::ExecutionPlan unfused = m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 4, 4, false);
    for (bool keep : {false, true}) {
      const m2u::ExecutionPlan fused =
          m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 4, 4, keep, false, m2u::MixedPrecision{}, true);
      check_invariants(fused);
      int fused_steps = 0, decoder_steps = 0, head_steps = 0;
      for (const m2u::PlannedStep& step : fused.steps) {
        if (step.kind != m2u::StepKind::kFusedBlock) {
          CHECK(step.depthwise_conv == -1);
          continue;
        }
        ++fused_steps;
        const m2u::Architecture a = arch(in_channels);
        // The block's three convs, in order, and its stride and residual.
        CHECK(step.depthwise_conv == step.conv + 1);
        CHECK(step.project_conv == step.conv + 2);
        CHECK(a.convs[step.depthwise_conv].is_depthwise());
        CHECK(a.convs[step.depthwise_conv].stride == step.stride);
        if (step.head_conv >= 0) {
          // The fused head: decode1.ir1 with the final conv, its 16 FP32
          // outputs the final conv's columns; only without kept stages.
          ++head_steps;
          CHECK_FALSE(keep);
          CHECK(step.stage == "decode1");
          CHECK(step.head_conv == a.final_conv);
          CHECK(fused.conv_inputs[a.final_conv].row_length == 16);
        } else {
          CHECK(step.output.channels == a.convs[step.project_conv].out_channels);
        }
        if (step.residual.buffer >= 0) {
          CHECK(step.residual.buffer == step.input.buffer);
          CHECK(step.stride == 1);
        }
        // The plan's weight rows are the fused kernel's: a decoder block
        // reads its whole concat row, [upsampled, padded | skip, padded].
        const int in = a.convs[step.conv].in_channels;
        if (step.stage == "decode2" || step.stage == "decode1") {
          ++decoder_steps;
          const int up = upsampled_channels(a, step.stage);
          CHECK(step.input.channels == pad_to(up, 4) + in - up);  // the concat view: up padded, then skip
          CHECK(fused.conv_inputs[step.conv].row_length == pad_to(up, 4) + pad_to(in - up, 4));
          CHECK(fused.conv_inputs[step.conv].row_length == unfused.conv_inputs[step.conv].row_length);
        } else {
          CHECK_MESSAGE(step.stage.rfind("conv", 0) == 0, step.label);
          CHECK(fused.conv_inputs[step.conv].row_length == pad_to(in, 4));
        }
        CHECK(fused.conv_inputs[step.project_conv].row_length == pad_to(a.convs[step.conv].out_channels, 4));
      }
      // conv2.2, conv2.3, conv3.4 .. conv3.6, conv4.7, decode2.ir1, decode1.ir1
      // (conv1.1 has no expand; conv4.8 .. conv4.13 are wider than
      // kMaxFusedHiddenChannels; decode4's and decode3's concat rows than
      // kMaxFusedBlockInputs).
      CHECK(fused_steps == 8);
      CHECK(decoder_steps == 2);
      // Without kept stages the final conv is the head's: one step and
      // decode1's output buffer fewer.
      const size_t head_saves = keep ? 0 : 1;
      CHECK(head_steps == static_cast<int>(head_saves));
      CHECK(fused.steps.size() == unfused.steps.size() - 2 * 8 - head_saves);
      for (const m2u::PlannedBuffer& b : fused.buffers) {
        const bool hidden = b.name.find(" expanded") != std::string::npos ||
                            b.name.find(" depthwise") != std::string::npos;
        // Left: conv1.1's depthwise (no expand), conv4.8 .. conv4.13's,
        // decode4's and decode3's.
        if (hidden) {
          CHECK_MESSAGE((b.name.rfind("conv1", 0) == 0 || b.name.rfind("decode4", 0) == 0 ||
                         b.name.rfind("decode3", 0) == 0 ||
                         (b.name.rfind("conv4.7", 0) != 0 && b.name.rfind("conv4.", 0) == 0)),
                        b.name);
        }
      }
      CHECK(fused.buffers.size() == unfused.buffers.size() - 2 * 8 - head_saves);
      CHECK(fused.stage_outputs.size() == unfused.stage_outputs.size());
      CHECK((fused.stage_outputs.back().first == "decode1" && (fused.stage_outputs.back().second.buffer < 0) == !keep));
      if (!keep) CHECK(fused.arena_bytes < unfused.arena_bytes);
      if (!keep) {
        MESSAGE("Cin " << in_channels << ", 2 x 48 x 80: arena " << unfused.arena_bytes << " bytes, fused "
                       << fused.arena_bytes);
      }
    }
  }
}

TEST_CASE("the fused head needs FP32 arithmetic in decode1 and a plan that keeps neither stages nor decoder "
          "activations") {
  const auto heads = [](const m2u::ExecutionPlan& plan) {
    int count = 0;
    for (const m2u::PlannedStep& step : plan.steps) count += step.head_conv >= 0;
    return count;
  };
  const m2u::Architecture a = arch(1);
  CHECK(heads(m2u::make_execution_plan(a, 1, 48, 80, 4, 4, false, false, m2u::MixedPrecision{}, true)) == 1);
  CHECK(heads(m2u::make_execution_plan(a, 1, 48, 80, 8, 2, false, false, m2u::fp16_mixed_precision(), true)) == 1);
  // All-half storage (decode1 fused in half2), kept stages, a trainer's plan.
  const m2u::ExecutionPlan half = m2u::make_execution_plan(a, 1, 48, 80, 8, 2, false, false, m2u::MixedPrecision{}, true);
  check_invariants(half);
  CHECK(heads(half) == 0);
  CHECK(heads(m2u::make_execution_plan(a, 1, 48, 80, 4, 4, true, false, m2u::MixedPrecision{}, true)) == 0);
  const m2u::ExecutionPlan training = m2u::make_execution_plan(a, 1, 48, 80, 4, 4, false, true, m2u::MixedPrecision{}, true);
  check_invariants(training);
  CHECK(heads(training) == 0);
}

TEST_CASE("arena with fused blocks at 512x512, 1024x1024 and 3000x3000 (FP32 and FP16, Cin 1)") {
  for (int size : {512, 1024, 3000}) {
    const m2u::ExecutionPlan unfused = m2u::make_execution_plan(arch(1), 1, size, size, 4, 4, false);
    const m2u::ExecutionPlan fused =
        m2u::make_execution_plan(arch(1), 1, size, size, 4, 4, false, false, m2u::MixedPrecision{}, true);
    const m2u::ExecutionPlan half =
        m2u::make_execution_plan(arch(1), 1, size, size, 8, 2, false, false, m2u::fp16_mixed_precision());
    const m2u::ExecutionPlan half_fused =
        m2u::make_execution_plan(arch(1), 1, size, size, 8, 2, false, false, m2u::fp16_mixed_precision(), true);
    check_invariants(fused);
    check_invariants(half_fused);
    MESSAGE(size << "x" << size << ": arena FP32 " << unfused.arena_bytes / 1048576.0 << " MiB, fused "
                 << fused.arena_bytes / 1048576.0 << " MiB; FP16 " << half.arena_bytes / 1048576.0 << " MiB, fused "
                 << half_fused.arena_bytes / 1048576.0 << " MiB");
    CHECK(fused.arena_bytes < unfused.arena_bytes);
    CHECK(half_fused.arena_bytes < half.arena_bytes);
  }
}

TEST_CASE("FP16 fused blocks: the half2 stages' blocks, marked half2, their weight rows padded to 8 halves; "
          "decode2's and decode1's in FP32 from the half concat buffer") {
  const m2u::Architecture a = arch(1);
  const m2u::ExecutionPlan fused =
      m2u::make_execution_plan(a, 1, 48, 80, 8, 2, false, false, m2u::fp16_mixed_precision(), true);
  check_invariants(fused);
  int fused_steps = 0;
  for (const m2u::PlannedStep& step : fused.steps) {
    if (step.kind != m2u::StepKind::kFusedBlock) continue;
    ++fused_steps;
    if (step.stage == "decode2" || step.stage == "decode1") {
      // FP32 arithmetic: the concat row in half storage (8-half groups), the
      // project row and the output in float.
      const int up = upsampled_channels(a, step.stage), in = a.convs[step.conv].in_channels;
      CHECK_FALSE(step.half2);
      CHECK(fused.conv_inputs[step.conv].row_length == pad_to(up, 8) + pad_to(in - up, 8));
      CHECK(fused.conv_inputs[step.project_conv].row_length == pad_to(a.convs[step.conv].out_channels, 4));
      CHECK(fused.buffers[step.input.buffer].element_bytes == 2);
      if (step.stage == "decode1") {
        // The fused head: the block's FP32 outputs stay on chip.
        CHECK(step.head_conv == a.final_conv);
        CHECK(step.output.buffer == -1);
      } else {
        CHECK(fused.buffers[step.output.buffer].element_bytes == 4);
      }
      continue;
    }
    CHECK(step.half2);
    CHECK((step.stage == "conv2" || step.stage == "conv3" || step.stage == "conv4"));
    CHECK(fused.conv_inputs[step.conv].row_length == pad_to(a.convs[step.conv].in_channels, 8));
    CHECK(fused.conv_inputs[step.project_conv].row_length == pad_to(a.convs[step.conv].out_channels, 8));
  }
  CHECK(fused_steps == 8);
  // A half2 stage list without conv2 leaves conv2's blocks unfused.
  m2u::MixedPrecision some = m2u::fp16_mixed_precision();
  some.half2_stages = {"conv3", "conv4"};
  const m2u::ExecutionPlan partial = m2u::make_execution_plan(a, 1, 48, 80, 8, 2, false, false, some, true);
  int partial_steps = 0;
  for (const m2u::PlannedStep& step : partial.steps) {
    if (step.kind == m2u::StepKind::kFusedBlock) {
      ++partial_steps;
      CHECK(step.stage != "conv2");
    }
  }
  CHECK(partial_steps == 6);  // conv3.4 .. conv3.6, conv4.7, decode2.ir1, decode1.ir1
}
