// Device emulation runtime (see cuda_emu.h): fibers and the block scheduler, the pool of OS
// threads that runs independent blocks, and the emulated runtime API (memory, streams, events,
// graph capture).
#include "engine/cuda/emu/cuda_emu.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

// Context switch: hand-written for x86-64 (SysV); ucontext elsewhere, or with
// -DSWS_EMU_USE_UCONTEXT (slow: swapcontext makes a sigprocmask syscall per switch).
#if defined(__x86_64__) && !defined(SWS_EMU_USE_UCONTEXT)
#define SWS_EMU_ASM_SWITCH 1
#include <xmmintrin.h>
#else
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SWS_EMU_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define SWS_EMU_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer) && !defined(SWS_EMU_ASAN)
#define SWS_EMU_ASAN 1
#endif
#if __has_feature(thread_sanitizer) && !defined(SWS_EMU_TSAN)
#define SWS_EMU_TSAN 1
#endif
#endif

#ifdef SWS_EMU_ASAN
extern "C" {
void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom, std::size_t size);
void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old, std::size_t* size_old);
void __asan_unpoison_memory_region(const volatile void* addr, std::size_t size);
}
#endif
#ifdef SWS_EMU_TSAN
extern "C" {
void* __tsan_get_current_fiber();
void* __tsan_create_fiber(unsigned flags);
void __tsan_switch_to_fiber(void* fiber, unsigned flags);
}
#endif

// ---------------------------------------------------------------------------------------------
// x86-64 context switch (SysV): saves rbp, rbx, r12-r15, MXCSR and the x87 control word on the
// current stack, stores rsp into *save_sp, loads load_sp and restores the same from there.
// A new context "returns" into sws_emu_ctx_start, which calls r13(r12).
// ---------------------------------------------------------------------------------------------
#ifdef SWS_EMU_ASM_SWITCH
extern "C" {
__attribute__((visibility("hidden"))) void sws_emu_ctx_switch(void** save_sp, void* load_sp);
__attribute__((visibility("hidden"))) void sws_emu_ctx_start();
}
__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl sws_emu_ctx_switch\n"
    ".hidden sws_emu_ctx_switch\n"
    ".type sws_emu_ctx_switch, @function\n"
    "sws_emu_ctx_switch:\n"
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  subq $16, %rsp\n"
    "  stmxcsr 8(%rsp)\n"
    "  fnstcw (%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr 8(%rsp)\n"
    "  fldcw (%rsp)\n"
    "  addq $16, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n"
    ".size sws_emu_ctx_switch, .-sws_emu_ctx_switch\n"
    ".p2align 4\n"
    ".globl sws_emu_ctx_start\n"
    ".hidden sws_emu_ctx_start\n"
    ".type sws_emu_ctx_start, @function\n"
    "sws_emu_ctx_start:\n"
    "  .cfi_startproc\n"
    "  .cfi_undefined rip\n"
    "  movq %r12, %rdi\n"
    "  callq *%r13\n"
    "  ud2\n"
    "  .cfi_endproc\n"
    ".size sws_emu_ctx_start, .-sws_emu_ctx_start\n");
#endif

namespace sws_emu {

namespace detail {
struct Capture;
}

// Handles. Validity is checked against a registry, so stale or foreign handles give
// cudaErrorInvalidResourceHandle instead of a crash (as far as the allocator allows).
struct CUstream_st {
  unsigned flags = 0;
  bool builtin = false;
  detail::Capture* cap = nullptr;  // capture this stream belongs to
  std::size_t cap_ops = 0;         // operations it recorded into that capture
  std::size_t cap_joined = 0;      // of which joined back into another stream (fork/join)
};
struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point t{};
  detail::Capture* cap = nullptr;  // last recorded inside this (active) capture
  CUstream_st* cap_stream = nullptr;
  std::size_t cap_pos = 0;
};
using OpList = std::vector<std::function<void()>>;
struct CUgraph_st {
  std::shared_ptr<const OpList> ops;
};
struct CUgraphExec_st {
  std::shared_ptr<const OpList> ops;
};

namespace detail {

struct Capture {
  std::shared_ptr<OpList> ops = std::make_shared<OpList>();
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id owner;
  CUstream_st* origin = nullptr;
  bool invalidated = false;
  std::vector<CUstream_st*> streams;
  std::vector<CUevent_st*> events;
};

CUstream_st legacy_stream_object{0, true, nullptr, 0, 0};
CUstream_st per_thread_stream_object{cudaStreamNonBlocking, true, nullptr, 0, 0};

}  // namespace detail

namespace {

using detail::Capture;
using detail::ThreadCtx;

// ---------------------------------------------------------------------------------------------
// Configuration and errors
// ---------------------------------------------------------------------------------------------
unsigned env_unsigned(const char* name, unsigned dflt) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return dflt;
  char* end = nullptr;
  const unsigned long x = std::strtoul(v, &end, 10);
  if (end == v) return dflt;
  return static_cast<unsigned>(std::min<unsigned long>(x, 1u << 30));
}

struct Config {
  std::size_t stack_bytes;
  std::size_t mem_capacity;
  bool abort_on_fault;
};

const Config& config() {
  static const Config c = [] {
    Config k{};
#ifdef SWS_EMU_ASAN
    const unsigned kb = env_unsigned("SWS_EMU_STACK_KB", 256);
#else
    const unsigned kb = env_unsigned("SWS_EMU_STACK_KB", 64);
#endif
    k.stack_bytes = static_cast<std::size_t>(std::max(16u, kb)) * 1024u;
    k.mem_capacity = static_cast<std::size_t>(std::max(1u, env_unsigned("SWS_EMU_MEM_GB", 24))) << 30;
    k.abort_on_fault = env_unsigned("SWS_EMU_ABORT_ON_FAULT", 0) != 0;
    return k;
  }();
  return c;
}

thread_local cudaError_t tls_last_error = cudaSuccess;
thread_local std::uint64_t tls_fault_count = 0;  // failed launches/ops on this host thread
thread_local cudaStreamCaptureMode tls_capture_mode = cudaStreamCaptureModeGlobal;

