#include "engine/cpu/ivit_plan.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cpu/int8_plan.h"
#include "engine/error.h"
#include "engine/ivit.h"
#include "engine/numerics.h"
#include "engine/quantize.h"
#include "engine/stages.h"

namespace swinscope::cpu {

namespace {

using profiler::Span;
using ivit::Dyadic;

constexpr float kRes = 32767.f;  // the residual stream: 16-bit codes
constexpr float kAct = 127.f;    // 8-bit activations

std::int32_t sat(std::int64_t v, std::int64_t lim) { return static_cast<std::int32_t>(ivit::clamp64(v, -lim, lim)); }

// A linear layer in integers: s8 weights (N, K) with their per-tensor or per-channel scales,
// the bias as int32 at the accumulator's scale, and the dyadic multiplier from the accumulator
// to the output's scale, per output channel.
struct ILinear {
  int N = 0, K = 0;
  std::vector<std::int8_t> w;
  std::vector<std::int16_t> w16;  // the same, widened: int16 × int16 → int32 sums vectorize (vpmaddwd)
  std::vector<float> w_scale;  // (1) or (N)
  std::vector<std::int64_t> bias;
  std::vector<Dyadic> out;

  float sw(int n) const { return w_scale.size() == 1 ? w_scale[0] : w_scale[static_cast<std::size_t>(n)]; }
  // s_in: the input's scale; s_out: the output's; b: float bias (N) or null.
  void bind(float s_in, float s_out, const float* b) {
    bias.assign(static_cast<std::size_t>(N), 0);
    out.resize(static_cast<std::size_t>(N));
    for (int n = 0; n < N; ++n) {
      const double acc_scale = static_cast<double>(s_in) * sw(n);
      if (b) bias[static_cast<std::size_t>(n)] = std::llround(b[n] / acc_scale);
      out[static_cast<std::size_t>(n)] = ivit::dyadic(acc_scale / s_out);
    }
  }
  std::int64_t requant(std::int64_t acc, int n) const {
    return ivit::apply(acc + bias[static_cast<std::size_t>(n)], out[static_cast<std::size_t>(n)]);
  }
};

ILinear from_file(const Model& m, const std::string& l) {
  const auto& w = m.int8_tensor(l + ".weight");
  ILinear r;
  r.N = static_cast<int>(w.shape[0]);
  r.K = static_cast<int>(w.shape[1]);
  r.w = w.data;
  r.w16.assign(r.w.begin(), r.w.end());
  r.w_scale = m.tensor(weight_scale_name(l)).data;
  return r;
}

// The float layers the int8 file keeps (patch embedding, head), quantized per output channel
// as quantize does it (quantize_weight).
ILinear from_float(const FloatTensor& w) {
  Int8Tensor q;
  FloatTensor scale;
  quantize_weight(w, WeightQuant::PerChannel, q, scale);
  ILinear r;
  r.N = static_cast<int>(w.shape.at(0));
  r.K = static_cast<int>(w.numel() / w.shape.at(0));
  r.w = std::move(q.data);
  r.w16.assign(r.w.begin(), r.w.end());
  r.w_scale = std::move(scale.data);
  return r;
}

// acc (M, N) = A (M, K) · Wᵀ in int32 (A s8 or u8), exact: each row widened to int16 once, then
// int16 dot products with int32 sums (|a·w| ≤ 255·128, so a pair's sum fits vpmaddwd's int32).
template <typename A>
void igemm(const A* a, long M, const ILinear& l, std::int32_t* acc) {
  const int N = l.N, K = l.K;
#pragma omp parallel
  {
    std::vector<std::int16_t> row(static_cast<std::size_t>(K));
#pragma omp for schedule(static)
    for (long m = 0; m < M; ++m) {
      const A* ar = a + m * K;
      for (int k = 0; k < K; ++k) row[static_cast<std::size_t>(k)] = static_cast<std::int16_t>(ar[k]);
      const std::int16_t* r = row.data();
      for (int n = 0; n < N; ++n) {
        const std::int16_t* wr = l.w16.data() + static_cast<std::size_t>(n) * K;
        std::int32_t s = 0;
#pragma omp simd reduction(+ : s)
        for (int k = 0; k < K; ++k) s += static_cast<std::int32_t>(r[k]) * static_cast<std::int32_t>(wr[k]);
        acc[m * N + n] = s;
      }
    }
  }
}

// A LayerNorm's affine part after I-LayerNorm: per channel, y'·γ·√C/2^30 and β, at s_out.
struct ILayerNorm {
  int C = 0;
  std::vector<Dyadic> gamma;
  std::vector<std::int64_t> beta;
  void bind(const float* g, const float* b, int channels, float s_out) {
    C = channels;
    gamma.resize(static_cast<std::size_t>(C));
    beta.resize(static_cast<std::size_t>(C));
    const double s_ln = std::sqrt(static_cast<double>(C)) / std::ldexp(1.0, 30);
    for (int c = 0; c < C; ++c) {
      gamma[static_cast<std::size_t>(c)] = ivit::dyadic(s_ln * g[c] / s_out);
      beta[static_cast<std::size_t>(c)] = std::llround(b[c] / s_out);
    }
  }
  // One row of codes → the normalized, affine row at s_out, saturated to ±lim.
  template <typename In, typename Out>
  void row(const In* x, Out* out, std::int32_t* scratch, std::int64_t lim) const {
    ivit::ilayernorm_row(x, C, scratch);
    for (int c = 0; c < C; ++c)
      out[c] = static_cast<Out>(sat(ivit::apply(scratch[c], gamma[static_cast<std::size_t>(c)]) + beta[static_cast<std::size_t>(c)], lim));
  }
};

struct IBlock {
  int stage = 0, global = 0, shift = 0;
  Activation act = Activation::GELU;
  ILayerNorm ln1, ln2;
  ILinear qkv, proj, fc1, fc2;
  std::vector<std::int32_t> rel_bias;  // (heads, N, N) codes at s_att
  Dyadic att;                          // q·k (at s_q·s_k) → logits at s_att, with d^−½
  std::int32_t x0 = 0;                 // Shiftmax's code of −1 at s_att
  std::int32_t masked = 0;             // the code of a shift-masked logit (far below −127)
  Dyadic av;                           // p·v (1/256 · s_v) → the context at s_ctx
  Dyadic res_attn, res_mlp;            // the residual branches: s_x → s_mid, s_mid → s_out
  std::int32_t gelu_x0 = 0;            // ShiftGELU: the code of −1 at 1.702·s_fc1_out
  Dyadic gelu_out;                     // ShiftGELU's output (s_fc1_out/256) → s_fc2_in
  float s_q = 0, s_k = 0, s_v = 0;
};

struct IStage {
  ILayerNorm ln;   // the patch merging's LayerNorm (s > 0)
  ILinear merge;   // its reduction, into the stage's residual scale
  std::vector<float> mask;  // (nW, N, Np) −100 / 0, for shifted blocks
};

class IvitCpuPlan final : public Plan {
 public:
  IvitCpuPlan(const Model& model, int max_batch) : m_cfg(model.config), m_max_batch(max_batch) {
    if (max_batch <= 0) throw Error("plan: max_batch must be positive");
    check_int8_variant(model, Variant::Int8Ivit);
    validate_model_tensors(model);
    validate_int8_model(model);
    if (const std::string n = missing_ivit_range(model); !n.empty())
      throw Error(model.path.string() + ": variant int8-ivit needs the calibrated range '" + n +
                  "', which this file lacks (it was quantized before int8-ivit existed): add the ranges with "
                  "swinscope-cli quantize --model " + model.path.string() + " --calib DIR --out M2.int8.safetensors, or "
                  "quantize the float model again");
    const auto& c = m_cfg;
    auto t = [&](const std::string& n) { return model.tensor(n).data.data(); };
    auto amax = [&](const std::string& n) { return model.tensor(n).data.at(0); };
    auto s8 = [&](const std::string& n) { return amax(n) / kAct; };
    auto s16 = [&](const std::string& n) { return amax(n) / kRes; };
    // Patch embedding: the image at s_img, conv + bias at s_pe (16 bits), I-LayerNorm into
    // the first block's residual scale.
    m_s_img = s8("patch_embed.proj.input_amax");
    const int pk = c.in_chans * c.patch_size * c.patch_size;
    m_patch = from_float(model.tensor("patch_embed.proj.weight"));
    m_patch.bind(m_s_img, s16("patch_embed.norm.input_amax"), t("patch_embed.proj.bias"));
    m_patch_ln.bind(t("patch_embed.norm.weight"), t("patch_embed.norm.bias"), c.embed_dim, s16(block_prefix(0, 0) + "norm1.input_amax"));
    // Blocks: each residual add lands at the scale of the next LayerNorm's input.
    std::vector<std::string> next_residual;  // per global block: the amax of the residual it writes
    for (int s = 0; s < c.num_stages(); ++s)
      for (int b = 0; b < c.depths[s]; ++b) {
        if (b + 1 < c.depths[s]) next_residual.push_back(block_prefix(s, b + 1) + "norm1.input_amax");
        else if (s + 1 < c.num_stages()) next_residual.push_back("layers." + std::to_string(s + 1) + ".downsample.norm.input_amax");
        else next_residual.push_back("norm.input_amax");
      }
    m_stages.resize(static_cast<std::size_t>(c.num_stages()));
    std::size_t x_e = 0, a_e = 0, acc_e = 0, sc_e = 0, hid_e = 0;
    int global = 0;
    for (int s = 0; s < c.num_stages(); ++s) {
      const int C = c.stage_dim(s), H = c.stage_resolution(s), L = H * H, w = c.stage_window(s), heads = c.num_heads[s];
      const int N = w * w, hidden = c.mlp_hidden(s);
      auto& st = m_stages[static_cast<std::size_t>(s)];
      if (s > 0) {
        const std::string d = "layers." + std::to_string(s) + ".downsample.";
        const float s_in = s8(input_amax_name(d + "reduction"));
        st.ln.bind(t(d + "norm.weight"), t(d + "norm.bias"), 4 * c.stage_dim(s - 1), s_in);
        st.merge = from_file(model, d + "reduction");
        st.merge.bind(s_in, s16(block_prefix(s, 0) + "norm1.input_amax"), nullptr);
        a_e = std::max(a_e, static_cast<std::size_t>(L) * 4 * c.stage_dim(s - 1));
      }
      for (int b = 0; b < c.depths[s]; ++b)
        if (c.stage_shift(s, b) > 0 && st.mask.empty())
          st.mask = int8::shift_mask(WindowGeometry{1, H, C, w, c.stage_shift(s, b), heads});
      x_e = std::max(x_e, static_cast<std::size_t>(L) * C);
      a_e = std::max(a_e, static_cast<std::size_t>(L) * C);
      acc_e = std::max({acc_e, static_cast<std::size_t>(L) * 3 * C, static_cast<std::size_t>(L) * hidden});
      sc_e = std::max(sc_e, static_cast<std::size_t>(L) * heads * N);
      hid_e = std::max(hid_e, static_cast<std::size_t>(L) * hidden);
      for (int b = 0; b < c.depths[s]; ++b, ++global) {
        const std::string p = block_prefix(s, b);
        IBlock bw;
        bw.stage = s, bw.global = global, bw.shift = c.stage_shift(s, b);
        bw.act = model.activations.at(static_cast<std::size_t>(global));
        const bool relu = bw.act == Activation::ReLU;
        const float s_x = s16(p + "norm1.input_amax"), s_mid = s16(p + "norm2.input_amax");
        const float s_out = s16(next_residual[static_cast<std::size_t>(global)]);
        const float s_qkv_in = s8(input_amax_name(p + "attn.qkv")), s_ctx = s8(input_amax_name(p + "attn.proj"));
        const float s_fc1_in = s8(input_amax_name(p + "mlp.fc1"));
        const float fc1_amax = amax(output_amax_name(p + "mlp.fc1"));
        const float s_fc1_out = relu ? fc1_amax / 255.f : fc1_amax / kAct;
        const float s_fc2_in = relu ? s_fc1_out : s8(input_amax_name(p + "mlp.fc2"));
        const float s_att = s8(p + "attn.logits_amax");  // 8-bit logits, as I-ViT (16 bits measured: no better)
        bw.s_q = s8(p + "attn.q_amax"), bw.s_k = s8(p + "attn.k_amax"), bw.s_v = s8(p + "attn.v_amax");
        bw.ln1.bind(t(p + "norm1.weight"), t(p + "norm1.bias"), C, s_qkv_in);
        bw.ln2.bind(t(p + "norm2.weight"), t(p + "norm2.bias"), C, s_fc1_in);
        bw.qkv = from_file(model, p + "attn.qkv");
        bw.qkv.bind(s_qkv_in, 1.f, t(p + "attn.qkv.bias"));
        for (int n = 0; n < 3 * C; ++n) {  // q, k, v each at its own scale
          const float so = n < C ? bw.s_q : (n < 2 * C ? bw.s_k : bw.s_v);
          bw.qkv.out[static_cast<std::size_t>(n)] = ivit::dyadic(static_cast<double>(s_qkv_in) * bw.qkv.sw(n) / so);
        }
        bw.proj = from_file(model, p + "attn.proj");
        bw.proj.bind(s_ctx, s_mid, t(p + "attn.proj.bias"));
        bw.fc1 = from_file(model, p + "mlp.fc1");
        const auto* fb = model.find(p + "mlp.fc1.bias");
        bw.fc1.bind(s_fc1_in, s_fc1_out, fb ? fb->data.data() : nullptr);
        bw.fc2 = from_file(model, p + "mlp.fc2");
        bw.fc2.bind(s_fc2_in, s_out, t(p + "mlp.fc2.bias"));
        bw.res_attn = ivit::dyadic(static_cast<double>(s_x) / s_mid);
        bw.res_mlp = ivit::dyadic(static_cast<double>(s_mid) / s_out);
        bw.att = ivit::dyadic(static_cast<double>(bw.s_q) * bw.s_k / std::sqrt(static_cast<double>(C / heads)) / s_att);
        bw.x0 = ivit::exp_x0(s_att);
        bw.masked = -127 - static_cast<std::int32_t>(std::min(1e6, std::ceil(100.0 / s_att)));
        bw.av = ivit::dyadic(static_cast<double>(bw.s_v) / 256.0 / s_ctx);  // probabilities at 1/256
        bw.gelu_x0 = ivit::exp_x0(ivit::kGeluSigmoidScale * s_fc1_out);
        bw.gelu_out = ivit::dyadic(static_cast<double>(s_fc1_out) / 256.0 / s_fc2_in);  // x·σ at s/256
        std::vector<float> dense(static_cast<std::size_t>(heads) * N * N);
        expand_relative_position_bias(t(p + "attn.relative_position_bias_table"), dense.data(), w, heads);
        bw.rel_bias.resize(dense.size());
        for (std::size_t i = 0; i < dense.size(); ++i) bw.rel_bias[i] = static_cast<std::int32_t>(std::lround(dense[i] / s_att));
        m_blocks.push_back(std::move(bw));
      }
    }
    const float s_norm = s8("norm.output_amax");
    m_norm.bind(t("norm.weight"), t("norm.bias"), c.num_features(), s_norm);
    m_head = from_float(model.tensor("head.fc.weight"));
    m_head.bind(s_norm, 1.f, t("head.fc.bias"));
    m_head_scale.resize(static_cast<std::size_t>(c.num_classes));
    for (int n = 0; n < c.num_classes; ++n) m_head_scale[static_cast<std::size_t>(n)] = s_norm * m_head.sw(n);
    const auto B = static_cast<std::size_t>(max_batch);
    const std::size_t L0 = static_cast<std::size_t>(c.stage_resolution(0)) * c.stage_resolution(0);
    m_cols.resize(B * L0 * pk);
    m_cols_q.resize(B * L0 * pk);
    m_x.resize(B * x_e);
    m_a.resize(B * a_e);
    m_acc.resize(B * std::max({acc_e, L0 * c.embed_dim, x_e}));
    m_q.resize(B * x_e);
    m_k.resize(B * x_e);
    m_v.resize(B * x_e);
    m_scores.resize(B * sc_e);
    m_probs.resize(B * sc_e);
    m_ctx.resize(B * x_e);
    m_h.resize(B * hid_e);
    m_h2.resize(B * hid_e);
    m_pool.resize(B * static_cast<std::size_t>(c.num_features()));
    m_head_acc.resize(B * static_cast<std::size_t>(c.num_classes));
  }

