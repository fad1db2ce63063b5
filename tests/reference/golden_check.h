// golden_check.h - compares every stage of the CPU reference with a golden
// .m2uf file (from PyTorch or the ONNX interpreter) and reports the figures.
#ifndef M2U_TESTS_REFERENCE_GOLDEN_CHECK_H
#define M2U_TESTS_REFERENCE_GOLDEN_CHECK_H

#include <cstdint>
#include <string>
#include <vector>

#include "fixture_file.h"
#include "model.h"

namespace m2u::ref {

struct StageResult {
  std::string stage;
  bool present;       // the golden file has this stage
  bool within;        // relative error <= tolerance
  std::string figures;  // Comparison::describe()
  double relative;
};

// Runs reference_forward on golden "input" and compares each stage the golden
// file holds ("conv1".."decode1", "output") within `tolerance`.
std::vector<StageResult> check_against_golden(const Model& model, const FixtureTensors& golden,
                                              double tolerance);

// The real-data goldens' 256x256 8-bit crop (GOLDEN_DIR/crop.u8), for the
// real-data check programs: false when absent (no ../shared/data) or not
// 65,536 bytes, with *problem saying which.
bool read_golden_crop(const std::string& golden_dir, std::vector<uint8_t>* crop, std::string* problem);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_GOLDEN_CHECK_H
