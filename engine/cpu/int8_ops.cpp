#include "engine/cpu/int8_ops.h"

#include "engine/ivit.h"
#include "engine/numerics.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace swinscope::cpu::int8 {

std::string_view impl_name(Impl i) { return i == Impl::Avx2 ? "AVX2" : "plain"; }

Impl best_impl() {
  static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return avx2 ? Impl::Avx2 : Impl::Plain;
}

Impl attention_impl(Impl wanted, int tokens, int head_dim) {
  return wanted == Impl::Avx2 && tokens <= kAvx2MaxTokens && head_dim <= kAvx2MaxHeadDim ? Impl::Avx2 : Impl::Plain;
}

namespace {

// The numerical definitions live in engine/numerics.h, shared with the CUDA kernels.
namespace nx = swinscope::numerics;
inline std::uint8_t shifted_from_scaled(float v) { return static_cast<std::uint8_t>(nx::q_signed(v) + kZeroPoint); }
inline std::uint8_t unsigned_from_scaled(float v) { return static_cast<std::uint8_t>(nx::q_unsigned(v)); }
inline std::int8_t s8_from_scaled(float v) { return static_cast<std::int8_t>(nx::q_signed(v)); }
using nx::gelu_erf;
using nx::shift_region;

inline long source_token(long win, int t, const WindowGeometry& g) {
  return static_cast<long>(nx::source_token(win, t, g.H, g.window, g.shift));
}

// ---- plain LayerNorm over `nseg` concatenated segments of C floats -------------------

inline void ln_stats_plain(const float* const* seg, int nseg, int C, float eps, float& mean, float& rstd) {
  float sum = 0.f;
  for (int s = 0; s < nseg; ++s)
    for (int c = 0; c < C; ++c) sum += seg[s][c];
  mean = sum / static_cast<float>(nseg * C);
  float var = 0.f;
  for (int s = 0; s < nseg; ++s)
    for (int c = 0; c < C; ++c) var += (seg[s][c] - mean) * (seg[s][c] - mean);
  var /= static_cast<float>(nseg * C);
  rstd = 1.f / std::sqrt(var + eps);
}

inline void ln_quant_row_plain(const float* const* seg, int nseg, int C, const float* gamma, const float* beta, float eps,
                               float inv_scale, std::uint8_t* out) {
  float mean, rstd;
  ln_stats_plain(seg, nseg, C, eps, mean, rstd);
  for (int s = 0; s < nseg; ++s)
    for (int c = 0; c < C; ++c) {
      const int k = s * C + c;
      out[k] = quantize_shifted((seg[s][c] - mean) * rstd * gamma[k] + beta[k], inv_scale);
    }
}

}  // namespace

std::uint8_t quantize_shifted(float x, float inv_scale) { return shifted_from_scaled(x * inv_scale); }
std::uint8_t quantize_unsigned(float x, float inv_scale) { return unsigned_from_scaled(x * inv_scale); }
std::int8_t quantize_s8(float x, float inv_scale) { return s8_from_scaled(x * inv_scale); }

std::vector<float> pad_relative_bias(const float* dense, int heads, int N) {
  const int Np = padded_tokens(N);
  std::vector<float> out(static_cast<std::size_t>(heads) * N * Np, -std::numeric_limits<float>::infinity());
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < N; ++i)
      std::copy(dense + (static_cast<long>(h) * N + i) * N, dense + (static_cast<long>(h) * N + i + 1) * N,
                out.begin() + (static_cast<long>(h) * N + i) * Np);
  return out;
}

std::vector<float> shift_mask(const WindowGeometry& g) {
  if (g.shift == 0) return {};
  const int w = g.window, nw = g.H / w, N = w * w, Np = padded_tokens(N);
  std::vector<float> m(static_cast<std::size_t>(nw) * nw * N * Np, 0.f);
  for (int win = 0; win < nw * nw; ++win) {
    const int wy = win / nw, wx = win % nw;
    auto region = [&](int t) {
      return shift_region(wy * w + t / w, g.H, w, g.shift) * 3 + shift_region(wx * w + t % w, g.H, w, g.shift);
    };
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j)
        if (region(i) != region(j)) m[(static_cast<std::size_t>(win) * N + i) * Np + j] = nx::kShiftMaskValue;
  }
  return m;
}

void pack_k_transposed(const std::int8_t* k, std::int8_t* kt, int N, int d) {
  const int Np = padded_tokens(N);
  std::fill(kt, kt + kt_head_bytes(N, d), std::int8_t{0});
  for (int j = 0; j < N; ++j)
    for (int e = 0; e < d; ++e) kt[((e / 2) * Np + j) * 2 + e % 2] = k[j * d + e];
}

void pack_v_pairs(const std::int8_t* v, std::int8_t* vp, int N, int d) {
  const int d8 = head_dim8(d);
  std::fill(vp, vp + vp_head_bytes(N, d), std::int8_t{0});
  for (int j = 0; j < N; ++j)
    for (int e = 0; e < d; ++e) vp[((j / 2) * d8 + e) * 2 + j % 2] = v[j * d + e];
}

// ======================================================================================
// Plain loops
// ======================================================================================