  int max_batch() const override { return m_max_batch; }
  Backend backend() const override { return Backend::CPU; }
  Variant variant() const override { return Variant::Int8Ivit; }

  std::vector<StageKernel> kernels() const override {
    const std::string loop = "integer loop (engine/ivit.h): ";
    bool gelu = false, relu = false;
    for (const auto& b : m_blocks) (b.act == Activation::ReLU ? relu : gelu) = true;
    std::vector<StageKernel> k;
    k.push_back({std::string(kPatchEmbed), loop + "quantize the image to s8 + im2col + s8 GEMM (weights per channel) + bias, "
                                                  "dyadic to 16 bits + I-LayerNorm into the 16-bit residual stream"});
    k.push_back({"ln1_quant", loop + "I-LayerNorm (integer mean, isqrt) + cyclic shift + window partition + dyadic to s8"});
    k.push_back({"qkv_gemm", loop + "s8 x s8 -> s32 GEMM"});
    k.push_back({"qkv_bias_quant", loop + "int32 bias + dyadic to s8 q, k, v + split heads"});
    k.push_back({"qk_gemm", loop + "s8 q . s8 k^T -> s32 per window and head"});
    k.push_back({"softmax", loop + "dyadic to 8-bit logits + integer relative position bias + shift mask + Shiftmax -> u8 (1/256)"});
    k.push_back({"av_gemm", loop + "u8 p . s8 v -> s32, dyadic to s8, merge heads"});
    k.push_back({"proj_gemm", loop + "s8 x s8 -> s32 GEMM"});
    k.push_back({"proj_residual_ln2_quant",
                 loop + "int32 bias, dyadic + window reverse + reverse shift + integer residual add (16 bits) + I-LayerNorm + dyadic to s8"});
    if (gelu) k.push_back({"fc1_gemm", "GELU blocks: " + loop + "s8 GEMM + int32 bias + dyadic to s8"});
    if (relu) k.push_back({"fc1_gemm", "GELU-less blocks: " + loop + "s8 GEMM + ReLU in the dyadic requantization to u8"});
    if (gelu) k.push_back({"fc1_bias_gelu_quant", loop + "ShiftGELU (row max, shift exponentials, integer division) + dyadic to s8"});
    k.push_back({"fc2_gemm", loop + "s8 (u8 after ReLU) GEMM -> s32"});
    k.push_back({"fc2_bias_residual", loop + "int32 bias, dyadic + integer residual add (16 bits)"});
    if (m_cfg.num_stages() > 1) {
      k.push_back({std::string(kMergeLnQuant), loop + "2x2 gather + I-LayerNorm + dyadic to s8"});
      k.push_back({std::string(kMergeGemm), loop + "s8 GEMM + dyadic into the next stage's 16-bit residual"});
    }
    k.push_back({std::string(kHead), loop + "I-LayerNorm + dyadic to s8 + integer mean pool + s8 GEMM (weights per channel); "
                                             "the logits are the only dequantized values"});
    return k;
  }

