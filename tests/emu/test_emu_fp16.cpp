// Tests for kernels/emu/emu_fp16.h: the double->half rounding, __hfma and its
// _sat/_relu/half2 forms against an exact integer reference, the math
// functions against long double, the integer roundings and conversions over
// all 65,536 halves, and the cache-hinted loads and stores.
#include <cuda_fp16.h>
#include <doctest/doctest.h>

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "emu/emu_fp16.h"
#include "emu/emu_intrinsics.h"
#include "split_mix64.h"  // included too: its __ldg templates must not clash

namespace {

__extension__ typedef unsigned __int128 uint128;
__extension__ typedef __int128 int128;

using m2u_test::SplitMix64;

unsigned short bits_of(const __half h) { return __half_as_ushort(h); }
__half half_of(const unsigned bits) { return __ushort_as_half(static_cast<unsigned short>(bits)); }
bool is_nan_bits(const unsigned bits) { return (bits & 0x7FFFu) > 0x7C00u; }
bool is_inf_bits(const unsigned bits) { return (bits & 0x7FFFu) == 0x7C00u; }

// Value of a finite half bit pattern, ignoring the sign, in units of 2^-24 (decoded by hand).
std::uint64_t magnitude_units24(const unsigned bits) {
  const unsigned exponent_field = (bits >> 10) & 0x1Fu;
  const std::uint64_t fraction = bits & 0x3FFu;
  return exponent_field == 0 ? fraction : (1024 + fraction) << (exponent_field - 1);
}
int128 signed_units24(const unsigned bits) {
  const int128 magnitude = magnitude_units24(bits);
  return (bits & 0x8000u) != 0 ? -magnitude : magnitude;
}

// Reference rounding, integers only: the half nearest to a magnitude given in
// units of 2^-80, ties to even, by binary search over the ordered bit patterns.
unsigned reference_round(const bool negative, const uint128 magnitude_units80) {
  const unsigned sign = negative ? 0x8000u : 0u;
  if (magnitude_units80 >= static_cast<uint128>(65520) << 80)
    return sign | 0x7C00u;  // 65504 + half ulp
  const auto value_of = [](unsigned bits) {
    return static_cast<uint128>(magnitude_units24(bits)) << 56;
  };
  unsigned below = 0, top = 0x7BFFu;  // largest pattern whose value is <= the magnitude
  while (below < top) {
    const unsigned middle = (below + top + 1) / 2;
    if (value_of(middle) <= magnitude_units80)
      below = middle;
    else
      top = middle - 1;
  }
  if (below == 0x7BFFu) return sign | below;
  const uint128 distance_below = magnitude_units80 - value_of(below);
  const uint128 distance_above = value_of(below + 1) - magnitude_units80;
  if (distance_below < distance_above) return sign | below;
  if (distance_above < distance_below) return sign | (below + 1);
  return sign | ((below % 2 == 0) ? below : below + 1);
}

// Reference double -> half: decodes the double into units of 2^-80 (values under
// 2^-27, where truncation could occur, round to zero either way).
unsigned reference_double_to_half(const double x) {
  if (std::isnan(x)) return 0x7FFFu;
  const bool negative = std::signbit(x);
  const double magnitude = std::fabs(x);
  if (magnitude >= 131072.0) return (negative ? 0x8000u : 0u) | 0x7C00u;
  std::uint64_t bits;
  std::memcpy(&bits, &magnitude, sizeof bits);
  const int biased_exponent = static_cast<int>(bits >> 52);
  if (biased_exponent == 0) return negative ? 0x8000u : 0u;  // zero or double subnormal
  const uint128 significand = (bits & ((std::uint64_t{1} << 52) - 1)) | (std::uint64_t{1} << 52);
  const int shift = biased_exponent - 1023 - 52 + 80;
  return reference_round(negative, shift >= 0 ? significand << shift : significand >> -shift);
}

// Reference fma: exact integer arithmetic on the decoded operands, one rounding.
unsigned reference_fma(const unsigned a, const unsigned b, const unsigned c) {
  if (is_nan_bits(a) || is_nan_bits(b) || is_nan_bits(c) || is_inf_bits(a) || is_inf_bits(b) ||
      is_inf_bits(c)) {
    // IEEE rules for the special operands, via plain double operations.
    const double r = static_cast<double>(__half2float(half_of(a))) * __half2float(half_of(b)) +
                     __half2float(half_of(c));
    return std::isnan(r) ? 0x7FFFu : (std::signbit(r) ? 0xFC00u : 0x7C00u);
  }
  const int128 product = signed_units24(a) * signed_units24(b);  // units of 2^-48
  const int128 sum = product + signed_units24(c) * (int128{1} << 24);
  if (sum == 0) {
    const bool product_negative = ((a ^ b) & 0x8000u) != 0;
    const bool both_negative_zeros = product == 0 && product_negative && c == 0x8000u;
    return both_negative_zeros ? 0x8000u : 0u;  // exact cancellation gives +0
  }
  const uint128 magnitude = static_cast<uint128>(sum < 0 ? -sum : sum);
  return reference_round(sum < 0, magnitude << 32);
}

unsigned emulated_fma(const unsigned a, const unsigned b, const unsigned c) {
  return bits_of(__hfma(half_of(a), half_of(b), half_of(c)));
}

// The double-rounding alternative the header avoids: float fma, then float -> half.
unsigned float_fma_then_round(const unsigned a, const unsigned b, const unsigned c) {
  return bits_of(__float2half_rn(
      std::fma(__half2float(half_of(a)), __half2float(half_of(b)), __half2float(half_of(c)))));
}

// A random finite half with its exponent field in [low, high].
unsigned random_finite_half(SplitMix64& rng, const unsigned low, const unsigned high) {
  const std::uint64_t r = rng.next();
  const unsigned exponent_field = low + static_cast<unsigned>(r % (high - low + 1));
  return static_cast<unsigned>((r >> 16) & 0x8000u) | exponent_field << 10 |
         static_cast<unsigned>((r >> 32) & 0x3FFu);
}

}  // namespace

