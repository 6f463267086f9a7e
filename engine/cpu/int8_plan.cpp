#include "engine/cpu/int8_plan.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "engine/cpu/dnnl_gemm.h"
#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_gemm.h"
#include "engine/cpu/int8_ops.h"
#include "engine/error.h"
#include "engine/quantize.h"
#include "engine/stages.h"

namespace swinscope::cpu {

namespace {

using profiler::Span;

struct Int8Block {
  int stage = 0;
  int global = 0;
  int shift = 0;
  Activation act = Activation::GELU;
  const float *norm1_g, *norm1_b, *norm2_g, *norm2_b;
  const float *qkv_b, *proj_b, *fc2_b;
  const float* fc1_b = nullptr;  // GELU blocks; may be absent (zero)
  std::vector<float> rel_bias;   // (heads, N, Np), −inf in the padding
  std::unique_ptr<Int8LinearWeights> qkv, proj, fc1, fc2;
  // Quantization scales: amax / 127 (signed), amax / 255 (unsigned: softmax, ReLU output).
  float s_qkv_in, s_qkv_out, s_q, s_k, s_v, s_p, s_ctx, s_proj_out, s_fc1_in, s_fc1_out, s_fc2_in, s_fc2_out;
};

struct Int8Stage {
  const float *merge_norm_g = nullptr, *merge_norm_b = nullptr;
  std::unique_ptr<Int8LinearWeights> merge;  // (2C_prev, 4C_prev), no bias
  float s_merge_in = 1.f;
  std::vector<float> mask;  // (nW, N, Np) for the stage's shifted blocks; empty when none shift
};

// The primitives of one batch size, each bound to the plan's buffers.
struct Int8BatchGemms {
  std::unique_ptr<BoundGemm> patch, head;
  std::vector<std::unique_ptr<BoundInt8Gemm>> merge;           // per stage (index 0 unused)
  std::vector<std::unique_ptr<BoundInt8Gemm>> qkv, proj, fc1, fc2;  // per global block
};

class Int8CpuPlan final : public Plan {
 public:
  Int8CpuPlan(const Model& model, Variant variant, int max_batch)
      : m_model(model), m_cfg(model.config), m_max_batch(max_batch), m_variant(variant) {
    if (max_batch <= 0) throw Error("plan: max_batch must be positive");
    check_int8_variant(model, variant);
    validate_model_tensors(model);
    validate_int8_model(model);
    m_impl = int8::best_impl();
    m_seven_bit = int8_gemm_needs_7bit_weights();
    const auto& c = m_cfg;
    auto t = [&](const std::string& n) { return model.tensor(n).data.data(); };
    auto amax = [&](const std::string& n) { return model.tensor(n).data.at(0); };
    auto linear = [&](const std::string& l) {
      const auto& w = model.int8_tensor(l + ".weight");
      const auto& s = model.tensor(weight_scale_name(l));
      return std::make_unique<Int8LinearWeights>(w.data.data(), s.data.data(), static_cast<int>(s.data.size()),
                                                 static_cast<int>(w.shape[0]), static_cast<int>(w.shape[1]), m_seven_bit);
    };
    m_patch = std::make_unique<LinearWeights>(t("patch_embed.proj.weight"), t("patch_embed.proj.bias"), c.embed_dim,
                                              c.in_chans * c.patch_size * c.patch_size);
    m_head = std::make_unique<LinearWeights>(t("head.fc.weight"), t("head.fc.bias"), c.num_classes, c.num_features());
    m_patch_norm_g = t("patch_embed.norm.weight");
    m_patch_norm_b = t("patch_embed.norm.bias");
    m_norm_g = t("norm.weight");
    m_norm_b = t("norm.bias");
    m_stages.resize(static_cast<std::size_t>(c.num_stages()));
    const int L0 = c.stage_resolution(0) * c.stage_resolution(0);
    std::size_t x_elems = 0, a_elems = 0, qkv_elems = 0, score_elems = 0, hidden_elems = 0, kt_elems = 0, vp_elems = 0;
    std::size_t xw_elems = static_cast<std::size_t>(L0) * c.in_chans * c.patch_size * c.patch_size;  // im2col
    xw_elems = std::max(xw_elems, static_cast<std::size_t>(c.stage_resolution(c.num_stages() - 1)) *
                                      c.stage_resolution(c.num_stages() - 1) * c.num_features());  // head LayerNorm
    int global = 0;
    for (int s = 0; s < c.num_stages(); ++s) {
      const int C = c.stage_dim(s), H = c.stage_resolution(s), L = H * H, w = c.stage_window(s), heads = c.num_heads[s];
      const int N = w * w;
      auto& st = m_stages[static_cast<std::size_t>(s)];
      if (s > 0) {
        const std::string d = "layers." + std::to_string(s) + ".downsample.";
        st.merge_norm_g = t(d + "norm.weight");
        st.merge_norm_b = t(d + "norm.bias");
        st.merge = linear(d + "reduction");
        st.s_merge_in = int8::signed_scale(amax(input_amax_name(d + "reduction")));
        a_elems = std::max(a_elems, static_cast<std::size_t>(L) * 4 * c.stage_dim(s - 1));
      }
      for (int b = 0; b < c.depths[s]; ++b)
        if (c.stage_shift(s, b) > 0 && st.mask.empty())
          st.mask = int8::shift_mask(WindowGeometry{1, H, C, w, c.stage_shift(s, b), heads});
      x_elems = std::max(x_elems, static_cast<std::size_t>(L) * C);
      a_elems = std::max(a_elems, static_cast<std::size_t>(L) * C);
      qkv_elems = std::max(qkv_elems, static_cast<std::size_t>(L) * 3 * C);
      score_elems = std::max(score_elems, static_cast<std::size_t>(L) * heads * int8::padded_tokens(N));
      const auto head_blocks = static_cast<std::size_t>(L / N) * heads;  // windows × heads per image
      kt_elems = std::max(kt_elems, head_blocks * static_cast<std::size_t>(int8::kt_head_bytes(N, C / heads)));
      vp_elems = std::max(vp_elems, head_blocks * static_cast<std::size_t>(int8::vp_head_bytes(N, C / heads)));
      hidden_elems = std::max(hidden_elems, static_cast<std::size_t>(L) * c.mlp_hidden(s));
      for (int b = 0; b < c.depths[s]; ++b, ++global) {
        const std::string p = block_prefix(s, b);
        auto bw = std::make_unique<Int8Block>();
        bw->stage = s;
        bw->global = global;
        bw->shift = c.stage_shift(s, b);
        bw->act = model.activations.at(static_cast<std::size_t>(global));
        bw->norm1_g = t(p + "norm1.weight");
        bw->norm1_b = t(p + "norm1.bias");
        bw->norm2_g = t(p + "norm2.weight");
        bw->norm2_b = t(p + "norm2.bias");
        bw->qkv_b = t(p + "attn.qkv.bias");
        bw->proj_b = t(p + "attn.proj.bias");
        bw->fc2_b = t(p + "mlp.fc2.bias");
        // A GELU-less block's FC1 bias is absent or zero (validate_int8_model): nothing to add.
        if (bw->act == Activation::GELU)
          if (const auto* fb = model.find(p + "mlp.fc1.bias")) bw->fc1_b = fb->data.data();
        std::vector<float> dense(static_cast<std::size_t>(heads) * N * N);
        expand_relative_position_bias(t(p + "attn.relative_position_bias_table"), dense.data(), w, heads);
        bw->rel_bias = int8::pad_relative_bias(dense.data(), heads, N);
        bw->qkv = linear(p + "attn.qkv");
        bw->proj = linear(p + "attn.proj");
        bw->fc1 = linear(p + "mlp.fc1");
        bw->fc2 = linear(p + "mlp.fc2");
        const bool relu = bw->act == Activation::ReLU;
        bw->s_qkv_in = int8::signed_scale(amax(input_amax_name(p + "attn.qkv")));
        bw->s_qkv_out = int8::signed_scale(amax(output_amax_name(p + "attn.qkv")));
        bw->s_q = int8::signed_scale(amax(p + "attn.q_amax"));
        bw->s_k = int8::signed_scale(amax(p + "attn.k_amax"));
        bw->s_v = int8::signed_scale(amax(p + "attn.v_amax"));
        bw->s_p = int8::unsigned_scale(amax(p + "attn.softmax_amax"));
        bw->s_ctx = int8::signed_scale(amax(input_amax_name(p + "attn.proj")));
        bw->s_proj_out = int8::signed_scale(amax(output_amax_name(p + "attn.proj")));
        bw->s_fc1_in = int8::signed_scale(amax(input_amax_name(p + "mlp.fc1")));
        const float fc1_out = amax(output_amax_name(p + "mlp.fc1"));
        bw->s_fc1_out = relu ? int8::unsigned_scale(fc1_out) : int8::signed_scale(fc1_out);
        // In a ReLU block FC2 reads FC1's u8 output itself, so it takes FC1's output scale
        // (its input_amax is the same calibrated tensor).
        bw->s_fc2_in = relu ? bw->s_fc1_out : int8::signed_scale(amax(input_amax_name(p + "mlp.fc2")));
        bw->s_fc2_out = int8::signed_scale(amax(output_amax_name(p + "mlp.fc2")));
        m_blocks.push_back(std::move(bw));
      }
    }
    const auto B = static_cast<std::size_t>(max_batch);
    m_x.resize(B * x_elems);
    m_xw.resize(B * xw_elems);
    m_a.resize(B * a_elems);
    m_qkv.resize(B * qkv_elems);
    m_q.resize(B * x_elems);
    m_kt.resize(B * kt_elems);
    m_vp.resize(B * vp_elems);
    m_scores.resize(B * score_elems);
    m_probs.resize(B * score_elems);
    m_ctx.resize(B * x_elems);
    m_proj.resize(B * x_elems);
    m_h.resize(B * hidden_elems);
    m_h2.resize(B * hidden_elems);
    m_y.resize(B * x_elems);
    m_pooled.resize(B * static_cast<std::size_t>(c.num_features()));
    m_logits.resize(B * static_cast<std::size_t>(c.num_classes));
    gemms(max_batch);  // the common batch size is ready before the first run
  }