  void run(const float* input, int batch, float* logits, profiler::Recorder* rec) override {
    if (batch <= 0 || batch > m_max_batch)
      throw Error("plan: batch " + std::to_string(batch) + " outside 1.." + std::to_string(m_max_batch), Error::Kind::Runtime);
    const auto& c = m_cfg;
    Span fwd(rec, kForward, -1);
    {
      Span sp(rec, kPatchEmbed, -1);
      patch_embed(input, batch);
    }
    for (int s = 0; s < c.num_stages(); ++s) {
      if (s > 0) merge(s, batch, rec);
      for (const auto& bw : m_blocks)
        if (bw.stage == s) run_block(bw, batch, rec);
    }
    Span sp(rec, kHead, -1);
    head(batch, logits);
  }

 private:
  void patch_embed(const float* input, int batch) {
    const auto& c = m_cfg;
    const long rows = static_cast<long>(batch) * c.stage_resolution(0) * c.stage_resolution(0);
    const int pk = m_patch.K, C = c.embed_dim;
    patch_im2col(input, m_cols.data(), batch, c.in_chans, c.img_size, c.patch_size);
    const float inv = 1.f / m_s_img;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < rows * pk; ++i) m_cols_q[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(numerics::q_signed(m_cols[static_cast<std::size_t>(i)] * inv));
    igemm(m_cols_q.data(), rows, m_patch, m_acc.data());
#pragma omp parallel
    {
      std::vector<std::int32_t> pre(static_cast<std::size_t>(C)), scratch(static_cast<std::size_t>(C));
#pragma omp for schedule(static)
      for (long r = 0; r < rows; ++r) {
        for (int n = 0; n < C; ++n) pre[static_cast<std::size_t>(n)] = sat(m_patch.requant(m_acc[static_cast<std::size_t>(r * C + n)], n), 32767);
        m_patch_ln.row(pre.data(), m_x.data() + r * C, scratch.data(), 32767);
      }
    }
  }