TEST_CASE("half -> float -> half round trip over all 65,536 patterns") {
  for (unsigned bits = 0; bits < 0x10000u; ++bits) {
    const float f = __half2float(half_of(bits));
    const unsigned through_cuda = bits_of(__float2half_rn(f));
    const unsigned through_emu =
        bits_of(m2u_emu::double_to_half_rn(m2u_emu::half_to_double(half_of(bits))));
    if (is_nan_bits(bits)) {
      REQUIRE(std::isnan(f));
      REQUIRE(is_nan_bits(through_cuda));
      REQUIRE(through_emu == 0x7FFFu);
    } else {
      REQUIRE(through_cuda == bits);
      REQUIRE(through_emu == bits);
      if (!is_inf_bits(bits))
        REQUIRE(static_cast<double>(f) ==
                static_cast<double>(signed_units24(bits)) * std::ldexp(1.0, -24));
    }
  }
}

TEST_CASE("double -> half rounding agrees with __float2half_rn on floats") {
  const auto agrees = [](const float f) {
    const unsigned expected = bits_of(__float2half_rn(f));
    const unsigned actual = bits_of(m2u_emu::double_to_half_rn(f));
    return std::isnan(f) ? actual == 0x7FFFu && is_nan_bits(expected) : actual == expected;
  };
  // Every float exponent that reaches halves, with each top-10 mantissa and
  // low-bit patterns around the rounding points (ties, just off ties).
  const std::uint32_t low_patterns[] = {0x0000, 0x0001, 0x0FFF, 0x1000,
                                        0x1001, 0x1FFF, 0x0800, 0x17FF};
  long checked = 0;
  for (std::uint32_t sign = 0; sign < 2; ++sign) {
    for (std::uint32_t exponent_field = 127 - 27; exponent_field <= 127 + 16; ++exponent_field) {
      for (std::uint32_t top = 0; top < 1024; ++top) {
        for (const std::uint32_t low : low_patterns) {
          const std::uint32_t bits = sign << 31 | exponent_field << 23 | top << 13 | low;
          float f;
          std::memcpy(&f, &bits, sizeof f);
          REQUIRE(agrees(f));
          ++checked;
        }
      }
    }
  }
  // A stride over all 2^32 patterns (NaNs, infinities, subnormals included).
  for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += 1021) {
    const std::uint32_t bits32 = static_cast<std::uint32_t>(bits);
    float f;
    std::memcpy(&f, &bits32, sizeof f);
    REQUIRE(agrees(f));
    ++checked;
  }
  const float specials[] = {0.0f,         -0.0f,         INFINITY,
                            -INFINITY,    NAN,           FLT_MAX,
                            -FLT_MAX,     FLT_MIN,       std::numeric_limits<float>::denorm_min(),
                            65504.0f,     65519.99f,     65520.0f,
                            -65520.0f,    5.9604645e-8f, 2.9802322e-8f,
                            2.9802326e-8f};
  for (const float f : specials) CHECK(agrees(f));
  CHECK(checked > 4000000);
}

