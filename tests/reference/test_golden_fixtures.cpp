// test_golden_fixtures.cpp - the CPU reference equals the committed PyTorch
// fixtures (tests/fixtures, made by converter/make_fixtures.py) at every
// stage: max |diff| / max |ref| <= 1e-5. The models go through the real
// loader, so this also checks the converter <-> loader agreement.
#include <doctest/doctest.h>

#include <string>

#include "golden_check.h"
#include "weights_loader.h"

namespace {

void check_fixture(const std::string& name) {
  const std::string base = std::string(M2U_FIXTURE_DIR) + "/" + name;
  m2u::Model model;
  std::string error;
  REQUIRE_MESSAGE(m2u::load_weights_file(base + ".m2u", &model, &error), error);
  const m2u::ref::FixtureTensors golden = m2u::ref::read_fixture_file(base + ".m2uf");
  for (const m2u::ref::StageResult& r : m2u::ref::check_against_golden(model, golden, 1e-5)) {
    CHECK_MESSAGE(r.present, name << " " << r.stage << " missing from the fixture");
    CHECK_MESSAGE(r.within, name << " " << r.stage << ": " << r.figures);
    MESSAGE(name << " " << r.stage << ": " << r.figures);
  }
}

}  // namespace

TEST_CASE("reference = PyTorch: Cin 3, ReLU6, F16 weights, raw batch norm") { check_fixture("cin3_relu6"); }
TEST_CASE("reference = PyTorch: Cin 1, ReLU, F16 weights, raw batch norm") { check_fixture("cin1_relu"); }
TEST_CASE("reference = PyTorch: Cin 3, ReLU6, batch norm folded by the ONNX export, batch 2") {
  check_fixture("cin3_relu6_folded");
}