  void merge(int s, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const auto& st = m_stages[static_cast<std::size_t>(s)];
    const int Hp = c.stage_resolution(s - 1), Cp = c.stage_dim(s - 1), H = Hp / 2;
    const long rows = static_cast<long>(batch) * H * H;
    {
      Span sp(rec, kMergeLnQuant, -1);
#pragma omp parallel
      {
        std::vector<std::int32_t> row(static_cast<std::size_t>(4 * Cp)), scratch(row.size());
#pragma omp for schedule(static)
        for (long r = 0; r < rows; ++r) {
          const long b = r / (H * H);
          const int i = static_cast<int>((r % (H * H)) / H), j = static_cast<int>(r % H);
          for (int q = 0; q < 4; ++q) {
            const long src = (b * Hp + 2 * i + numerics::merge_dy(q)) * Hp + 2 * j + numerics::merge_dx(q);
            std::copy_n(m_x.data() + src * Cp, Cp, row.data() + static_cast<std::size_t>(q) * Cp);
          }
          st.ln.row(row.data(), m_a.data() + r * 4 * Cp, scratch.data(), 127);
        }
      }
    }
    Span sp(rec, kMergeGemm, -1);
    igemm(m_a.data(), rows, st.merge, m_acc.data());
    const int C = st.merge.N;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; ++r)
      for (int n = 0; n < C; ++n) m_x[static_cast<std::size_t>(r * C + n)] = sat(st.merge.requant(m_acc[static_cast<std::size_t>(r * C + n)], n), 32767);
  }

