#pragma once
// Exact integer GEMM for the integer-only plan (int8-ivit):
//   acc (M, N) int32 = A (M, K) · Wᵀ,  A s8 or u8, W s8 (N, K) in PyTorch's Linear layout.
//
// Why not oneDNN's int8 matmul: without VNNI, x86 sums u8·s8 pairs with vpmaddubsw into a
// *saturating* int16 (engine/cpu/int8_gemm.h), so full-range operands give wrong sums, and
// I-ViT's integer arithmetic needs every accumulator exact. Here, with AVX2, both operands are
// widened to int16 and multiplied with vpmaddwd, which adds each pair of products into an int32
// exactly: |a·w| ≤ 255·128 = 32640, a pair ≤ 65280. With AVX-512 VNNI, vpdpbusd sums u8 × s8
// quads straight into int32 (exact as well; s8 activations enter shifted to u8).
//
// Bound: a sum of K such products stays inside int32 while K·32640 ≤ 2³¹ − 1, i.e. K ≤ 65793;
// IGemmWeights refuses K > kIGemmMaxK = 65536.
#include <cstdint>
#include <string>
#include <vector>

namespace swinscope::cpu {

inline constexpr int kIGemmMaxK = 65536;  // 65536 · 255 · 128 = 2 139 095 040 < 2³¹ − 1

// The kernels igemm can run; best_igemm_kernel() is the one it runs by default.
enum class IGemmKernel {
  Avx512Vnni,  // vpdpbusd on u8 × s8 quads into int32 (exact: no int16 step), 6 rows × 64 columns
  Avx2,        // vpmaddwd on int16 pairs, 6 rows × 16 columns per step
  Plain,       // portable C++ on the AVX2 kernel's packed layout
};

// The first of the three the CPU runs (checked at run time; the build stays baseline x86-64).
IGemmKernel best_igemm_kernel();
bool igemm_kernel_available(IGemmKernel k);
std::string igemm_kernel_name(IGemmKernel k);  // "avx512-vnni vpdpbusd 6x64", "avx2 vpmaddwd 6x16", "plain"
std::string igemm_impl();                      // igemm_kernel_name(best_igemm_kernel())

// W (N, K) s8, packed once: panels of 16 output columns; within a panel, for each pair of
// K indices p, the 16 columns' (w[j][2p], w[j][2p+1]) as int16 pairs, i.e. one 256-bit load
// is 8 columns × 1 pair, exactly vpmaddwd's operand. Odd K is padded with a zero weight,
// N with zero columns up to a multiple of 16 (never stored). On a CPU with AVX-512 VNNI the
// weights are also packed for that kernel: panels of 16 columns × K quads as s8 (one 512-bit
// load is 16 columns × 4 k), with −128·Σₖ w[n][k] per column for s8 activations.
class IGemmWeights {
 public:
  static constexpr int kPanel = 16;  // output columns per panel

  // Throws swinscope::Error unless 1 ≤ N and 1 ≤ K ≤ kIGemmMaxK.
  IGemmWeights(const std::int8_t* w, int N, int K);
  int N() const { return m_N; }
  int K() const { return m_K; }
  int k_pairs() const { return m_k_pairs; }  // ⌈K / 2⌉
  int panels() const { return m_panels; }    // ⌈N / 16⌉
  // Panel p: (k_pairs, 16, 2) int16.
  const std::int16_t* panel(int p) const {
    return m_packed.data() + static_cast<std::size_t>(p) * static_cast<std::size_t>(m_k_pairs) * kPanel * 2;
  }
  int k_quads() const { return m_k_quads; }  // ⌈K / 4⌉ where packed for AVX-512 VNNI, else 0
  // Panel p for AVX-512 VNNI: (k_quads, 16, 4) s8.
  const std::int8_t* quad_panel(int p) const {
    return m_quads.data() + static_cast<std::size_t>(p) * static_cast<std::size_t>(m_k_quads) * kPanel * 4;
  }
  const std::int32_t* s8_correction() const { return m_s8_correction.data(); }  // (panels · 16)
  const std::int64_t* abs_sum() const { return m_abs_sum.data(); }             // (N): Σₖ |w[n][k]|

