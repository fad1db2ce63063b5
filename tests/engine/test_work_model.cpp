// test_work_model.cpp - the forward's work model (Engine::work_model, the
// device profiles, the C API's m2u_engine_work_model / m2u_trainer_work_model):
// its rows are the launches a run makes (the emulator counts them) in every
// precision; its multiply-adds are M2UNET.md's; FP16's half-storage layers
// move exactly half of FP32's bytes; the modeled time follows the profile's
// formula; bad requests are refused naming the numbers; the measured
// layer times (time_layers) come one per row.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "device_profiles.h"
#include "engine.h"
#include "engine_test_support.h"
#include "execution_plan.h"
#include "m2urt.h"
#include "weights_loader.h"
#if defined(M2U_FLAVOUR_EMU)
#include "emu/emu_scheduler.h"
#endif

namespace {

m2u::Model load(const char* name) {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path(name), &model, &error), error);
  return model;
}

std::unique_ptr<m2u::Engine> engine_for(const m2u::Model& model, m2u_precision precision, int height, int width,
                                        bool fuse_blocks = false) {
  m2u::EngineOptions options;
  options.fuse_blocks = fuse_blocks;
  options.max_height = height;
  options.max_width = width;
  options.precision = precision;
  m2u_status status = M2U_OK;
  std::string error;
  std::unique_ptr<m2u::Engine> engine = m2u::Engine::create(model, options, &status, &error);
  REQUIRE_MESSAGE(engine, error);
  return engine;
}

m2u::WorkRequest request(int height, int width) {
  m2u::WorkRequest r;
  r.height = height;
  r.width = width;
  return r;
}

const m2u_precision kPrecisions[] = {M2U_PRECISION_FP32, M2U_PRECISION_FP16, M2U_PRECISION_INT8};

}  // namespace

#if defined(M2U_FLAVOUR_EMU)
TEST_CASE("the work model's launches are the forward's launches, in every precision") {
  for (const char* fixture : {"cin1_relu.m2u", "cin3_relu6.m2u"}) {  // per-image standardisation, and not
    m2u::Model model = load(fixture);
    const int height = 37, width = 51;
    engine_test::add_stand_in_activation_scales(&model, height, width);
    for (int variant = 0; variant < 4; ++variant) {  // FP32, FP16, INT8, FP32 with fused blocks
      const m2u_precision precision = variant == 3 ? M2U_PRECISION_FP32 : kPrecisions[variant];
      std::unique_ptr<m2u::Engine> engine = engine_for(model, precision, height, width, variant == 3);
      std::vector<uint8_t> frame(static_cast<size_t>(height) * width, 77);
      std::vector<float> probabilities(frame.size());
      const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, height, width);
      const m2u_image out = engine_test::host_image(probabilities.data(), M2U_DTYPE_F32, 1, 1, height, width);
      const long long before = static_cast<long long>(m2u_emu::counters().grids_launched);
      REQUIRE(engine->run(in, out) == M2U_OK);
      REQUIRE(engine->synchronize() == M2U_OK);
      const long long launched = static_cast<long long>(m2u_emu::counters().grids_launched) - before;
      const m2u::WorkModel work = engine->work_model(request(height, width));
      CHECK_MESSAGE(work.total.launches == launched,
                    fixture << " variant " << variant << ": model " << work.total.launches << ", emulator " << launched);
      long long rows = 0;
      for (const m2u::KernelWork& row : work.rows) rows += row.launches;
      CHECK(rows == work.total.launches);
    }
  }
}
#endif

TEST_CASE("the forward's multiply-adds are M2UNET.md's, the same in every precision") {
  m2u::Model model = load("cin1_relu.m2u");
  engine_test::add_stand_in_activation_scales(&model, 512, 512);
  std::vector<m2u::WorkModel> works;
  for (m2u_precision precision : kPrecisions) {
    works.push_back(engine_for(model, precision, 512, 512)->work_model(request(512, 512)));
    double convs = 0.0;
    for (const m2u::KernelWork& row : works.back().rows) {
      if (row.kernel != "bilinear x2") convs += row.multiply_adds;
    }
    // M2UNET.md: 4731.48 multiply-adds per input pixel for the Cin 1
    // network's convolutions, the output conv included.
    CHECK(convs / (512.0 * 512.0) == doctest::Approx(4731.48).epsilon(1e-4));
  }
  const std::vector<m2u::KernelWork>& fp32 = works[0].rows;
  for (size_t w = 1; w < works.size(); ++w) {
    REQUIRE(works[w].rows.size() == fp32.size());
    for (size_t i = 0; i < fp32.size(); ++i) {
      CHECK(works[w].rows[i].layer == fp32[i].layer);
      CHECK(works[w].rows[i].multiply_adds == fp32[i].multiply_adds);
    }
  }
}

