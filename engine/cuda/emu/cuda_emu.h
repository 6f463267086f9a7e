#pragma once
// Device emulation for the CUDA backend (in the spirit of nvcc's old -deviceemu).
//
// With -DSWINSCOPE_CUDA_EMU, engine/cuda/platform.cuh includes this header instead of
// <cuda_runtime.h>, and the project's .cu sources are compiled by the host compiler and run on
// the CPU. The runtime lives in cuda_emu.cpp.
//
// Names
//   * Everything is in namespace ::sws_emu (platform.cuh pulls it into swinscope::cuda_emu with
//     a using-directive), never global, so the emulated cudaMalloc & co. can share a binary
//     with the real libcudart.
//   * CUDA keywords (__global__, __shared__, ...), the built-in variables (threadIdx, blockIdx,
//     blockDim, gridDim) and every double-underscore intrinsic (__syncthreads, __shfl_xor_sync,
//     __expf, __float2int_rn, __ldg, ...) are macros that expand to ::sws_emu::... qualified
//     names, so they work from any namespace. (They must be macros: glibc declares some of those
//     names, e.g. __expf and __logf, itself.)
//   * Non-underscore device functions are plain functions in ::sws_emu, found unqualified from
//     swinscope::cuda_emu (or anywhere with `using namespace ::sws_emu`): atomicAdd & co.,
//     rsqrtf, rsqrt, fdividef, min/max (CUDA's integer/float overloads; NOT macros), clock64,
//     warpSize (a constexpr int, not a macro), the vector types (float4, char4, ...) and
//     make_float4 & co.
//   * C math functions (expf, erff, tanhf, fmaxf, fminf, sqrtf, fabsf, exp2f, ...) are the
//     host's own, from <cmath>, in the global namespace; isnan/isinf/isfinite/signbit are the
//     std:: ones, also reachable through ::sws_emu.
//   * __CUDA_ARCH__ and __CUDACC__ are NOT defined: code under #ifdef __CUDA_ARCH__ takes its
//     host path.
//
// Execution model
//   * Everything is synchronous: a kernel launch, async memcpy/memset, event record or
//     enqueue()d host operation runs to completion before the call returns, unless its stream
//     is capturing a graph, in which case it is recorded and runs at cudaGraphLaunch.
//   * A launch runs its blocks in (z, y, x) order; a block's threads run as fibers on one OS
//     thread (cooperative scheduling: a thread runs until it waits at a barrier or warp
//     operation or exits; threads that never wait cost no context switch of their own).
//     Independent blocks of launches with >= 8192 threads in all are spread over a pool of OS
//     threads (SWS_EMU_THREADS or set_host_threads(); default: hardware threads; 1 = fully
//     serial). Blocks may communicate only through atomics, as on a GPU; float atomics then sum
//     in a run-dependent order (SWS_EMU_THREADS=1 for bit-reproducible float atomics). A block
//     waiting for another block (grid-wide spin locks) is not supported and may hang.
//   * __shared__ is `static thread_local`: one copy per OS thread, hence per block being run.
//     Its contents are left over from the previous block (uninitialised, as on a GPU). Do not
//     write `static __shared__` (it would expand to `static static thread_local`).
//   * Dynamic shared memory: `T* p = SWS_DYNAMIC_SHARED(T);` gives the launch's smem bytes
//     (128-byte aligned, not zeroed, one buffer per OS thread and launch). nvcc has no
//     such macro; the real build needs an equivalent, e.g.
//       extern __shared__ __align__(16) unsigned char sws_dyn_smem_[];
//       #define SWS_DYNAMIC_SHARED(T) (reinterpret_cast<T*>(sws_dyn_smem_))
//   * Barriers: __syncthreads() waits for every thread of the block that has not exited;
//     a thread that returns no longer counts (as on Volta+), so `if (t >= n) return;` before a
//     barrier is fine.
//   * Warps: lane = linear thread id % 32, warp = linear id / 32, linear id = x + y*bx +
//     z*bx*by. A warp operation (__shfl*_sync, __ballot_sync, __any/__all_sync, __syncwarp,
//     __reduce_*_sync, __match_*_sync) completes when every lane of (mask & present) has
//     arrived, present = lanes that exist (partial last warp) and have not exited. All those
//     lanes must use the same operation and the same mask (CUDA's rule); otherwise the launch
//     fails with a diagnostic. Reading a lane outside that set (nonexistent lane of a partial
//     warp, exited lane, lane outside the mask) yields the caller's own value. __activemask()
//     returns the present lanes of the warp (the emulation does not track divergence).
//   * A spin-wait on memory written by another thread of the same block never sees the write
//     unless it yields: __nanosleep() yields to the block's other threads.
//   * Faults (deadlock: threads waiting at a barrier or warp operation that can never complete;
//     inconsistent warp operations; an exception escaping a kernel; __trap(); a launch from
//     inside a kernel) print a diagnostic naming the kernel, block and thread to stderr, stop
//     the launch, and make cudaGetLastError() (and cudaGraphLaunch) return
//     cudaErrorLaunchFailure. SWS_EMU_ABORT_ON_FAULT=1 aborts the process instead.
//   * Fiber stacks: SWS_EMU_STACK_KB (default 64 KiB; 256 KiB under ASan) with a guard page
//     below each, so a stack overflow crashes with SIGSEGV instead of corrupting memory.
//
// Memory: "device" memory is host memory (256-byte aligned). The emulated device has
// SWS_EMU_MEM_GB GiB (default 24): cudaMemGetInfo reports total = that, free = total minus the
// bytes currently cudaMalloc'ed, and cudaMalloc fails beyond it. cudaMemcpy/cudaMemset check
// that the device side of a copy lies inside one cudaMalloc/cudaMallocHost allocation.
//
// Graph capture follows CUDA's rules where cheap: while a capture is active, "potentially
// unsafe" calls (cudaMalloc, cudaFree, cudaMallocHost/cudaHostAlloc/cudaFreeHost, cudaMemcpy,
// cudaMemset, cudaDeviceSynchronize) are refused with cudaErrorStreamCaptureUnsupported and
// invalidate the capture, per the capture mode (Global / ThreadLocal / Relaxed, and
// cudaThreadExchangeStreamCaptureMode); cudaStreamSynchronize/cudaStreamQuery of a capturing
// stream likewise; work on the legacy default stream while a blocking stream captures fails with
// cudaErrorStreamCaptureImplicit. cudaStreamWaitEvent on an event recorded during a capture
// makes the waiting stream join that capture (fork/join); unjoined forked work makes
// cudaStreamEndCapture fail with cudaErrorStreamCaptureUnjoined.
//
// Threads: the runtime API may be called from several host threads; launches from different
// host threads are serialised on the block-thread pool (or run on the caller). The last error
// is per host thread, as in CUDA.

