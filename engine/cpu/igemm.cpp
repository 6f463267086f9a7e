#include "engine/cpu/igemm.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "engine/error.h"
#include "engine/ivit.h"

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

// One row at a time: the same loop with a (R, 16) accumulator array segfaulted under GCC 12.2
// -O3 (the loop vectorizer read past the A block; fine at -O2 or -fno-tree-loop-vectorize).
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

// ---- The fused requantization epilogue (igemm_fused) ----
// Every form takes a tile t (rows, ncols) of exact accumulators, stride ldt, holding output rows
// m0 + [0, rows) and columns n0 + [0, ncols).

// The destination row of GEMM row r.
inline long dst_row(const IGemmEpilogue& e, long r) { return e.row_map ? e.row_map[r] : r; }

// The definition itself (engine/ivit.h), for any shift.
void epilogue_scalar(const std::int32_t* t, long ldt, int rows, int ncols, long m0, int n0, const IGemmEpilogue& e) {
  const ivit::Dyadic res{e.res_m, e.res_shift};
  for (int r = 0; r < rows; ++r) {
    const long off = dst_row(e, m0 + r) * e.ldd + n0;
    const std::int32_t* tr = t + r * ldt;
    for (int j = 0; j < ncols; ++j) {
      const int n = n0 + j;
      const std::int64_t v =
          ivit::clamp64(ivit::apply(static_cast<std::int64_t>(tr[j]) + e.bias[n], {e.m[n], e.shift[n]}), e.lo, e.hi);
      switch (e.out) {
        case IGemmOut::S8: static_cast<std::int8_t*>(e.dst)[off + j] = static_cast<std::int8_t>(v); break;
        case IGemmOut::U8: static_cast<std::uint8_t*>(e.dst)[off + j] = static_cast<std::uint8_t>(v); break;
        case IGemmOut::S16: static_cast<std::int16_t*>(e.dst)[off + j] = static_cast<std::int16_t>(v); break;
        case IGemmOut::S32: static_cast<std::int32_t*>(e.dst)[off + j] = static_cast<std::int32_t>(v); break;
        case IGemmOut::Residual: {
          std::int32_t& x = static_cast<std::int32_t*>(e.dst)[off + j];
          x = ivit::sat(v + ivit::apply(x, res), 32767);
          break;
        }
        case IGemmOut::Residual16: {
          std::int16_t& x = static_cast<std::int16_t*>(e.dst)[off + j];
          x = static_cast<std::int16_t>(ivit::sat(v + ivit::apply(x, res), 32767));
          break;
        }
      }
    }
  }
}

// The vector form in portable C++ (every shift and res_shift in 1…62, lo ≤ hi): the same bits.
template <typename Out, bool Residual>
void epilogue_plain_t(const std::int32_t* t, long ldt, int rows, int ncols, long m0, int n0, const IGemmEpilogue& e) {
  const std::int64_t *b = e.bias + n0, lo = e.lo, hi = e.hi;
  const std::int32_t *mm = e.m + n0, *sh = e.shift + n0;
  const std::int64_t rm = e.res_m, rrd = Residual ? std::int64_t{1} << (e.res_shift - 1) : 0;
  const int rsh = e.res_shift;
  for (int r = 0; r < rows; ++r) {
    Out* d = static_cast<Out*>(e.dst) + dst_row(e, m0 + r) * e.ldd + n0;
    const std::int32_t* tr = t + r * ldt;
#pragma omp simd
    for (int j = 0; j < ncols; ++j) {
      std::int64_t v = ((tr[j] + b[j]) * mm[j] + (std::int64_t{1} << (sh[j] - 1))) >> sh[j];
      v = v < lo ? lo : (v > hi ? hi : v);
      if constexpr (Residual) {
        v += (d[j] * rm + rrd) >> rsh;
        v = v < -32767 ? -32767 : (v > 32767 ? 32767 : v);
      }
      d[j] = static_cast<Out>(v);
    }
  }
}

void epilogue_plain(const std::int32_t* t, long ldt, int rows, int ncols, long m0, int n0, const IGemmEpilogue& e) {
  switch (e.out) {
    case IGemmOut::S8: return epilogue_plain_t<std::int8_t, false>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::U8: return epilogue_plain_t<std::uint8_t, false>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::S16: return epilogue_plain_t<std::int16_t, false>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::S32: return epilogue_plain_t<std::int32_t, false>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::Residual: return epilogue_plain_t<std::int32_t, true>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::Residual16: return epilogue_plain_t<std::int16_t, true>(t, ldt, rows, ncols, m0, n0, e);
  }
}

// Whether the vector forms equal the definition for this call.
bool epilogue_vector_ok(const IGemmEpilogue& e, int N) {
  if (e.lo > e.hi) return false;
  if ((e.out == IGemmOut::Residual || e.out == IGemmOut::Residual16) && (e.res_shift < 1 || e.res_shift > 62)) return false;
  for (int n = 0; n < N; ++n)
    if (e.shift[n] < 1 || e.shift[n] > 62) return false;
  return true;
}

using EpilogueFn = void (*)(const std::int32_t* t, long ldt, int rows, int ncols, long m0, int n0, const IGemmEpilogue& e);

std::atomic<bool> g_narrow_epilogue{true};  // set_igemm_narrow_epilogue

