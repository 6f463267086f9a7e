#pragma once
// patch_embed: the 4×4/4 (patch p) convolution as im2col + an FP32 GEMM (gemm.h), then bias +
// LayerNorm; and the float row kernels the head reuses.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
// input (B, Cin, img, img) → cols (B·(img/p)², Cin·p·p), the column order of a flattened conv weight.
void patch_im2col(const float* input, float* cols, int batch, int in_chans, int img, int patch, cudaStream_t stream);
// y = LayerNorm(x + bias) row by row (bias may be null; x may equal y). One warp per row.
void bias_layernorm_rows(const float* x, float* y, long long rows, int C, const float* bias, const float* gamma,
                         const float* beta, float eps, cudaStream_t stream);
}
