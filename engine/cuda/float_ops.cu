#include "engine/cuda/float_ops.cuh"

#include <cmath>

namespace swinscope::SWS_CUDA_NS {

namespace {

// Loads and stores of a GEMM operand: float, or half bits (round to nearest even).
template <Act A>
struct Io;
template <>
struct Io<Act::F32> {
  using T = float;
  static SWS_HD float ld(const T* p, long long i) { return p[i]; }
  static SWS_HD void st(T* p, long long i, float v) { p[i] = v; }
};
template <>
struct Io<Act::F16> {
  using T = std::uint16_t;
  static SWS_HD float ld(const T* p, long long i) { return numerics::half_bits_to_float(p[i]); }
  static SWS_HD void st(T* p, long long i, float v) { p[i] = numerics::float_to_half_bits(v); }
};

template <Act A>
__global__ void ln_window_partition_kernel(const float* x, void* out, Geo g, const float* gamma, const float* beta,
                                           float eps) {
  using I = Io<A>;
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= g.nwin() * g.tokens()) return;
  const float* src = x + numerics::source_token(r / g.tokens(), static_cast<int>(r % g.tokens()), g.H, g.window, g.shift) * g.C;
  auto* o = static_cast<typename I::T*>(out) + r * g.C;
  warp_ln([src](int k) { return src[k]; }, [o](int k, float v) { I::st(o, k, v); }, g.C, gamma, beta, eps,
          static_cast<int>(threadIdx.x % kWarp));
}

template <Act A>
__global__ void bias_split_heads_kernel(const void* qkv, void* q, void* k, void* v, Geo g, const float* bias) {
  using I = Io<A>;
  const int N = g.tokens(), d = g.head_dim(), C = g.C;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;  // (win, t, part, c)
  if (i >= g.nwin() * N * 3 * C) return;
  const int c3 = static_cast<int>(i % (3 * C));
  const long long row = i / (3 * C);
  const long long win = row / N;
  const int t = static_cast<int>(row % N), part = c3 / C, h = (c3 % C) / d, e = c3 % d;
  const float val = I::ld(static_cast<const typename I::T*>(qkv), i) + bias[c3];
  auto* dst = static_cast<typename I::T*>(part == 0 ? q : (part == 1 ? k : v));
  I::st(dst, ((win * g.heads + h) * N + t) * d + e, val);
}

template <Act A>
__global__ void softmax_rows_kernel(const float* scores, void* probs, Geo g, const float* rel_bias, const float* mask) {
  using I = Io<A>;
  const int N = g.tokens(), Np = g.Np();
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;  // (wh, i)
  if (r >= g.nwh() * N) return;
  const int lane = static_cast<int>(threadIdx.x % kWarp), i = static_cast<int>(r % N);
  const long long wh = r / N;
  const int h = static_cast<int>(wh % g.heads);
  const float* srow = scores + r * N;
  const float* brow = rel_bias + (static_cast<long long>(h) * N + i) * N;
  const float* mrow = mask ? mask + (static_cast<long long>((wh / g.heads) % g.windows()) * N + i) * Np : nullptr;
  auto logit = [&](int j) { return srow[j] + brow[j] + (mrow ? mrow[j] : 0.f); };
  float mx = -INFINITY;
  for (int j = lane; j < N; j += kWarp) mx = fmaxf(mx, logit(j));
  mx = warp_max(mx);
  float sum = 0.f;
  for (int j = lane; j < N; j += kWarp) sum += numerics::exp_f(logit(j) - mx);
  const float inv = 1.f / warp_sum(sum);
  auto* p = static_cast<typename I::T*>(probs) + r * N;
  for (int j = lane; j < N; j += kWarp) I::st(p, j, numerics::exp_f(logit(j) - mx) * inv);
}

template <Act A>
__global__ void merge_heads_kernel(const void* ctx, void* out, Geo g) {
  using I = Io<A>;
  const int N = g.tokens(), d = g.head_dim(), C = g.C;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;  // (win, t, c)
  if (i >= g.nwin() * N * C) return;
  const int c = static_cast<int>(i % C), t = static_cast<int>((i / C) % N);
  const long long win = i / (static_cast<long long>(C) * N);
  const float v = I::ld(static_cast<const typename I::T*>(ctx), ((win * g.heads + c / d) * N + t) * d + c % d);
  I::st(static_cast<typename I::T*>(out), i, v);
}

template <Act A>
__global__ void proj_residual_ln_kernel(const void* attn, float* x, void* out, Geo g, const float* bias, const float* gamma,
                                        const float* beta, float eps) {
  using I = Io<A>;
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= g.nwin() * g.tokens()) return;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  const long long tok = numerics::source_token(r / g.tokens(), static_cast<int>(r % g.tokens()), g.H, g.window, g.shift);
  float* xr = x + tok * g.C;
  const auto* a = static_cast<const typename I::T*>(attn) + r * g.C;
  for (int c = lane; c < g.C; c += kWarp) xr[c] += I::ld(a, c) + bias[c];
  __syncwarp();
  auto* o = static_cast<typename I::T*>(out) + tok * g.C;
  warp_ln([xr](int k) { return xr[k]; }, [o](int k, float v) { I::st(o, k, v); }, g.C, gamma, beta, eps, lane);
}