namespace plain {

void ln1_quant(const float* x, std::uint8_t* out, const WindowGeometry& g, const float* gamma, const float* beta,
               float eps, float inv_scale) {
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
  const int N = g.tokens_per_window(), C = g.C;
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int t = 0; t < N; ++t) {
      const float* src = x + source_token(win, t, g) * C;
      ln_quant_row_plain(&src, 1, C, gamma, beta, eps, inv_scale, out + (win * N + t) * C);
    }
}

void qkv_bias_quant(const std::int8_t* qkv, std::int8_t* q, std::int8_t* kt, std::int8_t* vp, const WindowGeometry& g,
                    const float* bias, float deq, const float inv_scale[3]) {
  const int N = g.tokens_per_window(), Np = padded_tokens(N), C = g.C, d = g.head_dim();
  const int dp = head_pairs(d), d8 = head_dim8(d);
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
  const long ktb = kt_head_bytes(N, d), vpb = vp_head_bytes(N, d);
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int t = 0; t < Np; ++t) {  // padding tokens included: they write the zeros
      const std::int8_t* in = qkv + (win * N + t) * 3 * C;
      for (int h = 0; h < g.heads; ++h) {
        const long wh = win * g.heads + h;
        auto value = [&](int part, int e) -> std::int8_t {
          if (t >= N || e >= d) return 0;
          const int c = part * C + h * d + e;
          return quantize_s8(static_cast<float>(in[c]) * deq + bias[c], inv_scale[part]);
        };
        if (t < N)
          for (int e = 0; e < d; ++e) q[(wh * N + t) * d + e] = value(0, e);
        for (int e = 0; e < 2 * dp; ++e) kt[wh * ktb + ((e / 2) * Np + t) * 2 + e % 2] = value(1, e);
        for (int e = 0; e < d8; ++e) vp[wh * vpb + ((t / 2) * d8 + e) * 2 + t % 2] = value(2, e);
      }
    }
}

void qk_gemm_head(const std::int8_t* Q, const std::int8_t* KT, std::int32_t* scores, int N, int d) {
  const int Np = padded_tokens(N);
  for (int i = 0; i < N; ++i) {
    std::int32_t* row = scores + i * Np;
    for (int j = 0; j < Np; ++j) {  // padded columns come out 0: kT is 0 there
      std::int32_t acc = 0;
      for (int e = 0; e < d; ++e) acc += static_cast<std::int32_t>(Q[i * d + e]) * KT[((e / 2) * Np + j) * 2 + e % 2];
      row[j] = acc;
    }
  }
}

void softmax_quant(const std::int32_t* scores, std::uint8_t* probs, const WindowGeometry& g, const float* rel_bias,
                   const float* mask, float deq, float inv_scale) {
  const int N = g.tokens_per_window(), Np = padded_tokens(N), nW = g.windows_per_image();
  const long nwin = static_cast<long>(g.batch) * nW;
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int h = 0; h < g.heads; ++h)
      for (int i = 0; i < N; ++i) {
        const long r = (win * g.heads + h) * N + i;
        const float* brow = rel_bias + (static_cast<long>(h) * N + i) * Np;
        const float* mrow = mask ? mask + (static_cast<long>(win % nW) * N + i) * Np : nullptr;
        // Recomputed in each pass rather than kept in a scratch row: the plain path
        // stays allocation-free for any window size.
        auto logit = [&](int j) { return static_cast<float>(scores[r * Np + j]) * deq + brow[j] + (mrow ? mrow[j] : 0.f); };
        float mx = -std::numeric_limits<float>::infinity();
        for (int j = 0; j < N; ++j) mx = std::max(mx, logit(j));
        float sum = 0.f;
        for (int j = 0; j < N; ++j) sum += std::exp(logit(j) - mx);
        const float inv = inv_scale / sum;
        std::uint8_t* p = probs + r * Np;
        for (int j = 0; j < N; ++j) p[j] = unsigned_from_scaled(std::exp(logit(j) - mx) * inv);
        for (int j = N; j < Np; ++j) p[j] = 0;
      }
}

// p · v per window and head, exact int32; `put(win, h, i, e, acc)` receives each sum.
template <typename Put>
void av_core(const std::uint8_t* probs, const std::int8_t* vp, const WindowGeometry& g, Put put) {
  const int N = g.tokens_per_window(), Np = padded_tokens(N), d = g.head_dim(), d8 = head_dim8(d);
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image(), vpb = vp_head_bytes(N, d);
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int h = 0; h < g.heads; ++h) {
      const long wh = win * g.heads + h;
      const std::int8_t* VP = vp + wh * vpb;
      for (int i = 0; i < N; ++i) {
        const std::uint8_t* P = probs + (wh * N + i) * Np;
        for (int e = 0; e < d; ++e) {
          std::int32_t acc = 0;
          for (int j = 0; j < N; ++j) acc += static_cast<std::int32_t>(P[j]) * VP[((j / 2) * d8 + e) * 2 + j % 2];
          put(win, h, i, e, acc);
        }
      }
    }
}

void av_gemm(const std::uint8_t* probs, const std::int8_t* vp, std::uint8_t* ctx, const WindowGeometry& g, float requant) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  av_core(probs, vp, g, [&](long win, int h, int i, int e, std::int32_t acc) {
    ctx[(win * N + i) * C + h * d + e] = shifted_from_scaled(static_cast<float>(acc) * requant);
  });
}

