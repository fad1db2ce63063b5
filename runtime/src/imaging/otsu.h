// otsu.h - host side of the mask post-processing (mask_kernels.h): the
// 8-bit binning of a probability, Otsu's threshold on the 256-bin histogram
// probability_histogram produces, and the float threshold that makes
// threshold_mask agree with that histogram exactly. Header-only host C++
// (include it from host code, not from a kernel).
#ifndef M2U_KERNELS_OTSU_H
#define M2U_KERNELS_OTSU_H

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

// probability_bin and otsu_probability_threshold reproduce the device's
// float multiply; with excess precision (x87) they would not.
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "otsu.h needs FLT_EVAL_METHOD == 0 (float arithmetic in float)"
#endif

namespace m2u {

// The 8-bit probability of p, as probability_histogram bins it and
// output_conv stores a U8 probability: p * 255 (in float) rounded to the
// nearest integer, ties to even, clamped to [0, 255]; NaN gives 0.
inline int probability_bin(float p) {
  const float scaled = p * 255.0f;
  if (!(scaled > 0.0f)) return 0;  // NaN, negatives, zero
  if (scaled >= 255.0f) return 255;
  return static_cast<int>(std::nearbyint(scaled));  // default rounding mode: ties to even
}

namespace otsu_detail {

// Unsigned integers below 2^384 (12 little-endian 32-bit limbs): enough for
// the exact comparison of between-class variances below.
struct Wide {
  uint32_t limb[12];
};

inline Wide wide(uint64_t value) {
  Wide w{};
  w.limb[0] = static_cast<uint32_t>(value);
  w.limb[1] = static_cast<uint32_t>(value >> 32);
  return w;
}

// a * b; the callers keep products below 2^384.
inline Wide multiply(const Wide& a, const Wide& b) {
  Wide product{};
  for (int i = 0; i < 12; ++i) {
    if (a.limb[i] == 0) continue;
    uint64_t carry = 0;
    for (int j = 0; i + j < 12; ++j) {
      const uint64_t t = static_cast<uint64_t>(a.limb[i]) * b.limb[j] + product.limb[i + j] + carry;
      product.limb[i + j] = static_cast<uint32_t>(t);
      carry = t >> 32;
    }
  }
  return product;
}

// -1, 0, 1 as a <, ==, > b.
inline int compare(const Wide& a, const Wide& b) {
  for (int i = 11; i >= 0; --i) {
    if (a.limb[i] != b.limb[i]) return a.limb[i] < b.limb[i] ? -1 : 1;
  }
  return 0;
}

// a - b for a >= b.
inline Wide subtract(const Wide& a, const Wide& b) {
  Wide difference{};
  uint64_t borrow = 0;
  for (int i = 0; i < 12; ++i) {
    const uint64_t t = static_cast<uint64_t>(a.limb[i]) - b.limb[i] - borrow;
    difference.limb[i] = static_cast<uint32_t>(t);
    borrow = (t >> 32) != 0 ? 1 : 0;
  }
  return difference;
}

}  // namespace otsu_detail

// Otsu's threshold of a 256-bin histogram of 8-bit values: the t in [0, 255]
// that maximises the between-class variance w0 w1 (mu0 - mu1)^2 of the
// classes [0, t] (background) and [t + 1, 255] (foreground). Compared
// exactly (integer arithmetic: the variance of split t is
// (S0 n1 - S1 n0)^2 / (N^2 n0 n1) with n, S the classes' counts and value
// sums), so ties are real ties and go to the lowest t: with two values a < b
// it returns a. A histogram with a single value v returns v (every split
// has variance 0); an empty one returns 0.
inline int otsu_threshold(const unsigned bins[256]) {
  using namespace otsu_detail;
  uint64_t total = 0;
  uint64_t total_sum = 0;
  for (int v = 0; v < 256; ++v) {
    total += bins[v];
    total_sum += static_cast<uint64_t>(v) * bins[v];
  }
  if (total == 0) return 0;
  // total < 2^40, sums < 2^48: S0 n1 < 2^88, its square < 2^176, n0 n1 < 2^80,
  // the cross products < 2^256.
  uint64_t n0 = 0;
  uint64_t s0 = 0;
  int best = -1;
  Wide best_numerator{};
  Wide best_denominator{};
  int lowest_value = -1;
  for (int t = 0; t < 256; ++t) {
    if (bins[t] != 0 && lowest_value < 0) lowest_value = t;
    n0 += bins[t];
    s0 += static_cast<uint64_t>(t) * bins[t];
    const uint64_t n1 = total - n0;
    if (n0 == 0 || n1 == 0) continue;
    const Wide a = multiply(wide(s0), wide(n1));
    const Wide b = multiply(wide(total_sum - s0), wide(n0));
    const Wide difference = compare(a, b) >= 0 ? subtract(a, b) : subtract(b, a);
    const Wide numerator = multiply(difference, difference);
    const Wide denominator = multiply(wide(n0), wide(n1));
    if (best < 0 || compare(multiply(numerator, best_denominator),
                            multiply(best_numerator, denominator)) > 0) {
      best = t;
      best_numerator = numerator;
      best_denominator = denominator;
    }
  }
  return best >= 0 ? best : lowest_value;
}

// The float threshold for threshold_mask that selects exactly the pixels
// whose probability_bin exceeds t8: the largest float p with
// probability_bin(p) <= t8, so for t8 in [0, 255], p > threshold <=>
// probability_bin(p) > t8 for every float p (NaN and +-inf included). +inf
// for t8 >= 255 (no bin is above); -inf for t8 < 0 (outside Otsu's range).
// Within an ulp of (t8 + 0.5) / 255, but unlike that value exact at the
// boundary (where p * 255 lands on t8 + 0.5 and ties round to even).
inline float otsu_probability_threshold(int t8) {
  if (t8 >= 255) return std::numeric_limits<float>::infinity();
  if (t8 < 0) return -std::numeric_limits<float>::infinity();
  float p = static_cast<float>((t8 + 0.5) / 255.0);
  while (probability_bin(p) > t8) p = std::nextafter(p, -1.0f);
  while (probability_bin(std::nextafter(p, 2.0f)) <= t8) p = std::nextafter(p, 2.0f);
  return p;
}

}  // namespace m2u

#endif  // M2U_KERNELS_OTSU_H
