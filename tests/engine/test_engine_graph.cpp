// test_engine_graph.cpp - the engine's cuda_graph option: the device work of
// a run is captured once per frame layout and replayed; every run's output
// is bit-identical to an engine without graphs, in every precision and with
// fused blocks; a new layout (size, dtype, a device buffer's address)
// captures anew and pinned or pageable frames do not (they go through the
// engine's staging); a layout seen before replays its held graph, up to
// kMaxHeldGraphs layouts, the least recently used dropped beyond; given
// statistics and non-finite input reports still work, since their host
// copies stay outside the graph; the C API's option.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "engine_test_support.h"
#include "m2urt.h"
#include "weights_loader.h"
#if defined(M2U_FLAVOUR_EMU)
#include "emu/emu_scheduler.h"
#endif

namespace {

constexpr int kMaxHeight = 48, kMaxWidth = 80;

m2u::Model load_model(const std::string& name) {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path(name), &model, &error), error);
  return model;
}

std::unique_ptr<m2u::Engine> make_engine(const m2u::Model& model, m2u_precision precision, bool graph,
                                         bool fuse_blocks = false) {
  m2u::EngineOptions options;
  options.max_height = kMaxHeight;
  options.max_width = kMaxWidth;
  options.precision = precision;
  options.fuse_blocks = fuse_blocks;
  options.cuda_graph = graph;
  m2u_status status = M2U_OK;
  std::string error;
  std::unique_ptr<m2u::Engine> engine = m2u::Engine::create(model, options, &status, &error);
  REQUIRE_MESSAGE(engine, error);
  return engine;
}

std::vector<uint8_t> frame_bytes(int height, int width, int seed) {
  std::vector<uint8_t> frame(static_cast<size_t>(height) * width);
  for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>((i * 31 + seed * 97 + i / width * 7) % 256);
  return frame;
}

// One run of a host U8 frame; the probabilities.
std::vector<float> run_host(m2u::Engine& engine, std::vector<uint8_t>& frame, int height, int width) {
  std::vector<float> out(static_cast<size_t>(height) * width, -1.0f);
  const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, height, width);
  const m2u_image result = engine_test::host_image(out.data(), M2U_DTYPE_F32, 1, 1, height, width);
  const m2u_status status = engine.run(in, result);
  REQUIRE_MESSAGE(status == M2U_OK, engine.last_error());
  return out;
}

#if defined(M2U_FLAVOUR_EMU)
constexpr bool kCountsGrids = true;
uint64_t grids_launched() { return m2u_emu::counters().grids_launched; }
#else
constexpr bool kCountsGrids = false;  // the device does not tell
uint64_t grids_launched() { return 0; }
#endif

}  // namespace

TEST_CASE("graph replay gives the plain engine's output bit for bit, capturing once per frame layout") {
  struct Case {
    const char* label;
    m2u_precision precision;
    bool fuse_blocks;
  };
  for (const Case c : {Case{"FP32", M2U_PRECISION_FP32, false}, Case{"FP32 fused", M2U_PRECISION_FP32, true},
                       Case{"FP16", M2U_PRECISION_FP16, false}, Case{"FP16 fused", M2U_PRECISION_FP16, true},
                       Case{"INT8", M2U_PRECISION_INT8, false}}) {
    CAPTURE(std::string(c.label));
    m2u::Model model = load_model("cin1_relu.m2u");
    if (c.precision == M2U_PRECISION_INT8) engine_test::add_stand_in_activation_scales(&model, kMaxHeight, kMaxWidth);
    std::unique_ptr<m2u::Engine> plain = make_engine(model, c.precision, false, c.fuse_blocks);
    std::unique_ptr<m2u::Engine> graphed = make_engine(model, c.precision, true, c.fuse_blocks);
    struct Run {
      int height, width, seed, captures_after;
    };
    // Three frames of one size (one capture), another size (a second), the
    // first size again (its held graph).
    for (const Run r : {Run{37, 53, 1, 1}, Run{37, 53, 2, 1}, Run{37, 53, 3, 1}, Run{48, 80, 4, 2}, Run{37, 53, 5, 2}}) {
      CAPTURE(r.seed);
      std::vector<uint8_t> frame = frame_bytes(r.height, r.width, r.seed);
      const std::vector<float> expected = run_host(*plain, frame, r.height, r.width);
      const uint64_t before = grids_launched();
      const std::vector<float> got = run_host(*graphed, frame, r.height, r.width);
      const uint64_t launched = grids_launched() - before;
      CHECK(graphed->graph_captures() == r.captures_after);
      CHECK(got == expected);
      // A capture launches nothing by itself: every run launches each grid
      // once, in emulation as on a device.
      const uint64_t before_plain = grids_launched();
      run_host(*plain, frame, r.height, r.width);
      if (kCountsGrids) CHECK(launched == grids_launched() - before_plain);
    }
    CHECK(plain->graph_captures() == 0);
  }
}

