#pragma once
// The integer-only (int8-ivit, issue 16) kernels of the CUDA plan (engine/cuda/ivit_plan.cpp):
// every value an integer, every step one of engine/ivit.h's SWS_HD functions, so each kernel
// computes bit for bit what the CPU plan's loops compute (engine/cpu/ivit_plan.cpp). The GEMMs
// are cuBLASLt's s8 × s8 → s32 (exact) or, for shapes it refuses, ivit_gemm_simt.
//
// Layouts: the residual stream x is int32 (B·L, C) in token order holding 16-bit codes; GEMM
// inputs are s8; q, k, v are (window·head, N, d) s8; scores (window·head, N, N) s32; the
// Shiftmax output u8 (window·head, N, N) at 1/256; a ReLU block's FC1 output is u8 stored as
// u − 128 (cuBLASLt reads s8 only) and FC2's consumer adds 128·Σ_k W[n][k] back.
#include <cstdint>

#include "engine/cuda/common.cuh"
#include "engine/ivit.h"

namespace swinscope::SWS_CUDA_NS {

// ivit::Linear's per-channel integers on the device.
struct IvLinear {
  int N = 0, K = 0;
  const std::int8_t* w = nullptr;          // (N, K)
  const std::int64_t* bias = nullptr;      // (N) at the accumulator's scale
  const ivit::Dyadic* out = nullptr;       // (N)
  const std::int64_t* colsum = nullptr;    // (N) Σ_k W[n][k] (u8 inputs stored as u − 128)
};
// ivit::LayerNorm's affine part on the device.
struct IvLayerNorm {
  int C = 0;
  const ivit::Dyadic* gamma = nullptr;
  const std::int64_t* beta = nullptr;
};

// Where an I-LayerNorm row comes from: rows of x as they are, window order of a (shifted)
// window partition (ln1), or the 2×2 gather of a patch merging (H, C: the map before merging).
enum class IvRows { Plain, Window, Merge };

// s8 codes of an image's im2col rows: q_signed(v · inv_scale).
void ivit_quantize(const float* in, std::int8_t* out, long long n, float inv_scale, cudaStream_t stream);
// acc (M, N) = a (M, K) · Wᵀ, s32, one thread an output (shapes cuBLASLt's int8 rules refuse).
void ivit_gemm_simt(const std::int8_t* a, long long M, const IvLinear& l, std::int32_t* acc, cudaStream_t stream);
// out = sat(requant(acc), lim) over (rows, N) (the patch embedding before its I-LayerNorm, in
// place; the merge's reduction into the residual stream). out may be acc.
void ivit_requant(const std::int32_t* acc, std::int32_t* out, long long rows, const IvLinear& l, int lim, cudaStream_t stream);
// I-LayerNorm + affine + saturation to ±lim, one warp a row, s8 or int32 out.
void ivit_layernorm(const std::int32_t* x, IvRows mode, const Geo& g, long long rows, const IvLayerNorm& ln, int lim,
                    std::int8_t* out8, std::int32_t* out32, cudaStream_t stream);
// qkv s32 (rows, 3C) window order → s8 q, k, v (window·head, N, d) at their scales.
void ivit_qkv_split(const std::int32_t* acc, const IvLinear& qkv, const Geo& g, std::int8_t* q, std::int8_t* k,
                    std::int8_t* v, cudaStream_t stream);
// scores (window·head, N, N) = q · kᵀ.
void ivit_qk(const std::int8_t* q, const std::int8_t* k, std::int32_t* scores, const Geo& g, cudaStream_t stream);
// 8-bit logits (dyadic att + relative position bias, or the masked code) → Shiftmax → u8.
// Each row's logits are written over its scores (the stage's own scratch).
void ivit_shiftmax(std::int32_t* scores, std::uint8_t* probs, const Geo& g, ivit::Dyadic att,
                   const std::int32_t* rel_bias, const float* mask, std::int32_t masked, std::int32_t x0, cudaStream_t stream);
// ctx (window order, C) = dyadic(p · v) to s8, heads merged.
void ivit_av(const std::uint8_t* probs, const std::int8_t* v, std::int8_t* ctx, const Geo& g, ivit::Dyadic av,
             cudaStream_t stream);
// x[token] = sat(requant(acc) + apply(x[token], res), 32767) for acc in window order (proj) or token order (fc2).
void ivit_residual(const std::int32_t* acc, const IvLinear& l, ivit::Dyadic res, std::int32_t* x, IvRows mode, const Geo& g,
                   long long rows, cudaStream_t stream);
// FC1's s32 → s8 (GELU blocks) or ReLU → u8 stored as u − 128 (GELU-less blocks).
void ivit_fc1_requant(const std::int32_t* acc, const IvLinear& fc1, bool relu, std::int8_t* h, long long rows,
                      cudaStream_t stream);
// ShiftGELU over rows of s8 codes + dyadic to s8, one warp a row.
void ivit_shift_gelu(const std::int8_t* h, std::int8_t* out, long long rows, int hidden, std::int32_t x0, ivit::Dyadic out_d,
                     cudaStream_t stream);
// The head: mean over L tokens of s8 rows rounded half up → s8 (batch, F).
void ivit_pool(const std::int8_t* rows8, std::int8_t* pooled, int batch, int L, int F, cudaStream_t stream);
// logits = (acc + bias) · scale per class.
void ivit_logits(const std::int32_t* acc, const IvLinear& head, const float* scale, float* logits, int batch,
                 cudaStream_t stream);

}  // namespace swinscope::SWS_CUDA_NS
