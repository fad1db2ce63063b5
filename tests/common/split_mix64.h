// split_mix64.h - SplitMix64, the tests' pseudo-random generator: the same
// sequence for the same seed on every platform and compiler.
#ifndef M2U_TESTS_COMMON_SPLIT_MIX64_H
#define M2U_TESTS_COMMON_SPLIT_MIX64_H

#include <cstdint>

namespace m2u_test {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t next32() { return static_cast<uint32_t>(next() >> 32); }
  // Uniform in [low, high).
  double uniform(double low, double high) {
    const double unit = static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
    return low + (high - low) * unit;
  }

 private:
  uint64_t state_;
};

}  // namespace m2u_test

#endif  // M2U_TESTS_COMMON_SPLIT_MIX64_H