  void run_block(const IBlock& bw, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const int s = bw.stage, H = c.stage_resolution(s), C = c.stage_dim(s), w = c.stage_window(s), heads = c.num_heads[s];
    const int N = w * w, d = C / heads, hidden = c.mlp_hidden(s), nw = (H / w) * (H / w);
    const long rows = static_cast<long>(batch) * H * H, wins = rows / N;
    const bool relu = bw.act == Activation::ReLU;
    const float* mask = bw.shift > 0 ? m_stages[static_cast<std::size_t>(s)].mask.data() : nullptr;
    const int Np = int8::padded_tokens(N);
    Span block(rec, kBlock, bw.global);
    auto run_stage = [&](int index, auto&& work) { Plan::run_stage(rec, index, bw.global, work); };
    auto tok = [&](long r) { return numerics::source_token(r / N, static_cast<int>(r % N), H, w, bw.shift); };
    run_stage(1, [&] {
#pragma omp parallel
      {
        std::vector<std::int32_t> scratch(static_cast<std::size_t>(C));
#pragma omp for schedule(static)
        for (long r = 0; r < rows; ++r) bw.ln1.row(m_x.data() + tok(r) * C, m_a.data() + r * C, scratch.data(), 127);
      }
    });
    run_stage(2, [&] { igemm(m_a.data(), rows, bw.qkv, m_acc.data()); });
    run_stage(3, [&] {
#pragma omp parallel for schedule(static)
      for (long r = 0; r < rows; ++r) {
        const long win = r / N;
        const int t = static_cast<int>(r % N);
        for (int n = 0; n < 3 * C; ++n) {
          const int part = n / C, h = (n % C) / d, e = n % d;
          // int16 (int8 values) so the attention products vectorize; v transposed: (…, d, N)
          const auto v = static_cast<std::int16_t>(sat(bw.qkv.requant(m_acc[static_cast<std::size_t>(r * 3 * C + n)], n), 127));
          const long wh = win * heads + h;
          if (part == 0) m_q[static_cast<std::size_t>((wh * N + t) * d + e)] = v;
          else if (part == 1) m_k[static_cast<std::size_t>((wh * N + t) * d + e)] = v;
          else m_v[static_cast<std::size_t>((wh * d + e) * N + t)] = v;
        }
      }
    });
    run_stage(4, [&] {
#pragma omp parallel for schedule(static)
      for (long wh = 0; wh < wins * heads; ++wh)
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) {
            const std::int16_t* qi = m_q.data() + (wh * N + i) * d;
            const std::int16_t* kj = m_k.data() + (wh * N + j) * d;
            std::int32_t acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int e = 0; e < d; ++e) acc += static_cast<std::int32_t>(qi[e]) * static_cast<std::int32_t>(kj[e]);
            m_scores[static_cast<std::size_t>((wh * N + i) * N + j)] = acc;
          }
    });
    run_stage(5, [&] {
#pragma omp parallel
      {
        std::vector<std::int32_t> logit(static_cast<std::size_t>(N));
#pragma omp for schedule(static)
        for (long r = 0; r < wins * heads * N; ++r) {
          const long wh = r / N;
          const int i = static_cast<int>(r % N), h = static_cast<int>(wh % heads);
          const long win = wh / heads;
          for (int j = 0; j < N; ++j) {
            const bool masked = mask && mask[(static_cast<std::size_t>(win % nw) * N + i) * Np + j] != 0.f;
            logit[static_cast<std::size_t>(j)] =
                masked ? bw.masked
                       : sat(ivit::apply(m_scores[static_cast<std::size_t>(r * N + j)], bw.att) +
                                 bw.rel_bias[(static_cast<std::size_t>(h) * N + i) * N + j],
                             127);
          }
          ivit::shiftmax_row(logit.data(), N, bw.x0, m_probs.data() + r * N);
        }
      }
    });
    run_stage(6, [&] {
#pragma omp parallel for schedule(static)
      for (long wh = 0; wh < wins * heads; ++wh) {
        const long win = wh / heads;
        const int h = static_cast<int>(wh % heads);
        for (int i = 0; i < N; ++i)
          for (int e = 0; e < d; ++e) {
            const std::int16_t* p = m_probs.data() + (wh * N + i) * N;
            const std::int16_t* ve = m_v.data() + (wh * d + e) * N;
            std::int32_t acc = 0;
#pragma omp simd reduction(+ : acc)
            for (int j = 0; j < N; ++j) acc += static_cast<std::int32_t>(p[j]) * static_cast<std::int32_t>(ve[j]);
            m_ctx[static_cast<std::size_t>((win * N + i) * C + h * d + e)] = static_cast<std::int8_t>(sat(ivit::apply(acc, bw.av), 127));
          }
      }
    });
    run_stage(7, [&] { igemm(m_ctx.data(), rows, bw.proj, m_acc.data()); });
    run_stage(8, [&] {
#pragma omp parallel for schedule(static)
      for (long r = 0; r < rows; ++r) {  // window order → the token it came from; each token once
        std::int32_t* x = m_x.data() + tok(r) * C;
        for (int n = 0; n < C; ++n)
          x[n] = sat(bw.proj.requant(m_acc[static_cast<std::size_t>(r * C + n)], n) + ivit::apply(x[n], bw.res_attn), 32767);
      }
#pragma omp parallel
      {
        std::vector<std::int32_t> scratch(static_cast<std::size_t>(C));
#pragma omp for schedule(static)
        for (long r = 0; r < rows; ++r) bw.ln2.row(m_x.data() + r * C, m_a.data() + r * C, scratch.data(), 127);
      }
    });
    auto* h_u8 = reinterpret_cast<std::uint8_t*>(m_h.data());
    run_stage(9, [&] {
      igemm(m_a.data(), rows, bw.fc1, m_acc.data());
#pragma omp parallel for schedule(static)
      for (long r = 0; r < rows; ++r)
        for (int n = 0; n < hidden; ++n) {
          const std::int64_t v = bw.fc1.requant(m_acc[static_cast<std::size_t>(r * hidden + n)], n);
          const auto i = static_cast<std::size_t>(r * hidden + n);
          if (relu) h_u8[i] = static_cast<std::uint8_t>(ivit::clamp64(v, 0, 255));  // ReLU in the requantization
          else m_h[i] = static_cast<std::int8_t>(sat(v, 127));
        }
    });
    if (!relu)
      run_stage(10, [&] {
#pragma omp parallel
        {
          std::vector<std::int32_t> g(static_cast<std::size_t>(hidden));
#pragma omp for schedule(static)
          for (long r = 0; r < rows; ++r) {
            ivit::shift_gelu_row(m_h.data() + r * hidden, hidden, bw.gelu_x0, g.data());
            for (int n = 0; n < hidden; ++n)
              m_h2[static_cast<std::size_t>(r * hidden + n)] = static_cast<std::int8_t>(sat(ivit::apply(g[static_cast<std::size_t>(n)], bw.gelu_out), 127));
          }
        }
      });
    run_stage(11, [&] {
      if (relu) igemm(h_u8, rows, bw.fc2, m_acc.data());
      else igemm(m_h2.data(), rows, bw.fc2, m_acc.data());
    });
    run_stage(12, [&] {
#pragma omp parallel for schedule(static)
      for (long r = 0; r < rows; ++r) {
        std::int32_t* x = m_x.data() + r * C;
        for (int n = 0; n < C; ++n)
          x[n] = sat(bw.fc2.requant(m_acc[static_cast<std::size_t>(r * C + n)], n) + ivit::apply(x[n], bw.res_mlp), 32767);
      }
    });
  }

  void head(int batch, float* logits) {
    const auto& c = m_cfg;
    const int Hl = c.stage_resolution(c.num_stages() - 1), L = Hl * Hl, F = c.num_features();
#pragma omp parallel for schedule(static)
    for (int b = 0; b < batch; ++b) {
      std::vector<std::int32_t> scratch(static_cast<std::size_t>(F));
      std::vector<std::int32_t> row(static_cast<std::size_t>(F));
      std::vector<std::int64_t> sum(static_cast<std::size_t>(F), 0);
      for (int t = 0; t < L; ++t) {
        m_norm.row(m_x.data() + (static_cast<long>(b) * L + t) * F, row.data(), scratch.data(), 127);
        for (int f = 0; f < F; ++f) sum[static_cast<std::size_t>(f)] += row[static_cast<std::size_t>(f)];
      }
      for (int f = 0; f < F; ++f)  // the mean, rounded half up
        m_pool[static_cast<std::size_t>(b) * F + f] = static_cast<std::int8_t>(ivit::floor_div(2 * sum[static_cast<std::size_t>(f)] + L, 2 * static_cast<std::int64_t>(L)));
    }
    igemm(m_pool.data(), batch, m_head, m_head_acc.data());
    for (int b = 0; b < batch; ++b)
      for (int n = 0; n < c.num_classes; ++n) {
        const auto i = static_cast<std::size_t>(b) * c.num_classes + n;
        logits[i] = static_cast<float>(m_head_acc[i] + m_head.bias[static_cast<std::size_t>(n)]) * m_head_scale[static_cast<std::size_t>(n)];
      }
  }

  SwinConfig m_cfg;
  int m_max_batch = 1;
  float m_s_img = 1.f;
  ILinear m_patch, m_head;
  ILayerNorm m_patch_ln, m_norm;
  std::vector<float> m_head_scale;
  std::vector<IStage> m_stages;
  std::vector<IBlock> m_blocks;
  std::vector<float> m_cols;
  std::vector<std::int8_t> m_cols_q, m_a, m_ctx, m_h, m_h2, m_pool;
  std::vector<std::int16_t> m_q, m_k, m_v, m_probs;  // int8 / u8 values, int16 for vector dot products
  std::vector<std::int32_t> m_x, m_acc, m_scores, m_head_acc;
};

}  // namespace

std::unique_ptr<Plan> make_ivit_plan(const Model& model, int max_batch) { return std::make_unique<IvitCpuPlan>(model, max_batch); }

}  // namespace swinscope::cpu