#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

// ---------------------------------------------------------------------------------------------
// Keywords
// ---------------------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static thread_local
#define __align__(n) __attribute__((aligned(n)))
// __restrict__ is understood by g++ itself.

namespace sws_emu {

// ---------------------------------------------------------------------------------------------
// Basic types
// ---------------------------------------------------------------------------------------------
struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

inline constexpr int warpSize = 32;

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidSymbol = 13,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidDeviceFunction = 98,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotPermitted = 800,
  cudaErrorNotSupported = 801,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureMerge = 902,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureUnjoined = 904,
  cudaErrorStreamCaptureIsolation = 905,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorCapturedEvent = 907,
  cudaErrorStreamCaptureWrongThread = 908,
  cudaErrorUnknown = 999
};
using cudaError = cudaError_t;

// Opaque handles (defined in cuda_emu.cpp).
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;
struct CUgraphNode_st;
using cudaStream_t = CUstream_st*;
using cudaEvent_t = CUevent_st*;
using cudaGraph_t = CUgraph_st*;
using cudaGraphExec_t = CUgraphExec_st*;
using cudaGraphNode_t = CUgraphNode_st*;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2
};

enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2
};

enum cudaDeviceAttr {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxBlockDimX = 2,
  cudaDevAttrMaxBlockDimY = 3,
  cudaDevAttrMaxBlockDimZ = 4,
  cudaDevAttrMaxGridDimX = 5,
  cudaDevAttrMaxGridDimY = 6,
  cudaDevAttrMaxGridDimZ = 7,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrTotalConstantMemory = 9,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMaxRegistersPerBlock = 12,
  cudaDevAttrMultiProcessorCount = 16,
  cudaDevAttrL2CacheSize = 38,
  cudaDevAttrMaxThreadsPerMultiProcessor = 39,
  cudaDevAttrComputeCapabilityMajor = 75,
  cudaDevAttrComputeCapabilityMinor = 76,
  cudaDevAttrMaxSharedMemoryPerMultiprocessor = 81,
  cudaDevAttrMaxSharedMemoryPerBlockOptin = 97
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9
};

inline constexpr unsigned cudaEventDefault = 0x00;
inline constexpr unsigned cudaEventBlockingSync = 0x01;
inline constexpr unsigned cudaEventDisableTiming = 0x02;
inline constexpr unsigned cudaStreamDefault = 0x00;
inline constexpr unsigned cudaStreamNonBlocking = 0x01;
inline constexpr unsigned cudaHostAllocDefault = 0x00;
inline constexpr unsigned cudaHostAllocPortable = 0x01;
inline constexpr unsigned cudaHostAllocMapped = 0x02;
inline constexpr unsigned cudaHostAllocWriteCombined = 0x04;

struct cudaDeviceProp {
  char name[256];
  std::size_t totalGlobalMem;
  std::size_t sharedMemPerBlock;
  int regsPerBlock;
  int warpSize;
  std::size_t memPitch;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  std::size_t totalConstMem;
  int major;
  int minor;
  int multiProcessorCount;
  int integrated;
  int canMapHostMemory;
  int concurrentKernels;
  int ECCEnabled;
  int pciBusID;
  int pciDeviceID;
  int pciDomainID;
  int asyncEngineCount;
  int unifiedAddressing;
  int memoryBusWidth;
  int l2CacheSize;
  int maxThreadsPerMultiProcessor;
  std::size_t sharedMemPerMultiprocessor;
  int regsPerMultiprocessor;
  int managedMemory;
  int cooperativeLaunch;
  std::size_t sharedMemPerBlockOptin;
  int maxBlocksPerMultiProcessor;
  std::size_t reservedSharedMemPerBlock;
};

// Special streams (CUDA defines these as macros; here they are constants in ::sws_emu).
namespace detail {
extern CUstream_st legacy_stream_object;
extern CUstream_st per_thread_stream_object;
}  // namespace detail
inline constexpr cudaStream_t cudaStreamLegacy = &detail::legacy_stream_object;
inline constexpr cudaStream_t cudaStreamPerThread = &detail::per_thread_stream_object;

