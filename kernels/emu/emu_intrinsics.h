// emu_intrinsics.h - host versions of CUDA's float and integer device
// intrinsics (crt/device_functions.h, crt/math_functions.h, sm_32 and sm_61
// intrinsics), with the signatures nvcc declares, so kernel sources compile
// and compute on the host as they do on the device.
//
// Integer intrinsics are bit-exact; arithmetic that may overflow is done in
// unsigned types so it wraps like the hardware. Float-to-integer conversions
// saturate and send NaN to 0, as the PTX cvt instructions do. The _rn float
// operations are IEEE single precision, correctly rounded. The fast
// approximate functions (__expf, __sinf, ...) are computed in double and
// rounded to float: within 1 ulp, more accurate than the device versions.
#ifndef M2U_KERNELS_EMU_EMU_INTRINSICS_H
#define M2U_KERNELS_EMU_EMU_INTRINSICS_H

#include <vector_types.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace m2u_emu {
namespace intrinsics {

template <class To, class From>
inline To bit_cast(const From from) {
  static_assert(sizeof(To) == sizeof(From), "bit_cast needs equal sizes");
  To to;
  std::memcpy(&to, &from, sizeof to);
  return to;
}

// An integral float (or NaN, or infinity) as an int, saturating like cvt.s32.f32.
inline int float_to_int_saturated(const float integral) {
  if (std::isnan(integral)) return 0;
  if (integral >= 2147483648.0f) return INT_MAX;
  if (integral <= -2147483648.0f) return INT_MIN;
  return static_cast<int>(integral);
}

// An integral float (or NaN, or infinity) as an unsigned int, saturating like cvt.u32.f32.
inline unsigned int float_to_uint_saturated(const float integral) {
  if (std::isnan(integral) || integral <= 0.0f) return 0u;
  if (integral >= 4294967296.0f) return UINT_MAX;
  return static_cast<unsigned int>(integral);
}

// Lane i of a word split into lanes `bits` wide, sign-extended or zero-extended.
inline std::int32_t lane(const std::uint32_t word, const int bits, const int i,
                         const bool is_signed) {
  const std::uint32_t sign_bit = 1u << (bits - 1);
  const std::uint32_t value = (word >> (bits * i)) & ((sign_bit << 1) - 1u);
  return is_signed
             ? static_cast<std::int32_t>(value ^ sign_bit) - static_cast<std::int32_t>(sign_bit)
             : static_cast<std::int32_t>(value);
}

// c + sum of products of the byte lanes, modulo 2^32 like dp4a.
inline std::uint32_t dot4(const std::uint32_t a, const std::uint32_t b, std::uint32_t c,
                          const bool is_signed) {
  for (int i = 0; i < 4; ++i) {
    c += static_cast<std::uint32_t>(lane(a, 8, i, is_signed) * lane(b, 8, i, is_signed));
  }
  return c;
}

// c + sum of products of a's two 16-bit lanes with b's byte lanes first, first + 1,
// modulo 2^32 like dp2a (first is 0 for .lo, 2 for .hi).
inline std::uint32_t dot2(const std::uint32_t a, const std::uint32_t b, std::uint32_t c,
                          const bool is_signed, const int first) {
  for (int i = 0; i < 2; ++i) {
    c += static_cast<std::uint32_t>(lane(a, 16, i, is_signed) * lane(b, 8, first + i, is_signed));
  }
  return c;
}

inline std::uint32_t pack(const char4 v) {
  return static_cast<std::uint8_t>(v.x) |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(v.y)) << 8 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(v.z)) << 16 |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(v.w)) << 24;
}
inline std::uint32_t pack(const uchar4 v) {
  return v.x | static_cast<std::uint32_t>(v.y) << 8 | static_cast<std::uint32_t>(v.z) << 16 |
         static_cast<std::uint32_t>(v.w) << 24;
}
inline std::uint32_t pack(const short2 v) {
  return static_cast<std::uint16_t>(v.x) |
         static_cast<std::uint32_t>(static_cast<std::uint16_t>(v.y)) << 16;
}
inline std::uint32_t pack(const ushort2 v) { return v.x | static_cast<std::uint32_t>(v.y) << 16; }

