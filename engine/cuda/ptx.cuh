#pragma once
// Every inline-PTX instruction of the project, each beside its host emulation. No other file
// may contain inline asm: a kernel that needs an instruction adds a wrapper here, with an
// emulation that gives the same bits, so the device-emulation build (SWINSCOPE_CUDA_EMU,
// engine/cuda/emu/cuda_emu.h) runs the very kernel CI tests.
//
//   real build (nvcc, __CUDA_ARCH__ >= 800): the asm
//   emulation (g++):                         C++ with the PTX ISA's semantics, warp-collective
//                                            instructions through a per-warp exchange area
//                                            and __syncwarp (the emulation's lanes are fibers)
//
// The wrappers (namespace swinscope::SWS_CUDA_NS::ptx):
//   mma_m16n8k32_s8 / _u8s8   mma.sync.aligned.m16n8k32.row.col.s32.{s8,u8}.s8.s32, D = A·B + C
//   ldmatrix_x4               ldmatrix.sync.aligned.m8n8.x4.shared.b16
//   cp_async_16 / _zfill      cp.async.cg.shared.global (16 bytes; zfill: src-size 0 or 16)
//   cp_async_commit           cp.async.commit_group
//   cp_async_wait<N>          cp.async.wait_group N
// Float → int8 conversions use numerics::q_* (engine/numerics.h: __float2int_rn, no asm).
//
// Layouts are those of the PTX ISA (section names as in the ISA, numbers vary by version):
// "Matrix Fragments for mma.m16n8k32" (integer types) and "Warp-level matrix load
// instruction: ldmatrix". With g = lane >> 2, t = lane & 3 and element i of a fragment
// (byte i & 3 of register i >> 2, lowest byte first):
//   A (16×32, 4 regs)  row g + 8·((i >> 2) & 1), k 4t + (i & 3) + 16·(i >> 3)
//   B (32×8, 2 regs)   k 4t + (i & 3) + 16·(i >> 2), col g
//   C/D (16×8, 4 s32)  row g + 8·(i >> 1), col 2t + (i & 1)
//   ldmatrix .x4       lanes 8j..8j+7 give the 8 row addresses (16 bytes each) of matrix j;
//                      register j of lane l = bytes 4(l & 3)..4(l & 3)+3 of row l >> 2 of matrix j
// So ldmatrix of an 8-row × 16-byte block of a K-contiguous tile yields exactly one A or B
// register: row (or col) g, k bytes 4t..4t+3.
#include <cstdint>
#include <cstring>

#include "engine/cuda/platform.cuh"

#if defined(__CUDACC__) || defined(SWINSCOPE_CUDA_EMU)  // device code: nvcc, or the emulation

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define SWS_PTX_SM80 1
#endif

namespace swinscope::SWS_CUDA_NS::ptx {

#if defined(SWINSCOPE_CUDA_EMU)
namespace emu {

// A warp-collective instruction reads other lanes' registers: each lane publishes its
// operands in its warp's row of this area, __syncwarp, reads what it needs, __syncwarp (so no
// lane overwrites a row another lane still reads). __shared__ is per OS thread under the
// emulation, i.e. per block being run, as on a GPU.
inline constexpr int kMaxWarps = 32;
inline constexpr int kSlots = 6;  // the most 64-bit values one lane publishes (mma: 4 A + 2 B regs)
using WarpArea = std::uint64_t[32][kSlots];

inline unsigned linear_tid() {
  return threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
}
inline WarpArea& warp_area() {
  __shared__ std::uint64_t area[kMaxWarps][32][kSlots];
  return area[linear_tid() >> 5];
}

inline int byte_of(std::uint64_t reg, int b, bool is_unsigned) {
  const auto u = static_cast<std::uint8_t>(reg >> (8 * b));
  return is_unsigned ? static_cast<int>(u) : static_cast<int>(static_cast<std::int8_t>(u));
}

// D = A·B + C for one m16n8k32 tile, each lane computing its own four D elements from the
// operand registers of the lanes that hold them. Integer sums wrap like the hardware's
// (no .satfinite).
inline void mma_m16n8k32(std::int32_t (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2],
                         bool a_unsigned) {
  WarpArea& w = warp_area();
  const unsigned lane = linear_tid() & 31u;
  for (int r = 0; r < 4; ++r) w[lane][r] = a[r];
  w[lane][4] = b[0];
  w[lane][5] = b[1];
  __syncwarp();
  const int g = static_cast<int>(lane >> 2), t = static_cast<int>(lane & 3u);
  std::int32_t out[4];
  for (int i = 0; i < 4; ++i) {
    const int row = g + 8 * (i >> 1), col = 2 * t + (i & 1);  // C/D fragment
    std::uint32_t sum = static_cast<std::uint32_t>(d[i]);
    for (int k = 0; k < 32; ++k) {
      // A element (row, k): register ((row >> 3) & 1) | ((k >> 4) << 1) of lane 4·(row & 7) + ((k >> 2) & 3)
      const int ai = (k & 3) | (((row >> 3) & 1) << 2) | ((k >> 4) << 3);
      const int alane = 4 * (row & 7) + ((k >> 2) & 3);
      // B element (k, col): register k >> 4 of lane 4·col + ((k >> 2) & 3)
      const int bi = (k & 3) | ((k >> 4) << 2);
      const int blane = 4 * col + ((k >> 2) & 3);
      const int av = byte_of(w[alane][ai >> 2], ai & 3, a_unsigned);
      const int bv = byte_of(w[blane][4 + (bi >> 2)], bi & 3, false);
      sum += static_cast<std::uint32_t>(av * bv);
    }
    out[i] = static_cast<std::int32_t>(sum);
  }
  __syncwarp();
  for (int i = 0; i < 4; ++i) d[i] = out[i];
}

inline void ldmatrix_x4(std::uint32_t (&r)[4], const void* row_addr) {
  WarpArea& w = warp_area();
  const unsigned lane = linear_tid() & 31u;
  w[lane][0] = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(row_addr));
  __syncwarp();
  for (unsigned j = 0; j < 4; ++j) {
    const auto* row = reinterpret_cast<const unsigned char*>(static_cast<std::uintptr_t>(w[8 * j + (lane >> 2)][0]));
    std::memcpy(&r[j], row + 4 * (lane & 3u), 4);
  }
  __syncwarp();
}

}  // namespace emu
#endif  // SWINSCOPE_CUDA_EMU