// Whether every requantized value of this call (e passed epilogue_vector_ok: shifts 1…62) provably lies in
// (−2^30, 2^30), and for Residual16 every residual term too: the bound per column n comes from
// the weights, |acc| ≤ amax·Σₖ|w[n][k]| (amax 128 for s8 activations, 255 for u8), and the
// residual's from |x| ≤ 32768. Then the AVX-512 form may clamp, add and saturate in int32 lanes
// after the 64-bit products (epilogue_avx512_h's Narrow form). Not for Residual (its int32 x
// has no bound).
bool epilogue_narrow(const IGemmEpilogue& e, const IGemmWeights& w, int amax) {
  if (!g_narrow_epilogue.load() || e.out == IGemmOut::Residual) return false;
  // bound·|m| + 2^(shift−1) < 2^(shift+30), i.e. bound·|m| < (2^31 − 1)·2^(shift−1), checked in
  // double with a 2^−40 margin for the two roundings (per call, so cheap: no 128-bit steps)
  constexpr double kMargin = 1.0 + 0x1p-40, kRoom = 2147483647.0;
  const auto fits = [&](double bound, std::int32_t m, int shift) {
    return bound * std::fabs(static_cast<double>(m)) * kMargin < kRoom * static_cast<double>(std::int64_t{1} << (shift - 1));
  };
  if (e.out == IGemmOut::Residual16 && !fits(32768.0, e.res_m, e.res_shift)) return false;
  const std::int64_t* abs_sum = w.abs_sum();
  bool ok = true;
  for (int n = 0; n < w.N(); ++n) {
    const double b = std::fabs(static_cast<double>(e.bias[n]));
    ok &= fits(static_cast<double>(amax * abs_sum[n]) + b, e.m[n], e.shift[n]);
  }
  return ok;
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

// AVX-512 VNNI: vpdpbusd multiplies u8 × s8 quads and adds the four products and the
// accumulator in int32, without an int16 step, so it is exact too: 64 products per instruction
// against vpmaddwd's 16 on ymm. s8 activations enter shifted to u8 (a + 128) and the block adds
// −128·Σₖ w[n][k] (corr) once. Intermediate sums may then leave int32 (K·(255·128 + 128·128) for
// K near kIGemmMaxK), but vector adds wrap modulo 2³² and the final sum fits, so it is exact.
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni")

using VnniKernel = void (*)(const std::uint8_t* a, long lda, const std::int8_t* wp, long wstride, int kq,
                            std::int32_t* c, long ldc, int ncols, bool accumulate, const std::int32_t* corr);

// acc += u8 quads of a × s8 quads of w, per int32 lane: vpdpbusd, as inline assembly. GCC 12's
// _mm512_dpbusd_epi32 treats the accumulator as a separate input and copies every accumulator
// each step (24 vmovdqa per 12 vpdpbusd in the 6 × 32 block, measured with perf annotate); the
// "+v" operand keeps each accumulator in its register.
inline __m512i dpbusd(__m512i acc, __m512i a_u8, __m512i w_s8) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(a_u8), "v"(w_s8));
  return acc;
}

// c (rows, ncols ≤ 16·P) (+)= a (rows, 4·kq) · (P panels' blocks (kq, 16, 4), wstride bytes apart)ᵀ (+ corr).
// Flip: a holds s8 codes, each quad's bytes turned to u8 (x + 128 = x ^ 0x80) after the
// broadcast (a vpxord beside the vpdpbusd, so igemm reads an s8 A in place: no u8 copy).
template <int R, int P, bool Flip>
void block_vnni(const std::uint8_t* a, long lda, const std::int8_t* wp, long wstride, int kq, std::int32_t* c,
                long ldc, int ncols, bool accumulate, const std::int32_t* corr) {
  __m512i s[R][P];
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < P; ++p) s[r][p] = _mm512_setzero_si512();
  for (int q = 0; q < kq; ++q) {
    __m512i wv[P];
    for (int p = 0; p < P; ++p) wv[p] = _mm512_loadu_si512(wp + p * wstride + static_cast<long>(q) * kPanel * 4);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      std::int32_t quad;
      std::memcpy(&quad, a + r * lda + 4 * q, sizeof quad);
      __m512i b = _mm512_set1_epi32(quad);
      if constexpr (Flip) b = _mm512_xor_si512(b, _mm512_set1_epi32(static_cast<int>(0x80808080u)));
      for (int p = 0; p < P; ++p) s[r][p] = dpbusd(s[r][p], b, wv[p]);
    }
  }
  for (int p = 0; p < P; ++p) {
    const int cols = std::min(kPanel, ncols - kPanel * p);
    if (cols <= 0) break;
    const __mmask16 m = static_cast<__mmask16>((1u << cols) - 1u);
    const __m512i add = !accumulate && corr ? _mm512_maskz_loadu_epi32(m, corr + kPanel * p) : _mm512_setzero_si512();
    for (int r = 0; r < R; ++r) {
      std::int32_t* cr = c + r * ldc + kPanel * p;
      __m512i v = _mm512_add_epi32(s[r][p], add);
      if (accumulate) v = _mm512_add_epi32(v, _mm512_maskz_loadu_epi32(m, cr));
      _mm512_mask_storeu_epi32(cr, m, v);
    }
  }
}

