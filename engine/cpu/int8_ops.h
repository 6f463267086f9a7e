#pragma once
// The fused ops of the int8 SWIN block (ARCHITECTURE.md, "The int8 block"; stage names from
// engine/stages.h) and the two batched attention GEMMs, on the CPU.
//
// Quantization is symmetric and per tensor, as FasterTransformer does it:
//   signed tensor    s = amax / 127, q = clamp(round(x / s), −127, 127), stored u8 = q + 128
//                    where a oneDNN GEMM reads it (zero point 128, see int8_gemm.h), s8 otherwise;
//   non-negative     s = amax / 255, q = clamp(round(x / s), 0, 255) as u8 (ReLU, softmax);
// round = round half to even (the FPU default, same in the vector and scalar paths).
// The residual stream, LayerNorm, softmax and biases stay in float.
//
// Every op exists twice: Impl::Avx2 (AVX2 + FMA intrinsics, chosen when the CPU has them)
// and Impl::Plain (straightforward scalar loops, std::exp / std::erf; the fallback and the
// readable statement of the math). Both are one pass over memory, parallel over rows
// (OpenMP), and never allocate.
//
// Layouts, with L = H·W tokens per image, nW windows per image, N = window² tokens per
// window, d = head_dim, Np = padded_tokens(N), dp = ⌈d/2⌉, d8 = ⌈d/8⌉·8:
//   x          (B·L, C)              float residual stream, token order
//   window     (B·nW·N, C)           window order (after cyclic shift and partition)
//   q          (B·nW, heads, N, d)   s8, one row per token
//   kT         (B·nW, heads, dp, Np, 2) s8: k[j][e] at ((e/2)·Np + j)·2 + e%2 — "pair
//              transposed": 16 bytes hold the (e, e+1) pairs of 8 tokens, what one
//              vpmaddwd against a broadcast (q[i][e], q[i][e+1]) needs for 8 scores
//   vP         (B·nW, heads, Np/2, d8, 2) s8: v[j][e] at ((j/2)·d8 + e)·2 + j%2 — tokens
//              interleaved in pairs, so one vpmaddwd against a broadcast (p[i][j], p[i][j+1])
//              yields 8 channels
//   scores     (B·nW, heads, N, Np)  s32, columns ≥ N are 0
//   probs      (B·nW, heads, N, Np)  u8, columns ≥ N are 0
// Padding (j ≥ N, e ≥ d) is written as 0 by the op that writes the buffer. Stage 3 writes
// kT and vP directly in these layouts (it scatters anyway), so the attention GEMMs never
// repack.
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/cpu/fp32_ops.h"

