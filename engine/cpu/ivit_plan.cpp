#include "engine/cpu/ivit_plan.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <map>
#include <unordered_map>

#include <immintrin.h>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/igemm.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cpu/int8_plan.h"
#include "engine/error.h"
#include "engine/ivit.h"
#include "engine/ivit_params.h"
#include "engine/numerics.h"
#include "engine/quantize.h"
#include "engine/stages.h"

namespace swinscope::cpu {

namespace {

using profiler::Span;
using ivit::sat;

// Per block, the integer functions of the narrow inputs tabulated once from engine/ivit.h (so
// the loops compute the same integers as the CUDA kernels, which evaluate them directly):
//   exp[t]        exp_shift(−t, x0, 15) for t = max − logit in 0…254 (8-bit logits);
//   exp_masked[m] exp_shift(masked − m, …) for a row maximum m in −127…127 (shift-masked keys);
//   gelu[m][x]    ShiftGELU + its dyadic to s8 for an s8 code x in a row whose maximum is m.
struct Tables {
  std::vector<std::int64_t> exp, exp_masked;
  // For shiftmax_row_avx512, which computes exp_shift in int32 lanes with the quotient
  // q = floor(t'/x0) as trunc(fma(t', 1/x0, 0.5/|x0|)) in float: exp_vector_ok when that equals
  // `exp` for all 255 t (checked here; |x0| ≤ 2^14 keeps every value below 2^30) and every
  // exp_masked entry fits int32.
  std::vector<std::int32_t> exp_masked32;
  std::int32_t x0 = 0;
  float inv_x0 = 0.f, half_inv_x0 = 0.f;
  bool exp_vector_ok = false;
  // The AVX-512 Shiftmax's logit offsets: per mask class and head, (N, N) int16, the relative
  // position bias code, or kMaskedKey where the shift mask separates the pair. The windows of one
  // image fall into a few mask classes (none; the last column, the last row, the corner), so the
  // bias and the mask take 2 bytes a pair where they took 8 (int32 bias, float mask), and with
  // the loop over windows inside the loop over heads one head's few tables stay in L1.
  std::vector<std::int16_t> offsets;  // (classes, heads, N, N)
  std::vector<int> win_class;         // (nW): each window's class
  std::vector<char> class_cut;        // (classes): whether the class's mask cuts any pair
  bool bias16 = false;                // every |relative position bias code| ≤ 32767: offsets filled
  std::vector<std::int8_t> gelu;  // (256 maxima) × (256 codes); x > m never occurs
};

constexpr std::int16_t kMaskedKey = INT16_MIN;

// Tables::offsets from the block's bias (heads, N, N) and its stage's shift mask (nW, N, Np) or
// null.
void fill_offsets(Tables& t, const ivit::Block& b, const float* mask, int nw, int heads, int N, int Np) {
  t.bias16 = std::all_of(b.rel_bias.begin(), b.rel_bias.end(), [](std::int32_t v) { return v >= -32767 && v <= 32767; });
  if (!t.bias16) return;
  const std::size_t nn = static_cast<std::size_t>(N) * N;
  std::vector<std::vector<bool>> classes;
  t.win_class.assign(static_cast<std::size_t>(nw), 0);
  for (int win = 0; win < nw; ++win) {
    std::vector<bool> cut(nn, false);
    for (int i = 0; mask && i < N; ++i)
      for (int j = 0; j < N; ++j) cut[static_cast<std::size_t>(i) * N + j] = mask[(static_cast<std::size_t>(win) * N + i) * Np + j] != 0.f;
    const auto it = std::find(classes.begin(), classes.end(), cut);
    t.win_class[static_cast<std::size_t>(win)] = static_cast<int>(it - classes.begin());
    if (it == classes.end()) classes.push_back(std::move(cut));
  }
  for (const auto& c : classes) t.class_cut.push_back(std::find(c.begin(), c.end(), true) != c.end() ? 1 : 0);
  t.offsets.resize(classes.size() * static_cast<std::size_t>(heads) * nn);
  for (std::size_t c = 0; c < classes.size(); ++c)
    for (int h = 0; h < heads; ++h)
      for (std::size_t ij = 0; ij < nn; ++ij)
        t.offsets[(c * static_cast<std::size_t>(heads) + static_cast<std::size_t>(h)) * nn + ij] =
            classes[c][ij] ? kMaskedKey : static_cast<std::int16_t>(b.rel_bias[static_cast<std::size_t>(h) * nn + ij]);
}

Tables make_tables(const ivit::Block& b, const float* mask, int nw, int heads, int N, int Np) {
  Tables t;
  t.exp.resize(255);
  t.exp_masked.resize(255);
  for (int i = 0; i < 255; ++i) {
    t.exp[static_cast<std::size_t>(i)] = ivit::exp_shift(-i, b.x0, ivit::kShiftmaxN);
    t.exp_masked[static_cast<std::size_t>(i)] = ivit::exp_shift(static_cast<std::int64_t>(b.masked) - (i - 127), b.x0, ivit::kShiftmaxN);
  }
  fill_offsets(t, b, mask, nw, heads, N, Np);
  t.x0 = b.x0;
  t.exp_vector_ok = b.x0 < 0 && b.x0 >= -(1 << 14);
  if (t.exp_vector_ok) {
    t.inv_x0 = 1.f / static_cast<float>(b.x0);
    t.half_inv_x0 = 0.5f / static_cast<float>(-b.x0);
    for (int d = 0; d < 255 && t.exp_vector_ok; ++d) {
      const std::int32_t tt = -d + ((-d) >> 1) - ((-d) >> 4);
      const auto q = static_cast<std::int32_t>(std::fma(static_cast<float>(tt), t.inv_x0, t.half_inv_x0));
      const std::int32_t base = tt - b.x0 * q - 2 * b.x0, sh = ivit::kShiftmaxN - 1 - q;
      const std::int64_t e = sh >= 0 ? (static_cast<std::int64_t>(base) << sh) : (sh <= -32 ? 0 : base >> -sh);
      t.exp_vector_ok = e == t.exp[static_cast<std::size_t>(d)];
    }
  }
  for (const std::int64_t em : t.exp_masked) {
    t.exp_vector_ok = t.exp_vector_ok && em >= 0 && em < (std::int64_t{1} << 30);
    t.exp_masked32.push_back(static_cast<std::int32_t>(em));
  }
  if (b.act == Activation::GELU) {
    t.gelu.assign(256 * 256, 0);
    for (int m = -128; m < 128; ++m) {
      const std::int64_t e2 = ivit::exp_shift(-m, b.gelu_x0, ivit::kShiftGeluN);
      for (int x = -128; x <= m; ++x)
        t.gelu[static_cast<std::size_t>((m + 128) * 256 + x + 128)] =
            static_cast<std::int8_t>(sat(ivit::apply(ivit::shift_gelu_elem(x, m, e2, b.gelu_x0), b.gelu_out), 127));
    }
  }
  return t;
}

// The element loops below run in int64 (every product of a dyadic multiplier), which vectorizes
// only with AVX-512 (vpmullq, vpsravq, vpminsq): each is compiled three times, for x86-64-v4,
// AVX2 and the baseline, and the loader picks the one the CPU runs (GCC target_clones). The
// bodies are always-inline templates, so each clone compiles them for its own ISA.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SWS_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define SWS_CLONES
#endif
#define SWS_INLINE [[gnu::always_inline]] inline

// Per-channel dyadics as int64 arrays for vector loops: (v · m + 2^(shift−1)) >> shift is
// ivit::apply exactly for shifts 1…62 (every dyadic of a real model: |scale| in [2^−62, 1));
// `vector` is false when some channel's shift lies outside, and its owner keeps the scalar path.
// A dyadic that ivit::apply makes 0 for every input (m = 0, or a shift of 63 or more) is stored as
// m = 0, shift 1, which the vector form also makes 0 (a LayerNorm channel with γ ≈ 0).
struct DyadicArrays {
  std::vector<std::int64_t> m, round, shift;
  bool vector = true;
  explicit DyadicArrays(const std::vector<ivit::Dyadic>& ds) {
    for (const auto& d : ds) {
      const bool zero = d.m == 0 || d.shift >= 63;
      vector = vector && (zero || d.shift >= 1);
      m.push_back(zero ? 0 : d.m);
      shift.push_back(zero ? 1 : std::clamp(d.shift, 1, 62));
      round.push_back(std::int64_t{1} << (shift.back() - 1));
    }
  }
};

// A linear's requantization (ivit::Linear::requant, then clamping) as igemm_fused applies it to
// each output tile: ((acc + bias) · m + 2^(shift−1)) >> shift per output channel.
struct RowRequant {
  std::vector<std::int64_t> bias;
  std::vector<std::int32_t> m32, shift32;
  explicit RowRequant(const ivit::Linear& l) : bias(l.bias) {
    for (const auto& d : l.out) m32.push_back(d.m), shift32.push_back(d.shift);
  }
  // igemm_fused's epilogue for this linear: ivit::Linear::requant clamped to [lo, hi], then `out`.
  IGemmEpilogue epilogue(IGemmOut out, void* dst, long ldd, std::int64_t lo, std::int64_t hi) const {
    IGemmEpilogue e;
    e.bias = bias.data();
    e.m = m32.data();
    e.shift = shift32.data();
    e.lo = lo;
    e.hi = hi;
    e.out = out;
    e.dst = dst;
    e.ldd = ldd;
    return e;
  }
};

constexpr std::int64_t kWide = std::int64_t{1} << 62;  // "no clamp" for an epilogue

// I-LayerNorm (ivit::ilayernorm_mean / _factor / _out) and the affine part with per-channel
// multiplier, rounding and shift arrays, saturated to ±lim.
template <typename In, typename Out>
SWS_INLINE void layernorm_body(const In* x, int C, const std::int64_t* mm, const std::int64_t* rd, const std::int64_t* sh,
                               const std::int64_t* b, std::int64_t lim, Out* out) {
  // One pass for Σx and Σx²; then Σ(x − mean)² = Σx² − 2·mean·Σx + C·mean², the same integer
  // (every term stays far inside int64 for codes of 16 bits and C ≤ 2^20).
  std::int64_t s = 0, s2 = 0;
  if constexpr (sizeof(In) == 2) {  // 16-bit codes: x² < 2^30 in int32
#pragma omp simd reduction(+ : s, s2)
    for (int c = 0; c < C; ++c) {
      const std::int32_t v = x[c];
      s += v;
      s2 += v * v;
    }
  } else {
#pragma omp simd reduction(+ : s, s2)
    for (int c = 0; c < C; ++c) {
      const std::int64_t v = x[c];
      s += v;
      s2 += v * v;
    }
  }
  const std::int64_t mean = ivit::ilayernorm_mean(s, C);
  const std::int64_t var = s2 - 2 * mean * s + static_cast<std::int64_t>(C) * mean * mean;
  const std::int64_t factor = ivit::ilayernorm_factor_host(var);
#pragma omp simd
  for (int c = 0; c < C; ++c) {
    const std::int64_t y = ((x[c] - mean) * factor) >> 1;  // ivit::ilayernorm_out: floor(· / 2)
    std::int64_t v = ((y * mm[c] + rd[c]) >> sh[c]) + b[c];
    v = v < -lim ? -lim : (v > lim ? lim : v);
    out[c] = static_cast<Out>(v);
  }
}
// The pairs the plan uses: 16-bit codes in (the residual stream, the patch GEMM's output), s8 /
// 16-bit / int32 out.
#define SWS_LAYERNORM_CLONE(IN, OUT)                                                                                    \
  SWS_CLONES void layernorm_row(const IN* x, int C, const std::int64_t* mm, const std::int64_t* rd, const std::int64_t* sh, \
                                const std::int64_t* b, std::int64_t lim, OUT* out) {                                      \
    layernorm_body(x, C, mm, rd, sh, b, lim, out);                                                                        \
  }
SWS_LAYERNORM_CLONE(std::int16_t, std::int8_t)
SWS_LAYERNORM_CLONE(std::int16_t, std::int16_t)
SWS_LAYERNORM_CLONE(std::int16_t, std::int32_t)
#undef SWS_LAYERNORM_CLONE

bool avx512_shiftmax_allowed();  // set_ivit_avx512_shiftmax: the AVX-512 Shiftmax and LayerNorm
#if defined(__x86_64__) && defined(__GNUC__)
template <typename Out>
void layernorm_row16_avx512(const std::int16_t* x, int C, const std::int64_t* eo, Out* out);
#endif

// ivit::LayerNorm::row for vector loops (the reference row when some shift lies outside 1…62).
// 16-bit codes in, s8 at ±127 or 16-bit codes at ±32767 out (ln1, ln2, the merges' and the
// patch embedding's LayerNorms) have an AVX-512 form, layernorm_row16_avx512, where every channel's affine result before the clamp provably fits
// int32 (|y'| ≤ 2^30 since |x − mean| ≤ √var): its per-channel constants in `eo`, per group of 16
// channels m, rounding, shift and β, each as 8 even then 8 odd channels (int64).
struct RowLayerNorm : DyadicArrays {
  std::vector<std::int64_t> beta, eo;
  bool narrow16 = false;
  explicit RowLayerNorm(const ivit::LayerNorm& ln) : DyadicArrays(ln.gamma), beta(ln.beta) {
    __extension__ using I128 = __int128;
    narrow16 = vector && avx512_shiftmax_allowed();
    const int C = static_cast<int>(m.size()), groups = (C + 15) / 16;
    for (int c = 0; c < C && narrow16; ++c) {
      const I128 mag = (I128{1} << 30) * (m[static_cast<std::size_t>(c)] < 0 ? -m[static_cast<std::size_t>(c)] : m[static_cast<std::size_t>(c)]);
      const I128 b = beta[static_cast<std::size_t>(c)] < 0 ? -I128{beta[static_cast<std::size_t>(c)]} : I128{beta[static_cast<std::size_t>(c)]};
      narrow16 = ((mag + round[static_cast<std::size_t>(c)]) >> shift[static_cast<std::size_t>(c)]) + 1 + b < (I128{1} << 31) - 1;
    }
    if (!narrow16) return;
    eo.assign(static_cast<std::size_t>(groups) * 64, 0);
    for (int c = 0; c < groups * 16; ++c) {
      const int g = c / 16, j = c % 16, lane = (j % 2) * 8 + j / 2;  // even channels first
      const bool live = c < C;
      std::int64_t* e = eo.data() + static_cast<std::size_t>(g) * 64 + lane;
      e[0] = live ? m[static_cast<std::size_t>(c)] : 0;
      e[16] = live ? round[static_cast<std::size_t>(c)] : 0;
      e[32] = live ? shift[static_cast<std::size_t>(c)] : 1;
      e[48] = live ? beta[static_cast<std::size_t>(c)] : 0;
    }
  }
  template <typename In, typename Out>
  void row(const ivit::LayerNorm& ln, const In* x, Out* out, std::int32_t* scratch, std::int64_t lim) const {
    if (!vector) return ln.row(x, out, scratch, lim);
#if defined(__x86_64__) && defined(__GNUC__)
    if constexpr (std::is_same_v<In, std::int16_t> && (std::is_same_v<Out, std::int8_t> || std::is_same_v<Out, std::int16_t>))
      if (narrow16 && lim == std::numeric_limits<Out>::max()) return layernorm_row16_avx512(x, ln.C, eo.data(), out);
#endif
    layernorm_row(x, ln.C, m.data(), round.data(), shift.data(), beta.data(), lim, out);
  }
};

// The image's s8 codes: numerics::q_signed(x · inv) (round half to even, as std::nearbyint).
SWS_CLONES void quantize_s8(const float* x, long n, float inv, std::int8_t* out) {
#pragma omp simd
  for (long i = 0; i < n; ++i) out[i] = static_cast<std::int8_t>(numerics::q_signed(x[i] * inv));
}

// One Shiftmax row of stage 5: 8-bit logits sat(apply(score, att) + bias, 127) (ivit::apply
// written out; att's shift in 1…62), masked keys at `masked`, then ivit::shiftmax_row with the
// exponentials from the block's tables: a masked logit is below −127, the others within ±127
// of the row's maximum.
struct ShiftmaxRow {
  std::int64_t att_m = 0, att_rd = 0;
  int att_sh = 1;
  std::int32_t masked = 0;
  const std::int64_t* exp = nullptr;         // Tables::exp
  const std::int64_t* exp_masked = nullptr;  // Tables::exp_masked
};
SWS_CLONES void shiftmax_row_fast(const ShiftmaxRow& p, const std::int32_t* sc, const std::int32_t* rb, const float* mk, int N, int Np,
                                  std::int32_t* lg, std::int64_t* ep, std::uint8_t* out) {
  const std::int64_t att_m = p.att_m, att_rd = p.att_rd;
  const int att_sh = p.att_sh;
#pragma omp simd
  for (int j = 0; j < N; ++j) {
    std::int64_t v = ((sc[j] * att_m + att_rd) >> att_sh) + rb[j];
    lg[j] = static_cast<std::int32_t>(v < -127 ? -127 : (v > 127 ? 127 : v));
  }
  if (mk) {
    const std::int32_t masked = p.masked;
#pragma omp simd
    for (int j = 0; j < N; ++j) lg[j] = mk[j] != 0.f ? masked : lg[j];
  }
  std::int32_t mx = -127;
#pragma omp simd reduction(max : mx)
  for (int j = 0; j < N; ++j) mx = lg[j] > mx ? lg[j] : mx;
  const std::int64_t e_masked = p.exp_masked[mx + 127];
  const std::int64_t* ex = p.exp;
  std::int64_t sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < N; ++j) {
    const std::int64_t x = lg[j] < -127 ? e_masked : ex[mx - (lg[j] < -127 ? mx : lg[j])];
    ep[j] = x;
    sum += x;
  }
  // ivit::ratio_q8(e, R(sum)) written out: every e ≤ sum ≤ 2^22 here, so its cap and its
  // overflow guard never act (the CUDA kernels, which call it, give the same bits).
  const std::int64_t recip = ivit::reciprocal(sum), half = std::int64_t{1} << (ivit::kOutShift - 1);
#pragma omp simd
  for (int j = 0; j < N; ++j) {
    const std::int64_t v = (ep[j] * recip + half) >> ivit::kOutShift;
    out[j] = static_cast<std::uint8_t>(v > ivit::kOutMax ? ivit::kOutMax : v);
  }
  for (int j = N; j < Np; ++j) out[j] = 0;  // (window·head, N, Np): the padding p · v reads
}

#if defined(__x86_64__) && defined(__GNUC__)
#define SWS_HAVE_AVX512_SHIFTMAX 1
bool cpu_avx512_shiftmax() {
  static const bool v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return v;
}
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512dq,avx512vl")
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 on its own _mm512_undefined operands
#pragma GCC diagnostic ignored "-Wuninitialized"
// shiftmax_row_fast for the N ≤ 64 rows of one (window, head) with AVX-512, the same integers:
// the logits' dyadic on even and odd int32 lanes as int64 (vpmuldq, vpsraq), clamped to ±2^30
// before the offset (|bias| ≤ 32767: Tables::bias16, so the ±127 clamp after it is unchanged), the
// exponentials computed in int32 lanes (Tables::exp_vector_ok), the sum and the ratio in int64.
// Three passes over the rows (logits and row maxima; exponentials, row sums and reciprocals;
// outputs) through an L1 buffer: each row is a long chain (a reduction, then the next pass's
// work, a reduction, a 64-bit division), and short per-row loops let the core overlap the
// chains of neighbouring rows. Scores sc (N, Np), logit offsets off (N, N) of Tables::offsets
// (the bias, or kMaskedKey for a key the shift mask cuts off; Masked: some are), out (N, Np).
template <bool Masked>
void shiftmax_head_avx512_t(const ShiftmaxRow& p, const Tables& tab, const std::int32_t* sc, const std::int16_t* off, int N, int Np,
                            std::uint8_t* out) {
  constexpr int kLd = 64;
  alignas(64) std::int32_t buf[64 * kLd];  // (N, kLd): the logits, then the exponentials
  std::int32_t row_max[64];
  std::int64_t recip[64];
  const int nv = (N + 15) / 16;
  __mmask16 live[4];
  for (int v = 0; v < nv; ++v) {
    const int left = N - 16 * v;
    live[v] = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
  }
  {  // logits and row maxima
    const __m512i m = _mm512_set1_epi64(p.att_m), rd = _mm512_set1_epi64(p.att_rd);
    const __m512i wide = _mm512_set1_epi64(std::int64_t{1} << 30), nwide = _mm512_set1_epi64(-(std::int64_t{1} << 30));
    const __m512i lim = _mm512_set1_epi32(127), nlim = _mm512_set1_epi32(-127);
    const __m512i masked_key = _mm512_set1_epi32(kMaskedKey), masked = _mm512_set1_epi32(p.masked);
    const __m128i sh = _mm_cvtsi32_si128(p.att_sh);
    for (int i = 0; i < N; ++i) {
      __m512i mx = nlim;
      for (int v = 0; v < nv; ++v) {
        const __m512i s = _mm512_maskz_loadu_epi32(live[v], sc + static_cast<long>(i) * Np + 16 * v);
        __m512i lo = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(s, m), rd), sh);
        __m512i hi = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(s, 32), m), rd), sh);
        lo = _mm512_max_epi64(_mm512_min_epi64(lo, wide), nwide);
        hi = _mm512_max_epi64(_mm512_min_epi64(hi, wide), nwide);
        __m512i x = _mm512_mask_blend_epi32(static_cast<__mmask16>(0xAAAA), lo, _mm512_slli_epi64(hi, 32));
        const __m512i b = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(live[v], off + static_cast<long>(i) * N + 16 * v));
        x = _mm512_max_epi32(_mm512_min_epi32(_mm512_add_epi32(x, b), lim), nlim);
        if constexpr (Masked) x = _mm512_mask_mov_epi32(x, _mm512_mask_cmpeq_epi32_mask(live[v], b, masked_key), masked);
        _mm512_store_si512(buf + i * kLd + 16 * v, x);
        mx = _mm512_mask_max_epi32(mx, live[v], mx, x);
      }
      row_max[i] = _mm512_reduce_max_epi32(mx);
    }
  }
  {  // exponentials, row sums and reciprocals
    const __m512i floor127 = _mm512_set1_epi32(-127);
    const __m512 inv_x0 = _mm512_set1_ps(tab.inv_x0), half_inv_x0 = _mm512_set1_ps(tab.half_inv_x0);
    const __m512i x0 = _mm512_set1_epi32(tab.x0), x0x2 = _mm512_set1_epi32(2 * tab.x0), n1 = _mm512_set1_epi32(ivit::kShiftmaxN - 1);
    for (int i = 0; i < N; ++i) {
      const __m512i vmx = _mm512_set1_epi32(row_max[i]);
      const __m512i e_masked = _mm512_set1_epi32(tab.exp_masked32[static_cast<std::size_t>(row_max[i] + 127)]);
      __m512i sum = _mm512_setzero_si512();
      for (int v = 0; v < nv; ++v) {
        const __m512i lg = _mm512_load_si512(buf + i * kLd + 16 * v);
        const __mmask16 is_masked = _mm512_mask_cmplt_epi32_mask(live[v], lg, floor127);
        const __mmask16 plain = static_cast<__mmask16>(live[v] & ~is_masked);
        // exp_shift(lg − max) for the plain lanes (Tables: the quotient by x0 in float, checked)
        const __m512i t0 = _mm512_sub_epi32(lg, vmx);
        const __m512i t = _mm512_sub_epi32(_mm512_add_epi32(t0, _mm512_srai_epi32(t0, 1)), _mm512_srai_epi32(t0, 4));
        const __m512i q = _mm512_cvttps_epi32(_mm512_fmadd_ps(_mm512_cvtepi32_ps(t), inv_x0, half_inv_x0));
        const __m512i base = _mm512_sub_epi32(_mm512_sub_epi32(t, _mm512_mullo_epi32(q, x0)), x0x2);
        const __m512i esh = _mm512_sub_epi32(n1, q);
        const __mmask16 left = _mm512_cmpge_epi32_mask(esh, _mm512_setzero_si512());
        __m512i e = _mm512_mask_blend_epi32(left, _mm512_srav_epi32(base, _mm512_sub_epi32(_mm512_setzero_si512(), esh)),
                                            _mm512_sllv_epi32(base, esh));
        e = _mm512_maskz_mov_epi32(plain, e);
        e = _mm512_mask_mov_epi32(e, is_masked, e_masked);
        _mm512_store_si512(buf + i * kLd + 16 * v, e);
        sum = _mm512_add_epi64(sum, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(e)));
        sum = _mm512_add_epi64(sum, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(e, 1)));
      }
      // ivit::ratio_q8 written out as in shiftmax_row_fast (its cap and guard never act here)
      recip[i] = ivit::reciprocal(_mm512_reduce_add_epi64(sum));
    }
  }
  // the outputs round(e · R / 2^45), at most 255; dead lanes hold e = 0, so they store the padding's zeros
  const __m512i half = _mm512_set1_epi64(std::int64_t{1} << (ivit::kOutShift - 1)), top = _mm512_set1_epi64(ivit::kOutMax);
  for (int i = 0; i < N; ++i) {
    const __m512i r = _mm512_set1_epi64(recip[i]);
    for (int v = 0; v < nv; ++v) {
      const __m512i e = _mm512_load_si512(buf + i * kLd + 16 * v);
      const __m512i lo = _mm512_min_epi64(
          _mm512_srli_epi64(_mm512_add_epi64(_mm512_mullo_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(e)), r), half), ivit::kOutShift), top);
      const __m512i hi = _mm512_min_epi64(
          _mm512_srli_epi64(_mm512_add_epi64(_mm512_mullo_epi64(_mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(e, 1)), r), half), ivit::kOutShift),
          top);
      const __m128i bytes = _mm_unpacklo_epi64(_mm512_cvtepi64_epi8(lo), _mm512_cvtepi64_epi8(hi));
      const int room = Np - 16 * v;
      const __mmask16 st = room >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << room) - 1u);
      _mm_mask_storeu_epi8(out + static_cast<long>(i) * Np + 16 * v, st, bytes);
    }
  }
}
void shiftmax_head_avx512(const ShiftmaxRow& p, const Tables& tab, const std::int32_t* sc, const std::int16_t* off, bool masked, int N,
                          int Np, std::uint8_t* out) {
  if (masked) return shiftmax_head_avx512_t<true>(p, tab, sc, off, N, Np, out);
  shiftmax_head_avx512_t<false>(p, tab, sc, off, N, Np, out);
}
// RowLayerNorm's AVX-512 form (the same integers as layernorm_body): Σx in int32 lanes, Σx² by
// vpmaddwd (pairs of 16-bit squares, each pair < 2^31) into int64 lanes; then per 16 channels
// (x − mean)·factor and y'·m on even and odd lanes by vpmuldq (|x − mean| < 2^16, factor < 2^31,
// |y'| ≤ 2^30, |m| < 2^31), the rounding shift in int64, + β, the low dwords merged (each inside
// int32: RowLayerNorm::narrow16), −lim as the floor and vpmovsdb's / vpmovsdw's saturation as the
// ceiling (lim = 127 for s8 out, 32767 for 16-bit codes).
template <typename Out>
void layernorm_row16_avx512(const std::int16_t* x, int C, const std::int64_t* eo, Out* out) {
  __m512i s = _mm512_setzero_si512(), s2 = _mm512_setzero_si512();
  for (int c = 0; c < C; c += 32) {
    const __mmask32 k = C - c >= 32 ? ~__mmask32{0} : static_cast<__mmask32>((1u << (C - c)) - 1u);
    const __m512i v = _mm512_maskz_loadu_epi16(k, x + c);
    s = _mm512_add_epi32(s, _mm512_madd_epi16(v, _mm512_set1_epi16(1)));
    const __m512i q = _mm512_madd_epi16(v, v);
    s2 = _mm512_add_epi64(s2, _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm512_castsi512_si256(q)),
                                               _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(q, 1))));
  }
  const std::int64_t sum = _mm512_reduce_add_epi32(s), sum2 = _mm512_reduce_add_epi64(s2);
  const std::int64_t mean = ivit::ilayernorm_mean(sum, C);
  const std::int64_t var = sum2 - 2 * mean * sum + static_cast<std::int64_t>(C) * mean * mean;
  const __m512i vmean = _mm512_set1_epi32(static_cast<std::int32_t>(mean)), vf = _mm512_set1_epi64(ivit::ilayernorm_factor_host(var));
  const __m512i floor = _mm512_set1_epi32(-static_cast<int>(std::numeric_limits<Out>::max()));
  for (int c = 0; c < C; c += 16) {
    const __mmask16 k = C - c >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (C - c)) - 1u);
    const std::int64_t* e = eo + static_cast<std::size_t>(c / 16) * 64;
    const __m512i d = _mm512_sub_epi32(_mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(k, x + c)), vmean);
    const __m512i ye = _mm512_srai_epi64(_mm512_mul_epi32(d, vf), 1);  // ivit::ilayernorm_out: floor(· / 2)
    const __m512i yo = _mm512_srai_epi64(_mm512_mul_epi32(_mm512_srli_epi64(d, 32), vf), 1);
    const __m512i ve = _mm512_add_epi64(
        _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(ye, _mm512_load_si512(e)), _mm512_load_si512(e + 16)), _mm512_load_si512(e + 32)),
        _mm512_load_si512(e + 48));
    const __m512i vo = _mm512_add_epi64(
        _mm512_srav_epi64(_mm512_add_epi64(_mm512_mul_epi32(yo, _mm512_load_si512(e + 8)), _mm512_load_si512(e + 24)), _mm512_load_si512(e + 40)),
        _mm512_load_si512(e + 56));
    const __m512i v = _mm512_max_epi32(_mm512_mask_shuffle_epi32(ve, 0xAAAA, vo, _MM_PERM_CCAA), floor);
    if constexpr (sizeof(Out) == 1)
      _mm_mask_storeu_epi8(out + c, k, _mm512_cvtsepi32_epi8(v));
    else
      _mm256_mask_storeu_epi16(out + c, k, _mm512_cvtsepi32_epi16(v));
  }
}
template void layernorm_row16_avx512<std::int8_t>(const std::int16_t*, int, const std::int64_t*, std::int8_t*);
template void layernorm_row16_avx512<std::int16_t>(const std::int16_t*, int, const std::int64_t*, std::int16_t*);
#pragma GCC diagnostic pop
#pragma GCC pop_options
#endif