// Applies op to each byte lane of a and b and keeps the low 8 bits of each result.
template <class ByteOp>
inline unsigned int per_byte(const unsigned int a, const unsigned int b, const ByteOp op) {
  unsigned int result = 0;
  for (int shift = 0; shift < 32; shift += 8) {
    const unsigned int byte =
        static_cast<unsigned int>(op((a >> shift) & 0xFFu, (b >> shift) & 0xFFu)) & 0xFFu;
    result |= byte << shift;
  }
  return result;
}

// Makes a parameter non-deduced, so a store converts its value like CUDA's overloads do.
template <class T>
struct identity {
  using type = T;
};

}  // namespace intrinsics
}  // namespace m2u_emu

// ---- fast approximate float functions
// glibc's <math.h> declares __expf, __logf, ... (internal aliases it does not
// export) as extern "C" noexcept, and nvcc declares the device intrinsics the
// same way, so these definitions keep that linkage and exception specification.

extern "C" {
inline float __expf(const float x) noexcept {
  return static_cast<float>(std::exp(static_cast<double>(x)));
}
inline float __exp10f(const float x) noexcept {
  return static_cast<float>(std::pow(10.0, static_cast<double>(x)));
}
inline float __logf(const float x) noexcept {
  return static_cast<float>(std::log(static_cast<double>(x)));
}
inline float __log2f(const float x) noexcept {
  return static_cast<float>(std::log2(static_cast<double>(x)));
}
inline float __log10f(const float x) noexcept {
  return static_cast<float>(std::log10(static_cast<double>(x)));
}
inline float __powf(const float x, const float y) noexcept {
  return static_cast<float>(std::pow(static_cast<double>(x), static_cast<double>(y)));
}
inline float __sinf(const float x) noexcept {
  return static_cast<float>(std::sin(static_cast<double>(x)));
}
inline float __cosf(const float x) noexcept {
  return static_cast<float>(std::cos(static_cast<double>(x)));
}
inline float __tanf(const float x) noexcept {
  return static_cast<float>(std::tan(static_cast<double>(x)));
}
inline float __tanhf(const float x) noexcept {
  return static_cast<float>(std::tanh(static_cast<double>(x)));
}
inline void __sincosf(const float x, float* const sptr, float* const cptr) noexcept {
  *sptr = __sinf(x);
  *cptr = __cosf(x);
}
// 1/sqrt(x); extern "C" like its nvcc declaration (and C23's rsqrtf in newer glibc).
inline float rsqrtf(const float x) noexcept {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(x)));
}
}

// x / y, except that for 2^126 < |y| < 2^128 the device's reciprocal flushes to
// zero, giving 0 for finite x and NaN for infinite x, as CUDA documents.
inline float __fdividef(const float x, const float y) {
  const float abs_y = std::fabs(y);
  if (abs_y > std::ldexp(1.0f, 126) && abs_y < INFINITY) return x * std::copysign(0.0f, y);
  return x / y;
}

// ---- IEEE single precision, round to nearest even

inline float __fadd_rn(const float x, const float y) { return x + y; }
inline float __fsub_rn(const float x, const float y) { return x - y; }
inline float __fmul_rn(const float x, const float y) { return x * y; }
inline float __fdiv_rn(const float x, const float y) { return x / y; }
inline float __fmaf_rn(const float x, const float y, const float z) { return std::fma(x, y, z); }
inline float __fsqrt_rn(const float x) { return std::sqrt(x); }
inline float __frcp_rn(const float x) { return 1.0f / x; }
// 1/sqrt in double, rounded to float, is correctly rounded for every float
// (checked exhaustively over [1, 4), which holds every significand and both
// exponent parities; other binades scale exactly).
inline float __frsqrt_rn(const float x) {
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(x)));
}
// Clamped to [+0, 1]; NaN gives +0.
inline float __saturatef(const float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }

// ---- conversions and bit casts

