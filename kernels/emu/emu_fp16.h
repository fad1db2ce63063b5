// emu_fp16.h - host versions of the __half / __half2 device intrinsics that
// CUDA 13's cuda_fp16.h leaves out when __CUDACC__ is not defined.
//
// On the host path cuda_fp16.h already gives conversions, + - * /, the
// comparisons, __hmax/__hmin(_nan), the _sat add/sub/mul and the _rz
// half->integer conversions; those are used as they are and never redefined.
// This file adds what it lacks: the fused multiply-adds (__hfma, _sat, _relu,
// their __half2 forms, __hcmadd), the math functions (hsqrt ... htanh and
// their h2 forms), htrunc/hceil/hfloor/hrint, the _rn/_rd/_ru
// half->integer conversions and the cache-hinted loads and stores (__ldg,
// __ldcg, ..., __stwt). Shuffles and atomics of halves live elsewhere.
//
// Every result is rounded once, from double, to the nearest half, ties to
// even. __hfma is a double a * b + c of the exact operands: the product of two
// halves is exact in double, and rounding the sum to double first cannot
// change the half result. That would need the double result to land on a
// half-precision tie that the exact sum misses by less than a double ulp, so
// the sum would need bits more than 42 places below the tie; a 22-bit product
// plus an 11-bit addend, both multiples of 2^-48, with a finite half result
// has none there. A float fma followed by rounding to half rounds twice and
// is wrong for about 1 in 35,000 triples whose a*b and c are of similar size.
#ifndef M2U_KERNELS_EMU_EMU_FP16_H
#define M2U_KERNELS_EMU_EMU_FP16_H

#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace m2u_emu {

// The exact value of a half as a double. Normal halves (the common case in
// the kernels) are rebased with integer arithmetic: the exponent field moves
// from bias 15 to 1023, the 10 fraction bits to the top of the 52.
inline double half_to_double(const __half h) {
  const std::uint64_t bits = __half_as_ushort(h);
  if (((bits >> 10) & 0x1Fu) - 1u < 30u) {
    const std::uint64_t rebased = ((bits & 0x8000u) << 48) | (((bits & 0x7FFFu) + (1008u << 10)) << 42);
    double value;
    std::memcpy(&value, &rebased, sizeof value);
    return value;
  }
  return static_cast<double>(__half2float(h));  // zeros, subnormals, infinities, NaNs
}

