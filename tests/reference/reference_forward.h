// reference_forward.h - M2U-Net's whole forward pass on the CPU, composed
// from reference_ops.h exactly as weights/M2UNET.md describes it,
// returning every stage output so a failing engine test can say where the
// first difference appears.
#ifndef M2U_TESTS_REFERENCE_REFERENCE_FORWARD_H
#define M2U_TESTS_REFERENCE_REFERENCE_FORWARD_H

#include <map>
#include <string>

#include "host_tensor.h"
#include "model.h"

namespace m2u::ref {

struct ReferenceOutputs {
  // "conv1".."conv4", "decode4".."decode1" (decode1: decode1.ir1's 16
  // channels, before the final conv) and "output" (after the final conv and
  // the output activation).
  std::map<std::string, HostTensor> tensors;

  // The tensor called `name`; throws std::out_of_range naming it when absent.
  const HostTensor& at(const std::string& name) const;
};

// Runs `model` (raw BN or folded) on `input` (N x Cin x H x W, N >= 1, H and
// W positive multiples of 16). Throws std::invalid_argument when the input's
// shape does not fit the model.
ReferenceOutputs reference_forward(const Model& model, const HostTensor& input);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_REFERENCE_FORWARD_H