// GCC 12's unmasked forms of these intrinsics pass _mm512_undefined_epi32() as the merge source,
// which -Wall reports as maybe-uninitialized; the zero-masked forms with every lane set are the
// same instructions without it.
constexpr __mmask8 kAll8 = 0xFF;
inline __m512i s64(__m256i x) { return _mm512_maskz_cvtepi32_epi64(kAll8, x); }
inline __m512i sllv64(__m512i a, __m512i n) { return _mm512_maskz_sllv_epi64(kAll8, a, n); }
inline __m512i srav64(__m512i a, __m512i n) { return _mm512_maskz_srav_epi64(kAll8, a, n); }
inline __m512i min64(__m512i a, __m512i b) { return _mm512_maskz_min_epi64(kAll8, a, b); }
inline __m512i max64(__m512i a, __m512i b) { return _mm512_maskz_max_epi64(kAll8, a, b); }
inline __m512i mul32x32(__m512i a, __m512i b) { return _mm512_maskz_mul_epi32(kAll8, a, b); }

// The vector form on zmm, one tile row at a time, 16 columns per step as two int64 halves:
// the even columns in the low dwords of the 64-bit lanes as loaded, the odd ones shifted down
// (vpsrlq), so vpmuldq forms acc·m of two int32 without widening; then vpaddq of the
// per-column constant b·m + 2^(shift−1) ((acc + b)·m + 2^(shift−1) modulo 2⁶⁴, exact wherever
// the definition is), vpsravq, vpmaxsq / vpminsq, and the low dwords merged back in column order
// (one masked vpshufd) for one vpmovdb (register form: straight to memory it is slow on Zen)
// or int32 store. The multipliers, constants and shifts of the ≤ 32 columns stay in registers.
inline __m512i lo_dw_s64(__m512i x) { return _mm512_maskz_srai_epi64(kAll8, _mm512_maskz_slli_epi64(kAll8, x, 32), 32); }
inline __m512i hi_dw_s64(__m512i x) { return _mm512_maskz_srai_epi64(kAll8, x, 32); }
inline __m512i hi_dw(__m512i x) { return _mm512_maskz_srli_epi64(kAll8, x, 32); }

inline __m512i min32(__m512i a, __m512i b) { return _mm512_maskz_min_epi32(0xFFFF, a, b); }
inline __m512i max32(__m512i a, __m512i b) { return _mm512_maskz_max_epi32(0xFFFF, a, b); }

// The Narrow form's constants: [lo, hi] ∩ int32, whether hi is the output type's maximum, the
// residual's multiplier and shift.
struct NarrowConst {
  __m512i lo, hi, rm, rrd, rneg;
  __m128i rsh;
  bool sat_hi;
  explicit NarrowConst(const IGemmEpilogue& e)
      : lo(_mm512_set1_epi32(static_cast<std::int32_t>(std::clamp<std::int64_t>(e.lo, INT32_MIN, INT32_MAX)))),
        hi(_mm512_set1_epi32(static_cast<std::int32_t>(std::clamp<std::int64_t>(e.hi, INT32_MIN, INT32_MAX)))),
        rm(_mm512_set1_epi64(e.res_m)),
        rrd(_mm512_set1_epi64(e.out == IGemmOut::Residual16 ? std::int64_t{1} << (e.res_shift - 1) : 0)),
        rneg(_mm512_set1_epi32(-32767)),
        rsh(_mm_cvtsi32_si128(e.out == IGemmOut::Residual16 ? e.res_shift : 0)),
        sat_hi((e.out == IGemmOut::S8 && e.hi == 127) || (e.out == IGemmOut::U8 && e.hi == 255 && e.lo >= 0) ||
               (e.out == IGemmOut::S16 && e.hi == 32767)) {}
};

// v (16 int32 in column order, inside ±2^30) clamped, for Residual16 added to its residual term,
// and stored at dst + off under mask k.
template <IGemmOut O>
inline void narrow_store(const IGemmEpilogue& e, long off, __mmask16 k, __m512i v, const NarrowConst& c) {
  v = max32(v, c.lo);
  if constexpr (O == IGemmOut::Residual16) {
    std::int16_t* d = static_cast<std::int16_t*>(e.dst) + off;
    const __m512i x = _mm512_maskz_cvtepi16_epi32(0xFFFF, _mm256_maskz_loadu_epi16(k, d));
    const __m512i re = _mm512_maskz_sra_epi64(kAll8, _mm512_add_epi64(mul32x32(x, c.rm), c.rrd), c.rsh);
    const __m512i ro = _mm512_maskz_sra_epi64(kAll8, _mm512_add_epi64(mul32x32(hi_dw(x), c.rm), c.rrd), c.rsh);
    v = max32(_mm512_add_epi32(min32(v, c.hi), _mm512_mask_shuffle_epi32(re, 0xAAAA, ro, _MM_PERM_CCAA)), c.rneg);
    _mm256_mask_storeu_epi16(d, k, _mm512_maskz_cvtsepi32_epi16(0xFFFF, v));  // saturates at 32767
  } else if constexpr (O == IGemmOut::S8) {
    if (c.sat_hi) _mm_mask_storeu_epi8(static_cast<std::int8_t*>(e.dst) + off, k, _mm512_maskz_cvtsepi32_epi8(0xFFFF, v));
    else _mm_mask_storeu_epi8(static_cast<std::int8_t*>(e.dst) + off, k, _mm512_maskz_cvtepi32_epi8(0xFFFF, min32(v, c.hi)));
  } else if constexpr (O == IGemmOut::U8) {
    if (c.sat_hi) _mm_mask_storeu_epi8(static_cast<std::int8_t*>(e.dst) + off, k, _mm512_maskz_cvtusepi32_epi8(0xFFFF, v));
    else _mm_mask_storeu_epi8(static_cast<std::int8_t*>(e.dst) + off, k, _mm512_maskz_cvtepi32_epi8(0xFFFF, min32(v, c.hi)));
  } else if constexpr (O == IGemmOut::S16) {
    if (c.sat_hi) _mm256_mask_storeu_epi16(static_cast<std::int16_t*>(e.dst) + off, k, _mm512_maskz_cvtsepi32_epi16(0xFFFF, v));
    else _mm256_mask_storeu_epi16(static_cast<std::int16_t*>(e.dst) + off, k, _mm512_maskz_cvtepi32_epi16(0xFFFF, min32(v, c.hi)));
  } else {
    _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(e.dst) + off, k, min32(v, c.hi));
  }
}