void av_gemm_s32(const std::uint8_t* probs, const std::int8_t* vp, std::int32_t* ctx, const WindowGeometry& g) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  av_core(probs, vp, g, [&](long win, int h, int i, int e, std::int32_t acc) { ctx[(win * N + i) * C + h * d + e] = acc; });
}

void av_gemm_dyadic(const std::uint8_t* probs, const std::int8_t* vp, std::int8_t* ctx, const WindowGeometry& g, std::int32_t m,
                    int shift) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  const ivit::Dyadic dy{m, shift};
  av_core(probs, vp, g, [&](long win, int h, int i, int e, std::int32_t acc) {
    ctx[(win * N + i) * C + h * d + e] = static_cast<std::int8_t>(ivit::sat(ivit::apply(acc, dy), 127));
  });
}

void proj_residual_ln2_quant(const std::int8_t* proj, float* x, std::uint8_t* out, const WindowGeometry& g,
                             const float* bias, float deq, const float* gamma, const float* beta, float eps,
                             float inv_scale) {
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
  const int N = g.tokens_per_window(), C = g.C;
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int t = 0; t < N; ++t) {
      const long tok = source_token(win, t, g);
      float* xr = x + tok * C;
      const std::int8_t* a = proj + (win * N + t) * C;
      for (int c = 0; c < C; ++c) xr[c] += static_cast<float>(a[c]) * deq + bias[c];
      const float* seg = xr;
      ln_quant_row_plain(&seg, 1, C, gamma, beta, eps, inv_scale, out + tok * C);
    }
}

void fc1_bias_gelu_quant(const std::int8_t* h, std::uint8_t* out, long rows, int hidden, const float* bias, float deq,
                         float inv_scale) {
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r)
    for (int c = 0; c < hidden; ++c) {
      const long i = r * hidden + c;
      out[i] = quantize_shifted(gelu_erf(static_cast<float>(h[i]) * deq + (bias ? bias[c] : 0.f)), inv_scale);
    }
}

void fc2_bias_residual(const std::int8_t* y, float* x, long rows, int C, const float* bias, float deq) {
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r)
    for (int c = 0; c < C; ++c) x[r * C + c] += static_cast<float>(y[r * C + c]) * deq + bias[c];
}

void merge_ln_quant(const float* x, std::uint8_t* out, int batch, int H, int C, const float* gamma, const float* beta,
                    float eps, float inv_scale) {
  const int Ho = H / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Ho; ++j) {
        static constexpr int dy[4] = {0, 1, 0, 1};
        static constexpr int dx[4] = {0, 0, 1, 1};
        const float* seg[4];
        for (int s = 0; s < 4; ++s) seg[s] = x + ((static_cast<long>(b) * H + 2 * i + dy[s]) * H + 2 * j + dx[s]) * C;
        ln_quant_row_plain(seg, 4, C, gamma, beta, eps, inv_scale, out + ((static_cast<long>(b) * Ho + i) * Ho + j) * 4 * C);
      }
}

}  // namespace plain

// ======================================================================================
// AVX2 + FMA loops. Compiled for that target here and chosen at run time (best_impl()),
// so the build stays baseline x86-64. OpenMP's outlined bodies inherit the target.
// ======================================================================================

#pragma GCC push_options
#pragma GCC target("avx2,fma")

namespace avx2 {

inline __m256 load_s8(const std::int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 8 int32 (in range) → 8 bytes; packus/packs keep lane order (lo lanes then hi lanes).
inline void store_u8(std::uint8_t* p, __m256i v) {
  const __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packus_epi16(w, w));
}

inline void store_shifted(std::uint8_t* p, __m256 scaled) {
  const __m256 c = _mm256_min_ps(_mm256_max_ps(scaled, _mm256_set1_ps(-127.f)), _mm256_set1_ps(127.f));
  store_u8(p, _mm256_add_epi32(_mm256_cvtps_epi32(c), _mm256_set1_epi32(kZeroPoint)));
}

inline void store_unsigned(std::uint8_t* p, __m256 scaled) {
  const __m256 c = _mm256_min_ps(_mm256_max_ps(scaled, _mm256_setzero_ps()), _mm256_set1_ps(255.f));
  store_u8(p, _mm256_cvtps_epi32(c));
}

inline void store_s8(std::int8_t* p, __m256 scaled) {
  const __m256 c = _mm256_min_ps(_mm256_max_ps(scaled, _mm256_set1_ps(-127.f)), _mm256_set1_ps(127.f));
  const __m256i v = _mm256_cvtps_epi32(c);
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm_packs_epi16(w, w));
}

// e^x, Cephes' single-precision range reduction and polynomial (relative error ~2e-7,
// far below an int8 step); inputs are clamped to [−87, 88], so −inf gives ~1e-38.
inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.f)), _mm256_set1_ps(-87.f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// erf, Abramowitz & Stegun 7.1.26 (absolute error ≤ 1.5e-7).
inline __m256 erf8(__m256 x) {
  const __m256 sign_bit = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256 sign = _mm256_and_ps(x, sign_bit);
  const __m256 ax = _mm256_andnot_ps(sign_bit, x);
  const __m256 one = _mm256_set1_ps(1.f);
  const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, one));
  __m256 p = _mm256_set1_ps(1.061405429f);
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
  p = _mm256_mul_ps(p, t);
  const __m256 y = _mm256_fnmadd_ps(p, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax))), one);
  return _mm256_or_ps(y, sign);
}

