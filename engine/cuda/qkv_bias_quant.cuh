#pragma once
// Stage 3, qkv_bias_quant: dequantize the QKV GEMM's s8 output, add the bias, requantize q, k
// and v (each with its own scale), split heads into the layouts the attention GEMMs read:
//   qkv (B·nW·N, 3C) s8, columns [q | k | v]
//   q, k (B·nW·heads, Np, d4) s8 row-major: token rows, channels padded to d4
//   vT   (B·nW·heads, d4, Np) s8: v transposed, so attn·V is a TN GEMM as well
// Padding (tokens ≥ N, channels ≥ d) is written as 0 here, every run.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
// inv_scale: 1/s_q, 1/s_k, 1/s_v.
void qkv_bias_quant(const std::int8_t* qkv, std::int8_t* q, std::int8_t* k, std::int8_t* vt, const Geo& g,
                    const float* bias, float deq, const float inv_scale[3], cudaStream_t stream);
}