// ---------------------------------------------------------------------------------------------
// Vector types (CUDA's sizes and alignments; aggregates, so `__shared__ float4 s[..]` is cheap)
// ---------------------------------------------------------------------------------------------
#define SWS_EMU_VEC2(T, N, A) \
  struct alignas(A) N##2 {    \
    T x, y;                   \
  };
#define SWS_EMU_VEC3(T, N) \
  struct N##3 {            \
    T x, y, z;             \
  };
#define SWS_EMU_VEC4(T, N, A) \
  struct alignas(A) N##4 {    \
    T x, y, z, w;             \
  };
SWS_EMU_VEC2(signed char, char, 2)
SWS_EMU_VEC4(signed char, char, 4)
SWS_EMU_VEC2(unsigned char, uchar, 2)
SWS_EMU_VEC4(unsigned char, uchar, 4)
SWS_EMU_VEC2(short, short, 4)
SWS_EMU_VEC4(short, short, 8)
SWS_EMU_VEC2(unsigned short, ushort, 4)
SWS_EMU_VEC4(unsigned short, ushort, 8)
SWS_EMU_VEC2(int, int, 8)
SWS_EMU_VEC3(int, int)
SWS_EMU_VEC4(int, int, 16)
SWS_EMU_VEC2(unsigned, uint, 8)
SWS_EMU_VEC4(unsigned, uint, 16)
SWS_EMU_VEC2(float, float, 8)
SWS_EMU_VEC3(float, float)
SWS_EMU_VEC4(float, float, 16)
SWS_EMU_VEC2(double, double, 16)
SWS_EMU_VEC2(long long, longlong, 16)
SWS_EMU_VEC2(unsigned long long, ulonglong, 16)
#undef SWS_EMU_VEC2
#undef SWS_EMU_VEC3
#undef SWS_EMU_VEC4

inline char2 make_char2(signed char x, signed char y) { return {x, y}; }
inline char4 make_char4(signed char x, signed char y, signed char z, signed char w) { return {x, y, z, w}; }
inline uchar2 make_uchar2(unsigned char x, unsigned char y) { return {x, y}; }
inline uchar4 make_uchar4(unsigned char x, unsigned char y, unsigned char z, unsigned char w) { return {x, y, z, w}; }
inline short2 make_short2(short x, short y) { return {x, y}; }
inline short4 make_short4(short x, short y, short z, short w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int3 make_int3(int x, int y, int z) { return {x, y, z}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint2 make_uint2(unsigned x, unsigned y) { return {x, y}; }
inline uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float3 make_float3(float x, float y, float z) { return {x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }
inline longlong2 make_longlong2(long long x, long long y) { return {x, y}; }
inline ulonglong2 make_ulonglong2(unsigned long long x, unsigned long long y) { return {x, y}; }

// ---------------------------------------------------------------------------------------------
// Per-OS-thread execution state (hot: read by threadIdx & co.)
// ---------------------------------------------------------------------------------------------
namespace detail {

struct ThreadCtx {
  uint3 thread_idx;
  unsigned lane;    // linear id % 32
  unsigned warp;    // linear id / 32
  unsigned linear;  // x + y*bx + z*bx*by
};

// The emulated thread running on this OS thread (nullptr outside kernels).
inline thread_local ThreadCtx* tls_current = nullptr;
inline thread_local uint3 tls_block_idx{0, 0, 0};
inline thread_local dim3 tls_block_dim{1, 1, 1};
inline thread_local dim3 tls_grid_dim{1, 1, 1};
inline thread_local unsigned char* tls_dyn_smem = nullptr;

// Warp operation codes (cuda_emu.cpp).
enum WarpOp : unsigned {
  kWarpSync = 0,
  kWarpShfl,
  kWarpBallot,
  kWarpReduceAdd,
  kWarpReduceMinS,
  kWarpReduceMaxS,
  kWarpReduceMinU,
  kWarpReduceMaxU,
  kWarpReduceAnd,
  kWarpReduceOr,
  kWarpReduceXor,
  kWarpMatchAny,
  kWarpMatchAll
};

// Runtime entry points used by the inline functions below.
std::uint64_t warp_op(unsigned op, unsigned mask, std::uint64_t value, unsigned src_lane);
std::uint64_t block_barrier(int predicate);  // returns (count of true predicates) | (participants << 32)
unsigned warp_present_mask();
void yield_thread();
[[noreturn]] void trap();

template <class T>
inline std::uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>,
                "warp shuffles take trivially copyable values of at most 8 bytes");
  std::uint64_t u = 0;
  std::memcpy(&u, &v, sizeof(T));
  return u;
}
template <class T>
inline T from_bits(std::uint64_t u) {
  T v;
  std::memcpy(&v, &u, sizeof(T));
  return v;
}

// Launch plumbing (cuda_emu.cpp).
// Validates the configuration and the stream; returns -1 (rejected, last error set),
// 0 (run now) or 1 (the stream is capturing: record).
int launch_check(const char* name, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream);
void run_launch(const char* name, dim3 grid, dim3 block, std::size_t smem, void (*invoke)(void*), void* body);
void capture_launch(cudaStream_t stream, std::function<void()> op);

template <class B>
void invoke_body(void* p) {
  (*static_cast<B*>(p))();
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Device intrinsics. Reached through the __xxx macros at the end of this header.
// ---------------------------------------------------------------------------------------------
namespace intrin {

// --- synchronisation ---
inline void syncthreads() { (void)detail::block_barrier(0); }
inline int syncthreads_count(int p) { return static_cast<int>(detail::block_barrier(p) & 0xffffffffu); }
inline int syncthreads_and(int p) {
  const std::uint64_t r = detail::block_barrier(p);
  return (r & 0xffffffffu) == (r >> 32);
}
inline int syncthreads_or(int p) { return (detail::block_barrier(p) & 0xffffffffu) != 0; }
inline void syncwarp(unsigned mask = 0xffffffffu) { (void)detail::warp_op(detail::kWarpSync, mask, 0, 0); }
inline void threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline unsigned activemask() { return detail::warp_present_mask(); }
inline void nanosleep(unsigned) { detail::yield_thread(); }
[[noreturn]] inline void trap() { detail::trap(); }

// --- shuffles (PTX shfl.sync lane arithmetic; width a power of two <= 32) ---
template <class T>
inline T shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
  const unsigned lane = detail::tls_current->lane;
  const unsigned seg = static_cast<unsigned>(warpSize - width) & 31u;
  const unsigned j = (lane & seg) | (static_cast<unsigned>(src_lane) & ~seg & 31u);
  return detail::from_bits<T>(detail::warp_op(detail::kWarpShfl, mask, detail::to_bits(var), j));
}
template <class T>
inline T shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  const unsigned lane = detail::tls_current->lane;
  const unsigned seg = static_cast<unsigned>(warpSize - width) & 31u;
  const int j = static_cast<int>(lane) - static_cast<int>(delta & 31u);
  const unsigned src = j >= static_cast<int>(lane & seg) ? static_cast<unsigned>(j) : lane;
  return detail::from_bits<T>(detail::warp_op(detail::kWarpShfl, mask, detail::to_bits(var), src));
}
template <class T>
inline T shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  const unsigned lane = detail::tls_current->lane;
  const unsigned seg = static_cast<unsigned>(warpSize - width) & 31u;
  const unsigned max_lane = (lane & seg) | (31u & ~seg);
  const unsigned j = lane + (delta & 31u);
  return detail::from_bits<T>(
      detail::warp_op(detail::kWarpShfl, mask, detail::to_bits(var), j <= max_lane ? j : lane));
}
template <class T>
inline T shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
  const unsigned lane = detail::tls_current->lane;
  const unsigned seg = static_cast<unsigned>(warpSize - width) & 31u;
  const unsigned max_lane = (lane & seg) | (31u & ~seg);
  const unsigned j = lane ^ (static_cast<unsigned>(lane_mask) & 31u);
  return detail::from_bits<T>(
      detail::warp_op(detail::kWarpShfl, mask, detail::to_bits(var), j <= max_lane ? j : lane));
}

