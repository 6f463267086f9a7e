#include "engine/cuda/window_attention.cuh"

#include <cmath>

#include "engine/error.h"

namespace swinscope::SWS_CUDA_NS {

namespace {

constexpr int kAttnWarps = 4;
constexpr int kScoresPerLane = (kAttnMaxTokens + kWarp - 1) / kWarp;

std::size_t attention_smem(const Geo& g) {
  // k (Np × d4) and vᵀ (d4 × Np) s8, and one u8 probability row (Np) per warp.
  return static_cast<std::size_t>(g.Np()) * g.d4() * 2 + static_cast<std::size_t>(kAttnWarps) * g.Np();
}

}  // namespace

__global__ void window_attention_kernel(const std::int8_t* q, const std::int8_t* k, const std::int8_t* vt,
                                        std::int8_t* ctx, Geo g, const float* rel_bias, const float* mask, float deq,
                                        float inv_p, float requant) {
  std::int8_t* smem = SWS_DYNAMIC_SHARED(std::int8_t);
  const int N = g.tokens(), Np = g.Np(), d = g.head_dim(), d4 = g.d4();
  const long long wh = blockIdx.x;
  std::int8_t* ks = smem;                  // (Np, d4)
  std::int8_t* vs = smem + Np * d4;        // (d4, Np)
  auto* ps = reinterpret_cast<std::uint8_t*>(smem + 2 * Np * d4);  // (warps, Np)
  const int tid = static_cast<int>(threadIdx.x), nthreads = static_cast<int>(blockDim.x);
  // Both operands are Np·d4 contiguous bytes (a multiple of 32): copy as 4-byte words.
  const auto* kg = reinterpret_cast<const int*>(k + wh * Np * d4);
  const auto* vg = reinterpret_cast<const int*>(vt + wh * d4 * Np);
  for (int i = tid; i < Np * d4 / 4; i += nthreads) {
    reinterpret_cast<int*>(ks)[i] = kg[i];
    reinterpret_cast<int*>(vs)[i] = vg[i];
  }
  __syncthreads();
  const int warp = tid / kWarp, lane = tid % kWarp;
  const int h = static_cast<int>(wh % g.heads);
  const long long win = wh / g.heads;
  std::uint8_t* p = ps + warp * Np;
  for (int i = warp; i < N; i += kAttnWarps) {
    const std::int8_t* qi = q + (wh * Np + i) * d4;
    const float* brow = rel_bias + (static_cast<long long>(h) * N + i) * Np;
    const float* mrow = mask ? mask + (static_cast<long long>(win % g.windows()) * N + i) * Np : nullptr;
    float logit[kScoresPerLane];
    float mx = -INFINITY;
SWS_UNROLL
    for (int s = 0; s < kScoresPerLane; ++s) {
      const int j = lane + s * kWarp;
      logit[s] = -INFINITY;
      if (j < N) {
        int acc = 0;
        for (int e = 0; e < d4; ++e) acc += static_cast<int>(qi[e]) * ks[j * d4 + e];
        logit[s] = static_cast<float>(acc) * deq + brow[j] + (mrow ? mrow[j] : 0.f);
        mx = fmaxf(mx, logit[s]);
      }
    }
    mx = warp_max(mx);
    float sum = 0.f;
SWS_UNROLL
    for (int s = 0; s < kScoresPerLane; ++s)
      if (lane + s * kWarp < N) sum += numerics::exp_f(logit[s] - mx);
    const float inv = inv_p / warp_sum(sum);
SWS_UNROLL
    for (int s = 0; s < kScoresPerLane; ++s) {
      const int j = lane + s * kWarp;
      if (j < Np) p[j] = static_cast<std::uint8_t>(j < N ? numerics::q_unsigned(numerics::exp_f(logit[s] - mx) * inv) : 0);
    }
    __syncwarp();  // the row of probabilities is read by every lane below
    for (int e = lane; e < d; e += kWarp) {
      int acc = 0;
      const std::int8_t* ve = vs + e * Np;
      for (int j = 0; j < N; ++j) acc += static_cast<int>(p[j]) * ve[j];
      ctx[(win * N + i) * g.C + h * d + e] = static_cast<std::int8_t>(numerics::q_signed(static_cast<float>(acc) * requant));
    }
    __syncwarp();  // before the next row overwrites p
  }
}

bool window_attention_supported(const Geo& g, std::string* why) {
  std::string reason;
  if (g.tokens() > kAttnMaxTokens) reason = std::to_string(g.tokens()) + " tokens per window (at most " + std::to_string(kAttnMaxTokens) + ")";
  else if (g.head_dim() > kAttnMaxHeadDim) reason = "head dimension " + std::to_string(g.head_dim()) + " (at most " + std::to_string(kAttnMaxHeadDim) + ")";
  else if (attention_smem(g) > 48 * 1024) reason = std::to_string(attention_smem(g)) + " bytes of shared memory (at most 48 KiB)";
  if (why) *why = reason;
  return reason.empty();
}

void window_attention(const std::int8_t* q, const std::int8_t* k, const std::int8_t* vt, std::int8_t* ctx, const Geo& g,
                      const float* rel_bias, const float* mask, float deq, float inv_p, float requant, cudaStream_t stream) {
  std::string why;
  if (!window_attention_supported(g, &why)) throw Error("window_attention: unsupported geometry: " + why, Error::Kind::Runtime);
  SWS_LAUNCH(window_attention_kernel, static_cast<unsigned>(g.nwh()), kAttnWarps * kWarp, attention_smem(g), stream, q, k, vt,
             ctx, g, rel_bias, mask, deq, inv_p, requant);
}

}  // namespace swinscope::SWS_CUDA_NS