TEST_CASE("double -> half rounding matches an exact integer reference on doubles") {
  SplitMix64 rng{42};
  for (int i = 0; i < 400000; ++i) {
    // Random doubles from 2^-27 to 2^17, and halfway points nudged by one double ulp.
    const std::uint64_t r = rng.next();
    const int exponent = -27 + static_cast<int>(r % 45);
    double x =
        std::ldexp(1.0 + static_cast<double>(rng.next() >> 12) * std::ldexp(1.0, -52), exponent);
    if (i % 2 == 1) {
      const unsigned h = random_finite_half(rng, 0, 30);
      const double halfway = (static_cast<double>(__half2float(half_of(h))) +
                              static_cast<double>(__half2float(half_of(h + 1)))) /
                             2;
      x = (r >> 63) != 0 ? std::nextafter(halfway, INFINITY) : std::nextafter(halfway, 0.0);
      if ((r >> 62 & 1u) != 0) x = halfway;
    }
    const unsigned expected = reference_double_to_half(x);
    REQUIRE(bits_of(m2u_emu::double_to_half_rn(x)) == expected);
    REQUIRE(bits_of(m2u_emu::double_to_half_rn(-x)) == (expected ^ 0x8000u));
    REQUIRE(bits_of(__double2half(x)) == expected);  // cuda_fp16.h's own double path agrees
  }
  CHECK(bits_of(m2u_emu::double_to_half_rn(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40))) ==
        0x3C01u);
  CHECK(bits_of(m2u_emu::double_to_half_rn(1.0 + std::ldexp(1.0, -11))) == 0x3C00u);  // tie to even
  CHECK(bits_of(m2u_emu::double_to_half_rn(std::ldexp(1.0, -25))) == 0x0000u);        // tie to even
  CHECK(bits_of(m2u_emu::double_to_half_rn(std::nextafter(std::ldexp(1.0, -25), 1.0))) == 0x0001u);
  CHECK(bits_of(m2u_emu::double_to_half_rn(-std::ldexp(1.0, -30))) == 0x8000u);
  CHECK(bits_of(m2u_emu::double_to_half_rn(65519.999)) == 0x7BFFu);
  CHECK(bits_of(m2u_emu::double_to_half_rn(65520.0)) == 0x7C00u);
  CHECK(bits_of(m2u_emu::double_to_half_rn(1e300)) == 0x7C00u);
  CHECK(bits_of(m2u_emu::double_to_half_rn(-NAN)) == 0x7FFFu);
  CHECK(bits_of(m2u_emu::double_to_half_rn(std::numeric_limits<double>::denorm_min())) == 0x0000u);
}

