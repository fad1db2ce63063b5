// test_calibration.cpp - INT8 calibration: the clipping threshold of each
// method on known histograms; activation scales written into a .m2u file
// (loaded back, written again, bad scales refused); the calibrator through
// the C API on the fixture model: one scale per plan buffer, minmax scales
// equal max |v| / 127 of the CPU reference's activations, entropy and
// percentile clip no more than minmax allows; errors named.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "calibration_kernels.h"
#include "compare.h"
#include "engine_test_support.h"
#include "m2urt.h"
#include "quant_writer.h"
#include "reference_forward.h"
#include "reference_preprocess.h"
#include "scale_selection.h"
#include "weights_loader.h"

namespace {

std::vector<unsigned long long> gaussian_histogram(double sigma_bins, unsigned long long outliers) {
  std::vector<unsigned long long> bins(m2u::kCalibrationBins, 0);
  for (int i = 0; i < m2u::kCalibrationBins; ++i)
    bins[i] = static_cast<unsigned long long>(1e6 * std::exp(-0.5 * (i / sigma_bins) * (i / sigma_bins)));
  bins.back() += outliers;
  return bins;
}

std::string temporary_path(const std::string& name) {
  return "/tmp/m2u_test_calibration_" + std::to_string(getpid()) + "_" + name;
}

}  // namespace

TEST_CASE("calibration thresholds: minmax keeps the range, percentile and entropy clip the tail") {
  const float range = 20.48f;  // 0.01 per bin
  const std::vector<unsigned long long> bins = gaussian_histogram(100.0, 3);
  CHECK(m2u::calibration_threshold(bins, range, m2u::CalibrationMethod::kMinMax) == range);
  const float percentile = m2u::calibration_threshold(bins, range, m2u::CalibrationMethod::kPercentile);
  // 99.99% of a half-normal lies within 3.89 sigma: 389 bins of 0.01.
  CHECK(percentile == doctest::Approx(3.89).epsilon(0.02));
  const float entropy = m2u::calibration_threshold(bins, range, m2u::CalibrationMethod::kEntropy);
  MESSAGE("half-normal, sigma 1.0 (100 bins): percentile " << percentile << ", entropy " << entropy);
  CHECK(entropy > 1.28f);  // at least the 128 bins the search starts from
  CHECK(entropy < range / 2);
  // A uniform histogram has nothing to clip.
  const std::vector<unsigned long long> uniform(m2u::kCalibrationBins, 10);
  CHECK(m2u::calibration_threshold(uniform, range, m2u::CalibrationMethod::kEntropy) ==
        doctest::Approx(range).epsilon(0.01));
  // Nothing counted: the range, or 1 without one.
  const std::vector<unsigned long long> empty(m2u::kCalibrationBins, 0);
  CHECK(m2u::calibration_threshold(empty, range, m2u::CalibrationMethod::kEntropy) == range);
  CHECK(m2u::calibration_threshold(empty, 0.0f, m2u::CalibrationMethod::kPercentile) == 1.0f);
}

TEST_CASE("activation scales written into a .m2u file load back, replace earlier ones, and bad ones are refused") {
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(engine_test::fixture_path("cin1_relu.m2u"), &model, &error), error);
  REQUIRE(model.quantisation.empty());
  std::vector<uint8_t> first;
  REQUIRE_MESSAGE(m2u::write_activation_scales(model.source, {{"act:a", 0.5f}, {"act:b", 0.25f}}, &first, &error),
                  error);
  m2u::Model loaded;
  REQUIRE_MESSAGE(m2u::parse_weights(first.data(), first.size(), &loaded, &error), error);
  REQUIRE(loaded.quantisation.size() == 2);
  CHECK(loaded.quantisation[1].name == "act:b");
  CHECK(loaded.quantisation[1].kind == m2u::QuantKind::kActivationPerTensor);
  CHECK(loaded.quantisation[1].scales == std::vector<float>{0.25f});
  CHECK(loaded.tensors.size() == model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i) CHECK(loaded.tensors[i].values == model.tensors[i].values);
  // Calibrating the calibrated file replaces its table.
  std::vector<uint8_t> second;
  REQUIRE_MESSAGE(m2u::write_activation_scales(first, {{"act:c", 2.0f}}, &second, &error), error);
  REQUIRE(m2u::parse_weights(second.data(), second.size(), &loaded, &error));
  REQUIRE(loaded.quantisation.size() == 1);
  CHECK(loaded.quantisation[0].name == "act:c");
  CHECK_FALSE(m2u::write_activation_scales(model.source, {{"act:nan", std::nanf("")}}, &second, &error));
  CHECK(error.find("act:nan") != std::string::npos);
  CHECK_FALSE(m2u::write_activation_scales(model.source, {{"has space", 1.0f}}, &second, &error));
  CHECK(error.find("printable") != std::string::npos);
}