cudaError_t ret(cudaError_t e) {
  if (e != cudaSuccess) tls_last_error = e;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Fibers
// ---------------------------------------------------------------------------------------------
struct Fiber {
#ifdef SWS_EMU_ASM_SWITCH
  void* sp = nullptr;
#else
  ucontext_t uc{};
#endif
  char* map_base = nullptr;
  std::size_t map_size = 0;
  char* stack_lo = nullptr;  // lowest usable address (for the sanitizers)
  std::size_t stack_size = 0;
  std::uintptr_t stack_top = 0;
#ifdef SWS_EMU_TSAN
  void* tsan = nullptr;
#endif
};

void fiber_entry(void* arg);

#ifndef SWS_EMU_ASM_SWITCH
void fiber_entry_uc(unsigned hi, unsigned lo) {
  fiber_entry(reinterpret_cast<void*>((static_cast<std::uintptr_t>(hi) << 32) | lo));
}
#endif

void init_context(Fiber& f) {
#ifdef SWS_EMU_ASAN
  // A reused stack may still carry the poisoned redzones of abandoned frames.
  __asan_unpoison_memory_region(f.stack_lo, f.stack_size);
#endif
#ifdef SWS_EMU_ASM_SWITCH
  const std::uintptr_t top = f.stack_top & ~static_cast<std::uintptr_t>(15);
  auto* p = reinterpret_cast<std::uint64_t*>(top);
  p[-1] = reinterpret_cast<std::uint64_t>(&sws_emu_ctx_start);  // "return address"
  p[-2] = 0;                                                    // rbp (ends frame chains)
  p[-3] = 0;                                                    // rbx
  p[-4] = reinterpret_cast<std::uint64_t>(&f);                  // r12: argument
  p[-5] = reinterpret_cast<std::uint64_t>(&fiber_entry);        // r13: function
  p[-6] = 0;                                                    // r14
  p[-7] = 0;                                                    // r15
  p[-8] = _mm_getcsr();                                         // MXCSR
  p[-9] = 0x037f;                                               // x87 control word
  f.sp = &p[-9];
#else
  getcontext(&f.uc);
  f.uc.uc_stack.ss_sp = f.stack_lo;
  f.uc.uc_stack.ss_size = static_cast<std::size_t>(f.stack_top - reinterpret_cast<std::uintptr_t>(f.stack_lo));
  f.uc.uc_link = nullptr;
  const auto a = reinterpret_cast<std::uintptr_t>(&f);
  makecontext(&f.uc, reinterpret_cast<void (*)()>(&fiber_entry_uc), 2, static_cast<unsigned>(a >> 32),
              static_cast<unsigned>(a & 0xffffffffu));
#endif
}

inline void switch_to(Fiber& from, Fiber& to) {
#ifdef SWS_EMU_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, to.stack_lo, to.stack_size);
#endif
#ifdef SWS_EMU_TSAN
  __tsan_switch_to_fiber(to.tsan, 0);
#endif
#ifdef SWS_EMU_ASM_SWITCH
  sws_emu_ctx_switch(&from.sp, to.sp);
#else
  swapcontext(&from.uc, &to.uc);
#endif
#ifdef SWS_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
}

// ---------------------------------------------------------------------------------------------
// Per-OS-thread block scheduler
// ---------------------------------------------------------------------------------------------
enum : std::uint8_t { kIdle, kRunning, kAtBarrier, kAtWarp, kDone };

struct EmuThread : ThreadCtx {
  Fiber* fiber = nullptr;
  std::uint64_t val = 0;  // warp op: deposited value
  std::uint64_t out = 0;  // barrier / warp op result
  std::uint32_t mask = 0;
  std::uint8_t src = 0;
  std::uint8_t op = 0;
  std::uint8_t state = kIdle;
};

struct LaunchDesc {
  const char* name;
  dim3 grid;
  dim3 block;
  std::size_t smem;
  void (*invoke)(void*);
  void* body;
  std::uint64_t nblocks;
  std::uint64_t id;
  std::atomic<bool>* failed;
};

struct TrapSignal {};

constexpr unsigned kMaxThreads = 1024;
constexpr unsigned kMaxFaultMessages = 8;

struct Sched {
  Fiber main;
  std::vector<std::unique_ptr<Fiber>> fibers;
  std::vector<Fiber*> free_fibers;
  std::vector<EmuThread> threads = std::vector<EmuThread>(kMaxThreads);
  EmuThread* ready[kMaxThreads] = {};
  unsigned rhead = 0, rcount = 0;
  std::vector<EmuThread*> bar_waiters;
  std::uint32_t present[32] = {};
  std::uint32_t warp_waiting[32] = {};
  std::uint32_t init_present[32] = {};

  const LaunchDesc* launch = nullptr;
  std::uint64_t launch_id = 0;
  dim3 cached_block{0, 0, 0};
  unsigned nthreads = 0, nwarps = 0;
  unsigned next_unstarted = 0, live = 0, bar_arrived = 0, bar_true = 0;
  bool fault = false;
  unsigned fault_messages = 0;

  unsigned char* smem = nullptr;
  std::size_t smem_cap = 0;

  Sched() {
    bar_waiters.reserve(kMaxThreads);
#ifdef SWS_EMU_ASAN
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
      void* lo = nullptr;
      std::size_t size = 0;
      pthread_attr_getstack(&attr, &lo, &size);
      main.stack_lo = static_cast<char*>(lo);
      main.stack_size = size;
      pthread_attr_destroy(&attr);
    }
#endif
#ifdef SWS_EMU_TSAN
    main.tsan = __tsan_get_current_fiber();
#endif
  }
  ~Sched();
  Sched(const Sched&) = delete;
  Sched& operator=(const Sched&) = delete;

  void push_ready(EmuThread* t) {
    ready[(rhead + rcount) & (kMaxThreads - 1)] = t;
    ++rcount;
  }
  EmuThread* pop_ready() {
    if (rcount == 0) return nullptr;
    EmuThread* t = ready[rhead];
    rhead = (rhead + 1) & (kMaxThreads - 1);
    --rcount;
    return t;
  }

  Fiber* new_fiber() {
    static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t usable = (config().stack_bytes + page - 1) / page * page;
    const std::size_t map_size = usable + 2 * page;  // guard page below, colouring slack above
    void* base = mmap(nullptr, map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                      -1, 0);
    if (base == MAP_FAILED) {
      std::fprintf(stderr, "sws_emu: cannot map a %zu-byte fiber stack (%zu fibers on this thread)\n", map_size,
                   fibers.size());
      std::abort();
    }
    mprotect(base, page, PROT_NONE);
    auto f = std::make_unique<Fiber>();
    f->map_base = static_cast<char*>(base);
    f->map_size = map_size;
    f->stack_lo = f->map_base + page;
    f->stack_size = usable + page;
    // Stagger the stack tops so the hot frames of many fibers do not alias in the caches.
    f->stack_top = reinterpret_cast<std::uintptr_t>(f->map_base + map_size) - (fibers.size() % 32) * 128;
#ifdef SWS_EMU_TSAN
    f->tsan = __tsan_create_fiber(0);
#endif
    init_context(*f);
    fibers.push_back(std::move(f));
    return fibers.back().get();
  }
  Fiber* get_fiber() {
    if (!free_fibers.empty()) {
      Fiber* f = free_fibers.back();
      free_fibers.pop_back();
      return f;
    }
    return new_fiber();
  }
};

thread_local Sched* tls_sched = nullptr;
thread_local std::unique_ptr<Sched> tls_sched_owner;

Sched::~Sched() {
  for (auto& f : fibers) munmap(f->map_base, f->map_size);
  std::free(smem);
  if (tls_sched == this) tls_sched = nullptr;
}

Sched& sched() {
  if (tls_sched == nullptr) {
    tls_sched_owner = std::make_unique<Sched>();
    tls_sched = tls_sched_owner.get();
  }
  return *tls_sched;
}

inline EmuThread* current_thread() { return static_cast<EmuThread*>(detail::tls_current); }

[[noreturn]] void outside_kernel(const char* what) {
  std::fprintf(stderr, "sws_emu: %s called outside a kernel\n", what);
  std::abort();
}

void fault(Sched& s, const EmuThread* t, const std::string& what) {
  if (s.fault_messages < kMaxFaultMessages) {
    char where[96] = "";
    if (t != nullptr) {
      std::snprintf(where, sizeof where, " thread (%u,%u,%u)", t->thread_idx.x, t->thread_idx.y, t->thread_idx.z);
    }
    const uint3 b = detail::tls_block_idx;
    std::fprintf(stderr, "sws_emu: kernel '%s' block (%u,%u,%u)%s: %s\n", s.launch ? s.launch->name : "?", b.x, b.y,
                 b.z, where, what.c_str());
    if (++s.fault_messages == kMaxFaultMessages) std::fprintf(stderr, "sws_emu: (further faults not reported)\n");
  }
  if (config().abort_on_fault) std::abort();
  s.fault = true;
}

