// test_trainer_c_api.cpp - m2u_trainer_* as a C caller uses them: defaults,
// growable options (a shorter struct gets the defaults of what it lacks; too
// short is refused), options out of range named, a step / evaluate / save
// round trip through the model API, the stats, NULL arguments.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include "engine_test_support.h"
#include "fixture_file.h"
#include "m2urt.h"

namespace {

struct Data {
  std::vector<float> pixels, masks;
  int batch = 0, channels = 0;
};

constexpr int kHeight = 43, kWidth = 75;

Data load_data() {
  const m2u::ref::HostTensor input =
      m2u::ref::read_fixture_file(engine_test::fixture_path("cin1_relu.m2uf")).at("input");
  const m2u::ref::HostTensor target =
      m2u::ref::read_fixture_file(engine_test::fixture_path("cin1_relu_grad.m2uf")).at("target");
  Data d;
  d.batch = input.n;
  d.channels = input.c;
  d.pixels = engine_test::interleave(input, kHeight, kWidth);
  for (int n = 0; n < target.n; ++n)
    for (int y = 0; y < kHeight; ++y)
      for (int x = 0; x < kWidth; ++x) d.masks.push_back(target.at(n, 0, y, x));
  return d;
}

}  // namespace

TEST_CASE("m2u_trainer_options_init: defaults, and a shorter struct is written only up to its size") {
  m2u_trainer_options o;
  m2u_trainer_options_init(&o);
  CHECK(o.struct_size == sizeof(o));
  CHECK(o.max_batch == 1);
  CHECK(o.max_height == 256);
  CHECK(o.optimizer == M2U_OPTIMIZER_ADAM);
  CHECK(o.learning_rate == doctest::Approx(1e-3));
  CHECK(o.beta2 == doctest::Approx(0.999));
  CHECK(o.dice_smoothing == 1.0f);
  m2u_trainer_options shorter;
  std::memset(&shorter, 0x5A, sizeof(shorter));
  const size_t size = offsetof(m2u_trainer_options, schedule);
  m2u_trainer_options_init_sized(&shorter, size);
  CHECK(shorter.struct_size == size);
  CHECK(shorter.max_width == 256);
  const unsigned char* bytes = reinterpret_cast<const unsigned char*>(&shorter);
  for (size_t i = size; i < sizeof(shorter); ++i) REQUIRE(bytes[i] == 0x5A);
}

TEST_CASE("m2u_trainer: create, step, evaluate, save, stats through the C API") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin1_relu.m2u").c_str(), &model) == M2U_OK);
  Data d = load_data();
  m2u_trainer_options options;
  m2u_trainer_options_init(&options);
  options.max_batch = d.batch;
  options.max_height = kHeight;
  options.max_width = kWidth;
  m2u_trainer* trainer = nullptr;

  options.schedule = static_cast<m2u_train_schedule>(7);
  CHECK(m2u_trainer_create(model, &options, &trainer) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("schedule 7") != std::string::npos);
  options.schedule = M2U_TRAIN_DECODER_LAST;
  options.learning_rate = -1.0f;
  CHECK(m2u_trainer_create(model, &options, &trainer) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("learning rate -1") != std::string::npos);
  options.learning_rate = 1e-3f;
  m2u_trainer_options too_short = options;
  too_short.struct_size = offsetof(m2u_trainer_options, max_height);
  CHECK(m2u_trainer_create(model, &too_short, &trainer) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(trainer == nullptr);

  REQUIRE_MESSAGE(m2u_trainer_create(model, &options, &trainer) == M2U_OK, m2u_last_error());
  m2u_model_destroy(model);  // the trainer keeps what it needs
  m2u_image images{};
  images.data = d.pixels.data();
  images.memory = M2U_MEMORY_HOST;
  images.dtype = M2U_DTYPE_F32;
  images.batch = d.batch;
  images.channels = d.channels;
  images.height = kHeight;
  images.width = kWidth;
  m2u_image masks = images;
  masks.data = d.masks.data();
  masks.channels = 1;
  float loss = -1.0f;
  int skipped = -1;
  REQUIRE_MESSAGE(m2u_trainer_step(trainer, &images, &masks, &loss, &skipped) == M2U_OK,
                  m2u_trainer_last_error(trainer));
  CHECK(loss > 0.0f);
  CHECK(skipped == 0);
  CHECK(m2u_trainer_step(trainer, &images, &masks, nullptr, nullptr) == M2U_OK);
  m2u_trainer_evaluation evaluation;
  m2u_trainer_evaluation_init(&evaluation);
  REQUIRE(m2u_trainer_evaluate(trainer, &images, &masks, &evaluation) == M2U_OK);
  CHECK(evaluation.iou >= 0.0);
  CHECK(evaluation.iou <= 1.0);
  CHECK(evaluation.union_pixels > 0);
  CHECK(evaluation.iou == static_cast<double>(evaluation.intersection) / evaluation.union_pixels);
  m2u_trainer_evaluation uninitialised{};
  CHECK(m2u_trainer_evaluate(trainer, &images, &masks, &uninitialised) == M2U_ERROR_INVALID_ARGUMENT);
  m2u_trainer_stats stats;
  m2u_trainer_stats_init(&stats);
  REQUIRE(m2u_trainer_get_stats(trainer, &stats) == M2U_OK);
  CHECK(stats.updates == 2);
  CHECK(stats.skipped_steps == 0);
  CHECK(stats.trainable_parameters > 0);
  CHECK(stats.device_bytes > 0);

  masks.channels = 2;
  CHECK(m2u_trainer_step(trainer, &images, &masks, &loss, &skipped) == M2U_ERROR_SHAPE);
  CHECK(std::string(m2u_trainer_last_error(trainer)).find("masks are") != std::string::npos);
  CHECK(m2u_trainer_step(trainer, nullptr, &masks, &loss, &skipped) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_trainer_last_error(trainer)).find("NULL") != std::string::npos);

  const char* path = "test_trainer_c_api.m2u";
  REQUIRE(m2u_trainer_save(trainer, path, "fine_tune_note: c api\n") == M2U_OK);
  m2u_model* saved = nullptr;
  REQUIRE(m2u_model_load(path, &saved) == M2U_OK);
  m2u_model_destroy(saved);
  std::remove(path);
  CHECK(m2u_trainer_save(trainer, nullptr, nullptr) == M2U_ERROR_INVALID_ARGUMENT);
  m2u_trainer_destroy(trainer);
  m2u_trainer_destroy(nullptr);
}
