// test_trainer.cpp - the training engine (runtime/src/train/trainer.h)
// against the CPU reference's decoder gradients (which match PyTorch
// autograd: tests/reference/test_reference_training.cpp): every trainable
// tensor's gradient for both fixture models on a frame that is not a
// multiple of 16; SGD with lr 1 moves each trainable parameter by exactly
// -gradient and nothing else; frozen tensors bit-identical under each
// schedule; two runs bit-identical; non-finite steps skipped and counted;
// bad masks refused by name.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine_test_support.h"
#include "fixture_file.h"
#include "reference_forward.h"
#include "reference_training.h"
#include "trainer.h"
#include "trainer_test_support.h"
#include "weights_loader.h"

namespace {

constexpr int kHeight = 43, kWidth = 75;  // make_gradient_fixtures.py's valid region; padded to 48 x 80

struct Case {
  m2u::Model model;
  m2u::ref::HostTensor input;    // the fixture's input, zero past kHeight x kWidth
  m2u::ref::HostTensor targets;  // PyTorch fixture's target mask
  std::vector<float> pixels;     // interleaved kHeight x kWidth input
  std::vector<float> masks;      // planar kHeight x kWidth targets
};

Case load_case(const std::string& name) {
  Case c;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path(name + ".m2u"), &c.model, &error), error);
  engine_test::use_identity_convention(c.model);
  const m2u::ref::HostTensor full = m2u::ref::read_fixture_file(engine_test::fixture_path(name + ".m2uf")).at("input");
  c.targets = m2u::ref::read_fixture_file(engine_test::fixture_path(name + "_grad.m2uf")).at("target");
  c.input = m2u::ref::HostTensor(full.n, full.c, full.h, full.w, 0.0f);
  for (int n = 0; n < full.n; ++n)
    for (int ch = 0; ch < full.c; ++ch)
      for (int y = 0; y < kHeight; ++y)
        for (int x = 0; x < kWidth; ++x) c.input.at(n, ch, y, x) = full.at(n, ch, y, x);
  c.pixels = engine_test::interleave(full, kHeight, kWidth);
  for (int n = 0; n < c.targets.n; ++n)
    for (int y = 0; y < kHeight; ++y)
      for (int x = 0; x < kWidth; ++x) c.masks.push_back(c.targets.at(n, 0, y, x));
  return c;
}

std::unique_ptr<m2u::Trainer> make_trainer(const m2u::Model& model, int batch, m2u::TrainSchedule schedule,
                                           const m2u::OptimizerSettings& optimizer,
                                           m2u::TrainLoss loss = m2u::TrainLoss::kBce) {
  return trainer_test::create_trainer(model, batch, kHeight, kWidth, schedule, optimizer, loss);
}

m2u::TrainStepResult train_step(m2u::Trainer& trainer, Case& c) {
  const int batch = c.input.n;
  const m2u_image images = engine_test::host_image(c.pixels.data(), M2U_DTYPE_F32, batch, c.input.c, kHeight, kWidth);
  const m2u_image masks = engine_test::host_image(c.masks.data(), M2U_DTYPE_F32, batch, 1, kHeight, kWidth);
  m2u::TrainStepResult result;
  REQUIRE_MESSAGE(trainer.step(images, masks, &result) == M2U_OK, trainer.last_error());
  return result;
}

m2u::OptimizerSettings plain_sgd() {
  m2u::OptimizerSettings sgd;
  sgd.kind = m2u::Optimizer::kSgd;
  sgd.learning_rate = 1.0f;
  return sgd;
}

double normalised_error(const std::vector<float>& ours, const std::vector<float>& reference) {
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < ours.size(); ++i) {
    diff += (static_cast<double>(ours[i]) - reference[i]) * (static_cast<double>(ours[i]) - reference[i]);
    norm += static_cast<double>(reference[i]) * reference[i];
  }
  return std::sqrt(diff) / std::sqrt(norm);
}

