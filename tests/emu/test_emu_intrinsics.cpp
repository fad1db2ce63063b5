// Tests for kernels/emu/emu_intrinsics.h: integer intrinsics bit-exact against
// straightforward references written from the CUDA / PTX definitions, the
// float intrinsics within their stated tolerances, and the global min/max.
#include <cuda_runtime_api.h>
#include <doctest/doctest.h>
#include <vector_functions.h>
#include <vector_types.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "emu/emu_intrinsics.h"
#include "split_mix64.h"

namespace {

__extension__ typedef unsigned __int128 uint128;
__extension__ typedef __int128 int128;

using m2u_test::SplitMix64;

// A word whose bytes are often the extremes -128, -1, 0, 1, 127, 255.
std::uint32_t extreme_bytes(SplitMix64& rng) {
  static const std::uint8_t extremes[] = {0x80, 0xFF, 0x00, 0x01, 0x7F, 0x81};
  std::uint32_t word = 0;
  for (int i = 0; i < 4; ++i) {
    const std::uint64_t r = rng.next();
    const std::uint32_t byte =
        (r & 1u) != 0 ? extremes[(r >> 8) % 6] : static_cast<std::uint32_t>((r >> 16) & 0xFFu);
    word |= byte << (8 * i);
  }
  return word;
}

// Accumulators near the wrap-around points as well as anywhere.
std::uint32_t extreme_accumulator(SplitMix64& rng) {
  const std::uint64_t r = rng.next();
  const std::uint32_t offset = static_cast<std::uint32_t>(r >> 48);
  switch (r % 4) {
    case 0:
      return 0x7FFFFFFFu - offset;  // below INT_MAX
    case 1:
      return 0x80000000u + offset;  // above INT_MIN
    case 2:
      return 0xFFFFFFFFu - offset;  // below UINT_MAX
    default:
      return static_cast<std::uint32_t>(r >> 16);
  }
}

std::int64_t signed_byte(const std::uint32_t word, const int i) {
  return static_cast<std::int8_t>(static_cast<std::uint8_t>(word >> (8 * i)));
}
std::int64_t unsigned_byte(const std::uint32_t word, const int i) {
  return static_cast<std::uint8_t>(word >> (8 * i));
}
std::int64_t signed_half(const std::uint32_t word, const int i) {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(word >> (16 * i)));
}
std::int64_t unsigned_half(const std::uint32_t word, const int i) {
  return static_cast<std::uint16_t>(word >> (16 * i));
}

// The exact sum in 64 bits, then wrapped to 32 bits as the hardware's adder does.
std::uint32_t reference_dp4a(const std::uint32_t a, const std::uint32_t b, const std::uint32_t c,
                             const bool is_signed) {
  std::int64_t sum = is_signed ? static_cast<std::int64_t>(static_cast<std::int32_t>(c))
                               : static_cast<std::int64_t>(c);
  for (int i = 0; i < 4; ++i) {
    sum += is_signed ? signed_byte(a, i) * signed_byte(b, i)
                     : unsigned_byte(a, i) * unsigned_byte(b, i);
  }
  return static_cast<std::uint32_t>(sum);
}

std::uint32_t reference_dp2a(const std::uint32_t a, const std::uint32_t b, const std::uint32_t c,
                             const bool is_signed, const bool high) {
  std::int64_t sum = is_signed ? static_cast<std::int64_t>(static_cast<std::int32_t>(c))
                               : static_cast<std::int64_t>(c);
  const int first = high ? 2 : 0;
  for (int i = 0; i < 2; ++i) {
    sum += is_signed ? signed_half(a, i) * signed_byte(b, first + i)
                     : unsigned_half(a, i) * unsigned_byte(b, first + i);
  }
  return static_cast<std::uint32_t>(sum);
}

char4 to_char4(const std::uint32_t w) {
  return make_char4(
      static_cast<signed char>(signed_byte(w, 0)), static_cast<signed char>(signed_byte(w, 1)),
      static_cast<signed char>(signed_byte(w, 2)), static_cast<signed char>(signed_byte(w, 3)));
}
uchar4 to_uchar4(const std::uint32_t w) {
  return make_uchar4(static_cast<unsigned char>(w), static_cast<unsigned char>(w >> 8),
                     static_cast<unsigned char>(w >> 16), static_cast<unsigned char>(w >> 24));
}
short2 to_short2(const std::uint32_t w) {
  return make_short2(static_cast<short>(signed_half(w, 0)), static_cast<short>(signed_half(w, 1)));
}
ushort2 to_ushort2(const std::uint32_t w) {
  return make_ushort2(static_cast<unsigned short>(w), static_cast<unsigned short>(w >> 16));
}

