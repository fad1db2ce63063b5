// golden_check.cpp - see golden_check.h.
#include "golden_check.h"

#include <fstream>
#include <iterator>

#include "compare.h"
#include "reference_forward.h"

namespace m2u::ref {

std::vector<StageResult> check_against_golden(const Model& model, const FixtureTensors& golden,
                                              double tolerance) {
  const ReferenceOutputs outputs = reference_forward(model, golden.at("input"));
  std::vector<StageResult> results;
  for (const char* stage : {"conv1", "conv2", "conv3", "conv4", "decode4", "decode3", "decode2", "decode1",
                            "output"}) {
    auto it = golden.find(stage);
    if (it == golden.end()) {
      results.push_back({stage, false, false, "absent from the golden file", 0.0});
      continue;
    }
    const Comparison c = compare(outputs.at(stage), it->second);
    results.push_back({stage, true, c.within(tolerance), c.describe(), c.relative});
  }
  return results;
}

bool read_golden_crop(const std::string& golden_dir, std::vector<uint8_t>* crop, std::string* problem) {
  std::ifstream file(golden_dir + "/crop.u8", std::ios::binary);
  if (!file) {
    *problem = golden_dir + "/crop.u8 absent (no ../shared/data?)";
    return false;
  }
  crop->assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  if (crop->size() != 256 * 256) {
    *problem = golden_dir + "/crop.u8 is " + std::to_string(crop->size()) + " bytes, expected 65536";
    return false;
  }
  return true;
}

}  // namespace m2u::ref
