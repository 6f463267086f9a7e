#pragma once
// Stage 8, proj_residual_ln2_quant: dequantize the projection GEMM's s8 output, add the bias,
// window reverse + reverse shift, residual add into x (token order, in place), LayerNorm,
// quantize: out (B·L, C) s8 token order. One warp per token.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
void proj_residual_ln2_quant(const std::int8_t* proj, float* x, std::int8_t* out, const Geo& g, const float* bias,
                             float deq, const float* gamma, const float* beta, float eps, float inv_scale,
                             cudaStream_t stream);
}