// The two's complement reading of a word.
int as_int(const std::uint32_t w) { return static_cast<int>(static_cast<std::int32_t>(w)); }

}  // namespace

TEST_CASE("__dp4a, all four overloads, wrap like the hardware") {
  SplitMix64 rng{1};
  for (int i = 0; i < 200000; ++i) {
    const std::uint32_t a = extreme_bytes(rng), b = extreme_bytes(rng),
                        c = extreme_accumulator(rng);
    const std::uint32_t signed_expected = reference_dp4a(a, b, c, true);
    const std::uint32_t unsigned_expected = reference_dp4a(a, b, c, false);
    REQUIRE(static_cast<std::uint32_t>(__dp4a(as_int(a), as_int(b), as_int(c))) == signed_expected);
    REQUIRE(static_cast<std::uint32_t>(__dp4a(to_char4(a), to_char4(b), as_int(c))) ==
            signed_expected);
    REQUIRE(__dp4a(a, b, c) == unsigned_expected);
    REQUIRE(__dp4a(to_uchar4(a), to_uchar4(b), c) == unsigned_expected);
  }
  // (-128 * -128) * 4 = 65536 added just below INT_MAX wraps to INT_MIN + 65435.
  CHECK(__dp4a(as_int(0x80808080u), as_int(0x80808080u), INT_MAX - 100) == INT_MIN + 65435);
  CHECK(__dp4a(make_char4(-128, -128, -128, -128), make_char4(-128, -128, -128, -128),
               INT_MAX - 100) == INT_MIN + 65435);
  CHECK(__dp4a(as_int(0x807F807Fu), as_int(0x7F7F7F7Fu), 0) == 2 * 127 * 127 - 2 * 128 * 127);
  CHECK(__dp4a(0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu) == 4u * 255u * 255u - 1u);
  CHECK(__dp4a(make_char4(1, 2, 3, 4), make_char4(5, 6, 7, 8), 10) == 80);
  static_assert(std::is_same<decltype(__dp4a(1, 2, 3)), int>::value, "int overload");
  static_assert(std::is_same<decltype(__dp4a(1u, 2u, 3u)), unsigned int>::value,
                "unsigned overload");
}

TEST_CASE("__dp2a_lo and __dp2a_hi, all overloads") {
  SplitMix64 rng{2};
  for (int i = 0; i < 200000; ++i) {
    const std::uint32_t a = extreme_bytes(rng), b = extreme_bytes(rng),
                        c = extreme_accumulator(rng);
    for (const bool high : {false, true}) {
      const std::uint32_t signed_expected = reference_dp2a(a, b, c, true, high);
      const std::uint32_t unsigned_expected = reference_dp2a(a, b, c, false, high);
      if (high) {
        REQUIRE(static_cast<std::uint32_t>(__dp2a_hi(as_int(a), as_int(b), as_int(c))) ==
                signed_expected);
        REQUIRE(static_cast<std::uint32_t>(__dp2a_hi(to_short2(a), to_char4(b), as_int(c))) ==
                signed_expected);
        REQUIRE(__dp2a_hi(a, b, c) == unsigned_expected);
        REQUIRE(__dp2a_hi(to_ushort2(a), to_uchar4(b), c) == unsigned_expected);
      } else {
        REQUIRE(static_cast<std::uint32_t>(__dp2a_lo(as_int(a), as_int(b), as_int(c))) ==
                signed_expected);
        REQUIRE(static_cast<std::uint32_t>(__dp2a_lo(to_short2(a), to_char4(b), as_int(c))) ==
                signed_expected);
        REQUIRE(__dp2a_lo(a, b, c) == unsigned_expected);
        REQUIRE(__dp2a_lo(to_ushort2(a), to_uchar4(b), c) == unsigned_expected);
      }
    }
  }
  // a = (hi -32768, lo 3), b bytes (3: 4, 2: -1, 1: 2, 0: -2).
  CHECK(__dp2a_lo(as_int(0x80000003u), as_int(0x04FF02FEu), 100) == 100 + 3 * -2 + -32768 * 2);
  CHECK(__dp2a_hi(as_int(0x80000003u), as_int(0x04FF02FEu), 100) == 100 + 3 * -1 + -32768 * 4);
  CHECK(__dp2a_lo(0xFFFFFFFFu, 0xFFFFFFFFu, 1u) == 1u + 2u * 65535u * 255u);
}

