// test_reference_training.cpp - the CPU reference's decoder-only gradients
// (reference_training.h) against PyTorch autograd (tests/fixtures/
// NAME_grad.m2uf, made by converter/make_gradient_fixtures.py) for both
// activation kinds: every trainable tensor present, no encoder tensor, each
// gradient within a normalised error ||ref - torch|| / ||torch|| <= 1e-4,
// the loss within 1e-6 relative. The fixtures' loss covers the top-left
// 43 x 75 pixels of the 48 x 80 frame, so the padding's exclusion is in
// the comparison too.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "fixture_file.h"
#include "reference_training.h"
#include "weights_loader.h"

namespace {

constexpr int kValidHeight = 43, kValidWidth = 75;  // make_gradient_fixtures.py's
constexpr double kGradientTolerance = 1e-4;

void check_gradients(const std::string& name) {
  const std::string base = std::string(M2U_FIXTURE_DIR) + "/" + name;
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(base + ".m2u", &model, &error), error);
  const m2u::ref::HostTensor input = m2u::ref::read_fixture_file(base + ".m2uf").at("input");
  const m2u::ref::FixtureTensors torch = m2u::ref::read_fixture_file(base + "_grad.m2uf");
  const m2u::ref::DecoderGradients ours =
      m2u::ref::decoder_gradients(model, input, torch.at("target"), kValidHeight, kValidWidth);

  const double torch_loss = torch.at("loss").data.at(0);
  CHECK_MESSAGE(std::fabs(ours.loss - torch_loss) <= 1e-6 * torch_loss,
                name << ": loss " << ours.loss << ", PyTorch " << torch_loss);
  size_t torch_tensors = 0;
  double worst = 0.0;
  for (const auto& [key, expected] : torch) {
    if (key.rfind("grad:", 0) != 0) continue;
    ++torch_tensors;
    const std::string tensor = key.substr(5);
    const auto found = ours.tensors.find(tensor);
    REQUIRE_MESSAGE(found != ours.tensors.end(), name << ": no gradient for " << tensor);
    REQUIRE(found->second.size() == expected.size());
    double difference = 0.0, norm = 0.0;
    for (size_t i = 0; i < expected.size(); ++i) {
      difference += std::pow(static_cast<double>(found->second[i]) - expected.data[i], 2);
      norm += std::pow(static_cast<double>(expected.data[i]), 2);
    }
    REQUIRE_MESSAGE(norm > 0.0, name << ": PyTorch's gradient of " << tensor << " is zero");
    const double normalised = std::sqrt(difference / norm);
    worst = std::fmax(worst, normalised);
    CHECK_MESSAGE(normalised <= kGradientTolerance, name << " " << tensor << ": normalised error " << normalised);
  }
  CHECK(torch_tensors == 38);
  CHECK_MESSAGE(ours.tensors.size() == torch_tensors, name << ": " << ours.tensors.size()
                                                           << " gradients, PyTorch has " << torch_tensors);
  for (const auto& [tensor, values] : ours.tensors) {
    CHECK_MESSAGE(tensor.rfind("decode", 0) == 0, name << ": a gradient for the frozen encoder's " << tensor);
  }
  MESSAGE(name << ": loss " << ours.loss << " (PyTorch " << torch_loss << "), " << torch_tensors
               << " gradients, worst normalised error " << worst);
}

}  // namespace

TEST_CASE("decoder gradients = PyTorch autograd: Cin 1, ReLU") { check_gradients("cin1_relu"); }
TEST_CASE("decoder gradients = PyTorch autograd: Cin 3, ReLU6") { check_gradients("cin3_relu6"); }