TEST_CASE("__hfma equals the exactly rounded a*b+c") {
  SUBCASE("hand-picked hard cases") {
    // Exactly representable values, written as floats and converted exactly.
    const auto h = [](const float f) { return static_cast<unsigned>(bits_of(__float2half(f))); };
    const float tiny = 5.9604644775390625e-8f;  // 2^-24, the smallest subnormal half
    const float min_normal = 6.103515625e-5f;   // 2^-14
    struct Case {
      unsigned a, b, c, expected;
    };
    const Case cases[] = {
        // 1 + 2^-11 (a tie) + 2^-24: just above the tie, rounds up.
        {h(3), h(683.0f / 2048), h(tiny), h(1 + 1.0f / 1024)},
        // Just below the tie: down.
        {h(3), h(683.0f / 2048), h(-tiny), h(1)},
        // Exact ties go to even: 1 + 2^-11 down, 1 + 3 * 2^-11 up.
        {h(3), h(683.0f / 2048), h(0), h(1)},
        {h(7), h(293.0f / 2048), h(0), h(1 + 2.0f / 1024)},
        // Subnormal ties 512.5 and 513.5 * 2^-24, and 1023.5 * 2^-24 up to the smallest normal.
        {h(min_normal), h(0.5f + 1.0f / 2048), h(0), h(512 * tiny)},
        {h(min_normal), h(0.5f + 1.0f / 2048), h(tiny), h(514 * tiny)},
        {h(2047.0f / 1024), h(min_normal / 2), h(0), h(min_normal)},
        // Overflow: 65536; 65520 is the tie between 65504 and infinity (even); 65488 a tie to even.
        {h(256), h(256), h(0), 0x7C00},
        {h(65504), h(1), h(16), 0x7C00},
        {h(65504), h(1), h(15), h(65504)},
        {h(65504), h(1), h(-16), h(65472)},
        // Cancellation: (1 + 2^-10)(1 - 2^-11) - 1 = 1023 * 2^-21 exactly, and exact zeros.
        {h(1 + 1.0f / 1024), h(1 - 1.0f / 2048), h(-1), h(1023.0f / 2097152)},
        {h(1), h(1), h(-1), 0x0000},
        {h(-0.0f), h(1), h(-0.0f), 0x8000},
        {h(0), h(1), h(-0.0f), 0x0000},
        // Underflow keeps the sign of the exact result: +-2^-48 rounds to +-0.
        {h(tiny), h(tiny), h(-0.0f), 0x0000},
        {h(-tiny), h(tiny), h(0), 0x8000},
        // Infinities and NaNs; every NaN result is the canonical 0x7FFF.
        {0x7C00, h(0), h(1), 0x7FFF},
        {0x7C00, h(1), 0xFC00, 0x7FFF},
        {0x7C00, h(-1), h(1), 0xFC00},
        {h(1), h(1), 0x7C00, 0x7C00},
        {0x7E00, h(1), h(1), 0x7FFF},
        {h(1), h(1), 0xFD01, 0x7FFF},
    };
    for (const Case& test : cases) {
      CAPTURE(test.a);
      CAPTURE(test.b);
      CAPTURE(test.c);
      CHECK(reference_fma(test.a, test.b, test.c) == test.expected);
      CHECK(emulated_fma(test.a, test.b, test.c) == test.expected);
    }
    // A float fma rounds 1 + 2^-11 + 2^-24 to the tie 1 + 2^-11 first, then to 1.0: wrong.
    CHECK(float_fma_then_round(h(3), h(683.0f / 2048), h(tiny)) == h(1));
  }

  SUBCASE("2,000,000 random triples") {
    SplitMix64 rng{7};
    long float_path_wrong = 0;
    long aligned_cases = 0;
    for (int i = 0; i < 2000000; ++i) {
      unsigned a, b, c;
      if (i % 4 == 0) {  // any bit patterns, specials included
        const std::uint64_t r = rng.next();
        a = r & 0xFFFFu;
        b = (r >> 16) & 0xFFFFu;
        c = (r >> 32) & 0xFFFFu;
      } else {  // c within a few binades of a*b: rounding and cancellation at work
        a = random_finite_half(rng, 0, 30);
        b = random_finite_half(rng, 0, 30);
        const int product_exponent =
            std::ilogb(static_cast<double>(__half2float(half_of(a))) * __half2float(half_of(b)));
        const int offset = static_cast<int>(rng.next() % 29) - 14;
        const int c_field = std::min(30, std::max(0, product_exponent + 15 + offset));
        c = random_finite_half(rng, static_cast<unsigned>(c_field), static_cast<unsigned>(c_field));
        ++aligned_cases;
      }
      const unsigned expected = reference_fma(a, b, c);
      const unsigned actual = emulated_fma(a, b, c);
      if (actual != expected) {
        CAPTURE(a);
        CAPTURE(b);
        CAPTURE(c);
        REQUIRE(actual == expected);
      }
      if (float_fma_then_round(a, b, c) != expected && !is_nan_bits(expected)) ++float_path_wrong;
    }
    CHECK(aligned_cases == 1500000);
    CHECK(float_path_wrong > 0);  // the test can tell a double rounding apart (39 cases here)
  }
}

