// test_trainer_work.cpp - the training step's work model
// (Trainer::work_model): its launches are the launches the step makes (the
// emulator counts them) for each loss and schedule; its multiply-adds
// agree with M2UNET.md's forward count and with the decoder's own count
// of the backward; and the figures of one 512 x 512 decoder-only forward
// + backward, printed for the README.
#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine_test_support.h"
#include "trainer.h"
#include "trainer_test_support.h"
#include "weights_loader.h"
#if defined(M2U_FLAVOUR_EMU)
#include "emu/emu_scheduler.h"
#endif

namespace {

std::unique_ptr<m2u::Trainer> trainer_for(const m2u::Model& model, int batch, int height, int width,
                                          m2u::TrainSchedule schedule, m2u::TrainLoss loss) {
  return trainer_test::create_trainer(model, batch, height, width, schedule, m2u::OptimizerSettings(), loss);
}

m2u::Model load(const char* name) {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path(name), &model, &error), error);
  return model;
}

}  // namespace

#if defined(M2U_FLAVOUR_EMU)
TEST_CASE("the work model's launches are the step's launches, for each loss and schedule") {
  const m2u::Model model = load("cin1_relu.m2u");  // per-image standardisation: the statistics run too
  const int batch = 2, height = 37, width = 51;
  std::vector<uint8_t> frames(batch * height * width), masks(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    frames[i] = static_cast<uint8_t>(i * 13 % 256);
    masks[i] = i % 5 == 0;
  }
  const m2u_image images = engine_test::host_image(frames.data(), M2U_DTYPE_U8, batch, 1, height, width);
  const m2u_image targets = engine_test::host_image(masks.data(), M2U_DTYPE_U8, batch, 1, height, width);
  for (m2u::TrainLoss loss : {m2u::TrainLoss::kBce, m2u::TrainLoss::kBceDice}) {
    for (m2u::TrainSchedule schedule :
         {m2u::TrainSchedule::kDecoder, m2u::TrainSchedule::kDecoderLast, m2u::TrainSchedule::kDecoderProject}) {
      std::unique_ptr<m2u::Trainer> trainer = trainer_for(model, batch, height, width, schedule, loss);
      const long long before = static_cast<long long>(m2u_emu::counters().grids_launched);
      m2u::TrainStepResult result;
      REQUIRE(trainer->step(images, targets, &result) == M2U_OK);
      const long long launched = static_cast<long long>(m2u_emu::counters().grids_launched) - before;
      const m2u::TrainingWork work = trainer->work_model(batch, height, width, 1, 1);
      CHECK_MESSAGE(work.total.launches == launched, "schedule " << static_cast<int>(schedule) << ", loss "
                                                                   << static_cast<int>(loss) << ": model "
                                                                   << work.total.launches << ", emulator " << launched);
    }
  }
}
#endif

TEST_CASE("the work of one 512 x 512 decoder-only training step (Cin 1, batch 1)") {
  const m2u::Model model = load("cin1_relu.m2u");
  std::unique_ptr<m2u::Trainer> trainer =
      trainer_for(model, 1, 512, 512, m2u::TrainSchedule::kDecoder, m2u::TrainLoss::kBce);
  const m2u::TrainingWork work = trainer->work_model(1, 512, 512, 1, 1);
  double forward = 0.0, backward = 0.0, forward_convs = 0.0, weight_gradients = 0.0, input_gradients = 0.0;
  std::string table = "| kernel | launches | multiply-adds (M) | DRAM read (MB) | DRAM written (MB) |\n|---|---:|---:|---:|---:|\n";
  char line[256];
  for (const m2u::KernelWork& row : work.rows) {
    const bool is_forward = row.kernel.rfind("forward", 0) == 0;
    (is_forward ? forward : backward) += row.multiply_adds;
    if (is_forward && row.kernel.find("bilinear") == std::string::npos) forward_convs += row.multiply_adds;
    if (row.kernel.find("weight gradient") != std::string::npos) weight_gradients += row.multiply_adds;
    if (row.kernel.find("input gradient") != std::string::npos) input_gradients += row.multiply_adds;
    std::snprintf(line, sizeof(line), "| %s | %lld | %.1f | %.2f | %.2f |\n", row.kernel.c_str(), row.launches,
                  row.multiply_adds / 1e6, row.bytes_read / 1e6, row.bytes_written / 1e6);
    table += line;
  }
  std::snprintf(line, sizeof(line), "| **total** | %lld | %.1f | %.2f | %.2f |\n", work.total.launches,
                work.total.multiply_adds / 1e6, work.total.bytes_read / 1e6, work.total.bytes_written / 1e6);
  table += line;
  const double pixels = 512.0 * 512.0;
  // M2UNET.md: 4731.48 multiply-adds per input pixel for the Cin 1
  // network's convolutions, the output conv included.
  CHECK(forward_convs / pixels == doctest::Approx(4731.48).epsilon(1e-4));
  // Every decoder conv's weight gradient costs its forward: decode4..decode1
  // with the output conv, 59.67 + 114.56 + 222.75 + 296 per pixel.
  CHECK(weight_gradients / pixels == doctest::Approx(692.98).epsilon(1e-4));
  // The input gradients skip decode4's expand and the concat's skip slices.
  CHECK(input_gradients < weight_gradients);
  CHECK(input_gradients > 0.5 * weight_gradients);
  const double flops = 2.0 * work.total.multiply_adds, bytes = work.total.bytes_read + work.total.bytes_written;
  MESSAGE("\n" << table << "forward " << forward / 1e9 << " GMAC, backward " << backward / 1e9 << " GMAC; "
               << flops / 1e9 << " GFLOP, " << bytes / 1e6 << " MB; the Jetson Nano's floors (236 GFLOP/s FP32, "
               << "25.6 GB/s): compute " << flops / 236e9 * 1e3 << " ms, DRAM " << bytes / 25.6e9 * 1e3
               << " ms (a model, not a timing); memory: engine arena " << trainer->engine().arena_bytes() / 1048576.0
               << " MiB (decoder activations kept), trainer " << trainer->device_bytes() / 1048576.0 << " MiB, "
               << trainer->trainable_count() << " trainable floats");
}