TEST_CASE("__byte_perm picks bytes of y:x by the low 3 bits of each selector nibble") {
  const auto reference = [](const std::uint32_t x, const std::uint32_t y, const std::uint32_t s) {
    std::uint8_t bytes[8];
    for (int i = 0; i < 4; ++i) {
      bytes[i] = static_cast<std::uint8_t>(x >> (8 * i));
      bytes[4 + i] = static_cast<std::uint8_t>(y >> (8 * i));
    }
    std::uint32_t result = 0;
    for (int i = 0; i < 4; ++i)
      result |= static_cast<std::uint32_t>(bytes[(s >> (4 * i)) & 7u]) << (8 * i);
    return result;
  };
  SplitMix64 rng{3};
  for (int i = 0; i < 100000; ++i) {
    const std::uint32_t x = rng.next32(), y = rng.next32(), s = rng.next32();
    REQUIRE(__byte_perm(x, y, s) == reference(x, y, s));
  }
  const unsigned x = 0x33221100u, y = 0x77665544u;
  CHECK(__byte_perm(x, y, 0x3210u) == x);
  CHECK(__byte_perm(x, y, 0x7654u) == y);
  CHECK(__byte_perm(x, y, 0x0123u) == 0x00112233u);  // byte swap
  CHECK(__byte_perm(x, y, 0x7531u) == 0x77553311u);
  CHECK(__byte_perm(x, y, 0x89ABu) == 0x00112233u);  // nibble bit 3 is ignored
  CHECK(__byte_perm(x, y, 0xFFFF3210u) == x);        // the upper 16 bits are ignored
}

TEST_CASE("bit counts and reversal, edge cases") {
  CHECK(__popc(0u) == 0);
  CHECK(__popc(0xFFFFFFFFu) == 32);
  CHECK(__popc(0x80000001u) == 2);
  CHECK(__popcll(0ull) == 0);
  CHECK(__popcll(~0ull) == 64);
  CHECK(__clz(0) == 32);
  CHECK(__clz(-1) == 0);
  CHECK(__clz(1) == 31);
  CHECK(__clz(INT_MAX) == 1);
  CHECK(__clzll(0) == 64);
  CHECK(__clzll(-1) == 0);
  CHECK(__clzll(1) == 63);
  CHECK(__ffs(0) == 0);
  CHECK(__ffs(-1) == 1);
  CHECK(__ffs(INT_MIN) == 32);
  CHECK(__ffs(12) == 3);
  CHECK(__ffsll(0) == 0);
  CHECK(__ffsll(LLONG_MIN) == 64);
  CHECK(__brev(0u) == 0u);
  CHECK(__brev(0xFFFFFFFFu) == 0xFFFFFFFFu);
  CHECK(__brev(1u) == 0x80000000u);
  CHECK(__brev(0x12345678u) == 0x1E6A2C48u);
  CHECK(__brevll(1ull) == 0x8000000000000000ull);
  CHECK(__brevll(0x0000000100000003ull) == 0xC000000080000000ull);
  SplitMix64 rng{4};
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t v = rng.next();
    std::uint64_t reversed = 0;
    for (int bit = 0; bit < 64; ++bit) reversed |= ((v >> bit) & 1u) << (63 - bit);
    REQUIRE(__brevll(v) == reversed);
    REQUIRE(__brev(static_cast<std::uint32_t>(v)) == static_cast<std::uint32_t>(reversed >> 32));
    int ones = 0;
    for (int bit = 0; bit < 64; ++bit) ones += static_cast<int>((v >> bit) & 1u);
    REQUIRE(__popcll(v) == ones);
  }
}