TEST_CASE("fused blocks: one launch a block, the hidden tensors off DRAM, the halo's expand recomputed") {
  m2u::Model model = load("cin1_relu.m2u");
  const m2u::WorkModel unfused = engine_for(model, M2U_PRECISION_FP32, 512, 512)->work_model(request(512, 512));
  const m2u::WorkModel fused = engine_for(model, M2U_PRECISION_FP32, 512, 512, true)->work_model(request(512, 512));
  // Six encoder blocks, decode2.ir1, decode1.ir1 (with the final conv: the fused head).
  CHECK(fused.total.launches == unfused.total.launches - 2 * 8 - 1);
  CHECK(fused.total.bytes_read + fused.total.bytes_written <
        0.8 * (unfused.total.bytes_read + unfused.total.bytes_written));
  // The recomputed halo: at most 56% more expand work (8x8 tiles at stride 1).
  CHECK(fused.total.multiply_adds > unfused.total.multiply_adds);
  CHECK(fused.total.multiply_adds < 1.2 * unfused.total.multiply_adds);
  // Every fused row: its block's three rows' output pixels and the block's
  // output bytes (the head: the final conv's row too, and its
  // probabilities); less read than the three.
  size_t u = 0;
  int heads = 0;
  for (const m2u::KernelWork& row : fused.rows) {
    const bool fused_row = row.kernel.rfind("fused block", 0) == 0;
    while (u < unfused.rows.size() && unfused.rows[u].layer != row.layer && !fused_row) ++u;
    if (!fused_row) {
      REQUIRE(u < unfused.rows.size());
      CHECK(unfused.rows[u].multiply_adds == row.multiply_adds);
      ++u;
      continue;
    }
    const bool head = row.kernel == "fused block + final 1x1";
    const std::string block = row.layer.substr(0, row.layer.find(head ? " + " : " (fused block)"));
    REQUIRE(unfused.rows[u].layer.rfind(block + ".", 0) == 0);
    const m2u::KernelWork &expand = unfused.rows[u], &depthwise = unfused.rows[u + 1], &project = unfused.rows[u + 2];
    double head_weights = 0.0, head_multiply_adds = 0.0;
    if (head) {
      ++heads;
      REQUIRE(u + 3 < unfused.rows.size());
      const m2u::KernelWork& output = unfused.rows[u + 3];
      CHECK(output.kernel == "final 1x1 + sigmoid");
      CHECK(row.bytes_written == output.bytes_written);
      head_weights = output.weight_bytes;
      head_multiply_adds = output.multiply_adds;  // 512x512: the 8x8 tiles cover the frame exactly
    } else {
      CHECK(row.bytes_written == project.bytes_written);
    }
    // The block's input once (the expand's read less its weights) and the
    // convs' weights.
    CHECK(row.bytes_read == doctest::Approx(expand.bytes_read - expand.weight_bytes + expand.weight_bytes +
                                            depthwise.weight_bytes + project.weight_bytes + head_weights));
    CHECK(row.weight_bytes ==
          doctest::Approx(expand.weight_bytes + depthwise.weight_bytes + project.weight_bytes + head_weights));
    const double halo =
        (row.multiply_adds - depthwise.multiply_adds - project.multiply_adds - head_multiply_adds) /
        expand.multiply_adds;
    CHECK_MESSAGE(halo >= 1.0, block);
    CHECK_MESSAGE(halo <= 1.5625, block);
    u += head ? 4 : 3;
  }
  CHECK(heads == 1);
}

