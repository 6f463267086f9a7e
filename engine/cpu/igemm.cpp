#include "engine/cpu/igemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "engine/error.h"

namespace swinscope::cpu {

namespace {

constexpr int kPanel = IGemmWeights::kPanel;
// Rows per register block: kRows × 16 columns = 2·kRows ymm accumulators, plus two weight
// registers and one broadcast: 15 of 16 ymm. 6 rows measured ~1.35× faster than 4 (fewer
// weight loads per multiply; bench/README.md).
constexpr int kRows = 6;
// Rows widened to int16 at once (a multiple of kRows): the A block one panel sweeps,
// kMC · 2·kKC · 2 B = 72 KiB, in L2.
constexpr int kMC = 72;
static_assert(kMC % kRows == 0, "whole register blocks per row chunk");
// K pairs per cache block: one panel's block is kKC · 16 · 4 B = 16 KiB, kept in L1 while
// all kMC rows pass over it.
constexpr int kKC = 256;

// One register block: c (rows, ncols) (+)= a (rows, 2·kc) · panel block (kc, 16, 2)ᵀ.
// a: int16 rows with stride lda; c: int32 rows with stride ldc; accumulate: add to c (every
// K block after the first) rather than overwrite it.
using BlockKernel = void (*)(const std::int16_t* a, long lda, const std::int16_t* wp, int kc, std::int32_t* c, long ldc,
                             int ncols, bool accumulate);

template <int R>
void block_plain(const std::int16_t* a, long lda, const std::int16_t* wp, int kc, std::int32_t* c, long ldc, int ncols,
                 bool accumulate) {
  for (int r = 0; r < R; ++r) {
    const std::int16_t* ar = a + r * lda;
    std::int32_t s[kPanel] = {};
    for (int q = 0; q < kc; ++q) {
      const std::int16_t* wq = wp + static_cast<long>(q) * kPanel * 2;
      const std::int32_t a0 = ar[2 * q], a1 = ar[2 * q + 1];
      for (int j = 0; j < kPanel; ++j) s[j] += a0 * wq[2 * j] + a1 * wq[2 * j + 1];
    }
    std::int32_t* cr = c + r * ldc;
    for (int j = 0; j < ncols; ++j) cr[j] = (accumulate ? cr[j] : 0) + s[j];
  }
}

// AVX2 kernels, compiled for that target here and chosen at run time (best_igemm_kernel()),
// so the build stays baseline x86-64, as in engine/cpu/int8_ops.cpp.
#pragma GCC push_options
#pragma GCC target("avx2")

template <int R>
void block_avx2(const std::int16_t* a, long lda, const std::int16_t* wp, int kc, std::int32_t* c, long ldc, int ncols,
                bool accumulate) {
  __m256i lo[R], hi[R];  // columns 0–7 and 8–15
  for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
  for (int q = 0; q < kc; ++q) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + static_cast<long>(q) * kPanel * 2));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + static_cast<long>(q) * kPanel * 2 + 16));
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      std::int32_t pair;  // (a[2q], a[2q+1]) as int16, the same order as the weights' pairs
      std::memcpy(&pair, a + r * lda + 2 * q, sizeof pair);
      const __m256i b = _mm256_set1_epi32(pair);
      lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(b, w0));
      hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(b, w1));
    }
  }
  for (int r = 0; r < R; ++r) {
    std::int32_t* cr = c + r * ldc;
    if (ncols == kPanel) {
      if (accumulate) {
        lo[r] = _mm256_add_epi32(lo[r], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cr)));
        hi[r] = _mm256_add_epi32(hi[r], _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cr + 8)));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr), lo[r]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(cr + 8), hi[r]);
    } else {  // the last panel: padded columns are computed (zero weights) but never stored
      alignas(32) std::int32_t t[kPanel];
      _mm256_store_si256(reinterpret_cast<__m256i*>(t), lo[r]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(t + 8), hi[r]);
      for (int j = 0; j < ncols; ++j) cr[j] = (accumulate ? cr[j] : 0) + t[j];
    }
  }
}

#pragma GCC pop_options

BlockKernel plain_kernel(int rows) {
  switch (rows) {
    case 1: return block_plain<1>;
    case 2: return block_plain<2>;
    case 3: return block_plain<3>;
    default: return block_plain<4>;
  }
}

BlockKernel avx2_kernel(int rows) {
  static_assert(kRows <= 6, "register blocks up to 6 rows are instantiated");
  switch (rows) {
    case 1: return block_avx2<1>;
    case 2: return block_avx2<2>;
    case 3: return block_avx2<3>;
    case 4: return block_avx2<4>;
    case 5: return block_avx2<5>;
    default: return block_avx2<6>;
  }
}

// Rows [m0, m0 + rows) of A as int16, each padded to an even length 2·k_pairs with a zero.
template <typename A>
void widen(const A* a, long m0, int rows, int K, int k_pairs, std::int16_t* out) {
  const long lda = 2L * k_pairs;
  for (int r = 0; r < rows; ++r) {
    const A* ar = a + (m0 + r) * static_cast<long>(K);
    std::int16_t* o = out + r * lda;
    for (int k = 0; k < K; ++k) o[k] = static_cast<std::int16_t>(ar[k]);
    if (K % 2) o[K] = 0;
  }
}

