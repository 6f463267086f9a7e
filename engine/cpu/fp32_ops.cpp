#include "engine/cpu/fp32_ops.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace swinscope::cpu {

namespace {

inline void ln_one(const float* x, float* y, int C, const float* gamma, const float* beta, float eps) {
  // Two passes in float, as PyTorch's CPU kernel accumulates; the variance is biased.
  float mean = 0.f;
#pragma omp simd reduction(+ : mean)
  for (int c = 0; c < C; ++c) mean += x[c];
  mean /= static_cast<float>(C);
  float var = 0.f;
#pragma omp simd reduction(+ : var)
  for (int c = 0; c < C; ++c) var += (x[c] - mean) * (x[c] - mean);
  var /= static_cast<float>(C);
  const float rstd = 1.f / std::sqrt(var + eps);
#pragma omp simd
  for (int c = 0; c < C; ++c) y[c] = (x[c] - mean) * rstd * gamma[c] + beta[c];
}

// expf by Cody-Waite range reduction and Cephes' degree-5 polynomial (≤ 2 ulp on the
// clamped range), written so `omp simd` vectorizes it: libm's expf is a scalar call, and
// softmax over SWIN-T's windows needs ~17M of them per batch of 8.
inline float exp_poly(float x) {
  x = std::min(std::max(x, -87.3f), 88.7f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
  return y * std::bit_cast<float>(bits);
}

// Region of a coordinate in the shifted frame: slices (0,-w), (-w,-s), (-s,None) as in
// the reference attention mask.
inline int shift_region(int y, int H, int w, int s) { return y < H - w ? 0 : (y < H - s ? 1 : 2); }

}  // namespace

void layernorm_rows(const float* x, float* y, long rows, int C, const float* gamma, const float* beta, float eps) {
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r) ln_one(x + r * C, y + r * C, C, gamma, beta, eps);
}

void patch_im2col(const float* input, float* cols, int batch, int in_chans, int img, int patch) {
  const int P = img / patch;
  const int K = in_chans * patch * patch;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < batch; ++b)
    for (int py = 0; py < P; ++py)
      for (int px = 0; px < P; ++px) {
        float* row = cols + (static_cast<long>(b) * P * P + py * P + px) * K;
        for (int c = 0; c < in_chans; ++c)
          for (int ky = 0; ky < patch; ++ky) {
            const float* src = input + ((static_cast<long>(b) * in_chans + c) * img + py * patch + ky) * img + px * patch;
            std::copy(src, src + patch, row + (c * patch + ky) * patch);
          }
      }
}

void ln_shift_partition(const float* x, float* out, const WindowGeometry& g, const float* gamma, const float* beta,
                        float eps) {
  const int H = g.H, w = g.window, nw = H / w, C = g.C;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < g.batch; ++b)
    for (int i = 0; i < H; ++i) {  // row in the shifted frame
      const int wy = i / w, ty = i % w;
      const int src_y = (i + g.shift) % H;
      for (int j = 0; j < H; ++j) {
        const int wx = j / w, tx = j % w;
        const int src_x = (j + g.shift) % H;
        const long src = (static_cast<long>(b) * H + src_y) * H + src_x;
        const long dst = ((static_cast<long>(b) * nw * nw + wy * nw + wx) * w + ty) * w + tx;
        ln_one(x + src * C, out + dst * C, C, gamma, beta, eps);
      }
    }
}

void attention_scores(const float* qkv, float* scores, const WindowGeometry& g) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
  const float scale = 1.f / std::sqrt(static_cast<float>(d));
#pragma omp parallel
  {
    // Kᵀ of one (window, head) so the inner loop runs along j, contiguous: vectorizes
    // without a horizontal reduction per score. Grows once per thread, then reused.
    thread_local std::vector<float> kt;
    if (kt.size() < static_cast<std::size_t>(d) * N) kt.resize(static_cast<std::size_t>(d) * N);
#pragma omp for collapse(2) schedule(static)
    for (long win = 0; win < nwin; ++win)
      for (int h = 0; h < g.heads; ++h) {
        const float* base = qkv + win * N * 3 * C;
        for (int j = 0; j < N; ++j) {
          const float* k = base + static_cast<long>(j) * 3 * C + C + h * d;
          for (int e = 0; e < d; ++e) kt[static_cast<std::size_t>(e) * N + j] = k[e];
        }
        float* S = scores + (win * g.heads + h) * N * N;
        for (int i = 0; i < N; ++i) {
          const float* q = base + static_cast<long>(i) * 3 * C + h * d;
          float* row = S + i * N;
          std::fill(row, row + N, 0.f);
          for (int e = 0; e < d; ++e) {
            // PyTorch scales q before the product; so does this.
            const float qe = q[e] * scale;
            const float* kr = kt.data() + static_cast<std::size_t>(e) * N;
#pragma omp simd
            for (int j = 0; j < N; ++j) row[j] += qe * kr[j];
          }
        }
      }
  }
}