// Narrow (epilogue_narrow holds): the 64-bit clamps are left out, the low dwords merged straight
// after the shifts, then [lo, hi] ∩ int32, the residual add and its ±32767 in int32 lanes (2 and
// 3 steps per 16 outputs fewer), and where hi is the output type's maximum a saturating vpmovsdb /
// vpmovusdb / vpmovsdw in place of the min.
template <IGemmOut O, int H, bool Narrow>
void epilogue_avx512_h(const std::int32_t* t, long ldt, int rows, int ncols, long m0, int n0, const IGemmEpilogue& e) {
  const __m512i lo = _mm512_set1_epi64(e.lo), hi = _mm512_set1_epi64(e.hi), one = _mm512_set1_epi64(1);
  const __m512i rm = _mm512_set1_epi64(e.res_m), rlim = _mm512_set1_epi64(32767), rneg = _mm512_set1_epi64(-32767);
  constexpr bool kResidual = O == IGemmOut::Residual || O == IGemmOut::Residual16;
  constexpr bool k16 = O == IGemmOut::S16 || O == IGemmOut::Residual16;
  const __m512i rsh = _mm512_set1_epi64(kResidual ? e.res_shift : 1);
  const __m512i rrd = sllv64(one, _mm512_sub_epi64(rsh, one));
  const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
  const NarrowConst nw(e);
  __mmask16 k[H];
  __m512i mE[H], mO[H], cE[H], cO[H], sE[H], sO[H];
  for (int h = 0; h < H; ++h) {
    const int c = std::clamp(ncols - 16 * h, 0, 16);
    k[h] = static_cast<__mmask16>((1u << c) - 1u);
    const int n = n0 + 16 * h;
    const __m512i m = _mm512_maskz_loadu_epi32(k[h], e.m + n), sh = _mm512_maskz_loadu_epi32(k[h], e.shift + n);
    const __m512i b0 = _mm512_maskz_loadu_epi64(static_cast<__mmask8>(k[h]), e.bias + n);
    const __m512i b1 = _mm512_maskz_loadu_epi64(static_cast<__mmask8>(k[h] >> 8), e.bias + n + 8);
    mE[h] = lo_dw_s64(m), mO[h] = hi_dw_s64(m);
    sE[h] = lo_dw_s64(sh), sO[h] = hi_dw_s64(sh);
    cE[h] = _mm512_add_epi64(_mm512_mullo_epi64(_mm512_permutex2var_epi64(b0, even, b1), mE[h]),
                             sllv64(one, _mm512_sub_epi64(sE[h], one)));
    cO[h] = _mm512_add_epi64(_mm512_mullo_epi64(_mm512_permutex2var_epi64(b0, odd, b1), mO[h]),
                             sllv64(one, _mm512_sub_epi64(sO[h], one)));
  }
  for (int r = 0; r < rows; ++r) {
    const std::int32_t* tr = t + r * ldt;
    const long off = dst_row(e, m0 + r) * e.ldd + n0;
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h) {
      const __m512i acc = _mm512_maskz_loadu_epi32(k[h], tr + 16 * h);
      __m512i ve = srav64(_mm512_add_epi64(mul32x32(acc, mE[h]), cE[h]), sE[h]);
      __m512i vo = srav64(_mm512_add_epi64(mul32x32(hi_dw(acc), mO[h]), cO[h]), sO[h]);
      if constexpr (Narrow) {
        narrow_store<O>(e, off + 16 * h, k[h], _mm512_mask_shuffle_epi32(ve, 0xAAAA, vo, _MM_PERM_CCAA), nw);
        continue;
      }
      ve = min64(max64(ve, lo), hi);
      vo = min64(max64(vo, lo), hi);
      if constexpr (kResidual) {
        // x · res_m: both int32, so vpmuldq's 32 × 32 → 64 product is exact
        const __m512i x = k16 ? _mm512_maskz_cvtepi16_epi32(0xFFFF, _mm256_maskz_loadu_epi16(k[h], static_cast<std::int16_t*>(e.dst) + off + 16 * h))
                              : _mm512_maskz_loadu_epi32(k[h], static_cast<std::int32_t*>(e.dst) + off + 16 * h);
        ve = _mm512_add_epi64(ve, srav64(_mm512_add_epi64(mul32x32(x, rm), rrd), rsh));
        vo = _mm512_add_epi64(vo, srav64(_mm512_add_epi64(mul32x32(hi_dw(x), rm), rrd), rsh));
        ve = min64(max64(ve, rneg), rlim);
        vo = min64(max64(vo, rneg), rlim);
      }
      // The low dwords in column order (truncation, as the scalar casts).
      const __m512i v = _mm512_mask_shuffle_epi32(ve, 0xAAAA, vo, _MM_PERM_CCAA);
      if constexpr (O == IGemmOut::S8 || O == IGemmOut::U8)
        _mm_mask_storeu_epi8(static_cast<std::int8_t*>(e.dst) + off + 16 * h, k[h], _mm512_maskz_cvtepi32_epi8(0xFFFF, v));
      else if constexpr (k16)
        _mm256_mask_storeu_epi16(static_cast<std::int16_t*>(e.dst) + off + 16 * h, k[h], _mm512_maskz_cvtepi32_epi16(0xFFFF, v));
      else
        _mm512_mask_storeu_epi32(static_cast<std::int32_t*>(e.dst) + off + 16 * h, k[h], v);
    }
  }
}