// --- votes, reductions, matches ---
inline unsigned ballot_sync(unsigned mask, int pred) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpBallot, mask, pred != 0, 0));
}
inline int any_sync(unsigned mask, int pred) { return ballot_sync(mask, pred) != 0; }
inline int all_sync(unsigned mask, int pred) {
  // ballot over the participating lanes == the participating lanes
  const std::uint64_t r = detail::warp_op(detail::kWarpBallot, mask, pred != 0, 0);
  return static_cast<unsigned>(r) == static_cast<unsigned>(r >> 32);
}
inline unsigned reduce_add_sync(unsigned mask, unsigned v) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpReduceAdd, mask, v, 0));
}
inline int reduce_add_sync(unsigned mask, int v) {
  return static_cast<int>(detail::warp_op(detail::kWarpReduceAdd, mask, static_cast<unsigned>(v), 0));
}
inline unsigned reduce_min_sync(unsigned mask, unsigned v) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpReduceMinU, mask, v, 0));
}
inline int reduce_min_sync(unsigned mask, int v) {
  return static_cast<int>(detail::warp_op(detail::kWarpReduceMinS, mask, static_cast<unsigned>(v), 0));
}
inline unsigned reduce_max_sync(unsigned mask, unsigned v) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpReduceMaxU, mask, v, 0));
}
inline int reduce_max_sync(unsigned mask, int v) {
  return static_cast<int>(detail::warp_op(detail::kWarpReduceMaxS, mask, static_cast<unsigned>(v), 0));
}
inline unsigned reduce_and_sync(unsigned mask, unsigned v) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpReduceAnd, mask, v, 0));
}
inline unsigned reduce_or_sync(unsigned mask, unsigned v) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpReduceOr, mask, v, 0));
}
inline unsigned reduce_xor_sync(unsigned mask, unsigned v) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpReduceXor, mask, v, 0));
}
template <class T>
inline unsigned match_any_sync(unsigned mask, T v) {
  return static_cast<unsigned>(detail::warp_op(detail::kWarpMatchAny, mask, detail::to_bits(v), 0));
}
template <class T>
inline unsigned match_all_sync(unsigned mask, T v, int* pred) {
  const unsigned r = static_cast<unsigned>(detail::warp_op(detail::kWarpMatchAll, mask, detail::to_bits(v), 0));
  *pred = r != 0;
  return r;
}

// --- cache-hinted loads/stores ---
template <class T>
inline T ldg(const T* p) {
  return *p;
}
template <class T>
struct same_type {
  using type = T;
};
template <class T>
inline void st(T* p, typename same_type<T>::type v) {
  *p = v;
}