// Rounds a double to the nearest half, ties to even, in one step (going through
// float would round twice). NaN becomes the canonical NaN 0x7FFF, as the
// conversions of cuda_fp16.h and the hardware produce.
inline __half double_to_half_rn(const double value) {
  std::uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const std::uint32_t sign = static_cast<std::uint32_t>(bits >> 48) & 0x8000u;
  // Results that round to a normal half, 2^-14 <= |value| < 65520 (the
  // common case): with the exponent rebased from bias 1023 to 15, a half's
  // bits are the top 15 of the double's magnitude below the sign; adding
  // 2^41 - 1 plus the lowest kept bit before the shift rounds to nearest,
  // ties to even, a carry moving up one binade. Everything else takes the
  // general path below.
  const std::uint64_t magnitude_bits = bits & ~(std::uint64_t{1} << 63);
  constexpr std::uint64_t kMinNormal = std::uint64_t{1023 - 14} << 52;  // 2^-14
  constexpr std::uint64_t kFirstOverflow = 0x40EFFE0000000000u;       // 65520, rounds to infinity
  if (magnitude_bits - kMinNormal < kFirstOverflow - kMinNormal) {
    const std::uint64_t rebased = magnitude_bits - (std::uint64_t{1023 - 15} << 52);
    const std::uint64_t rounded = rebased + ((std::uint64_t{1} << 41) - 1) + ((rebased >> 42) & 1u);
    return __ushort_as_half(static_cast<unsigned short>(sign | (rounded >> 42)));
  }
  const int biased_exponent = static_cast<int>((bits >> 52) & 0x7FFu);
  const std::uint64_t fraction = bits & ((std::uint64_t{1} << 52) - 1);
  if (biased_exponent == 0x7FF) {
    return __ushort_as_half(static_cast<unsigned short>(fraction != 0 ? 0x7FFFu : sign | 0x7C00u));
  }
  // value = significand * 2^(exponent - 52). Halves are spaced 2^(exponent - 10)
  // apart in the normal range and 2^-24 apart below it: drop the bits under that.
  const int exponent = biased_exponent - 1023;
  const int dropped_bits = 42 + std::max(0, -14 - exponent);
  if (biased_exponent == 0 || dropped_bits > 53) {
    return __ushort_as_half(static_cast<unsigned short>(sign));  // below 2^-25: rounds to zero
  }
  const std::uint64_t significand = fraction | (std::uint64_t{1} << 52);
  std::uint64_t kept = significand >> dropped_bits;
  const std::uint64_t remainder = significand & ((std::uint64_t{1} << dropped_bits) - 1);
  const std::uint64_t halfway = std::uint64_t{1} << (dropped_bits - 1);
  if (remainder > halfway || (remainder == halfway && (kept & 1u) != 0)) {
    ++kept;
  }
  // In the normal range kept holds the implicit 2^10 bit, so adding
  // (exponent + 14) << 10 forms the biased exponent field; a carry out of
  // the significand moves up one binade, and past 0x7BFF lies infinity.
  const std::uint64_t magnitude =
      exponent >= -14 ? (static_cast<std::uint64_t>(exponent + 14) << 10) + kept : kept;
  return __ushort_as_half(
      static_cast<unsigned short>(sign | std::min<std::uint64_t>(magnitude, 0x7C00u)));
}

}  // namespace m2u_emu

// ---- fused multiply-add

// The product of two halves is exact in double, so a * b + c rounds once
// there, as std::fma would (without the call into libm).
inline __half __hfma(const __half a, const __half b, const __half c) {
  return m2u_emu::double_to_half_rn(
      m2u_emu::half_to_double(a) * m2u_emu::half_to_double(b) + m2u_emu::half_to_double(c));
}
// Clamped to [+0, 1]; NaN gives +0 (the same __hmin/__hmax rule cuda_fp16.h uses for __hadd_sat).
inline __half __hfma_sat(const __half a, const __half b, const __half c) {
  return __hmin(__hmax(__hfma(a, b, c), CUDART_ZERO_FP16), CUDART_ONE_FP16);
}
// Negative results and -0 give +0, NaN the canonical NaN (cuda_fp16.h's own pre-sm_80 formula).
inline __half __hfma_relu(const __half a, const __half b, const __half c) {
  return __hmax_nan(__hfma(a, b, c), CUDART_ZERO_FP16);
}
inline __half2 __hfma2(const __half2 a, const __half2 b, const __half2 c) {
  return make_half2(__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y));
}
inline __half2 __hfma2_sat(const __half2 a, const __half2 b, const __half2 c) {
  return make_half2(__hfma_sat(a.x, b.x, c.x), __hfma_sat(a.y, b.y, c.y));
}
inline __half2 __hfma2_relu(const __half2 a, const __half2 b, const __half2 c) {
  return make_half2(__hfma_relu(a.x, b.x, c.x), __hfma_relu(a.y, b.y, c.y));
}
// Complex a * b + c on (x + i y) pairs, in the four-fma order cuda_fp16.h documents.
inline __half2 __hcmadd(const __half2 a, const __half2 b, const __half2 c) {
  const __half real = __hfma(__hneg(a.y), b.y, __hfma(a.x, b.x, c.x));
  const __half imaginary = __hfma(a.y, b.x, __hfma(a.x, b.y, c.y));
  return make_half2(real, imaginary);
}

// ---- math functions: the double result rounded once to half