template <typename A>
void run(const A* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel) {
  if (M <= 0) return;
  const int K = w.K(), N = w.N(), k_pairs = w.k_pairs(), panels = w.panels();
  const bool avx2 = kernel == IGemmKernel::Avx2 && best_igemm_kernel() == IGemmKernel::Avx2;
  const int block_rows = avx2 ? kRows : 4;
  BlockKernel full = avx2 ? avx2_kernel(block_rows) : plain_kernel(block_rows);
  const long lda = 2L * k_pairs;

  // Tiles: row chunks of kMC × groups of panels. Few row chunks (the late stages: M = 49 or
  // 196) are split by panels too, so every thread has work.
  const long m_chunks = (M + kMC - 1) / kMC;
  const int threads = omp_get_max_threads();
  int groups = 1;
  if (m_chunks < 4L * threads)
    groups = static_cast<int>(std::min<long>(panels, (4L * threads + m_chunks - 1) / m_chunks));
  const long tiles = m_chunks * groups;

#pragma omp parallel
  {
    std::vector<std::int16_t> a16(static_cast<std::size_t>(kMC) * static_cast<std::size_t>(lda));
    long widened = -1;  // the row chunk a16 holds
#pragma omp for schedule(static)
    for (long t = 0; t < tiles; ++t) {
      const long mc = t / groups;
      const int g = static_cast<int>(t % groups);
      const long m0 = mc * kMC;
      const int rows = static_cast<int>(std::min<long>(kMC, M - m0));
      if (widened != mc) {
        widen(a, m0, rows, K, k_pairs, a16.data());
        widened = mc;
      }
      const int p_begin = static_cast<int>(static_cast<long>(panels) * g / groups);
      const int p_end = static_cast<int>(static_cast<long>(panels) * (g + 1) / groups);
      for (int k0 = 0; k0 < k_pairs; k0 += kKC) {
        const int kc = std::min(kKC, k_pairs - k0);
        for (int p = p_begin; p < p_end; ++p) {
          const std::int16_t* wp = w.panel(p) + static_cast<long>(k0) * kPanel * 2;
          const int ncols = std::min(kPanel, N - p * kPanel);
          for (int r = 0; r < rows; r += block_rows) {
            const int rr = std::min(block_rows, rows - r);
            const BlockKernel kern = rr == block_rows ? full : (avx2 ? avx2_kernel(rr) : plain_kernel(rr));
            kern(a16.data() + r * lda + 2L * k0, lda, wp, kc, acc + (m0 + r) * N + static_cast<long>(p) * kPanel, N, ncols,
                 k0 > 0);
          }
        }
      }
    }
  }
}

}  // namespace

IGemmKernel best_igemm_kernel() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2 ? IGemmKernel::Avx2 : IGemmKernel::Plain;
}

std::string igemm_kernel_name(IGemmKernel k) {
  return k == IGemmKernel::Avx2 ? "avx2 vpmaddwd " + std::to_string(kRows) + "x16" : "plain";
}

std::string igemm_impl() { return igemm_kernel_name(best_igemm_kernel()); }

IGemmWeights::IGemmWeights(const std::int8_t* w, int N, int K) : m_N(N), m_K(K) {
  if (N < 1 || K < 1 || K > kIGemmMaxK)
    throw Error("igemm: weights (" + std::to_string(N) + ", " + std::to_string(K) + "): expected N ≥ 1 and 1 ≤ K ≤ " +
                std::to_string(kIGemmMaxK) + " (int32 sums of K products up to 255·128 stay exact only so far)");
  m_k_pairs = (K + 1) / 2;
  m_panels = (N + kPanel - 1) / kPanel;
  m_packed.assign(static_cast<std::size_t>(m_panels) * static_cast<std::size_t>(m_k_pairs) * kPanel * 2, 0);
  for (int n = 0; n < N; ++n) {
    std::int16_t* p = m_packed.data() + static_cast<std::size_t>(n / kPanel) * m_k_pairs * kPanel * 2 + (n % kPanel) * 2;
    const std::int8_t* wr = w + static_cast<long>(n) * K;
    for (int k = 0; k < K; ++k) p[static_cast<std::size_t>(k / 2) * kPanel * 2 + k % 2] = wr[k];
  }
}

void igemm(const std::int8_t* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel) {
  run(a, M, w, acc, kernel);
}
void igemm(const std::uint8_t* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel) {
  run(a, M, w, acc, kernel);
}
void igemm(const std::int8_t* a, long M, const IGemmWeights& w, std::int32_t* acc) {
  run(a, M, w, acc, best_igemm_kernel());
}
void igemm(const std::uint8_t* a, long M, const IGemmWeights& w, std::int32_t* acc) {
  run(a, M, w, acc, best_igemm_kernel());
}

}  // namespace swinscope::cpu