inline int __float2int_rn(const float x) {
  return m2u_emu::intrinsics::float_to_int_saturated(std::nearbyint(x));
}
inline int __float2int_rz(const float x) {
  return m2u_emu::intrinsics::float_to_int_saturated(std::trunc(x));
}
inline int __float2int_rd(const float x) {
  return m2u_emu::intrinsics::float_to_int_saturated(std::floor(x));
}
inline int __float2int_ru(const float x) {
  return m2u_emu::intrinsics::float_to_int_saturated(std::ceil(x));
}
inline unsigned int __float2uint_rn(const float x) {
  return m2u_emu::intrinsics::float_to_uint_saturated(std::nearbyint(x));
}
inline unsigned int __float2uint_rz(const float x) {
  return m2u_emu::intrinsics::float_to_uint_saturated(std::trunc(x));
}
inline unsigned int __float2uint_rd(const float x) {
  return m2u_emu::intrinsics::float_to_uint_saturated(std::floor(x));
}
inline unsigned int __float2uint_ru(const float x) {
  return m2u_emu::intrinsics::float_to_uint_saturated(std::ceil(x));
}
inline float __int2float_rn(const int x) { return static_cast<float>(x); }
inline float __uint2float_rn(const unsigned int x) { return static_cast<float>(x); }

inline int __float_as_int(const float x) { return m2u_emu::intrinsics::bit_cast<int>(x); }
inline float __int_as_float(const int x) { return m2u_emu::intrinsics::bit_cast<float>(x); }
inline unsigned int __float_as_uint(const float x) {
  return m2u_emu::intrinsics::bit_cast<unsigned int>(x);
}
inline float __uint_as_float(const unsigned int x) {
  return m2u_emu::intrinsics::bit_cast<float>(x);
}

// ---- min / max: the global overloads nvcc provides
// Non-templates in the global namespace: std::min/std::max are untouched, and
// where both are visible an exact non-template match is preferred.

inline int min(const int a, const int b) { return b < a ? b : a; }
inline unsigned int min(const unsigned int a, const unsigned int b) { return b < a ? b : a; }
inline unsigned int min(const int a, const unsigned int b) {
  return min(static_cast<unsigned int>(a), b);
}
inline unsigned int min(const unsigned int a, const int b) {
  return min(a, static_cast<unsigned int>(b));
}
inline long int min(const long int a, const long int b) { return b < a ? b : a; }
inline unsigned long int min(const unsigned long int a, const unsigned long int b) {
  return b < a ? b : a;
}
inline unsigned long int min(const long int a, const unsigned long int b) {
  return min(static_cast<unsigned long int>(a), b);
}
inline unsigned long int min(const unsigned long int a, const long int b) {
  return min(a, static_cast<unsigned long int>(b));
}
inline long long int min(const long long int a, const long long int b) { return b < a ? b : a; }
inline unsigned long long int min(const unsigned long long int a, const unsigned long long int b) {
  return b < a ? b : a;
}
inline unsigned long long int min(const long long int a, const unsigned long long int b) {
  return min(static_cast<unsigned long long int>(a), b);
}
inline unsigned long long int min(const unsigned long long int a, const long long int b) {
  return min(a, static_cast<unsigned long long int>(b));
}
inline float min(const float a, const float b) { return std::fmin(a, b); }
inline double min(const double a, const double b) { return std::fmin(a, b); }
inline double min(const float a, const double b) { return std::fmin(static_cast<double>(a), b); }
inline double min(const double a, const float b) { return std::fmin(a, static_cast<double>(b)); }