void check_gradients(const std::string& name, m2u::TrainSchedule schedule, size_t expected_tensors) {
  Case c = load_case(name);
  const m2u::ref::DecoderGradients reference =
      m2u::ref::decoder_gradients(c.model, c.input, c.targets, kHeight, kWidth);
  std::unique_ptr<m2u::Trainer> trainer = make_trainer(c.model, c.input.n, schedule, plain_sgd());
  const m2u::TrainStepResult result = train_step(*trainer, c);
  CHECK_FALSE(result.skipped);
  CHECK(std::fabs(result.loss - reference.loss) <= 1e-5 * reference.loss);
  std::map<std::string, std::vector<float>> gradients;
  REQUIRE(trainer->read_tensors(true, &gradients) == M2U_OK);
  CHECK(gradients.size() == expected_tensors);
  double worst = 0.0;
  for (const auto& g : gradients) {
    const auto found = reference.tensors.find(g.first);
    REQUIRE_MESSAGE(found != reference.tensors.end(), name << ": the reference has no gradient for " << g.first);
    REQUIRE(found->second.size() == g.second.size());
    const double error = normalised_error(g.second, found->second);
    CHECK_MESSAGE(error <= 1e-4, name << " " << g.first << ": normalised error " << error);
    worst = std::max(worst, error);
  }
  MESSAGE(name << ": loss " << result.loss << " (reference " << reference.loss << "), " << gradients.size()
               << " gradients, worst normalised error " << worst);
}

}  // namespace

TEST_CASE("trainer gradients = the CPU reference's (and so PyTorch's): Cin 1, ReLU, the whole decoder") {
  check_gradients("cin1_relu", m2u::TrainSchedule::kDecoder, 38);
}

TEST_CASE("trainer gradients = the CPU reference's: Cin 3, ReLU6, the whole decoder") {
  check_gradients("cin3_relu6", m2u::TrainSchedule::kDecoder, 38);
}

TEST_CASE("trainer gradients under the other schedules: the last stage, the project convs") {
  check_gradients("cin1_relu", m2u::TrainSchedule::kDecoderLast, 11);    // 3 convs x 3 + the final conv's 2
  check_gradients("cin3_relu6", m2u::TrainSchedule::kDecoderProject, 12);  // 4 project convs x 3
}

TEST_CASE("SGD with lr 1: every trainable parameter moves by exactly -gradient, frozen tensors stay bit-identical") {
  for (m2u::TrainSchedule schedule :
       {m2u::TrainSchedule::kDecoder, m2u::TrainSchedule::kDecoderLast, m2u::TrainSchedule::kDecoderProject}) {
    Case c = load_case("cin1_relu");
    std::unique_ptr<m2u::Trainer> trainer = make_trainer(c.model, c.input.n, schedule, plain_sgd());
    std::map<std::string, std::vector<float>> before, after, gradients, trainable;
    REQUIRE(trainer->read_all_parameters(&before) == M2U_OK);
    train_step(*trainer, c);
    REQUIRE(trainer->read_all_parameters(&after) == M2U_OK);
    REQUIRE(trainer->read_tensors(true, &gradients) == M2U_OK);
    REQUIRE(trainer->read_tensors(false, &trainable) == M2U_OK);
    int moved = 0, frozen = 0;
    for (const auto& t : before) {
      const std::vector<float>& now = after.at(t.first);
      const auto g = gradients.find(t.first);
      if (g == gradients.end()) {
        CHECK_MESSAGE(now == t.second, t.first << " is frozen but changed");
        ++frozen;
        continue;
      }
      for (size_t i = 0; i < now.size(); ++i) {
        REQUIRE_MESSAGE(now[i] == t.second[i] - g->second[i], t.first << "[" << i << "]");
      }
      CHECK(trainable.at(t.first) == now);
      ++moved;
    }
    CHECK(moved == static_cast<int>(gradients.size()));
    CHECK(frozen > 0);  // running statistics at least
    // The trainer starts from the model's own tensors.
    for (const auto& t : before) {
      const m2u::Tensor* original = c.model.find(t.first);
      REQUIRE_MESSAGE(original, t.first);
      CHECK(original->values == t.second);
    }
  }
}