#if defined(SWS_PTX_SM80)
__device__ __forceinline__ unsigned smem_addr(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }
#endif

// D += A·B on one m16n8k32 tile, A s8 (row), B s8 (col), accumulators s32 in place.
__device__ __forceinline__ void mma_m16n8k32_s8(std::int32_t (&d)[4], const std::uint32_t (&a)[4],
                                                const std::uint32_t (&b)[2]) {
#if defined(SWS_PTX_SM80)
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(SWINSCOPE_CUDA_EMU)
  emu::mma_m16n8k32(d, a, b, false);
#else
  (void)d, (void)a, (void)b;
  __trap();  // sm_80 or newer only (the launcher checks the device)
#endif
}

// The same with A u8 (the GELU-less FC2 reads the ReLU output as it is).
__device__ __forceinline__ void mma_m16n8k32_u8s8(std::int32_t (&d)[4], const std::uint32_t (&a)[4],
                                                  const std::uint32_t (&b)[2]) {
#if defined(SWS_PTX_SM80)
  asm volatile(
      "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif defined(SWINSCOPE_CUDA_EMU)
  emu::mma_m16n8k32(d, a, b, true);
#else
  (void)d, (void)a, (void)b;
  __trap();
#endif
}

// Four 8×8 b16 matrices (8 rows × 16 bytes each) from shared memory; this lane gives the
// address of row (lane & 7) of matrix (lane >> 3), 16-byte aligned.
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const void* smem_row) {
#if defined(SWS_PTX_SM80)
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(smem_row)));
#elif defined(SWINSCOPE_CUDA_EMU)
  emu::ldmatrix_x4(r, smem_row);
#else
  (void)r, (void)smem_row;
  __trap();
#endif
}

// 16 bytes global → shared, asynchronous (L2 only: .cg), both addresses 16-byte aligned.
// The emulation copies at once; the kernel's cp_async_wait and __syncthreads stay the same.
__device__ __forceinline__ void cp_async_16(void* smem_dst, const void* gmem_src) {
#if defined(SWS_PTX_SM80)
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(smem_dst)),
               "l"(__cvta_generic_to_global(gmem_src))
               : "memory");
#elif defined(SWINSCOPE_CUDA_EMU)
  std::memcpy(smem_dst, gmem_src, 16);
#else
  (void)smem_dst, (void)gmem_src;
  __trap();
#endif
}

// As cp_async_16, but when !valid nothing is read (src-size 0) and the 16 bytes are zeroed:
// the edge tiles' rows beyond M or N and columns beyond K. gmem_src must still be a valid
// global address (nothing is read from it).
__device__ __forceinline__ void cp_async_16_zfill(void* smem_dst, const void* gmem_src, bool valid) {
#if defined(SWS_PTX_SM80)
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(smem_dst)),
               "l"(__cvta_generic_to_global(gmem_src)), "r"(valid ? 16 : 0)
               : "memory");
#elif defined(SWINSCOPE_CUDA_EMU)
  if (valid)
    std::memcpy(smem_dst, gmem_src, 16);
  else
    std::memset(smem_dst, 0, 16);
#else
  (void)smem_dst, (void)gmem_src, (void)valid;
  __trap();
#endif
}

__device__ __forceinline__ void cp_async_commit() {
#if defined(SWS_PTX_SM80)
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

// Waits until at most N of this thread's committed groups are pending. Other threads' copies
// become visible only after a following __syncthreads.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
#if defined(SWS_PTX_SM80)
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

}  // namespace swinscope::SWS_CUDA_NS::ptx

#endif  // __CUDACC__ || SWINSCOPE_CUDA_EMU
