#pragma once
// Patch merging at a stage boundary: merge_ln_quant (2×2 gather + LayerNorm(4C) + quantize to
// s8; one warp per output token) and, after the merge GEMM's s32 output, the dequantization
// x = acc · s_in · s_w[n] (per tensor or per output channel) that the CPU's f32-output GEMM does.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
// x (B·H·H, C) → out (B·(H/2)², 4C) s8.
void merge_ln_quant(const float* x, std::int8_t* out, int batch, int H, int C, const float* gamma, const float* beta,
                    float eps, float inv_scale, cudaStream_t stream);
// acc (rows, N) s32 → x (rows, N) float; scale: device array of 1 or N floats.
void dequantize_rows(const std::int32_t* acc, float* x, long long rows, int N, const float* scale, bool per_channel,
                     cudaStream_t stream);
}
