#include "engine/cuda/ivit_kernels.cuh"

namespace swinscope::SWS_CUDA_NS {

namespace {

using ivit::sat;

__device__ __forceinline__ long long thread_index() { return static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x; }

__device__ __forceinline__ long long warp_sum64(long long v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ int warp_max32(int v) {
  for (int o = 16; o > 0; o >>= 1) {
    const int u = __shfl_xor_sync(0xffffffffu, v, o);
    v = u > v ? u : v;
  }
  return v;
}

__device__ __forceinline__ std::int64_t requant(const IvLinear& l, std::int64_t acc, int n) {
  return ivit::apply(acc + l.bias[n], l.out[n]);
}

constexpr int kThreads = 256;

}  // namespace

__global__ void ivit_quantize_kernel(const float* in, std::int8_t* out, long long n, float inv_scale) {
  const long long i = thread_index();
  if (i < n) out[i] = static_cast<std::int8_t>(numerics::q_signed(in[i] * inv_scale));
}

void ivit_quantize(const float* in, std::int8_t* out, long long n, float inv_scale, cudaStream_t stream) {
  SWS_LAUNCH(ivit_quantize_kernel, grid_for(n, kThreads), kThreads, 0, stream, in, out, n, inv_scale);
}

__global__ void ivit_gemm_simt_kernel(const std::int8_t* a, long long M, IvLinear l, std::int32_t* acc) {
  const long long i = thread_index();
  if (i >= M * l.N) return;
  const long long m = i / l.N;
  const int n = static_cast<int>(i % l.N);
  const std::int8_t* ar = a + m * l.K;
  const std::int8_t* wr = l.w + static_cast<long long>(n) * l.K;
  std::int32_t s = 0;
  for (int k = 0; k < l.K; ++k) s += static_cast<std::int32_t>(ar[k]) * wr[k];
  acc[i] = s;
}

void ivit_gemm_simt(const std::int8_t* a, long long M, const IvLinear& l, std::int32_t* acc, cudaStream_t stream) {
  SWS_LAUNCH(ivit_gemm_simt_kernel, grid_for(M * l.N, kThreads), kThreads, 0, stream, a, M, l, acc);
}

__global__ void ivit_requant_kernel(const std::int32_t* acc, std::int32_t* out, long long n, IvLinear l, int lim) {
  const long long i = thread_index();
  if (i < n) out[i] = sat(requant(l, acc[i], static_cast<int>(i % l.N)), lim);
}

void ivit_requant(const std::int32_t* acc, std::int32_t* out, long long rows, const IvLinear& l, int lim, cudaStream_t stream) {
  const long long n = rows * l.N;
  SWS_LAUNCH(ivit_requant_kernel, grid_for(n, kThreads), kThreads, 0, stream, acc, out, n, l, lim);
}

// One warp a row: the sum, the mean, Σ (x − mean)², the factor, then each lane's outputs.
__global__ void ivit_layernorm_kernel(const std::int32_t* x, IvRows mode, Geo g, long long rows, IvLayerNorm ln, int lim,
                                      std::int8_t* out8, std::int32_t* out32) {
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= rows) return;  // whole warps leave together
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  const int C = ln.C;
  const std::int32_t* src = x + r * C;
  long long b = 0;
  int mi = 0, mj = 0;
  if (mode == IvRows::Window) {
    src = x + numerics::source_token(r / g.tokens(), static_cast<int>(r % g.tokens()), g.H, g.window, g.shift) * C;
  } else if (mode == IvRows::Merge) {
    const int Ho = g.H / 2;
    b = r / (static_cast<long long>(Ho) * Ho);
    mi = static_cast<int>((r % (static_cast<long long>(Ho) * Ho)) / Ho), mj = static_cast<int>(r % Ho);
  }
  auto at = [&](int k) -> std::int64_t {
    if (mode != IvRows::Merge) return src[k];
    const int q = k / g.C;
    return x[((b * g.H + 2 * mi + numerics::merge_dy(q)) * g.H + 2 * mj + numerics::merge_dx(q)) * g.C + k % g.C];
  };
  long long s = 0;
  for (int k = lane; k < C; k += kWarp) s += at(k);
  const std::int64_t mean = ivit::ilayernorm_mean(warp_sum64(s), C);
  long long v = 0;
  for (int k = lane; k < C; k += kWarp) {
    const std::int64_t d = at(k) - mean;
    v += d * d;
  }
  const std::int64_t factor = ivit::ilayernorm_factor(warp_sum64(v));
  for (int k = lane; k < C; k += kWarp) {
    const std::int32_t y = sat(ivit::apply(ivit::ilayernorm_out(at(k), mean, factor), ln.gamma[k]) + ln.beta[k], lim);
    if (out8) out8[r * C + k] = static_cast<std::int8_t>(y);
    else out32[r * C + k] = y;
  }
}

void ivit_layernorm(const std::int32_t* x, IvRows mode, const Geo& g, long long rows, const IvLayerNorm& ln, int lim,
                    std::int8_t* out8, std::int32_t* out32, cudaStream_t stream) {
  SWS_LAUNCH(ivit_layernorm_kernel, grid_for(rows, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream, x, mode, g, rows, ln,
             lim, out8, out32);
}

__global__ void ivit_qkv_split_kernel(const std::int32_t* acc, IvLinear qkv, Geo g, std::int8_t* q, std::int8_t* k,
                                      std::int8_t* v) {
  const long long i = thread_index();
  const int C = g.C, N = g.tokens(), d = g.head_dim();
  if (i >= g.nwin() * N * 3 * C) return;
  const long long r = i / (3 * C);
  const int n = static_cast<int>(i % (3 * C));
  const long long win = r / N;
  const int t = static_cast<int>(r % N), part = n / C, h = (n % C) / d, e = n % d;
  const auto val = static_cast<std::int8_t>(sat(requant(qkv, acc[i], n), 127));
  const long long o = ((win * g.heads + h) * N + t) * d + e;
  (part == 0 ? q : (part == 1 ? k : v))[o] = val;
}

void ivit_qkv_split(const std::int32_t* acc, const IvLinear& qkv, const Geo& g, std::int8_t* q, std::int8_t* k,
                    std::int8_t* v, cudaStream_t stream) {
  const long long n = g.nwin() * g.tokens() * 3 * g.C;
  SWS_LAUNCH(ivit_qkv_split_kernel, grid_for(n, kThreads), kThreads, 0, stream, acc, qkv, g, q, k, v);
}

__global__ void ivit_qk_kernel(const std::int8_t* q, const std::int8_t* k, std::int32_t* scores, Geo g) {
  const long long i = thread_index();
  const int N = g.tokens(), d = g.head_dim();
  if (i >= g.nwh() * N * N) return;
  const long long wh = i / (static_cast<long long>(N) * N);
  const int qi = static_cast<int>((i / N) % N), kj = static_cast<int>(i % N);
  const std::int8_t* a = q + (wh * N + qi) * d;
  const std::int8_t* b = k + (wh * N + kj) * d;
  std::int32_t s = 0;
  for (int e = 0; e < d; ++e) s += static_cast<std::int32_t>(a[e]) * b[e];
  scores[i] = s;
}

void ivit_qk(const std::int8_t* q, const std::int8_t* k, std::int32_t* scores, const Geo& g, cudaStream_t stream) {
  const long long n = g.nwh() * g.tokens() * g.tokens();
  SWS_LAUNCH(ivit_qk_kernel, grid_for(n, kThreads), kThreads, 0, stream, q, k, scores, g);
}

// One thread a row: its logits overwrite its scores, then Shiftmax (engine/ivit.h) reads them.
__global__ void ivit_shiftmax_kernel(std::int32_t* scores, std::uint8_t* probs, Geo g, ivit::Dyadic att, const std::int32_t* rel_bias,
                                     const float* mask, std::int32_t masked, std::int32_t x0) {
  const long long r = thread_index();
  const int N = g.tokens(), Np = g.Np();
  if (r >= g.nwh() * N) return;
  const long long wh = r / N, win = wh / g.heads;
  const int i = static_cast<int>(r % N), h = static_cast<int>(wh % g.heads);
  std::int32_t* row = scores + r * N;
  for (int j = 0; j < N; ++j) {
    const bool m = mask && mask[((win % g.windows()) * N + i) * Np + j] != 0.f;
    row[j] = m ? masked : sat(ivit::apply(row[j], att) + rel_bias[(static_cast<long long>(h) * N + i) * N + j], 127);
  }
  ivit::shiftmax_row(row, N, x0, probs + r * N);
}

void ivit_shiftmax(std::int32_t* scores, std::uint8_t* probs, const Geo& g, ivit::Dyadic att, const std::int32_t* rel_bias,
                   const float* mask, std::int32_t masked, std::int32_t x0, cudaStream_t stream) {
  const long long n = g.nwh() * g.tokens();
  SWS_LAUNCH(ivit_shiftmax_kernel, grid_for(n, kThreads), kThreads, 0, stream, scores, probs, g, att,
             rel_bias, mask, masked, x0);
}

__global__ void ivit_av_kernel(const std::uint8_t* probs, const std::int8_t* v, std::int8_t* ctx, Geo g, ivit::Dyadic av) {
  const long long i = thread_index();
  const int N = g.tokens(), d = g.head_dim();
  if (i >= g.nwh() * N * d) return;
  const long long wh = i / (static_cast<long long>(N) * d), win = wh / g.heads;
  const int t = static_cast<int>((i / d) % N), e = static_cast<int>(i % d), h = static_cast<int>(wh % g.heads);
  const std::uint8_t* p = probs + (wh * N + t) * N;
  const std::int8_t* vv = v + wh * N * d + e;
  std::int32_t s = 0;
  for (int j = 0; j < N; ++j) s += static_cast<std::int32_t>(p[j]) * vv[static_cast<long long>(j) * d];
  ctx[(win * N + t) * g.C + h * d + e] = static_cast<std::int8_t>(sat(ivit::apply(s, av), 127));
}

void ivit_av(const std::uint8_t* probs, const std::int8_t* v, std::int8_t* ctx, const Geo& g, ivit::Dyadic av, cudaStream_t stream) {
  const long long n = g.nwh() * g.tokens() * g.head_dim();
  SWS_LAUNCH(ivit_av_kernel, grid_for(n, kThreads), kThreads, 0, stream, probs, v, ctx, g, av);
}

__global__ void ivit_residual_kernel(const std::int32_t* acc, IvLinear l, ivit::Dyadic res, std::int32_t* x, IvRows mode, Geo g,
                                     long long n) {
  const long long i = thread_index();
  if (i >= n) return;
  const long long r = i / l.N;
  const int c = static_cast<int>(i % l.N);
  const long long tok = mode == IvRows::Window
                            ? numerics::source_token(r / g.tokens(), static_cast<int>(r % g.tokens()), g.H, g.window, g.shift)
                            : r;
  std::int32_t* xp = x + tok * l.N + c;
  const std::int64_t a = static_cast<std::int64_t>(acc[i]) + (l.colsum ? 128 * l.colsum[c] : 0);
  *xp = sat(requant(l, a, c) + ivit::apply(*xp, res), 32767);
}

void ivit_residual(const std::int32_t* acc, const IvLinear& l, ivit::Dyadic res, std::int32_t* x, IvRows mode, const Geo& g,
                   long long rows, cudaStream_t stream) {
  const long long n = rows * l.N;
  SWS_LAUNCH(ivit_residual_kernel, grid_for(n, kThreads), kThreads, 0, stream, acc, l, res, x, mode, g, n);
}

__global__ void ivit_fc1_requant_kernel(const std::int32_t* acc, IvLinear l, int relu, std::int8_t* h, long long n) {
  const long long i = thread_index();
  if (i >= n) return;
  const std::int64_t v = requant(l, acc[i], static_cast<int>(i % l.N));
  h[i] = static_cast<std::int8_t>(relu ? ivit::clamp64(v, 0, 255) - 128 : sat(v, 127));  // ReLU in the requantization
}

void ivit_fc1_requant(const std::int32_t* acc, const IvLinear& fc1, bool relu, std::int8_t* h, long long rows, cudaStream_t stream) {
  const long long n = rows * fc1.N;
  SWS_LAUNCH(ivit_fc1_requant_kernel, grid_for(n, kThreads), kThreads, 0, stream, acc, fc1, relu ? 1 : 0, h, n);
}

// One warp a row: the row's maximum, e2 = 2^(−max) once, then x·σ per element.
__global__ void ivit_shift_gelu_kernel(const std::int8_t* h, std::int8_t* out, long long rows, int hidden, std::int32_t x0,
                                       ivit::Dyadic out_d) {
  const long long r = static_cast<long long>(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  if (r >= rows) return;
  const int lane = static_cast<int>(threadIdx.x % kWarp);
  const std::int8_t* x = h + r * hidden;
  int mx = -128;
  for (int k = lane; k < hidden; k += kWarp) mx = x[k] > mx ? x[k] : mx;
  mx = warp_max32(mx);
  const std::int64_t e2 = ivit::exp_shift(-static_cast<std::int64_t>(mx), x0, ivit::kShiftGeluN);
  for (int k = lane; k < hidden; k += kWarp)
    out[r * hidden + k] = static_cast<std::int8_t>(sat(ivit::apply(ivit::shift_gelu_elem(x[k], mx, e2, x0), out_d), 127));
}

void ivit_shift_gelu(const std::int8_t* h, std::int8_t* out, long long rows, int hidden, std::int32_t x0, ivit::Dyadic out_d,
                     cudaStream_t stream) {
  SWS_LAUNCH(ivit_shift_gelu_kernel, grid_for(rows, kRowsPerBlock), kRowsPerBlock * kWarp, 0, stream, h, out, rows, hidden, x0,
             out_d);
}

__global__ void ivit_pool_kernel(const std::int8_t* rows8, std::int8_t* pooled, int batch, int L, int F) {
  const long long i = thread_index();
  if (i >= static_cast<long long>(batch) * F) return;
  const long long b = i / F;
  const int f = static_cast<int>(i % F);
  std::int64_t s = 0;
  for (int t = 0; t < L; ++t) s += rows8[(b * L + t) * F + f];
  pooled[i] = static_cast<std::int8_t>(ivit::floor_div(2 * s + L, 2 * static_cast<std::int64_t>(L)));  // the mean, half up
}

void ivit_pool(const std::int8_t* rows8, std::int8_t* pooled, int batch, int L, int F, cudaStream_t stream) {
  SWS_LAUNCH(ivit_pool_kernel, grid_for(static_cast<long long>(batch) * F, kThreads), kThreads, 0, stream, rows8, pooled, batch, L, F);
}

__global__ void ivit_logits_kernel(const std::int32_t* acc, IvLinear head, const float* scale, float* logits, int batch) {
  const long long i = thread_index();
  if (i >= static_cast<long long>(batch) * head.N) return;
  const int n = static_cast<int>(i % head.N);
  logits[i] = static_cast<float>(acc[i] + head.bias[n]) * scale[n];
}

void ivit_logits(const std::int32_t* acc, const IvLinear& head, const float* scale, float* logits, int batch, cudaStream_t stream) {
  SWS_LAUNCH(ivit_logits_kernel, grid_for(static_cast<long long>(batch) * head.N, kThreads), kThreads, 0, stream, acc, head, scale,
             logits, batch);
}

}  // namespace swinscope::SWS_CUDA_NS