inline int max(const int a, const int b) { return a < b ? b : a; }
inline unsigned int max(const unsigned int a, const unsigned int b) { return a < b ? b : a; }
inline unsigned int max(const int a, const unsigned int b) {
  return max(static_cast<unsigned int>(a), b);
}
inline unsigned int max(const unsigned int a, const int b) {
  return max(a, static_cast<unsigned int>(b));
}
inline long int max(const long int a, const long int b) { return a < b ? b : a; }
inline unsigned long int max(const unsigned long int a, const unsigned long int b) {
  return a < b ? b : a;
}
inline unsigned long int max(const long int a, const unsigned long int b) {
  return max(static_cast<unsigned long int>(a), b);
}
inline unsigned long int max(const unsigned long int a, const long int b) {
  return max(a, static_cast<unsigned long int>(b));
}
inline long long int max(const long long int a, const long long int b) { return a < b ? b : a; }
inline unsigned long long int max(const unsigned long long int a, const unsigned long long int b) {
  return a < b ? b : a;
}
inline unsigned long long int max(const long long int a, const unsigned long long int b) {
  return max(static_cast<unsigned long long int>(a), b);
}
inline unsigned long long int max(const unsigned long long int a, const long long int b) {
  return max(a, static_cast<unsigned long long int>(b));
}
inline float max(const float a, const float b) { return std::fmax(a, b); }
inline double max(const double a, const double b) { return std::fmax(a, b); }
inline double max(const float a, const double b) { return std::fmax(static_cast<double>(a), b); }
inline double max(const double a, const float b) { return std::fmax(a, static_cast<double>(b)); }

// ---- bit counting and reversal

inline int __popc(const unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(const unsigned long long int x) { return __builtin_popcountll(x); }
inline int __clz(const int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned int>(x)); }
inline int __clzll(const long long int x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long int>(x));
}
inline int __ffs(const int x) { return __builtin_ffs(x); }
inline int __ffsll(const long long int x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0F0F0F0Fu) | ((x & 0x0F0F0F0Fu) << 4);
  x = ((x >> 8) & 0x00FF00FFu) | ((x & 0x00FF00FFu) << 8);
  return (x >> 16) | (x << 16);
}
inline unsigned long long int __brevll(const unsigned long long int x) {
  return static_cast<unsigned long long int>(__brev(static_cast<unsigned int>(x))) << 32 |
         __brev(static_cast<unsigned int>(x >> 32));
}

// Byte i of the result is byte (s >> 4i) & 7 of the 8-byte value y:x.
inline unsigned int __byte_perm(const unsigned int x, const unsigned int y, const unsigned int s) {
  const unsigned long long int source = static_cast<unsigned long long int>(y) << 32 | x;
  unsigned int result = 0;
  for (int i = 0; i < 4; ++i) {
    const unsigned int selector = (s >> (4 * i)) & 7u;
    result |= static_cast<unsigned int>((source >> (8 * selector)) & 0xFFu) << (8 * i);
  }
  return result;
}

// ---- multiplication

// Low 32 bits of the product of the low 24 bits of x and y (sign-extended for __mul24).
inline int __mul24(const int x, const int y) {
  using m2u_emu::intrinsics::lane;
  const long long int x24 = lane(static_cast<std::uint32_t>(x), 24, 0, true);
  const long long int y24 = lane(static_cast<std::uint32_t>(y), 24, 0, true);
  return static_cast<int>(static_cast<std::uint32_t>(x24 * y24));
}
inline unsigned int __umul24(const unsigned int x, const unsigned int y) {
  return static_cast<unsigned int>(static_cast<unsigned long long int>(x & 0xFFFFFFu) *
                                   (y & 0xFFFFFFu));
}
inline int __mulhi(const int x, const int y) {
  return static_cast<int>((static_cast<long long int>(x) * y) >> 32);
}
inline unsigned int __umulhi(const unsigned int x, const unsigned int y) {
  return static_cast<unsigned int>((static_cast<unsigned long long int>(x) * y) >> 32);
}
inline long long int __mul64hi(const long long int x, const long long int y) {
  __extension__ typedef __int128 int128;
  return static_cast<long long int>((static_cast<int128>(x) * y) >> 64);
}
inline unsigned long long int __umul64hi(const unsigned long long int x,
                                         const unsigned long long int y) {
  __extension__ typedef unsigned __int128 uint128;
  return static_cast<unsigned long long int>((static_cast<uint128>(x) * y) >> 64);
}

// ---- sums of absolute differences, averages