TEST_CASE("funnel shifts: wrapped (& 31) and clamped (min 32) amounts") {
  const unsigned lo = 0x89ABCDEFu, hi = 0x01234567u;
  CHECK(__funnelshift_l(lo, hi, 0) == hi);
  CHECK(__funnelshift_l(lo, hi, 8) == 0x23456789u);
  CHECK(__funnelshift_l(lo, hi, 32) == hi);  // 32 & 31 = 0
  CHECK(__funnelshift_l(lo, hi, 40) == 0x23456789u);
  CHECK(__funnelshift_lc(lo, hi, 32) == lo);  // clamped: all of lo shifted up
  CHECK(__funnelshift_lc(lo, hi, 1000) == lo);
  CHECK(__funnelshift_r(lo, hi, 0) == lo);
  CHECK(__funnelshift_r(lo, hi, 8) == 0x6789ABCDu);
  CHECK(__funnelshift_r(lo, hi, 36) == 0x789ABCDEu);
  CHECK(__funnelshift_rc(lo, hi, 32) == hi);
  CHECK(__funnelshift_rc(lo, hi, 0xFFFFFFFFu) == hi);
  SplitMix64 rng{5};
  for (int i = 0; i < 10000; ++i) {
    const std::uint32_t a = rng.next32(), b = rng.next32(), shift = rng.next32() % 70;
    const uint128 joined = (static_cast<uint128>(b) << 32) | a;  // room for a 64-bit shift
    const unsigned wrapped = shift & 31u, clamped = std::min(shift, 32u);
    REQUIRE(__funnelshift_l(a, b, shift) == static_cast<std::uint32_t>((joined << wrapped) >> 32));
    REQUIRE(__funnelshift_lc(a, b, shift) == static_cast<std::uint32_t>((joined << clamped) >> 32));
    REQUIRE(__funnelshift_r(a, b, shift) == static_cast<std::uint32_t>(joined >> wrapped));
    REQUIRE(__funnelshift_rc(a, b, shift) == static_cast<std::uint32_t>(joined >> clamped));
  }
}

TEST_CASE("multiplication high halves and 24-bit products") {
  CHECK(__mulhi(INT_MIN, INT_MIN) == 0x40000000);
  CHECK(__mulhi(-1, 1) == -1);
  CHECK(__mulhi(INT_MAX, INT_MAX) == 0x3FFFFFFF);
  CHECK(__umulhi(0xFFFFFFFFu, 0xFFFFFFFFu) == 0xFFFFFFFEu);
  CHECK(__mul64hi(LLONG_MIN, LLONG_MIN) == 0x4000000000000000ll);
  CHECK(__mul64hi(-1, 1) == -1);
  CHECK(__umul64hi(~0ull, ~0ull) == ~0ull - 1);
  CHECK(__mul24(0x00800000, 2) == -0x1000000);   // bit 23 is the sign of the 24-bit operand
  CHECK(__mul24(0x7F000003, 0x12000005) == 15);  // the top 8 bits are ignored
  CHECK(__mul24(-1, -1) == 1);
  CHECK(__umul24(0xFFFFFFFFu, 0xFFFFFFFFu) == static_cast<unsigned>(0xFFFFFFull * 0xFFFFFFull));
  SplitMix64 rng{6};
  for (int i = 0; i < 10000; ++i) {
    const std::uint64_t x = rng.next(), y = rng.next();
    const std::int32_t xs = static_cast<std::int32_t>(x), ys = static_cast<std::int32_t>(y);
    REQUIRE(__mulhi(xs, ys) ==
            static_cast<std::int32_t>((static_cast<std::int64_t>(xs) * ys) >> 32));
    REQUIRE(__umulhi(static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y)) ==
            static_cast<std::uint32_t>((static_cast<std::uint64_t>(static_cast<std::uint32_t>(x)) *
                                        static_cast<std::uint32_t>(y)) >>
                                       32));
    REQUIRE(__umul64hi(x, y) == static_cast<std::uint64_t>((static_cast<uint128>(x) * y) >> 64));
    REQUIRE(__mul64hi(static_cast<std::int64_t>(x), static_cast<std::int64_t>(y)) ==
            static_cast<std::int64_t>((static_cast<int128>(static_cast<std::int64_t>(x)) *
                                       static_cast<std::int64_t>(y)) >>
                                      64));
    const std::int64_t x24 = static_cast<std::int64_t>(
        static_cast<std::int32_t>(static_cast<std::uint32_t>(x) << 8) >> 8);
    const std::int64_t y24 = static_cast<std::int64_t>(
        static_cast<std::int32_t>(static_cast<std::uint32_t>(y) << 8) >> 8);
    REQUIRE(static_cast<std::uint32_t>(__mul24(xs, ys)) == static_cast<std::uint32_t>(x24 * y24));
  }
}

