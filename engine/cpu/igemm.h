#pragma once
// Exact integer GEMM for the integer-only plan (int8-ivit):
//   acc (M, N) int32 = A (M, K) · Wᵀ,  A s8 or u8, W s8 (N, K) in PyTorch's Linear layout.
//
// Why not oneDNN's int8 matmul: without VNNI, x86 sums u8·s8 pairs with vpmaddubsw into a
// *saturating* int16 (engine/cpu/int8_gemm.h), so full-range operands give wrong sums, and
// I-ViT's integer arithmetic needs every accumulator exact. Here both operands are widened to
// int16 and multiplied with vpmaddwd, which adds each pair of products into an int32 exactly:
// |a·w| ≤ 255·128 = 32640, a pair ≤ 65280.
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
  Avx2,   // vpmaddwd on int16 pairs, 6 rows × 16 columns per step (AVX2, chosen at run time)
  Plain,  // portable C++ on the same packed layout
};

IGemmKernel best_igemm_kernel();
std::string igemm_kernel_name(IGemmKernel k);  // "avx2 vpmaddwd 6x16" or "plain"
std::string igemm_impl();                      // igemm_kernel_name(best_igemm_kernel())

// W (N, K) s8, packed once: panels of 16 output columns; within a panel, for each pair of
// K indices p, the 16 columns' (w[j][2p], w[j][2p+1]) as int16 pairs, i.e. one 256-bit load
// is 8 columns × 1 pair, exactly vpmaddwd's operand. Odd K is padded with a zero weight,
// N with zero columns up to a multiple of 16 (never stored).
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

 private:
  int m_N = 0, m_K = 0, m_k_pairs = 0, m_panels = 0;
  std::vector<std::int16_t> m_packed;  // (panels, k_pairs, 16, 2)
};

// acc (M, N) = A (M, K) · Wᵀ, exact. A row-major with stride K; acc row-major with stride N.
// Parallel over row blocks and column panels (OpenMP).
void igemm(const std::int8_t* a, long M, const IGemmWeights& w, std::int32_t* acc);
void igemm(const std::uint8_t* a, long M, const IGemmWeights& w, std::int32_t* acc);
// The same with a chosen kernel (tests and bench/igemm_micro.cpp); Avx2 falls back to Plain
// on a CPU without AVX2.
void igemm(const std::int8_t* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel);
void igemm(const std::uint8_t* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel);

}  // namespace swinscope::cpu