inline unsigned int __sad(const int x, const int y, const unsigned int z) {
  const unsigned int difference = x > y
                                      ? static_cast<unsigned int>(x) - static_cast<unsigned int>(y)
                                      : static_cast<unsigned int>(y) - static_cast<unsigned int>(x);
  return difference + z;
}
inline unsigned int __usad(const unsigned int x, const unsigned int y, const unsigned int z) {
  return (x > y ? x - y : y - x) + z;
}
inline int __hadd(const int x, const int y) {
  return static_cast<int>((static_cast<long long int>(x) + y) >> 1);
}
inline int __rhadd(const int x, const int y) {
  return static_cast<int>((static_cast<long long int>(x) + y + 1) >> 1);
}
inline unsigned int __uhadd(const unsigned int x, const unsigned int y) {
  return static_cast<unsigned int>((static_cast<unsigned long long int>(x) + y) >> 1);
}
inline unsigned int __urhadd(const unsigned int x, const unsigned int y) {
  return static_cast<unsigned int>((static_cast<unsigned long long int>(x) + y + 1) >> 1);
}

// ---- funnel shifts of the 64-bit value hi:lo

inline unsigned int __funnelshift_l(const unsigned int lo, const unsigned int hi,
                                    const unsigned int shift) {
  const unsigned long long int joined = static_cast<unsigned long long int>(hi) << 32 | lo;
  return static_cast<unsigned int>((joined << (shift & 31u)) >> 32);
}
inline unsigned int __funnelshift_lc(const unsigned int lo, const unsigned int hi,
                                     const unsigned int shift) {
  const unsigned long long int joined = static_cast<unsigned long long int>(hi) << 32 | lo;
  return static_cast<unsigned int>((joined << (shift < 32u ? shift : 32u)) >> 32);
}
inline unsigned int __funnelshift_r(const unsigned int lo, const unsigned int hi,
                                    const unsigned int shift) {
  const unsigned long long int joined = static_cast<unsigned long long int>(hi) << 32 | lo;
  return static_cast<unsigned int>(joined >> (shift & 31u));
}
inline unsigned int __funnelshift_rc(const unsigned int lo, const unsigned int hi,
                                     const unsigned int shift) {
  const unsigned long long int joined = static_cast<unsigned long long int>(hi) << 32 | lo;
  return static_cast<unsigned int>(joined >> (shift < 32u ? shift : 32u));
}

// ---- per-byte SIMD (CUDA has __vabsdiffu4 / __vabsdiffs4; there is no __vabsdiff4)

inline unsigned int __vadd4(const unsigned int a, const unsigned int b) {
  return m2u_emu::intrinsics::per_byte(a, b, [](unsigned int x, unsigned int y) { return x + y; });
}
inline unsigned int __vsub4(const unsigned int a, const unsigned int b) {
  return m2u_emu::intrinsics::per_byte(a, b, [](unsigned int x, unsigned int y) { return x - y; });
}
inline unsigned int __vabsdiffu4(const unsigned int a, const unsigned int b) {
  return m2u_emu::intrinsics::per_byte(
      a, b, [](unsigned int x, unsigned int y) { return x > y ? x - y : y - x; });
}
inline unsigned int __vabsdiffs4(const unsigned int a, const unsigned int b) {
  return m2u_emu::intrinsics::per_byte(a, b, [](unsigned int x, unsigned int y) {
    const int difference =
        m2u_emu::intrinsics::lane(x, 8, 0, true) - m2u_emu::intrinsics::lane(y, 8, 0, true);
    return static_cast<unsigned int>(difference < 0 ? -difference : difference);
  });
}

// ---- dot products (sm_61)

inline int __dp4a(const int srcA, const int srcB, const int c) {
  return static_cast<int>(m2u_emu::intrinsics::dot4(static_cast<std::uint32_t>(srcA),
                                                    static_cast<std::uint32_t>(srcB),
                                                    static_cast<std::uint32_t>(c), true));
}
inline unsigned int __dp4a(const unsigned int srcA, const unsigned int srcB, const unsigned int c) {
  return m2u_emu::intrinsics::dot4(srcA, srcB, c, false);
}
inline int __dp4a(const char4 srcA, const char4 srcB, const int c) {
  return static_cast<int>(m2u_emu::intrinsics::dot4(m2u_emu::intrinsics::pack(srcA),
                                                    m2u_emu::intrinsics::pack(srcB),
                                                    static_cast<std::uint32_t>(c), true));
}
inline unsigned int __dp4a(const uchar4 srcA, const uchar4 srcB, const unsigned int c) {
  return m2u_emu::intrinsics::dot4(m2u_emu::intrinsics::pack(srcA), m2u_emu::intrinsics::pack(srcB),
                                   c, false);
}