inline __m256 gelu8(__m256 v) {
  const __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
  return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.f), e));
}

inline void ln_quant_row(const float* const* seg, int nseg, int C, const float* gamma, const float* beta, float eps,
                         float inv_scale, std::uint8_t* out) {
  const int C8 = C / 8 * 8;
  __m256 vs = _mm256_setzero_ps();
  float ts = 0.f;
  for (int s = 0; s < nseg; ++s) {
    for (int c = 0; c < C8; c += 8) vs = _mm256_add_ps(vs, _mm256_loadu_ps(seg[s] + c));
    for (int c = C8; c < C; ++c) ts += seg[s][c];
  }
  const float mean = (hsum(vs) + ts) / static_cast<float>(nseg * C);
  const __m256 vmean = _mm256_set1_ps(mean);
  __m256 vv = _mm256_setzero_ps();
  float tv = 0.f;
  for (int s = 0; s < nseg; ++s) {
    for (int c = 0; c < C8; c += 8) {
      const __m256 dlt = _mm256_sub_ps(_mm256_loadu_ps(seg[s] + c), vmean);
      vv = _mm256_fmadd_ps(dlt, dlt, vv);
    }
    for (int c = C8; c < C; ++c) tv += (seg[s][c] - mean) * (seg[s][c] - mean);
  }
  const float rstd = 1.f / std::sqrt((hsum(vv) + tv) / static_cast<float>(nseg * C) + eps);
  // Folding the quantization scale into the affine step keeps it one multiply-add.
  const __m256 vr = _mm256_set1_ps(rstd * inv_scale), vinv = _mm256_set1_ps(inv_scale);
  for (int s = 0; s < nseg; ++s) {
    const float* g = gamma + s * C;
    const float* b = beta + s * C;
    std::uint8_t* o = out + s * C;
    for (int c = 0; c < C8; c += 8) {
      const __m256 n = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(seg[s] + c), vmean), vr);
      store_shifted(o + c, _mm256_fmadd_ps(n, _mm256_loadu_ps(g + c), _mm256_mul_ps(_mm256_loadu_ps(b + c), vinv)));
    }
    for (int c = C8; c < C; ++c) o[c] = quantize_shifted((seg[s][c] - mean) * rstd * g[c] + b[c], inv_scale);
  }
}

void ln1_quant(const float* x, std::uint8_t* out, const WindowGeometry& g, const float* gamma, const float* beta,
               float eps, float inv_scale) {
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
  const int N = g.tokens_per_window(), C = g.C;
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int t = 0; t < N; ++t) {
      const float* src = x + source_token(win, t, g) * C;
      ln_quant_row(&src, 1, C, gamma, beta, eps, inv_scale, out + (win * N + t) * C);
    }
}

// One token's d values of one part and head, dequantized + bias + requantized, into
// `dst` zero-padded to d8 (all zero for a padding token).
inline void qkv_head_values(const std::int8_t* in, bool valid, int c0, int d, int d8, const float* bias, float deq, float inv,
                            std::int8_t* dst) {
  int e = 0;
  if (valid) {
    const __m256 vdeq = _mm256_set1_ps(deq), vinv = _mm256_set1_ps(inv);
    for (; e + 8 <= d; e += 8)
      store_s8(dst + e, _mm256_mul_ps(_mm256_fmadd_ps(load_s8(in + c0 + e), vdeq, _mm256_loadu_ps(bias + c0 + e)), vinv));
    for (; e < d; ++e) dst[e] = quantize_s8(static_cast<float>(in[c0 + e]) * deq + bias[c0 + e], inv);
  }
  for (; e < d8; ++e) dst[e] = 0;
}

