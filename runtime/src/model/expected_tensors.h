// expected_tensors.h - the tensors a .m2u file must hold for an architecture:
// names and shapes, raw-BN or BN-folded (weights/FORMAT.md, "Which tensors").
#ifndef M2U_RUNTIME_MODEL_EXPECTED_TENSORS_H
#define M2U_RUNTIME_MODEL_EXPECTED_TENSORS_H

#include <string>
#include <vector>

#include "architecture.h"

namespace m2u {

struct ExpectedTensor {
  std::string name;
  std::vector<int> dims;
};

// In architecture order; for every conv its weight, then its BN's weight,
// bias, running_mean, running_var (raw), or its own bias (folded, and the
// final conv).
inline std::vector<ExpectedTensor> expected_tensors(const Architecture& arch, bool bn_folded) {
  std::vector<ExpectedTensor> tensors;
  for (const ConvSpec& conv : arch.convs) {
    tensors.push_back({conv.name + ".weight", conv.weight_dims()});
    const std::vector<int> per_channel{conv.out_channels};
    if (conv.bn_name.empty() || bn_folded) {
      tensors.push_back({conv.name + ".bias", per_channel});
    } else {
      for (const char* field : {".weight", ".bias", ".running_mean", ".running_var"}) {
        tensors.push_back({conv.bn_name + field, per_channel});
      }
    }
  }
  return tensors;
}

}  // namespace m2u

#endif  // M2U_RUNTIME_MODEL_EXPECTED_TENSORS_H
