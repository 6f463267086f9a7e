#pragma once
// head: final LayerNorm (bias_layernorm_rows, patch_embed.cuh) → mean over tokens → FP32 GEMM
// (gemm.h) → + bias.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
// ln (B·L, F) → pooled (B, F): the mean over the L tokens, summed in token order as the CPU.
void mean_pool(const float* ln, float* pooled, int batch, int L, int F, cudaStream_t stream);
// y (rows, N) += bias (N).
void add_bias_rows(float* y, long long rows, int N, const float* bias, cudaStream_t stream);
}