// Tokens in pairs (2·tp, 2·tp+1) so vP's interleaved rows are written whole.
void qkv_bias_quant(const std::int8_t* qkv, std::int8_t* q, std::int8_t* kt, std::int8_t* vp, const WindowGeometry& g,
                    const float* bias, float deq, const float inv_scale[3]) {
  const int N = g.tokens_per_window(), Np = padded_tokens(N), C = g.C, d = g.head_dim();
  const int dp = head_pairs(d), d8 = head_dim8(d);
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
  const long ktb = kt_head_bytes(N, d), vpb = vp_head_bytes(N, d);
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int tp = 0; tp < Np / 2; ++tp) {
      alignas(32) std::int8_t a[kAvx2MaxHeadDim + 8] = {}, b[kAvx2MaxHeadDim + 8] = {};
      const int t0 = 2 * tp, t1 = t0 + 1;
      const std::int8_t* in0 = qkv + (win * N + t0) * 3 * C;
      const std::int8_t* in1 = in0 + 3 * C;
      for (int h = 0; h < g.heads; ++h) {
        const long wh = win * g.heads + h;
        qkv_head_values(in0, t0 < N, h * d, d, d8, bias, deq, inv_scale[0], a);
        qkv_head_values(in1, t1 < N, h * d, d, d8, bias, deq, inv_scale[0], b);
        if (t0 < N) std::memcpy(q + (wh * N + t0) * d, a, static_cast<std::size_t>(d));
        if (t1 < N) std::memcpy(q + (wh * N + t1) * d, b, static_cast<std::size_t>(d));
        qkv_head_values(in0, t0 < N, C + h * d, d, d8, bias, deq, inv_scale[1], a);
        qkv_head_values(in1, t1 < N, C + h * d, d, d8, bias, deq, inv_scale[1], b);
        // Tokens t0, t1 are neighbours in every kT row: their (e, e+1) pairs form 4
        // contiguous bytes, [a_e a_e+1 b_e b_e+1] = one 16-bit interleave.
        std::int8_t* K = kt + wh * ktb + t0 * 2;
        for (int ep = 0; ep < dp; ep += 4) {
          const __m128i ab = _mm_unpacklo_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + 2 * ep)),
                                                _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 * ep)));
          alignas(16) std::int32_t four[4];
          _mm_store_si128(reinterpret_cast<__m128i*>(four), ab);
          for (int u = 0; u < 4 && ep + u < dp; ++u) std::memcpy(K + (ep + u) * Np * 2, &four[u], 4);
        }
        qkv_head_values(in0, t0 < N, 2 * C + h * d, d, d8, bias, deq, inv_scale[2], a);
        qkv_head_values(in1, t1 < N, 2 * C + h * d, d, d8, bias, deq, inv_scale[2], b);
        std::int8_t* V = vp + wh * vpb + static_cast<long>(tp) * d8 * 2;
        for (int e = 0; e < d8; e += 8)
          _mm_storeu_si128(reinterpret_cast<__m128i*>(V + e * 2),
                           _mm_unpacklo_epi8(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + e)),
                                             _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + e))));
      }
    }
}

// Four query rows at a time share each kT load: per (row, e pair) one broadcast and one
// vpmaddwd give 8 scores' partial sums in int32 (|q·k| ≤ 2·127², no saturation).
void qk_gemm_head(const std::int8_t* Q, const std::int8_t* KT, std::int32_t* scores, int N, int d) {
  const int Np = padded_tokens(N), dp = head_pairs(d);
  // q rows as int16, so each (e, e+1) pair reads as one int32 for the broadcast.
  alignas(32) std::int32_t qp[4][kAvx2MaxHeadDim / 2 + 8];
  for (int i0 = 0; i0 < N; i0 += 4) {
    const int R = std::min(4, N - i0);
    for (int r = 0; r < 4; ++r) {
      const std::int8_t* row = Q + (i0 + r) * d;
      if (r < R && d % 16 == 0) {
        for (int e = 0; e < d; e += 16)
          _mm256_store_si256(reinterpret_cast<__m256i*>(qp[r] + e / 2),
                             _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + e))));
      } else {
        for (int ep = 0; ep < dp; ++ep) {
          const bool live = r < R;
          const auto lo = static_cast<std::uint16_t>(live ? static_cast<std::int16_t>(row[2 * ep]) : 0);
          const auto hi = static_cast<std::uint16_t>(live && 2 * ep + 1 < d ? static_cast<std::int16_t>(row[2 * ep + 1]) : 0);
          qp[r][ep] = static_cast<std::int32_t>(static_cast<std::uint32_t>(lo) | (static_cast<std::uint32_t>(hi) << 16));
        }
      }
    }
    for (int jb = 0; jb < Np; jb += 8) {
      __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
      for (int ep = 0; ep < dp; ++ep) {
        const __m256i kv = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(KT + (ep * Np + jb) * 2)));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_set1_epi32(qp[0][ep]), kv));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_set1_epi32(qp[1][ep]), kv));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_set1_epi32(qp[2][ep]), kv));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_set1_epi32(qp[3][ep]), kv));
      }
      const __m256i acc[4] = {a0, a1, a2, a3};
      for (int r = 0; r < R; ++r) _mm256_storeu_si256(reinterpret_cast<__m256i*>(scores + (i0 + r) * Np + jb), acc[r]);
    }
  }
}

void softmax_quant(const std::int32_t* scores, std::uint8_t* probs, const WindowGeometry& g, const float* rel_bias,
                   const float* mask, float deq, float inv_scale) {
  const int N = g.tokens_per_window(), Np = padded_tokens(N), nW = g.windows_per_image();
  const long nwin = static_cast<long>(g.batch) * nW;
  const __m256 vdeq = _mm256_set1_ps(deq);
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int h = 0; h < g.heads; ++h) {
      alignas(32) float s[kAvx2MaxTokens];
      for (int i = 0; i < N; ++i) {
        const long r = (win * g.heads + h) * N + i;
        const float* brow = rel_bias + (static_cast<long>(h) * N + i) * Np;
        const float* mrow = mask ? mask + (static_cast<long>(win % nW) * N + i) * Np : nullptr;
        const std::int32_t* srow = scores + r * Np;
        // Padded columns carry −inf from the padded bias, so they drop out of max and sum.
        __m256 vmax = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
        for (int j = 0; j < Np; j += 8) {
          __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(srow + j))), vdeq,
                                     _mm256_loadu_ps(brow + j));
          if (mrow) v = _mm256_add_ps(v, _mm256_loadu_ps(mrow + j));
          _mm256_store_ps(s + j, v);
          vmax = _mm256_max_ps(vmax, v);
        }
        const __m256 mx = _mm256_set1_ps(hmax(vmax));
        __m256 vsum = _mm256_setzero_ps();
        for (int j = 0; j < Np; j += 8) {
          const __m256 e = exp8(_mm256_sub_ps(_mm256_load_ps(s + j), mx));
          _mm256_store_ps(s + j, e);
          vsum = _mm256_add_ps(vsum, e);
        }
        const __m256 vinv = _mm256_set1_ps(inv_scale / hsum(vsum));
        std::uint8_t* p = probs + r * Np;
        for (int j = 0; j < Np; j += 8) store_unsigned(p + j, _mm256_mul_ps(_mm256_load_ps(s + j), vinv));
      }
    }
}

