#include "engine/cuda/window_attention.cuh"

#include <cmath>

#include "engine/cuda/ptx.cuh"
#include "engine/error.h"

namespace swinscope::SWS_CUDA_NS {

namespace {

constexpr int kAttnWarps = 4;
constexpr int kScoresPerLane = (kAttnMaxTokens + kWarp - 1) / kWarp;

SWS_HD constexpr int round_up(int v, int m) { return (v + m - 1) / m * m; }

// The Mma kernel's shared memory, all offsets and strides in bytes (multiples of 16). Rows are
// padded by 16 bytes (q, k, vᵀ, p) and the scores by 8 ints, which makes the fragment loads
// and the paired score stores of a warp hit 32 distinct banks.
struct MmaSmem {
  int Mp, Kp, Dp, Dn;  // queries (16s), keys (32s: P·V's k), head dim as Q·Kᵀ's k (32s), as P·V's n (8s)
  int qk_stride, v_stride, s_stride;  // q and k rows, vᵀ and p rows (bytes); score rows (ints)
  int q_off, k_off, v_off, warp_off, s_bytes, warp_bytes, total;
  SWS_HD explicit MmaSmem(const Geo& g) {
    const int N = g.tokens(), d = g.head_dim();
    Mp = round_up(N, 16), Kp = round_up(N, 32), Dp = round_up(d, 32), Dn = round_up(d, 8);
    qk_stride = Dp + 16, v_stride = Kp + 16, s_stride = Kp + 8;
    q_off = 0;
    k_off = q_off + Mp * qk_stride;
    v_off = k_off + Kp * qk_stride;
    warp_off = v_off + Dn * v_stride;
    s_bytes = 16 * s_stride * 4;              // one warp's 16 rows of int32 scores, then
    warp_bytes = s_bytes + 16 * v_stride;     // its 16 rows of u8 probabilities
    total = warp_off + kAttnWarps * warp_bytes;
  }
};

std::size_t simt_smem(const Geo& g) {
  // k (Np × d4) and vᵀ (d4 × Np) s8, and one u8 probability row (Np) per warp.
  return static_cast<std::size_t>(g.Np()) * g.d4() * 2 + static_cast<std::size_t>(kAttnWarps) * g.Np();
}

}  // namespace

// One query row i of one (window, head): softmax of the logits score(j)·deq + bias + mask over
// the N keys, quantized to u8 into p[0, width) (zeros from N on). One warp; lane l handles keys
// l, l + 32, … in the order softmax.cu sums them, so every kernel rounds alike.
template <typename Score>
__device__ __forceinline__ void softmax_row_u8(Score score, const float* brow, const float* mrow, int N, int width,
                                               float deq, float inv_p, std::uint8_t* p, int lane) {
  float logit[kScoresPerLane];
  float mx = -INFINITY;
SWS_UNROLL
  for (int s = 0; s < kScoresPerLane; ++s) {
    const int j = lane + s * kWarp;
    logit[s] = -INFINITY;
    if (j < N) {
      logit[s] = static_cast<float>(score(j)) * deq + brow[j] + (mrow ? mrow[j] : 0.f);
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
    if (j < width) p[j] = static_cast<std::uint8_t>(j < N ? numerics::q_unsigned(numerics::exp_f(logit[s] - mx) * inv) : 0);
  }
}

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
    auto score = [&](int j) {
      int acc = 0;
      for (int e = 0; e < d4; ++e) acc += static_cast<int>(qi[e]) * ks[j * d4 + e];
      return acc;
    };
    softmax_row_u8(score, brow, mrow, N, Np, deq, inv_p, p, lane);
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

// The tensor-core kernel. Fragment layouts: engine/cuda/ptx.cuh (g = lane >> 2, t = lane & 3).
__global__ void window_attention_mma_kernel(const std::int8_t* q, const std::int8_t* k, const std::int8_t* vt,
                                            std::int8_t* ctx, Geo g, const float* rel_bias, const float* mask, float deq,
                                            float inv_p, float requant) {
  auto* smem = SWS_DYNAMIC_SHARED(unsigned char);
  const MmaSmem L(g);
  const int N = g.tokens(), Np = g.Np(), d = g.head_dim(), d4 = g.d4();
  const long long wh = blockIdx.x;
  const int tid = static_cast<int>(threadIdx.x), nthreads = static_cast<int>(blockDim.x);
  // ---- q, k (rows ≥ N and columns ≥ d4 zeroed) and vᵀ (keys ≥ Np zeroed) into shared memory,
  // as 4-byte words (d4 and Np are multiples of 4)
  {
    const int qw = L.Dp / 4, vw = L.Kp / 4;
    const auto* qg = reinterpret_cast<const int*>(q + wh * Np * d4);
    const auto* kg = reinterpret_cast<const int*>(k + wh * Np * d4);
    const auto* vg = reinterpret_cast<const int*>(vt + wh * d4 * Np);
    for (int i = tid; i < L.Kp * qw; i += nthreads) {
      const int r = i / qw, c = i % qw;
      const bool in = r < N && 4 * c < d4;
      if (r < L.Mp) *reinterpret_cast<int*>(smem + L.q_off + r * L.qk_stride + 4 * c) = in ? qg[r * (d4 / 4) + c] : 0;
      *reinterpret_cast<int*>(smem + L.k_off + r * L.qk_stride + 4 * c) = in ? kg[r * (d4 / 4) + c] : 0;
    }
    for (int i = tid; i < L.Dn * vw; i += nthreads) {
      const int e = i / vw, c = i % vw;
      *reinterpret_cast<int*>(smem + L.v_off + e * L.v_stride + 4 * c) = e < d4 && 4 * c < Np ? vg[e * (Np / 4) + c] : 0;
    }
  }
  __syncthreads();
  const int warp = tid / kWarp, lane = tid % kWarp, gq = lane >> 2, t = lane & 3;
  const int h = static_cast<int>(wh % g.heads);
  const long long win = wh / g.heads;
  auto* S = reinterpret_cast<std::int32_t*>(smem + L.warp_off + warp * L.warp_bytes);  // (16, s_stride)
  auto* P = smem + L.warp_off + warp * L.warp_bytes + L.s_bytes;                        // (16, v_stride) u8
  auto word = [](const unsigned char* p) { return *reinterpret_cast<const std::uint32_t*>(p); };
  for (int m0 = warp * 16; m0 < L.Mp; m0 += kAttnWarps * 16) {
    // ---- Q·Kᵀ for query rows m0..m0+15 and every key: A = q rows (row-major, k = head dim),
    // B = k rows (col-major as mma wants it: key n's head-dim bytes are contiguous)
    std::uint32_t a[kAttnMmaMaxHeadDim / 32][4] = {};
SWS_UNROLL
    for (int kk = 0; kk < kAttnMmaMaxHeadDim / 32; ++kk)
      if (kk * 32 < L.Dp)
SWS_UNROLL
        for (int r = 0; r < 4; ++r)
          a[kk][r] = word(smem + L.q_off + (m0 + gq + 8 * (r & 1)) * L.qk_stride + kk * 32 + 4 * t + 16 * (r >> 1));
    for (int n0 = 0; n0 < L.Kp; n0 += 8) {
      std::int32_t acc[4] = {0, 0, 0, 0};
SWS_UNROLL
      for (int kk = 0; kk < kAttnMmaMaxHeadDim / 32; ++kk)
        if (kk * 32 < L.Dp) {
          const unsigned char* kr = smem + L.k_off + (n0 + gq) * L.qk_stride + kk * 32 + 4 * t;
          const std::uint32_t b[2] = {word(kr), word(kr + 16)};
          ptx::mma_m16n8k32_s8(acc, a[kk], b);
        }
      *reinterpret_cast<int2*>(S + gq * L.s_stride + n0 + 2 * t) = make_int2(acc[0], acc[1]);
      *reinterpret_cast<int2*>(S + (gq + 8) * L.s_stride + n0 + 2 * t) = make_int2(acc[2], acc[3]);
    }
    __syncwarp();
    // ---- softmax of each of the 16 rows (SIMT lanes; the padded query rows get zeros)
    for (int r = 0; r < 16; ++r) {
      const int i = m0 + r;
      std::uint8_t* prow = P + r * L.v_stride;
      if (i >= N) {
        for (int j = lane; j < L.Kp; j += kWarp) prow[j] = 0;
        continue;
      }
      const float* brow = rel_bias + (static_cast<long long>(h) * N + i) * Np;
      const float* mrow = mask ? mask + (static_cast<long long>(win % g.windows()) * N + i) * Np : nullptr;
      const std::int32_t* srow = S + r * L.s_stride;
      softmax_row_u8([&](int j) { return srow[j]; }, brow, mrow, N, L.Kp, deq, inv_p, prow, lane);
    }
    __syncwarp();
    // ---- P·V: A = p rows (u8, k = keys), B = vᵀ rows (head-dim element n's keys contiguous)
    for (int n0 = 0; n0 < L.Dn; n0 += 8) {
      std::int32_t acc[4] = {0, 0, 0, 0};
      for (int k0 = 0; k0 < L.Kp; k0 += 32) {
        std::uint32_t pa[4];
SWS_UNROLL
        for (int r = 0; r < 4; ++r) pa[r] = word(P + (gq + 8 * (r & 1)) * L.v_stride + k0 + 4 * t + 16 * (r >> 1));
        const unsigned char* vr = smem + L.v_off + (n0 + gq) * L.v_stride + k0 + 4 * t;
        const std::uint32_t b[2] = {word(vr), word(vr + 16)};
        ptx::mma_m16n8k32_u8s8(acc, pa, b);
      }
SWS_UNROLL
      for (int c = 0; c < 4; ++c) {
        const int i = m0 + gq + 8 * (c >> 1), e = n0 + 2 * t + (c & 1);
        if (i < N && e < d)
          ctx[(win * N + i) * g.C + h * d + e] =
              static_cast<std::int8_t>(numerics::q_signed(static_cast<float>(acc[c]) * requant));
      }
    }
    __syncwarp();  // before the next m-tile overwrites S and P
  }
}

const char* attn_kernel_name(AttnKernel kernel) {
  switch (kernel) {
    case AttnKernel::Auto: return "auto";
    case AttnKernel::Mma: return "mma";
    case AttnKernel::Simt: return "simt";
  }
  return "?";
}

namespace {

std::string mma_unsupported(const Geo& g) {
  if (g.tokens() > kAttnMmaMaxTokens) return std::to_string(g.tokens()) + " tokens per window (mma kernel: at most " + std::to_string(kAttnMmaMaxTokens) + ")";
  if (g.head_dim() > kAttnMmaMaxHeadDim) return "head dimension " + std::to_string(g.head_dim()) + " (mma kernel: at most " + std::to_string(kAttnMmaMaxHeadDim) + ")";
  if (MmaSmem(g).total > 48 * 1024) return std::to_string(MmaSmem(g).total) + " bytes of shared memory (mma kernel: at most 48 KiB)";
  if (device_cc_major() < 8) return "the mma kernel needs an sm_80 or newer GPU";
  return {};
}

std::string simt_unsupported(const Geo& g) {
  if (g.tokens() > kAttnMaxTokens) return std::to_string(g.tokens()) + " tokens per window (at most " + std::to_string(kAttnMaxTokens) + ")";
  if (g.head_dim() > kAttnMaxHeadDim) return "head dimension " + std::to_string(g.head_dim()) + " (at most " + std::to_string(kAttnMaxHeadDim) + ")";
  if (simt_smem(g) > 48 * 1024) return std::to_string(simt_smem(g)) + " bytes of shared memory (at most 48 KiB)";
  return {};
}

}  // namespace

bool window_attention_supported(const Geo& g, std::string* why, AttnKernel kernel) {
  std::string reason;
  if (kernel == AttnKernel::Mma) reason = mma_unsupported(g);
  else reason = simt_unsupported(g);  // Simt, and Auto (Simt handles every geometry Mma does)
  if (why) *why = reason;
  return reason.empty();
}

AttnKernel window_attention_pick(const Geo& g, AttnKernel kernel) {
  if (kernel != AttnKernel::Auto) return kernel;
  return mma_unsupported(g).empty() ? AttnKernel::Mma : AttnKernel::Simt;
}

void window_attention(const std::int8_t* q, const std::int8_t* k, const std::int8_t* vt, std::int8_t* ctx, const Geo& g,
                      const float* rel_bias, const float* mask, float deq, float inv_p, float requant, cudaStream_t stream,
                      AttnKernel kernel) {
  const AttnKernel use = window_attention_pick(g, kernel);
  std::string why;
  if (!window_attention_supported(g, &why, use))
    throw Error("window_attention (" + std::string(attn_kernel_name(use)) + "): unsupported geometry: " + why, Error::Kind::Runtime);
  if (use == AttnKernel::Mma)
    SWS_LAUNCH(window_attention_mma_kernel, static_cast<unsigned>(g.nwh()), kAttnWarps * kWarp,
               static_cast<std::size_t>(MmaSmem(g).total), stream, q, k, vt, ctx, g, rel_bias, mask, deq, inv_p, requant);
  else
    SWS_LAUNCH(window_attention_kernel, static_cast<unsigned>(g.nwh()), kAttnWarps * kWarp, simt_smem(g), stream, q, k, vt,
               ctx, g, rel_bias, mask, deq, inv_p, requant);
}

}  // namespace swinscope::SWS_CUDA_NS