inline int __dp2a_lo(const int srcA, const int srcB, const int c) {
  return static_cast<int>(m2u_emu::intrinsics::dot2(static_cast<std::uint32_t>(srcA),
                                                    static_cast<std::uint32_t>(srcB),
                                                    static_cast<std::uint32_t>(c), true, 0));
}
inline unsigned int __dp2a_lo(const unsigned int srcA, const unsigned int srcB,
                              const unsigned int c) {
  return m2u_emu::intrinsics::dot2(srcA, srcB, c, false, 0);
}
inline int __dp2a_lo(const short2 srcA, const char4 srcB, const int c) {
  return static_cast<int>(m2u_emu::intrinsics::dot2(m2u_emu::intrinsics::pack(srcA),
                                                    m2u_emu::intrinsics::pack(srcB),
                                                    static_cast<std::uint32_t>(c), true, 0));
}
inline unsigned int __dp2a_lo(const ushort2 srcA, const uchar4 srcB, const unsigned int c) {
  return m2u_emu::intrinsics::dot2(m2u_emu::intrinsics::pack(srcA), m2u_emu::intrinsics::pack(srcB),
                                   c, false, 0);
}
inline int __dp2a_hi(const int srcA, const int srcB, const int c) {
  return static_cast<int>(m2u_emu::intrinsics::dot2(static_cast<std::uint32_t>(srcA),
                                                    static_cast<std::uint32_t>(srcB),
                                                    static_cast<std::uint32_t>(c), true, 2));
}
inline unsigned int __dp2a_hi(const unsigned int srcA, const unsigned int srcB,
                              const unsigned int c) {
  return m2u_emu::intrinsics::dot2(srcA, srcB, c, false, 2);
}
inline int __dp2a_hi(const short2 srcA, const char4 srcB, const int c) {
  return static_cast<int>(m2u_emu::intrinsics::dot2(m2u_emu::intrinsics::pack(srcA),
                                                    m2u_emu::intrinsics::pack(srcB),
                                                    static_cast<std::uint32_t>(c), true, 2));
}
inline unsigned int __dp2a_hi(const ushort2 srcA, const uchar4 srcB, const unsigned int c) {
  return m2u_emu::intrinsics::dot2(m2u_emu::intrinsics::pack(srcA), m2u_emu::intrinsics::pack(srcB),
                                   c, false, 2);
}

// ---- cache-hinted loads and stores (sm_32): plain memory accesses on the host
// Templates, so non-template overloads such as emu_fp16.h's __half ones win.

template <class T>
inline T __ldg(const T* const ptr) {
  return *ptr;
}
template <class T>
inline T __ldcg(const T* const ptr) {
  return *ptr;
}
template <class T>
inline T __ldca(const T* const ptr) {
  return *ptr;
}
template <class T>
inline T __ldcs(const T* const ptr) {
  return *ptr;
}
template <class T>
inline T __ldlu(const T* const ptr) {
  return *ptr;
}
template <class T>
inline T __ldcv(const T* const ptr) {
  return *ptr;
}
template <class T>
inline void __stwb(T* const ptr, const typename m2u_emu::intrinsics::identity<T>::type value) {
  *ptr = value;
}
template <class T>
inline void __stcg(T* const ptr, const typename m2u_emu::intrinsics::identity<T>::type value) {
  *ptr = value;
}
template <class T>
inline void __stcs(T* const ptr, const typename m2u_emu::intrinsics::identity<T>::type value) {
  *ptr = value;
}
template <class T>
inline void __stwt(T* const ptr, const typename m2u_emu::intrinsics::identity<T>::type value) {
  *ptr = value;
}

#endif  // M2U_KERNELS_EMU_EMU_INTRINSICS_H