  int max_batch() const override { return m_max_batch; }
  bool set_tensor_tap(TensorTap tap) override {
    m_tap = std::move(tap);
    return true;
  }
  Backend backend() const override { return Backend::CPU; }
  Variant variant() const override { return m_variant; }

  std::vector<StageKernel> kernels() const override {
    const auto& g = m_gemms.at(m_max_batch);
    const std::string impl(int8::impl_name(m_impl));
    const auto& c = m_cfg;
    const std::string att(int8::impl_name(int8::attention_impl(m_impl, c.stage_window(0) * c.stage_window(0), c.stage_dim(0) / c.num_heads[0])));
    std::vector<StageKernel> k;
    k.push_back({std::string(kPatchEmbed), "float: im2col + " + g.patch->describe() + " + LayerNorm loop"});
    k.push_back({"ln1_quant", impl + " loop: LayerNorm + cyclic shift + window partition + quantize to u8 (+128)"});
    k.push_back({"qkv_gemm", g.qkv[0]->describe()});
    k.push_back({"qkv_bias_quant", att + " loop: dequantize + bias + requantize q, k, v to s8 + split heads (k pair-transposed, v token-paired)"});
    k.push_back({"qk_gemm", att + " loop: s8 q . s8 k^T per window and head, int32 (int16 pair products)"});
    k.push_back({"softmax", att + " loop: dequantize + scale + relative position bias + shift mask + softmax + quantize to u8 (1/255)"});
    k.push_back({"av_gemm", att + " loop: u8 probs . s8 v per window and head, int32, requantize to u8 (+128), merge heads"});
    k.push_back({"proj_gemm", g.proj[0]->describe()});
    k.push_back({"proj_residual_ln2_quant",
                 impl + " loop: dequantize + bias + window reverse + reverse shift + residual add + LayerNorm + quantize to u8 (+128)"});
    const Int8Block* gelu = nullptr;
    const Int8Block* relu = nullptr;
    for (std::size_t i = 0; i < m_blocks.size(); ++i) {
      if (m_blocks[i]->act == Activation::GELU && !gelu) gelu = m_blocks[i].get();
      if (m_blocks[i]->act == Activation::ReLU && !relu) relu = m_blocks[i].get();
    }
    if (gelu) k.push_back({"fc1_gemm", "GELU blocks: " + g.fc1[static_cast<std::size_t>(gelu->global)]->describe()});
    if (relu) k.push_back({"fc1_gemm", "GELU-less blocks: " + g.fc1[static_cast<std::size_t>(relu->global)]->describe()});
    if (gelu) k.push_back({"fc1_bias_gelu_quant", impl + " loop: dequantize + bias + GELU (erf) + quantize to u8 (+128)"});
    if (gelu) k.push_back({"fc2_gemm", "GELU blocks: " + g.fc2[static_cast<std::size_t>(gelu->global)]->describe()});
    if (relu) k.push_back({"fc2_gemm", "GELU-less blocks: " + g.fc2[static_cast<std::size_t>(relu->global)]->describe()});
    k.push_back({"fc2_bias_residual", impl + " loop: dequantize + bias + residual add (float)"});
    if (c.num_stages() > 1) {
      k.push_back({std::string(kMergeLnQuant), impl + " loop: 2x2 gather + LayerNorm + quantize to u8 (+128)"});
      k.push_back({std::string(kMergeGemm), g.merge[1]->describe()});
    }
    k.push_back({std::string(kHead), "float: LayerNorm + mean pool loop + " + g.head->describe()});
    return k;
  }

