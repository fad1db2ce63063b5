// emu_sync.h - barriers, warp shuffles and votes for host execution.
//
// Each CUDA name is a macro that records its call site (__FILE__, __LINE__),
// so the scheduler can insist that all threads meet at the same barrier or
// collective. Shuffles follow PTX shfl.sync exactly: the source lane is
// computed per lane from the mode, the width's segment and the clamp, and a
// lane whose source falls outside its segment reads its own value.
#ifndef M2U_KERNELS_EMU_EMU_SYNC_H
#define M2U_KERNELS_EMU_EMU_SYNC_H

#include <cstdint>
#include <cstring>
#include <cstdio>

#include "emu_scheduler.h"

namespace m2u_emu {

enum class ShuffleMode { kIndex, kUp, kDown, kXor };

template <typename T>
inline uint64_t to_bits(const T& value) {
  // Plain bytes (cuda_fp16.h's __half2 is not formally trivially copyable).
  static_assert(sizeof(T) <= sizeof(uint64_t), "shuffled types must be at most 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, static_cast<const void*>(&value), sizeof(T));
  return bits;
}

template <typename T>
inline T from_bits(uint64_t bits) {
  T value;
  std::memcpy(static_cast<void*>(&value), &bits, sizeof(T));
  return value;
}

// Source lane of PTX shfl.sync for `lane` (see the PTX ISA, shfl.sync).
inline int shuffle_source_lane(ShuffleMode mode, unsigned lane, int b, int width) {
  const unsigned segment_mask = static_cast<unsigned>(32 - width) & 31u;  // c[12:8]
  const unsigned clamp = mode == ShuffleMode::kUp ? 0u : 31u;            // c[4:0]
  const unsigned min_lane = lane & segment_mask;
  const unsigned max_lane = min_lane | (clamp & ~segment_mask);
  const unsigned bu = static_cast<unsigned>(b);
  int j = 0;
  bool in_range = false;
  switch (mode) {
    case ShuffleMode::kUp:
      j = static_cast<int>(lane) - static_cast<int>(bu & 31u);
      in_range = j >= static_cast<int>(max_lane);
      break;
    case ShuffleMode::kDown:
      j = static_cast<int>(lane + (bu & 31u));
      in_range = j <= static_cast<int>(max_lane);
      break;
    case ShuffleMode::kXor:
      j = static_cast<int>(lane ^ (bu & 31u));
      in_range = j <= static_cast<int>(max_lane);
      break;
    case ShuffleMode::kIndex:
      j = static_cast<int>(min_lane | (bu & 31u & ~segment_mask));
      in_range = j <= static_cast<int>(max_lane);
      break;
  }
  return in_range ? j : static_cast<int>(lane);
}

template <typename T>
inline T shuffle(const char* op, const char* file, int line, ShuffleMode mode, unsigned mask,
                 T value, int b, int width) {
  if (width < 1 || width > 32 || (width & (width - 1)) != 0) {
    char why[96];
    std::snprintf(why, sizeof(why), "%s: width %d is not a power of two in [1, 32]", op, width);
    kernel_fault(file, line, why);
  }
  const int source = shuffle_source_lane(mode, lane_id(), b, width);
  return from_bits<T>(warp_collective(op, file, line, mask, to_bits(value), source).fetched);
}

template <typename T>
inline T shfl_sync_at(const char* file, int line, unsigned mask, T value, int source_lane,
                      int width = warpSize) {
  return shuffle("__shfl_sync", file, line, ShuffleMode::kIndex, mask, value, source_lane, width);
}
template <typename T>
inline T shfl_up_sync_at(const char* file, int line, unsigned mask, T value, unsigned delta,
                         int width = warpSize) {
  return shuffle("__shfl_up_sync", file, line, ShuffleMode::kUp, mask, value,
                 static_cast<int>(delta), width);
}
template <typename T>
inline T shfl_down_sync_at(const char* file, int line, unsigned mask, T value, unsigned delta,
                           int width = warpSize) {
  return shuffle("__shfl_down_sync", file, line, ShuffleMode::kDown, mask, value,
                 static_cast<int>(delta), width);
}
template <typename T>
inline T shfl_xor_sync_at(const char* file, int line, unsigned mask, T value, int lane_mask,
                          int width = warpSize) {
  return shuffle("__shfl_xor_sync", file, line, ShuffleMode::kXor, mask, value, lane_mask, width);
}

inline unsigned ballot_at(const char* op, const char* file, int line, unsigned mask,
                          int predicate) {
  return warp_collective(op, file, line, mask, predicate != 0, -1).ballot;
}

inline int any_at(const char* file, int line, unsigned mask, int predicate) {
  return ballot_at("__any_sync", file, line, mask, predicate) != 0u;
}

inline int all_at(const char* file, int line, unsigned mask, int predicate) {
  return ballot_at("__all_sync", file, line, mask, predicate) == mask;
}

// __syncwarp() and __syncwarp(mask) through one macro: the site is bound
// first, then called with whatever arguments the kernel gave.
struct SyncwarpSite {
  const char* file;
  int line;
  void operator()(unsigned mask = 0xFFFFFFFFu) const {
    warp_collective("__syncwarp", file, line, mask, 0, -1);
  }
};

}  // namespace m2u_emu

#define __syncthreads() ::m2u_emu::block_barrier("__syncthreads", __FILE__, __LINE__, 0)
#define __syncthreads_count(predicate) \
  ::m2u_emu::block_barrier("__syncthreads_count", __FILE__, __LINE__, (predicate))
#define __syncthreads_and(predicate)                                                 \
  (::m2u_emu::block_barrier("__syncthreads_and", __FILE__, __LINE__, (predicate)) == \
   static_cast<int>(blockDim.x * blockDim.y * blockDim.z))
#define __syncthreads_or(predicate) \
  (::m2u_emu::block_barrier("__syncthreads_or", __FILE__, __LINE__, (predicate)) != 0)

#define __syncwarp(...) ::m2u_emu::SyncwarpSite{__FILE__, __LINE__}(__VA_ARGS__)

#define __shfl_sync(...) ::m2u_emu::shfl_sync_at(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_up_sync(...) ::m2u_emu::shfl_up_sync_at(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_down_sync(...) ::m2u_emu::shfl_down_sync_at(__FILE__, __LINE__, __VA_ARGS__)
#define __shfl_xor_sync(...) ::m2u_emu::shfl_xor_sync_at(__FILE__, __LINE__, __VA_ARGS__)
#define __ballot_sync(mask, predicate) \
  ::m2u_emu::ballot_at("__ballot_sync", __FILE__, __LINE__, (mask), (predicate))
#define __any_sync(mask, predicate) ::m2u_emu::any_at(__FILE__, __LINE__, (mask), (predicate))
#define __all_sync(mask, predicate) ::m2u_emu::all_at(__FILE__, __LINE__, (mask), (predicate))

#define __trap() ::m2u_emu::kernel_fault(__FILE__, __LINE__, "__trap() called")

// Fences order memory between threads; on one OS thread that is a compiler
// barrier plus a chance for the other threads to run.
#define __threadfence() ::m2u_emu::yield_thread()
#define __threadfence_block() ::m2u_emu::yield_thread()
#define __nanosleep(ns) ((void)(ns), ::m2u_emu::yield_thread())

#endif  // M2U_KERNELS_EMU_EMU_SYNC_H