// --- float math (host library semantics) ---
inline float expf_(float x) { return std::exp(x); }
inline float exp10f_(float x) { return std::pow(10.0f, x); }
inline float logf_(float x) { return std::log(x); }
inline float log2f_(float x) { return std::log2(x); }
inline float log10f_(float x) { return std::log10(x); }
inline float powf_(float x, float y) { return std::pow(x, y); }
inline float sinf_(float x) { return std::sin(x); }
inline float cosf_(float x) { return std::cos(x); }
inline float tanf_(float x) { return std::tan(x); }
inline void sincosf_(float x, float* s, float* c) {
  *s = std::sin(x);
  *c = std::cos(x);
}
inline float fdividef_(float a, float b) { return a / b; }
inline float frcp_rn(float x) { return 1.0f / x; }
inline float fsqrt_rn(float x) { return std::sqrt(x); }
inline float frsqrt_rn(float x) { return 1.0f / std::sqrt(x); }
inline float fmul_rn(float a, float b) { return a * b; }
inline float fadd_rn(float a, float b) { return a + b; }
inline float fsub_rn(float a, float b) { return a - b; }
inline float fdiv_rn(float a, float b) { return a / b; }
inline float fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }  // NaN -> 0

// Float -> int conversions saturate like the GPU: out of range -> INT_MIN/INT_MAX, NaN -> 0.
inline int sat_int(float r) {
  if (std::isnan(r)) return 0;
  if (r >= 2147483648.0f) return INT_MAX;
  if (r <= -2147483648.0f) return INT_MIN;
  return static_cast<int>(r);
}
inline unsigned sat_uint(float r) {
  if (std::isnan(r) || r <= 0.0f) return 0u;
  if (r >= 4294967296.0f) return UINT_MAX;
  return static_cast<unsigned>(r);
}
inline long long sat_ll(float r) {
  if (std::isnan(r)) return LLONG_MIN;  // as the GPU: NaN -> 0x8000000000000000
  if (r >= 9223372036854775808.0f) return LLONG_MAX;
  if (r <= -9223372036854775808.0f) return LLONG_MIN;
  return static_cast<long long>(r);
}
inline int float2int_rn(float x) { return sat_int(std::nearbyint(x)); }  // half to even
inline int float2int_rz(float x) { return sat_int(std::trunc(x)); }
inline int float2int_rd(float x) { return sat_int(std::floor(x)); }
inline int float2int_ru(float x) { return sat_int(std::ceil(x)); }
inline unsigned float2uint_rn(float x) { return sat_uint(std::nearbyint(x)); }
inline unsigned float2uint_rz(float x) { return sat_uint(std::trunc(x)); }
inline long long float2ll_rn(float x) { return sat_ll(std::nearbyint(x)); }
inline float int2float_rn(int x) { return static_cast<float>(x); }
inline float uint2float_rn(unsigned x) { return static_cast<float>(x); }
inline float ll2float_rn(long long x) { return static_cast<float>(x); }
inline float double2float_rn(double x) { return static_cast<float>(x); }
inline int double2int_rn(double x) {
  if (std::isnan(x)) return 0;
  const double r = std::nearbyint(x);
  if (r >= 2147483647.0) return INT_MAX;
  if (r <= -2147483648.0) return INT_MIN;
  return static_cast<int>(r);
}

// --- bit reinterpretation and integer intrinsics ---
inline int float_as_int(float x) { return detail::from_bits<int>(detail::to_bits(x)); }
inline unsigned float_as_uint(float x) { return detail::from_bits<unsigned>(detail::to_bits(x)); }
inline float int_as_float(int x) { return detail::from_bits<float>(detail::to_bits(x)); }
inline float uint_as_float(unsigned x) { return detail::from_bits<float>(detail::to_bits(x)); }
inline long long double_as_longlong(double x) { return detail::from_bits<long long>(detail::to_bits(x)); }
inline double longlong_as_double(long long x) { return detail::from_bits<double>(detail::to_bits(x)); }
inline int popc(unsigned x) { return __builtin_popcount(x); }
inline int popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int ffs(int x) { return __builtin_ffs(x); }
inline int ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  return __builtin_bswap32(x);
}
inline unsigned long long brevll(unsigned long long x) {
  return (static_cast<unsigned long long>(brev(static_cast<unsigned>(x))) << 32) | brev(static_cast<unsigned>(x >> 32));
}
inline unsigned umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((static_cast<unsigned long long>(a) * b) >> 32);
}
inline int mulhi(int a, int b) { return static_cast<int>((static_cast<long long>(a) * b) >> 32); }
__extension__ typedef __int128 int128_t;
__extension__ typedef unsigned __int128 uint128_t;
inline unsigned long long umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<uint128_t>(a) * b) >> 64);
}
inline long long mul64hi(long long a, long long b) {
  return static_cast<long long>((static_cast<int128_t>(a) * b) >> 64);
}

}  // namespace intrin

// ---------------------------------------------------------------------------------------------
// Device functions without underscores (found unqualified through the using-directive)
// ---------------------------------------------------------------------------------------------
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float fdividef(float a, float b) { return a / b; }
using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;

// CUDA's min/max overload set (functions, never macros).
#define SWS_EMU_MINMAX(R, A, B)                                                              \
  inline R min(A a, B b) { return static_cast<R>(a) < static_cast<R>(b) ? static_cast<R>(a) : static_cast<R>(b); } \
  inline R max(A a, B b) { return static_cast<R>(a) > static_cast<R>(b) ? static_cast<R>(a) : static_cast<R>(b); }
