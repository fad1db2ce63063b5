// emu_fiber.h - pooled fibers for the SIMT scheduler (internal).
//
// A Fiber owns an mmap'd stack with a PROT_NONE guard page below it and runs
// the function given to FiberPool on every resume after it finished the
// previous run. Switches use Boost.Context's jump_fcontext (a few ns) and
// carry the AddressSanitizer / ThreadSanitizer fiber annotations when those
// sanitizers are on. Fibers never migrate between OS threads: a pool belongs
// to the OS thread that created it.
#ifndef M2U_KERNELS_EMU_EMU_FIBER_H
#define M2U_KERNELS_EMU_EMU_FIBER_H

#include <cstddef>
#include <memory>
#include <vector>

namespace m2u_emu {

class Fiber;

class FiberPool {
 public:
  // `body(argument)` is what a fiber runs each time it is (re)started.
  FiberPool(void (*body)(void*), void* argument);
  ~FiberPool();
  FiberPool(const FiberPool&) = delete;
  FiberPool& operator=(const FiberPool&) = delete;

  // Ensures at least `count` fibers exist; returns the i-th.
  void reserve(size_t count);
  Fiber* fiber(size_t index) { return fibers_[index].get(); }

  // Scheduler side: run `fiber` until it suspends or finishes its body.
  void resume(Fiber* fiber);
  // Fiber side: suspend the calling fiber and return to the scheduler.
  void suspend_current();
  // Discards a suspended fiber's stack contents so that its next resume
  // starts the body afresh (after a fault abandoned the block).
  void restart(Fiber* fiber);

  size_t stack_bytes() const { return stack_bytes_; }

 private:
  friend class Fiber;
  void (*body_)(void*);
  void* argument_;
  size_t stack_bytes_;
  std::vector<std::unique_ptr<Fiber>> fibers_;
  Fiber* current_ = nullptr;
  // Scheduler stack as seen by the sanitizers.
  void* scheduler_fake_stack_ = nullptr;
  const void* scheduler_stack_bottom_ = nullptr;
  size_t scheduler_stack_size_ = 0;
  void* scheduler_tsan_fiber_ = nullptr;
};

}  // namespace m2u_emu

#endif  // M2U_KERNELS_EMU_EMU_FIBER_H
