#pragma once
// The one header every CUDA-backend source includes first. It hides whether the sources are
// being compiled by nvcc for a real GPU or by the host compiler for device emulation
// (SWINSCOPE_CUDA_EMU; engine/cuda/emu/cuda_emu.h), so each .cu file is written once.
//
//   real build:  namespace swinscope::cuda      nvcc, cudart, cuBLASLt
//   emulation:   namespace swinscope::cuda_emu  g++, kernels run on the CPU (blocks one after
//                another, a block's threads as fibers), cuBLASLt emulated from GemmDesc
//
// Both builds can live in one binary: the namespaces differ, and the emulated runtime's
// functions (cudaMalloc, …) live in ::sws_emu, pulled into swinscope::cuda_emu below, so they
// never clash with the real cudart symbols.
#include <cstddef>
#include <string>
#include <utility>

#ifdef SWINSCOPE_CUDA_EMU
#include "engine/cuda/emu/cuda_emu.h"
#define SWS_CUDA_NS cuda_emu
namespace swinscope::cuda_emu {
using namespace ::sws_emu;
}
#else
#include <cuda_runtime.h>
#define SWS_CUDA_NS cuda
#endif

#if defined(__CUDACC__) && !defined(SWINSCOPE_CUDA_EMU)
// Dynamic shared memory (the launch's smem bytes); the emulation defines the same macro.
extern __shared__ __align__(16) unsigned char sws_dynamic_smem[];
#define SWS_DYNAMIC_SHARED(T) reinterpret_cast<T*>(sws_dynamic_smem)
#endif

// Loop unrolling that both compilers understand.
#if defined(__CUDACC__)
#define SWS_UNROLL _Pragma("unroll")
#else
#define SWS_UNROLL _Pragma("GCC unroll 8")
#endif

// Device-callable helpers shared with the CPU backend are marked SWS_HD (engine/numerics.h).
#include "engine/numerics.h"

namespace swinscope::SWS_CUDA_NS {

// True in the device-emulation build: kernels run on the CPU (correctness only; says nothing
// about speed or the memory model).
#ifdef SWINSCOPE_CUDA_EMU
inline constexpr bool kEmulated = true;
#else
inline constexpr bool kEmulated = false;
#endif

// Throws swinscope::Error (Runtime) naming the call, the file and the line.
void check_cuda(cudaError_t err, const char* what, const char* file, int line);

// The current device's compute capability major version, queried once (0 when none answers);
// the emulation reports 8: it implements the sm_80 instructions of engine/cuda/ptx.cuh.
int device_cc_major();

#if defined(SWINSCOPE_CUDA_EMU) || defined(__CUDACC__)
// One launcher for every kernel: nvcc sees <<<>>>, the emulation sees a loop over blocks
// with each block's threads run as fibers. Ends with a checked cudaGetLastError().
template <typename... KArgs, typename... Args>
void launch(const char* name, void (*kernel)(KArgs...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream,
            Args&&... args) {
#ifdef SWINSCOPE_CUDA_EMU
  ::sws_emu::launch_kernel(name, grid, block, smem, stream, [=]() { kernel(static_cast<KArgs>(args)...); });
  (void)smem;
#else
  kernel<<<grid, block, smem, stream>>>(std::forward<Args>(args)...);
#endif
  check_cuda(cudaGetLastError(), name, __FILE__, __LINE__);
}
#endif

}  // namespace swinscope::SWS_CUDA_NS

#define SWS_CUDA_CHECK(expr) ::swinscope::SWS_CUDA_NS::check_cuda((expr), #expr, __FILE__, __LINE__)
// Launch by name: SWS_LAUNCH(kernel, grid, block, smem, stream, args...). Templates: wrap the
// kernel in a `constexpr auto k = kernel<...>;` first (macros split template commas).
#define SWS_LAUNCH(kernel, grid, block, smem, stream, ...) \
  ::swinscope::SWS_CUDA_NS::launch(#kernel, kernel, grid, block, smem, stream, __VA_ARGS__)
