// reference_preprocess.h - turns a grey image into the network input as a
// model's input convention says (weights/FORMAT.md, "Input convention"),
// in double arithmetic: the oracle for the runtime's preprocessing kernel.
#ifndef M2U_TESTS_REFERENCE_REFERENCE_PREPROCESS_H
#define M2U_TESTS_REFERENCE_REFERENCE_PREPROCESS_H

#include <cstdint>

#include "host_tensor.h"
#include "model.h"

namespace m2u::ref {

// With p = grey / max_value and v = p * pixel_scale: AFFINE gives channel c
// (v - channel_mean[c]) / channel_std[c]; PER_IMAGE_STANDARDIZE gives
// (v - mean(v)) / max(std(v), std_floor) with the population std over the
// whole image. REPLICATE fills every channel, FIRST_CHANNEL channel 0 only
// (the others 0). Returns 1 x in_channels x height x width. Throws
// std::invalid_argument on bad arguments and std::domain_error when the
// divisor is 0 (a constant image with std_floor 0, or channel_std 0).
HostTensor apply_input_convention(const InputConvention& convention, int in_channels,
                                  const uint8_t* grey, int height, int width, int max_value = 255);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_REFERENCE_PREPROCESS_H