SWS_EMU_MINMAX(int, int, int)
SWS_EMU_MINMAX(unsigned, unsigned, unsigned)
SWS_EMU_MINMAX(unsigned, int, unsigned)
SWS_EMU_MINMAX(unsigned, unsigned, int)
SWS_EMU_MINMAX(long, long, long)
SWS_EMU_MINMAX(unsigned long, unsigned long, unsigned long)
SWS_EMU_MINMAX(unsigned long, long, unsigned long)
SWS_EMU_MINMAX(unsigned long, unsigned long, long)
SWS_EMU_MINMAX(long long, long long, long long)
SWS_EMU_MINMAX(unsigned long long, unsigned long long, unsigned long long)
SWS_EMU_MINMAX(unsigned long long, long long, unsigned long long)
SWS_EMU_MINMAX(unsigned long long, unsigned long long, long long)
#undef SWS_EMU_MINMAX
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline double min(float a, double b) { return std::fmin(static_cast<double>(a), b); }
inline double max(float a, double b) { return std::fmax(static_cast<double>(a), b); }
inline double min(double a, float b) { return std::fmin(a, static_cast<double>(b)); }
inline double max(double a, float b) { return std::fmax(a, static_cast<double>(b)); }

long long clock64();  // steady-clock nanoseconds

// --- atomics (real atomics: blocks may run on several OS threads) ---
namespace detail {
template <class T>
inline T atomic_fetch_add_cas(T* p, T v) {
  T old;
  __atomic_load(p, &old, __ATOMIC_RELAXED);
  T desired;
  do {
    desired = old + v;
  } while (!__atomic_compare_exchange(p, &old, &desired, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
  return old;
}
template <class T, class F>
inline T atomic_update(T* p, F f) {
  T old;
  __atomic_load(p, &old, __ATOMIC_RELAXED);
  T desired;
  do {
    desired = f(old);
  } while (!__atomic_compare_exchange(p, &old, &desired, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
  return old;
}
}  // namespace detail

inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
}
inline float atomicAdd(float* p, float v) { return detail::atomic_fetch_add_cas(p, v); }
inline double atomicAdd(double* p, double v) { return detail::atomic_fetch_add_cas(p, v); }
inline int atomicSub(int* p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicSub(unsigned* p, unsigned v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
inline unsigned long long atomicExch(unsigned long long* p, unsigned long long v) {
  return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
inline float atomicExch(float* p, float v) {
  float old;
  __atomic_exchange(p, &v, &old, __ATOMIC_SEQ_CST);
  return old;
}
#define SWS_EMU_ATOMIC_MINMAX(T)                                                                      \
  inline T atomicMax(T* p, T v) { return detail::atomic_update(p, [v](T o) { return o < v ? v : o; }); } \
  inline T atomicMin(T* p, T v) { return detail::atomic_update(p, [v](T o) { return v < o ? v : o; }); }
SWS_EMU_ATOMIC_MINMAX(int)
SWS_EMU_ATOMIC_MINMAX(unsigned)
SWS_EMU_ATOMIC_MINMAX(long long)
SWS_EMU_ATOMIC_MINMAX(unsigned long long)
#undef SWS_EMU_ATOMIC_MINMAX
#define SWS_EMU_ATOMIC_BITS(T)                                                                              \
  inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }                     \
  inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }                       \
  inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); }                     \
  inline T atomicCAS(T* p, T compare, T v) {                                                               \
    __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                \
    return compare;                                                                                        \
  }
SWS_EMU_ATOMIC_BITS(int)
SWS_EMU_ATOMIC_BITS(unsigned)
SWS_EMU_ATOMIC_BITS(unsigned long long)
#undef SWS_EMU_ATOMIC_BITS
inline unsigned short atomicCAS(unsigned short* p, unsigned short compare, unsigned short v) {
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;
}
// ((old >= limit) ? 0 : old + 1) and (((old == 0) || (old > limit)) ? limit : old - 1), as CUDA.
inline unsigned atomicInc(unsigned* p, unsigned limit) {
  return detail::atomic_update(p, [limit](unsigned o) { return o >= limit ? 0u : o + 1u; });
}
inline unsigned atomicDec(unsigned* p, unsigned limit) {
  return detail::atomic_update(p, [limit](unsigned o) { return (o == 0u || o > limit) ? limit : o - 1u; });
}

// ---------------------------------------------------------------------------------------------
// Runtime API (host memory stands in for device memory; everything runs synchronously)
// ---------------------------------------------------------------------------------------------
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t err);
const char* cudaGetErrorString(cudaError_t err);

cudaError_t cudaGetDeviceCount(int* count);  // 1
cudaError_t cudaGetDevice(int* device);      // 0
cudaError_t cudaSetDevice(int device);       // only 0
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
cudaError_t cudaDriverGetVersion(int* version);   // 13000
cudaError_t cudaRuntimeGetVersion(int* version);  // 13000
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaDeviceReset();

cudaError_t cudaMalloc(void** ptr, std::size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes);
cudaError_t cudaHostAlloc(void** ptr, std::size_t bytes, unsigned flags);
cudaError_t cudaFreeHost(void* ptr);
template <class T>
cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
template <class T>
cudaError_t cudaMallocHost(T** ptr, std::size_t bytes) {
  return cudaMallocHost(reinterpret_cast<void**>(ptr), bytes);
}
template <class T>
cudaError_t cudaHostAlloc(T** ptr, std::size_t bytes, unsigned flags) {
  return cudaHostAlloc(reinterpret_cast<void**>(ptr), bytes, flags);
}
cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* ptr, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* ptr, int value, std::size_t bytes, cudaStream_t stream = nullptr);
// __constant__ / __device__ variables are ordinary globals.
template <class T>
cudaError_t cudaMemcpyToSymbol(T& symbol, const void* src, std::size_t bytes, std::size_t offset = 0,
                               cudaMemcpyKind = cudaMemcpyHostToDevice) {
  if (offset + bytes > sizeof(T)) return cudaErrorInvalidValue;
  std::memcpy(reinterpret_cast<unsigned char*>(&symbol) + offset, src, bytes);
  return cudaSuccess;
}
template <class T>
cudaError_t cudaMemcpyFromSymbol(void* dst, const T& symbol, std::size_t bytes, std::size_t offset = 0,
                                 cudaMemcpyKind = cudaMemcpyDeviceToHost) {
  if (offset + bytes > sizeof(T)) return cudaErrorInvalidValue;
  std::memcpy(dst, reinterpret_cast<const unsigned char*>(&symbol) + offset, bytes);
  return cudaSuccess;
}
template <class F>
cudaError_t cudaFuncSetAttribute(F*, cudaFuncAttribute, int) {
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamQuery(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags = 0);
cudaError_t cudaLaunchHostFunc(cudaStream_t stream, void (*fn)(void*), void* user_data);

cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t event);

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status);
cudaError_t cudaThreadExchangeStreamCaptureMode(cudaStreamCaptureMode* mode);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
// Only the count is supported: `nodes` must be nullptr (one node per captured operation).
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, std::size_t* num_nodes);