TEST_CASE("__hfma2, _sat and _relu") {
  SplitMix64 rng{11};
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t r = rng.next();
    const __half2 a = __halves2half2(half_of(r & 0xFFFFu), half_of((r >> 16) & 0xFFFFu));
    const __half2 b = __halves2half2(half_of((r >> 32) & 0xFFFFu), half_of(r >> 48));
    const std::uint64_t s = rng.next();
    const __half2 c = __halves2half2(half_of(s & 0xFFFFu), half_of((s >> 16) & 0xFFFFu));
    const __half lanes_a[] = {a.x, a.y}, lanes_b[] = {b.x, b.y}, lanes_c[] = {c.x, c.y};
    const __half2 fma2 = __hfma2(a, b, c), sat2 = __hfma2_sat(a, b, c),
                  relu2 = __hfma2_relu(a, b, c);
    const __half fma_lanes[] = {fma2.x, fma2.y}, sat_lanes[] = {sat2.x, sat2.y},
                 relu_lanes[] = {relu2.x, relu2.y};
    for (int lane = 0; lane < 2; ++lane) {
      const unsigned exact =
          reference_fma(bits_of(lanes_a[lane]), bits_of(lanes_b[lane]), bits_of(lanes_c[lane]));
      REQUIRE(bits_of(fma_lanes[lane]) == exact);
      // _sat: [+0, 1], NaN -> +0.
      const double value = __half2float(half_of(exact));
      const unsigned saturated =
          is_nan_bits(exact) || value <= 0.0 ? 0x0000u : (value >= 1.0 ? 0x3C00u : exact);
      REQUIRE(bits_of(sat_lanes[lane]) == saturated);
      REQUIRE(bits_of(__hfma_sat(lanes_a[lane], lanes_b[lane], lanes_c[lane])) == saturated);
      // _relu: negatives and -0 -> +0, NaN -> canonical NaN.
      const unsigned relu = is_nan_bits(exact) ? 0x7FFFu : (value <= 0.0 ? 0x0000u : exact);
      REQUIRE(bits_of(relu_lanes[lane]) == relu);
      REQUIRE(bits_of(__hfma_relu(lanes_a[lane], lanes_b[lane], lanes_c[lane])) == relu);
    }
  }
  CHECK(bits_of(__hfma_sat(half_of(0x7E00), half_of(0x3C00), half_of(0x3C00))) == 0x0000u);
  CHECK(bits_of(__hfma_sat(half_of(0x4000), half_of(0x3C00), half_of(0x0000))) == 0x3C00u);
  CHECK(bits_of(__hfma_sat(half_of(0x3800), half_of(0x3C00), half_of(0x0000))) == 0x3800u);
  CHECK(bits_of(__hfma_relu(half_of(0xC000), half_of(0x3C00), half_of(0x0000))) == 0x0000u);
  CHECK(bits_of(__hfma_relu(half_of(0x7D00), half_of(0x3C00), half_of(0x0000))) == 0x7FFFu);
  CHECK(bits_of(__hfma_relu(half_of(0x8000), half_of(0x3C00), half_of(0x8000))) == 0x0000u);
  CHECK(bits_of(__hfma_relu(half_of(0x4000), half_of(0x3C00), half_of(0x3C00))) == 0x4200u);
}