void softmax_bias_mask(float* scores, const float* rel_bias, const WindowGeometry& g) {
  const int N = g.tokens_per_window(), w = g.window, nw = g.H / w;
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int h = 0; h < g.heads; ++h) {
      float* S = scores + (win * g.heads + h) * N * N;
      const float* Bh = rel_bias + static_cast<long>(h) * N * N;
      const int wy = static_cast<int>((win % (nw * nw)) / nw), wx = static_cast<int>(win % nw);
      for (int i = 0; i < N; ++i) {
        float* row = S + i * N;
        const float* brow = Bh + i * N;
        for (int j = 0; j < N; ++j) row[j] += brow[j];
        if (g.shift > 0) {
          const int ri = shift_region(wy * w + i / w, g.H, w, g.shift) * 3 + shift_region(wx * w + i % w, g.H, w, g.shift);
          for (int j = 0; j < N; ++j) {
            const int rj = shift_region(wy * w + j / w, g.H, w, g.shift) * 3 + shift_region(wx * w + j % w, g.H, w, g.shift);
            if (ri != rj) row[j] += -100.f;
          }
        }
        float mx = row[0];
        for (int j = 1; j < N; ++j) mx = std::max(mx, row[j]);
        float sum = 0.f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < N; ++j) {
          row[j] = exp_poly(row[j] - mx);
          sum += row[j];
        }
        const float inv = 1.f / sum;
        for (int j = 0; j < N; ++j) row[j] *= inv;
      }
    }
}

void attention_av(const float* scores, const float* qkv, float* ctx, const WindowGeometry& g) {
  const int N = g.tokens_per_window(), d = g.head_dim(), C = g.C;
  const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
#pragma omp parallel for collapse(2) schedule(static)
  for (long win = 0; win < nwin; ++win)
    for (int h = 0; h < g.heads; ++h) {
      const float* base = qkv + win * N * 3 * C;
      const float* P = scores + (win * g.heads + h) * N * N;
      for (int i = 0; i < N; ++i) {
        float* out = ctx + (win * N + i) * C + h * d;
        std::fill(out, out + d, 0.f);
        for (int j = 0; j < N; ++j) {
          const float p = P[i * N + j];
          const float* v = base + static_cast<long>(j) * 3 * C + 2 * C + h * d;
#pragma omp simd
          for (int e = 0; e < d; ++e) out[e] += p * v[e];
        }
      }
    }
}

void window_reverse_residual_ln(const float* attn_out, float* x, float* ln_out, const WindowGeometry& g,
                                const float* gamma, const float* beta, float eps) {
  const int H = g.H, w = g.window, nw = H / w, C = g.C;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < g.batch; ++b)
    for (int y = 0; y < H; ++y) {  // original frame
      const int i = (y - g.shift + H) % H;  // its row in the shifted frame
      for (int xcol = 0; xcol < H; ++xcol) {
        const int j = (xcol - g.shift + H) % H;
        const long tok = (static_cast<long>(b) * H + y) * H + xcol;
        const long win_tok = ((static_cast<long>(b) * nw * nw + (i / w) * nw + j / w) * w + i % w) * w + j % w;
        float* xr = x + tok * C;
        const float* a = attn_out + win_tok * C;
#pragma omp simd
        for (int c = 0; c < C; ++c) xr[c] += a[c];
        ln_one(xr, ln_out + tok * C, C, gamma, beta, eps);
      }
    }
}

void merge_gather_ln(const float* x, float* out, int batch, int H, int C, const float* gamma, const float* beta,
                     float eps) {
  const int Ho = H / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < batch; ++b)
    for (int i = 0; i < Ho; ++i)
      for (int j = 0; j < Ho; ++j) {
        float* row = out + ((static_cast<long>(b) * Ho + i) * Ho + j) * 4 * C;
        static constexpr int dy[4] = {0, 1, 0, 1};
        static constexpr int dx[4] = {0, 0, 1, 1};
        for (int q = 0; q < 4; ++q) {
          const float* src = x + ((static_cast<long>(b) * H + 2 * i + dy[q]) * H + 2 * j + dx[q]) * C;
          std::copy(src, src + C, row + q * C);
        }
        ln_one(row, row, 4 * C, gamma, beta, eps);
      }
}

void expand_relative_position_bias(const float* table, float* dense, int window, int heads) {
  const int N = window * window, span = 2 * window - 1;
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      const int dy = i / window - j / window + window - 1;
      const int dx = i % window - j % window + window - 1;
      const int idx = dy * span + dx;
      for (int h = 0; h < heads; ++h) dense[(static_cast<long>(h) * N + i) * N + j] = table[idx * heads + h];
    }
}

void ln_mean_pool(const float* x, float* scratch, float* pooled, int batch, int L, int F, const float* gamma,
                  const float* beta, float eps) {
  layernorm_rows(x, scratch, static_cast<long>(batch) * L, F, gamma, beta, eps);
#pragma omp parallel for schedule(static)
  for (int b = 0; b < batch; ++b) {
    float* out = pooled + static_cast<long>(b) * F;
    std::fill(out, out + F, 0.f);
    for (int t = 0; t < L; ++t) {
      const float* r = scratch + (static_cast<long>(b) * L + t) * F;
#pragma omp simd
      for (int c = 0; c < F; ++c) out[c] += r[c];
    }
    for (int c = 0; c < F; ++c) out[c] /= static_cast<float>(L);
  }
}

}  // namespace swinscope::cpu
