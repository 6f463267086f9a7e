#pragma once
// Stage 5, softmax: dequantize the Q·Kᵀ scores (deq = s_q·s_k·d^−½), add the relative position
// bias and, in shifted blocks, the region mask, softmax over the keys (max subtracted first),
// quantize with inv_scale = 255/amax. One warp per query row.
//   scores (B·nW·heads, N, Np) s32; rel_bias (heads, N, Np) float, −inf in the padding;
//   mask (nW, N, Np) float or nullptr;
//   probs (B·nW·heads, N, Np) s8 holding u − 128 (u the CPU's u8 probability; padding u = 0),
//   because cuBLASLt multiplies s8 only: attn·V adds 128·Σv back (av_gemm.cuh).
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
void softmax_quant(const std::int32_t* scores, std::int8_t* probs, const Geo& g, const float* rel_bias, const float* mask,
                   float deq, float inv_scale, cudaStream_t stream);
}