TEST_CASE("__hcmadd follows the documented fma order") {
  SplitMix64 rng{5};
  for (int i = 0; i < 10000; ++i) {
    const __half2 a = __halves2half2(half_of(random_finite_half(rng, 10, 20)),
                                     half_of(random_finite_half(rng, 10, 20)));
    const __half2 b = __halves2half2(half_of(random_finite_half(rng, 10, 20)),
                                     half_of(random_finite_half(rng, 10, 20)));
    const __half2 c = __halves2half2(half_of(random_finite_half(rng, 10, 20)),
                                     half_of(random_finite_half(rng, 10, 20)));
    const __half2 result = __hcmadd(a, b, c);
    const unsigned real = reference_fma(bits_of(a.y) ^ 0x8000u, bits_of(b.y),
                                        reference_fma(bits_of(a.x), bits_of(b.x), bits_of(c.x)));
    const unsigned imaginary = reference_fma(
        bits_of(a.y), bits_of(b.x), reference_fma(bits_of(a.x), bits_of(b.y), bits_of(c.y)));
    REQUIRE(bits_of(result.x) == real);
    REQUIRE(bits_of(result.y) == imaginary);
  }
}

namespace {

// True when bits is the half nearest to r (a long double reference), allowing
// 2^-40 relative slack for the reference's own error: 0.5 ulp tolerance.
bool is_nearest_half(const unsigned bits, const long double r) {
  if (std::isnan(r)) return is_nan_bits(bits);
  if (std::fabs(r) >= 65520.0L) return bits == (std::signbit(r) ? 0xFC00u : 0x7C00u);
  if (is_nan_bits(bits) || is_inf_bits(bits)) return false;
  if (r == 0.0L) return (bits & 0x7FFFu) == 0 && std::signbit(r) == ((bits & 0x8000u) != 0);
  const long double value = __half2float(half_of(bits));
  const long double error = std::fabs(value - r);
  const long double slack = std::fabs(r) * std::ldexp(1.0L, -40);
  // Neighbours one pattern either way in magnitude (through zero to the other sign).
  const unsigned magnitude = bits & 0x7FFFu, sign = bits & 0x8000u;
  const long double larger =
      magnitude < 0x7BFFu
          ? std::fabs(static_cast<long double>(__half2float(half_of(sign | (magnitude + 1)))))
          : 65536.0L;
  const long double smaller =
      magnitude > 0
          ? std::fabs(static_cast<long double>(__half2float(half_of(sign | (magnitude - 1)))))
          : -std::fabs(static_cast<long double>(__half2float(half_of(1))));
  const long double abs_r = std::fabs(r);
  const bool same_sign = std::signbit(r) == (sign != 0) || magnitude == 0;
  return same_sign && error <= std::fabs(larger - abs_r) + slack &&
         error <= std::fabs(abs_r - smaller) + slack;
}

template <class Emulated, class Reference>
void check_unary_exhaustively(const char* name, Emulated emulated, Reference reference) {
  CAPTURE(name);
  for (unsigned bits = 0; bits < 0x10000u; ++bits) {
    const unsigned actual = bits_of(emulated(half_of(bits)));
    const long double expected = reference(static_cast<long double>(__half2float(half_of(bits))));
    if (!is_nearest_half(actual, expected)) {
      CAPTURE(bits);
      CAPTURE(actual);
      CAPTURE(static_cast<double>(expected));
      REQUIRE(is_nearest_half(actual, expected));
    }
  }
}

}  // namespace