TEST_CASE("the calibrator on the fixture model: a scale per buffer; minmax = max |v| / 127 of the reference") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin1_relu.m2u").c_str(), &model) == M2U_OK);
  const int height = 48, width = 80;
  std::vector<std::vector<uint8_t>> frames(2, std::vector<uint8_t>(static_cast<size_t>(height) * width));
  std::mt19937 rng(5);
  for (auto& frame : frames)
    for (uint8_t& v : frame) v = static_cast<uint8_t>(rng() % 256);

  std::map<std::string, float> scales[3];
  const m2u_calibration_method methods[3] = {M2U_CALIBRATION_MINMAX, M2U_CALIBRATION_PERCENTILE,
                                             M2U_CALIBRATION_ENTROPY};
  for (int m = 0; m < 3; ++m) {
    m2u_calibrator_options options;
    m2u_calibrator_options_init(&options);
    options.max_height = height;
    options.max_width = width;
    options.method = methods[m];
    m2u_calibrator* calibrator = nullptr;
    REQUIRE_MESSAGE(m2u_calibrator_create(model, &options, &calibrator) == M2U_OK, m2u_last_error());
    const std::string path = temporary_path("cin1_int8.m2u");
    CHECK(m2u_calibrator_save(calibrator, path.c_str()) == M2U_ERROR_INVALID_ARGUMENT);  // no frames yet
    CHECK(std::string(m2u_calibrator_last_error(calibrator)).find("no calibration frames") != std::string::npos);
    for (auto& frame : frames) {
      const m2u_image image = engine_test::host_image(frame.data(), M2U_DTYPE_U8, 1, 1, height, width);
      REQUIRE(m2u_calibrator_add_frames(calibrator, &image) == M2U_OK);
    }
    REQUIRE_MESSAGE(m2u_calibrator_save(calibrator, path.c_str()) == M2U_OK, m2u_calibrator_last_error(calibrator));
    int count = 0;
    REQUIRE(m2u_calibrator_scale_count(calibrator, &count) == M2U_OK);
    CHECK(count > 40);
    for (int i = 0; i < count; ++i) {
      const char* name = nullptr;
      float scale = 0.0f;
      REQUIRE(m2u_calibrator_get_scale(calibrator, i, &name, &scale) == M2U_OK);
      CHECK(std::isfinite(scale));
      CHECK(scale > 0.0f);
      scales[m][name] = scale;
    }
    // The file holds the same scales.
    m2u::Model calibrated;
    std::string error;
    REQUIRE_MESSAGE(m2u::load_weights_file(path, &calibrated, &error), error);
    REQUIRE(calibrated.quantisation.size() == static_cast<size_t>(count));
    for (const m2u::QuantEntry& entry : calibrated.quantisation) CHECK(entry.scales[0] == scales[m][entry.name]);
    std::remove(path.c_str());
    CHECK(m2u_calibrator_save(calibrator, "/nonexistent-dir/x.m2u") == M2U_ERROR_FILE);
    CHECK(std::string(m2u_calibrator_last_error(calibrator)).find("/nonexistent-dir/x.m2u") != std::string::npos);
    m2u_calibrator_destroy(calibrator);
  }
  // minmax: max |decode1| over both frames, from the CPU reference.
  m2u::Model reference_model;
  std::string error;
  REQUIRE(m2u::load_weights_file(engine_test::fixture_path("cin1_relu.m2u"), &reference_model, &error));
  double largest = 0.0;
  for (auto& frame : frames) {
    const m2u::ref::HostTensor input =
        m2u::ref::apply_input_convention(reference_model.input, 1, frame.data(), height, width, 255);
    const m2u::ref::ReferenceOutputs outputs = m2u::ref::reference_forward(reference_model, input);
    for (float v : outputs.at("decode1").data) largest = std::max(largest, std::fabs(static_cast<double>(v)));
  }
  REQUIRE(scales[0].count("act:decode1.output"));
  CHECK(scales[0]["act:decode1.output"] == doctest::Approx(largest / 127.0).epsilon(1e-4));
  for (const auto& entry : scales[0]) {
    CHECK_MESSAGE(scales[1][entry.first] <= entry.second * 1.0001f, entry.first);
    CHECK_MESSAGE(scales[2][entry.first] <= entry.second * 1.0001f, entry.first);
  }
  MESSAGE("act:decode1.output scale: minmax " << scales[0]["act:decode1.output"] << ", percentile "
                                              << scales[1]["act:decode1.output"] << ", entropy "
                                              << scales[2]["act:decode1.output"]);
  m2u_calibrator_options options;
  m2u_calibrator_options_init(&options);
  const int unknown = 9;
  std::memcpy(&options.method, &unknown, sizeof(unknown));
  m2u_calibrator* calibrator = nullptr;
  CHECK(m2u_calibrator_create(model, &options, &calibrator) == M2U_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(m2u_last_error()).find("method 9 is unknown") != std::string::npos);
  m2u_model_destroy(model);
}