  void run(const float* input, int batch, float* logits, profiler::Recorder* rec) override {
    if (batch <= 0 || batch > m_max_batch)
      throw Error("plan: batch " + std::to_string(batch) + " outside 1.." + std::to_string(m_max_batch), Error::Kind::Runtime);
    const auto& c = m_cfg;
    auto& g = gemms(batch);
    const float eps = static_cast<float>(c.layer_norm_eps);
    Span fwd(rec, kForward, -1);
    {
      Span sp(rec, kPatchEmbed, -1);
      patch_im2col(input, m_xw.data(), batch, c.in_chans, c.img_size, c.patch_size);
      g.patch->execute(m_strm);
      layernorm_rows(m_x.data(), m_x.data(), static_cast<long>(batch) * c.stage_resolution(0) * c.stage_resolution(0),
                     c.embed_dim, m_patch_norm_g, m_patch_norm_b, eps);
    }
    if (m_tap)
      m_tap("patch_embed.output", m_x.data(), static_cast<std::size_t>(batch) * c.stage_resolution(0) * c.stage_resolution(0) * c.embed_dim);
    for (int s = 0; s < c.num_stages(); ++s) {
      if (s > 0) {
        const auto& st = m_stages[static_cast<std::size_t>(s)];
        {
          Span sp(rec, kMergeLnQuant, -1);
          int8::merge_ln_quant(m_x.data(), m_a.data(), batch, c.stage_resolution(s - 1), c.stage_dim(s - 1), st.merge_norm_g,
                               st.merge_norm_b, eps, 1.f / st.s_merge_in, m_impl);
        }
        {
          Span sp(rec, kMergeGemm, -1);
          g.merge[static_cast<std::size_t>(s)]->execute(m_strm);
        }
        if (m_tap) {
          const std::string d = "layers." + std::to_string(s) + ".downsample.";
          const auto L = static_cast<std::size_t>(batch) * c.stage_resolution(s) * c.stage_resolution(s);
          tap_shifted(d + "reduction.input_amax", m_a.data(), L * 4 * c.stage_dim(s - 1), st.s_merge_in);
          m_tap(d + "output", m_x.data(), L * c.stage_dim(s));
        }
      }
      for (auto& bw : m_blocks) {
        if (bw->stage != s) continue;
        run_block(*bw, g, batch, rec);
      }
    }
    {
      Span sp(rec, kHead, -1);
      const int L = c.stage_resolution(c.num_stages() - 1);
      ln_mean_pool(m_x.data(), m_xw.data(), m_pooled.data(), batch, L * L, c.num_features(),
                   m_norm_g, m_norm_b, eps);
      g.head->execute(m_strm);
      std::memcpy(logits, m_logits.data(), sizeof(float) * static_cast<std::size_t>(batch) * c.num_classes);
    }
  }