// ctx[i][e] = Σ_j P[i][j]·v[j][e], four probability rows at a time: per (row, token pair)
// one broadcast of (P[i][j], P[i][j+1]) and one vpmaddwd against vP give 8 channels.
// p · v per window and head, exact int32 (vpmaddwd on token pairs); `put(win, h, i, eb, acc)`
// receives 8 channels' sums (eb … eb+7; those ≥ d are padding).
template <typename Put>
void av_core(const std::uint8_t* probs, const std::int8_t* vp, const WindowGeometry& g, Put put) {
  const int N = g.tokens_per_window(), Np = padded_tokens(N), d = g.head_dim(), d8 = head_dim8(d);
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image(), vpb = vp_head_bytes(N, d);
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int h = 0; h < g.heads; ++h) {
      alignas(32) std::int32_t pp[4][kAvx2MaxTokens / 2 + 8];
      const long wh = win * g.heads + h;
      const std::int8_t* VP = vp + wh * vpb;
      for (int i0 = 0; i0 < N; i0 += 4) {
        const int R = std::min(4, N - i0);
        for (int r = 0; r < 4; ++r) {
          const std::uint8_t* P = probs + (wh * N + i0 + r) * Np;
          for (int j = 0; j < Np; j += 8)
            _mm_store_si128(reinterpret_cast<__m128i*>(pp[r] + j / 2),
                            r < R ? _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(P + j))) : _mm_setzero_si128());
        }
        for (int eb = 0; eb < d8; eb += 8) {
          __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
          for (int p = 0; p < Np / 2; ++p) {
            const __m256i vv = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(VP + (p * d8 + eb) * 2)));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_set1_epi32(pp[0][p]), vv));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_set1_epi32(pp[1][p]), vv));
            a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_set1_epi32(pp[2][p]), vv));
            a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_set1_epi32(pp[3][p]), vv));
          }
          const __m256i acc[4] = {a0, a1, a2, a3};
          for (int r = 0; r < R; ++r) put(win, h, i0 + r, eb, acc[r]);
        }
      }
    }
}

void av_gemm(const std::uint8_t* probs, const std::int8_t* vp, std::uint8_t* ctx, const WindowGeometry& g, float requant) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  const __m256 vreq = _mm256_set1_ps(requant);
  av_core(probs, vp, g, [&](long win, int h, int i, int eb, __m256i acc) {
    std::uint8_t* out = ctx + (win * N + i) * C + h * d + eb;
    const __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), vreq);
    if (eb + 8 <= d) {
      store_shifted(out, scaled);
    } else {
      alignas(32) std::uint8_t tmp[8];
      store_shifted(tmp, scaled);
      std::memcpy(out, tmp, static_cast<std::size_t>(d - eb));
    }
  });
}

void av_gemm_s32(const std::uint8_t* probs, const std::int8_t* vp, std::int32_t* ctx, const WindowGeometry& g) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  av_core(probs, vp, g, [&](long win, int h, int i, int eb, __m256i acc) {
    std::int32_t* out = ctx + (win * N + i) * C + h * d + eb;
    if (eb + 8 <= d) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), acc);
    } else {
      alignas(32) std::int32_t tmp[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc);
      std::memcpy(out, tmp, sizeof(std::int32_t) * static_cast<std::size_t>(d - eb));
    }
  });
}

// ctx = sat(apply(acc, {m, shift}), 127) for shift in 1…54: per 64-bit lane (even and odd int32
// lanes apart) p = acc·m + 2^(shift−1) + 127·2^shift, clamped to [0, 255·2^shift − 1], so that
// p >>> shift (logical: AVX2 has no 64-bit arithmetic shift) is the clamped result + 127
// (|acc·m| < 2^54 for windows up to 12 × 12, and the offset < 2^62 for shifts ≤ 54).
void av_gemm_dyadic(const std::uint8_t* probs, const std::int8_t* vp, std::int8_t* ctx, const WindowGeometry& g, std::int32_t m,
                    int shift) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  const __m256i vm = _mm256_set1_epi64x(m);
  const __m256i offset = _mm256_set1_epi64x((std::int64_t{1} << (shift - 1)) + (std::int64_t{127} << shift));
  const __m256i top = _mm256_set1_epi64x((std::int64_t{255} << shift) - 1), zero = _mm256_setzero_si256();
  const __m128i cnt = _mm_cvtsi32_si128(shift);
  const __m128i c127 = _mm_set1_epi16(127);
  auto half = [&](__m256i x) {  // the low int32 of each 64-bit lane → its result + 127 (0…254), int64
    __m256i p = _mm256_add_epi64(_mm256_mul_epi32(x, vm), offset);
    p = _mm256_andnot_si256(_mm256_cmpgt_epi64(zero, p), p);
    p = _mm256_blendv_epi8(p, top, _mm256_cmpgt_epi64(p, top));
    return _mm256_srl_epi64(p, cnt);
  };
  av_core(probs, vp, g, [&](long win, int h, int i, int eb, __m256i acc) {
    const __m256i v = _mm256_blend_epi32(half(acc), _mm256_slli_epi64(half(_mm256_srli_epi64(acc, 32)), 32), 0xAA);
    const __m128i w16 = _mm_sub_epi16(_mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)), c127);
    const __m128i b8 = _mm_packs_epi16(w16, w16);
    std::int8_t* out = ctx + (win * N + i) * C + h * d + eb;
    if (eb + 8 <= d) _mm_storel_epi64(reinterpret_cast<__m128i*>(out), b8);
    else std::memcpy(out, &b8, static_cast<std::size_t>(d - eb));
  });
}