template <Act A>
__global__ void bias_activation_kernel(void* h, long long n, int hidden, const float* bias, int gelu) {
  using I = Io<A>;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  auto* p = static_cast<typename I::T*>(h);
  const float v = I::ld(p, i) + (bias ? bias[i % hidden] : 0.f);
  I::st(p, i, gelu ? numerics::gelu_erf(v) : (v > 0.f ? v : 0.f));
}

template <Act A>
__global__ void bias_residual_kernel(const void* y, float* x, long long n, int C, const float* bias) {
  using I = Io<A>;
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] += I::ld(static_cast<const typename I::T*>(y), i) + bias[i % C];
}

template <Act A>
__global__ void merge_gather_ln_kernel(const float* x, void* out, int batch, int H, int C, const float* gamma,
                                       const float* beta, float eps) {
  using I = Io<A>;
  const int Ho = H / 2;
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= static_cast<long long>(batch) * Ho * Ho) return;
  const int b = static_cast<int>(r / (Ho * Ho)), i = static_cast<int>(r % (Ho * Ho)) / Ho, j = static_cast<int>(r % Ho);
  auto at = [=](int k) { return merge_gather_at(x, b, i, j, H, C, k); };
  auto* o = static_cast<typename I::T*>(out) + r * 4 * C;
  warp_ln(at, [o](int k, float v) { I::st(o, k, v); }, 4 * C, gamma, beta, eps, static_cast<int>(threadIdx.x % kWarp));
}


}  // namespace

#define SWS_FLOAT_OP(kernel, grid, block, ...)                                     \
  do {                                                                             \
    if (act == Act::F16) {                                                         \
      constexpr auto k16 = kernel<Act::F16>;                                       \
      launch(#kernel "<f16>", k16, grid, block, 0, stream, __VA_ARGS__);           \
    } else {                                                                       \
      constexpr auto k32 = kernel<Act::F32>;                                       \
      launch(#kernel "<f32>", k32, grid, block, 0, stream, __VA_ARGS__);           \
    }                                                                              \
  } while (0)

void ln_window_partition(const float* x, void* out, Act act, const Geo& g, const float* gamma, const float* beta, float eps,
                         cudaStream_t stream) {
  SWS_FLOAT_OP(ln_window_partition_kernel, grid_for(g.nwin() * g.tokens(), kRowsPerBlock), kRowsPerBlock * kWarp, x, out, g,
               gamma, beta, eps);
}

void bias_split_heads(const void* qkv, void* q, void* k, void* v, Act act, const Geo& g, const float* bias,
                      cudaStream_t stream) {
  SWS_FLOAT_OP(bias_split_heads_kernel, grid_for(g.nwin() * g.tokens() * 3 * g.C, 256), 256, qkv, q, k, v, g, bias);
}

void softmax_rows(const float* scores, void* probs, Act act, const Geo& g, const float* rel_bias, const float* mask,
                  cudaStream_t stream) {
  SWS_FLOAT_OP(softmax_rows_kernel, grid_for(g.nwh() * g.tokens(), kRowsPerBlock), kRowsPerBlock * kWarp, scores, probs, g,
               rel_bias, mask);
}

void merge_heads(const void* ctx, void* out, Act act, const Geo& g, cudaStream_t stream) {
  SWS_FLOAT_OP(merge_heads_kernel, grid_for(g.nwin() * g.tokens() * g.C, 256), 256, ctx, out, g);
}

void proj_residual_ln(const void* attn, float* x, void* out, Act act, const Geo& g, const float* bias, const float* gamma,
                      const float* beta, float eps, cudaStream_t stream) {
  SWS_FLOAT_OP(proj_residual_ln_kernel, grid_for(g.nwin() * g.tokens(), kRowsPerBlock), kRowsPerBlock * kWarp, attn, x, out,
               g, bias, gamma, beta, eps);
}

void bias_activation(void* h, Act act, long long rows, int hidden, const float* bias, bool gelu, cudaStream_t stream) {
  const long long n = rows * hidden;
  SWS_FLOAT_OP(bias_activation_kernel, grid_for(n, 256), 256, h, n, hidden, bias, gelu ? 1 : 0);
}

void bias_residual(const void* y, Act act, float* x, long long rows, int C, const float* bias, cudaStream_t stream) {
  const long long n = rows * C;
  SWS_FLOAT_OP(bias_residual_kernel, grid_for(n, 256), 256, y, x, n, C, bias);
}

void merge_gather_ln(const float* x, void* out, Act act, int batch, int H, int C, const float* gamma, const float* beta,
                     float eps, cudaStream_t stream) {
  const long long rows = static_cast<long long>(batch) * (H / 2) * (H / 2);
  SWS_FLOAT_OP(merge_gather_ln_kernel, grid_for(rows, kRowsPerBlock), kRowsPerBlock * kWarp, x, out, batch, H, C, gamma, beta,
               eps);
}

}  // namespace swinscope::SWS_CUDA_NS
