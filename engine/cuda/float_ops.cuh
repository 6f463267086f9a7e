#pragma once
// The fused ops of the float plans (fp32, tf32, fp16) on CUDA, under the same stage names as
// the CPU's FP32 plan (cpu/fp32_plan.cpp: ln1_quant, qkv_gemm, qk_gemm, softmax, av_gemm,
// proj_gemm, proj_residual_ln2_quant, fc1_gemm, fc2_gemm — "quant" names kept so timelines
// line up with the int8 plans). The residual stream x and LayerNorm/softmax arithmetic are
// float; GEMM operands are `Act`: float (fp32, tf32) or IEEE half bits (fp16).
//   q, k, v (B·nW·heads, N, d) Act, split from the QKV GEMM's output with its bias added
//   scores (B·nW·heads, N, N) float (the Q·Kᵀ GEMM applies d^−½ as alpha); probs Act
#include <cstdint>

#include "engine/cuda/common.cuh"

namespace swinscope::SWS_CUDA_NS {

enum class Act { F32, F16 };

// x (B·L, C) float token order → LayerNorm + cyclic shift + window partition → out (B·nW·N, C) Act.
void ln_window_partition(const float* x, void* out, Act act, const Geo& g, const float* gamma, const float* beta, float eps,
                         cudaStream_t stream);
// qkv (B·nW·N, 3C) Act + bias → q, k, v (B·nW·heads, N, d) Act.
void bias_split_heads(const void* qkv, void* q, void* k, void* v, Act act, const Geo& g, const float* bias,
                      cudaStream_t stream);
// scores (B·nW·heads, N, N) float + relative position bias (heads, N, N) + shift mask (nW, N, Np:
// the int8 plan's padded mask, nullptr when not shifted) → softmax → probs (…, N, N) Act.
void softmax_rows(const float* scores, void* probs, Act act, const Geo& g, const float* rel_bias, const float* mask,
                  cudaStream_t stream);
// ctx (B·nW·heads, N, d) Act → heads merged (B·nW·N, C) Act.
void merge_heads(const void* ctx, void* out, Act act, const Geo& g, cudaStream_t stream);
// attn (B·nW·N, C) Act (projection output, window order) + bias → window reverse + reverse shift
// → x += … (token order, in place) → LayerNorm → out (B·L, C) Act token order.
void proj_residual_ln(const void* attn, float* x, void* out, Act act, const Geo& g, const float* bias, const float* gamma,
                      const float* beta, float eps, cudaStream_t stream);
// h (rows, hidden) Act: h = act(h + bias), GELU (erf) or ReLU, in place.
void bias_activation(void* h, Act act, long long rows, int hidden, const float* bias, bool gelu, cudaStream_t stream);
// x (rows, C) float += y (rows, C) Act + bias.
void bias_residual(const void* y, Act act, float* x, long long rows, int C, const float* bias, cudaStream_t stream);
// x (rows, C) float → LayerNorm of the 2×2 merge gather (B·(H/2)², 4C) Act.
void merge_gather_ln(const float* x, void* out, Act act, int batch, int H, int C, const float* gamma, const float* beta,
                     float eps, cudaStream_t stream);

}  // namespace swinscope::SWS_CUDA_NS
