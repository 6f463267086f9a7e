#include "engine/cuda/gemm_s8/gemm_s8.cuh"

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "engine/cuda/ptx.cuh"
#include "engine/error.h"
#include "engine/numerics.h"

// Structure (the classic Ampere int8 GEMM, cf. CUTLASS's Sm80 multistage mainloop; no code
// taken from it):
//   * CTA tile BM×BN×64; each warp owns a WM×WN block of D as (WM/16)×(WN/8) m16n8k32
//     accumulator fragments in registers.
//   * Global → shared with 16-byte cp.async.cg into a STAGES-deep ring; one __syncthreads per
//     k-tile orders both the RAW (tile kt landed) and the WAR (stage kt−1 consumed before it is
//     refilled with tile kt+STAGES−1) hazards.
//   * Shared → registers with ldmatrix.x4: A and W are both K-contiguous, which is what the
//     .row.col mma wants, so no transposition anywhere.
//   * Shared layout: rows of 64 bytes (4 chunks of 16), two rows per 128-byte line, the 8
//     chunks of a line XOR-permuted by (line & 3). The 8 row addresses of one ldmatrix matrix
//     (8 consecutive rows, same logical chunk) then fall into 8 distinct 16-byte bank groups:
//     conflict-free, without padding (smem stays 64·(BM+BN)·STAGES bytes).
//   * Epilogue straight from the accumulator registers (fragment layout "Matrix Fragments for
//     mma.m16n8k32", C/D: row g + 8·(i >> 1), col 2t + (i & 1)): pairs of adjacent columns
//     per lane, masked at the M and N edges.

#ifndef SWS_UNROLL  // platform.cuh may provide it
#if defined(__CUDACC__)
#define SWS_UNROLL _Pragma("unroll")
#else
#define SWS_UNROLL _Pragma("GCC unroll 8")
#endif
#endif