void proj_residual_ln2_quant(const std::int8_t* proj, float* x, std::uint8_t* out, const WindowGeometry& g,
                             const float* bias, float deq, const float* gamma, const float* beta, float eps,
                             float inv_scale) {
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
  const int N = g.tokens_per_window(), C = g.C, C8 = C / 8 * 8;
  const __m256 vdeq = _mm256_set1_ps(deq);
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int t = 0; t < N; ++t) {
      const long tok = source_token(win, t, g);
      float* xr = x + tok * C;
      const std::int8_t* a = proj + (win * N + t) * C;
      for (int c = 0; c < C8; c += 8)
        _mm256_storeu_ps(xr + c, _mm256_add_ps(_mm256_loadu_ps(xr + c), _mm256_fmadd_ps(load_s8(a + c), vdeq, _mm256_loadu_ps(bias + c))));
      for (int c = C8; c < C; ++c) xr[c] += static_cast<float>(a[c]) * deq + bias[c];
      const float* seg = xr;
      ln_quant_row(&seg, 1, C, gamma, beta, eps, inv_scale, out + tok * C);
    }
}

void fc1_bias_gelu_quant(const std::int8_t* h, std::uint8_t* out, long rows, int hidden, const float* bias, float deq,
                         float inv_scale) {
  const int H8 = hidden / 8 * 8;
  const __m256 vdeq = _mm256_set1_ps(deq), vinv = _mm256_set1_ps(inv_scale);
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) {
    const std::int8_t* in = h + r * hidden;
    std::uint8_t* o = out + r * hidden;
    for (int c = 0; c < H8; c += 8) {
      const __m256 b = bias ? _mm256_loadu_ps(bias + c) : _mm256_setzero_ps();
      store_shifted(o + c, _mm256_mul_ps(gelu8(_mm256_fmadd_ps(load_s8(in + c), vdeq, b)), vinv));
    }
    for (int c = H8; c < hidden; ++c)
      o[c] = quantize_shifted(gelu_erf(static_cast<float>(in[c]) * deq + (bias ? bias[c] : 0.f)), inv_scale);
  }
}

void fc2_bias_residual(const std::int8_t* y, float* x, long rows, int C, const float* bias, float deq) {
  const int C8 = C / 8 * 8;
  const __m256 vdeq = _mm256_set1_ps(deq);
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) {
    float* xr = x + r * C;
    const std::int8_t* in = y + r * C;
    for (int c = 0; c < C8; c += 8)
      _mm256_storeu_ps(xr + c, _mm256_add_ps(_mm256_loadu_ps(xr + c), _mm256_fmadd_ps(load_s8(in + c), vdeq, _mm256_loadu_ps(bias + c))));
    // The tail as the vector body: one fused multiply-add, then the add (whatever the compiler
    // would contract; Debug builds did not, and differed by an ulp from the CUDA epilogue).
    for (int c = C8; c < C; ++c) xr[c] = xr[c] + std::fma(static_cast<float>(in[c]), deq, bias[c]);
  }
}

void merge_ln_quant(const float* x, std::uint8_t* out, int batch, int H, int C, const float* gamma, const float* beta,
                    float eps, float inv_scale) {
  const int Ho = H / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Ho; ++j) {
        static constexpr int dy[4] = {0, 1, 0, 1};
        static constexpr int dx[4] = {0, 0, 1, 1};
        const float* seg[4];
        for (int s = 0; s < 4; ++s) seg[s] = x + ((static_cast<long>(b) * H + 2 * i + dy[s]) * H + 2 * j + dx[s]) * C;
        ln_quant_row(seg, 4, C, gamma, beta, eps, inv_scale, out + ((static_cast<long>(b) * Ho + i) * Ho + j) * 4 * C);
      }
}

}  // namespace avx2

#pragma GCC pop_options

// ======================================================================================
// Dispatch
// ======================================================================================

void ln1_quant(const float* x, std::uint8_t* out, const WindowGeometry& g, const float* gamma, const float* beta,
               float eps, float inv_scale, Impl impl) {
  if (impl == Impl::Avx2) avx2::ln1_quant(x, out, g, gamma, beta, eps, inv_scale);
  else plain::ln1_quant(x, out, g, gamma, beta, eps, inv_scale);
}