const char* op_name(unsigned op) {
  switch (op) {
    case detail::kWarpSync: return "__syncwarp";
    case detail::kWarpShfl: return "__shfl*_sync";
    case detail::kWarpBallot: return "__ballot/__any/__all_sync";
    case detail::kWarpMatchAny: return "__match_any_sync";
    case detail::kWarpMatchAll: return "__match_all_sync";
    default: return "__reduce_*_sync";
  }
}

// Suspends the current thread until someone puts it back on the ready queue.
void suspend(Sched& s, EmuThread* me) {
  Fiber* dest;
  if (EmuThread* n = s.pop_ready()) {
    if (n == me) return;
    dest = n->fiber;
  } else if (s.next_unstarted < s.nthreads) {
    dest = s.get_fiber();
  } else {
    dest = &s.main;  // nothing can run: deadlock, reported by run_block
  }
  switch_to(*me->fiber, *dest);
  detail::tls_current = me;
}

std::uint64_t release_barrier(Sched& s) {
  const std::uint64_t r = static_cast<std::uint64_t>(s.bar_true) | (static_cast<std::uint64_t>(s.bar_arrived) << 32);
  for (EmuThread* w : s.bar_waiters) {
    w->out = r;
    w->state = kRunning;
    s.push_ready(w);
  }
  s.bar_waiters.clear();
  s.bar_arrived = 0;
  s.bar_true = 0;
  return r;
}

// Every lane of G (one warp) has arrived at a warp operation: check they agree, compute each
// lane's result, wake them (except `self`, who continues).
void complete_group(Sched& s, unsigned warp, std::uint32_t G, EmuThread* self) {
  EmuThread* base = &s.threads[warp * 32u];
  const EmuThread* first = self != nullptr ? self : base + __builtin_ctz(G);
  const unsigned op = first->op;
  for (std::uint32_t m = G; m != 0; m &= m - 1) {
    const EmuThread* t = base + __builtin_ctz(m);
    if (t->op != op || (t->mask & s.present[warp]) != G) {
      char msg[256];
      std::snprintf(msg, sizeof msg,
                    "warp %u: inconsistent warp operation: lane %u in %s with mask 0x%08x, lane %u in %s with mask "
                    "0x%08x (all lanes named in a mask must use the same operation and mask)",
                    warp, first->lane, op_name(op), first->mask, t->lane, op_name(t->op), t->mask);
      fault(s, self, msg);
      break;
    }
  }
  switch (op) {
    case detail::kWarpSync:
      break;
    case detail::kWarpShfl:
      for (std::uint32_t m = G; m != 0; m &= m - 1) {
        EmuThread* t = base + __builtin_ctz(m);
        t->out = ((G >> t->src) & 1u) != 0 ? base[t->src].val : t->val;
      }
      break;
    case detail::kWarpBallot: {
      std::uint32_t b = 0;
      for (std::uint32_t m = G; m != 0; m &= m - 1) {
        const unsigned l = static_cast<unsigned>(__builtin_ctz(m));
        if (base[l].val != 0) b |= 1u << l;
      }
      const std::uint64_t r = b | (static_cast<std::uint64_t>(G) << 32);
      for (std::uint32_t m = G; m != 0; m &= m - 1) base[__builtin_ctz(m)].out = r;
      break;
    }
    case detail::kWarpMatchAny:
      for (std::uint32_t m = G; m != 0; m &= m - 1) {
        EmuThread* t = base + __builtin_ctz(m);
        std::uint32_t same = 0;
        for (std::uint32_t k = G; k != 0; k &= k - 1) {
          const unsigned l = static_cast<unsigned>(__builtin_ctz(k));
          if (base[l].val == t->val) same |= 1u << l;
        }
        t->out = same;
      }
      break;
    case detail::kWarpMatchAll: {
      const std::uint64_t v = base[__builtin_ctz(G)].val;
      bool all = true;
      for (std::uint32_t m = G; m != 0; m &= m - 1) all = all && base[__builtin_ctz(m)].val == v;
      for (std::uint32_t m = G; m != 0; m &= m - 1) base[__builtin_ctz(m)].out = all ? G : 0u;
      break;
    }
    default: {  // reductions over 32-bit values
      std::uint32_t acc = static_cast<std::uint32_t>(base[__builtin_ctz(G)].val);
      for (std::uint32_t m = G & (G - 1); m != 0; m &= m - 1) {
        const std::uint32_t v = static_cast<std::uint32_t>(base[__builtin_ctz(m)].val);
        switch (op) {
          case detail::kWarpReduceAdd: acc += v; break;
          case detail::kWarpReduceMinS:
            acc = static_cast<std::int32_t>(v) < static_cast<std::int32_t>(acc) ? v : acc;
            break;
          case detail::kWarpReduceMaxS:
            acc = static_cast<std::int32_t>(v) > static_cast<std::int32_t>(acc) ? v : acc;
            break;
          case detail::kWarpReduceMinU: acc = v < acc ? v : acc; break;
          case detail::kWarpReduceMaxU: acc = v > acc ? v : acc; break;
          case detail::kWarpReduceAnd: acc &= v; break;
          case detail::kWarpReduceOr: acc |= v; break;
          default: acc ^= v; break;
        }
      }
      for (std::uint32_t m = G; m != 0; m &= m - 1) base[__builtin_ctz(m)].out = acc;
      break;
    }
  }
  s.warp_waiting[warp] &= ~G;
  for (std::uint32_t m = G; m != 0; m &= m - 1) {
    EmuThread* t = base + __builtin_ctz(m);
    if (t != self) {
      t->state = kRunning;
      s.push_ready(t);
    }
  }
}

// A lane of `warp` exited: groups waiting only for it may now be complete.
void recheck_warp(Sched& s, unsigned warp) {
  const EmuThread* base = &s.threads[warp * 32u];
  std::uint32_t pending = s.warp_waiting[warp];
  while (pending != 0) {
    const EmuThread* t = base + __builtin_ctz(pending);
    const std::uint32_t G = t->mask & s.present[warp];
    if ((s.warp_waiting[warp] & G) == G) complete_group(s, warp, G, nullptr);
    pending &= ~G;
    pending &= s.warp_waiting[warp];
  }
}

void thread_exit(Sched& s, EmuThread* t) {
  t->state = kDone;
  --s.live;
  if (s.bar_arrived != 0 && s.bar_arrived == s.live) release_barrier(s);
  s.present[t->warp] &= ~(1u << t->lane);
  if (s.warp_waiting[t->warp] != 0) recheck_warp(s, t->warp);
}

void run_thread_body(Sched& s, EmuThread* t) {
  try {
    s.launch->invoke(s.launch->body);
  } catch (const TrapSignal&) {
    fault(s, t, "__trap() called");
  } catch (const std::exception& e) {
    fault(s, t, std::string("exception escaped the kernel: ") + e.what());
  } catch (...) {
    fault(s, t, "exception of unknown type escaped the kernel");
  }
}

void fiber_main(Fiber& self) {
  Sched& s = *tls_sched;
  for (;;) {
    while (s.next_unstarted < s.nthreads) {
      EmuThread* t = &s.threads[s.next_unstarted++];
      t->fiber = &self;
      t->state = kRunning;
      detail::tls_current = t;
      run_thread_body(s, t);
      thread_exit(s, t);
    }
    // Park this fiber; it resumes here when reused for a later thread.
    s.free_fibers.push_back(&self);
    EmuThread* n = s.pop_ready();
    switch_to(self, n != nullptr ? *n->fiber : s.main);
  }
}

