#pragma once
// Stage 10, fc1_bias_gelu_quant — the op the GELU-less model removes: dequantize the FC1 GEMM's
// s8 output, add the bias (may be null), GELU (erf form), quantize: (rows, hidden) s8 → s8.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
void fc1_bias_gelu_quant(const std::int8_t* h, std::int8_t* out, long long rows, int hidden, const float* bias, float deq,
                         float inv_scale, cudaStream_t stream);
}
