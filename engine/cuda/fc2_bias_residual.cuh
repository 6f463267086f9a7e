#pragma once
// Stage 12, fc2_bias_residual: x += y·deq + bias, x (rows, C) float token order.
//   GELU blocks: y is the FC2 GEMM's s8 output.
//   GELU-less blocks: FC2 read the shifted ReLU output (fc1_relu_quant.cuh), so its s32
//   accumulators get 128·Σ_k W[n][k] (`rowsum`) back, then the GEMM's own requantization to s8
//   (alpha per tensor or channel) as the CPU does it, then the same update.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
void fc2_bias_residual(const std::int8_t* y, float* x, long long rows, int C, const float* bias, float deq,
                       cudaStream_t stream);
void fc2_bias_residual_from_acc(const std::int32_t* acc, const std::int32_t* rowsum, const float* alpha,
                                bool per_channel, float* x, long long rows, int C, const float* bias, float deq,
                                cudaStream_t stream);
}
