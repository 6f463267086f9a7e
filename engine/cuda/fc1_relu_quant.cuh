#pragma once
// Stage 9's second half in the GELU-less model while no GEMM with a fused ReLU epilogue is
// available (cuBLASLt documents none for int8 in the regular order; the own tensor-core GEMM
// of issue 13 will fuse it): FC1's s32 accumulators → scale (alpha per tensor or per output
// channel) → ReLU → u8 (amax/255), stored as u − 128 in s8 because cuBLASLt's FC2 reads s8
// only; fc2_bias_residual adds 128·Σ_k W[n][k] back. (rows, hidden) s32 → s8.
#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {
// alpha: device array of 1 or `hidden` floats (per_channel).
void fc1_relu_quant(const std::int32_t* acc, std::int8_t* out, long long rows, int hidden, const float* alpha,
                    bool per_channel, cudaStream_t stream);
}