void fiber_entry(void* arg) {
#ifdef SWS_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
  fiber_main(*static_cast<Fiber*>(arg));
  std::abort();  // not reached
}

void report_deadlock(Sched& s) {
  std::string msg = "deadlock: " + std::to_string(s.live) + " of " + std::to_string(s.nthreads) +
                    " threads can never continue:";
  if (s.bar_arrived != 0) {
    msg += " " + std::to_string(s.bar_arrived) + " wait at __syncthreads (";
    for (std::size_t i = 0; i < s.bar_waiters.size() && i < 4; ++i) {
      const EmuThread* t = s.bar_waiters[i];
      msg += (i ? ", " : "") + std::string("(") + std::to_string(t->thread_idx.x) + "," +
             std::to_string(t->thread_idx.y) + "," + std::to_string(t->thread_idx.z) + ")";
    }
    msg += s.bar_waiters.size() > 4 ? ", ...);" : ");";
  }
  for (unsigned w = 0; w < s.nwarps; ++w) {
    if (s.warp_waiting[w] == 0) continue;
    const EmuThread* t = &s.threads[w * 32u + static_cast<unsigned>(__builtin_ctz(s.warp_waiting[w]))];
    char buf[200];
    std::snprintf(buf, sizeof buf, " warp %u lanes 0x%08x wait in %s (lane %u mask 0x%08x; present lanes 0x%08x);", w,
                  s.warp_waiting[w], op_name(t->op), t->lane, t->mask, s.present[w]);
    msg += buf;
  }
  fault(s, nullptr, msg);
  // Abandon the stuck threads: their fibers restart from scratch when reused.
  for (unsigned i = 0; i < s.nthreads; ++i) {
    EmuThread& t = s.threads[i];
    if (t.state == kAtBarrier || t.state == kAtWarp) {
      init_context(*t.fiber);
      s.free_fibers.push_back(t.fiber);
      t.state = kDone;
    }
  }
  s.live = 0;
}

void run_block(Sched& s, uint3 bidx) {
  detail::tls_block_idx = bidx;
  s.next_unstarted = 0;
  s.live = s.nthreads;
  s.bar_arrived = 0;
  s.bar_true = 0;
  s.bar_waiters.clear();
  s.rhead = 0;
  s.rcount = 0;
  std::memcpy(s.present, s.init_present, sizeof s.present);
  std::memset(s.warp_waiting, 0, sizeof s.warp_waiting);
  switch_to(s.main, *s.get_fiber());
  detail::tls_current = nullptr;
  if (s.live != 0) report_deadlock(s);
}

void configure(Sched& s, const LaunchDesc& d) {
  if (s.launch_id == d.id) return;
  s.launch_id = d.id;
  s.launch = &d;
  s.fault = false;
  s.fault_messages = 0;
  detail::tls_block_dim = d.block;
  detail::tls_grid_dim = d.grid;
  const dim3 b = d.block;
  if (b.x != s.cached_block.x || b.y != s.cached_block.y || b.z != s.cached_block.z) {
    s.cached_block = b;
    s.nthreads = b.x * b.y * b.z;
    s.nwarps = (s.nthreads + 31) / 32;
    std::memset(s.init_present, 0, sizeof s.init_present);
    for (unsigned i = 0; i < s.nthreads; ++i) {
      EmuThread& t = s.threads[i];
      t.thread_idx = uint3{i % b.x, (i / b.x) % b.y, i / (b.x * b.y)};
      t.linear = i;
      t.lane = i % 32;
      t.warp = i / 32;
      s.init_present[i / 32] |= 1u << (i % 32);
    }
  }
  const std::size_t need = std::max<std::size_t>(d.smem, 16);
  if (need > s.smem_cap) {
    std::free(s.smem);
    s.smem_cap = (need + 127) / 128 * 128;
    s.smem = static_cast<unsigned char*>(std::aligned_alloc(128, s.smem_cap));
    if (s.smem == nullptr) {
      std::fprintf(stderr, "sws_emu: cannot allocate %zu bytes of dynamic shared memory\n", s.smem_cap);
      std::abort();
    }
  }
  detail::tls_dyn_smem = s.smem;
}