TEST_CASE("two identical runs give bit-identical weights (Adam, bce+dice, three steps)") {
  m2u::OptimizerSettings adam;
  adam.kind = m2u::Optimizer::kAdam;
  adam.learning_rate = 1e-3f;
  std::map<std::string, std::vector<float>> runs[2];
  double losses[2][3];
  for (int run = 0; run < 2; ++run) {
    Case c = load_case("cin3_relu6");
    std::unique_ptr<m2u::Trainer> trainer =
        make_trainer(c.model, c.input.n, m2u::TrainSchedule::kDecoder, adam, m2u::TrainLoss::kBceDice);
    for (int step = 0; step < 3; ++step) losses[run][step] = train_step(*trainer, c).loss;
    REQUIRE(trainer->read_all_parameters(&runs[run]) == M2U_OK);
    CHECK(trainer->updates() == 3);
  }
  CHECK(runs[0] == runs[1]);
  for (int step = 0; step < 3; ++step) CHECK(losses[0][step] == losses[1][step]);
  CHECK(losses[0][2] < losses[0][0]);
}

TEST_CASE("a non-finite loss or gradient skips the step, counted; the weights stay as they were") {
  Case c = load_case("cin1_relu");
  m2u::OptimizerSettings huge = plain_sgd();
  huge.learning_rate = 3e38f;  // the first update overflows the weights to infinity
  std::unique_ptr<m2u::Trainer> trainer = make_trainer(c.model, c.input.n, m2u::TrainSchedule::kDecoder, huge);
  CHECK_FALSE(train_step(*trainer, c).skipped);
  std::map<std::string, std::vector<float>> before, after;
  REQUIRE(trainer->read_all_parameters(&before) == M2U_OK);
  for (int i = 0; i < 2; ++i) {
    const m2u::TrainStepResult result = train_step(*trainer, c);
    CHECK(result.skipped);
  }
  REQUIRE(trainer->read_all_parameters(&after) == M2U_OK);
  CHECK(before == after);
  CHECK(trainer->updates() == 1);
  CHECK(trainer->skipped_steps() == 2);
  CHECK(trainer->skipped_in_a_row() == 2);
}

