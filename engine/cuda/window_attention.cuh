#pragma once
// Fused int8 window attention (issue 13): stages 4–6 (qk_gemm, softmax, av_gemm) in one kernel
// per (window, head). It reads stage 3's q, k (B·nW·heads, Np, d4) and vᵀ (…, d4, Np) s8, keeps
// k and vᵀ in shared memory, and per query row (one warp) computes the int32 scores, the
// dequantized logits + relative position bias + shift mask, the softmax (max subtracted, FP32,
// the same reduction order as softmax.cu), the u8 probabilities (scale 1/255 · amax), P·V in
// int32 (u8 × s8: no zero-point detour, unlike the cuBLASLt path), and the requantized s8
// context with heads merged: (B·nW·N, C) window order — the same function as the three-stage
// path, bit for bit. A SIMT first version: int8 dot products in int32, no tensor cores yet.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {

inline constexpr int kAttnMaxTokens = 160;  // N ≤ 160: window ≤ 12 (5 scores per lane)
inline constexpr int kAttnMaxHeadDim = 128;
// Whether the fused kernel handles this geometry (shared memory, register limits).
bool window_attention_supported(const Geo& g, std::string* why = nullptr);
// deq = s_q·s_k·d^−½, inv_p = 255/amax_p, requant = s_p·s_v/s_ctx (as the three stages use them).
void window_attention(const std::int8_t* q, const std::int8_t* k, const std::int8_t* vt, std::int8_t* ctx, const Geo& g,
                      const float* rel_bias, const float* mask, float deq, float inv_p, float requant, cudaStream_t stream);

}  // namespace swinscope::SWS_CUDA_NS