void execute_range(const LaunchDesc& d, std::uint64_t begin, std::uint64_t end) {
  Sched& s = sched();
  configure(s, d);
  const std::uint64_t gx = d.grid.x, gxy = static_cast<std::uint64_t>(d.grid.x) * d.grid.y;
  for (std::uint64_t b = begin; b < end; ++b) {
    if (d.failed->load(std::memory_order_relaxed)) break;
    run_block(s, uint3{static_cast<unsigned>(b % gx), static_cast<unsigned>((b / gx) % d.grid.y),
                       static_cast<unsigned>(b / gxy)});
    if (s.fault) {
      d.failed->store(true, std::memory_order_relaxed);
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pool of OS threads for independent blocks
// ---------------------------------------------------------------------------------------------
class Pool {
 public:
  explicit Pool(unsigned n) : nthreads_(n) {
    for (unsigned i = 1; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lk(m_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs the launch on the pool (the caller works too); false if the pool is busy with another
  // host thread's launch.
  bool try_run(const LaunchDesc& d) {
    std::unique_lock<std::mutex> run(run_m_, std::try_to_lock);
    if (!run.owns_lock()) return false;
    total_ = d.nblocks;
    chunk_ = std::max<std::uint64_t>(1, d.nblocks / (static_cast<std::uint64_t>(nthreads_) * 16));
    next_.store(0, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = &d;
      busy_ = static_cast<unsigned>(workers_.size());
      ++gen_;
    }
    cv_.notify_all();
    work(d);
    std::unique_lock<std::mutex> lk(m_);
    done_cv_.wait(lk, [this] { return busy_ == 0; });
    job_ = nullptr;
    return true;
  }

 private:
  void loop() {
    std::uint64_t seen = 0;
    for (;;) {
      const LaunchDesc* job;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_.wait(lk, [&] { return stop_ || gen_ != seen; });
        if (stop_) return;
        seen = gen_;
        job = job_;
      }
      work(*job);
      {
        std::lock_guard<std::mutex> lk(m_);
        if (--busy_ == 0) done_cv_.notify_one();
      }
    }
  }
  void work(const LaunchDesc& d) {
    for (;;) {
      const std::uint64_t b = next_.fetch_add(chunk_, std::memory_order_relaxed);
      if (b >= total_) break;
      execute_range(d, b, std::min(b + chunk_, total_));
    }
  }

  unsigned nthreads_;
  std::vector<std::thread> workers_;
  std::mutex run_m_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::uint64_t gen_ = 0;
  const LaunchDesc* job_ = nullptr;
  unsigned busy_ = 0;
  bool stop_ = false;
  std::atomic<std::uint64_t> next_{0};
  std::uint64_t total_ = 0, chunk_ = 1;
};

std::mutex g_pool_mx;
std::shared_ptr<Pool> g_pool;
unsigned g_threads = 0;  // 0: not decided yet

unsigned default_threads() {
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const unsigned n = env_unsigned("SWS_EMU_THREADS", 0);
  return n == 0 ? hw : n;
}

std::shared_ptr<Pool> get_pool() {
  std::lock_guard<std::mutex> lk(g_pool_mx);
  if (g_threads == 0) g_threads = default_threads();
  if (g_threads <= 1) return nullptr;
  if (!g_pool) g_pool = std::make_shared<Pool>(g_threads);
  return g_pool;
}

// Launches with fewer threads than this run on the calling thread only.
constexpr std::uint64_t kParallelMinThreads = 8192;

std::atomic<std::uint64_t> g_launch_ids{0};
std::atomic<std::uint64_t> g_launches{0};
std::atomic<std::uint64_t> g_blocks{0};
std::mutex g_stats_mx;
std::map<std::string, std::uint64_t, std::less<>> g_by_name;

// ---------------------------------------------------------------------------------------------
// Runtime state: allocations, handles, captures
// ---------------------------------------------------------------------------------------------
enum class AllocKind : unsigned char { Device, Host };
struct Alloc {
  std::size_t size;
  AllocKind kind;
};
std::mutex g_mem_mx;
std::map<std::uintptr_t, Alloc> g_allocs;
std::size_t g_device_bytes = 0;

std::mutex g_mx;  // streams, events, graphs, captures
std::unordered_set<const void*> g_handles;
std::vector<Capture*> g_captures;
std::atomic<unsigned> g_ncaptures{0};

CUstream_st* resolve_locked(cudaStream_t s) {
  if (s == nullptr) return &detail::legacy_stream_object;
  if (s == &detail::legacy_stream_object || s == &detail::per_thread_stream_object) return s;
  return g_handles.count(s) != 0 ? s : nullptr;
}
template <class H>
bool valid_locked(H h) {
  return h != nullptr && g_handles.count(h) != 0;
}

bool blocking_capture_active_locked(bool invalidate) {
  bool found = false;
  for (Capture* c : g_captures) {
    for (CUstream_st* st : c->streams) {
      if ((st->flags & cudaStreamNonBlocking) == 0) {
        found = true;
        if (invalidate) c->invalidated = true;
        break;
      }
    }
  }
  return found;
}

// Where work submitted to `s` goes: *out is the stream (capturing or not).
cudaError_t route_locked(cudaStream_t s, CUstream_st** out) {
  CUstream_st* st = resolve_locked(s);
  if (st == nullptr) return cudaErrorInvalidResourceHandle;
  if (st->cap != nullptr) {
    if (st->cap->invalidated) return cudaErrorStreamCaptureInvalidated;
  } else if (st == &detail::legacy_stream_object && g_ncaptures.load(std::memory_order_relaxed) != 0) {
    // The legacy stream synchronises implicitly with blocking streams: illegal while one captures.
    if (blocking_capture_active_locked(true)) return cudaErrorStreamCaptureImplicit;
  }
  *out = st;
  return cudaSuccess;
}

void record_locked(CUstream_st* st, std::function<void()> op) {
  st->cap->ops->push_back(std::move(op));
  ++st->cap_ops;
}

// "Potentially unsafe" calls (cudaMalloc, cudaMemcpy, ...) during a capture, per capture mode.
cudaError_t unsafe_call_check() {
  if (g_ncaptures.load(std::memory_order_acquire) == 0) return cudaSuccess;
  if (tls_capture_mode == cudaStreamCaptureModeRelaxed) return cudaSuccess;
  std::lock_guard<std::mutex> lk(g_mx);
  const std::thread::id me = std::this_thread::get_id();
  bool bad = false;
  for (Capture* c : g_captures) {
    if (c->mode == cudaStreamCaptureModeRelaxed) continue;
    if (c->owner == me || (c->mode == cudaStreamCaptureModeGlobal && tls_capture_mode == cudaStreamCaptureModeGlobal)) {
      c->invalidated = true;
      bad = true;
    }
  }
  return bad ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t run_host_op(const std::function<void()>& op) {
  try {
    op();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sws_emu: exception escaped an enqueued operation: %s\n", e.what());
    ++tls_fault_count;
    return ret(cudaErrorLaunchFailure);
  } catch (...) {
    std::fprintf(stderr, "sws_emu: exception of unknown type escaped an enqueued operation\n");
    ++tls_fault_count;
    return ret(cudaErrorLaunchFailure);
  }
  return cudaSuccess;
}

cudaError_t replay(const OpList& ops) {
  const std::uint64_t faults = tls_fault_count;
  for (const auto& op : ops) (void)run_host_op(op);
  return tls_fault_count != faults ? ret(cudaErrorLaunchFailure) : cudaSuccess;
}

// Device-side ranges must lie within one allocation.
bool in_allocation(const void* p, std::size_t n, bool allow_host) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::lock_guard<std::mutex> lk(g_mem_mx);
  auto it = g_allocs.upper_bound(a);
  if (it == g_allocs.begin()) return false;
  --it;
  return a + n <= it->first + it->second.size && (allow_host || it->second.kind == AllocKind::Device);
}

cudaError_t check_copy(const char* what, void* dst, const void* src, std::size_t n, cudaMemcpyKind kind) {
  if (n == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return cudaErrorInvalidValue;
  const char* bad = nullptr;
  switch (kind) {
    case cudaMemcpyHostToHost:
    case cudaMemcpyDefault: break;
    case cudaMemcpyHostToDevice:
      if (!in_allocation(dst, n, true)) bad = "destination";
      break;
    case cudaMemcpyDeviceToHost:
      if (!in_allocation(src, n, true)) bad = "source";
      break;
    case cudaMemcpyDeviceToDevice:
      if (!in_allocation(dst, n, true)) bad = "destination";
      else if (!in_allocation(src, n, true)) bad = "source";
      break;
    default: return cudaErrorInvalidMemcpyDirection;
  }
  if (bad != nullptr) {
    std::fprintf(stderr, "sws_emu: %s: device %s range of %zu bytes is not inside one allocation\n", what, bad, n);
    return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

cudaError_t check_set(const char* what, void* p, std::size_t n) {
  if (n == 0) return cudaSuccess;
  if (p == nullptr || !in_allocation(p, n, true)) {
    std::fprintf(stderr, "sws_emu: %s: range of %zu bytes is not inside one allocation\n", what, n);
    return cudaErrorInvalidValue;
  }
  return cudaSuccess;
}

cudaError_t host_alloc(void** ptr, std::size_t bytes, AllocKind kind) {
  if (ptr == nullptr) return ret(cudaErrorInvalidValue);
  if (const cudaError_t e = unsafe_call_check()) return ret(e);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  std::lock_guard<std::mutex> lk(g_mem_mx);
  if (kind == AllocKind::Device && (bytes > config().mem_capacity || g_device_bytes > config().mem_capacity - bytes)) {
    return ret(cudaErrorMemoryAllocation);
  }
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (p == nullptr) return ret(cudaErrorMemoryAllocation);
  g_allocs[reinterpret_cast<std::uintptr_t>(p)] = Alloc{bytes, kind};
  if (kind == AllocKind::Device) g_device_bytes += bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t host_free(void* p, AllocKind kind) {
  if (const cudaError_t e = unsafe_call_check()) return ret(e);
  if (p == nullptr) return cudaSuccess;
  std::lock_guard<std::mutex> lk(g_mem_mx);
  auto it = g_allocs.find(reinterpret_cast<std::uintptr_t>(p));
  if (it == g_allocs.end() || it->second.kind != kind) return ret(cudaErrorInvalidValue);
  if (kind == AllocKind::Device) g_device_bytes -= it->second.size;
  g_allocs.erase(it);
  std::free(p);
  return cudaSuccess;
}

}  // namespace

// =============================================================================================
// detail: entry points used by the header
// =============================================================================================
namespace detail {

std::uint64_t block_barrier(int predicate) {
  EmuThread* me = current_thread();
  if (me == nullptr) outside_kernel("__syncthreads");
  Sched& s = *tls_sched;
  ++s.bar_arrived;
  s.bar_true += predicate != 0 ? 1u : 0u;
  if (s.bar_arrived == s.live) return release_barrier(s);
  me->state = kAtBarrier;
  s.bar_waiters.push_back(me);
  suspend(s, me);
  return me->out;
}

std::uint64_t warp_op(unsigned op, unsigned mask, std::uint64_t value, unsigned src_lane) {
  EmuThread* me = current_thread();
  if (me == nullptr) outside_kernel("a warp intrinsic");
  Sched& s = *tls_sched;
  const unsigned w = me->warp;
  const std::uint32_t bit = 1u << me->lane;
  if ((mask & bit) == 0) {
    char msg[128];
    std::snprintf(msg, sizeof msg, "lane %u calls %s with mask 0x%08x, which does not include the lane", me->lane,
                  op_name(op), mask);
    fault(s, me, msg);
    mask |= bit;
  }
  me->op = static_cast<std::uint8_t>(op);
  me->mask = mask;
  me->val = value;
  me->src = static_cast<std::uint8_t>(src_lane);
  const std::uint32_t G = mask & s.present[w];
  if (((s.warp_waiting[w] | bit) & G) == G) {
    complete_group(s, w, G, me);
    return me->out;
  }
  s.warp_waiting[w] |= bit;
  me->state = kAtWarp;
  suspend(s, me);
  return me->out;
}

unsigned warp_present_mask() {
  const EmuThread* me = current_thread();
  if (me == nullptr) outside_kernel("__activemask");
  return tls_sched->present[me->warp];
}

void yield_thread() {
  EmuThread* me = current_thread();
  if (me == nullptr) {
    std::this_thread::yield();
    return;
  }
  Sched& s = *tls_sched;
  if (s.next_unstarted < s.nthreads) {
    s.push_ready(me);
    switch_to(*me->fiber, *s.get_fiber());
    detail::tls_current = me;
    return;
  }
  if (s.rcount == 0) return;
  s.push_ready(me);
  EmuThread* n = s.pop_ready();
  switch_to(*me->fiber, *n->fiber);
  detail::tls_current = me;
}

void trap() {
  if (current_thread() == nullptr) outside_kernel("__trap");
  throw TrapSignal{};
}

int launch_check(const char* name, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream) {
  if (tls_current != nullptr) {
    Sched& s = *tls_sched;
    fault(s, current_thread(), std::string("launches kernel '") + (name ? name : "?") +
                                   "' from device code (dynamic parallelism is not emulated)");
    ret(cudaErrorNotSupported);
    return -1;
  }
  const std::uint64_t threads = static_cast<std::uint64_t>(block.x) * block.y * block.z;
  if (block.x == 0 || block.y == 0 || block.z == 0 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      block.x > 1024 || block.y > 1024 || block.z > 64 || threads > 1024 || grid.x > 0x7fffffffu ||
      grid.y > 65535 || grid.z > 65535) {
    ret(cudaErrorInvalidConfiguration);
    return -1;
  }
  if (smem > 232448) {  // sm_90 opt-in maximum (227 KiB)
    ret(cudaErrorInvalidValue);
    return -1;
  }
  std::lock_guard<std::mutex> lk(g_mx);
  CUstream_st* st = nullptr;
  if (const cudaError_t e = route_locked(stream, &st)) {
    ret(e);
    return -1;
  }
  return st->cap != nullptr ? 1 : 0;
}

void capture_launch(cudaStream_t stream, std::function<void()> op) {
  {
    std::lock_guard<std::mutex> lk(g_mx);
    CUstream_st* st = nullptr;
    if (const cudaError_t e = route_locked(stream, &st)) {
      ret(e);
      return;
    }
    if (st->cap != nullptr) {
      record_locked(st, std::move(op));
      return;
    }
  }
  op();  // the capture ended in between
}

void run_launch(const char* name, dim3 grid, dim3 block, std::size_t smem, void (*invoke)(void*), void* body) {
  std::atomic<bool> failed{false};
  const std::uint64_t nblocks = static_cast<std::uint64_t>(grid.x) * grid.y * grid.z;
  const LaunchDesc d{name,   grid,    block, smem, invoke, body, nblocks, g_launch_ids.fetch_add(1) + 1,
                     &failed};
  const std::uint64_t total_threads = nblocks * block.x * block.y * block.z;
  bool done = false;
  if (nblocks >= 2 && total_threads >= kParallelMinThreads) {
    if (std::shared_ptr<Pool> pool = get_pool()) done = pool->try_run(d);
  }
  if (!done) execute_range(d, 0, nblocks);
  g_launches.fetch_add(1, std::memory_order_relaxed);
  g_blocks.fetch_add(nblocks, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(g_stats_mx);
    const std::string_view key(name != nullptr ? name : "");
    auto it = g_by_name.find(key);
    if (it == g_by_name.end()) it = g_by_name.emplace(std::string(key), 0).first;
    ++it->second;
  }
  if (failed.load()) {
    ++tls_fault_count;
    ret(cudaErrorLaunchFailure);
  }
}

}  // namespace detail

// =============================================================================================
// Runtime API
// =============================================================================================
cudaError_t cudaGetLastError() {
  const cudaError_t e = tls_last_error;
  tls_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return tls_last_error; }

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
#define SWS_EMU_NAME(e) \
  case e: return #e;
    SWS_EMU_NAME(cudaSuccess)
    SWS_EMU_NAME(cudaErrorInvalidValue)
    SWS_EMU_NAME(cudaErrorMemoryAllocation)
    SWS_EMU_NAME(cudaErrorInitializationError)
    SWS_EMU_NAME(cudaErrorInvalidConfiguration)
    SWS_EMU_NAME(cudaErrorInvalidSymbol)
    SWS_EMU_NAME(cudaErrorInvalidDevicePointer)
    SWS_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    SWS_EMU_NAME(cudaErrorInvalidDeviceFunction)
    SWS_EMU_NAME(cudaErrorNoDevice)
    SWS_EMU_NAME(cudaErrorInvalidDevice)
    SWS_EMU_NAME(cudaErrorInvalidResourceHandle)
    SWS_EMU_NAME(cudaErrorIllegalState)
    SWS_EMU_NAME(cudaErrorNotReady)
    SWS_EMU_NAME(cudaErrorIllegalAddress)
    SWS_EMU_NAME(cudaErrorLaunchOutOfResources)
    SWS_EMU_NAME(cudaErrorLaunchFailure)
    SWS_EMU_NAME(cudaErrorNotPermitted)
    SWS_EMU_NAME(cudaErrorNotSupported)
    SWS_EMU_NAME(cudaErrorStreamCaptureUnsupported)
    SWS_EMU_NAME(cudaErrorStreamCaptureInvalidated)
    SWS_EMU_NAME(cudaErrorStreamCaptureMerge)
    SWS_EMU_NAME(cudaErrorStreamCaptureUnmatched)
    SWS_EMU_NAME(cudaErrorStreamCaptureUnjoined)
    SWS_EMU_NAME(cudaErrorStreamCaptureIsolation)
    SWS_EMU_NAME(cudaErrorStreamCaptureImplicit)
    SWS_EMU_NAME(cudaErrorCapturedEvent)
    SWS_EMU_NAME(cudaErrorStreamCaptureWrongThread)
    SWS_EMU_NAME(cudaErrorUnknown)
#undef SWS_EMU_NAME
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidSymbol: return "invalid device symbol";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInvalidDeviceFunction: return "invalid device function";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorLaunchFailure: return "unspecified launch failure (device emulation: see stderr)";
    case cudaErrorNotPermitted: return "operation not permitted";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureMerge: return "operation would result in a merge of separate capture sequences";
    case cudaErrorStreamCaptureUnmatched: return "capture was not ended in the same stream as it began";
    case cudaErrorStreamCaptureUnjoined: return "capturing stream has unjoined work";
    case cudaErrorStreamCaptureIsolation:
      return "dependency created on uncaptured work in another stream";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorCapturedEvent: return "operation not permitted on an event last recorded in a capturing stream";
    case cudaErrorStreamCaptureWrongThread:
      return "attempt to terminate a thread-local capture sequence from another thread";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unknown error";
}

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return ret(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return ret(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : ret(cudaErrorInvalidDevice); }

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return ret(cudaErrorInvalidValue);
  if (device != 0) return ret(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "%s", "SwinScope device emulation (CPU)");
  prop->totalGlobalMem = config().mem_capacity;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->memPitch = 2147483647;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 65536;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  prop->canMapHostMemory = 1;
  prop->concurrentKernels = 1;
  prop->asyncEngineCount = 2;
  prop->unifiedAddressing = 1;
  prop->memoryBusWidth = 5120;
  prop->l2CacheSize = 50 * 1024 * 1024;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->sharedMemPerMultiprocessor = 233472;
  prop->regsPerMultiprocessor = 65536;
  prop->managedMemory = 1;
  prop->cooperativeLaunch = 1;
  prop->sharedMemPerBlockOptin = 232448;
  prop->maxBlocksPerMultiProcessor = 32;
  prop->reservedSharedMemPerBlock = 1024;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (value == nullptr) return ret(cudaErrorInvalidValue);
  if (device != 0) return ret(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = 2147483647; break;
    case cudaDevAttrMaxGridDimY: *value = 65535; break;
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; break;
    case cudaDevAttrTotalConstantMemory: *value = 65536; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMaxRegistersPerBlock: *value = 65536; break;
    case cudaDevAttrMultiProcessorCount: *value = 132; break;
    case cudaDevAttrL2CacheSize: *value = 50 * 1024 * 1024; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = 2048; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = 233472; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = 232448; break;
    default: return ret(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* version) {
  if (version == nullptr) return ret(cudaErrorInvalidValue);
  *version = 13000;
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return ret(cudaErrorInvalidValue);
  *version = 13000;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (const cudaError_t e = unsafe_call_check()) return ret(e);
  return cudaSuccess;
}
cudaError_t cudaDeviceReset() { return cudaSuccess; }

// --- memory ---
cudaError_t cudaMalloc(void** ptr, std::size_t bytes) { return host_alloc(ptr, bytes, AllocKind::Device); }
cudaError_t cudaFree(void* ptr) { return host_free(ptr, AllocKind::Device); }
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) { return host_alloc(ptr, bytes, AllocKind::Host); }
cudaError_t cudaHostAlloc(void** ptr, std::size_t bytes, unsigned) { return host_alloc(ptr, bytes, AllocKind::Host); }
cudaError_t cudaFreeHost(void* ptr) { return host_free(ptr, AllocKind::Host); }

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return ret(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lk(g_mem_mx);
  *total_bytes = config().mem_capacity;
  *free_bytes = config().mem_capacity - std::min(g_device_bytes, config().mem_capacity);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (const cudaError_t e = unsafe_call_check()) return ret(e);
  if (const cudaError_t e = check_copy("cudaMemcpy", dst, src, bytes, kind)) return ret(e);
  if (bytes != 0) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (const cudaError_t e = check_copy("cudaMemcpyAsync", dst, src, bytes, kind)) return ret(e);
  if (bytes == 0) return cudaSuccess;
  return enqueue(stream, [dst, src, bytes] { std::memmove(dst, src, bytes); });
}

cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes) {
  if (const cudaError_t e = unsafe_call_check()) return ret(e);
  if (const cudaError_t e = check_set("cudaMemset", ptr, bytes)) return ret(e);
  if (bytes != 0) std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream) {
  if (const cudaError_t e = check_set("cudaMemsetAsync", ptr, bytes)) return ret(e);
  if (bytes == 0) return cudaSuccess;
  return enqueue(stream, [ptr, value, bytes] { std::memset(ptr, value, bytes); });
}

// --- streams ---
cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

// A new stream or event, registered so later calls can check the handle.
template <typename Handle>
cudaError_t create_handle(Handle** out, unsigned flags) {
  if (out == nullptr) return ret(cudaErrorInvalidValue);
  auto* h = new Handle{};
  h->flags = flags;
  std::lock_guard<std::mutex> lk(g_mx);
  g_handles.insert(h);
  *out = h;
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) { return create_handle(stream, flags); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  std::lock_guard<std::mutex> lk(g_mx);
  if (stream == nullptr || stream->builtin || !valid_locked(stream)) return ret(cudaErrorInvalidResourceHandle);
  if (stream->cap != nullptr) {
    stream->cap->invalidated = true;
    return ret(cudaErrorStreamCaptureUnsupported);
  }
  g_handles.erase(stream);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  std::lock_guard<std::mutex> lk(g_mx);
  CUstream_st* st = resolve_locked(stream);
  if (st == nullptr) return ret(cudaErrorInvalidResourceHandle);
  if (st->cap != nullptr) {
    st->cap->invalidated = true;
    return ret(cudaErrorStreamCaptureUnsupported);
  }
  if (st == &detail::legacy_stream_object && g_ncaptures.load() != 0 && blocking_capture_active_locked(true)) {
    return ret(cudaErrorStreamCaptureImplicit);
  }
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  std::lock_guard<std::mutex> lk(g_mx);
  CUstream_st* st = resolve_locked(stream);
  if (st == nullptr) return ret(cudaErrorInvalidResourceHandle);
  if (st->cap != nullptr) {
    st->cap->invalidated = true;
    return ret(cudaErrorStreamCaptureUnsupported);
  }
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  std::lock_guard<std::mutex> lk(g_mx);
  CUstream_st* st = resolve_locked(stream);
  if (st == nullptr || !valid_locked(event)) return ret(cudaErrorInvalidResourceHandle);
  Capture* c = event->cap;
  if (c == nullptr) return cudaSuccess;  // everything already ran
  if (st->cap == nullptr) {
    if (st == &detail::legacy_stream_object) return ret(cudaErrorStreamCaptureImplicit);
    st->cap = c;  // fork: the stream joins the capture
    st->cap_ops = 0;
    st->cap_joined = 0;
    c->streams.push_back(st);
  } else if (st->cap != c) {
    return ret(cudaErrorStreamCaptureIsolation);
  }
  if (event->cap_stream != nullptr && event->cap_stream != st) {
    event->cap_stream->cap_joined = std::max(event->cap_stream->cap_joined, event->cap_pos);
  }
  return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t stream, void (*fn)(void*), void* user_data) {
  if (fn == nullptr) return ret(cudaErrorInvalidValue);
  return enqueue(stream, [fn, user_data] { fn(user_data); });
}

cudaError_t enqueue(cudaStream_t stream, std::function<void()> op) {
  if (!op) return ret(cudaErrorInvalidValue);
  {
    std::lock_guard<std::mutex> lk(g_mx);
    CUstream_st* st = nullptr;
    if (const cudaError_t e = route_locked(stream, &st)) return ret(e);
    if (st->cap != nullptr) {
      record_locked(st, std::move(op));
      return cudaSuccess;
    }
  }
  return run_host_op(op);
}

// --- events ---
cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) { return create_handle(event, flags); }

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(event)) return ret(cudaErrorInvalidResourceHandle);
  CUstream_st* st = nullptr;
  if (const cudaError_t e = route_locked(stream, &st)) return ret(e);
  if (st->cap != nullptr) {
    event->cap = st->cap;
    event->cap_stream = st;
    event->cap_pos = st->cap_ops + 1;  // the stream's work up to and including this record
    st->cap->events.push_back(event);
    record_locked(st, [event] {
      const auto now = std::chrono::steady_clock::now();
      std::lock_guard<std::mutex> lk2(g_mx);
      if (!valid_locked(event)) return;  // destroyed since the capture
      event->recorded = true;
      event->t = now;
    });
    return cudaSuccess;
  }
  event->recorded = true;
  event->t = std::chrono::steady_clock::now();
  event->cap = nullptr;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(event)) return ret(cudaErrorInvalidResourceHandle);
  if (event->cap != nullptr) return ret(cudaErrorCapturedEvent);
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr) return ret(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(start) || !valid_locked(end)) return ret(cudaErrorInvalidResourceHandle);
  if (start->cap != nullptr || end->cap != nullptr) return ret(cudaErrorCapturedEvent);
  if (((start->flags | end->flags) & cudaEventDisableTiming) != 0) return ret(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded) return ret(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(event)) return ret(cudaErrorInvalidResourceHandle);
  g_handles.erase(event);
  delete event;
  return cudaSuccess;
}

// --- graphs ---
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  std::lock_guard<std::mutex> lk(g_mx);
  CUstream_st* st = resolve_locked(stream);
  if (st == nullptr) return ret(cudaErrorInvalidResourceHandle);
  if (st == &detail::legacy_stream_object) return ret(cudaErrorStreamCaptureUnsupported);
  if (st->cap != nullptr) return ret(cudaErrorIllegalState);
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed) {
    return ret(cudaErrorInvalidValue);
  }
  auto* c = new Capture{};
  c->mode = mode;
  c->owner = std::this_thread::get_id();
  c->origin = st;
  c->streams.push_back(st);
  st->cap = c;
  st->cap_ops = 0;
  st->cap_joined = 0;
  g_captures.push_back(c);
  g_ncaptures.fetch_add(1, std::memory_order_release);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  std::lock_guard<std::mutex> lk(g_mx);
  CUstream_st* st = resolve_locked(stream);
  if (st == nullptr) return ret(cudaErrorInvalidResourceHandle);
  if (graph == nullptr) return ret(cudaErrorInvalidValue);
  *graph = nullptr;
  Capture* c = st->cap;
  if (c == nullptr) return ret(cudaErrorIllegalState);
  if (c->origin != st) return ret(cudaErrorStreamCaptureUnmatched);
  if (c->mode != cudaStreamCaptureModeRelaxed && c->owner != std::this_thread::get_id()) {
    return ret(cudaErrorStreamCaptureWrongThread);
  }
  bool unjoined = false;
  for (CUstream_st* s : c->streams) {
    if (s != st && s->cap_ops > s->cap_joined) unjoined = true;
    s->cap = nullptr;
    s->cap_ops = 0;
    s->cap_joined = 0;
  }
  for (CUevent_st* ev : c->events) {
    if (valid_locked(ev) && ev->cap == c) {
      ev->cap = nullptr;
      ev->cap_stream = nullptr;
    }
  }
  g_captures.erase(std::find(g_captures.begin(), g_captures.end(), c));
  g_ncaptures.fetch_sub(1, std::memory_order_release);
  const bool invalidated = c->invalidated;
  std::shared_ptr<const OpList> ops = std::move(c->ops);
  delete c;
  if (invalidated) return ret(cudaErrorStreamCaptureInvalidated);
  if (unjoined) return ret(cudaErrorStreamCaptureUnjoined);
  auto* g = new CUgraph_st{std::move(ops)};
  g_handles.insert(g);
  *graph = g;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (status == nullptr) return ret(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lk(g_mx);
  CUstream_st* st = resolve_locked(stream);
  if (st == nullptr) return ret(cudaErrorInvalidResourceHandle);
  if (st == &detail::legacy_stream_object && g_ncaptures.load() != 0 && blocking_capture_active_locked(false)) {
    return ret(cudaErrorStreamCaptureImplicit);
  }
  *status = st->cap == nullptr     ? cudaStreamCaptureStatusNone
            : st->cap->invalidated ? cudaStreamCaptureStatusInvalidated
                                   : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode) {
  if (mode == nullptr) return ret(cudaErrorInvalidValue);
  std::swap(*mode, tls_capture_mode);
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (exec == nullptr) return ret(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(graph)) return ret(cudaErrorInvalidResourceHandle);
  auto* x = new CUgraphExec_st{graph->ops};
  g_handles.insert(x);
  *exec = x;
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  std::shared_ptr<const OpList> ops;
  {
    std::lock_guard<std::mutex> lk(g_mx);
    if (!valid_locked(exec)) return ret(cudaErrorInvalidResourceHandle);
    CUstream_st* st = nullptr;
    if (const cudaError_t e = route_locked(stream, &st)) return ret(e);
    ops = exec->ops;
    if (st->cap != nullptr) {
      record_locked(st, [ops] { (void)replay(*ops); });
      return cudaSuccess;
    }
  }
  return replay(*ops);
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(graph)) return ret(cudaErrorInvalidResourceHandle);
  g_handles.erase(graph);
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(exec)) return ret(cudaErrorInvalidResourceHandle);
  g_handles.erase(exec);
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, std::size_t* num_nodes) {
  if (num_nodes == nullptr) return ret(cudaErrorInvalidValue);
  if (nodes != nullptr) return ret(cudaErrorNotSupported);
  std::lock_guard<std::mutex> lk(g_mx);
  if (!valid_locked(graph)) return ret(cudaErrorInvalidResourceHandle);
  *num_nodes = graph->ops->size();
  return cudaSuccess;
}

