// random_model.h - deterministic pseudo-random test data: input tensors and
// whole M2U-Net models with every tensor weights/FORMAT.md names, so tests
// can run the reference and the engine without a weights file.
#ifndef M2U_TESTS_REFERENCE_RANDOM_MODEL_H
#define M2U_TESTS_REFERENCE_RANDOM_MODEL_H

#include <cstdint>

#include "host_tensor.h"
#include "split_mix64.h"
#include "model.h"

namespace m2u::ref {

using SplitMix64 = m2u_test::SplitMix64;

// n x c x h x w values uniform in [low, high).
HostTensor random_tensor(int n, int c, int h, int w, uint64_t seed, double low, double high);

// A model of `architecture` with He-uniform conv weights and batch norms
// near identity (gamma in [0.5, 1.5), beta and mean in [-0.2, 0.2), var in
// [0.5, 1.5)), bn_epsilon 1e-5, tensors indexed. With `bn_folded` the same
// parameters (same seed) are folded into conv biases, so both variants
// compute the same function up to rounding.
Model make_random_model(const Architecture& architecture, uint64_t seed, bool bn_folded);

}  // namespace m2u::ref

#endif  // M2U_TESTS_REFERENCE_RANDOM_MODEL_H
