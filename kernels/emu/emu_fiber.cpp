// emu_fiber.cpp - fcontext fibers with guarded, pooled stacks (see emu_fiber.h).
#include "emu_fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <new>

#include <boost/context/detail/fcontext.hpp>

#include "emu_sanitizers.h"

namespace m2u_emu {

namespace ctx = boost::context::detail;

class Fiber {
 public:
  Fiber(size_t stack_bytes, FiberPool* pool)
      : pool_(pool), page_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
    mapping_bytes_ = stack_bytes + page_;
    void* mapping = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED) throw std::bad_alloc();
    mapping_ = static_cast<char*>(mapping);
    // Guard page at the low end: stacks grow down into it on overflow.
    mprotect(mapping_, page_, PROT_NONE);
    tsan_fiber_ = sanitizer_create_fiber();
    restart();
  }
  ~Fiber() {
    sanitizer_destroy_fiber(tsan_fiber_);
    munmap(mapping_, mapping_bytes_);
  }
  void restart() {
    sanitizer_unpoison(stack_bottom(), stack_size());
    context_ = ctx::make_fcontext(mapping_ + mapping_bytes_, stack_size(),
                                  [](ctx::transfer_t t) { run_forever(t); });
  }
  char* stack_bottom() const { return mapping_ + page_; }
  size_t stack_size() const { return mapping_bytes_ - page_; }

  // Only FiberPool touches these.
  ctx::fcontext_t context_ = nullptr;
  ctx::fcontext_t return_context_ = nullptr;
  void* fake_stack_ = nullptr;
  void* tsan_fiber_ = nullptr;
  FiberPool* pool_;

 private:
  static void run_forever(ctx::transfer_t t);
  size_t page_;
  size_t mapping_bytes_ = 0;
  char* mapping_ = nullptr;
};

namespace {
size_t configured_stack_bytes() {
  size_t kib = kSanitizerStackScale * 256;
  if (const char* env = std::getenv("M2U_EMU_STACK_KIB")) {
    long value = std::strtol(env, nullptr, 10);
    if (value >= 64) kib = static_cast<size_t>(value);
  }
  return kib * 1024;
}
}  // namespace

FiberPool::FiberPool(void (*body)(void*), void* argument)
    : body_(body), argument_(argument), stack_bytes_(configured_stack_bytes()) {
  scheduler_tsan_fiber_ = sanitizer_current_fiber();
}

FiberPool::~FiberPool() = default;

void FiberPool::reserve(size_t count) {
  while (fibers_.size() < count) {
    fibers_.push_back(std::unique_ptr<Fiber>(new Fiber(stack_bytes_, this)));
  }
}

void Fiber::run_forever(ctx::transfer_t t) {
  Fiber* self = static_cast<Fiber*>(t.data);
  FiberPool* pool = self->pool_;
  sanitizer_finish_switch(nullptr, &pool->scheduler_stack_bottom_,
                          &pool->scheduler_stack_size_);
  self->return_context_ = t.fctx;
  for (;;) {
    pool->body_(pool->argument_);
    pool->suspend_current();
  }
}

void FiberPool::resume(Fiber* fiber) {
  current_ = fiber;
  sanitizer_start_switch(&scheduler_fake_stack_, fiber->stack_bottom(),
                         fiber->stack_size());
  sanitizer_switch_to_fiber(fiber->tsan_fiber_);
  ctx::transfer_t t = ctx::jump_fcontext(fiber->context_, fiber);
  sanitizer_finish_switch(scheduler_fake_stack_, nullptr, nullptr);
  fiber->context_ = t.fctx;
  current_ = nullptr;
}

void FiberPool::suspend_current() {
  Fiber* self = current_;
  sanitizer_start_switch(&self->fake_stack_, scheduler_stack_bottom_,
                         scheduler_stack_size_);
  sanitizer_switch_to_fiber(scheduler_tsan_fiber_);
  ctx::transfer_t t = ctx::jump_fcontext(self->return_context_, nullptr);
  sanitizer_finish_switch(self->fake_stack_, &scheduler_stack_bottom_,
                          &scheduler_stack_size_);
  self->return_context_ = t.fctx;
}

void FiberPool::restart(Fiber* fiber) { fiber->restart(); }

}  // namespace m2u_emu
