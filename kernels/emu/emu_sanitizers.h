// emu_sanitizers.h - sanitizer hooks used by the fiber scheduler (internal).
//
// AddressSanitizer must be told about every stack switch, or it reports false
// positives on fiber stacks. ThreadSanitizer gets one TSan fiber per CUDA
// thread and release/acquire edges at barriers, so that a missing
// __syncthreads shows up as a data race whatever order the threads ran in.
// Without sanitizers every hook compiles to nothing.
#ifndef M2U_KERNELS_EMU_EMU_SANITIZERS_H
#define M2U_KERNELS_EMU_EMU_SANITIZERS_H

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define M2U_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define M2U_EMU_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define M2U_EMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define M2U_EMU_TSAN 1
#endif
#endif

#if defined(M2U_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(M2U_EMU_TSAN)
#include <sanitizer/tsan_interface.h>
// ThreadSanitizer's dynamic annotations (exported by its runtime).
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
extern "C" void AnnotateIgnoreWritesBegin(const char* file, int line);
extern "C" void AnnotateIgnoreWritesEnd(const char* file, int line);
#endif

namespace m2u_emu {

#if defined(M2U_EMU_ASAN) || defined(M2U_EMU_TSAN)
// Instrumented frames are about twice as large.
constexpr size_t kSanitizerStackScale = 2;
#else
constexpr size_t kSanitizerStackScale = 1;
#endif

inline void sanitizer_start_switch(void** fake_stack_save, const void* bottom, size_t size) {
#if defined(M2U_EMU_ASAN)
  __sanitizer_start_switch_fiber(fake_stack_save, bottom, size);
#else
  (void)fake_stack_save; (void)bottom; (void)size;
#endif
}

inline void sanitizer_finish_switch(void* fake_stack_save, const void** bottom_old,
                                    size_t* size_old) {
#if defined(M2U_EMU_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack_save, bottom_old, size_old);
#else
  (void)fake_stack_save; (void)bottom_old; (void)size_old;
#endif
}

inline void sanitizer_unpoison(void* address, size_t size) {
#if defined(M2U_EMU_ASAN)
  __asan_unpoison_memory_region(address, size);
#else
  (void)address; (void)size;
#endif
}

inline void* sanitizer_current_fiber() {
#if defined(M2U_EMU_TSAN)
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}

inline void* sanitizer_create_fiber() {
#if defined(M2U_EMU_TSAN)
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}

inline void sanitizer_destroy_fiber(void* fiber) {
#if defined(M2U_EMU_TSAN)
  __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}

// A switch is not a synchronisation: only barriers and collectives order
// the threads' memory accesses.
inline void sanitizer_switch_to_fiber(void* fiber) {
#if defined(M2U_EMU_TSAN)
  __tsan_switch_to_fiber(fiber, __tsan_switch_to_fiber_no_sync);
#else
  (void)fiber;
#endif
}

// Happens-before edges for barriers and warp collectives (TSan only).
inline void sanitizer_release(void* tag) {
#if defined(M2U_EMU_TSAN)
  __tsan_release(tag);
#else
  (void)tag;
#endif
}

inline void sanitizer_acquire(void* tag) {
#if defined(M2U_EMU_TSAN)
  __tsan_acquire(tag);
#else
  (void)tag;
#endif
}

// The scheduler's own bookkeeping (thread states it shares with the fibers)
// is not part of the kernel's memory model: hide it from ThreadSanitizer.
class SanitizerIgnoreScope {
 public:
  SanitizerIgnoreScope() {
#if defined(M2U_EMU_TSAN)
    AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
    AnnotateIgnoreWritesBegin(__FILE__, __LINE__);
#endif
  }
  ~SanitizerIgnoreScope() {
#if defined(M2U_EMU_TSAN)
    AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
    AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
  }
  SanitizerIgnoreScope(const SanitizerIgnoreScope&) = delete;
  SanitizerIgnoreScope& operator=(const SanitizerIgnoreScope&) = delete;
};

}  // namespace m2u_emu

#endif  // M2U_KERNELS_EMU_EMU_SANITIZERS_H