namespace swinscope::SWS_CUDA_NS {

// Dynamic shared memory (cp.async and ldmatrix need 16-byte aligned rows): the emulation's
// macro, or platform.cuh's when it provides one for nvcc, else an array of our own.
#if defined(SWS_DYNAMIC_SHARED)
#define SWS_GEMM_S8_SMEM() SWS_DYNAMIC_SHARED(unsigned char)
#else
extern __shared__ __align__(16) unsigned char sws_gemm_s8_smem[];
#define SWS_GEMM_S8_SMEM() (sws_gemm_s8_smem)
#endif

namespace {

constexpr int kBK = 64;  // bytes of K per k-tile: two m16n8k32 steps

template <int BM_, int BN_, int WM_, int WN_, int STAGES_>
struct Tile {
  static constexpr int BM = BM_, BN = BN_, WM = WM_, WN = WN_, STAGES = STAGES_;
  static constexpr int WARPS_M = BM / WM, WARPS_N = BN / WN, THREADS = WARPS_M * WARPS_N * 32;
  static constexpr int MI = WM / 16, NI = WN / 8;  // mma tiles per warp
  static constexpr int A_BYTES = BM * kBK, STAGE_BYTES = (BM + BN) * kBK, SMEM = STAGES * STAGE_BYTES;
  static constexpr int A_CHUNKS = BM * kBK / 16 / THREADS, B_CHUNKS = BN * kBK / 16 / THREADS;
  static_assert(BM % WM == 0 && BN % WN == 0 && WM % 16 == 0 && WN % 16 == 0, "warp tiling");
  static_assert(BM * kBK / 16 % THREADS == 0 && BN * kBK / 16 % THREADS == 0, "whole chunks per thread");
};
using Tile128x256 = Tile<128, 256, 64, 64, 3>;
using Tile128x128 = Tile<128, 128, 64, 64, 3>;
using Tile64x64 = Tile<64, 64, 32, 32, 4>;

struct Params {
  const std::uint8_t* A;
  const std::int8_t* B;
  void* D;
  int M, N, K;
  float alpha;
  const float* alpha_n;
  const float* bias;
  float deq, inv_scale;
  int pair_store;  // N even and D aligned to two elements: store column pairs at once
};

// Byte offset of (row, 16-byte chunk) in a stage's rows × 64-byte tile (see the header comment).
__device__ __forceinline__ int swz(int row, int chunk) {
  const int line = row >> 1;
  return (line << 7) | (((((row & 1) << 2) | chunk) ^ (line & 3)) << 4);
}

template <int ROWS, int CHUNKS, int THREADS, typename T>
__device__ __forceinline__ void load_tile(unsigned char* s, const T* g, int row0, int rows, int k0, int K, int tid) {
  SWS_UNROLL
  for (int j = 0; j < CHUNKS; ++j) {
    const int c = tid + j * THREADS;
    const int row = c >> 2, ch = c & 3;
    const int gr = row0 + row, gk = k0 + ch * 16;
    const bool ok = gr < rows && gk < K;
    const T* src = ok ? g + static_cast<long long>(gr) * K + gk : g;
    ptx::cp_async_16_zfill(s + swz(row, ch), src, ok);
  }
  static_assert(ROWS * 4 == CHUNKS * THREADS, "tile covered exactly");
}

template <typename T>
__device__ __forceinline__ void load_stage(unsigned char* stage, const Params& p, int m0, int n0, int kt, int tid) {
  load_tile<T::BM, T::A_CHUNKS, T::THREADS>(stage, p.A, m0, p.M, kt * kBK, p.K, tid);
  load_tile<T::BN, T::B_CHUNKS, T::THREADS>(stage + T::A_BYTES, p.B, n0, p.N, kt * kBK, p.K, tid);
}

// One output value per epilogue (the header's table); `e` is the element offset in D.
template <S8Epilogue EP>
__device__ __forceinline__ void store1(const Params& p, long long e, std::int32_t acc, float alpha, float bias) {
  const float a = static_cast<float>(acc);
  if constexpr (EP == S8Epilogue::S8) {
    static_cast<std::int8_t*>(p.D)[e] = static_cast<std::int8_t>(numerics::q_gemm_s8(a * alpha));
  } else if constexpr (EP == S8Epilogue::S32) {
    static_cast<std::int32_t*>(p.D)[e] = acc;
  } else if constexpr (EP == S8Epilogue::ReluU8) {
    static_cast<std::uint8_t*>(p.D)[e] = static_cast<std::uint8_t>(numerics::q_gemm_relu_u8(a * alpha));
  } else if constexpr (EP == S8Epilogue::ReluShiftedS8) {
    static_cast<std::int8_t*>(p.D)[e] =
        static_cast<std::int8_t>(numerics::q_gemm_relu_u8(a * alpha) - numerics::kZeroPoint);
  } else if constexpr (EP == S8Epilogue::BiasGeluS8) {
    const float v = __fmaf_rn(a, alpha, bias);
    static_cast<std::int8_t*>(p.D)[e] = static_cast<std::int8_t>(numerics::q_signed(numerics::gelu_erf(v) * p.inv_scale));
  } else if constexpr (EP == S8Epilogue::RequantBiasGeluS8) {
    const float y = static_cast<float>(numerics::q_gemm_s8(a * alpha));
    const float v = __fmaf_rn(y, p.deq, bias);
    static_cast<std::int8_t*>(p.D)[e] = static_cast<std::int8_t>(numerics::q_signed(numerics::gelu_erf(v) * p.inv_scale));
  } else {  // BiasResidual
    const float y = static_cast<float>(numerics::q_gemm_s8(a * alpha));
    float* x = static_cast<float*>(p.D);
    x[e] = x[e] + __fmaf_rn(y, p.deq, bias);
  }
}

// Two adjacent columns at once (e even, both in range, D aligned): the same values as two
// store1 calls, in one 2-, 8- or 16-byte access.
template <S8Epilogue EP>
__device__ __forceinline__ void store2(const Params& p, long long e, std::int32_t acc0, std::int32_t acc1, float alpha0,
                                       float alpha1, float bias0, float bias1) {
  if constexpr (EP == S8Epilogue::S32) {
    *reinterpret_cast<int2*>(static_cast<std::int32_t*>(p.D) + e) = make_int2(acc0, acc1);
  } else if constexpr (EP == S8Epilogue::BiasResidual) {
    float2* x = reinterpret_cast<float2*>(static_cast<float*>(p.D) + e);
    float2 v = *x;
    v.x = v.x + __fmaf_rn(static_cast<float>(numerics::q_gemm_s8(static_cast<float>(acc0) * alpha0)), p.deq, bias0);
    v.y = v.y + __fmaf_rn(static_cast<float>(numerics::q_gemm_s8(static_cast<float>(acc1) * alpha1)), p.deq, bias1);
    *x = v;
  } else {
    // 8-bit outputs: compute through store1's formula into a local pair, store 2 bytes.
    unsigned char pair[2];
    Params q = p;
    q.D = pair;
    store1<EP>(q, 0, acc0, alpha0, bias0);
    store1<EP>(q, 1, acc1, alpha1, bias1);
    *reinterpret_cast<std::uint16_t*>(static_cast<unsigned char*>(p.D) + e) =
        static_cast<std::uint16_t>(pair[0] | (pair[1] << 8));
  }
}

template <typename T, bool AU8, S8Epilogue EP>
__global__ void __launch_bounds__(T::THREADS) gemm_s8_kernel(Params p) {
  unsigned char* smem = SWS_GEMM_S8_SMEM();
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  const int wm0 = (warp % T::WARPS_M) * T::WM, wn0 = (warp / T::WARPS_M) * T::WN;
  const int m0 = static_cast<int>(blockIdx.y) * T::BM, n0 = static_cast<int>(blockIdx.x) * T::BN;
  const int KT = (p.K + kBK - 1) / kBK;

  std::int32_t acc[T::MI][T::NI][4];
  SWS_UNROLL
  for (int mi = 0; mi < T::MI; ++mi) {
    SWS_UNROLL
    for (int ni = 0; ni < T::NI; ++ni) {
      SWS_UNROLL
      for (int i = 0; i < 4; ++i) acc[mi][ni][i] = 0;
    }
  }

  SWS_UNROLL
  for (int s = 0; s < T::STAGES - 1; ++s) {
    if (s < KT) load_stage<T>(smem + s * T::STAGE_BYTES, p, m0, n0, s, tid);
    ptx::cp_async_commit();  // empty groups keep the wait count uniform
  }

  // ldmatrix row addresses: lane l feeds row (l & 7) of matrix (l >> 3).
  //   A: matrices (rows 0-7, k 0-15), (rows 8-15, k 0-15), (rows 0-7, k 16-31), (rows 8-15, k 16-31)
  //      = registers a0..a3 of the A fragment.
  //   B: matrices (n 0-7, k 0-15), (n 0-7, k 16-31), (n 8-15, k 0-15), (n 8-15, k 16-31)
  //      = b0, b1 of n-tile 2j and b0, b1 of n-tile 2j+1.
  const int a_row = (lane & 7) + 8 * ((lane >> 3) & 1), a_chunk = lane >> 4;
  const int b_row = (lane & 7) + 8 * (lane >> 4), b_chunk = (lane >> 3) & 1;

  for (int kt = 0; kt < KT; ++kt) {
    ptx::cp_async_wait<T::STAGES - 2>();
    __syncthreads();
    const int next = kt + T::STAGES - 1;
    if (next < KT) load_stage<T>(smem + (next % T::STAGES) * T::STAGE_BYTES, p, m0, n0, next, tid);
    ptx::cp_async_commit();

    const unsigned char* sa = smem + (kt % T::STAGES) * T::STAGE_BYTES;
    const unsigned char* sb = sa + T::A_BYTES;
    SWS_UNROLL
    for (int ks = 0; ks < kBK / 32; ++ks) {
      std::uint32_t af[T::MI][4], bf[T::NI][2];
      SWS_UNROLL
      for (int mi = 0; mi < T::MI; ++mi) ptx::ldmatrix_x4(af[mi], sa + swz(wm0 + mi * 16 + a_row, 2 * ks + a_chunk));
      SWS_UNROLL
      for (int nj = 0; nj < T::NI / 2; ++nj) {
        std::uint32_t r[4];
        ptx::ldmatrix_x4(r, sb + swz(wn0 + nj * 16 + b_row, 2 * ks + b_chunk));
        bf[2 * nj][0] = r[0];
        bf[2 * nj][1] = r[1];
        bf[2 * nj + 1][0] = r[2];
        bf[2 * nj + 1][1] = r[3];
      }
      SWS_UNROLL
      for (int mi = 0; mi < T::MI; ++mi) {
        SWS_UNROLL
        for (int ni = 0; ni < T::NI; ++ni) {
          if constexpr (AU8)
            ptx::mma_m16n8k32_u8s8(acc[mi][ni], af[mi], bf[ni]);
          else
            ptx::mma_m16n8k32_s8(acc[mi][ni], af[mi], bf[ni]);
        }
      }
    }
  }
  ptx::cp_async_wait<0>();  // only empty groups remain; leave none in flight at exit

  const int g = lane >> 2, t = lane & 3;
  SWS_UNROLL
  for (int ni = 0; ni < T::NI; ++ni) {
    const int col = n0 + wn0 + ni * 8 + 2 * t;
    if (col >= p.N) continue;
    const bool has1 = col + 1 < p.N;
    const float alpha0 = p.alpha_n ? p.alpha_n[col] : p.alpha;
    const float alpha1 = p.alpha_n && has1 ? p.alpha_n[col + 1] : p.alpha;
    const float bias0 = p.bias ? p.bias[col] : 0.f;
    const float bias1 = p.bias && has1 ? p.bias[col + 1] : 0.f;
    SWS_UNROLL
    for (int mi = 0; mi < T::MI; ++mi) {
      SWS_UNROLL
      for (int h = 0; h < 2; ++h) {
        const int row = m0 + wm0 + mi * 16 + g + 8 * h;
        if (row >= p.M) continue;
        const long long e = static_cast<long long>(row) * p.N + col;
        if (has1 && p.pair_store) {
          store2<EP>(p, e, acc[mi][ni][2 * h], acc[mi][ni][2 * h + 1], alpha0, alpha1, bias0, bias1);
        } else {
          store1<EP>(p, e, acc[mi][ni][2 * h], alpha0, bias0);
          if (has1) store1<EP>(p, e + 1, acc[mi][ni][2 * h + 1], alpha1, bias1);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Host side
// ---------------------------------------------------------------------------------------------

struct TileInfo {
  S8Tile tile;
  int bm, bn, wm, wn, stages, threads, smem;
};
template <typename T>
constexpr TileInfo info_of(S8Tile t) {
  return {t, T::BM, T::BN, T::WM, T::WN, T::STAGES, T::THREADS, T::SMEM};
}
constexpr TileInfo kTiles[] = {info_of<Tile128x256>(S8Tile::T128x256), info_of<Tile128x128>(S8Tile::T128x128),
                               info_of<Tile64x64>(S8Tile::T64x64)};

const TileInfo& tile_info(S8Tile t) {
  for (const auto& ti : kTiles)
    if (ti.tile == t) return ti;
  return kTiles[1];
}

std::string where(const GemmS8Args& a) {
  return std::string("gemm_s8 '") + (a.label ? a.label : "unlabelled") + "': ";
}
[[noreturn]] void refuse(const GemmS8Args& a, const std::string& what) { throw Error(where(a) + what, Error::Kind::Runtime); }

bool aligned(const void* p, std::size_t n) { return reinterpret_cast<std::uintptr_t>(p) % n == 0; }

std::size_t out_bytes(S8Epilogue e) {
  return e == S8Epilogue::S32 || e == S8Epilogue::BiasResidual ? 4 : 1;
}

void validate(const GemmS8Args& a) {
  const std::string dims = "M=" + std::to_string(a.M) + " N=" + std::to_string(a.N) + " K=" + std::to_string(a.K);
  if (a.M <= 0 || a.N <= 0 || a.K <= 0) refuse(a, "sizes must be positive (" + dims + ")");
  if (a.K % 16 != 0)
    refuse(a, "K must be a multiple of 16 (cp.async moves 16-byte row segments), got K=" + std::to_string(a.K));
  if (!a.A || !a.B || !a.D) refuse(a, std::string(!a.A ? "A" : (!a.B ? "B" : "D")) + " is null");
  if (!aligned(a.A, 16)) refuse(a, "A is not 16-byte aligned (cp.async needs 16-byte row starts)");
  if (!aligned(a.B, 16)) refuse(a, "B is not 16-byte aligned (cp.async needs 16-byte row starts)");
  if (!aligned(a.D, out_bytes(a.epilogue))) refuse(a, "D is not aligned to its element size");
  if (a.a_type == S8AType::U8 && a.epilogue != S8Epilogue::S8 && a.epilogue != S8Epilogue::S32 &&
      a.epilogue != S8Epilogue::BiasResidual)
    refuse(a, std::string("a u8 A operand is built for the FC2 epilogues (s8, s32, bias_residual) only, not ") +
                  gemm_s8_epilogue_name(a.epilogue));
  if (a.epilogue == S8Epilogue::S32 && (a.alpha_n || a.alpha != 1.f))
    refuse(a, "the s32 epilogue applies no scale: alpha must be 1 and alpha_n null");
  if (a.epilogue == S8Epilogue::BiasResidual && !a.bias) refuse(a, "bias_residual needs a bias (N floats)");
  if (static_cast<int>(a.epilogue) < 0 || static_cast<int>(a.epilogue) > static_cast<int>(S8Epilogue::BiasResidual))
    refuse(a, "unknown epilogue");
  const TileInfo& ti = tile_info(gemm_s8_pick_tile(a));
  const long long mtiles = (static_cast<long long>(a.M) + ti.bm - 1) / ti.bm;
  if (mtiles > 65535)
    refuse(a, "M=" + std::to_string(a.M) + " needs " + std::to_string(mtiles) + " row tiles of " + std::to_string(ti.bm) +
                  " (grid.y limit 65535)");
}

int sm_count() {
  int dev = 0, n = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
    n = 0;
  (void)cudaGetLastError();
  return n > 0 ? n : 108;
}

void check_device(const GemmS8Args& a) {
  const int major = device_cc_major();
  if (major < 8) refuse(a, "needs an sm_80 or newer GPU (mma.sync m16n8k32 s8, cp.async); found compute capability " + std::to_string(major) + ".x");
}

template <typename T, bool AU8, S8Epilogue EP>
void launch_one(const GemmS8Args& a, const Params& p, cudaStream_t stream) {
  constexpr auto k = gemm_s8_kernel<T, AU8, EP>;
  if constexpr (T::SMEM > 48 * 1024) {
    static std::once_flag once;  // per instantiation: the opt-in above 48 KiB of dynamic smem
    std::call_once(once, [] {
      SWS_CUDA_CHECK(cudaFuncSetAttribute(gemm_s8_kernel<T, AU8, EP>, cudaFuncAttributeMaxDynamicSharedMemorySize, T::SMEM));
    });
  }
  const dim3 grid(static_cast<unsigned>((a.N + T::BN - 1) / T::BN), static_cast<unsigned>((a.M + T::BM - 1) / T::BM));
  launch("gemm_s8_kernel", k, grid, dim3(T::THREADS), static_cast<std::size_t>(T::SMEM), stream, p);
}

template <typename T, bool AU8>
void dispatch_epilogue(const GemmS8Args& a, const Params& p, cudaStream_t s) {
  switch (a.epilogue) {
    case S8Epilogue::S8: return launch_one<T, AU8, S8Epilogue::S8>(a, p, s);
    case S8Epilogue::S32: return launch_one<T, AU8, S8Epilogue::S32>(a, p, s);
    case S8Epilogue::BiasResidual: return launch_one<T, AU8, S8Epilogue::BiasResidual>(a, p, s);
    default: break;
  }
  if constexpr (!AU8) {
    switch (a.epilogue) {
      case S8Epilogue::ReluU8: return launch_one<T, false, S8Epilogue::ReluU8>(a, p, s);
      case S8Epilogue::ReluShiftedS8: return launch_one<T, false, S8Epilogue::ReluShiftedS8>(a, p, s);
      case S8Epilogue::BiasGeluS8: return launch_one<T, false, S8Epilogue::BiasGeluS8>(a, p, s);
      case S8Epilogue::RequantBiasGeluS8: return launch_one<T, false, S8Epilogue::RequantBiasGeluS8>(a, p, s);
      default: break;
    }
  }
  refuse(a, "unsupported epilogue / A type combination");
}

template <typename T>
void dispatch_a(const GemmS8Args& a, const Params& p, cudaStream_t s) {
  if (a.a_type == S8AType::U8)
    dispatch_epilogue<T, true>(a, p, s);
  else
    dispatch_epilogue<T, false>(a, p, s);
}

}  // namespace

const char* gemm_s8_tile_name(S8Tile tile) {
  switch (tile) {
    case S8Tile::Auto: return "auto";
    case S8Tile::T128x256: return "128x256x64";
    case S8Tile::T128x128: return "128x128x64";
    case S8Tile::T64x64: return "64x64x64";
  }
  return "?";
}

const char* gemm_s8_epilogue_name(S8Epilogue e) {
  switch (e) {
    case S8Epilogue::S8: return "s8";
    case S8Epilogue::S32: return "s32";
    case S8Epilogue::ReluU8: return "relu_u8";
    case S8Epilogue::ReluShiftedS8: return "relu_shifted_s8";
    case S8Epilogue::BiasGeluS8: return "bias_gelu_s8";
    case S8Epilogue::RequantBiasGeluS8: return "requant_bias_gelu_s8";
    case S8Epilogue::BiasResidual: return "bias_residual";
  }
  return "?";
}

// Largest tile that wastes at most 1/8 of its columns on the N edge and still gives every SM
// two CTAs; otherwise 128x128 when it fills the SMs once, else 64x64. A first guess, to be
// replaced by bench/kernels/gemm_s8_lab measurements.
S8Tile gemm_s8_pick_tile(const GemmS8Args& a) {
  if (a.tile != S8Tile::Auto) return a.tile;
  if (a.M <= 0 || a.N <= 0) return S8Tile::T64x64;
  const long long sms = sm_count();
  auto ctas = [&](const TileInfo& t) {
    return ((static_cast<long long>(a.M) + t.bm - 1) / t.bm) * ((static_cast<long long>(a.N) + t.bn - 1) / t.bn);
  };
  auto n_waste_ok = [&](const TileInfo& t) {
    const long long padded = (static_cast<long long>(a.N) + t.bn - 1) / t.bn * t.bn;
    return padded * 8 <= static_cast<long long>(a.N) * 9;
  };
  for (const auto& t : kTiles)
    if (t.tile != S8Tile::T64x64 && n_waste_ok(t) && ctas(t) >= 2 * sms) return t.tile;
  if (ctas(tile_info(S8Tile::T128x128)) >= sms && n_waste_ok(tile_info(S8Tile::T128x128))) return S8Tile::T128x128;
  return S8Tile::T64x64;
}

std::string gemm_s8_describe(const GemmS8Args& a) {
  const TileInfo& t = tile_info(gemm_s8_pick_tile(a));
  char buf[256];
  std::snprintf(buf, sizeof buf, "gemm_s8 %dx%dx%d (%d warps of %dx%d, %d stages, %d B smem) %s*s8 -> %s", t.bm, t.bn, kBK,
                t.threads / 32, t.wm, t.wn, t.stages, t.smem, a.a_type == S8AType::U8 ? "u8" : "s8",
                gemm_s8_epilogue_name(a.epilogue));
  std::string s = (a.label ? std::string(a.label) + ": " : std::string()) + buf;
  if (a.epilogue != S8Epilogue::S32) {
    if (a.alpha_n) {
      s += ", alpha per channel";
    } else {
      std::snprintf(buf, sizeof buf, ", alpha %g", static_cast<double>(a.alpha));
      s += buf;
    }
  }
  s += ", M=" + std::to_string(a.M) + " N=" + std::to_string(a.N) + " K=" + std::to_string(a.K);
  return s;
}

void gemm_s8(const GemmS8Args& a, cudaStream_t stream) {
  validate(a);
  check_device(a);
  Params p{};
  p.A = static_cast<const std::uint8_t*>(a.A);
  p.B = a.B;
  p.D = a.D;
  p.M = a.M, p.N = a.N, p.K = a.K;
  p.alpha = a.alpha, p.alpha_n = a.alpha_n, p.bias = a.bias, p.deq = a.deq, p.inv_scale = a.inv_scale;
  p.pair_store = a.N % 2 == 0 && aligned(a.D, 2 * out_bytes(a.epilogue));
  switch (gemm_s8_pick_tile(a)) {
    case S8Tile::T128x256: return dispatch_a<Tile128x256>(a, p, stream);
    case S8Tile::T64x64: return dispatch_a<Tile64x64>(a, p, stream);
    default: return dispatch_a<Tile128x128>(a, p, stream);
  }
}

}  // namespace swinscope::SWS_CUDA_NS