namespace swinscope::cpu::int8 {

enum class Impl { Plain, Avx2 };
std::string_view impl_name(Impl i);
// Avx2 when this CPU has AVX2 and FMA, else Plain.
Impl best_impl();
// Limits of the Avx2 attention kernels (stack buffers); larger windows or heads use Plain.
inline constexpr int kAvx2MaxTokens = 144;   // N (window ≤ 12)
inline constexpr int kAvx2MaxHeadDim = 128;  // d
Impl attention_impl(Impl wanted, int tokens, int head_dim);

inline constexpr int kZeroPoint = 128;  // = numerics::kZeroPoint
inline float signed_scale(float amax) { return amax / 127.f; }
inline float unsigned_scale(float amax) { return amax / 255.f; }
std::uint8_t quantize_shifted(float x, float inv_scale);   // u8 = clamp(round(x/s), −127, 127) + 128
std::uint8_t quantize_unsigned(float x, float inv_scale);  // u8 = clamp(round(x/s), 0, 255)
std::int8_t quantize_s8(float x, float inv_scale);         // s8 = clamp(round(x/s), −127, 127)
inline float dequantize_shifted(std::uint8_t u, float scale) { return static_cast<float>(static_cast<int>(u) - kZeroPoint) * scale; }

inline int padded_tokens(int N) { return (N + 7) / 8 * 8; }
inline int head_pairs(int d) { return (d + 1) / 2; }
inline int head_dim8(int d) { return (d + 7) / 8 * 8; }
// Bytes of one (window, head) block of kT and of vP.
inline long kt_head_bytes(int N, int d) { return static_cast<long>(head_pairs(d)) * padded_tokens(N) * 2; }
inline long vp_head_bytes(int N, int d) { return static_cast<long>(padded_tokens(N)) * head_dim8(d); }
// One (window, head): k or v (N, d) row-major → its kT / vP block (padding zeroed). For
// tests and readers; the plan's stage 3 writes these layouts itself.
void pack_k_transposed(const std::int8_t* k, std::int8_t* kt, int N, int d);
void pack_v_pairs(const std::int8_t* v, std::int8_t* vp, int N, int d);

// Dense relative position bias (heads, N, N) → (heads, N, Np), padded with −inf so padded
// score columns vanish in the softmax without masking.
std::vector<float> pad_relative_bias(const float* dense, int heads, int N);
// Shift mask per window of one image, (nW, N, Np): −100 between tokens of different regions
// (as the reference implementation), 0 otherwise and in the padding. Empty when g.shift == 0.
std::vector<float> shift_mask(const WindowGeometry& g);

// ---- Stage 1: ln1_quant — LayerNorm, cyclic shift, window partition, quantize.
// x (B·L, C) token order → out (B·nW·N, C) window order, shifted u8.
void ln1_quant(const float* x, std::uint8_t* out, const WindowGeometry& g, const float* gamma, const float* beta,
               float eps, float inv_scale, Impl impl);

// ---- Stage 3: qkv_bias_quant — dequantize, bias, requantize, split heads.
// qkv (B·nW·N, 3C) s8, columns [q | k | v] → q, kT, vP (layouts above) s8, each with its
// own scale: inv_scale[0..2] = 1 / s_q, 1 / s_k, 1 / s_v.
void qkv_bias_quant(const std::int8_t* qkv, std::int8_t* q, std::int8_t* kt, std::int8_t* vp, const WindowGeometry& g,
                    const float* bias, float deq, const float inv_scale[3], Impl impl);

// ---- Stage 4: qk_gemm — scores = q · kᵀ per window and head, int32, exact.
void qk_gemm(const std::int8_t* q, const std::int8_t* kt, std::int32_t* scores, const WindowGeometry& g, Impl impl);
// One (window, head) of it: q (N, d), its kT block → scores (N, Np) (padded columns 0), so a
// caller can take each head's scores while they are in L1 (the integer-only plan's Shiftmax).
void qk_gemm_head(const std::int8_t* q, const std::int8_t* kt, std::int32_t* scores, int N, int d, Impl impl);

// ---- Stage 5: softmax — dequantize (deq = s_q · s_k · d^−½), relative position bias
// (padded, (heads, N, Np)), shift mask ((nW, N, Np) or nullptr), softmax over j, quantize
// to u8 with inv_scale = 255 / amax (amax 1: probabilities).
void softmax_quant(const std::int32_t* scores, std::uint8_t* probs, const WindowGeometry& g, const float* rel_bias_padded,
                   const float* mask, float deq, float inv_scale, Impl impl);

// ---- Stage 6: av_gemm — ctx = probs · v per window and head (int32, exact), requantized
// with `requant` = s_p · s_v / s_ctx, heads merged: ctx (B·nW·N, C) window order, shifted u8.
void av_gemm(const std::uint8_t* probs, const std::int8_t* vp, std::uint8_t* ctx, const WindowGeometry& g, float requant,
             Impl impl);
// The same sums, not requantized: ctx (B·nW·N, C) int32, window order, heads merged (the
// integer-only plan, engine/cpu/ivit_plan.cpp, applies its own dyadic).
void av_gemm_s32(const std::uint8_t* probs, const std::int8_t* vp, std::int32_t* ctx, const WindowGeometry& g, Impl impl);
// The same sums with the integer-only plan's dyadic applied as each is formed:
// ctx = sat(ivit::apply(acc, {m, shift}), 127) s8 (engine/ivit.h), window order, heads merged.
// The AVX2 kernel takes shifts 1…54 (int64 lanes offset to non-negative, then a logical shift);
// any other shift runs the plain loop, which calls ivit::apply itself.
void av_gemm_dyadic(const std::uint8_t* probs, const std::int8_t* vp, std::int8_t* ctx, const WindowGeometry& g, std::int32_t m,
                    int shift, Impl impl);

// ---- Stage 8: proj_residual_ln2_quant — dequantize, bias, window reverse, reverse shift,
// residual add (x, token order, updated in place), LayerNorm, quantize (token order, shifted u8).
void proj_residual_ln2_quant(const std::int8_t* proj, float* x, std::uint8_t* out, const WindowGeometry& g,
                             const float* bias, float deq, const float* gamma, const float* beta, float eps,
                             float inv_scale, Impl impl);

// ---- Stage 10: fc1_bias_gelu_quant — dequantize, bias (may be null), GELU (erf form),
// quantize (shifted u8). The op the GELU-less model removes.
void fc1_bias_gelu_quant(const std::int8_t* h, std::uint8_t* out, long rows, int hidden, const float* bias, float deq,
                         float inv_scale, Impl impl);

// ---- Stage 12: fc2_bias_residual — x += y · deq + bias.
void fc2_bias_residual(const std::int8_t* y, float* x, long rows, int C, const float* bias, float deq, Impl impl);

// ---- merge_ln_quant — patch-merging gather (fp32_ops.h order) + LayerNorm(4C) + quantize.
// x (B·H·H, C) → out (B·(H/2)², 4C), shifted u8.
void merge_ln_quant(const float* x, std::uint8_t* out, int batch, int H, int C, const float* gamma, const float* beta,
                    float eps, float inv_scale, Impl impl);

}  // namespace swinscope::cpu::int8
