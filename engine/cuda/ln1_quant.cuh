#pragma once
// Stage 1, ln1_quant: LayerNorm, cyclic shift, window partition, quantize to s8.
// x (B·L, C) float token order → out (B·nW·N, C) s8 window order. One warp per token.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
void ln1_quant(const float* x, std::int8_t* out, const Geo& g, const float* gamma, const float* beta, float eps,
               float inv_scale, cudaStream_t stream);
}
