// emu_scheduler.cpp - runs grids of CUDA threads as fibers (see emu_scheduler.h).
#include "emu_scheduler.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <vector_functions.h>

#include "emu_builtins.h"
#include "emu_device_state.h"
#include "emu_fiber.h"
#include "emu_sanitizers.h"

M2U_EMU_BUILTIN_TLS uint3 threadIdx;
M2U_EMU_BUILTIN_TLS uint3 blockIdx;
M2U_EMU_BUILTIN_TLS dim3 blockDim;
M2U_EMU_BUILTIN_TLS dim3 gridDim;

namespace m2u_emu {
namespace {

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr size_t kMaxSharedBytesPerBlock = 48 * 1024;
constexpr unsigned char kSharedPoisonByte = 0xCD;

enum class Wait : uint8_t { kRunnable, kBarrier, kWarp, kExited };

// One CUDA thread of the block being run.
struct ThreadState {
  uint3 index;
  unsigned lane;
  Wait wait;
  // Where the thread waits (barrier or warp collective) and with what.
  const char* op;
  const char* file;
  int line;
  unsigned mask;
  uint64_t value;
  int source_lane;
  // What the released barrier / collective hands back.
  WarpExchange exchange;
  int barrier_count;
};

uint64_t initial_seed() {
  if (const char* env = std::getenv("M2U_EMU_SEED")) {
    return std::strtoull(env, nullptr, 0);
  }
  return 12345;
}

bool initial_printing() {
  const char* env = std::getenv("M2U_EMU_QUIET");
  return !(env && env[0] == '1');
}

// OS threads that run the blocks of a grid: M2U_EMU_BLOCK_THREADS, else 2
// under ThreadSanitizer (so that races between blocks are seen), else 1.
unsigned configured_block_threads() {
  if (const char* env = std::getenv("M2U_EMU_BLOCK_THREADS")) {
    const long value = std::strtol(env, nullptr, 10);
    if (value >= 1) return static_cast<unsigned>(std::min(value, 64L));
  }
#if defined(M2U_EMU_TSAN)
  return 2;
#else
  return 1;
#endif
}

std::atomic<uint64_t> g_seed{initial_seed()};
std::atomic<bool> g_print_faults{initial_printing()};
std::mutex g_fault_mutex;
std::string g_last_fault;

// Every module's static __shared__ bounds (see emu_builtins.h), one entry
// per module; only ever grows.
std::mutex g_static_shared_mutex;
std::vector<StaticSharedBounds (*)()>& static_shared_modules() {
  static std::vector<StaticSharedBounds (*)()> modules;
  return modules;
}

std::atomic<uint64_t> g_threads_run{0}, g_blocks_run{0}, g_barriers{0},
    g_warp_collectives{0}, g_switches{0}, g_grids{0};

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Puts `items` in the order the seed asks for (0: as is, 1: reversed,
// otherwise a Fisher-Yates shuffle keyed by seed, block and phase).
void order_for_seed(std::vector<uint32_t>& items, uint64_t seed, uint64_t key1,
                    uint64_t key2) {
  if (seed == 0) return;
  if (seed == 1) {
    std::reverse(items.begin(), items.end());
    return;
  }
  uint64_t state = seed ^ (key1 * 0xD1B54A32D192ED03ull) ^ (key2 * 0x8CB92BA72F3D8DD7ull);
  for (size_t i = items.size(); i > 1; --i) {
    size_t j = static_cast<size_t>(splitmix64(state) % i);
    std::swap(items[i - 1], items[j]);
  }
}

std::string describe(const uint3& v) {
  std::ostringstream out;
  out << "(" << v.x << "," << v.y << "," << v.z << ")";
  return out.str();
}

std::string describe_site(const ThreadState& t) {
  std::ostringstream out;
  out << t.op << " at " << t.file << ":" << t.line;
  return out.str();
}

// One chunk of a grid, shared by the OS threads that run its blocks: worker
// w runs the blocks at positions w, w + workers, ... of the seed's order.
struct GridChunk {
  const LaunchRequest* request;
  KernelThunk thunk;
  uint64_t seed;
  uint64_t first;                      // linear index of the chunk's first block
  const std::vector<uint32_t>* order;  // offsets from `first`, in the seed's order
  unsigned workers;
  // Relaxed: it must not order the blocks of different workers for TSan.
  std::atomic<bool> faulted{false};
  std::mutex fault_mutex;
  std::string fault_text;  // the first fault reported

  void report_fault(const std::string& text) {
    std::lock_guard<std::mutex> lock(fault_mutex);
    if (faulted.load(std::memory_order_relaxed)) return;
    fault_text = text;
    faulted.store(true, std::memory_order_relaxed);
  }
};

// Everything an OS thread that runs blocks needs; one per OS thread.
class BlockRunner {
 public:
  BlockRunner() : pool_(&BlockRunner::fiber_body, this) {}

  // Runs this worker's share of the chunk's blocks; a fault goes to the chunk.
  void run_share(GridChunk& chunk, unsigned worker);

  // Kernel-side entry points (the caller is the current fiber).
  int barrier(const char* op, const char* file, int line, int predicate);
  WarpExchange warp(const char* op, const char* file, int line, unsigned mask,
                    uint64_t value, int source_lane);
  void yield() { suspend(); }
  [[noreturn]] void fault_from_kernel(const char* file, int line, const char* what);
  unsigned lane() const { return current_->lane; }
  void* dynamic_shared() const { return dynamic_shared_.get(); }
  bool in_kernel() const { return current_ != nullptr; }

 private:
  static void fiber_body(void* self);
  // Every suspension of a CUDA thread: its accesses so far happen before
  // whatever the host does after the block (even if the block faults and the
  // thread never resumes).
  void suspend() {
    sanitizer_release(&exit_tag_);
    pool_.suspend_current();
  }
  bool run_block(const uint3& block_index, uint64_t block_linear);
  bool release_warps();
  bool release_barrier();
  void fault(const std::string& what);
  void abandon_block();
  void prepare_dynamic_shared(size_t bytes);
  void prepare_static_shared();

  FiberPool pool_;
  std::vector<ThreadState> threads_;
  std::vector<uint32_t> thread_order_;  // reused: no allocation per block
  // This OS thread's copy of every module's static __shared__ section.
  std::vector<StaticSharedBounds> static_shared_;
  ThreadState* current_ = nullptr;
  KernelThunk thunk_{};
  const LaunchRequest* request_ = nullptr;
  uint3 block_index_{};
  uint64_t seed_ = 0;
  unsigned warp_count_ = 0;
  bool faulted_ = false;
  std::string fault_text_;
  std::unique_ptr<unsigned char[]> dynamic_shared_;
  size_t dynamic_shared_capacity_ = 0;
  size_t dynamic_shared_bytes_ = 0;
  // ThreadSanitizer happens-before tags: host -> block start, thread exit ->
  // host, and per barrier / per warp collective, alternating between two per
  // phase so that a fast thread's next release cannot reach a slow thread
  // still waking from the previous one.
  char launch_tag_ = 0;
  char exit_tag_ = 0;
  char barrier_tags_[2] = {0, 0};
  unsigned barrier_phase_ = 0;
  char warp_tags_[kMaxThreadsPerBlock / 32][2] = {};
  unsigned warp_phase_[kMaxThreadsPerBlock / 32] = {};
};

BlockRunner& runner() {
  static thread_local BlockRunner instance;
  return instance;
}

void BlockRunner::fiber_body(void* self) {
  BlockRunner* runner = static_cast<BlockRunner*>(self);
  sanitizer_acquire(&runner->launch_tag_);
  runner->thunk_.invoke(runner->thunk_.closure);
  sanitizer_release(&runner->exit_tag_);
  SanitizerIgnoreScope ignore;
  runner->current_->wait = Wait::kExited;
}

void BlockRunner::prepare_dynamic_shared(size_t bytes) {
  // One buffer reused across launches (no allocation per launch in steady
  // state); the part beyond `bytes` is poisoned for AddressSanitizer.
  size_t needed = std::max<size_t>(bytes, 1);
  if (needed > dynamic_shared_capacity_) {
    dynamic_shared_.reset(new unsigned char[needed]);
    dynamic_shared_capacity_ = needed;
  }
  dynamic_shared_bytes_ = bytes;
#if defined(M2U_EMU_ASAN)
  __asan_unpoison_memory_region(dynamic_shared_.get(), dynamic_shared_capacity_);
  __asan_poison_memory_region(dynamic_shared_.get() + bytes, dynamic_shared_capacity_ - bytes);
#endif
}

void BlockRunner::prepare_static_shared() {
  std::lock_guard<std::mutex> lock(g_static_shared_mutex);
  const std::vector<StaticSharedBounds (*)()>& modules = static_shared_modules();
  for (size_t i = static_shared_.size(); i < modules.size(); ++i) {
    static_shared_.push_back(modules[i]());
  }
}

void BlockRunner::run_share(GridChunk& chunk, unsigned worker) {
  SanitizerIgnoreScope ignore;  // the scheduler's accesses are not the kernel's
  const LaunchRequest& request = *chunk.request;
  request_ = &request;
  thunk_ = chunk.thunk;
  seed_ = chunk.seed;
  const dim3 block = request.block;
  const unsigned thread_count = block.x * block.y * block.z;
  warp_count_ = (thread_count + 31) / 32;
  pool_.reserve(thread_count);
  threads_.resize(thread_count);
  for (unsigned z = 0, linear = 0; z < block.z; ++z) {
    for (unsigned y = 0; y < block.y; ++y) {
      for (unsigned x = 0; x < block.x; ++x, ++linear) {
        threads_[linear].index = make_uint3(x, y, z);
        threads_[linear].lane = linear % 32;
      }
    }
  }
  prepare_dynamic_shared(request.dynamic_shared_bytes);
  prepare_static_shared();
  blockDim = block;
  gridDim = request.grid;

  const dim3 grid = request.grid;
  const std::vector<uint32_t>& order = *chunk.order;
  for (size_t position = worker; position < order.size(); position += chunk.workers) {
    if (chunk.faulted.load(std::memory_order_relaxed)) break;
    const uint64_t linear = chunk.first + order[position];
    const uint3 index = make_uint3(static_cast<unsigned>(linear % grid.x),
                                   static_cast<unsigned>((linear / grid.x) % grid.y),
                                   static_cast<unsigned>(linear / (uint64_t(grid.x) * grid.y)));
    if (!run_block(index, linear)) {
      chunk.report_fault(fault_text_);
      break;
    }
  }
  request_ = nullptr;
}

bool BlockRunner::run_block(const uint3& block_index, uint64_t block_linear) {
  block_index_ = block_index;
  blockIdx = block_index;
  faulted_ = false;
  const size_t thread_count = threads_.size();
  for (ThreadState& t : threads_) t.wait = Wait::kRunnable;
  if (dynamic_shared_bytes_ > 0) {
    std::memset(dynamic_shared_.get(), kSharedPoisonByte, dynamic_shared_bytes_);
  }
  for (const StaticSharedBounds& bounds : static_shared_) {
    std::memset(bounds.begin, kSharedPoisonByte, static_cast<size_t>(bounds.end - bounds.begin));
  }
  std::vector<uint32_t>& order = thread_order_;
  sanitizer_release(&launch_tag_);
  for (uint64_t round = 0;; ++round) {
    order.clear();
    for (uint32_t i = 0; i < thread_count; ++i) {
      if (threads_[i].wait == Wait::kRunnable) order.push_back(i);
    }
    if (order.empty()) {
      if (release_warps() || release_barrier()) continue;
      if (faulted_) break;
      bool all_exited = std::all_of(threads_.begin(), threads_.end(),
                                    [](const ThreadState& t) { return t.wait == Wait::kExited; });
      if (all_exited) break;
      fault("every live thread of the block is blocked (deadlock)");
      break;
    }
    order_for_seed(order, seed_, block_linear, round + 1);
    for (uint32_t i : order) {
      ThreadState& t = threads_[i];
      current_ = &t;
      threadIdx = t.index;
      pool_.resume(pool_.fiber(i));
      g_switches.fetch_add(1, std::memory_order_relaxed);
      if (faulted_) break;
    }
    current_ = nullptr;
    if (faulted_) break;
  }
  current_ = nullptr;
  sanitizer_acquire(&exit_tag_);
  if (faulted_) {
    abandon_block();
    return false;
  }
  g_threads_run.fetch_add(thread_count, std::memory_order_relaxed);
  g_blocks_run.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// Releases every warp collective whose lanes have all arrived; reports a
// fault for one that can never complete. Returns whether any was released.
bool BlockRunner::release_warps() {
  bool released = false;
  const unsigned thread_count = static_cast<unsigned>(threads_.size());
  for (unsigned warp = 0; warp < warp_count_ && !faulted_; ++warp) {
    const unsigned base = warp * 32;
    const unsigned lanes_in_warp = std::min(32u, thread_count - base);
    for (unsigned lane = 0; lane < lanes_in_warp && !faulted_; ++lane) {
      ThreadState& caller = threads_[base + lane];
      if (caller.wait != Wait::kWarp) continue;
      const unsigned mask = caller.mask;
      for (unsigned other = 0; other < 32; ++other) {
        if (!(mask >> other & 1u)) continue;
        if (other >= lanes_in_warp) {
          std::ostringstream why;
          why << describe_site(caller) << " by thread " << describe(caller.index)
              << ": mask 0x" << std::hex << mask << std::dec << " names lane " << other
              << ", which does not exist (the block has " << thread_count << " threads)";
          fault(why.str());
          return released;
        }
        const ThreadState& peer = threads_[base + other];
        const bool same_site = peer.wait == Wait::kWarp && peer.line == caller.line &&
                               std::strcmp(peer.file, caller.file) == 0 &&
                               std::strcmp(peer.op, caller.op) == 0;
        if (same_site && peer.mask == mask) continue;
        std::ostringstream why;
        if (peer.wait == Wait::kExited) {
          why << describe_site(caller) << " by thread " << describe(caller.index)
              << ": lane " << other << " of mask 0x" << std::hex << mask << std::dec
              << " (thread " << describe(peer.index) << ") has exited";
        } else if (peer.wait == Wait::kBarrier) {
          why << describe_site(caller) << " by thread " << describe(caller.index)
              << ": lane " << other << " of mask 0x" << std::hex << mask << std::dec
              << " (thread " << describe(peer.index) << ") waits at " << describe_site(peer);
        } else if (!same_site) {
          why << "lanes of one warp wait at different collectives: thread "
              << describe(caller.index) << " at " << describe_site(caller) << ", thread "
              << describe(peer.index) << " at " << describe_site(peer);
        } else {
          why << describe_site(caller) << ": lanes disagree on the mask: thread "
              << describe(caller.index) << " passes 0x" << std::hex << mask << ", thread "
              << std::dec << describe(peer.index) << " passes 0x" << std::hex << peer.mask;
        }
        fault(why.str());
        return released;
      }
      unsigned ballot = 0;
      for (unsigned other = 0; other < 32; ++other) {
        if ((mask >> other & 1u) && threads_[base + other].value != 0) ballot |= 1u << other;
      }
      for (unsigned other = 0; other < 32; ++other) {
        if (!(mask >> other & 1u)) continue;
        ThreadState& member = threads_[base + other];
        if (member.source_lane >= 0) {
          if (!(mask >> member.source_lane & 1u)) {
            std::ostringstream why;
            why << describe_site(member) << " by thread " << describe(member.index)
                << ": source lane " << member.source_lane << " is not in mask 0x" << std::hex
                << mask;
            fault(why.str());
            return released;
          }
          member.exchange.fetched = threads_[base + member.source_lane].value;
        } else {
          member.exchange.fetched = 0;
        }
        member.exchange.ballot = ballot;
      }
      for (unsigned other = 0; other < 32; ++other) {
        if (mask >> other & 1u) threads_[base + other].wait = Wait::kRunnable;
      }
      warp_phase_[warp]++;
      released = true;
      g_warp_collectives.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return released;
}

// Releases the block barrier when every live thread waits at the same one.
bool BlockRunner::release_barrier() {
  if (faulted_) return false;
  const ThreadState* first_waiting = nullptr;
  const ThreadState* first_exited = nullptr;
  for (const ThreadState& t : threads_) {
    if (t.wait == Wait::kBarrier && !first_waiting) first_waiting = &t;
    if (t.wait == Wait::kExited && !first_exited) first_exited = &t;
  }
  if (!first_waiting) return false;
  int count = 0;
  for (const ThreadState& t : threads_) {
    if (t.wait != Wait::kBarrier) continue;
    if (t.line != first_waiting->line || std::strcmp(t.file, first_waiting->file) != 0 ||
        std::strcmp(t.op, first_waiting->op) != 0) {
      fault("threads wait at different barriers (divergent __syncthreads): thread " +
            describe(first_waiting->index) + " at " + describe_site(*first_waiting) +
            ", thread " + describe(t.index) + " at " + describe_site(t));
      return false;
    }
    count += t.value != 0;
  }
  if (first_exited) {
    fault("thread " + describe(first_exited->index) + " has exited while thread " +
          describe(first_waiting->index) + " and others wait at " +
          describe_site(*first_waiting) + " (a barrier inside a divergent branch?)");
    return false;
  }
  barrier_phase_++;
  for (ThreadState& t : threads_) {
    t.barrier_count = count;
    t.wait = Wait::kRunnable;
  }
  g_barriers.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int BlockRunner::barrier(const char* op, const char* file, int line, int predicate) {
  ThreadState* self = current_;
  char* tag;
  {
    SanitizerIgnoreScope ignore;
    self->wait = Wait::kBarrier;
    self->op = op;
    self->file = file;
    self->line = line;
    self->value = predicate != 0;
    tag = &barrier_tags_[barrier_phase_ & 1u];
  }
  sanitizer_release(tag);
  suspend();
  sanitizer_acquire(tag);
  SanitizerIgnoreScope ignore;
  return self->barrier_count;
}

WarpExchange BlockRunner::warp(const char* op, const char* file, int line, unsigned mask,
                               uint64_t value, int source_lane) {
  ThreadState* self = current_;
  if (!(mask >> self->lane & 1u)) {
    // No heap objects may live on a fiber stack that is about to be abandoned.
    char why[160];
    std::snprintf(why, sizeof(why), "%s: calling lane %u is not in mask 0x%x", op, self->lane,
                  mask);
    fault_from_kernel(file, line, why);
  }
  char* tag;
  {
    SanitizerIgnoreScope ignore;
    self->wait = Wait::kWarp;
    self->op = op;
    self->file = file;
    self->line = line;
    self->mask = mask;
    self->value = value;
    self->source_lane = source_lane;
    const unsigned warp = static_cast<unsigned>(self - threads_.data()) / 32;
    tag = &warp_tags_[warp][warp_phase_[warp] & 1u];
  }
  sanitizer_release(tag);
  suspend();
  sanitizer_acquire(tag);
  SanitizerIgnoreScope ignore;
  return self->exchange;
}

void BlockRunner::fault(const std::string& what) {
  if (faulted_) return;
  faulted_ = true;
  std::ostringstream text;
  text << "m2u_emu: fault in kernel '" << request_->kernel_name << "' block "
       << describe(block_index_) << " of grid " << describe(uint3{request_->grid.x,
                                                                  request_->grid.y,
                                                                  request_->grid.z})
       << ", block " << describe(uint3{request_->block.x, request_->block.y, request_->block.z})
       << ": " << what << " [schedule seed " << seed_ << "; rerun with M2U_EMU_SEED=" << seed_
       << "]";
  fault_text_ = text.str();
}

void BlockRunner::fault_from_kernel(const char* file, int line, const char* what) {
  {
    // Scoped so that the text is freed before this fiber is abandoned.
    std::ostringstream where;
    where << what << " (" << file << ":" << line << ", thread " << describe(current_->index)
          << ")";
    fault(where.str());
  }
  suspend();
  std::abort();  // unreachable: a faulted block's fibers are restarted, never resumed
}

void BlockRunner::abandon_block() {
  for (size_t i = 0; i < threads_.size(); ++i) {
    if (threads_[i].wait != Wait::kExited) pool_.restart(pool_.fiber(i));
  }
}

// The OS threads beside the launching one that run blocks, kept for the
// process. ThreadSanitizer must see no ordering between the blocks of two
// workers: a worker takes the chunk under work_mutex_ and reports under
// done_mutex_, and takes work_mutex_ again only once every worker is done
// (so none takes in another's blocks with it).
class BlockThreadPool {
 public:
  ~BlockThreadPool() {
    {
      std::lock_guard<std::mutex> lock(work_mutex_);
      shutdown_ = true;
    }
    work_cv_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }

  // Runs the chunk on the calling thread and chunk.workers - 1 pool threads.
  void run(GridChunk& chunk) {
    std::lock_guard<std::mutex> serial(launch_mutex_);  // one grid at a time
    while (threads_.size() + 1 < chunk.workers) {
      const unsigned worker = static_cast<unsigned>(threads_.size()) + 1;
      threads_.emplace_back([this, worker] { work(worker); });
    }
    {
      std::lock_guard<std::mutex> lock(done_mutex_);
      pending_ = chunk.workers - 1;
    }
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(work_mutex_);
      chunk_ = &chunk;
      workers_ = chunk.workers;
      generation = ++generation_;
    }
    work_cv_.notify_all();
    runner().run_share(chunk, 0);
    std::unique_lock<std::mutex> lock(done_mutex_);
    done_cv_.wait(lock, [&] { return completed_ == generation; });
  }

 private:
  void work(unsigned worker) {
    uint64_t seen = 0;
    for (;;) {
      GridChunk* chunk = nullptr;
      {
        std::unique_lock<std::mutex> lock(work_mutex_);
        work_cv_.wait(lock, [&] { return shutdown_ || generation_ != seen; });
        if (shutdown_) return;
        seen = generation_;
        if (worker < workers_) chunk = chunk_;
      }
      if (!chunk) continue;  // not needed for this grid
      runner().run_share(*chunk, worker);
      std::unique_lock<std::mutex> lock(done_mutex_);
      if (--pending_ == 0) {
        completed_ = seen;
        done_cv_.notify_all();
      }
      done_cv_.wait(lock, [&] { return completed_ >= seen; });
    }
  }

  std::mutex launch_mutex_;
  std::mutex work_mutex_;
  std::condition_variable work_cv_;
  GridChunk* chunk_ = nullptr;
  unsigned workers_ = 0;
  uint64_t generation_ = 0;
  bool shutdown_ = false;
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  unsigned pending_ = 0;      // workers of the current grid still running
  uint64_t completed_ = 0;    // the last generation all workers finished
  std::vector<std::thread> threads_;
};

// Runs the grid in the seed's order (blocks are independent, so any order
// must give the same result), in chunks to bound the memory the order takes.
cudaError_t run_grid(const LaunchRequest& request, KernelThunk thunk) {
  static const unsigned block_threads = configured_block_threads();
  static thread_local std::vector<uint32_t> order;  // reused across launches
  const dim3 grid = request.grid;
  const uint64_t block_count = uint64_t(grid.x) * grid.y * grid.z;
  const uint64_t seed = g_seed.load();
  const uint64_t chunk_blocks = 1u << 16;
  std::string fault_text;
  for (uint64_t first = 0; fault_text.empty() && first < block_count; first += chunk_blocks) {
    const uint64_t count = std::min(chunk_blocks, block_count - first);
    order.resize(count);
    for (uint32_t i = 0; i < count; ++i) order[i] = i;
    order_for_seed(order, seed, first, 0xB10C);
    GridChunk chunk;
    chunk.request = &request;
    chunk.thunk = thunk;
    chunk.seed = seed;
    chunk.first = first;
    chunk.order = &order;
    chunk.workers = static_cast<unsigned>(std::min<uint64_t>(block_threads, count));
    if (chunk.workers == 1) {
      runner().run_share(chunk, 0);
    } else {
      static BlockThreadPool pool;
      pool.run(chunk);
    }
    if (chunk.faulted.load(std::memory_order_relaxed)) fault_text = chunk.fault_text;
  }
  if (fault_text.empty()) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(g_fault_mutex);
    g_last_fault = fault_text;
  }
  if (g_print_faults.load()) std::fprintf(stderr, "%s\n", fault_text.c_str());
  return cudaErrorLaunchFailure;
}

}  // namespace

bool register_static_shared(StaticSharedBounds (*bounds)()) {
  std::lock_guard<std::mutex> lock(g_static_shared_mutex);
  std::vector<StaticSharedBounds (*)()>& modules = static_shared_modules();
  // Every translation unit of a module registers the same section.
  const unsigned char* begin = bounds().begin;
  for (StaticSharedBounds (*known)() : modules) {
    if (known().begin == begin) return true;
  }
  modules.push_back(bounds);
  return true;
}

cudaError_t launch(const LaunchRequest& request, KernelThunk thunk) {
  const cudaError_t sticky = sticky_error();
  if (sticky != cudaSuccess) return sticky;
  cudaError_t status = cudaSuccess;
  const dim3 b = request.block, g = request.grid;
  if (runner().in_kernel()) {
    status = cudaErrorNotSupported;  // no dynamic parallelism
  } else if (b.x == 0 || b.y == 0 || b.z == 0 || g.x == 0 || g.y == 0 || g.z == 0 ||
             b.x > 1024 || b.y > 1024 || b.z > 64 ||
             uint64_t(b.x) * b.y * b.z > kMaxThreadsPerBlock || g.x > 0x7FFFFFFFu ||
             g.y > 65535 || g.z > 65535) {
    status = cudaErrorInvalidConfiguration;
  } else if (request.dynamic_shared_bytes > kMaxSharedBytesPerBlock) {
    status = cudaErrorInvalidValue;
  } else if (!is_valid_stream(request.stream)) {
    status = cudaErrorInvalidResourceHandle;
  }
  if (status != cudaSuccess) {
    record_error(status);
    return status;
  }
  if (is_capturing(request.stream)) {
    if (!thunk.copy) return refuse_during_capture(request.stream);
    const std::shared_ptr<const void> closure = thunk.copy(thunk.closure);
    const std::string name = request.kernel_name ? request.kernel_name : "";
    const LaunchRequest recorded = request;
    const auto invoke = thunk.invoke;
    const auto copy = thunk.copy;
    return record_work(request.stream, [=](cudaStream_t replay) {
      LaunchRequest replayed = recorded;
      replayed.kernel_name = name.c_str();
      replayed.stream = replay;
      return launch(replayed, KernelThunk{invoke, closure.get(), copy});
    });
  }
  g_grids.fetch_add(1, std::memory_order_relaxed);
  status = run_grid(request, thunk);
  if (status != cudaSuccess) set_sticky_error(status);
  return status;
}

void set_schedule_seed(uint64_t seed) { g_seed.store(seed); }
uint64_t schedule_seed() { return g_seed.load(); }

std::string last_fault() {
  std::lock_guard<std::mutex> lock(g_fault_mutex);
  return g_last_fault;
}

void clear_last_fault() {
  std::lock_guard<std::mutex> lock(g_fault_mutex);
  g_last_fault.clear();
}

void set_fault_printing(bool enabled) { g_print_faults.store(enabled); }

Counters counters() {
  return Counters{g_threads_run.load(), g_blocks_run.load(), g_barriers.load(),
                  g_warp_collectives.load(), g_switches.load(), g_grids.load()};
}

int block_barrier(const char* op, const char* file, int line, int predicate) {
  return runner().barrier(op, file, line, predicate);
}

WarpExchange warp_collective(const char* op, const char* file, int line, unsigned mask,
                             uint64_t value, int source_lane) {
  return runner().warp(op, file, line, mask, value, source_lane);
}

void yield_thread() {
  if (runner().in_kernel()) runner().yield();
}

void kernel_fault(const char* file, int line, const char* what) {
  runner().fault_from_kernel(file, line, what);
}

unsigned lane_id() { return runner().lane(); }
void* dynamic_shared_memory() { return runner().dynamic_shared(); }

}  // namespace m2u_emu
