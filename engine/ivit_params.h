#pragma once
// The integer parameters of the int8-ivit variant (issue 16), derived once from an int8 file
// that holds the int8-ivit ranges (engine/quantize.h, ivit_amax_names): per linear the s8
// weights, the int32 bias at the accumulator's scale and the dyadic multiplier to the output's
// scale per output channel; per LayerNorm γ as dyadics and β as codes; per block the attention's
// dyadics, Shiftmax's and ShiftGELU's codes of −1 and the integer relative-position bias.
// The CPU plan (engine/cpu/ivit_plan.cpp) and the CUDA plan (engine/cuda/ivit_plan.cpp) both
// run from one Params, so their numbers come from one derivation.
//
// Scales: the residual stream has 16-bit codes (amax / 32767), GEMM inputs 8-bit (amax / 127;
// ReLU outputs amax / 255), Shiftmax outputs 1/256, ShiftGELU outputs its input's scale / 256.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/ivit.h"
#include "engine/model.h"

namespace swinscope::ivit {

inline constexpr float kRes = 32767.f;  // the residual stream: 16-bit codes
inline constexpr float kAct = 127.f;    // 8-bit activations
inline constexpr std::int64_t kResMax = 32767, kActMax = 127;

// A linear layer in integers: s8 weights (N, K), their per-tensor or per-channel scales, the
// bias as int64 at the accumulator's scale and the dyadic multiplier to the output's scale.
struct Linear {
  int N = 0, K = 0;
  std::vector<std::int8_t> w;  // (N, K)
  std::vector<float> w_scale;  // (1) or (N)
  std::vector<std::int64_t> bias;
  std::vector<Dyadic> out;

  float sw(int n) const { return w_scale.size() == 1 ? w_scale[0] : w_scale[static_cast<std::size_t>(n)]; }
  // s_in: the input's scale; s_out: the output's; b: float bias (N) or null.
  void bind(float s_in, float s_out, const float* b);
  std::int64_t requant(std::int64_t acc, int n) const { return apply(acc + bias[static_cast<std::size_t>(n)], out[static_cast<std::size_t>(n)]); }
  // Σ_k W[n][k] per output channel (a consumer of u8 inputs stored as u − 128 adds 128 of these back).
  std::vector<std::int64_t> column_sums() const;
};

// A LayerNorm's affine part after I-LayerNorm: per channel, y'·γ·√C/2^30 and β, at s_out.
struct LayerNorm {
  int C = 0;
  std::vector<Dyadic> gamma;
  std::vector<std::int64_t> beta;
  void bind(const float* g, const float* b, int channels, float s_out);
  std::int64_t affine(std::int32_t y, int c) const {
    return apply(y, gamma[static_cast<std::size_t>(c)]) + beta[static_cast<std::size_t>(c)];
  }
  // One row of codes → the normalized, affine row at s_out, saturated to ±lim (the reference).
  template <typename In, typename Out>
  void row(const In* x, Out* out, std::int32_t* scratch, std::int64_t lim) const {
    ilayernorm_row(x, C, scratch);
    for (int c = 0; c < C; ++c) out[c] = static_cast<Out>(sat(affine(scratch[c], c), lim));
  }
};

struct Block {
  int stage = 0, global = 0, shift = 0;
  Activation act = Activation::GELU;
  LayerNorm ln1, ln2;
  Linear qkv, proj, fc1, fc2;
  std::vector<std::int32_t> rel_bias;  // (heads, N, N) codes at s_att
  Dyadic att;                          // q·k (at s_q·s_k) → logits at s_att, with d^−½
  std::int32_t x0 = 0;                 // Shiftmax's code of −1 at s_att
  std::int32_t masked = 0;             // the code of a shift-masked logit (far below −127)
  Dyadic av;                           // p·v (1/256 · s_v) → the context at s_ctx
  Dyadic res_attn, res_mlp;            // the residual branches: s_x → s_mid, s_mid → s_out
  std::int32_t gelu_x0 = 0;            // ShiftGELU: the code of −1 at 1.702·s_fc1_out
  Dyadic gelu_out;                     // ShiftGELU's output (s_fc1_out/256) → s_fc2_in
  float s_q = 0, s_k = 0, s_v = 0;
  // The scales of the codes the plan keeps (numerics taps dequantize with them): the residual
  // stream in and out (16 bits), ln1 / ln2 outputs, the context, FC1's output and FC2's input.
  float s_x = 0, s_out = 0, s_qkv_in = 0, s_ctx = 0, s_fc1_in = 0, s_fc1_out = 0, s_fc2_in = 0;
};

struct Stage {
  LayerNorm ln;             // the patch merging's LayerNorm (s > 0)
  Linear merge;             // its reduction, into the stage's residual scale
  float s_in = 0, s_out = 0;  // its LayerNorm's s8 output, the residual stream it writes
  std::vector<float> mask;  // (nW, N, Np) −100 / 0 (cpu::int8::shift_mask), for stages with shifted blocks
};

struct Params {
  SwinConfig cfg;
  float s_img = 1.f;        // the image's s8 scale
  float s_patch_out = 1.f;  // the residual stream the patch embedding writes
  Linear patch, head;       // quantized here per output channel from the file's float weights
  LayerNorm patch_ln, norm;
  std::vector<float> head_scale;  // per class: s_norm · s_w, the logits' only dequantization
  std::vector<Stage> stages;
  std::vector<Block> blocks;
};

// Checks the file (int8, the variant's ranges present: the error names the missing range and
// the command that adds it) and derives every parameter.
Params build_params(const Model& model);

}  // namespace swinscope::ivit