TEST_CASE("graphs: pinned slots reuse the graph, device buffers at new addresses capture anew") {
  const m2u::Model model = load_model("cin3_relu6.m2u");
  std::unique_ptr<m2u::Engine> plain = make_engine(model, M2U_PRECISION_FP32, false);
  std::unique_ptr<m2u::Engine> graphed = make_engine(model, M2U_PRECISION_FP32, true);
  const int h = 29, w = 45, pixels = h * w;
  void* pinned[2] = {nullptr, nullptr};
  REQUIRE(m2u_host_alloc(pixels * sizeof(float), &pinned[0]) == M2U_OK);
  REQUIRE(m2u_host_alloc(pixels * sizeof(float), &pinned[1]) == M2U_OK);
  float* device[2] = {nullptr, nullptr};
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&device[0]), pixels * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&device[1]), pixels * sizeof(float)) == cudaSuccess);
  std::vector<float> expected(pixels), got(pixels);
  for (int k = 0; k < 4; ++k) {
    CAPTURE(k);
    float* slot = static_cast<float*>(pinned[k % 2]);
    for (int i = 0; i < pixels; ++i) slot[i] = static_cast<float>((i * 13 + k * 71) % 256) / 255.0f;
    m2u_image in = engine_test::host_image(slot, M2U_DTYPE_F32, 1, 1, h, w);
    in.memory = M2U_MEMORY_PINNED;
    m2u_image out = engine_test::host_image(expected.data(), M2U_DTYPE_F32, 1, 1, h, w);
    REQUIRE(plain->run(in, out) == M2U_OK);
    out.data = got.data();
    REQUIRE_MESSAGE(graphed->run(in, out) == M2U_OK, graphed->last_error());
    CHECK(got == expected);
    CHECK(graphed->graph_captures() == 1);
  }
  for (int k = 0; k < 4; ++k) {
    CAPTURE(k);
    std::vector<float> frame(pixels);
    for (int i = 0; i < pixels; ++i) frame[i] = static_cast<float>((i * 7 + k * 29) % 256) / 255.0f;
    REQUIRE(cudaMemcpy(device[k % 2], frame.data(), pixels * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
    m2u_image in = engine_test::host_image(device[k % 2], M2U_DTYPE_F32, 1, 1, h, w);
    in.memory = M2U_MEMORY_DEVICE;
    m2u_image out = engine_test::host_image(expected.data(), M2U_DTYPE_F32, 1, 1, h, w);
    REQUIRE(plain->run(in, out) == M2U_OK);
    out.data = got.data();
    REQUIRE_MESSAGE(graphed->run(in, out) == M2U_OK, graphed->last_error());
    CHECK(got == expected);
    // Alternating device buffers: two layouts, each captured once.
    CHECK(graphed->graph_captures() == 2 + std::min(k, 1));
    CHECK(graphed->graphs_held() == static_cast<size_t>(2 + std::min(k, 1)));
  }
  cudaFree(device[0]);
  cudaFree(device[1]);
  m2u_host_free(pinned[0]);
  m2u_host_free(pinned[1]);
}

TEST_CASE("graphs: the engine holds kMaxHeldGraphs layouts and drops the least recently used") {
  const m2u::Model model = load_model("cin1_relu.m2u");
  std::unique_ptr<m2u::Engine> plain = make_engine(model, M2U_PRECISION_FP32, false);
  std::unique_ptr<m2u::Engine> graphed = make_engine(model, M2U_PRECISION_FP32, true);
  const int h = 16, w = 16, pixels = h * w;
  const int layouts = static_cast<int>(m2u::Engine::kMaxHeldGraphs) + 1;
  // Layout k: the frame at offset k * pixels in one device buffer.
  float* device = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&device), static_cast<size_t>(layouts) * pixels * sizeof(float)) ==
          cudaSuccess);
  std::vector<float> frames(static_cast<size_t>(layouts) * pixels);
  for (size_t i = 0; i < frames.size(); ++i) frames[i] = static_cast<float>((i * 37 + i / 19) % 256) / 255.0f;
  REQUIRE(cudaMemcpy(device, frames.data(), frames.size() * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  std::vector<float> expected(pixels), got(pixels);
  const auto run = [&](int k) {
    m2u_image in = engine_test::host_image(device + static_cast<size_t>(k) * pixels, M2U_DTYPE_F32, 1, 1, h, w);
    in.memory = M2U_MEMORY_DEVICE;
    m2u_image out = engine_test::host_image(got.data(), M2U_DTYPE_F32, 1, 1, h, w);
    REQUIRE_MESSAGE(graphed->run(in, out) == M2U_OK, graphed->last_error());
    out.data = expected.data();
    REQUIRE(plain->run(in, out) == M2U_OK);
    CHECK(got == expected);
  };
  for (int k = 0; k < layouts; ++k) run(k);  // the last capture drops layout 0
  CHECK(graphed->graph_captures() == layouts);
  CHECK(graphed->graphs_held() == m2u::Engine::kMaxHeldGraphs);
  run(layouts - 1);  // held: replayed
  run(1);            // held: replayed, now recently used
  CHECK(graphed->graph_captures() == layouts);
  run(0);  // dropped: captured again, dropping layout 2 (layout 1 was used since)
  CHECK(graphed->graph_captures() == layouts + 1);
  run(1);
  CHECK(graphed->graph_captures() == layouts + 1);
  run(2);
  CHECK(graphed->graph_captures() == layouts + 2);
  CHECK(graphed->graphs_held() == m2u::Engine::kMaxHeldGraphs);
  cudaFree(device);
}

TEST_CASE("graphs: given statistics change between replays; non-finite input is still reported") {
  const m2u::Model model = load_model("cin1_relu.m2u");  // per-image standardisation
  std::unique_ptr<m2u::Engine> plain = make_engine(model, M2U_PRECISION_FP32, false);
  std::unique_ptr<m2u::Engine> graphed = make_engine(model, M2U_PRECISION_FP32, true);
  const int h = 32, w = 40;
  std::vector<uint8_t> frame = frame_bytes(h, w, 9);
  for (const float mean : {90.0f, 120.0f, 150.0f}) {
    CAPTURE(mean);
    const float statistics[2] = {mean, 40.0f};
    REQUIRE(plain->set_input_statistics(statistics, 1) == M2U_OK);
    REQUIRE(graphed->set_input_statistics(statistics, 1) == M2U_OK);
    const std::vector<float> expected = run_host(*plain, frame, h, w);
    CHECK(run_host(*graphed, frame, h, w) == expected);
    CHECK(graphed->graph_captures() == 1);
  }
  // Back to per-frame statistics: the statistics kernel joins the graph.
  REQUIRE(graphed->set_input_statistics(nullptr, 0) == M2U_OK);
  REQUIRE(plain->set_input_statistics(nullptr, 0) == M2U_OK);
  CHECK(run_host(*graphed, frame, h, w) == run_host(*plain, frame, h, w));
  CHECK(graphed->graph_captures() == 2);

  std::vector<float> bad(h * w, 0.25f), out(h * w);
  bad[17] = std::nanf("");
  bad[h * w - 1] = INFINITY;
  const m2u_image in = engine_test::host_image(bad.data(), M2U_DTYPE_F32, 1, 1, h, w);
  const m2u_image result = engine_test::host_image(out.data(), M2U_DTYPE_F32, 1, 1, h, w);
  for (int k = 0; k < 2; ++k) {
    CHECK(graphed->run(in, result) == M2U_ERROR_INPUT);
    CHECK(graphed->last_error().find("input: 2 non-finite pixel value(s)") == 0);
  }
  bad[17] = bad[h * w - 1] = 0.5f;
  CHECK(graphed->run(in, result) == M2U_OK);
  CHECK(graphed->graph_captures() == 3);
}

TEST_CASE("C API: m2u_engine_options.cuda_graph gives the same output as without") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin3_relu6.m2u").c_str(), &model) == M2U_OK);
  m2u_engine* engines[2] = {nullptr, nullptr};
  for (int graph = 0; graph < 2; ++graph) {
    m2u_engine_options options;
    m2u_engine_options_init(&options);
    CHECK(options.cuda_graph == 0);
    options.max_height = 64;
    options.max_width = 64;
    options.cuda_graph = graph;
    REQUIRE(m2u_engine_create(model, &options, &engines[graph]) == M2U_OK);
  }
  const int h = 33, w = 47;
  std::vector<uint8_t> frame = frame_bytes(h, w, 3);
  std::vector<float> out[2] = {std::vector<float>(h * w), std::vector<float>(h * w)};
  for (int repeat = 0; repeat < 2; ++repeat) {
    for (int graph = 0; graph < 2; ++graph) {
      const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, h, w);
      m2u_image result = engine_test::host_image(out[graph].data(), M2U_DTYPE_F32, 1, 1, h, w);
      REQUIRE_MESSAGE(m2u_engine_run(engines[graph], &in, &result) == M2U_OK, m2u_engine_last_error(engines[graph]));
    }
    CHECK(out[0] == out[1]);
  }
  m2u_engine_destroy(engines[0]);
  m2u_engine_destroy(engines[1]);
  m2u_model_destroy(model);
}