template <IGemmOut O, bool Narrow>
void epilogue_avx512_t(const std::int32_t* t, long ldt, int rows, int ncols, long m0, int n0, const IGemmEpilogue& e) {
  for (int j0 = 0; j0 < ncols; j0 += 32) {  // one pass for the kernels' tiles (≤ 32 columns)
    const int c = std::min(32, ncols - j0);
    if (c > 16)
      epilogue_avx512_h<O, 2, Narrow>(t + j0, ldt, rows, c, m0, n0 + j0, e);
    else
      epilogue_avx512_h<O, 1, Narrow>(t + j0, ldt, rows, c, m0, n0 + j0, e);
  }
}

// Narrow: epilogue_narrow holds (never for Residual).
template <bool Narrow>
void epilogue_avx512_n(const std::int32_t* t, long ldt, int rows, int ncols, long m0, int n0, const IGemmEpilogue& e) {
  switch (e.out) {
    case IGemmOut::S8: return epilogue_avx512_t<IGemmOut::S8, Narrow>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::U8: return epilogue_avx512_t<IGemmOut::U8, Narrow>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::S16: return epilogue_avx512_t<IGemmOut::S16, Narrow>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::S32: return epilogue_avx512_t<IGemmOut::S32, Narrow>(t, ldt, rows, ncols, m0, n0, e);
    case IGemmOut::Residual:
      if constexpr (!Narrow) return epilogue_avx512_t<IGemmOut::Residual, false>(t, ldt, rows, ncols, m0, n0, e);
      break;
    case IGemmOut::Residual16: return epilogue_avx512_t<IGemmOut::Residual16, Narrow>(t, ldt, rows, ncols, m0, n0, e);
  }
}
constexpr EpilogueFn epilogue_avx512 = epilogue_avx512_n<false>;
constexpr EpilogueFn epilogue_avx512_narrow = epilogue_avx512_n<true>;

#pragma GCC pop_options

// 6 rows per register block (8 rows made GCC 12 spill accumulators).
constexpr int kVnniRows = 6;
constexpr int kVnniKC = 256;   // K quads per cache block: a panel's block is 16 KiB
static_assert(kMC % kVnniRows == 0, "whole register blocks per row chunk");

template <int P, bool Flip>
VnniKernel vnni_kernel_p(int rows) {
  static_assert(kVnniRows <= 6, "register blocks up to 6 rows are instantiated");
  switch (rows) {
    case 1: return block_vnni<1, P, Flip>;
    case 2: return block_vnni<2, P, Flip>;
    case 3: return block_vnni<3, P, Flip>;
    case 4: return block_vnni<4, P, Flip>;
    case 5: return block_vnni<5, P, Flip>;
    default: return block_vnni<6, P, Flip>;
  }
}
// Up to kVnniPanels panels per block: 6 rows × 64 columns is 24 accumulators, 4 weight
// registers and the broadcast, inside the 32 zmm registers, with 10 loads per 24 vpdpbusd.
constexpr int kVnniPanels = 4;
template <bool Flip>
VnniKernel vnni_kernel_f(int panels, int rows) {
  switch (panels) {
    case 1: return vnni_kernel_p<1, Flip>(rows);
    case 2: return vnni_kernel_p<2, Flip>(rows);
    case 3: return vnni_kernel_p<3, Flip>(rows);
    default: return vnni_kernel_p<4, Flip>(rows);
  }
}
VnniKernel vnni_kernel(int panels, int rows, bool flip) {
  return flip ? vnni_kernel_f<true>(panels, rows) : vnni_kernel_f<false>(panels, rows);
}

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

bool cpu_avx2() {
  static const bool v = __builtin_cpu_supports("avx2");
  return v;
}
bool cpu_avx512_vnni() {
  static const bool v =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
  return v;
}

// Tiles: row chunks of kMC × groups of panels. Few row chunks (the late stages: M = 49 or
// 196) are split by panels too, so every thread has work.
struct Tiling {
  long M = 0, m_chunks = 0;
  int panels = 0, groups = 1;
  Tiling(long M_, int panels_) : M(M_), m_chunks((M_ + kMC - 1) / kMC), panels(panels_) {
    const int threads = omp_get_max_threads();
    if (m_chunks < 4L * threads) groups = static_cast<int>(std::min<long>(panels, (4L * threads + m_chunks - 1) / m_chunks));
    // Few tiles per thread (SWIN-T stages 1–2: 11 or 9 tiles on 2 threads): split panels further
    // until every thread gets the same number of tiles, so none waits a tile's time at the end.
    if (m_chunks < 16L * threads)
      while ((m_chunks * groups) % threads != 0 && groups < panels) ++groups;
  }
  long tiles() const { return m_chunks * groups; }
  // This thread's static share of the tiles (call inside a parallel region): load(m0, rows) when
  // the row chunk changes, then work(m0, rows, p_begin, p_end) for the tile's panels.
  template <typename Load, typename Work>
  void for_each(Load&& load, Work&& work) const {
    long loaded = -1;  // the row chunk last loaded
#pragma omp for schedule(static)
    for (long t = 0; t < tiles(); ++t) {
      const long mc = t / groups;
      const int g = static_cast<int>(t % groups);
      const long m0 = mc * kMC;
      const int rows = static_cast<int>(std::min<long>(kMC, M - m0));
      if (loaded != mc) {
        load(m0, rows);
        loaded = mc;
      }
      work(m0, rows, static_cast<int>(static_cast<long>(panels) * g / groups), static_cast<int>(static_cast<long>(panels) * (g + 1) / groups));
    }
  }
};