TEST_CASE("INT8 engine: refused without calibration (naming m2u_calibrate); calibrated, near the FP32 engine") {
  m2u_model* model = nullptr;
  REQUIRE(m2u_model_load(engine_test::fixture_path("cin1_relu.m2u").c_str(), &model) == M2U_OK);
  const int height = 48, width = 80;
  m2u_engine_options options;
  m2u_engine_options_init(&options);
  options.max_height = height;
  options.max_width = width;
  options.precision = M2U_PRECISION_INT8;
  m2u_engine* engine = nullptr;
  CHECK(m2u_engine_create(model, &options, &engine) == M2U_ERROR_BAD_MODEL);
  CHECK(std::string(m2u_last_error()).find("m2u_calibrate --model") != std::string::npos);

  // Calibrate on 4 frames, judge on a fifth.
  std::vector<std::vector<uint8_t>> frames(5, std::vector<uint8_t>(static_cast<size_t>(height) * width));
  for (size_t f = 0; f < frames.size(); ++f)
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x)
        frames[f][static_cast<size_t>(y) * width + x] = static_cast<uint8_t>(
            128 + 100 * std::sin(0.11 * x * (f + 1) + 0.07 * y) * std::cos(0.05 * y * (f + 2) - 0.03 * x));
  m2u_calibrator_options calibration;
  m2u_calibrator_options_init(&calibration);
  calibration.max_height = height;
  calibration.max_width = width;
  m2u_calibrator* calibrator = nullptr;
  REQUIRE(m2u_calibrator_create(model, &calibration, &calibrator) == M2U_OK);
  for (size_t f = 0; f + 1 < frames.size(); ++f) {
    const m2u_image image = engine_test::host_image(frames[f].data(), M2U_DTYPE_U8, 1, 1, height, width);
    REQUIRE(m2u_calibrator_add_frames(calibrator, &image) == M2U_OK);
  }
  const std::string path = temporary_path("cin1_int8_engine.m2u");
  REQUIRE_MESSAGE(m2u_calibrator_save(calibrator, path.c_str()) == M2U_OK, m2u_calibrator_last_error(calibrator));
  m2u_calibrator_destroy(calibrator);
  m2u_model* calibrated = nullptr;
  REQUIRE(m2u_model_load(path.c_str(), &calibrated) == M2U_OK);
  std::remove(path.c_str());

  std::vector<float> probabilities[2];
  size_t arena[2];
  for (int int8 = 0; int8 < 2; ++int8) {
    options.precision = int8 ? M2U_PRECISION_INT8 : M2U_PRECISION_FP32;
    REQUIRE_MESSAGE(m2u_engine_create(calibrated, &options, &engine) == M2U_OK, m2u_last_error());
    REQUIRE(m2u_engine_memory(engine, &arena[int8], nullptr) == M2U_OK);
    probabilities[int8].assign(static_cast<size_t>(height) * width, -1.0f);
    const m2u_image in = engine_test::host_image(frames.back().data(), M2U_DTYPE_U8, 1, 1, height, width);
    m2u_image out = engine_test::host_image(probabilities[int8].data(), M2U_DTYPE_F32, 1, 1, height, width);
    REQUIRE_MESSAGE(m2u_engine_run(engine, &in, &out) == M2U_OK, m2u_engine_last_error(engine));
    if (int8) {
      int count = 0;
      REQUIRE(m2u_engine_layer_count(engine, &count) == M2U_OK);
      int dp4a_layers = 0;
      for (int i = 0; i < count; ++i) {
        m2u_layer_info info;
        info.struct_size = sizeof(info);
        REQUIRE(m2u_engine_get_layer(engine, i, &info) == M2U_OK);
        dp4a_layers += std::string(info.arithmetic).find("dp4a") != std::string::npos;
        if (std::string(info.name).find("output") == std::string::npos) CHECK(std::string(info.storage) == "int8");
      }
      CHECK(dp4a_layers > 20);
    }
    m2u_engine_destroy(engine);
  }
  const m2u::ref::MaskAgreement a = m2u::ref::mask_agreement(probabilities[1], probabilities[0], 0.5f);
  MESSAGE("INT8 vs FP32 on an uncalibrated frame: max |dp| " << a.max_abs_diff << ", mask IoU " << a.iou << " ("
                                                             << a.differing << " of " << a.union_pixels
                                                             << "); arena FP32 " << arena[0] << ", INT8 " << arena[1]);
  CHECK(a.finite);
  // The fixture's weights are random (no trained network's redundancy): its
  // INT8 error grows through the layers to ~10% of each stage's range
  // (test_engine_fixtures.cpp checks each stage); the trained model's bar,
  // IoU >= 0.98 on the real image, is engine_real_data_check's.
  CHECK(a.iou >= 0.75);
  CHECK(arena[1] * 3 < arena[0]);
  m2u_model_destroy(calibrated);
  m2u_model_destroy(model);
}
