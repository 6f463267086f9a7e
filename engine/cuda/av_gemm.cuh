#pragma once
// Stage 6, av_gemm, after its cuBLASLt GEMM: ctx_acc = (u − 128)·v per window and head
// ((B·nW·heads, N, d4) s32) → add back 128·Σ_j v[j][e] (the zero point of the shifted
// probabilities; padded keys have v = 0), requantize with `requant` = s_p·s_v/s_ctx, merge
// heads: ctx (B·nW·N, C) s8 window order. One block per (window, head).
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
inline constexpr int kMaxHeadDim = 256;
void av_requant(const std::int32_t* ctx_acc, const std::int8_t* vt, std::int8_t* ctx, const Geo& g, float requant,
                cudaStream_t stream);
}
