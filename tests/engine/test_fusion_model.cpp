// test_fusion_model.cpp - F7's fusion study on the work model: what fusing
// each inverted-residual block (expand 1x1 -> depthwise 3x3 -> project 1x1
// in one kernel, the expanded tensor in shared memory, the halo's expand
// recomputed) and each decoder stage (upsample + concat + block, decode1
// with the final 1x1) would move and cost on the target profiles, from the
// forward's own rows. Fusion pays where the block is DRAM bound; the
// recomputed halo makes compute-bound blocks slower. Checks the model's
// invariants and prints the per-block table (README "Performance model").
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "device_profiles.h"
#include "engine.h"
#include "engine_test_support.h"
#include "execution_plan.h"
#include "weights_loader.h"

namespace {

struct Block {
  std::string name;         // "conv2.2", "decode1"
  std::vector<size_t> rows;  // consecutive rows of the forward
  bool decoder = false;
};

std::string block_of(const std::string& layer) {
  const size_t conv = layer.find(".conv.");
  if (layer.rfind("decode", 0) == 0) return layer.substr(0, 7);  // "decode1" (upsample, ir1.*, output)
  if (conv != std::string::npos && layer.rfind("conv1.0", 0) != 0) return layer.substr(0, conv);
  return "";
}

std::vector<Block> blocks_of(const m2u::WorkModel& work) {
  std::vector<Block> blocks;
  for (size_t i = 0; i < work.rows.size(); ++i) {
    const std::string name = block_of(work.rows[i].layer);
    if (name.empty()) continue;
    if (blocks.empty() || blocks.back().name != name) blocks.push_back(Block{name, {}, name.rfind("decode", 0) == 0});
    blocks.back().rows.push_back(i);
  }
  return blocks;
}

// The expand's (and upsample's) recomputed halo for an output tile of
// `tile` x `tile` pixels at the depthwise stride.
double halo_factor(int tile, int stride) {
  const double side = stride * tile + (stride == 1 ? 2.0 : 1.0);
  return side * side / (static_cast<double>(stride * tile) * stride * tile);
}

struct Estimate {
  double bytes = 0, compute_us = 0, us = 0;
  long long launches = 0;
};

// The block as it runs now: its rows' launches.
Estimate unfused(const m2u::WorkModel& work, const Block& b, const m2u::DeviceProfile& p) {
  Estimate e;
  for (size_t i : b.rows) {
    const m2u::LaunchEstimate le = m2u::estimate_launch(p, work.rows[i]);
    e.bytes += work.rows[i].bytes_read + work.rows[i].bytes_written;
    e.compute_us += le.compute_us;
    e.us += le.us;
    e.launches += work.rows[i].launches;
  }
  return e;
}

// The block as one kernel: its external inputs read once, its output
// written once, the weights, and the rows' arithmetic with the halo.
Estimate fused(const m2u::WorkModel& work, const Block& b, const m2u::DeviceProfile& p, int tile) {
  const std::vector<m2u::KernelWork>& r = work.rows;
  const m2u::KernelWork& first = r[b.rows.front()];
  const m2u::KernelWork& last = r[b.rows.back()];
  Estimate e;
  e.launches = 1;
  for (size_t i : b.rows) e.bytes += r[i].weight_bytes;
  e.bytes += last.bytes_written;  // a residual is the block's input: read once
  if (b.decoder) {
    // The upsample's low-resolution input, and the skip slice of the concat
    // buffer (the expand's read less the upsampled slice).
    const m2u::KernelWork& expand = r[b.rows[1]];
    e.bytes += first.bytes_read + (expand.bytes_read - expand.weight_bytes - first.bytes_written);
  } else {
    e.bytes += first.bytes_read - first.weight_bytes - first.residual_bytes;
  }
  int stride = 1;
  for (size_t k = 1; k < b.rows.size(); ++k) {
    if (r[b.rows[k]].kernel == "depthwise 3x3" && r[b.rows[k - 1]].height > r[b.rows[k]].height) stride = 2;
  }
  bool before_depthwise = true;
  for (size_t i : b.rows) {
    m2u::KernelWork compute_only = r[i];
    compute_only.bytes_read = compute_only.bytes_written = 0;
    compute_only.launches = 0;
    if (r[i].kernel == "depthwise 3x3") before_depthwise = false;
    if (before_depthwise) compute_only.multiply_adds *= halo_factor(tile, stride);
    e.compute_us += m2u::estimate_launch(p, compute_only).compute_us;
  }
  const double dram_us = e.bytes / (p.dram_gbps * p.dram_fraction * 1e3);
  e.us = p.launch_us + std::max(e.compute_us, dram_us);
  return e;
}

m2u::WorkModel forward_work(m2u_precision precision) {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path("cin1_relu.m2u"), &model, &error), error);
  engine_test::add_stand_in_activation_scales(&model, 512, 512);
  m2u::EngineOptions options;
  options.precision = precision;
  m2u_status status = M2U_OK;
  std::unique_ptr<m2u::Engine> engine = m2u::Engine::create(model, options, &status, &error);
  REQUIRE_MESSAGE(engine, error);
  return engine->work_model(m2u::WorkRequest{});
}

}  // namespace