std::atomic<bool> g_avx512_shiftmax{true};  // set_ivit_avx512_shiftmax

bool avx512_shiftmax_allowed() {
#ifdef SWS_HAVE_AVX512_SHIFTMAX
  return g_avx512_shiftmax.load() && cpu_avx512_shiftmax();
#else
  return false;
#endif
}

class IvitCpuPlan final : public Plan {
 public:
  IvitCpuPlan(const Model& model, int max_batch) : m_p(ivit::build_params(model)), m_cfg(m_p.cfg), m_max_batch(max_batch) {
    if (max_batch <= 0) throw Error("plan: max_batch must be positive");
    const auto& c = m_cfg;
    auto widen = [&](const ivit::Linear& l) {
      m_gemm.emplace(&l, IGemmWeights(l.w.data(), l.N, l.K));
      m_rq.emplace(&l, RowRequant(l));
    };
    auto norm = [&](const ivit::LayerNorm& ln) { m_ln.emplace(&ln, RowLayerNorm(ln)); };
    norm(m_p.patch_ln);
    norm(m_p.norm);
    for (const auto& st : m_p.stages)
      if (st.ln.C > 0) norm(st.ln);
    for (const auto& b : m_p.blocks) norm(b.ln1), norm(b.ln2);
    widen(m_p.patch);
    widen(m_p.head);
    for (const auto& st : m_p.stages)
      if (st.merge.N > 0) widen(st.merge);
    for (const auto& b : m_p.blocks) {
      widen(b.qkv), widen(b.proj), widen(b.fc1), widen(b.fc2);
    }
    for (const auto& b : m_p.blocks) {
      const int s = b.stage, H = c.stage_resolution(s), w = c.stage_window(s), N = w * w;
      const float* mask = b.shift > 0 ? m_p.stages[static_cast<std::size_t>(s)].mask.data() : nullptr;
      m_tables.push_back(make_tables(b, mask, (H / w) * (H / w), c.num_heads[s], N, int8::padded_tokens(N)));
    }
    for (const auto& b : m_p.blocks) token_map(b.stage, b.shift);  // built here: run() allocates nothing
    std::size_t x_e = 0, a_e = 0, sc_e = 0, kt_e = 0, vp_e = 0, hid_e = 0;
    for (int s = 0; s < c.num_stages(); ++s) {
      const int C = c.stage_dim(s), H = c.stage_resolution(s), L = H * H, w = c.stage_window(s), heads = c.num_heads[s];
      const int N = w * w, hidden = c.mlp_hidden(s);
      if (s > 0) a_e = std::max(a_e, static_cast<std::size_t>(L) * 4 * c.stage_dim(s - 1));
      x_e = std::max(x_e, static_cast<std::size_t>(L) * C);
      a_e = std::max(a_e, static_cast<std::size_t>(L) * C);
      sc_e = std::max(sc_e, static_cast<std::size_t>(L) * heads * int8::padded_tokens(N));  // (window·head, N, Np)
      kt_e = std::max(kt_e, static_cast<std::size_t>(L / N) * heads * int8::kt_head_bytes(N, C / heads));
      vp_e = std::max(vp_e, static_cast<std::size_t>(L / N) * heads * int8::vp_head_bytes(N, C / heads));
      hid_e = std::max(hid_e, static_cast<std::size_t>(L) * hidden);
    }
    const int pk = m_p.patch.K;
    const auto B = static_cast<std::size_t>(max_batch);
    const std::size_t L0 = static_cast<std::size_t>(c.stage_resolution(0)) * c.stage_resolution(0);
    m_cols.resize(B * L0 * pk);
    m_cols_q.resize(B * L0 * pk);
    m_x.resize(B * x_e);
    m_a.resize(B * a_e);
    m_patch16.resize(B * L0 * static_cast<std::size_t>(c.embed_dim));
    m_q.resize(B * x_e);
    m_qkv8.resize(B * 3 * x_e);
    m_k.resize(B * kt_e);
    m_v.resize(B * vp_e);
    m_probs.resize(B * sc_e);
    m_ctx.resize(B * x_e);
    m_h.resize(B * hid_e);
    m_h2.resize(B * hid_e);
    m_pool.resize(B * static_cast<std::size_t>(c.num_features()));
    m_head_acc.resize(B * static_cast<std::size_t>(c.num_classes));
  }

