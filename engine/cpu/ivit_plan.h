#pragma once
// The integer-only SWIN plan after I-ViT (variant int8-ivit, issue 16) on the CPU: from the
// first quantization of the image to the head's int32 sums, every stage runs on integers with
// engine/ivit.h's operators — I-LayerNorm for every LayerNorm, Shiftmax for the softmax,
// ShiftGELU in GELU blocks (ReLU inside the FC1 requantization in GELU-less ones), dyadic
// requantization between stages and a 16-bit integer residual stream (residual adds in
// integers, each branch requantized to the sum's scale, as I-ViT's QuantAct identity path).
// Only the logits are dequantized at the end. The same stage names as the other plans.
//
// The linears run engine/cpu/igemm.h's igemm_fused (exact s8 × s8 GEMMs, AVX-512 VNNI, AVX2 or
// plain at run time, with each layer's requantization and residual add in the epilogue); q·kᵀ
// and p·v run the int8 plan's exact attention kernels; the other stages are vector loops over
// engine/ivit.h's functions (ShiftGELU tabulated per block, Shiftmax on AVX-512 where the CPU has
// it), OpenMP over rows, windows or heads. The CUDA plan
// (engine/cuda/ivit_plan.cpp) computes the same integers (checked bit for bit). Needs an int8 file quantized by a swinscope-cli
// that records the extra ranges (engine/quantize.h, ivit_amax_names); the patch embedding's
// and the head's float weights are quantized here, per output channel.
#include <cstdint>
#include <memory>

#include "engine/ivit_params.h"
#include "engine/plan.h"

namespace swinscope::cpu {

std::unique_ptr<Plan> make_ivit_plan(const Model& model, int max_batch);

// For tests: false makes the plans built afterwards run Shiftmax and I-LayerNorm on their portable
// paths (tabulated exponentials; the compiler-vectorized row) even where the AVX-512 kernels
// could run, so both are checked on one machine.
// Returns the previous setting (true at start).
bool set_ivit_avx512_shiftmax(bool allowed);

// For tests: `rows` rows of 16-bit codes (rows, ln.C) through the plan's I-LayerNorm row to s8
// at ±127 (as ln1, ln2 and the merges run it) or to 16-bit codes at ±32767 (the patch
// embedding's); returns whether the AVX-512 form ran (where this CPU, the setting above and the
// per-channel int32 bound allow it), else the vector loop did.
bool ivit_layernorm_rows(const ivit::LayerNorm& ln, const std::int16_t* x, long rows, std::int8_t* out);
bool ivit_layernorm_rows(const ivit::LayerNorm& ln, const std::int16_t* x, long rows, std::int16_t* out);

}  // namespace swinscope::cpu