TEST_CASE("fusing the blocks: the model's numbers per block, and where fusion pays (512 x 512, Cin 1)") {
  // Output pixels per side of a fused kernel's tile: 8 is
  // inverted_residual_fused's (the table); 16 would recompute less halo
  // (the summary line).
  for (const int tile : {8, 16}) {
  struct Case {
    m2u_precision precision;
    const char* name;
    const char* profile;
  };
  for (const Case c : {Case{M2U_PRECISION_FP16, "FP16", "nano"}, Case{M2U_PRECISION_FP32, "FP32", "nano"},
                       Case{M2U_PRECISION_INT8, "INT8", "orin-nano"}}) {
    const m2u::DeviceProfile& p = *m2u::find_device_profile(c.profile);
    const m2u::WorkModel work = forward_work(c.precision);
    const std::vector<Block> blocks = blocks_of(work);
    REQUIRE(blocks.size() == 17);  // conv1.1, 12 encoder blocks, 4 decoder stages
    std::string table = std::string(c.name) + " on " + c.profile + ", tile " + std::to_string(tile) + "x" +
                        std::to_string(tile) +
                        "\n| block | launches | MB now | MB fused | us now | us fused | fuse |\n"
                        "|---|---:|---:|---:|---:|---:|---|\n";
    double now_us = 0, after_us = 0, now_mb = 0, after_mb = 0;
    long long after_launches = 0;
    for (const Block& b : blocks) {
      const Estimate before = unfused(work, b, p), after = fused(work, b, p, tile);
      CHECK_MESSAGE(after.bytes <= before.bytes, b.name);          // fusion never adds traffic
      CHECK_MESSAGE(after.compute_us >= before.compute_us * 0.999, b.name);  // nor removes arithmetic
      const bool fuse = after.us < before.us;
      now_us += before.us;
      now_mb += before.bytes / 1e6;
      after_us += fuse ? after.us : before.us;
      after_mb += (fuse ? after.bytes : before.bytes) / 1e6;
      after_launches += fuse ? 1 : before.launches;
      char line[200];
      std::snprintf(line, sizeof(line), "| %s | %lld | %.2f | %.2f | %.0f | %.0f | %s |\n", b.name.c_str(),
                    before.launches, before.bytes / 1e6, after.bytes / 1e6, before.us, after.us, fuse ? "yes" : "no");
      table += line;
    }
    // The rows outside the blocks (statistics, input conversion, stem) stay.
    double rest_us = 0, rest_mb = 0;
    long long rest_launches = work.total.launches;
    for (const Block& b : blocks)
      for (size_t i : b.rows) rest_launches -= work.rows[i].launches;
    for (size_t i = 0; i < work.rows.size(); ++i) {
      if (!block_of(work.rows[i].layer).empty()) continue;
      rest_us += m2u::estimate_launch(p, work.rows[i]).us;
      rest_mb += (work.rows[i].bytes_read + work.rows[i].bytes_written) / 1e6;
    }
    char line[300];
    std::snprintf(line, sizeof(line),
                  "forward now: %lld launches, %.1f MB, %.2f ms; with the fusions marked yes: %lld launches, "
                  "%.1f MB, %.2f ms (a model, not a timing)\n",
                  work.total.launches, now_mb + rest_mb, (now_us + rest_us) / 1e3, after_launches + rest_launches,
                  after_mb + rest_mb, (after_us + rest_us) / 1e3);
    table += line;
    if (tile == 8) {
      MESSAGE("\n" << table);
    } else {
      MESSAGE(std::string(c.name) << " on " << c.profile << ", tile 16x16: " << std::string(line));
    }
    CHECK(after_us <= now_us);
  }
  }
}