  int max_batch() const override { return m_max_batch; }

  // Numerics taps (engine/quant_error.h): the codes each stage keeps, dequantized with their
  // scales, in the float walk's layouts and names. The integer-only plan never forms qkv's,
  // proj's and fc2's outputs at an 8-bit scale (it requantizes straight into q/k/v and the
  // residual stream), nor a GELU block's FC1 output before its bias, so those are not tapped.
  bool set_tensor_tap(TensorTap tap) override {
    m_tap = std::move(tap);
    return true;
  }
  Backend backend() const override { return Backend::CPU; }
  Variant variant() const override { return Variant::Int8Ivit; }

  std::string shiftmax_impl() const {
    return m_avx512_shiftmax ? "AVX-512, three passes over a head's rows, the exponent computed in int32 lanes" : "vector loop, tabulated exponentials";
  }

  std::vector<StageKernel> kernels() const override {
    const std::string loop = "integer loop (engine/ivit.h): ";
    const std::string gemm = "igemm_fused (engine/cpu/igemm.h, " + igemm_impl() + "): exact ";
    bool gelu = false, relu = false;
    for (const auto& b : m_p.blocks) (b.act == Activation::ReLU ? relu : gelu) = true;
    std::vector<StageKernel> k;
    k.push_back({std::string(kPatchEmbed), loop + "quantize the image to s8 + im2col + s8 GEMM (weights per channel; epilogue: bias, "
                                                  "dyadic to 16 bits) + I-LayerNorm into the 16-bit residual stream"});
    k.push_back({"ln1_quant", loop + "I-LayerNorm (integer mean, isqrt) + cyclic shift + window partition + dyadic to s8"});
    k.push_back({"qkv_gemm", gemm + "s8 x s8 -> s32 GEMM, epilogue per output tile: int32 bias + dyadic to s8"});
    k.push_back({"qkv_bias_quant", "split heads: q, k pair-transposed, v token-paired (int8_ops.h's layouts)"});
    k.push_back({"qk_gemm", "per window and head, the int8 plan's exact q . k^T (engine/cpu/int8_ops.h qk_gemm_head, " + std::string(int8::impl_name(int8::attention_impl(int8::best_impl(), m_cfg.stage_window(0) * m_cfg.stage_window(0), m_cfg.embed_dim / m_cfg.num_heads[0]))) + ") into an L1 buffer of s32 scores, then softmax's work on it"});
    k.push_back({"softmax", "none: done in qk_gemm's span (an empty span, kept so the timelines line up): " + loop +
                            "dyadic to 8-bit logits + integer relative position bias + shift mask + Shiftmax (" + shiftmax_impl() + ") -> u8 (1/256)"});
    k.push_back({"av_gemm", "the int8 plan's exact av_gemm core (engine/cpu/int8_ops.h av_gemm_dyadic): u8 p . s8 v -> s32 per window and head, heads merged, "
                            "each sum requantized by the dyadic to s8 as it forms"});
    k.push_back({"proj_gemm", gemm + "s8 x s8 -> s32 GEMM, epilogue per output tile: int32 bias, dyadic + window reverse + "
                                      "reverse shift + integer residual add (16 bits)"});
    k.push_back({"proj_residual_ln2_quant", loop + "I-LayerNorm + dyadic to s8"});
    if (gelu) k.push_back({"fc1_gemm", "GELU blocks: " + gemm + "s8 GEMM, epilogue: int32 bias + dyadic to s8"});
    if (relu) k.push_back({"fc1_gemm", "GELU-less blocks: " + gemm + "s8 GEMM, epilogue: int32 bias + ReLU in the dyadic requantization to u8"});
    if (gelu) k.push_back({"fc1_bias_gelu_quant", loop + "ShiftGELU (row max, then a per-block table of engine/ivit.h's ShiftGELU + dyadic to s8)"});
    k.push_back({"fc2_gemm", gemm + "s8 (u8 after ReLU) GEMM, epilogue: int32 bias, dyadic + integer residual add (16 bits)"});
    k.push_back({"fc2_bias_residual", "none: fused into fc2_gemm's epilogue (an empty span, kept so the timelines line up)"});
    if (m_cfg.num_stages() > 1) {
      k.push_back({std::string(kMergeLnQuant), loop + "2x2 gather + I-LayerNorm + dyadic to s8"});
      k.push_back({std::string(kMergeGemm), gemm + "s8 GEMM, epilogue: dyadic into the next stage's 16-bit residual"});
    }
    k.push_back({std::string(kHead), loop + "I-LayerNorm + dyadic to s8 + integer mean pool + s8 GEMM (weights per channel); "
                                             "the logits are the only dequantized values"});
    return k;
  }