// ---------------------------------------------------------------------------------------------
// Emulation extensions
// ---------------------------------------------------------------------------------------------
// Runs `op` now, or records it into the graph if `stream` is capturing (replayed, in order with
// the stream's kernels, by cudaGraphLaunch). For emulated libraries (cuBLASLt). An exception
// escaping `op` is reported and turned into cudaErrorLaunchFailure.
cudaError_t enqueue(cudaStream_t stream, std::function<void()> op);

// Launch a kernel body: body() runs the kernel for the current emulated thread. Validates the
// configuration (cudaErrorInvalidConfiguration / cudaErrorInvalidValue for smem > 227 KiB, as
// the last error, nothing run), then runs it now, or records it if `stream` is capturing.
// body is invoked concurrently from several OS threads: it must be callable as const.
template <class F>
void launch_kernel(const char* name, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, F&& body) {
  using B = std::remove_cv_t<std::remove_reference_t<F>>;
  const int route = detail::launch_check(name, grid, block, smem, stream);
  if (route < 0) return;
  if (route == 0) {
    detail::run_launch(name, grid, block, smem, &detail::invoke_body<const B>,
                       const_cast<void*>(static_cast<const void*>(std::addressof(body))));
    return;
  }
  detail::capture_launch(stream, [name, grid, block, smem, fn = B(std::forward<F>(body))]() {
    detail::run_launch(name, grid, block, smem, &detail::invoke_body<const B>,
                       const_cast<void*>(static_cast<const void*>(std::addressof(fn))));
  });
}

// Statistics of executed launches (counted when a launch runs, so a graph replay counts again).
std::uint64_t launches_executed();
std::uint64_t launches_executed(std::string_view kernel_name);
std::map<std::string, std::uint64_t> launch_counts();
std::uint64_t blocks_executed();
void reset_launch_counts();

// OS threads running blocks of one launch (SWS_EMU_THREADS; 0 = hardware threads).
unsigned host_threads();
void set_host_threads(unsigned n);

std::size_t graph_op_count(cudaGraph_t graph);  // operations recorded in a captured graph
std::size_t device_bytes_in_use();              // bytes currently cudaMalloc'ed

}  // namespace sws_emu

// ---------------------------------------------------------------------------------------------
// Built-in variables and intrinsics (macros: they must work from any namespace)
// ---------------------------------------------------------------------------------------------
#define threadIdx (static_cast<const ::sws_emu::uint3&>(::sws_emu::detail::tls_current->thread_idx))
#define blockIdx (static_cast<const ::sws_emu::uint3&>(::sws_emu::detail::tls_block_idx))
#define blockDim (static_cast<const ::sws_emu::dim3&>(::sws_emu::detail::tls_block_dim))
#define gridDim (static_cast<const ::sws_emu::dim3&>(::sws_emu::detail::tls_grid_dim))

// T* to the launch's dynamic shared memory (smem bytes; 128-byte aligned; not zeroed).
#define SWS_DYNAMIC_SHARED(type) (reinterpret_cast<type*>(::sws_emu::detail::tls_dyn_smem))