 private:
  void run_block(const Int8Block& bw, Int8BatchGemms& g, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const int s = bw.stage, gi = bw.global;
    const float eps = static_cast<float>(c.layer_norm_eps);
    const WindowGeometry geo{batch, c.stage_resolution(s), c.stage_dim(s), c.stage_window(s), bw.shift, c.num_heads[s]};
    const long rows = static_cast<long>(batch) * geo.H * geo.H;
    const int hidden = c.mlp_hidden(s);
    const auto i = static_cast<std::size_t>(gi);
    const float* mask = bw.shift > 0 ? m_stages[static_cast<std::size_t>(s)].mask.data() : nullptr;
    Span block(rec, kBlock, gi);
    auto run_stage = [&](int index, auto&& work) { Plan::run_stage(rec, index, gi, work); };
    run_stage(1, [&] {
      int8::ln1_quant(m_x.data(), m_a.data(), geo, bw.norm1_g, bw.norm1_b, eps, 1.f / bw.s_qkv_in, m_impl);
    });
    if (m_tap) m_ln1_copy.assign(m_a.begin(), m_a.begin() + rows * geo.C);  // stage 8 overwrites m_a
    run_stage(2, [&] { g.qkv[i]->execute(m_strm); });
    run_stage(3, [&] {
      const float inv[3] = {1.f / bw.s_q, 1.f / bw.s_k, 1.f / bw.s_v};
      int8::qkv_bias_quant(m_qkv.data(), m_q.data(), m_kt.data(), m_vp.data(), geo, bw.qkv_b, bw.s_qkv_out, inv, m_impl);
    });
    run_stage(4, [&] { int8::qk_gemm(m_q.data(), m_kt.data(), m_scores.data(), geo, m_impl); });
    run_stage(5, [&] {
      const float deq = bw.s_q * bw.s_k / std::sqrt(static_cast<float>(geo.head_dim()));
      int8::softmax_quant(m_scores.data(), m_probs.data(), geo, bw.rel_bias.data(), mask, deq, 1.f / bw.s_p, m_impl);
    });
    run_stage(6, [&] { int8::av_gemm(m_probs.data(), m_vp.data(), m_ctx.data(), geo, bw.s_p * bw.s_v / bw.s_ctx, m_impl); });
    run_stage(7, [&] { g.proj[i]->execute(m_strm); });
    run_stage(8, [&] {
      int8::proj_residual_ln2_quant(m_proj.data(), m_x.data(), m_a.data(), geo, bw.proj_b, bw.s_proj_out, bw.norm2_g,
                                    bw.norm2_b, eps, 1.f / bw.s_fc1_in, m_impl);
    });
    run_stage(9, [&] { g.fc1[i]->execute(m_strm); });
    if (bw.act == Activation::GELU)
      run_stage(10, [&] {
        int8::fc1_bias_gelu_quant(m_h.data(), m_h2.data(), rows, hidden, bw.fc1_b, bw.s_fc1_out, 1.f / bw.s_fc2_in, m_impl);
      });
    run_stage(11, [&] { g.fc2[i]->execute(m_strm); });
    run_stage(12, [&] { int8::fc2_bias_residual(m_y.data(), m_x.data(), rows, geo.C, bw.fc2_b, bw.s_fc2_out, m_impl); });
    if (m_tap) tap_block(bw, geo);
  }