  void run(const float* input, int batch, float* logits, profiler::Recorder* rec) override {
    if (batch <= 0 || batch > m_max_batch)
      throw Error("plan: batch " + std::to_string(batch) + " outside 1.." + std::to_string(m_max_batch), Error::Kind::Runtime);
    const auto& c = m_cfg;
    Span fwd(rec, kForward, -1);
    {
      Span sp(rec, kPatchEmbed, -1);
      patch_embed(input, batch);
      if (m_tap) tap("patch_embed.output", m_x.data(), static_cast<std::size_t>(batch) * c.stage_resolution(0) * c.stage_resolution(0) * c.embed_dim, m_p.s_patch_out);
    }
    for (int s = 0; s < c.num_stages(); ++s) {
      if (s > 0) merge(s, batch, rec);
      for (const auto& bw : m_p.blocks)
        if (bw.stage == s) run_block(bw, batch, rec);
    }
    Span sp(rec, kHead, -1);
    head(batch, logits);
  }

 private:
  void patch_embed(const float* input, int batch) {
    const auto& c = m_cfg;
    const long rows = static_cast<long>(batch) * c.stage_resolution(0) * c.stage_resolution(0);
    const int pk = m_p.patch.K, C = c.embed_dim;
    patch_im2col(input, m_cols.data(), batch, c.in_chans, c.img_size, c.patch_size);
    const float inv = 1.f / m_p.s_img;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; ++r) quantize_s8(m_cols.data() + r * pk, pk, inv, m_cols_q.data() + r * pk);
    // ±32767 codes as 16 bits, so the LayerNorm takes its 16-bit (AVX-512) row
    igemm_fused(m_cols_q.data(), rows, packed(m_p.patch), rq(m_p.patch).epilogue(IGemmOut::S16, m_patch16.data(), C, -32767, 32767));
#pragma omp parallel
    {
      std::vector<std::int32_t> scratch(static_cast<std::size_t>(C));
      const RowLayerNorm& ln = vln(m_p.patch_ln);
#pragma omp for schedule(static)
      for (long r = 0; r < rows; ++r) ln.row(m_p.patch_ln, m_patch16.data() + r * C, m_x.data() + r * C, scratch.data(), 32767);
    }
  }

  void merge(int s, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const auto& st = m_p.stages[static_cast<std::size_t>(s)];
    const int Hp = c.stage_resolution(s - 1), Cp = c.stage_dim(s - 1), H = Hp / 2;
    const long rows = static_cast<long>(batch) * H * H;
    {
      Span sp(rec, kMergeLnQuant, -1);
#pragma omp parallel
      {
        std::vector<std::int16_t> row(static_cast<std::size_t>(4 * Cp));  // the residual stream's codes, gathered
        std::vector<std::int32_t> scratch(row.size());
        const RowLayerNorm& ln = vln(st.ln);
#pragma omp for schedule(static)
        for (long r = 0; r < rows; ++r) {
          const long b = r / (H * H);
          const int i = static_cast<int>((r % (H * H)) / H), j = static_cast<int>(r % H);
          for (int q = 0; q < 4; ++q) {
            const long src = (b * Hp + 2 * i + numerics::merge_dy(q)) * Hp + 2 * j + numerics::merge_dx(q);
            std::copy_n(m_x.data() + src * Cp, Cp, row.data() + static_cast<std::size_t>(q) * Cp);
          }
          ln.row(st.ln, row.data(), m_a.data() + r * 4 * Cp, scratch.data(), 127);
        }
      }
    }
    Span sp(rec, kMergeGemm, -1);
    const int C = st.merge.N;
    igemm_fused(m_a.data(), rows, packed(st.merge), rq(st.merge).epilogue(IGemmOut::S16, m_x.data(), C, -32767, 32767));
    if (m_tap) {
      const std::string d = "layers." + std::to_string(s) + ".downsample.";
      tap(d + "reduction.input_amax", m_a.data(), static_cast<std::size_t>(rows) * st.merge.K, st.s_in);
      tap(d + "output", m_x.data(), static_cast<std::size_t>(rows) * C, st.s_out);
    }
  }

  void run_block(const ivit::Block& bw, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const int s = bw.stage, H = c.stage_resolution(s), C = c.stage_dim(s), w = c.stage_window(s), heads = c.num_heads[s];
    const int N = w * w, d = C / heads, hidden = c.mlp_hidden(s), nw = (H / w) * (H / w);
    const long rows = static_cast<long>(batch) * H * H, wins = rows / N;
    const bool relu = bw.act == Activation::ReLU;
    const float* mask = bw.shift > 0 ? m_p.stages[static_cast<std::size_t>(s)].mask.data() : nullptr;
    const int Np = int8::padded_tokens(N);
    Span block(rec, kBlock, bw.global);
    auto run_stage = [&](int index, auto&& work) { Plan::run_stage(rec, index, bw.global, work); };
    const long* tok = token_map(s, bw.shift);  // window-order row → the token it came from
    run_stage(1, [&] {
#pragma omp parallel
      {
        std::vector<std::int32_t> scratch(static_cast<std::size_t>(C));
        const RowLayerNorm& ln = vln(bw.ln1);  // looked up once: a hash lookup per row cost ~2 % of a forward
#pragma omp for schedule(static)
        for (long r = 0; r < rows; ++r) ln.row(bw.ln1, m_x.data() + tok[r] * C, m_a.data() + r * C, scratch.data(), 127);
      }
    });
    if (m_tap) m_ln1_copy.assign(m_a.begin(), m_a.begin() + rows * C);  // stage 8 overwrites m_a
    run_stage(2, [&] { igemm_fused(m_a.data(), rows, packed(bw.qkv), rq(bw.qkv).epilogue(IGemmOut::S8, m_qkv8.data(), 3L * C, -127, 127)); });
    run_stage(3, [&] { split_heads(m_qkv8.data(), wins, N, C, heads); });
    // Stages 4 and 5 run together, one (window, head) at a time: the int8 plan's exact q · kᵀ
    // kernel (int8_ops.h qk_gemm_head) into an (N, Np) int32 buffer that stays in L1, then
    // Shiftmax over it, so the scores never travel to memory (SWIN-T batch 8: 17 MB a block in
    // stage 0). Stage 4's span holds both; stage 5's stays, empty, so the timelines line up.
    const Tables& tab = m_tables[static_cast<std::size_t>(bw.global)];
    const long ktb = int8::kt_head_bytes(N, d);
    run_stage(4, [&] {
      const bool fast_att = bw.att.shift >= 1 && bw.att.shift <= 62;
      ShiftmaxRow sp;
      sp.att_m = bw.att.m;
      sp.att_sh = fast_att ? bw.att.shift : 1;
      sp.att_rd = std::int64_t{1} << (sp.att_sh - 1);
      sp.masked = bw.masked;
      sp.exp = tab.exp.data();
      sp.exp_masked = tab.exp_masked.data();
#ifdef SWS_HAVE_AVX512_SHIFTMAX
      const bool avx512 = fast_att && N <= 64 && tab.exp_vector_ok && tab.bias16 && m_avx512_shiftmax;
#endif
#pragma omp parallel
      {
        std::vector<std::int32_t> logit(static_cast<std::size_t>(N)), scores(static_cast<std::size_t>(N) * Np);
        std::vector<std::int64_t> e(static_cast<std::size_t>(N));
        // heads outside, windows inside: one head's few offset tables stay in L1
#pragma omp for schedule(static)
        for (long hw = 0; hw < wins * heads; ++hw) {
          const int h = static_cast<int>(hw / wins);
          const long win = hw % wins, wh = win * heads + h;
          int8::qk_gemm_head(m_q.data() + wh * N * d, m_k.data() + wh * ktb, scores.data(), N, d, int8::best_impl());
#ifdef SWS_HAVE_AVX512_SHIFTMAX
          if (avx512) {
            const int cls = tab.win_class[static_cast<std::size_t>(win % nw)];
            shiftmax_head_avx512(sp, tab, scores.data(), tab.offsets.data() + (static_cast<std::size_t>(cls) * heads + h) * N * N,
                                 tab.class_cut[static_cast<std::size_t>(cls)] != 0, N, Np, m_probs.data() + wh * N * Np);
            continue;
          }
#endif
          for (int i = 0; i < N; ++i) {
            const long r = wh * N + i;
            const std::int32_t* sc = scores.data() + static_cast<std::size_t>(i) * Np;
            const std::int32_t* rb = bw.rel_bias.data() + (static_cast<std::size_t>(h) * N + i) * N;
            const float* mk = mask ? mask + (static_cast<std::size_t>(win % nw) * N + i) * Np : nullptr;
            std::uint8_t* out = m_probs.data() + r * Np;
            if (fast_att) {
              shiftmax_row_fast(sp, sc, rb, mk, N, Np, logit.data(), e.data(), out);
              continue;
            }
            // the reference: ivit::apply for any shift, then ivit::shiftmax_row
            std::int32_t* lg = logit.data();
            for (int j = 0; j < N; ++j) lg[j] = mk && mk[j] != 0.f ? bw.masked : sat(ivit::apply(sc[j], bw.att) + rb[j], 127);
            ivit::shiftmax_row(lg, N, bw.x0, out);
            std::fill(out + N, out + Np, std::uint8_t{0});
          }
        }
      }
    });
    run_stage(5, [] {});
    run_stage(6, [&] {  // the int8 plan's exact p · v core (heads merged), its sums requantized by the dyadic as they form
      int8::av_gemm_dyadic(m_probs.data(), m_v.data(), m_ctx.data(), WindowGeometry{batch, H, C, w, bw.shift, heads}, bw.av.m,
                           bw.av.shift, int8::best_impl());
    });
    run_stage(7, [&] {  // window order → the token it came from (each token once): the residual add in the epilogue
      IGemmEpilogue e = rq(bw.proj).epilogue(IGemmOut::Residual16, m_x.data(), C, -kWide, kWide);
      e.row_map = tok;
      e.res_m = bw.res_attn.m;
      e.res_shift = bw.res_attn.shift;
      igemm_fused(m_ctx.data(), rows, packed(bw.proj), e);
    });
    run_stage(8, [&] {
#pragma omp parallel
      {
        std::vector<std::int32_t> scratch(static_cast<std::size_t>(C));
        const RowLayerNorm& ln = vln(bw.ln2);
#pragma omp for schedule(static)
        for (long r = 0; r < rows; ++r) ln.row(bw.ln2, m_x.data() + r * C, m_a.data() + r * C, scratch.data(), 127);
      }
    });
    auto* h_u8 = reinterpret_cast<std::uint8_t*>(m_h.data());
    run_stage(9, [&] {
      if (relu) igemm_fused(m_a.data(), rows, packed(bw.fc1), rq(bw.fc1).epilogue(IGemmOut::U8, h_u8, hidden, 0, 255));  // ReLU in the requantization
      else igemm_fused(m_a.data(), rows, packed(bw.fc1), rq(bw.fc1).epilogue(IGemmOut::S8, m_h.data(), hidden, -127, 127));
    });
    if (!relu)
      run_stage(10, [&] {  // ShiftGELU from the table: the row's maximum, then one lookup per code
#pragma omp parallel for schedule(static)
        for (long r = 0; r < rows; ++r) {
          const std::int8_t* x = m_h.data() + r * hidden;
          std::int8_t mx = -128;
          for (int n = 0; n < hidden; ++n) mx = x[n] > mx ? x[n] : mx;
          const std::int8_t* lut = tab.gelu.data() + (mx + 128) * 256 + 128;
          std::int8_t* out = m_h2.data() + r * hidden;
          for (int n = 0; n < hidden; ++n) out[n] = lut[x[n]];
        }
      });
    run_stage(11, [&] {  // + bias, dyadic and the residual add in the epilogue
      IGemmEpilogue e = rq(bw.fc2).epilogue(IGemmOut::Residual16, m_x.data(), C, -kWide, kWide);
      e.res_m = bw.res_mlp.m;
      e.res_shift = bw.res_mlp.shift;
      if (relu) igemm_fused(h_u8, rows, packed(bw.fc2), e);
      else igemm_fused(m_h2.data(), rows, packed(bw.fc2), e);
    });
    run_stage(12, [] {});  // done in stage 11's epilogue; the span stays so timelines line up with the other plans
    if (m_tap) tap_block(bw, rows, N, d, heads, C, hidden);
  }

  // qkv (window order, 3C) s8 → q (window·head, N, d) and int8_ops.h's kT and vP layouts, so
  // stages 4 and 6 run the int8 plan's exact kernels. Every byte of kT and vP is written, the
  // padding (tokens ≥ N, channels ≥ d) with zeros.
  void split_heads(const std::int8_t* qkv, long wins, int N, int C, int heads) {
    const int d = C / heads, Np = int8::padded_tokens(N), dp = int8::head_pairs(d), d8 = int8::head_dim8(d);
    const long ktb = int8::kt_head_bytes(N, d), vpb = int8::vp_head_bytes(N, d), ld = 3L * C;
#pragma omp parallel for schedule(static)
    for (long wh = 0; wh < wins * heads; ++wh) {
      const int h = static_cast<int>(wh % heads);
      const std::int8_t* base = qkv + (wh / heads) * N * ld + h * d;  // token 0's q of this head
      for (int t = 0; t < N; ++t) std::memcpy(m_q.data() + (wh * N + t) * d, base + t * ld, static_cast<std::size_t>(d));
      std::int8_t* kt = m_k.data() + wh * ktb;  // k[t][e] at ((e/2)·Np + t)·2 + e%2
      for (int p = 0; p < dp; ++p) {
        std::int8_t* out = kt + static_cast<long>(p) * Np * 2;
        for (int t = 0; t < N; ++t) {
          const std::int8_t* k = base + t * ld + C + 2 * p;
          out[2 * t] = k[0];
          out[2 * t + 1] = 2 * p + 1 < d ? k[1] : std::int8_t{0};
        }
        std::memset(out + 2 * N, 0, static_cast<std::size_t>(2 * (Np - N)));
      }
      std::int8_t* vp = m_v.data() + wh * vpb;  // v[t][e] at ((t/2)·d8 + e)·2 + t%2
      for (int t0 = 0; t0 < Np; t0 += 2) {
        std::int8_t* out = vp + static_cast<long>(t0 / 2) * d8 * 2;
        const std::int8_t* v0 = t0 < N ? base + t0 * ld + 2 * C : nullptr;
        const std::int8_t* v1 = t0 + 1 < N ? base + (t0 + 1) * ld + 2 * C : nullptr;
        for (int e = 0; e < d; ++e) {
          out[2 * e] = v0 ? v0[e] : std::int8_t{0};
          out[2 * e + 1] = v1 ? v1[e] : std::int8_t{0};
        }
        std::memset(out + 2 * d, 0, static_cast<std::size_t>(2 * (d8 - d)));
      }
    }
  }

  template <typename T>
  void tap(const std::string& name, const T* q, std::size_t n, float scale) {
    m_tap_buf.resize(n);
    for (std::size_t i = 0; i < n; ++i) m_tap_buf[i] = static_cast<float>(q[i]) * scale;
    m_tap(name, m_tap_buf.data(), n);
  }

  void tap_block(const ivit::Block& bw, long rows, int N, int d, int heads, int C, int hidden) {
    int first = 0;
    for (int s = 0; s < bw.stage; ++s) first += m_cfg.depths[s];
    const std::string p = block_prefix(bw.stage, bw.global - first);
    const auto n = static_cast<std::size_t>(rows) * C;
    const long wins = rows / N;
    tap(p + "attn.qkv.input_amax", m_ln1_copy.data(), n, bw.s_qkv_in);
    // q, k (window·head, N, d) and vᵀ (window·head, d, N) → (window order, C), heads merged
    for (int part = 0; part < 3; ++part) {
      std::vector<std::int8_t> merged(n);
      for (long w = 0; w < wins; ++w)
        for (int h = 0; h < heads; ++h) {
          const long wh = w * heads + h;
          for (int t = 0; t < N; ++t)
            for (int e = 0; e < d; ++e)
              merged[static_cast<std::size_t>((w * N + t) * C + h * d + e)] =
                  part == 0 ? m_q[static_cast<std::size_t>((wh * N + t) * d + e)]
                            : (part == 1 ? m_k[static_cast<std::size_t>(wh * int8::kt_head_bytes(N, d) + ((e / 2) * int8::padded_tokens(N) + t) * 2 + e % 2)]
                                         : m_v[static_cast<std::size_t>(wh * int8::vp_head_bytes(N, d) + ((t / 2) * int8::head_dim8(d) + e) * 2 + t % 2)]);
        }
      static const char* kNames[3] = {"attn.q_amax", "attn.k_amax", "attn.v_amax"};
      tap(p + kNames[part], merged.data(), n, part == 0 ? bw.s_q : (part == 1 ? bw.s_k : bw.s_v));
    }
    {  // (window·head, N, Np) → (window·head, N, N)
      const int Np = int8::padded_tokens(N);
      std::vector<std::uint8_t> probs(static_cast<std::size_t>(wins) * heads * N * N);
      for (std::size_t r = 0; r < static_cast<std::size_t>(wins) * heads * N; ++r)
        std::copy_n(m_probs.data() + r * Np, N, probs.data() + r * N);
      tap(p + "attn.softmax", probs.data(), probs.size(), 1.f / 256.f);
    }
    tap(p + "attn.proj.input_amax", m_ctx.data(), n, bw.s_ctx);
    tap(p + "mlp.fc1.input_amax", m_a.data(), n, bw.s_fc1_in);
    const auto hn = static_cast<std::size_t>(rows) * hidden;
    if (bw.act == Activation::ReLU) {  // ReLU inside FC1's requantization: its u8 output is FC2's input
      const auto* h = reinterpret_cast<const std::uint8_t*>(m_h.data());
      tap(p + "mlp.fc1.output_amax", h, hn, bw.s_fc1_out);
      tap(p + "mlp.fc2.input_amax", h, hn, bw.s_fc2_in);
    } else {  // FC1's codes here include its bias; the float walk's fc1 tensor is before it: not comparable
      tap(p + "mlp.fc2.input_amax", m_h2.data(), hn, bw.s_fc2_in);
    }
    tap(p + "output", m_x.data(), n, bw.s_out);
  }

  void head(int batch, float* logits) {
    const auto& c = m_cfg;
    const int Hl = c.stage_resolution(c.num_stages() - 1), L = Hl * Hl, F = c.num_features();
#pragma omp parallel for schedule(static)
    for (int b = 0; b < batch; ++b) {
      std::vector<std::int32_t> scratch(static_cast<std::size_t>(F));
      std::vector<std::int32_t> row(static_cast<std::size_t>(F));
      std::vector<std::int64_t> sum(static_cast<std::size_t>(F), 0);
      const RowLayerNorm& ln = vln(m_p.norm);
      for (int t = 0; t < L; ++t) {
        ln.row(m_p.norm, m_x.data() + (static_cast<long>(b) * L + t) * F, row.data(), scratch.data(), 127);
        for (int f = 0; f < F; ++f) sum[static_cast<std::size_t>(f)] += row[static_cast<std::size_t>(f)];
      }
      for (int f = 0; f < F; ++f)  // the mean, rounded half up
        m_pool[static_cast<std::size_t>(b) * F + f] = static_cast<std::int8_t>(ivit::floor_div(2 * sum[static_cast<std::size_t>(f)] + L, 2 * static_cast<std::int64_t>(L)));
    }
    igemm(m_pool.data(), batch, packed(m_p.head), m_head_acc.data());
    for (int b = 0; b < batch; ++b)
      for (int n = 0; n < c.num_classes; ++n) {
        const auto i = static_cast<std::size_t>(b) * c.num_classes + n;
        logits[i] = static_cast<float>(m_head_acc[i] + m_p.head.bias[static_cast<std::size_t>(n)]) * m_p.head_scale[static_cast<std::size_t>(n)];
      }
  }

  // Stage s's window-order rows (max_batch images) → the tokens they come from (numerics::
  // source_token), for blocks with this cyclic shift: built by the constructor, shared by blocks.
  const long* token_map(int s, int shift) {
    auto& map = m_token_maps[{s, shift}];
    if (map.empty()) {
      const int H = m_cfg.stage_resolution(s), w = m_cfg.stage_window(s), N = w * w;
      map.resize(static_cast<std::size_t>(m_max_batch) * H * H);
      for (long r = 0; r < static_cast<long>(map.size()); ++r)
        map[static_cast<std::size_t>(r)] = numerics::source_token(r / N, static_cast<int>(r % N), H, w, shift);
    }
    return map.data();
  }

  const IGemmWeights& packed(const ivit::Linear& l) const { return m_gemm.at(&l); }
  const RowRequant& rq(const ivit::Linear& l) const { return m_rq.at(&l); }
  const RowLayerNorm& vln(const ivit::LayerNorm& ln) const { return m_ln.at(&ln); }

  ivit::Params m_p;
  const SwinConfig& m_cfg;
  const bool m_avx512_shiftmax = avx512_shiftmax_allowed();
  int m_max_batch = 1;
  std::unordered_map<const ivit::Linear*, IGemmWeights> m_gemm;  // each linear's weights packed for igemm
  std::unordered_map<const ivit::Linear*, RowRequant> m_rq;      // ... and its requantization
  std::unordered_map<const ivit::LayerNorm*, RowLayerNorm> m_ln;
  std::vector<Tables> m_tables;                                   // per block
  TensorTap m_tap;
  std::vector<float> m_tap_buf;
  std::vector<std::int8_t> m_ln1_copy;
  std::vector<float> m_cols;
  std::vector<std::int8_t> m_cols_q, m_a, m_ctx, m_h, m_h2, m_pool, m_qkv8;
  std::vector<std::int8_t> m_q, m_k, m_v;  // q (window·head, N, d); k and v as int8_ops.h's kT and vP
  std::vector<std::uint8_t> m_probs;       // Shiftmax output (window·head, N, Np) at 1/256
  std::vector<std::int16_t> m_x;  // the residual stream: 16-bit codes (every write saturates to ±32767)
  std::vector<std::int32_t> m_head_acc;
  std::vector<std::int16_t> m_patch16;  // the patch embedding's GEMM out, (B·L0, embed_dim)
  std::map<std::pair<int, int>, std::vector<long>> m_token_maps;  // (stage, shift) → token_map's rows
};

}  // namespace

std::unique_ptr<Plan> make_ivit_plan(const Model& model, int max_batch) { return std::make_unique<IvitCpuPlan>(model, max_batch); }

bool set_ivit_avx512_shiftmax(bool allowed) { return g_avx512_shiftmax.exchange(allowed); }

namespace {
template <typename Out>
bool layernorm_rows(const ivit::LayerNorm& ln, const std::int16_t* x, long rows, Out* out) {
  const RowLayerNorm r(ln);
  std::vector<std::int32_t> scratch(static_cast<std::size_t>(ln.C));
  for (long i = 0; i < rows; ++i) r.row(ln, x + i * ln.C, out + i * ln.C, scratch.data(), std::numeric_limits<Out>::max());
  return r.narrow16;
}
}  // namespace

bool ivit_layernorm_rows(const ivit::LayerNorm& ln, const std::int16_t* x, long rows, std::int8_t* out) { return layernorm_rows(ln, x, rows, out); }
bool ivit_layernorm_rows(const ivit::LayerNorm& ln, const std::int16_t* x, long rows, std::int16_t* out) { return layernorm_rows(ln, x, rows, out); }

}  // namespace swinscope::cpu
