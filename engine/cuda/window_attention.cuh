#pragma once
// Fused int8 window attention (issue 13): stages 4–6 (qk_gemm, softmax, av_gemm) in one kernel
// per (window, head). It reads stage 3's q, k (B·nW·heads, Np, d4) and vᵀ (…, d4, Np) s8 and
// writes the requantized s8 context with heads merged: (B·nW·N, C) window order. Per query row
// it computes the int32 scores, the dequantized logits + relative position bias + shift mask,
// the softmax (max subtracted, FP32, the same reduction order as softmax.cu), the u8
// probabilities (scale 1/255 · amax), P·V in int32 (u8 × s8: no zero-point detour, unlike the
// cuBLASLt path) and the requantized context — the three-stage path's function, bit for bit.
//
// Two kernels compute it:
//   Mma   tensor cores (mma.sync m16n8k32 via engine/cuda/ptx.cuh) for Q·Kᵀ (s8·s8) and P·V
//         (u8·s8): 49 tokens padded to 64 queries and keys (padded keys masked, padded
//         queries not stored), q, k, vᵀ in padded shared memory rows (no bank conflicts),
//         one warp per 16 query rows; the softmax runs in SIMT lanes on the warp's scores
//         in shared memory. Windows of up to 64 tokens, head dim up to 64 (every SWIN at 224).
//   Simt  int8 dot products in int32 lanes, k and vᵀ in shared memory, one warp per query
//         row: the fallback for larger windows (up to 160 tokens, head dim 128).
// Auto picks Mma where it fits.
#include <string>

#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {

enum class AttnKernel { Auto, Mma, Simt };
const char* attn_kernel_name(AttnKernel kernel);

inline constexpr int kAttnMaxTokens = 160;  // Simt: N ≤ 160 (window ≤ 12: 5 scores per lane)
inline constexpr int kAttnMaxHeadDim = 128;
inline constexpr int kAttnMmaMaxTokens = 64;   // Mma: 4 m16 query tiles, keys padded to 64
inline constexpr int kAttnMmaMaxHeadDim = 64;  // Mma: two k32 steps of Q·Kᵀ

// Whether `kernel` handles this geometry (Auto: either); `why` gets the reason when not.
bool window_attention_supported(const Geo& g, std::string* why = nullptr, AttnKernel kernel = AttnKernel::Auto);
// The kernel window_attention runs for `kernel` on this geometry (Auto resolved).
AttnKernel window_attention_pick(const Geo& g, AttnKernel kernel = AttnKernel::Auto);
// deq = s_q·s_k·d^−½, inv_p = 255/amax_p, requant = s_p·s_v/s_ctx (as the three stages use them).
void window_attention(const std::int8_t* q, const std::int8_t* k, const std::int8_t* vt, std::int8_t* ctx, const Geo& g,
                      const float* rel_bias, const float* mask, float deq, float inv_p, float requant, cudaStream_t stream,
                      AttnKernel kernel = AttnKernel::Auto);

}  // namespace swinscope::SWS_CUDA_NS