  // ---- numerics taps (set_tensor_tap): dequantize what the block left in its buffers into the
  // float walk's layouts. Only while a tap is set; allocation here is fine. At the block's end
  // every stage's output is still in its own buffer, except ln1's (m_a, which ln2 overwrites):
  // run_block copies it right after stage 1.
  void tap_shifted(const std::string& name, const std::uint8_t* u, std::size_t n, float scale) {
    m_tap_buf.resize(n);
    for (std::size_t i = 0; i < n; ++i) m_tap_buf[i] = int8::dequantize_shifted(u[i], scale);
    m_tap(name, m_tap_buf.data(), n);
  }
  void tap_s8(const std::string& name, const std::int8_t* q, std::size_t n, float scale) {
    m_tap_buf.resize(n);
    for (std::size_t i = 0; i < n; ++i) m_tap_buf[i] = static_cast<float>(q[i]) * scale;
    m_tap(name, m_tap_buf.data(), n);
  }
  void tap_u8(const std::string& name, const std::uint8_t* q, std::size_t n, float scale) {
    m_tap_buf.resize(n);
    for (std::size_t i = 0; i < n; ++i) m_tap_buf[i] = static_cast<float>(q[i]) * scale;
    m_tap(name, m_tap_buf.data(), n);
  }

  void tap_block(const Int8Block& bw, const WindowGeometry& geo) {
    const std::string p = block_prefix(bw.stage, bw.global - first_global(bw.stage));
    const long rows = static_cast<long>(geo.batch) * geo.H * geo.H;
    const int C = geo.C, heads = geo.heads, d = geo.head_dim(), N = geo.window * geo.window;
    const int Np = int8::padded_tokens(N), d8 = int8::head_dim8(d);
    const long wins = rows / N;
    const auto n = static_cast<std::size_t>(rows) * C;
    const auto hidden = static_cast<std::size_t>(rows) * m_cfg.mlp_hidden(bw.stage);
    tap_shifted(p + "attn.qkv.input_amax", m_ln1_copy.data(), n, bw.s_qkv_in);
    tap_s8(p + "attn.qkv.output_amax", m_qkv.data(), 3 * n, bw.s_qkv_out);
    // q (B·nW, heads, N, d), kT and vP (int8_ops.h) → (B·nW·N, C) window order, heads merged.
    m_tap_buf.resize(n);
    for (int part = 0; part < 3; ++part) {
      const float scale = part == 0 ? bw.s_q : (part == 1 ? bw.s_k : bw.s_v);
      for (long w = 0; w < wins; ++w)
        for (int h = 0; h < heads; ++h) {
          const long blk = w * heads + h;
          for (int t = 0; t < N; ++t)
            for (int e = 0; e < d; ++e) {
              std::int8_t v;
              if (part == 0)
                v = m_q[static_cast<std::size_t>((blk * N + t) * d + e)];
              else if (part == 1)
                v = m_kt[static_cast<std::size_t>(blk * int8::kt_head_bytes(N, d) + ((e / 2) * Np + t) * 2 + e % 2)];
              else
                v = m_vp[static_cast<std::size_t>(blk * int8::vp_head_bytes(N, d) + ((t / 2) * d8 + e) * 2 + t % 2)];
              m_tap_buf[static_cast<std::size_t>((w * N + t) * C + h * d + e)] = static_cast<float>(v) * scale;
            }
        }
      static const char* kNames[3] = {"attn.q_amax", "attn.k_amax", "attn.v_amax"};
      m_tap(p + kNames[part], m_tap_buf.data(), n);
    }
    // probs (B·nW, heads, N, Np) → (B·nW, heads, N, N)
    const auto np = static_cast<std::size_t>(wins) * heads * N * N;
    m_tap_buf.resize(np);
    for (std::size_t r = 0; r < static_cast<std::size_t>(wins) * heads * N; ++r)
      for (int j = 0; j < N; ++j) m_tap_buf[r * N + j] = static_cast<float>(m_probs[r * Np + j]) * bw.s_p;
    m_tap(p + "attn.softmax", m_tap_buf.data(), np);
    tap_shifted(p + "attn.proj.input_amax", m_ctx.data(), n, bw.s_ctx);
    tap_s8(p + "attn.proj.output_amax", m_proj.data(), n, bw.s_proj_out);
    tap_shifted(p + "mlp.fc1.input_amax", m_a.data(), n, bw.s_fc1_in);
    if (bw.act == Activation::ReLU) {  // ReLU inside FC1: its u8 output is FC2's input
      const auto* h = reinterpret_cast<const std::uint8_t*>(m_h.data());
      tap_u8(p + "mlp.fc1.output_amax", h, hidden, bw.s_fc1_out);
      tap_u8(p + "mlp.fc2.input_amax", h, hidden, bw.s_fc2_in);
    } else {
      tap_s8(p + "mlp.fc1.output_amax", m_h.data(), hidden, bw.s_fc1_out);
      tap_shifted(p + "mlp.fc2.input_amax", m_h2.data(), hidden, bw.s_fc2_in);
    }
    tap_s8(p + "mlp.fc2.output_amax", m_y.data(), n, bw.s_fc2_out);
    m_tap(p + "output", m_x.data(), n);
  }

