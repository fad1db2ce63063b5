// test_execution_plan.cpp - the plan's invariants: buffers alive at the same
// time never share arena bytes, every view fits its buffer, concat slices
// sit where the decoder's weights expect them; arena sizes reported.
#include <doctest/doctest.h>

#include "architecture.h"
#include "execution_plan.h"

namespace {

m2u::Architecture arch(int in_channels) {
  return m2u::make_architecture(in_channels, 1, m2u::Activation::kRelu6, m2u::Activation::kSigmoid);
}

void check_invariants(const m2u::ExecutionPlan& plan) {
  for (size_t a = 0; a < plan.buffers.size(); ++a) {
    const m2u::PlannedBuffer& x = plan.buffers[a];
    REQUIRE_MESSAGE(x.first_step >= 0, x.name << " is never used");
    CHECK(x.offset % 256 == 0);
    CHECK(x.offset + x.bytes <= plan.arena_bytes);
    for (size_t b = a + 1; b < plan.buffers.size(); ++b) {
      const m2u::PlannedBuffer& y = plan.buffers[b];
      const bool live_together = x.first_step <= y.last_step && y.first_step <= x.last_step;
      const bool share_bytes = x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes;
      CHECK_MESSAGE(!(live_together && share_bytes), x.name << " and " << y.name << " overlap");
    }
  }
  for (const m2u::PlannedStep& step : plan.steps) {
    for (const m2u::PlannedView* v : {&step.input, &step.output, &step.residual}) {
      if (v->buffer < 0) continue;
      const int padded = (v->channels + plan.channel_alignment - 1) / plan.channel_alignment * plan.channel_alignment;
      CHECK_MESSAGE(v->channel_offset + padded <= plan.buffers[v->buffer].pixel_stride, step.label);
      CHECK(v->channel_offset % plan.channel_alignment == 0);
    }
  }
}

}  // namespace

TEST_CASE("plans hold their invariants for Cin 1 and 3, with and without kept stages") {
  for (int in_channels : {1, 3}) {
    for (bool keep : {false, true}) {
      check_invariants(m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 4, 4, keep));
      check_invariants(m2u::make_execution_plan(arch(in_channels), 2, 48, 80, 8, 2, keep));  // FP16
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
      const m2u::ExecutionPlan fp16 = m2u::make_execution_plan(arch(in_channels), 1, size, size, 8, 2, false);
      const m2u::ExecutionPlan int8 = m2u::make_execution_plan(arch(in_channels), 1, size, size, 16, 1, false);
      check_invariants(fp16);
      check_invariants(int8);
      const double ratio = static_cast<double>(fp16.arena_bytes) / fp32.arena_bytes;
      MESSAGE("Cin " << in_channels << ", " << size << "x" << size << ": arena FP32 "
                     << fp32.arena_bytes / (1024.0 * 1024.0) << " MiB, FP16 " << fp16.arena_bytes / (1024.0 * 1024.0)
                     << " MiB (ratio " << ratio << "), INT8 " << int8.arena_bytes / (1024.0 * 1024.0) << " MiB");
      CHECK(int8.arena_bytes < fp16.arena_bytes);
      // Channels pad to 4 floats or 8 halves (16 bytes each): a buffer of C
      // channels costs 2 pad8(C) bytes against 4 pad4(C), at most the same
      // (C <= 4) and exactly half for multiples of 8.
      CHECK(fp16.arena_bytes < fp32.arena_bytes);
      CHECK(ratio <= 0.56);
    }
  }
}