TEST_CASE("math functions are within 0.5 ulp of long double, over all 65,536 inputs") {
  check_unary_exhaustively("hsqrt", hsqrt, [](long double x) { return std::sqrt(x); });
  check_unary_exhaustively("hrsqrt", hrsqrt, [](long double x) { return 1.0L / std::sqrt(x); });
  check_unary_exhaustively("hrcp", hrcp, [](long double x) { return 1.0L / x; });
  check_unary_exhaustively("hexp", hexp, [](long double x) { return std::exp(x); });
  check_unary_exhaustively("hexp2", hexp2, [](long double x) { return std::exp2(x); });
  check_unary_exhaustively("hexp10", hexp10, [](long double x) { return std::pow(10.0L, x); });
  check_unary_exhaustively("hlog", hlog, [](long double x) { return std::log(x); });
  check_unary_exhaustively("hlog2", hlog2, [](long double x) { return std::log2(x); });
  check_unary_exhaustively("hlog10", hlog10, [](long double x) { return std::log10(x); });
  check_unary_exhaustively("hsin", hsin, [](long double x) { return std::sin(x); });
  check_unary_exhaustively("hcos", hcos, [](long double x) { return std::cos(x); });
  check_unary_exhaustively("htanh", htanh, [](long double x) { return std::tanh(x); });
  check_unary_exhaustively("htanh_approx", htanh_approx,
                           [](long double x) { return std::tanh(x); });
  check_unary_exhaustively("htrunc", htrunc, [](long double x) { return std::trunc(x); });
  check_unary_exhaustively("hceil", hceil, [](long double x) { return std::ceil(x); });
  check_unary_exhaustively("hfloor", hfloor, [](long double x) { return std::floor(x); });
  check_unary_exhaustively("hrint", hrint, [](long double x) { return std::nearbyint(x); });

  CHECK(bits_of(hrint(__float2half(2.5f))) == bits_of(__float2half(2.0f)));
  CHECK(bits_of(hrint(__float2half(-3.5f))) == bits_of(__float2half(-4.0f)));
  CHECK(bits_of(hrint(__float2half(-0.25f))) == 0x8000u);
  CHECK(bits_of(hsqrt(half_of(0x8000))) == 0x8000u);
  CHECK(bits_of(hrcp(half_of(0x8000))) == 0xFC00u);
  CHECK(bits_of(hrsqrt(half_of(0x7C00))) == 0x0000u);
  CHECK(is_nan_bits(bits_of(hlog(__float2half(-1.0f)))));
}

TEST_CASE("h2 math functions apply the scalar function per lane") {
  using Scalar = __half (*)(__half);
  using Pair = __half2 (*)(__half2);
  struct Function {
    Scalar scalar;
    Pair pair;
  };
  const Function functions[] = {{hsqrt, h2sqrt},
                                {hrsqrt, h2rsqrt},
                                {hrcp, h2rcp},
                                {hexp, h2exp},
                                {hexp2, h2exp2},
                                {hexp10, h2exp10},
                                {hlog, h2log},
                                {hlog2, h2log2},
                                {hlog10, h2log10},
                                {hsin, h2sin},
                                {hcos, h2cos},
                                {htanh, h2tanh},
                                {htanh_approx, h2tanh_approx},
                                {htrunc, h2trunc},
                                {hceil, h2ceil},
                                {hfloor, h2floor},
                                {hrint, h2rint}};
  SplitMix64 rng{3};
  for (const Function& function : functions) {
    for (int i = 0; i < 2000; ++i) {
      const std::uint64_t r = rng.next();
      const __half2 input = __halves2half2(half_of(r & 0xFFFFu), half_of((r >> 16) & 0xFFFFu));
      const __half2 output = function.pair(input);
      REQUIRE(bits_of(output.x) == bits_of(function.scalar(input.x)));
      REQUIRE(bits_of(output.y) == bits_of(function.scalar(input.y)));
    }
  }
}