inline __half hsqrt(const __half a) {
  return m2u_emu::double_to_half_rn(std::sqrt(m2u_emu::half_to_double(a)));
}
inline __half hrsqrt(const __half a) {
  return m2u_emu::double_to_half_rn(1.0 / std::sqrt(m2u_emu::half_to_double(a)));
}
inline __half hrcp(const __half a) {
  return m2u_emu::double_to_half_rn(1.0 / m2u_emu::half_to_double(a));
}
inline __half hexp(const __half a) {
  return m2u_emu::double_to_half_rn(std::exp(m2u_emu::half_to_double(a)));
}
inline __half hexp2(const __half a) {
  return m2u_emu::double_to_half_rn(std::exp2(m2u_emu::half_to_double(a)));
}
inline __half hexp10(const __half a) {
  return m2u_emu::double_to_half_rn(std::pow(10.0, m2u_emu::half_to_double(a)));
}
inline __half hlog(const __half a) {
  return m2u_emu::double_to_half_rn(std::log(m2u_emu::half_to_double(a)));
}
inline __half hlog2(const __half a) {
  return m2u_emu::double_to_half_rn(std::log2(m2u_emu::half_to_double(a)));
}
inline __half hlog10(const __half a) {
  return m2u_emu::double_to_half_rn(std::log10(m2u_emu::half_to_double(a)));
}
inline __half hsin(const __half a) {
  return m2u_emu::double_to_half_rn(std::sin(m2u_emu::half_to_double(a)));
}
inline __half hcos(const __half a) {
  return m2u_emu::double_to_half_rn(std::cos(m2u_emu::half_to_double(a)));
}
inline __half htanh(const __half a) {
  return m2u_emu::double_to_half_rn(std::tanh(m2u_emu::half_to_double(a)));
}
inline __half htanh_approx(const __half a) { return htanh(a); }

inline __half2 h2sqrt(const __half2 a) { return make_half2(hsqrt(a.x), hsqrt(a.y)); }
inline __half2 h2rsqrt(const __half2 a) { return make_half2(hrsqrt(a.x), hrsqrt(a.y)); }
inline __half2 h2rcp(const __half2 a) { return make_half2(hrcp(a.x), hrcp(a.y)); }
inline __half2 h2exp(const __half2 a) { return make_half2(hexp(a.x), hexp(a.y)); }
inline __half2 h2exp2(const __half2 a) { return make_half2(hexp2(a.x), hexp2(a.y)); }
inline __half2 h2exp10(const __half2 a) { return make_half2(hexp10(a.x), hexp10(a.y)); }
inline __half2 h2log(const __half2 a) { return make_half2(hlog(a.x), hlog(a.y)); }
inline __half2 h2log2(const __half2 a) { return make_half2(hlog2(a.x), hlog2(a.y)); }
inline __half2 h2log10(const __half2 a) { return make_half2(hlog10(a.x), hlog10(a.y)); }
inline __half2 h2sin(const __half2 a) { return make_half2(hsin(a.x), hsin(a.y)); }
inline __half2 h2cos(const __half2 a) { return make_half2(hcos(a.x), hcos(a.y)); }
inline __half2 h2tanh(const __half2 a) { return make_half2(htanh(a.x), htanh(a.y)); }
inline __half2 h2tanh_approx(const __half2 a) {
  return make_half2(htanh_approx(a.x), htanh_approx(a.y));
}

// ---- rounding to an integral half (exact)

inline __half htrunc(const __half h) {
  return m2u_emu::double_to_half_rn(std::trunc(m2u_emu::half_to_double(h)));
}
inline __half hceil(const __half h) {
  return m2u_emu::double_to_half_rn(std::ceil(m2u_emu::half_to_double(h)));
}
inline __half hfloor(const __half h) {
  return m2u_emu::double_to_half_rn(std::floor(m2u_emu::half_to_double(h)));
}
// Ties to even (the default floating-point environment).
inline __half hrint(const __half h) {
  return m2u_emu::double_to_half_rn(std::nearbyint(m2u_emu::half_to_double(h)));
}