// Rows [m0, m0 + rows) of A as u8 (s8 shifted by 128), each padded with zeros to 4·k_quads.
template <typename A>
void to_u8(const A* a, long m0, int rows, int K, long lda, std::uint8_t* out) {
  for (int r = 0; r < rows; ++r) {
    const A* ar = a + (m0 + r) * static_cast<long>(K);
    std::uint8_t* o = out + r * lda;
    for (int k = 0; k < K; ++k) o[k] = static_cast<std::uint8_t>(std::is_signed_v<A> ? ar[k] + 128 : ar[k]);
    for (long k = K; k < lda; ++k) o[k] = 0;
  }
}

// A row chunk's rows as the VNNI kernels read them (u8, stride 4·k_quads): where K is a multiple
// of 4 A itself (s8 codes flipped to u8 inside the kernel), else a padded u8 copy. In place, the
// next chunk's rows are prefetched into L1 while this one is computed: the kernels read A by 6
// rows' 4-byte broadcasts, which leave the hardware prefetchers behind when A comes from memory
// (SWIN-T batch 8, stage 0: 3.0 against 4.2–4.9 ms for fc2 without; the copy streamed it, 3.2).
template <typename A>
struct RowChunk {
  const A* a;
  long M;
  int K;
  bool direct, flip;
  std::vector<std::uint8_t> copy;
  const std::uint8_t* rows = nullptr;
  RowChunk(const A* a_, long M_, const IGemmWeights& w)
      : a(a_), M(M_), K(w.K()), direct(w.K() % 4 == 0), flip(direct && std::is_signed_v<A>) {
    if (!direct) copy.resize(static_cast<std::size_t>(kMC) * 4 * static_cast<std::size_t>(w.k_quads()));
  }
  void load(long m0, int n) {
    if (direct) {
      rows = reinterpret_cast<const std::uint8_t*>(a + m0 * static_cast<long>(K));
      const long next_rows = std::min<long>(n, M - m0 - n);
      if (next_rows > 0) {
        const char* next = reinterpret_cast<const char*>(a + (m0 + n) * static_cast<long>(K));
        for (long b = 0; b < next_rows * K; b += 64) __builtin_prefetch(next + b, 0, 3);
      }
      return;
    }
    to_u8(a, m0, n, K, static_cast<long>(copy.size() / kMC), copy.data());
    rows = copy.data();
  }
};

// One K block (quads [k0, k0 + kq)) of panels [p, p + np) over a row chunk's u8 rows (a8,
// stride lda): register blocks of kVnniRows rows into c (rows, ncols ≤ 16·np, stride ldc; column
// 0 is panel p's), added onto c when k0 > 0; corr: the s8 correction (s8 activations) or null.
void vnni_rows(const std::uint8_t* a8, long lda, bool flip, int rows, const IGemmWeights& w, int p, int np, int k0, int kq, int ncols,
               const std::int32_t* corr, std::int32_t* c, long ldc) {
  const long wstride = static_cast<long>(w.k_quads()) * kPanel * 4;  // bytes from one panel to the next
  const std::int8_t* wp = w.quad_panel(p) + static_cast<long>(k0) * kPanel * 4;
  for (int r = 0; r < rows; r += kVnniRows)
    vnni_kernel(np, std::min(kVnniRows, rows - r), flip)(a8 + r * lda + 4L * k0, lda, wp, wstride, kq, c + r * ldc, ldc, ncols, k0 > 0,
                                                  corr ? corr + static_cast<long>(p) * kPanel : nullptr);
}

// The same for the AVX2 / plain kernels: K pairs [k0, k0 + kc) of panel p over a row chunk's
// int16 rows (a16, stride lda), register blocks of kRows (AVX2) or 4 (plain) rows.
void widened_rows(const std::int16_t* a16, long lda, int rows, const IGemmWeights& w, int p, int k0, int kc, int ncols, bool avx2,
                  std::int32_t* c, long ldc) {
  const int block_rows = avx2 ? kRows : 4;
  const std::int16_t* wp = w.panel(p) + static_cast<long>(k0) * kPanel * 2;
  for (int r = 0; r < rows; r += block_rows) {
    const int rr = std::min(block_rows, rows - r);
    (avx2 ? avx2_kernel(rr) : plain_kernel(rr))(a16 + r * lda + 2L * k0, lda, wp, kc, c + r * ldc, ldc, ncols, k0 > 0);
  }
}

template <typename A>
void run_vnni(const A* a, long M, const IGemmWeights& w, std::int32_t* acc) {
  const int N = w.N(), k_quads = w.k_quads();
  const long lda = 4L * k_quads;
  const std::int32_t* corr = std::is_signed_v<A> ? w.s8_correction() : nullptr;
  const Tiling tiling(M, w.panels());
#pragma omp parallel
  {
    RowChunk<A> chunk(a, M, w);
    tiling.for_each([&](long m0, int rows) { chunk.load(m0, rows); },
                    [&](long m0, int rows, int p_begin, int p_end) {
      for (int k0 = 0; k0 < k_quads; k0 += kVnniKC)
        for (int p = p_begin; p < p_end; p += kVnniPanels) {
          const int np = std::min(kVnniPanels, p_end - p);
          vnni_rows(chunk.rows, lda, chunk.flip, rows, w, p, np, k0, std::min(kVnniKC, k_quads - k0), std::min(kPanel * np, N - p * kPanel), corr,
                    acc + m0 * N + static_cast<long>(p) * kPanel, N);
        }
    });
  }
}