namespace {

// Reference half -> integer conversion: round the exact value, NaN -> nan_value, saturate.
template <class Integer>
Integer reference_convert(const unsigned bits, long double (*round)(long double),
                          const Integer nan_value) {
  if (is_nan_bits(bits)) return nan_value;
  const long double rounded = round(static_cast<long double>(__half2float(half_of(bits))));
  if (rounded <= static_cast<long double>(std::numeric_limits<Integer>::min()))
    return std::numeric_limits<Integer>::min();
  if (rounded >= static_cast<long double>(std::numeric_limits<Integer>::max()))
    return std::numeric_limits<Integer>::max();
  return static_cast<Integer>(rounded);
}

long double round_nearest_even(long double x) { return std::nearbyint(x); }
long double round_down(long double x) { return std::floor(x); }
long double round_up(long double x) { return std::ceil(x); }

template <class Integer>
void check_conversions(Integer (*rn)(__half), Integer (*rd)(__half), Integer (*ru)(__half),
                       const Integer nan_value) {
  for (unsigned bits = 0; bits < 0x10000u; ++bits) {
    CAPTURE(bits);
    REQUIRE(rn(half_of(bits)) == reference_convert<Integer>(bits, round_nearest_even, nan_value));
    REQUIRE(rd(half_of(bits)) == reference_convert<Integer>(bits, round_down, nan_value));
    REQUIRE(ru(half_of(bits)) == reference_convert<Integer>(bits, round_up, nan_value));
  }
}

}  // namespace

TEST_CASE("half -> integer conversions in the _rn, _rd, _ru modes, over all 65,536 inputs") {
  check_conversions<short int>(__half2short_rn, __half2short_rd, __half2short_ru, 0);
  check_conversions<unsigned short int>(__half2ushort_rn, __half2ushort_rd, __half2ushort_ru, 0);
  check_conversions<int>(__half2int_rn, __half2int_rd, __half2int_ru, 0);
  check_conversions<unsigned int>(__half2uint_rn, __half2uint_rd, __half2uint_ru, 0);
  // cuda_fp16.h's 64-bit conversions send NaN to 0x8000000000000000, as the hardware does.
  check_conversions<long long int>(__half2ll_rn, __half2ll_rd, __half2ll_ru, LLONG_MIN);
  check_conversions<unsigned long long int>(__half2ull_rn, __half2ull_rd, __half2ull_ru,
                                            0x8000000000000000ull);

  CHECK(__half2int_rn(__float2half(2.5f)) == 2);
  CHECK(__half2int_rn(__float2half(3.5f)) == 4);
  CHECK(__half2int_rd(__float2half(-2.5f)) == -3);
  CHECK(__half2int_ru(__float2half(-2.5f)) == -2);
  CHECK(__half2short_rn(half_of(0x7C00)) == SHRT_MAX);
  CHECK(__half2ushort_rn(__float2half(-3.0f)) == 0);
  CHECK(__half2int_rn(half_of(0x7E00)) == 0);
}

TEST_CASE("cache-hinted loads and stores of halves") {
  __half value = __float2half(1.5f);
  __half2 pair = __floats2half2_rn(2.0f, -3.0f);
  const __half* const value_ptr = &value;
  const __half2* const pair_ptr = &pair;
  static_assert(std::is_same<decltype(__ldg(value_ptr)), __half>::value,
                "__ldg(const __half*) returns __half");
  static_assert(std::is_same<decltype(__ldg(pair_ptr)), __half2>::value,
                "__ldg(const __half2*) returns __half2");
  CHECK(__half2float(__ldg(value_ptr)) == 1.5f);
  CHECK(__half2float(__ldg(&value)) == 1.5f);  // non-const pointer: the __half overload still wins
  CHECK(__low2float(__ldg(pair_ptr)) == 2.0f);
  CHECK(__high2float(__ldcg(pair_ptr)) == -3.0f);
  CHECK(__half2float(__ldca(value_ptr)) == 1.5f);
  CHECK(__half2float(__ldcs(value_ptr)) == 1.5f);
  CHECK(__half2float(__ldlu(value_ptr)) == 1.5f);
  CHECK(__half2float(__ldcv(value_ptr)) == 1.5f);

  __half stored;
  __stwb(&stored, __float2half(1.0f));
  CHECK(__half2float(stored) == 1.0f);
  __stcg(&stored, __float2half(2.0f));
  CHECK(__half2float(stored) == 2.0f);
  __stcs(&stored, __float2half(3.0f));
  CHECK(__half2float(stored) == 3.0f);
  __stwt(&stored, __float2half(4.0f));
  CHECK(__half2float(stored) == 4.0f);
  __half2 stored_pair;
  __stcg(&stored_pair, pair);
  CHECK(__high2float(stored_pair) == -3.0f);
}
