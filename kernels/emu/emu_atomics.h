// emu_atomics.h - CUDA atomic functions for host execution.
//
// Each atomic first yields to the scheduler (so spin-waits make progress and
// atomics interleave in the seed's order), then performs a real atomic
// read-modify-write with the GCC __atomic builtins (relaxed, as on the GPU):
// correct when blocks run on several OS threads, and seen as atomic, not
// as synchronisation, by ThreadSanitizer. Floating-point and half forms use a CAS loop.
#ifndef M2U_KERNELS_EMU_EMU_ATOMICS_H
#define M2U_KERNELS_EMU_EMU_ATOMICS_H

#include <cuda_fp16.h>

#include <cstdint>
#include <cstring>

#include "emu_scheduler.h"

namespace m2u_emu {

// Applies `update(old)` to *address atomically; returns the old value.
template <typename T, typename Bits, typename Update>
inline T atomic_update(T* address, Update update) {
  static_assert(sizeof(T) == sizeof(Bits), "bit container must match");
  yield_thread();
  Bits* bits_address = reinterpret_cast<Bits*>(address);
  Bits expected = __atomic_load_n(bits_address, __ATOMIC_RELAXED);
  for (;;) {
    T old_value;
    std::memcpy(static_cast<void*>(&old_value), &expected, sizeof(T));
    const T new_value = update(old_value);
    Bits desired;
    std::memcpy(&desired, static_cast<const void*>(&new_value), sizeof(T));
    if (__atomic_compare_exchange_n(bits_address, &expected, desired, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED)) {
      return old_value;
    }
  }
}

}  // namespace m2u_emu

#define M2U_EMU_INTEGER_ATOMICS(T)                                                    \
  inline T atomicAdd(T* address, T value) {                                           \
    ::m2u_emu::yield_thread();                                                        \
    return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);                      \
  }                                                                                   \
  inline T atomicSub(T* address, T value) {                                           \
    ::m2u_emu::yield_thread();                                                        \
    return __atomic_fetch_sub(address, value, __ATOMIC_RELAXED);                      \
  }                                                                                   \
  inline T atomicExch(T* address, T value) {                                          \
    ::m2u_emu::yield_thread();                                                        \
    return __atomic_exchange_n(address, value, __ATOMIC_RELAXED);                     \
  }                                                                                   \
  inline T atomicMin(T* address, T value) {                                           \
    return ::m2u_emu::atomic_update<T, T>(address,                                    \
                                          [value](T old) { return old < value ? old : value; }); \
  }                                                                                   \
  inline T atomicMax(T* address, T value) {                                           \
    return ::m2u_emu::atomic_update<T, T>(address,                                    \
                                          [value](T old) { return old > value ? old : value; }); \
  }                                                                                   \
  inline T atomicAnd(T* address, T value) {                                           \
    ::m2u_emu::yield_thread();                                                        \
    return __atomic_fetch_and(address, value, __ATOMIC_RELAXED);                      \
  }                                                                                   \
  inline T atomicOr(T* address, T value) {                                            \
    ::m2u_emu::yield_thread();                                                        \
    return __atomic_fetch_or(address, value, __ATOMIC_RELAXED);                       \
  }                                                                                   \
  inline T atomicXor(T* address, T value) {                                           \
    ::m2u_emu::yield_thread();                                                        \
    return __atomic_fetch_xor(address, value, __ATOMIC_RELAXED);                      \
  }                                                                                   \
  inline T atomicCAS(T* address, T compare, T value) {                                \
    ::m2u_emu::yield_thread();                                                        \
    __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED,    \
                                __ATOMIC_RELAXED);                                    \
    return compare;                                                                   \
  }

M2U_EMU_INTEGER_ATOMICS(int)
M2U_EMU_INTEGER_ATOMICS(unsigned int)
M2U_EMU_INTEGER_ATOMICS(unsigned long long int)
#undef M2U_EMU_INTEGER_ATOMICS

inline unsigned short int atomicCAS(unsigned short int* address, unsigned short int compare,
                                    unsigned short int value) {
  ::m2u_emu::yield_thread();
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED,
                              __ATOMIC_RELAXED);
  return compare;
}

// CUDA's wrapping increment/decrement: ((old >= limit) ? 0 : old + 1) and
// ((old == 0 || old > limit) ? limit : old - 1).
inline unsigned int atomicInc(unsigned int* address, unsigned int limit) {
  return ::m2u_emu::atomic_update<unsigned, unsigned>(
      address, [limit](unsigned old) { return old >= limit ? 0u : old + 1u; });
}
inline unsigned int atomicDec(unsigned int* address, unsigned int limit) {
  return ::m2u_emu::atomic_update<unsigned, unsigned>(
      address, [limit](unsigned old) { return (old == 0u || old > limit) ? limit : old - 1u; });
}

inline float atomicAdd(float* address, float value) {
  return ::m2u_emu::atomic_update<float, uint32_t>(address,
                                                   [value](float old) { return old + value; });
}
inline double atomicAdd(double* address, double value) {
  return ::m2u_emu::atomic_update<double, uint64_t>(address,
                                                    [value](double old) { return old + value; });
}
inline float atomicExch(float* address, float value) {
  return ::m2u_emu::atomic_update<float, uint32_t>(address, [value](float) { return value; });
}
inline __half atomicAdd(__half* address, __half value) {
  return ::m2u_emu::atomic_update<__half, uint16_t>(address,
                                                    [value](__half old) { return __hadd(old, value); });
}
inline __half2 atomicAdd(__half2* address, __half2 value) {
  return ::m2u_emu::atomic_update<__half2, uint32_t>(
      address, [value](__half2 old) { return __hadd2(old, value); });
}

#endif  // M2U_KERNELS_EMU_EMU_ATOMICS_H