template <typename A>
void run(const A* a, long M, const IGemmWeights& w, std::int32_t* acc, IGemmKernel kernel) {
  if (M <= 0) return;
  if (kernel == IGemmKernel::Avx512Vnni && cpu_avx512_vnni() && w.k_quads() > 0) return run_vnni(a, M, w, acc);
  const int K = w.K(), N = w.N(), k_pairs = w.k_pairs();
  const bool avx2 = kernel != IGemmKernel::Plain && cpu_avx2();
  const long lda = 2L * k_pairs;
  const Tiling tiling(M, w.panels());
#pragma omp parallel
  {
    std::vector<std::int16_t> a16(static_cast<std::size_t>(kMC) * static_cast<std::size_t>(lda));
    tiling.for_each([&](long m0, int rows) { widen(a, m0, rows, K, k_pairs, a16.data()); },
                    [&](long m0, int rows, int p_begin, int p_end) {
      for (int k0 = 0; k0 < k_pairs; k0 += kKC)
        for (int p = p_begin; p < p_end; ++p)
          widened_rows(a16.data(), lda, rows, w, p, k0, std::min(kKC, k_pairs - k0), std::min(kPanel, N - p * kPanel), avx2,
                       acc + m0 * N + static_cast<long>(p) * kPanel, N);
    });
  }
}

// igemm_fused with AVX-512 VNNI: per tile (row chunk, panel group), per 4 panels, all K
// blocks into a 72 × 64 int32 tile (18 KiB, in L1), then the epilogue on it.
template <typename A>
void run_fused_vnni(const A* a, long M, const IGemmWeights& w, const IGemmEpilogue& e, EpilogueFn epi) {
  const int N = w.N(), k_quads = w.k_quads();
  const long lda = 4L * k_quads;
  constexpr long ldt = kVnniPanels * kPanel;
  const std::int32_t* corr = std::is_signed_v<A> ? w.s8_correction() : nullptr;
  const Tiling tiling(M, w.panels());
#pragma omp parallel
  {
    RowChunk<A> chunk(a, M, w);
    alignas(64) std::int32_t tile[kMC * ldt];
    tiling.for_each([&](long m0, int rows) { chunk.load(m0, rows); },
                    [&](long m0, int rows, int p_begin, int p_end) {
      for (int p = p_begin; p < p_end; p += kVnniPanels) {
        const int np = std::min(kVnniPanels, p_end - p);
        const int ncols = std::min(kPanel * np, N - p * kPanel);
        for (int k0 = 0; k0 < k_quads; k0 += kVnniKC)
          vnni_rows(chunk.rows, lda, chunk.flip, rows, w, p, np, k0, std::min(kVnniKC, k_quads - k0), ncols, corr, tile, ldt);
        epi(tile, ldt, rows, ncols, m0, p * kPanel, e);
      }
    });
  }
}

// The epilogue the VNNI path runs for e (its bias not null): the definition itself, the int64
// vector form, or its int32-lane (Narrow) form.
EpilogueFn vnni_epilogue(const IGemmEpilogue& e, const IGemmWeights& w, bool s8_activations) {
  if (!epilogue_vector_ok(e, w.N())) return epilogue_scalar;
  return epilogue_narrow(e, w, s8_activations ? 128 : 255) ? epilogue_avx512_narrow : epilogue_avx512;
}

// e with a zero bias (kept in `zero`) where its bias is null: the epilogues read bias[n].
IGemmEpilogue with_bias(const IGemmEpilogue& e, int N, std::vector<std::int64_t>& zero) {
  if (e.bias) return e;
  zero.assign(static_cast<std::size_t>(N), 0);
  IGemmEpilogue z = e;
  z.bias = zero.data();
  return z;
}

// igemm_fused with the AVX2 or the plain kernel: per panel, all K blocks into a 72 × 16 tile.
template <typename A>
void run_fused(const A* a, long M, const IGemmWeights& w, const IGemmEpilogue& e, IGemmKernel kernel) {
  const int N = w.N();
  if (kernel == IGemmKernel::Avx512Vnni && cpu_avx512_vnni() && w.k_quads() > 0)
    return run_fused_vnni(a, M, w, e, vnni_epilogue(e, w, std::is_signed_v<A>));
  const EpilogueFn epi = epilogue_vector_ok(e, N) ? epilogue_plain : epilogue_scalar;
  const int K = w.K(), k_pairs = w.k_pairs();
  const bool avx2 = kernel != IGemmKernel::Plain && cpu_avx2();
  const long lda = 2L * k_pairs;
  constexpr long ldt = kPanel;
  const Tiling tiling(M, w.panels());
#pragma omp parallel
  {
    std::vector<std::int16_t> a16(static_cast<std::size_t>(kMC) * static_cast<std::size_t>(lda));
    alignas(64) std::int32_t tile[kMC * ldt];
    tiling.for_each([&](long m0, int rows) { widen(a, m0, rows, K, k_pairs, a16.data()); },
                    [&](long m0, int rows, int p_begin, int p_end) {
      for (int p = p_begin; p < p_end; ++p) {
        const int ncols = std::min(kPanel, N - p * kPanel);
        for (int k0 = 0; k0 < k_pairs; k0 += kKC)
          widened_rows(a16.data(), lda, rows, w, p, k0, std::min(kKC, k_pairs - k0), ncols, avx2, tile, ldt);
        epi(tile, ldt, rows, ncols, m0, p * kPanel, e);
      }
    });
  }
}