TEST_CASE("sums of absolute differences, averages and per-byte SIMD") {
  CHECK(__sad(INT_MIN, INT_MAX, 0u) == 0xFFFFFFFFu);
  CHECK(__sad(-5, 5, 1u) == 11u);
  CHECK(__sad(3, 7, 0xFFFFFFFFu) == 3u);  // the sum wraps
  CHECK(__usad(0u, 0xFFFFFFFFu, 1u) == 0u);
  CHECK(__usad(10u, 3u, 5u) == 12u);
  CHECK(__hadd(INT_MAX, INT_MAX) == INT_MAX);
  CHECK(__hadd(INT_MIN, INT_MIN) == INT_MIN);
  CHECK(__hadd(-3, 0) == -2);  // (x + y) >> 1 rounds toward minus infinity
  CHECK(__rhadd(-3, 0) == -1);
  CHECK(__rhadd(INT_MAX, INT_MAX) == INT_MAX);
  CHECK(__uhadd(0xFFFFFFFFu, 0xFFFFFFFFu) == 0xFFFFFFFFu);
  CHECK(__urhadd(0xFFFFFFFFu, 0xFFFFFFFEu) == 0xFFFFFFFFu);
  CHECK(__uhadd(1u, 2u) == 1u);
  CHECK(__urhadd(1u, 2u) == 2u);

  CHECK(__vadd4(0xFF7F0180u, 0x01010180u) == 0x00800200u);  // each byte wraps on its own
  CHECK(__vsub4(0x00000100u, 0x01010001u) == 0xFFFF01FFu);
  CHECK(__vabsdiffu4(0x00FF1080u, 0xFF001080u) == 0xFFFF0000u);
  CHECK(__vabsdiffs4(0x7F80FF01u, 0x807F01FFu) == 0xFFFF0202u);  // |127 - -128| = 255
  SplitMix64 rng{7};
  for (int i = 0; i < 10000; ++i) {
    const std::uint32_t a = extreme_bytes(rng), b = extreme_bytes(rng);
    std::uint32_t sum = 0, difference = 0, abs_unsigned = 0, abs_signed = 0;
    for (int byte = 0; byte < 4; ++byte) {
      const std::int64_t ua = unsigned_byte(a, byte), ub = unsigned_byte(b, byte);
      const std::int64_t sa = signed_byte(a, byte), sb = signed_byte(b, byte);
      sum |= static_cast<std::uint32_t>((ua + ub) & 0xFF) << (8 * byte);
      difference |= static_cast<std::uint32_t>((ua - ub) & 0xFF) << (8 * byte);
      abs_unsigned |= static_cast<std::uint32_t>(std::llabs(ua - ub)) << (8 * byte);
      abs_signed |= static_cast<std::uint32_t>(std::llabs(sa - sb)) << (8 * byte);
    }
    REQUIRE(__vadd4(a, b) == sum);
    REQUIRE(__vsub4(a, b) == difference);
    REQUIRE(__vabsdiffu4(a, b) == abs_unsigned);
    REQUIRE(__vabsdiffs4(a, b) == abs_signed);
    const std::int32_t x = as_int(rng.next32()), y = as_int(rng.next32());
    REQUIRE(__hadd(x, y) ==
            static_cast<std::int32_t>(std::floor((static_cast<double>(x) + y) / 2)));
    REQUIRE(__rhadd(x, y) ==
            static_cast<std::int32_t>(std::floor((static_cast<double>(x) + y + 1) / 2)));
    REQUIRE(__sad(x, y, a) ==
            static_cast<std::uint32_t>(std::llabs(static_cast<std::int64_t>(x) - y) + a));
  }
}