TEST_CASE("masks in host, pinned and device memory, packed or strided, give the same step") {
  Case c = load_case("cin1_relu");
  const int batch = c.input.n;
  const m2u_image images = engine_test::host_image(c.pixels.data(), M2U_DTYPE_F32, batch, 1, kHeight, kWidth);
  const m2u_image packed = engine_test::host_image(c.masks.data(), M2U_DTYPE_F32, batch, 1, kHeight, kWidth);
  // Strided copy: rows of kWidth + 3 floats, images 11 floats apart.
  const size_t row = kWidth + 3, image = row * kHeight + 11;
  std::vector<float> strided(image * batch, 0.75f);
  for (int n = 0; n < batch; ++n)
    for (int y = 0; y < kHeight; ++y)
      for (int x = 0; x < kWidth; ++x)
        strided[n * image + y * row + x] = c.masks[(static_cast<size_t>(n) * kHeight + y) * kWidth + x];
  m2u_image strided_host = engine_test::host_image(strided.data(), M2U_DTYPE_F32, batch, 1, kHeight, kWidth);
  strided_host.row_stride = row * sizeof(float);
  strided_host.image_stride = image * sizeof(float);
  void* device = nullptr;
  REQUIRE(cudaMalloc(&device, strided.size() * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemcpy(device, strided.data(), strided.size() * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  m2u_image strided_device = strided_host;
  strided_device.data = device;
  strided_device.memory = M2U_MEMORY_DEVICE;
  void* pinned = nullptr;
  REQUIRE(cudaMallocHost(&pinned, c.masks.size() * sizeof(float)) == cudaSuccess);
  std::memcpy(pinned, c.masks.data(), c.masks.size() * sizeof(float));
  m2u_image pinned_masks = packed;
  pinned_masks.data = pinned;
  pinned_masks.memory = M2U_MEMORY_PINNED;
  std::vector<std::map<std::string, std::vector<float>>> results;
  for (const m2u_image* masks : std::vector<const m2u_image*>{&packed, &strided_host, &strided_device, &pinned_masks}) {
    std::unique_ptr<m2u::Trainer> trainer =
        make_trainer(c.model, batch, m2u::TrainSchedule::kDecoder, plain_sgd());
    m2u::TrainStepResult result;
    REQUIRE_MESSAGE(trainer->step(images, *masks, &result) == M2U_OK, trainer->last_error());
    m2u::EvaluationResult evaluation;
    REQUIRE(trainer->evaluate(images, *masks, &evaluation) == M2U_OK);
    results.emplace_back();
    REQUIRE(trainer->read_tensors(true, &results.back()) == M2U_OK);
  }
  cudaFree(device);
  cudaFreeHost(pinned);
  for (size_t i = 1; i < results.size(); ++i) CHECK(results[i] == results[0]);
}

TEST_CASE("masks that do not fit are refused by name; nothing is trained") {
  Case c = load_case("cin1_relu");
  std::unique_ptr<m2u::Trainer> trainer =
      make_trainer(c.model, c.input.n, m2u::TrainSchedule::kDecoder, plain_sgd());
  const int batch = c.input.n;
  const m2u_image images = engine_test::host_image(c.pixels.data(), M2U_DTYPE_F32, batch, 1, kHeight, kWidth);
  m2u::TrainStepResult result;
  m2u_image masks = engine_test::host_image(c.masks.data(), M2U_DTYPE_F32, batch, 1, kHeight - 1, kWidth);
  CHECK(trainer->step(images, masks, &result) == M2U_ERROR_SHAPE);
  CHECK(trainer->last_error().find("masks are") != std::string::npos);
  masks.height = kHeight;
  masks.memory = static_cast<m2u_memory>(9);
  CHECK(trainer->step(images, masks, &result) == M2U_ERROR_INVALID_ARGUMENT);
  masks.memory = M2U_MEMORY_HOST;
  const size_t last_image = c.masks.size() / batch * (batch - 1) + 17;
  const float saved = c.masks[last_image];
  c.masks[last_image] = 2.0f;
  CHECK(trainer->step(images, masks, &result) == M2U_ERROR_INPUT);
  CHECK_MESSAGE(trainer->last_error() == "masks: F32 target values not in [0, 1] (NaN included): 1 in image " +
                                             std::to_string(batch - 1) + "; nothing was trained on this batch",
                trainer->last_error());
  c.masks[last_image] = std::numeric_limits<float>::quiet_NaN();
  CHECK(trainer->step(images, masks, &result) == M2U_ERROR_INPUT);
  c.masks[last_image] = saved;
  std::vector<float> bad_pixels = c.pixels;
  bad_pixels[5] = std::numeric_limits<float>::infinity();
  const m2u_image bad = engine_test::host_image(bad_pixels.data(), M2U_DTYPE_F32, batch, 1, kHeight, kWidth);
  CHECK(trainer->step(bad, masks, &result) == M2U_ERROR_INPUT);
  CHECK(trainer->updates() == 0);
  // U8 masks: 0 background, anything else foreground.
  std::vector<uint8_t> bytes(c.masks.size());
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = c.masks[i] > 0.5f ? static_cast<uint8_t>(1 + i % 254) : 0;
  const m2u_image u8 = engine_test::host_image(bytes.data(), M2U_DTYPE_U8, batch, 1, kHeight, kWidth);
  REQUIRE_MESSAGE(trainer->step(images, u8, &result) == M2U_OK, trainer->last_error());
  CHECK(trainer->updates() == 1);
}

TEST_CASE("save: the trained tensors as F32, the rest as it was, provenance; the file trains on and runs in FP16") {
  Case c = load_case("cin3_relu6");
  std::unique_ptr<m2u::Trainer> trainer =
      make_trainer(c.model, c.input.n, m2u::TrainSchedule::kDecoderLast, plain_sgd());
  train_step(*trainer, c);
  const std::string path = "test_trainer_saved.m2u";
  REQUIRE_MESSAGE(trainer->save(path, "fine_tune_data: 2 images\n") == M2U_OK, trainer->last_error());
  m2u::Model saved;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(path, &saved, &error), error);
  std::map<std::string, std::vector<float>> trained, all;
  REQUIRE(trainer->read_tensors(false, &trained) == M2U_OK);
  REQUIRE(trained.size() == 11);
  for (const m2u::Tensor& t : saved.tensors) {
    const auto found = trained.find(t.name);
    const m2u::Tensor* original = c.model.find(t.name);
    REQUIRE(original);
    if (found != trained.end()) {
      CHECK(t.dtype == m2u::DType::kF32);
      CHECK(t.values == found->second);
      CHECK(t.values != original->values);
    } else {
      CHECK_MESSAGE(t.values == original->values, t.name);
    }
  }
  CHECK(saved.provenance.find("fine_tuned_from_sha256: ") != std::string::npos);
  CHECK(saved.provenance.find("fine_tune_schedule: decoder-last\n") != std::string::npos);
  CHECK(saved.provenance.find("fine_tune_updates: 1\n") != std::string::npos);
  CHECK(saved.provenance.find("fine_tune_data: 2 images\n") != std::string::npos);
  // A second trainer from the saved file starts where the first one is.
  engine_test::use_identity_convention(saved);
  std::unique_ptr<m2u::Trainer> again = make_trainer(saved, c.input.n, m2u::TrainSchedule::kDecoder, plain_sgd());
  std::map<std::string, std::vector<float>> first_all, second_all;
  REQUIRE(trainer->read_all_parameters(&first_all) == M2U_OK);
  REQUIRE(again->read_all_parameters(&second_all) == M2U_OK);
  CHECK(first_all == second_all);
  // FP16 runs it; INT8 needs a new calibration.
  m2u::EngineOptions options;
  options.max_height = kHeight;
  options.max_width = kWidth;
  options.precision = M2U_PRECISION_FP16;
  m2u_status status;
  CHECK(m2u::Engine::create(saved, options, &status, &error) != nullptr);
  options.precision = M2U_PRECISION_INT8;
  CHECK(m2u::Engine::create(saved, options, &status, &error) == nullptr);
  CHECK(error.find("m2u_calibrate") != std::string::npos);
  std::remove(path.c_str());
  // Nothing is written where the file cannot go; the message names it.
  CHECK(trainer->save("no_such_directory/out.m2u", "") == M2U_ERROR_FILE);
  CHECK(trainer->last_error().find("no_such_directory/out.m2u") != std::string::npos);
}

TEST_CASE("evaluate: IoU of the thresholded probabilities, as the CPU reference's forward gives it") {
  Case c = load_case("cin1_relu");
  std::unique_ptr<m2u::Trainer> trainer =
      make_trainer(c.model, c.input.n, m2u::TrainSchedule::kDecoder, plain_sgd());
  const m2u_image images = engine_test::host_image(c.pixels.data(), M2U_DTYPE_F32, c.input.n, 1, kHeight, kWidth);
  const m2u_image masks = engine_test::host_image(c.masks.data(), M2U_DTYPE_F32, c.input.n, 1, kHeight, kWidth);
  m2u::EvaluationResult result;
  REQUIRE_MESSAGE(trainer->evaluate(images, masks, &result) == M2U_OK, trainer->last_error());
  const m2u::ref::HostTensor probabilities = m2u::ref::reference_forward(c.model, c.input).at("output");
  long long intersection = 0, union_pixels = 0, borderline = 0;
  for (int n = 0; n < c.input.n; ++n)
    for (int y = 0; y < kHeight; ++y)
      for (int x = 0; x < kWidth; ++x) {
        const float p = probabilities.at(n, 0, y, x);
        const bool truth = c.targets.at(n, 0, y, x) >= 0.5f, predicted = p >= 0.5f;
        intersection += truth && predicted;
        union_pixels += truth || predicted;
        borderline += std::fabs(p - 0.5f) < 1e-5f;
      }
  CHECK(std::llabs(result.intersection - intersection) <= borderline);
  CHECK(std::llabs(result.union_pixels - union_pixels) <= borderline);
  CHECK(result.union_pixels > 0);
  MESSAGE("IoU " << result.iou << " (" << result.intersection << " / " << result.union_pixels << "), reference "
                 << intersection << " / " << union_pixels << ", " << borderline << " borderline pixels");
}

TEST_CASE("20 steps of SGD with momentum and of Adam follow PyTorch's loss trajectory within 1e-3 relative") {
  // converter/make_trajectory_fixtures.py: the same start, input, targets
  // and settings in float64 PyTorch.
  const std::map<std::string, float> sgd_rates{{"cin1_relu", 2e-3f}, {"cin3_relu6", 2e-4f}};
  for (const char* name : {"cin1_relu", "cin3_relu6"}) {
    const m2u::ref::FixtureTensors torch =
        m2u::ref::read_fixture_file(engine_test::fixture_path(std::string(name) + "_trajectory.m2uf"));
    for (const char* kind : {"sgd", "adam"}) {
      Case c = load_case(name);
      m2u::OptimizerSettings settings;
      settings.weight_decay = 1e-4f;
      if (std::string(kind) == "sgd") {
        settings.kind = m2u::Optimizer::kSgd;
        settings.learning_rate = sgd_rates.at(name);
        settings.momentum = 0.9f;
      } else {
        settings.kind = m2u::Optimizer::kAdam;
        settings.learning_rate = 1e-3f;
      }
      std::unique_ptr<m2u::Trainer> trainer = make_trainer(c.model, c.input.n, m2u::TrainSchedule::kDecoder, settings);
      const std::vector<float>& expected = torch.at(kind).data;
      REQUIRE(expected.size() == 20);
      double worst = 0.0;
      for (size_t step = 0; step < expected.size(); ++step) {
        const double loss = train_step(*trainer, c).loss;
        const double relative = std::fabs(loss - expected[step]) / expected[step];
        CHECK_MESSAGE(relative <= 1e-3, name << " " << kind << " step " << step + 1 << ": loss " << loss
                                              << ", PyTorch " << expected[step]);
        worst = std::max(worst, relative);
      }
      MESSAGE(std::string(name) << " " << kind << ": 20 steps, loss " << expected.front() << " -> " << expected.back()
                   << ", worst relative difference " << worst);
    }
  }
}

TEST_CASE("frames up to the padded maximum train and evaluate (the staging is sized for them)") {
  // max 40 x 56 pads to 48 x 64: a 48 x 64 frame is accepted and must fit
  // every buffer (the emulation's device memory is exact-size, so ASan sees
  // an overflow).
  Case c = load_case("cin1_relu");
  std::unique_ptr<m2u::Trainer> trainer = trainer_test::create_trainer(
      c.model, 1, 40, 56, m2u::TrainSchedule::kDecoder, plain_sgd(), m2u::TrainLoss::kBce);
  std::vector<float> pixels(48 * 64, 0.5f), masks(48 * 64, 0.0f);
  for (size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<float>(i % 97) / 97.0f;
    masks[i] = i % 7 < 3 ? 1.0f : 0.0f;
  }
  const m2u_image images = engine_test::host_image(pixels.data(), M2U_DTYPE_F32, 1, 1, 48, 64);
  const m2u_image targets = engine_test::host_image(masks.data(), M2U_DTYPE_F32, 1, 1, 48, 64);
  m2u::TrainStepResult result;
  REQUIRE_MESSAGE(trainer->step(images, targets, &result) == M2U_OK, trainer->last_error());
  m2u::EvaluationResult evaluation;
  REQUIRE_MESSAGE(trainer->evaluate(images, targets, &evaluation) == M2U_OK, trainer->last_error());
  CHECK(evaluation.union_pixels > 0);
}

TEST_CASE("evaluate thresholds a linear-output model at logit 0, as a sigmoid one at 0.5") {
  Case c = load_case("cin1_relu");
  const m2u_image images = engine_test::host_image(c.pixels.data(), M2U_DTYPE_F32, c.input.n, 1, kHeight, kWidth);
  const m2u_image masks = engine_test::host_image(c.masks.data(), M2U_DTYPE_F32, c.input.n, 1, kHeight, kWidth);
  m2u::EvaluationResult results[2];
  for (int linear = 0; linear < 2; ++linear) {
    m2u::Model model = c.model;
    const m2u::Architecture& a = c.model.architecture;
    model.architecture = m2u::make_architecture(a.in_channels, a.out_channels, a.hidden_activation,
                                                linear ? m2u::Activation::kLinear : m2u::Activation::kSigmoid);
    std::unique_ptr<m2u::Trainer> trainer = make_trainer(model, c.input.n, m2u::TrainSchedule::kDecoder, plain_sgd());
    REQUIRE(trainer->evaluate(images, masks, &results[linear]) == M2U_OK);
  }
  CHECK(results[0].union_pixels > 0);
  CHECK(results[1].intersection == results[0].intersection);
  CHECK(results[1].union_pixels == results[0].union_pixels);
}