inline __half2 h2trunc(const __half2 h) { return make_half2(htrunc(h.x), htrunc(h.y)); }
inline __half2 h2ceil(const __half2 h) { return make_half2(hceil(h.x), hceil(h.y)); }
inline __half2 h2floor(const __half2 h) { return make_half2(hfloor(h.x), hfloor(h.y)); }
inline __half2 h2rint(const __half2 h) { return make_half2(hrint(h.x), hrint(h.y)); }

// ---- half -> integer in the other rounding modes
// Round to an integral half first (exact), then reuse cuda_fp16.h's _rz
// conversion, which already saturates and maps NaN as the hardware does.

inline short int __half2short_rn(const __half h) { return __half2short_rz(hrint(h)); }
inline short int __half2short_rd(const __half h) { return __half2short_rz(hfloor(h)); }
inline short int __half2short_ru(const __half h) { return __half2short_rz(hceil(h)); }
inline unsigned short int __half2ushort_rn(const __half h) { return __half2ushort_rz(hrint(h)); }
inline unsigned short int __half2ushort_rd(const __half h) { return __half2ushort_rz(hfloor(h)); }
inline unsigned short int __half2ushort_ru(const __half h) { return __half2ushort_rz(hceil(h)); }
inline int __half2int_rn(const __half h) { return __half2int_rz(hrint(h)); }
inline int __half2int_rd(const __half h) { return __half2int_rz(hfloor(h)); }
inline int __half2int_ru(const __half h) { return __half2int_rz(hceil(h)); }
inline unsigned int __half2uint_rn(const __half h) { return __half2uint_rz(hrint(h)); }
inline unsigned int __half2uint_rd(const __half h) { return __half2uint_rz(hfloor(h)); }
inline unsigned int __half2uint_ru(const __half h) { return __half2uint_rz(hceil(h)); }
inline long long int __half2ll_rn(const __half h) { return __half2ll_rz(hrint(h)); }
inline long long int __half2ll_rd(const __half h) { return __half2ll_rz(hfloor(h)); }
inline long long int __half2ll_ru(const __half h) { return __half2ll_rz(hceil(h)); }
inline unsigned long long int __half2ull_rn(const __half h) { return __half2ull_rz(hrint(h)); }
inline unsigned long long int __half2ull_rd(const __half h) { return __half2ull_rz(hfloor(h)); }
inline unsigned long long int __half2ull_ru(const __half h) { return __half2ull_rz(hceil(h)); }

// ---- cache-hinted loads and stores: plain memory accesses on the host

inline __half __ldg(const __half* const ptr) { return *ptr; }
inline __half2 __ldg(const __half2* const ptr) { return *ptr; }
inline __half __ldcg(const __half* const ptr) { return *ptr; }
inline __half2 __ldcg(const __half2* const ptr) { return *ptr; }
inline __half __ldca(const __half* const ptr) { return *ptr; }
inline __half2 __ldca(const __half2* const ptr) { return *ptr; }
inline __half __ldcs(const __half* const ptr) { return *ptr; }
inline __half2 __ldcs(const __half2* const ptr) { return *ptr; }
inline __half __ldlu(const __half* const ptr) { return *ptr; }
inline __half2 __ldlu(const __half2* const ptr) { return *ptr; }
inline __half __ldcv(const __half* const ptr) { return *ptr; }
inline __half2 __ldcv(const __half2* const ptr) { return *ptr; }

inline void __stwb(__half* const ptr, const __half value) { *ptr = value; }
inline void __stwb(__half2* const ptr, const __half2 value) { *ptr = value; }
inline void __stcg(__half* const ptr, const __half value) { *ptr = value; }
inline void __stcg(__half2* const ptr, const __half2 value) { *ptr = value; }
inline void __stcs(__half* const ptr, const __half value) { *ptr = value; }
inline void __stcs(__half2* const ptr, const __half2 value) { *ptr = value; }
inline void __stwt(__half* const ptr, const __half value) { *ptr = value; }
inline void __stwt(__half2* const ptr, const __half2 value) { *ptr = value; }

#endif  // M2U_KERNELS_EMU_EMU_FP16_H