#define __syncthreads ::sws_emu::intrin::syncthreads
#define __syncthreads_count ::sws_emu::intrin::syncthreads_count
#define __syncthreads_and ::sws_emu::intrin::syncthreads_and
#define __syncthreads_or ::sws_emu::intrin::syncthreads_or
#define __syncwarp ::sws_emu::intrin::syncwarp
#define __threadfence ::sws_emu::intrin::threadfence
#define __threadfence_block ::sws_emu::intrin::threadfence_block
#define __threadfence_system ::sws_emu::intrin::threadfence_system
#define __activemask ::sws_emu::intrin::activemask
#define __nanosleep ::sws_emu::intrin::nanosleep
#define __trap ::sws_emu::intrin::trap
#define __shfl_sync ::sws_emu::intrin::shfl_sync
#define __shfl_up_sync ::sws_emu::intrin::shfl_up_sync
#define __shfl_down_sync ::sws_emu::intrin::shfl_down_sync
#define __shfl_xor_sync ::sws_emu::intrin::shfl_xor_sync
#define __ballot_sync ::sws_emu::intrin::ballot_sync
#define __any_sync ::sws_emu::intrin::any_sync
#define __all_sync ::sws_emu::intrin::all_sync
#define __reduce_add_sync ::sws_emu::intrin::reduce_add_sync
#define __reduce_min_sync ::sws_emu::intrin::reduce_min_sync
#define __reduce_max_sync ::sws_emu::intrin::reduce_max_sync
#define __reduce_and_sync ::sws_emu::intrin::reduce_and_sync
#define __reduce_or_sync ::sws_emu::intrin::reduce_or_sync
#define __reduce_xor_sync ::sws_emu::intrin::reduce_xor_sync
#define __match_any_sync ::sws_emu::intrin::match_any_sync
#define __match_all_sync ::sws_emu::intrin::match_all_sync

#define __ldg ::sws_emu::intrin::ldg
#define __ldcg ::sws_emu::intrin::ldg
#define __ldca ::sws_emu::intrin::ldg
#define __ldcs ::sws_emu::intrin::ldg
#define __ldlu ::sws_emu::intrin::ldg
#define __ldcv ::sws_emu::intrin::ldg
#define __stcg ::sws_emu::intrin::st
#define __stcs ::sws_emu::intrin::st
#define __stwb ::sws_emu::intrin::st
#define __stwt ::sws_emu::intrin::st

#define __expf ::sws_emu::intrin::expf_
#define __exp10f ::sws_emu::intrin::exp10f_
#define __logf ::sws_emu::intrin::logf_
#define __log2f ::sws_emu::intrin::log2f_
#define __log10f ::sws_emu::intrin::log10f_
#define __powf ::sws_emu::intrin::powf_
#define __sinf ::sws_emu::intrin::sinf_
#define __cosf ::sws_emu::intrin::cosf_
#define __tanf ::sws_emu::intrin::tanf_
#define __sincosf ::sws_emu::intrin::sincosf_
#define __fdividef ::sws_emu::intrin::fdividef_
#define __frcp_rn ::sws_emu::intrin::frcp_rn
#define __fsqrt_rn ::sws_emu::intrin::fsqrt_rn
#define __frsqrt_rn ::sws_emu::intrin::frsqrt_rn
#define __fmul_rn ::sws_emu::intrin::fmul_rn
#define __fadd_rn ::sws_emu::intrin::fadd_rn
#define __fsub_rn ::sws_emu::intrin::fsub_rn
#define __fdiv_rn ::sws_emu::intrin::fdiv_rn
#define __fmaf_rn ::sws_emu::intrin::fmaf_rn
#define __saturatef ::sws_emu::intrin::saturatef
#define __float2int_rn ::sws_emu::intrin::float2int_rn
#define __float2int_rz ::sws_emu::intrin::float2int_rz
#define __float2int_rd ::sws_emu::intrin::float2int_rd
#define __float2int_ru ::sws_emu::intrin::float2int_ru
#define __float2uint_rn ::sws_emu::intrin::float2uint_rn
#define __float2uint_rz ::sws_emu::intrin::float2uint_rz
#define __float2ll_rn ::sws_emu::intrin::float2ll_rn
#define __int2float_rn ::sws_emu::intrin::int2float_rn
#define __uint2float_rn ::sws_emu::intrin::uint2float_rn
#define __ll2float_rn ::sws_emu::intrin::ll2float_rn
#define __double2float_rn ::sws_emu::intrin::double2float_rn
#define __double2int_rn ::sws_emu::intrin::double2int_rn

// Bit/integer intrinsics; define SWS_EMU_NO_INT_INTRINSICS if another header provides them.
#ifndef SWS_EMU_NO_INT_INTRINSICS
#define __float_as_int ::sws_emu::intrin::float_as_int
#define __float_as_uint ::sws_emu::intrin::float_as_uint
#define __int_as_float ::sws_emu::intrin::int_as_float
#define __uint_as_float ::sws_emu::intrin::uint_as_float
#define __double_as_longlong ::sws_emu::intrin::double_as_longlong
#define __longlong_as_double ::sws_emu::intrin::longlong_as_double
#define __popc ::sws_emu::intrin::popc
#define __popcll ::sws_emu::intrin::popcll
#define __clz ::sws_emu::intrin::clz
#define __clzll ::sws_emu::intrin::clzll
#define __ffs ::sws_emu::intrin::ffs
#define __ffsll ::sws_emu::intrin::ffsll
#define __brev ::sws_emu::intrin::brev
#define __brevll ::sws_emu::intrin::brevll
#define __umulhi ::sws_emu::intrin::umulhi
#define __mulhi ::sws_emu::intrin::mulhi
#define __umul64hi ::sws_emu::intrin::umul64hi
#define __mul64hi ::sws_emu::intrin::mul64hi
#endif