TEST_CASE("FP16's half2 layers write exactly half of FP32's bytes; INT8 a quarter; arithmetic as planned") {
  m2u::Model model = load("cin3_relu6.m2u");
  engine_test::add_stand_in_activation_scales(&model, 96, 160);
  const m2u::WorkModel fp32 = engine_for(model, M2U_PRECISION_FP32, 96, 160)->work_model(request(96, 160));
  std::unique_ptr<m2u::Engine> half = engine_for(model, M2U_PRECISION_FP16, 96, 160);
  const m2u::WorkModel fp16 = half->work_model(request(96, 160));
  const m2u::WorkModel int8 = engine_for(model, M2U_PRECISION_INT8, 96, 160)->work_model(request(96, 160));
  int half2_rows = 0, int8_rows = 0;
  for (size_t i = 0; i < fp32.rows.size(); ++i) {
    const m2u::KernelWork& f = fp32.rows[i];
    CHECK(f.arithmetic == m2u::WorkArithmetic::kFp32);
    if (fp16.rows[i].arithmetic == m2u::WorkArithmetic::kHalf2) {
      ++half2_rows;
      // The encoder's channel counts are multiples of 8: no padding differs.
      CHECK_MESSAGE(f.bytes_written == 2.0 * fp16.rows[i].bytes_written, f.layer);
    }
    if (int8.rows[i].arithmetic == m2u::WorkArithmetic::kInt8) {
      ++int8_rows;
      if (f.out_channels % 16 == 0) CHECK_MESSAGE(f.bytes_written == 4.0 * int8.rows[i].bytes_written, f.layer);
    }
  }
  int half2_steps = 0, int8_steps = 0;
  for (const m2u::PlannedStep& step : half->plan().steps) {
    half2_steps += step.half2;
    int8_steps += step.kind == m2u::StepKind::kPointwise || step.kind == m2u::StepKind::kDepthwise;
  }
  CHECK(half2_rows == half2_steps);
  CHECK(half2_rows == 36);
  CHECK(int8_rows == int8_steps);
  CHECK(fp16.total.bytes_read + fp16.total.bytes_written < 0.7 * (fp32.total.bytes_read + fp32.total.bytes_written));
}

TEST_CASE("a launch's modeled time: overhead + max(compute, DRAM) at the profile's achievable rates") {
  const m2u::DeviceProfile* nano = m2u::find_device_profile("nano");
  REQUIRE(nano);
  CHECK(nano->fp32_gflops == doctest::Approx(235.9296));
  CHECK(nano->half2_gflops == doctest::Approx(2 * 235.9296));
  CHECK(nano->dram_gbps == 25.6);
  CHECK(m2u::find_device_profile("xavier-nx"));
  CHECK(m2u::find_device_profile("orin-nano"));
  CHECK_FALSE(m2u::find_device_profile("tx2"));
  m2u::KernelWork w;
  w.launches = 1;
  w.multiply_adds = 1e8;  // 0.2 GFLOP
  w.bytes_read = 1e6;
  w.bytes_written = 1e6;
  const m2u::LaunchEstimate fp32 = m2u::estimate_launch(*nano, w);
  CHECK(fp32.compute_us == doctest::Approx(0.2e9 / (nano->fp32_gflops * 1e9 * nano->compute_fraction) * 1e6));
  CHECK(fp32.dram_us == doctest::Approx(2e6 / (25.6e9 * nano->dram_fraction) * 1e6));
  CHECK(fp32.us == doctest::Approx(nano->launch_us + fp32.compute_us));
  CHECK(std::string(fp32.bound) == "compute");
  w.arithmetic = m2u::WorkArithmetic::kHalf2;
  CHECK(m2u::estimate_launch(*nano, w).compute_us == doctest::Approx(fp32.compute_us / 2));
  w.multiply_adds = 0;
  CHECK(std::string(m2u::estimate_launch(*nano, w).bound) == "dram");
  w.bytes_read = w.bytes_written = 0;
  CHECK(std::string(m2u::estimate_launch(*nano, w).bound) == "launch");
}