// --- extensions ---
long long clock64() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::uint64_t launches_executed() { return g_launches.load(); }

std::uint64_t launches_executed(std::string_view kernel_name) {
  std::lock_guard<std::mutex> lk(g_stats_mx);
  auto it = g_by_name.find(kernel_name);
  return it == g_by_name.end() ? 0 : it->second;
}

std::map<std::string, std::uint64_t> launch_counts() {
  std::lock_guard<std::mutex> lk(g_stats_mx);
  return std::map<std::string, std::uint64_t>(g_by_name.begin(), g_by_name.end());
}

std::uint64_t blocks_executed() { return g_blocks.load(); }

void reset_launch_counts() {
  std::lock_guard<std::mutex> lk(g_stats_mx);
  g_by_name.clear();
  g_launches.store(0);
  g_blocks.store(0);
}

unsigned host_threads() {
  std::lock_guard<std::mutex> lk(g_pool_mx);
  if (g_threads == 0) g_threads = default_threads();
  return g_threads;
}

void set_host_threads(unsigned n) {
  std::shared_ptr<Pool> old;
  {
    std::lock_guard<std::mutex> lk(g_pool_mx);
    old = std::move(g_pool);
    g_pool.reset();
    g_threads = n == 0 ? default_threads() : n;
  }
  // `old` is destroyed (its workers joined) when the last launch using it lets go.
}

std::size_t graph_op_count(cudaGraph_t graph) {
  std::lock_guard<std::mutex> lk(g_mx);
  return valid_locked(graph) ? graph->ops->size() : 0;
}

std::size_t device_bytes_in_use() {
  std::lock_guard<std::mutex> lk(g_mem_mx);
  return g_device_bytes;
}

}  // namespace sws_emu