  int first_global(int stage) const {
    int g = 0;
    for (int s = 0; s < stage; ++s) g += m_cfg.depths[s];
    return g;
  }

  Int8BatchGemms& gemms(int batch) {
    auto it = m_gemms.find(batch);
    if (it != m_gemms.end()) return it->second;
    const auto& c = m_cfg;
    Int8BatchGemms g;
    const int L0 = c.stage_resolution(0) * c.stage_resolution(0);
    g.patch = std::make_unique<BoundGemm>(m_eng, m_strm, *m_patch, batch * L0, m_xw.data(), m_x.data(), Epilogue::None, false);
    g.merge.resize(static_cast<std::size_t>(c.num_stages()));
    for (int s = 1; s < c.num_stages(); ++s) {
      const int L = c.stage_resolution(s) * c.stage_resolution(s);
      auto& st = m_stages[static_cast<std::size_t>(s)];
      g.merge[static_cast<std::size_t>(s)] = std::make_unique<BoundInt8Gemm>(
          m_eng, m_strm, *st.merge, batch * L, Int8GemmIo{m_a.data(), Int8Src::Shifted, st.s_merge_in, m_x.data(), Int8Dst::F32, 1.f});
    }
    auto* h_u8 = reinterpret_cast<std::uint8_t*>(m_h.data());
    for (auto& bw : m_blocks) {
      const int L = c.stage_resolution(bw->stage) * c.stage_resolution(bw->stage);
      const int M = batch * L;
      const bool relu = bw->act == Activation::ReLU;
      g.qkv.push_back(std::make_unique<BoundInt8Gemm>(
          m_eng, m_strm, *bw->qkv, M, Int8GemmIo{m_a.data(), Int8Src::Shifted, bw->s_qkv_in, m_qkv.data(), Int8Dst::S8, bw->s_qkv_out}));
      g.proj.push_back(std::make_unique<BoundInt8Gemm>(
          m_eng, m_strm, *bw->proj, M, Int8GemmIo{m_ctx.data(), Int8Src::Shifted, bw->s_ctx, m_proj.data(), Int8Dst::S8, bw->s_proj_out}));
      // GELU-less: ReLU runs inside the FC1 GEMM and its u8 output feeds FC2 directly.
      g.fc1.push_back(std::make_unique<BoundInt8Gemm>(
          m_eng, m_strm, *bw->fc1, M,
          Int8GemmIo{m_a.data(), Int8Src::Shifted, bw->s_fc1_in, m_h.data(), relu ? Int8Dst::U8Relu : Int8Dst::S8, bw->s_fc1_out}));
      g.fc2.push_back(std::make_unique<BoundInt8Gemm>(
          m_eng, m_strm, *bw->fc2, M,
          relu ? Int8GemmIo{h_u8, Int8Src::Unsigned, bw->s_fc2_in, m_y.data(), Int8Dst::S8, bw->s_fc2_out}
               : Int8GemmIo{m_h2.data(), Int8Src::Shifted, bw->s_fc2_in, m_y.data(), Int8Dst::S8, bw->s_fc2_out}));
    }
    g.head = std::make_unique<BoundGemm>(m_eng, m_strm, *m_head, batch, m_pooled.data(), m_logits.data(), Epilogue::None, false);
    return m_gemms.emplace(batch, std::move(g)).first->second;
  }