void qkv_bias_quant(const std::int8_t* qkv, std::int8_t* q, std::int8_t* kt, std::int8_t* vp, const WindowGeometry& g,
                    const float* bias, float deq, const float inv_scale[3], Impl impl) {
  if (attention_impl(impl, g.tokens_per_window(), g.head_dim()) == Impl::Avx2)
    avx2::qkv_bias_quant(qkv, q, kt, vp, g, bias, deq, inv_scale);
  else plain::qkv_bias_quant(qkv, q, kt, vp, g, bias, deq, inv_scale);
}

void qk_gemm(const std::int8_t* q, const std::int8_t* kt, std::int32_t* scores, const WindowGeometry& g, Impl impl) {
  const int N = g.tokens_per_window(), Np = padded_tokens(N), d = g.head_dim();
  const long nwh = static_cast<long>(g.batch) * g.windows_per_image() * g.heads, ktb = kt_head_bytes(N, d);
  const auto head = attention_impl(impl, N, d) == Impl::Avx2 ? avx2::qk_gemm_head : plain::qk_gemm_head;
#pragma omp parallel for schedule(static)
  for (long wh = 0; wh < nwh; ++wh) head(q + wh * N * d, kt + wh * ktb, scores + wh * N * Np, N, d);
}

void qk_gemm_head(const std::int8_t* q, const std::int8_t* kt, std::int32_t* scores, int N, int d, Impl impl) {
  if (attention_impl(impl, N, d) == Impl::Avx2) avx2::qk_gemm_head(q, kt, scores, N, d);
  else plain::qk_gemm_head(q, kt, scores, N, d);
}

void softmax_quant(const std::int32_t* scores, std::uint8_t* probs, const WindowGeometry& g, const float* rel_bias_padded,
                   const float* mask, float deq, float inv_scale, Impl impl) {
  if (attention_impl(impl, g.tokens_per_window(), g.head_dim()) == Impl::Avx2)
    avx2::softmax_quant(scores, probs, g, rel_bias_padded, mask, deq, inv_scale);
  else plain::softmax_quant(scores, probs, g, rel_bias_padded, mask, deq, inv_scale);
}

void av_gemm(const std::uint8_t* probs, const std::int8_t* vp, std::uint8_t* ctx, const WindowGeometry& g, float requant,
             Impl impl) {
  if (attention_impl(impl, g.tokens_per_window(), g.head_dim()) == Impl::Avx2) avx2::av_gemm(probs, vp, ctx, g, requant);
  else plain::av_gemm(probs, vp, ctx, g, requant);
}

void av_gemm_s32(const std::uint8_t* probs, const std::int8_t* vp, std::int32_t* ctx, const WindowGeometry& g, Impl impl) {
  if (attention_impl(impl, g.tokens_per_window(), g.head_dim()) == Impl::Avx2) avx2::av_gemm_s32(probs, vp, ctx, g);
  else plain::av_gemm_s32(probs, vp, ctx, g);
}

void av_gemm_dyadic(const std::uint8_t* probs, const std::int8_t* vp, std::int8_t* ctx, const WindowGeometry& g, std::int32_t m,
                    int shift, Impl impl) {
  if (shift >= 1 && shift <= 54 && attention_impl(impl, g.tokens_per_window(), g.head_dim()) == Impl::Avx2)
    avx2::av_gemm_dyadic(probs, vp, ctx, g, m, shift);
  else plain::av_gemm_dyadic(probs, vp, ctx, g, m, shift);
}

void proj_residual_ln2_quant(const std::int8_t* proj, float* x, std::uint8_t* out, const WindowGeometry& g,
                             const float* bias, float deq, const float* gamma, const float* beta, float eps,
                             float inv_scale, Impl impl) {
  if (impl == Impl::Avx2) avx2::proj_residual_ln2_quant(proj, x, out, g, bias, deq, gamma, beta, eps, inv_scale);
  else plain::proj_residual_ln2_quant(proj, x, out, g, bias, deq, gamma, beta, eps, inv_scale);
}

void fc1_bias_gelu_quant(const std::int8_t* h, std::uint8_t* out, long rows, int hidden, const float* bias, float deq,
                         float inv_scale, Impl impl) {
  if (impl == Impl::Avx2) avx2::fc1_bias_gelu_quant(h, out, rows, hidden, bias, deq, inv_scale);
  else plain::fc1_bias_gelu_quant(h, out, rows, hidden, bias, deq, inv_scale);
}

void fc2_bias_residual(const std::int8_t* y, float* x, long rows, int C, const float* bias, float deq, Impl impl) {
  if (impl == Impl::Avx2) avx2::fc2_bias_residual(y, x, rows, C, bias, deq);
  else plain::fc2_bias_residual(y, x, rows, C, bias, deq);
}

void merge_ln_quant(const float* x, std::uint8_t* out, int batch, int H, int C, const float* gamma, const float* beta,
                    float eps, float inv_scale, Impl impl) {
  if (impl == Impl::Avx2) avx2::merge_ln_quant(x, out, batch, H, C, gamma, beta, eps, inv_scale);
  else plain::merge_ln_quant(x, out, batch, H, C, gamma, beta, eps, inv_scale);
}

}  // namespace swinscope::cpu::int8