 private:
  int m_N = 0, m_K = 0, m_k_pairs = 0, m_panels = 0, m_k_quads = 0;
  std::vector<std::int16_t> m_packed;          // (panels, k_pairs, 16, 2)
  std::vector<std::int8_t> m_quads;            // (panels, k_quads, 16, 4), AVX-512 VNNI only
  std::vector<std::int32_t> m_s8_correction;  // (panels · 16), AVX-512 VNNI only
  std::vector<std::int64_t> m_abs_sum;         // (N)
};

// acc (M, N) = A (M, K) · Wᵀ, exact. A row-major with stride K; acc row-major with stride N.
// Parallel over row blocks and column panels (OpenMP).
void igemm(const std::int8_t* a, long M, const IGemmWeights& w, std::int32_t* acc);
void igemm(const std::uint8_t* a, long M, const IGemmWeights& w, std::int32_t* acc);
// The same with a chosen kernel (tests and bench/igemm_micro.cpp); one the CPU lacks falls back
// to the next in IGemmKernel's order.
void igemm(const std::int8_t* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel);
void igemm(const std::uint8_t* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel);

// The fused requantization epilogue of igemm_fused: each exact accumulator acc = (A · Wᵀ)[r][n]
// becomes
//   v = clamp(ivit::apply(acc + bias[n], {m[n], shift[n]}), lo, hi)      (engine/ivit.h)
// and then, by `out`, with row(r) = row_map ? row_map[r] : r:
//   S8:  ((int8_t*)dst)[row(r)·ldd + n] = v        (lo/hi keep v inside the type)
//   U8:  ((uint8_t*)dst)[row(r)·ldd + n] = v
//   S16: ((int16_t*)dst)[row(r)·ldd + n] = v
//   S32: ((int32_t*)dst)[row(r)·ldd + n] = v
//   Residual: x = ((int32_t*)dst)[row(r)·ldd + n];
//             x = ivit::sat(v + ivit::apply(x, {res_m, res_shift}), 32767)   (written back)
//   Residual16: the same on an int16 x (the sum is saturated to ±32767, so it fits)
// Bit for bit the same as igemm() followed by that scalar formula. The vector path
// ((acc + bias)·m + 2^(shift−1)) >> shift in int64 runs when every column's shift (and
// res_shift for Residual) is in 1…62 and lo ≤ hi; otherwise the scalar formula itself.
// With AVX-512 VNNI, a call whose results provably stay inside ±2^30 (from the weights'
// Σₖ|w[n][k]|; every output kind but Residual) clamps, adds the residual and saturates in int32
// lanes after the 64-bit products: the same bits, fewer steps (igemm.cpp, epilogue_narrow).
// row_map must be injective (rows of one call never share a destination row).
enum class IGemmOut { S8, U8, S16, S32, Residual, Residual16 };
struct IGemmEpilogue {
  const std::int64_t* bias = nullptr;   // (N); null: zero
  const std::int32_t* m = nullptr;      // (N) dyadic multipliers
  const std::int32_t* shift = nullptr;  // (N) dyadic shifts (any int; apply() defines every case)
  std::int64_t lo = 0, hi = 0;
  IGemmOut out = IGemmOut::S8;
  void* dst = nullptr;
  long ldd = 0;                         // dst row stride in elements
  const long* row_map = nullptr;        // (M) or null
  std::int32_t res_m = 0;               // Residual and Residual16 only
  int res_shift = 0;                    // Residual and Residual16 only
};

// A (M, K) · Wᵀ requantized per output tile while it is in registers / L1 (the int32 (M, N)
// matrix is never written). Throws swinscope::Error when m, shift or dst is null.
void igemm_fused(const std::int8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e);
void igemm_fused(const std::uint8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e);
void igemm_fused(const std::int8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e, IGemmKernel kernel);
void igemm_fused(const std::uint8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e, IGemmKernel kernel);
// Tests and benchmarks: the int32-lane form off (default on), and whether a call would take it.
void set_igemm_narrow_epilogue(bool on);
bool igemm_narrow_epilogue_applies(const IGemmEpilogue& e, const IGemmWeights& w, bool s8_activations);

}  // namespace swinscope::cpu