  const Model& m_model;
  SwinConfig m_cfg;
  int m_max_batch = 1;
  Variant m_variant = Variant::Int8Gelu;
  int8::Impl m_impl = int8::Impl::Plain;
  bool m_seven_bit = true;
  dnnl::engine m_eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream m_strm{m_eng};
  std::unique_ptr<LinearWeights> m_patch, m_head;
  // LayerNorms outside the blocks, looked up once here rather than by name on every run.
  const float *m_patch_norm_g = nullptr, *m_patch_norm_b = nullptr, *m_norm_g = nullptr, *m_norm_b = nullptr;
  std::vector<Int8Stage> m_stages;
  std::vector<std::unique_ptr<Int8Block>> m_blocks;
  std::map<int, Int8BatchGemms> m_gemms;
  // Buffers sized for max_batch; shapes are per stage, the sizes the maximum over stages.
  std::vector<float> m_x;              // residual stream (B*L, C), token order
  std::vector<float> m_xw;             // im2col (B*L0, Cin*p*p) / head LayerNorm scratch (B*L, F)
  std::vector<std::uint8_t> m_a;       // GEMM inputs, u8 (+128): ln1 (window order), ln2 (token order), merge (B*L, 4C_prev)
  std::vector<std::int8_t> m_qkv;      // (B*nW*N, 3C) s8, window order, before the bias
  std::vector<std::int8_t> m_q;        // (B*nW, heads, N, d) s8
  std::vector<std::int8_t> m_kt;       // (B*nW, heads, dp, Np, 2) s8, int8_ops.h "kT"
  std::vector<std::int8_t> m_vp;       // (B*nW, heads, Np/2, d8, 2) s8, int8_ops.h "vP"
  std::vector<std::int32_t> m_scores;  // (B*nW, heads, N, Np)
  std::vector<std::uint8_t> m_probs;   // (B*nW, heads, N, Np) u8, scale 1/255
  std::vector<std::uint8_t> m_ctx;     // (B*nW*N, C) u8 (+128), heads merged
  std::vector<std::int8_t> m_proj;     // (B*nW*N, C) s8, before the bias
  std::vector<std::int8_t> m_h;        // (B*L, hidden): s8 before bias+GELU, or u8 ReLU output (GELU-less)
  std::vector<std::uint8_t> m_h2;      // (B*L, hidden) u8 (+128): GELU output
  std::vector<std::int8_t> m_y;        // (B*L, C) s8, FC2 output before the bias
  std::vector<float> m_pooled;         // (B, F)
  TensorTap m_tap;                     // numerics (set_tensor_tap); empty on the normal path
  std::vector<float> m_tap_buf;        // a tapped tensor, dequantized
  std::vector<std::uint8_t> m_ln1_copy;  // ln1's output, kept for the tap (stage 8 reuses m_a)
  std::vector<float> m_logits;         // (B, classes)
};

}  // namespace

namespace {
std::string first_block_with(const Model& m, Activation a, int* global) {
  int g = 0;
  for (int s = 0; s < m.config.num_stages(); ++s)
    for (int b = 0; b < m.config.depths[s]; ++b, ++g)
      if (m.activations.at(static_cast<std::size_t>(g)) == a) {
        *global = g;
        return block_prefix(s, b);
      }
  return {};
}

}  // namespace

void check_int8_variant(const Model& m, Variant v) {
  const std::string file = m.path.string();
  const std::string vn(variant_name(v));
  if (!m.is_int8())
    throw Error(file + ": variant " + vn + " needs an int8 model, and this one is " + m.precision +
                ": quantize it first (swinscope-cli quantize --model " + file + " --calib DIR|random --out MODEL.int8.safetensors)");
  int g = -1;
  if (v == Variant::Int8Ivit) return;  // integer-only: GELU blocks run ShiftGELU, GELU-less ones ReLU
  if (v == Variant::Int8Gelu || v == Variant::Int8GeluFused) {
    const std::string relu = first_block_with(m, Activation::ReLU, &g);
    if (!relu.empty())
      throw Error(file + ": variant int8-gelu (the FasterTransformer baseline) runs GELU blocks, but block " +
                  std::to_string(g) + " (" + relu + ") is GELU-less (ReLU): run this model as int8-relu, its default");
  } else if (first_block_with(m, Activation::ReLU, &g).empty()) {
    const std::string gelu = first_block_with(m, Activation::GELU, &g);
    const auto* b = m.find(gelu + "mlp.fc1.bias");
    float mb = 0.f;
    if (b)
      for (float x : b->data) mb = std::max(mb, std::fabs(x));
    throw Error(file + ": variant int8-relu (GELU-less) needs ReLU blocks without an FC1 bias, but every block of this model "
                       "uses GELU" +
                (mb > 0.f ? " with an FC1 bias (block 0 '" + gelu + "mlp.fc1.bias', max |b| = " + std::to_string(mb) + ")" : "") +
                ": distill it to ReLU first (the paper's Algorithm 1), or run it as int8-gelu, its default");
  }
}


std::unique_ptr<Plan> make_int8_plan(const Model& model, Variant variant, int max_batch) {
  if (variant != Variant::Int8Gelu && variant != Variant::Int8Relu)
    throw Error("make_int8_plan: variant " + std::string(variant_name(variant)) + " is not an int8 variant");
  return std::make_unique<Int8CpuPlan>(model, variant, max_batch);
}

}  // namespace swinscope::cpu