template <typename A>
void fused_entry(const A* a, long M, const IGemmWeights& w, const IGemmEpilogue& e, IGemmKernel kernel) {
  if (!e.m || !e.shift || !e.dst) throw Error("igemm_fused: the epilogue needs m, shift and dst");
  if (M <= 0) return;
  std::vector<std::int64_t> zero;
  run_fused(a, M, w, with_bias(e, w.N(), zero), kernel);
}

}  // namespace

IGemmKernel best_igemm_kernel() {
  return cpu_avx512_vnni() ? IGemmKernel::Avx512Vnni : (cpu_avx2() ? IGemmKernel::Avx2 : IGemmKernel::Plain);
}

bool igemm_kernel_available(IGemmKernel k) {
  return k == IGemmKernel::Plain || (k == IGemmKernel::Avx2 && cpu_avx2()) || (k == IGemmKernel::Avx512Vnni && cpu_avx512_vnni());
}

std::string igemm_kernel_name(IGemmKernel k) {
  switch (k) {
    case IGemmKernel::Avx512Vnni: return "avx512-vnni vpdpbusd " + std::to_string(kVnniRows) + "x" + std::to_string(kVnniPanels * kPanel);
    case IGemmKernel::Avx2: return "avx2 vpmaddwd " + std::to_string(kRows) + "x16";
    case IGemmKernel::Plain: break;
  }
  return "plain";
}

void set_igemm_narrow_epilogue(bool on) { g_narrow_epilogue.store(on); }

bool igemm_narrow_epilogue_applies(const IGemmEpilogue& e, const IGemmWeights& w, bool s8_activations) {
  if (!cpu_avx512_vnni() || w.k_quads() == 0 || !e.m || !e.shift) return false;
  std::vector<std::int64_t> zero;
  return vnni_epilogue(with_bias(e, w.N(), zero), w, s8_activations) == epilogue_avx512_narrow;
}

std::string igemm_impl() { return igemm_kernel_name(best_igemm_kernel()); }

IGemmWeights::IGemmWeights(const std::int8_t* w, int N, int K) : m_N(N), m_K(K) {
  if (N < 1 || K < 1 || K > kIGemmMaxK)
    throw Error("igemm: weights (" + std::to_string(N) + ", " + std::to_string(K) + "): expected N ≥ 1 and 1 ≤ K ≤ " +
                std::to_string(kIGemmMaxK) + " (int32 sums of K products up to 255·128 stay exact only so far)");
  m_k_pairs = (K + 1) / 2;
  m_panels = (N + kPanel - 1) / kPanel;
  m_packed.assign(static_cast<std::size_t>(m_panels) * static_cast<std::size_t>(m_k_pairs) * kPanel * 2, 0);
  m_abs_sum.assign(static_cast<std::size_t>(N), 0);
  for (int n = 0; n < N; ++n) {
    std::int16_t* p = m_packed.data() + static_cast<std::size_t>(n / kPanel) * m_k_pairs * kPanel * 2 + (n % kPanel) * 2;
    const std::int8_t* wr = w + static_cast<long>(n) * K;
    for (int k = 0; k < K; ++k) p[static_cast<std::size_t>(k / 2) * kPanel * 2 + k % 2] = wr[k];
    for (int k = 0; k < K; ++k) m_abs_sum[static_cast<std::size_t>(n)] += wr[k] < 0 ? -wr[k] : wr[k];
  }
  if (!cpu_avx512_vnni()) return;
  m_k_quads = (K + 3) / 4;
  m_quads.assign(static_cast<std::size_t>(m_panels) * static_cast<std::size_t>(m_k_quads) * kPanel * 4, 0);
  m_s8_correction.assign(static_cast<std::size_t>(m_panels) * kPanel, 0);
  for (int n = 0; n < N; ++n) {
    std::int8_t* p = m_quads.data() + static_cast<std::size_t>(n / kPanel) * m_k_quads * kPanel * 4 + (n % kPanel) * 4;
    const std::int8_t* wr = w + static_cast<long>(n) * K;
    std::int32_t sum = 0;
    for (int k = 0; k < K; ++k) {
      p[static_cast<std::size_t>(k / 4) * kPanel * 4 + k % 4] = wr[k];
      sum += wr[k];
    }
    m_s8_correction[static_cast<std::size_t>(n)] = -128 * sum;  // |Σw| ≤ 128·K: fits for K ≤ kIGemmMaxK
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

void igemm_fused(const std::int8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e, IGemmKernel kernel) {
  fused_entry(a, M, w, e, kernel);
}
void igemm_fused(const std::uint8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e, IGemmKernel kernel) {
  fused_entry(a, M, w, e, kernel);
}
void igemm_fused(const std::int8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e) {
  fused_entry(a, M, w, e, best_igemm_kernel());
}
void igemm_fused(const std::uint8_t* a, long M, const IGemmWeights& w, const IGemmEpilogue& e) {
  fused_entry(a, M, w, e, best_igemm_kernel());
}

}  // namespace swinscope::cpu