namespace {

// Distance between two finite floats in units in the last place of the reference.
double ulp_error(const float actual, const double reference) {
  const double ulp =
      std::ldexp(1.0, std::max(std::ilogb(static_cast<float>(reference)), -126) - 23);
  return std::fabs(static_cast<double>(actual) - reference) / ulp;
}

bool same_float(const float a, const float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

float random_float(SplitMix64& rng, const float low, const float high) {
  return low + (high - low) * static_cast<float>(rng.next() >> 40) / 16777216.0f;
}

}  // namespace

TEST_CASE("fast float functions are within 1 ulp of the double result") {
  SplitMix64 rng{8};
  double worst = 0;
  for (int i = 0; i < 100000; ++i) {
    const float x = random_float(rng, -80.0f, 80.0f);
    const float positive = std::fabs(x) + 1e-3f;
    float sine, cosine;
    __sincosf(x, &sine, &cosine);
    const double errors[] = {
        ulp_error(__expf(x), std::exp(static_cast<double>(x))),
        ulp_error(__exp10f(x / 3), std::pow(10.0, static_cast<double>(x / 3))),
        ulp_error(__logf(positive), std::log(static_cast<double>(positive))),
        ulp_error(__log2f(positive), std::log2(static_cast<double>(positive))),
        ulp_error(__log10f(positive), std::log10(static_cast<double>(positive))),
        ulp_error(__powf(positive, x / 20),
                  std::pow(static_cast<double>(positive), static_cast<double>(x / 20))),
        ulp_error(__sinf(x), std::sin(static_cast<double>(x))),
        ulp_error(__cosf(x), std::cos(static_cast<double>(x))),
        ulp_error(__tanf(x), std::tan(static_cast<double>(x))),
        ulp_error(__tanhf(x / 16), std::tanh(static_cast<double>(x / 16))),
        ulp_error(sine, std::sin(static_cast<double>(x))),
        ulp_error(cosine, std::cos(static_cast<double>(x))),
        ulp_error(rsqrtf(positive), 1.0 / std::sqrt(static_cast<double>(positive))),
        ulp_error(__fdividef(x, positive), static_cast<double>(x) / positive),
    };
    for (const double error : errors) worst = std::max(worst, error);
  }
  CHECK(worst <= 1.0);
  CHECK(std::isnan(rsqrtf(-1.0f)));
  CHECK(rsqrtf(0.0f) == INFINITY);
  CHECK(rsqrtf(-0.0f) == -INFINITY);
  CHECK(same_float(rsqrtf(INFINITY), 0.0f));
  CHECK(__expf(-INFINITY) == 0.0f);
  CHECK(std::isnan(__logf(-1.0f)));
}

TEST_CASE("__fdividef: the documented flush for 2^126 < |y| < 2^128") {
  const float big = std::ldexp(1.5f, 126);
  CHECK(same_float(__fdividef(1.0f, big), 0.0f));
  CHECK(same_float(__fdividef(1.0f, -big), -0.0f));
  CHECK(same_float(__fdividef(-1e30f, big), -0.0f));
  CHECK(std::isnan(__fdividef(INFINITY, big)));
  CHECK(__fdividef(1.0f, std::ldexp(1.0f, 126)) == std::ldexp(1.0f, -126));  // 2^126 itself divides
  CHECK(__fdividef(6.0f, 3.0f) == 2.0f);
  CHECK(__fdividef(1.0f, INFINITY) == 0.0f);
}

TEST_CASE("correctly rounded _rn float operations") {
  // Random positive floats: any finite bit pattern, or exponents kept away
  // from overflow and underflow for the quotients.
  const auto random_bits = [](SplitMix64& rng, const std::uint32_t low_field,
                              const std::uint32_t high_field) {
    const std::uint32_t r = rng.next32();
    const std::uint32_t bits =
        (low_field + r % (high_field - low_field + 1)) << 23 | (rng.next32() & 0x7FFFFFu);
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  };
  // The nearest float to a long double reference (64-bit, far closer than any
  // near-tie of these operations).
  const auto is_nearest = [](const float actual, const long double reference) {
    const float below = std::nextafter(actual, 0.0f), above = std::nextafter(actual, INFINITY);
    const long double error = std::fabs(actual - reference);
    return error <= std::fabs(below - reference) && error <= std::fabs(above - reference);
  };
  SplitMix64 rng{9};
  for (int i = 0; i < 200000; ++i) {
    const float x = random_bits(rng, 0, 254), y = random_bits(rng, 0, 254);
    const float sign = (i & 1) != 0 ? -1.0f : 1.0f;
    const long double lx = x, ly = sign * y;
    // Rounding to long double (64 bits >= 2 * 24 + 2) and then to float is
    // innocuous for + - *, so these are the correctly rounded results.
    REQUIRE(same_float(__fadd_rn(x, sign * y), static_cast<float>(lx + ly)));
    REQUIRE(same_float(__fsub_rn(x, sign * y), static_cast<float>(lx - ly)));
    REQUIRE(same_float(__fmul_rn(x, sign * y), static_cast<float>(lx * ly)));
    REQUIRE(is_nearest(__fsqrt_rn(x), std::sqrt(static_cast<long double>(x))));
    REQUIRE(is_nearest(__frsqrt_rn(x), 1.0L / std::sqrt(static_cast<long double>(x))));
    const float u = random_bits(rng, 64, 190), v = random_bits(rng, 64, 190);
    REQUIRE(is_nearest(__fdiv_rn(u, v), static_cast<long double>(u) / v));
    REQUIRE(is_nearest(__frcp_rn(v), 1.0L / v));
  }
  // Fused: (1 + 2^-23)(1 - 2^-23) - 1 = -2^-46, which an unfused multiply-add loses.
  CHECK(__fmaf_rn(1.0f + std::ldexp(1.0f, -23), 1.0f - std::ldexp(1.0f, -23), -1.0f) ==
        -std::ldexp(1.0f, -46));
  // Rounded once: 24929 * 673 * 2^-24 = 1 + 2^-24 is a float tie; + 2^-80 puts it above.
  CHECK(__fmaf_rn(24929.0f, 673.0f * std::ldexp(1.0f, -24), std::ldexp(1.0f, -80)) ==
        1.0f + std::ldexp(1.0f, -23));
  CHECK(__fmaf_rn(24929.0f, 673.0f * std::ldexp(1.0f, -24), 0.0f) == 1.0f);
  CHECK(__fdiv_rn(std::numeric_limits<float>::denorm_min(), 2.0f) == 0.0f);  // tie to even: zero
  CHECK(__fdiv_rn(3 * std::numeric_limits<float>::denorm_min(), 2.0f) ==
        2 * std::numeric_limits<float>::denorm_min());
  CHECK(__frcp_rn(std::ldexp(1.0f, 127)) == std::ldexp(1.0f, -127));  // subnormal result
  CHECK(__frsqrt_rn(4.0f) == 0.5f);
  CHECK(__frsqrt_rn(0.0f) == INFINITY);
  CHECK(__frsqrt_rn(-0.0f) == -INFINITY);
  CHECK(same_float(__frsqrt_rn(INFINITY), 0.0f));
  CHECK(std::isnan(__frsqrt_rn(-1.0f)));
  CHECK(std::isnan(__frsqrt_rn(NAN)));
  CHECK(__fdiv_rn(1.0f, 3.0f) == 1.0f / 3.0f);
}

TEST_CASE("__saturatef and float <-> integer conversions") {
  CHECK(same_float(__saturatef(NAN), 0.0f));
  CHECK(same_float(__saturatef(-NAN), 0.0f));
  CHECK(same_float(__saturatef(-0.0f), 0.0f));
  CHECK(same_float(__saturatef(-5.0f), 0.0f));
  CHECK(__saturatef(0.25f) == 0.25f);
  CHECK(__saturatef(1.0f) == 1.0f);
  CHECK(__saturatef(INFINITY) == 1.0f);

  CHECK(__float2int_rn(2.5f) == 2);
  CHECK(__float2int_rn(3.5f) == 4);
  CHECK(__float2int_rn(-2.5f) == -2);
  CHECK(__float2int_rz(-2.7f) == -2);
  CHECK(__float2int_rd(-2.1f) == -3);
  CHECK(__float2int_ru(-2.9f) == -2);
  CHECK(__float2int_ru(2.1f) == 3);
  CHECK(__float2int_rn(NAN) == 0);
  CHECK(__float2int_rn(1e10f) == INT_MAX);
  CHECK(__float2int_rn(-1e10f) == INT_MIN);
  CHECK(__float2int_rz(2147483520.0f) == 2147483520);
  CHECK(__float2int_rn(-2147483648.0f) == INT_MIN);
  CHECK(__float2int_rn(2147483648.0f) == INT_MAX);
  CHECK(__float2uint_rn(-3.0f) == 0u);
  CHECK(__float2uint_rn(-0.4f) == 0u);
  CHECK(__float2uint_rn(NAN) == 0u);
  CHECK(__float2uint_rn(5e9f) == UINT_MAX);
  CHECK(__float2uint_rn(4294967040.0f) == 4294967040u);
  CHECK(__float2uint_rn(2.5f) == 2u);
  CHECK(__float2uint_rz(2.9f) == 2u);
  CHECK(__float2uint_rd(2.9f) == 2u);
  CHECK(__float2uint_ru(2.1f) == 3u);
  CHECK(__int2float_rn(16777217) == 16777216.0f);  // ties to even
  CHECK(__int2float_rn(16777219) == 16777220.0f);
  CHECK(__uint2float_rn(0xFFFFFFFFu) == 4294967296.0f);

  CHECK(__float_as_int(1.0f) == 0x3F800000);
  CHECK(__float_as_int(-0.0f) == INT_MIN);
  CHECK(__float_as_uint(-1.0f) == 0xBF800000u);
  CHECK(__int_as_float(0x40490FDB) == 3.14159274f);
  CHECK(__uint_as_float(0x7F800000u) == INFINITY);
  SplitMix64 rng{10};
  for (int i = 0; i < 100000; ++i) {
    const float x = random_float(rng, -3e9f, 3e9f);
    const double clamped_rn =
        std::min(std::max(std::nearbyint(static_cast<double>(x)), -2147483648.0), 2147483647.0);
    REQUIRE(__float2int_rn(x) == static_cast<int>(clamped_rn));
    REQUIRE(__float2int_rd(x) ==
            static_cast<int>(std::min(std::max(std::floor(static_cast<double>(x)), -2147483648.0),
                                      2147483647.0)));
    REQUIRE(__float2int_ru(x) ==
            static_cast<int>(std::min(std::max(std::ceil(static_cast<double>(x)), -2147483648.0),
                                      2147483647.0)));
    REQUIRE(__float2uint_rn(x) ==
            static_cast<unsigned>(
                std::min(std::max(std::nearbyint(static_cast<double>(x)), 0.0), 4294967295.0)));
    REQUIRE(__int_as_float(__float_as_int(x)) == x);
  }
}

TEST_CASE("global min / max follow nvcc's overloads and leave std::min alone") {
  CHECK(min(3, -4) == -4);
  CHECK(max(3, -4) == 3);
  CHECK(min(3u, 4u) == 3u);
  CHECK(max(-1, 1u) == 0xFFFFFFFFu);  // mixed signedness compares as unsigned, as in CUDA
  CHECK(min(-1, 1u) == 1u);
  CHECK(min(5l, -6l) == -6l);
  CHECK(max(5ull, 6ll) == 6ull);
  CHECK(min(2.5f, 1.5f) == 1.5f);
  CHECK(max(2.5, 3.5f) == 3.5);
  CHECK(min(NAN, 1.0f) == 1.0f);  // fminf: NaN is ignored
  CHECK(max(1.0, NAN) == 1.0);
  static_assert(std::is_same<decltype(min(1, 2)), int>::value, "int overload");
  static_assert(std::is_same<decltype(max(std::size_t{1}, std::size_t{2})), unsigned long>::value,
                "size_t overload");
  static_assert(std::is_same<decltype(min(1.0f, 2.0f)), float>::value, "float overload");
  CHECK(std::min(3, 4) == 3);
  CHECK(std::max<long>(3, 4) == 4);
  {
    using namespace std;
    CHECK(min(7, 8) == 7);  // the exact non-template match wins, no ambiguity
    CHECK(max(std::size_t{7}, std::size_t{8}) == 8u);
  }
}

TEST_CASE("generic cache-hinted loads and stores") {
  const float values[] = {1.5f, -2.0f};
  const int4 vector = make_int4(1, 2, 3, 4);
  CHECK(__ldg(&values[1]) == -2.0f);
  CHECK(__ldcg(values) == 1.5f);
  CHECK(__ldca(&vector).w == 4);
  CHECK(__ldcs(&vector).x == 1);
  CHECK(__ldlu(values) == 1.5f);
  CHECK(__ldcv(values) == 1.5f);
  static_assert(std::is_same<decltype(__ldg(&vector)), int4>::value, "__ldg keeps the type");
  float stored = 0.0f;
  __stwb(&stored, 1.0);  // converts like CUDA's float overload
  CHECK(stored == 1.0f);
  __stcg(&stored, 2.0f);
  CHECK(stored == 2.0f);
  __stcs(&stored, 3.0f);
  CHECK(stored == 3.0f);
  __stwt(&stored, 4);
  CHECK(stored == 4.0f);
}
