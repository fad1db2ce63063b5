// golden_check.cpp - see golden_check.h.
#include "golden_check.h"

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

}  // namespace m2u::ref
