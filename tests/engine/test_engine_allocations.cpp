// test_engine_allocations.cpp - a run allocates nothing: no host heap
// allocation (global operator new is counted in this test binary) and, in
// the emu flavour, no device allocation (the emulated runtime's counters);
// U8 and F32 input (whose non-finite values are counted on the device and
// copied back with the run); a training step and an evaluation
// (runtime/src/train/trainer.h) likewise, and a run replayed from a CUDA
// graph.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "engine.h"
#include "engine_test_support.h"
#include "trainer.h"
#include "weights_loader.h"
#if defined(M2U_FLAVOUR_EMU)
#include "emu/emu_device_state.h"
#endif

// The replaced global operator new allocates with malloc, so the matching
// deletes free; GCC cannot see the pairing across the replacement.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> g_host_allocations{0};
std::atomic<bool> g_counting{false};
}  // namespace

// Every replaceable form goes through malloc/free, so that the sanitizers'
// own operators never see a pointer of ours.
namespace {
void* counted_allocation(size_t size) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_host_allocations.fetch_add(1);
  return std::malloc(size ? size : 1);
}
}  // namespace

void* operator new(size_t size) {
  if (void* p = counted_allocation(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) {
  if (void* p = counted_allocation(size)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t size, const std::nothrow_t&) noexcept { return counted_allocation(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return counted_allocation(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

// Runs `body` (its REQUIREs included) with the host allocations counted;
// checks that it made none, and no device allocation in the emulation.
template <typename Body>
long count_allocations(Body body) {
#if defined(M2U_FLAVOUR_EMU)
  const m2u_emu::MemoryCounters before = m2u_emu::memory_counters();
#endif
  g_host_allocations = 0;
  g_counting = true;
  body();
  g_counting = false;
  CHECK(g_host_allocations.load() == 0);
#if defined(M2U_FLAVOUR_EMU)
  CHECK(m2u_emu::memory_counters().device_allocations == before.device_allocations);
#endif
  return g_host_allocations.load();
}

TEST_CASE("inference allocates no host or device memory, and the arena is reported") {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path("cin3_relu6.m2u"), &model, &error), error);
  m2u::EngineOptions options;
  options.max_height = 64;
  options.max_width = 96;
  m2u_status status = M2U_OK;
  std::unique_ptr<m2u::Engine> engine = m2u::Engine::create(model, options, &status, &error);
  REQUIRE_MESSAGE(engine, error);
  std::vector<uint8_t> frame(48 * 80, 128);
  std::vector<float> float_frame(48 * 80, 0.5f);
  std::vector<float> probabilities(48 * 80);
  const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, 48, 80);
  const m2u_image float_in = engine_test::host_image(float_frame.data(), M2U_DTYPE_F32, 1, 1, 48, 80);
  const m2u_image out = engine_test::host_image(probabilities.data(), M2U_DTYPE_F32, 1, 1, 48, 80);
  REQUIRE(engine->run(in, out) == M2U_OK);  // warm-up: the emulation sizes its pools
  REQUIRE(engine->run(float_in, out) == M2U_OK);
  const long allocations = count_allocations([&] {
    for (int i = 0; i < 3; ++i) {
      REQUIRE(engine->run(in, out) == M2U_OK);
      REQUIRE(engine->run(float_in, out) == M2U_OK);
    }
  });
  MESSAGE("host allocations in 6 runs: " << allocations << "; arena " << engine->arena_bytes()
                                         << " bytes, weights " << engine->weight_bytes() << " bytes (64x96 max)");
}

TEST_CASE("a graph-replayed run (the cuda_graph option) allocates no host or device memory") {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path("cin1_relu.m2u"), &model, &error), error);
  m2u::EngineOptions options;
  options.max_height = 48;
  options.max_width = 64;
  options.cuda_graph = true;
  m2u_status status = M2U_OK;
  std::unique_ptr<m2u::Engine> engine = m2u::Engine::create(model, options, &status, &error);
  REQUIRE_MESSAGE(engine, error);
  std::vector<uint8_t> frame(37 * 53, 90);
  std::vector<float> probabilities(37 * 53);
  const m2u_image in = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, 37, 53);
  const m2u_image out = engine_test::host_image(probabilities.data(), M2U_DTYPE_F32, 1, 1, 37, 53);
  REQUIRE(engine->run(in, out) == M2U_OK);  // the capture (it allocates the graph)
  const long allocations = count_allocations([&] {
    for (int i = 0; i < 3; ++i) REQUIRE(engine->run(in, out) == M2U_OK);
  });
  CHECK(engine->graph_captures() == 1);
  MESSAGE("host allocations in 3 replayed runs: " << allocations);
}

TEST_CASE("a training step and an evaluation allocate no host or device memory") {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path("cin1_relu.m2u"), &model, &error), error);
  m2u::TrainerOptions options;
  options.max_batch = 2;
  options.max_height = 40;
  options.max_width = 56;
  options.loss = m2u::TrainLoss::kBceDice;
  options.optimizer.kind = m2u::Optimizer::kAdam;
  m2u_status status = M2U_OK;
  std::unique_ptr<m2u::Trainer> trainer = m2u::Trainer::create(model, options, &status, &error);
  REQUIRE_MESSAGE(trainer, error);
  std::vector<uint8_t> frames(2 * 37 * 51), masks(2 * 37 * 51);
  for (size_t i = 0; i < frames.size(); ++i) {
    frames[i] = static_cast<uint8_t>(i * 37 % 251);
    masks[i] = (i / 7) % 3 == 0 ? 255 : 0;
  }
  const m2u_image images = engine_test::host_image(frames.data(), M2U_DTYPE_U8, 2, 1, 37, 51);
  const m2u_image targets = engine_test::host_image(masks.data(), M2U_DTYPE_U8, 2, 1, 37, 51);
  m2u::TrainStepResult result;
  m2u::EvaluationResult evaluation;
  REQUIRE(trainer->step(images, targets, &result) == M2U_OK);  // warm-up
  REQUIRE(trainer->evaluate(images, targets, &evaluation) == M2U_OK);
  const long allocations = count_allocations([&] {
    for (int i = 0; i < 3; ++i) {
      REQUIRE(trainer->step(images, targets, &result) == M2U_OK);
      REQUIRE(trainer->evaluate(images, targets, &evaluation) == M2U_OK);
    }
  });
  CHECK(trainer->updates() == 4);
  MESSAGE("host allocations in 3 steps + 3 evaluations: " << allocations << "; trainer "
                                                          << trainer->device_bytes() << " device bytes, "
                                                          << trainer->trainable_count() << " trainable floats");
}