TEST_CASE("the C API's work model: rows, totals, profiles, and refusals naming the numbers") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin1_relu.m2u").c_str(), &model) == M2U_OK);
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  options.max_height = 48;
  options.max_width = 80;
  m2u_engine* engine = nullptr;
  REQUIRE(m2u_engine_create(model, &options, &engine) == M2U_OK);
  m2u_work_request request;
  m2u_work_request_init(&request);
  m2u_work_model* work = nullptr;
  REQUIRE_MESSAGE(m2u_engine_work_model(engine, &request, &work) == M2U_OK, std::string(m2u_last_error()));
  int rows = 0;
  REQUIRE(m2u_work_model_row_count(work, &rows) == M2U_OK);
  int layers = 0;
  REQUIRE(m2u_engine_layer_count(engine, &layers) == M2U_OK);
  CHECK(rows == layers + 1);  // the input statistics, then every step
  double modeled = 0.0, flops = 0.0;
  long long launches = 0;
  for (int i = 0; i < rows; ++i) {
    m2u_work_row row;
    row.struct_size = sizeof(row);
    REQUIRE(m2u_work_model_get_row(work, i, &row) == M2U_OK);
    modeled += row.modeled_us;
    flops += row.multiply_adds;
    launches += row.launches;
    CHECK(row.modeled_us > 0);
    if (i > 0) {
      m2u_layer_info layer;
      layer.struct_size = sizeof(layer);
      REQUIRE(m2u_engine_get_layer(engine, i - 1, &layer) == M2U_OK);
      CHECK(std::string(row.layer) == layer.name);
    }
  }
  m2u_work_row total;
  total.struct_size = sizeof(total);
  REQUIRE(m2u_work_model_get_total(work, &total) == M2U_OK);
  CHECK(std::string(total.kernel) == "total");
  CHECK(total.launches == launches);
  CHECK(total.multiply_adds == doctest::Approx(flops));
  CHECK(total.modeled_us == doctest::Approx(modeled));
  m2u_device_profile profile;
  profile.struct_size = sizeof(profile);
  REQUIRE(m2u_work_model_get_profile(work, &profile) == M2U_OK);
  CHECK(std::string(profile.name) == "nano");
  m2u_work_model_destroy(work);

  // An older caller's shorter row gets only its bytes written.
  REQUIRE(m2u_engine_work_model(engine, &request, &work) == M2U_OK);
  struct {
    m2u_work_row row;
    unsigned char guard[8];
  } short_row;
  std::memset(&short_row, 0xab, sizeof(short_row));
  short_row.row.struct_size = offsetof(m2u_work_row, arithmetic);
  REQUIRE(m2u_work_model_get_row(work, 1, &short_row.row) == M2U_OK);
  CHECK(std::string(short_row.row.kernel) == "input conversion");
  CHECK(reinterpret_cast<unsigned char*>(&short_row.row)[offsetof(m2u_work_row, arithmetic)] == 0xab);
  CHECK(m2u_work_model_get_row(work, rows, &short_row.row) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("index " + std::to_string(rows)) != std::string::npos);
  m2u_work_model_destroy(work);

  int count = 0;
  REQUIRE(m2u_device_profile_count(&count) == M2U_OK);
  CHECK(count == 3);
  for (int i = 0; i < count; ++i) {
    REQUIRE(m2u_get_device_profile(i, &profile) == M2U_OK);
    request.device_profile = profile.name;
    REQUIRE(m2u_engine_work_model(engine, &request, &work) == M2U_OK);
    m2u_work_model_destroy(work);
  }

  request.device_profile = "tx2";
  CHECK(m2u_engine_work_model(engine, &request, &work) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(work == nullptr);
  CHECK(std::string(m2u_last_error()).find("'tx2' (known: nano, xavier-nx, orin-nano)") != std::string::npos);
  request.device_profile = nullptr;
  request.height = 49;  // padded to 64: more than the engine's 48
  CHECK(m2u_engine_work_model(engine, &request, &work) == M2U_ERROR_SHAPE);
  CHECK_MESSAGE(std::string(m2u_last_error()).find("1 x 49 x 80 outside 1..(1 x 48 x 80)") != std::string::npos,
                std::string(m2u_last_error()));
  request.height = 48;
  request.batch = 2;
  CHECK(m2u_engine_work_model(engine, &request, &work) == M2U_ERROR_SHAPE);
  request.batch = 1;
  request.struct_size = 4;
  CHECK(m2u_engine_work_model(engine, &request, &work) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("m2u_work_request_init") != std::string::npos);
  CHECK(m2u_engine_work_model(engine, nullptr, &work) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(m2u_engine_work_model(nullptr, &request, &work) == M2U_ERROR_INVALID_ARGUMENT);
  m2u_engine_destroy(engine);

  // The training step's model through the trainer.
  m2u_trainer_options training;
  m2u_trainer_options_init(&training);
  training.max_height = 48;
  training.max_width = 80;
  m2u_trainer* trainer = nullptr;
  REQUIRE_MESSAGE(m2u_trainer_create(model, &training, &trainer) == M2U_OK, std::string(m2u_last_error()));
  m2u_work_request_init(&request);
  REQUIRE_MESSAGE(m2u_trainer_work_model(trainer, &request, &work) == M2U_OK, std::string(m2u_last_error()));
  REQUIRE(m2u_work_model_get_total(work, &total) == M2U_OK);
  CHECK(total.launches > layers);
  CHECK(std::string(total.arithmetic) == "fp32");
  m2u_work_model_destroy(work);
  request.width = 81;
  CHECK(m2u_trainer_work_model(trainer, &request, &work) == M2U_ERROR_SHAPE);
  m2u_trainer_destroy(trainer);
  m2u_model_destroy(model);
}

TEST_CASE("the C API's fuse_blocks: FP32 and FP16 engines plan fused steps and name them; INT8 refuses it") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin3_relu6.m2u").c_str(), &model) == M2U_OK);
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  CHECK(options.fuse_blocks == 0);
  options.max_height = 48;
  options.max_width = 80;
  struct Case {
    m2u_precision precision;
    const char* storage;
    const char* arithmetic;
  };
  for (const Case c : {Case{M2U_PRECISION_FP32, "fp32", "fp32, fused"}, Case{M2U_PRECISION_FP16, "fp16", "half2, fused"}}) {
    CAPTURE(c.storage);
    options.precision = c.precision;
    options.fuse_blocks = 1;
    m2u_engine* engine = nullptr;
    REQUIRE_MESSAGE(m2u_engine_create(model, &options, &engine) == M2U_OK, std::string(m2u_last_error()));
    int layers = 0, fused = 0;
    REQUIRE(m2u_engine_layer_count(engine, &layers) == M2U_OK);
    for (int i = 0; i < layers; ++i) {
      m2u_layer_info info;
      info.struct_size = sizeof(info);
      REQUIRE(m2u_engine_get_layer(engine, i, &info) == M2U_OK);
      const std::string name = info.name;
      if (name.find("(fused block") == std::string::npos) continue;
      ++fused;
      CAPTURE(name);
      if (name.find("(fused block + output)") != std::string::npos) {
        // The fused head: decode1.ir1 and the final conv, FP32 arithmetic.
        CHECK(name.rfind("decode1.ir1 + ", 0) == 0);
        CHECK(std::string(info.storage) == "output image dtype");
        CHECK(std::string(info.arithmetic)
                  .rfind(c.precision == M2U_PRECISION_FP16 ? "fp32 from fp16, fused" : "fp32, fused", 0) == 0);
      } else if (name.rfind("decode", 0) == 0 && c.precision == M2U_PRECISION_FP16) {
        // FP16's FP32 decoder stages: float arithmetic from the half concat buffer.
        CHECK(std::string(info.storage) == "fp32");
        CHECK(std::string(info.arithmetic).rfind("fp32 from fp16, fused", 0) == 0);
      } else {
        CHECK(std::string(info.storage) == c.storage);
        CHECK(std::string(info.arithmetic).rfind(c.arithmetic, 0) == 0);
      }
    }
    CHECK(fused == 8);  // six encoder blocks, decode2.ir1, decode1.ir1
    size_t fused_arena = 0, arena = 0;
    REQUIRE(m2u_engine_memory(engine, &fused_arena, nullptr) == M2U_OK);
    m2u_engine_destroy(engine);
    options.fuse_blocks = 0;
    REQUIRE(m2u_engine_create(model, &options, &engine) == M2U_OK);
    REQUIRE(m2u_engine_memory(engine, &arena, nullptr) == M2U_OK);
    CHECK(fused_arena < arena);
    m2u_engine_destroy(engine);
  }
  options.fuse_blocks = 1;
  options.precision = M2U_PRECISION_INT8;
  m2u_engine* engine = nullptr;
  CHECK(m2u_engine_create(model, &options, &engine) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(engine == nullptr);
  CHECK(std::string(m2u_last_error()).find("fused blocks run in FP32 and FP16 inference engines only") !=
        std::string::npos);
  m2u_model_destroy(model);
}

TEST_CASE("C API: m2u_engine_layer_times gives one measured time per work-model row, beside it") {
  for (const char* fixture : {"cin1_relu.m2u", "cin3_relu6.m2u"}) {  // with the statistics' row, and without
    CAPTURE(std::string(fixture));
    m2u_model* model = nullptr;
    REQUIRE(m2u_model_load(engine_test::fixture_path(fixture).c_str(), &model) == M2U_OK);
    m2u_engine_options options;
    m2u_engine_options_init(&options);
    CHECK(options.time_layers == 0);
    options.max_height = 48;
    options.max_width = 64;
    m2u_engine* untimed = nullptr;
    REQUIRE(m2u_engine_create(model, &options, &untimed) == M2U_OK);
    int count = -1;
    CHECK(m2u_engine_layer_times(untimed, nullptr, 0, &count) == M2U_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(m2u_engine_last_error(untimed)).find("without time_layers") != std::string::npos);
    m2u_engine_destroy(untimed);
    options.time_layers = 1;
    options.cuda_graph = 1;
    m2u_engine* engine = nullptr;
    CHECK(m2u_engine_create(model, &options, &engine) == M2U_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(m2u_last_error()).find("time_layers and cuda_graph exclude each other") != std::string::npos);
    options.cuda_graph = 0;
    REQUIRE(m2u_engine_create(model, &options, &engine) == M2U_OK);
    CHECK(m2u_engine_layer_times(engine, nullptr, 0, &count) == M2U_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(m2u_engine_last_error(engine)).find("no run yet") != std::string::npos);

    const int h = 37, w = 53;
    std::vector<uint8_t> frame(h * w);
    for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<uint8_t>(i * 29 % 256);
    std::vector<float> out(h * w);
    const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, h, w);
    m2u_image result = engine_test::host_image(out.data(), M2U_DTYPE_F32, 1, 1, h, w);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(m2u_engine_run(engine, &in, &result) == M2U_OK);
    const double wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

    m2u_work_request request;
    m2u_work_request_init(&request);
    request.height = h;
    request.width = w;
    m2u_work_model* work = nullptr;
    REQUIRE(m2u_engine_work_model(engine, &request, &work) == M2U_OK);
    int rows = 0;
    REQUIRE(m2u_work_model_row_count(work, &rows) == M2U_OK);
    REQUIRE(m2u_engine_layer_times(engine, nullptr, 0, &count) == M2U_OK);
    CHECK(count == rows);
    std::vector<double> ms(count + 2, -1.0);
    REQUIRE(m2u_engine_layer_times(engine, ms.data(), count, &count) == M2U_OK);
    CHECK(ms[count] == -1.0);  // nothing past the capacity
    double sum = 0.0;
    for (int i = 0; i < count; ++i) {
      CAPTURE(i);
      CHECK(std::isfinite(ms[i]));
      CHECK(ms[i] >= 0.0);
      sum += ms[i];
    }
    // The layers lie inside the run (the event clock and the wall clock
    // differ by their resolutions).
    CHECK(sum <= wall_ms + 1.0);
#if defined(M2U_FLAVOUR_EMU)
    // Emulated layers take the CPU's time: the first 1x1 conv takes some.
    m2u_work_row row;
    row.struct_size = sizeof(row);
    double conv_ms = 0.0;
    for (int i = 0; i < rows; ++i) {
      REQUIRE(m2u_work_model_get_row(work, i, &row) == M2U_OK);
      if (std::string(row.kernel) == "1x1 conv") conv_ms += ms[i];
    }
    CHECK(conv_ms > 0.0);
#endif
    CHECK(m2u_engine_layer_times(engine, ms.data(), -1, &count) == M2U_ERROR_INVALID_ARGUMENT);
    m2u_work_model_destroy(work);
    m2u_engine_destroy(engine);
    m2u_model_destroy(model);
  }
}
