#include "engine/cpu/fp32_plan.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/cpu/dnnl_gemm.h"
#include "engine/cpu/fp32_ops.h"
#include "engine/error.h"
#include "engine/stages.h"

namespace swinscope::cpu {

namespace {

using profiler::Span;

struct BlockWeights {
  int stage = 0;
  int global = 0;
  int shift = 0;
  Activation act = Activation::GELU;
  const float *norm1_g, *norm1_b, *norm2_g, *norm2_b;
  std::vector<float> rel_bias;  // (heads, N, N), expanded once from the table
  std::unique_ptr<LinearWeights> qkv, proj, fc1, fc2;
};

struct StageWeights {
  const float *merge_norm_g = nullptr, *merge_norm_b = nullptr;
  std::unique_ptr<LinearWeights> merge;  // (2C_prev, 4C_prev), no bias
};

// The primitives of one batch size, each bound to the plan's buffers.
struct BatchGemms {
  std::unique_ptr<BoundGemm> patch, head;
  std::vector<std::unique_ptr<BoundGemm>> merge;                     // per stage (index 0 unused)
  std::vector<std::unique_ptr<BoundGemm>> qkv, proj, fc1, fc2;       // per global block
};

class Fp32CpuPlan final : public Plan {
 public:
  Fp32CpuPlan(const Model& model, int max_batch) : m_model(model), m_cfg(model.config), m_max_batch(max_batch) {
    if (max_batch <= 0) throw Error("plan: max_batch must be positive");
    validate_model_tensors(model);
    const auto& c = m_cfg;
    auto t = [&](const std::string& n) { return model.tensor(n).data.data(); };
    m_patch = std::make_unique<LinearWeights>(t("patch_embed.proj.weight"), t("patch_embed.proj.bias"), c.embed_dim,
                                              c.in_chans * c.patch_size * c.patch_size);
    m_head = std::make_unique<LinearWeights>(t("head.fc.weight"), t("head.fc.bias"), c.num_classes, c.num_features());
    m_patch_norm_g = t("patch_embed.norm.weight");
    m_patch_norm_b = t("patch_embed.norm.bias");
    m_norm_g = t("norm.weight");
    m_norm_b = t("norm.bias");
    m_stages.resize(static_cast<std::size_t>(c.num_stages()));
    int global = 0;
    std::size_t x_elems = 0, qkv_elems = 0, score_elems = 0, hidden_elems = 0;
    x_elems = static_cast<std::size_t>(c.img_size) * c.img_size * c.in_chans;  // im2col
    for (int s = 0; s < c.num_stages(); ++s) {
      const int C = c.stage_dim(s), L = c.stage_resolution(s) * c.stage_resolution(s), w = c.stage_window(s);
      if (s > 0) {
        const std::string d = "layers." + std::to_string(s) + ".downsample.";
        auto& st = m_stages[static_cast<std::size_t>(s)];
        st.merge_norm_g = t(d + "norm.weight");
        st.merge_norm_b = t(d + "norm.bias");
        st.merge = std::make_unique<LinearWeights>(t(d + "reduction.weight"), nullptr, 2 * c.stage_dim(s - 1), 4 * c.stage_dim(s - 1));
        x_elems = std::max(x_elems, static_cast<std::size_t>(L) * 4 * c.stage_dim(s - 1));
      }
      x_elems = std::max(x_elems, static_cast<std::size_t>(L) * C);
      qkv_elems = std::max(qkv_elems, static_cast<std::size_t>(L) * 3 * C);
      score_elems = std::max(score_elems, static_cast<std::size_t>(L) * c.num_heads[s] * w * w);
      hidden_elems = std::max(hidden_elems, static_cast<std::size_t>(L) * c.mlp_hidden(s));
      for (int b = 0; b < c.depths[s]; ++b, ++global) {
        const std::string p = block_prefix(s, b);
        auto bw = std::make_unique<BlockWeights>();
        bw->stage = s;
        bw->global = global;
        bw->shift = c.stage_shift(s, b);
        bw->act = model.activations.at(static_cast<std::size_t>(global));
        bw->norm1_g = t(p + "norm1.weight");
        bw->norm1_b = t(p + "norm1.bias");
        bw->norm2_g = t(p + "norm2.weight");
        bw->norm2_b = t(p + "norm2.bias");
        bw->rel_bias.resize(static_cast<std::size_t>(c.num_heads[s]) * w * w * w * w);
        expand_relative_position_bias(t(p + "attn.relative_position_bias_table"), bw->rel_bias.data(), w, c.num_heads[s]);
        bw->qkv = std::make_unique<LinearWeights>(t(p + "attn.qkv.weight"), t(p + "attn.qkv.bias"), 3 * C, C);
        bw->proj = std::make_unique<LinearWeights>(t(p + "attn.proj.weight"), t(p + "attn.proj.bias"), C, C);
        const auto* fc1_bias = model.find(p + "mlp.fc1.bias");
        bw->fc1 = std::make_unique<LinearWeights>(t(p + "mlp.fc1.weight"), fc1_bias ? fc1_bias->data.data() : nullptr,
                                                  c.mlp_hidden(s), C);
        bw->fc2 = std::make_unique<LinearWeights>(t(p + "mlp.fc2.weight"), t(p + "mlp.fc2.bias"), C, c.mlp_hidden(s));
        m_blocks.push_back(std::move(bw));
      }
    }
    const auto B = static_cast<std::size_t>(max_batch);
    m_x.resize(B * x_elems);
    m_xw.resize(B * x_elems);
    m_qkv.resize(B * qkv_elems);
    m_scores.resize(B * score_elems);
    m_ctx.resize(B * x_elems);
    m_attn_out.resize(B * x_elems);
    m_hidden.resize(B * hidden_elems);
    m_pooled.resize(B * static_cast<std::size_t>(c.num_features()));
    m_logits.resize(B * static_cast<std::size_t>(c.num_classes));
    gemms(max_batch);  // the common batch size is ready before the first run
  }

  int max_batch() const override { return m_max_batch; }
  Backend backend() const override { return Backend::CPU; }
  Variant variant() const override { return Variant::FP32; }

  std::vector<StageKernel> kernels() const override {
    const auto& g = m_gemms.at(m_max_batch);
    std::vector<StageKernel> k;
    k.push_back({std::string(kPatchEmbed), "im2col + " + g.patch->describe() + " + LayerNorm loop"});
    k.push_back({"ln1_quant", "CPU loop: LayerNorm + shift + window partition (FP32, no quantize)"});
    k.push_back({"qkv_gemm", g.qkv[0]->describe() + ", bias fused"});
    k.push_back({"qk_gemm", "CPU loop (per window and head)"});
    k.push_back({"softmax", "CPU loop: bias + mask + softmax"});
    k.push_back({"av_gemm", "CPU loop (per window and head)"});
    k.push_back({"proj_gemm", g.proj[0]->describe() + ", bias fused"});
    k.push_back({"proj_residual_ln2_quant", "CPU loop: window reverse + residual + LayerNorm"});
    k.push_back({"fc1_gemm", g.fc1[0]->describe() + ", bias and activation fused as post-op"});
    k.push_back({"fc2_gemm", g.fc2[0]->describe() + ", bias and residual (sum post-op) fused"});
    if (m_cfg.num_stages() > 1) k.push_back({std::string(kMergeGemm), g.merge[1]->describe()});
    k.push_back({std::string(kHead), "LayerNorm + mean pool loop + " + g.head->describe()});
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
    for (int s = 0; s < c.num_stages(); ++s) {
      if (s > 0) {
        const auto& st = m_stages[static_cast<std::size_t>(s)];
        {
          Span sp(rec, kMergeLnQuant, -1);
          merge_gather_ln(m_x.data(), m_xw.data(), batch, c.stage_resolution(s - 1), c.stage_dim(s - 1), st.merge_norm_g,
                          st.merge_norm_b, eps);
        }
        Span sp(rec, kMergeGemm, -1);
        g.merge[static_cast<std::size_t>(s)]->execute(m_strm);
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
  void run_block(BlockWeights& bw, BatchGemms& g, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const int s = bw.stage, gi = bw.global;
    const float eps = static_cast<float>(c.layer_norm_eps);
    WindowGeometry geo{batch, c.stage_resolution(s), c.stage_dim(s), c.stage_window(s), bw.shift, c.num_heads[s]};
    const auto i = static_cast<std::size_t>(gi);
    Span block(rec, kBlock, gi);
    auto stage = [&](std::string_view name, auto&& work) {
      if (skipped(name)) return;
      Span sp(rec, name, gi);
      work();
    };
    stage("ln1_quant", [&] { ln_shift_partition(m_x.data(), m_xw.data(), geo, bw.norm1_g, bw.norm1_b, eps); });
    stage("qkv_gemm", [&] { g.qkv[i]->execute(m_strm); });
    stage("qk_gemm", [&] { attention_scores(m_qkv.data(), m_scores.data(), geo); });
    stage("softmax", [&] { softmax_bias_mask(m_scores.data(), bw.rel_bias.data(), geo); });
    stage("av_gemm", [&] { attention_av(m_scores.data(), m_qkv.data(), m_ctx.data(), geo); });
    stage("proj_gemm", [&] { g.proj[i]->execute(m_strm); });
    stage("proj_residual_ln2_quant",
          [&] { window_reverse_residual_ln(m_attn_out.data(), m_x.data(), m_xw.data(), geo, bw.norm2_g, bw.norm2_b, eps); });
    stage("fc1_gemm", [&] { g.fc1[i]->execute(m_strm); });
    stage("fc2_gemm", [&] { g.fc2[i]->execute(m_strm); });
  }

  BatchGemms& gemms(int batch) {
    auto it = m_gemms.find(batch);
    if (it != m_gemms.end()) return it->second;
    const auto& c = m_cfg;
    BatchGemms g;
    const int L0 = c.stage_resolution(0) * c.stage_resolution(0);
    g.patch = std::make_unique<BoundGemm>(m_eng, m_strm, *m_patch, batch * L0, m_xw.data(), m_x.data(), Epilogue::None, false);
    g.merge.resize(static_cast<std::size_t>(c.num_stages()));
    for (int s = 1; s < c.num_stages(); ++s) {
      const int L = c.stage_resolution(s) * c.stage_resolution(s);
      g.merge[static_cast<std::size_t>(s)] = std::make_unique<BoundGemm>(
          m_eng, m_strm, *m_stages[static_cast<std::size_t>(s)].merge, batch * L, m_xw.data(), m_x.data(), Epilogue::None, false);
    }
    for (auto& bw : m_blocks) {
      const int L = c.stage_resolution(bw->stage) * c.stage_resolution(bw->stage);
      const int M = batch * L;
      g.qkv.push_back(std::make_unique<BoundGemm>(m_eng, m_strm, *bw->qkv, M, m_xw.data(), m_qkv.data(), Epilogue::None, false));
      g.proj.push_back(std::make_unique<BoundGemm>(m_eng, m_strm, *bw->proj, M, m_ctx.data(), m_attn_out.data(), Epilogue::None, false));
      g.fc1.push_back(std::make_unique<BoundGemm>(m_eng, m_strm, *bw->fc1, M, m_xw.data(), m_hidden.data(),
                                                  bw->act == Activation::GELU ? Epilogue::Gelu : Epilogue::Relu, false));
      // The residual add rides on the GEMM as a sum post-op: x += fc2(h) + b.
      g.fc2.push_back(std::make_unique<BoundGemm>(m_eng, m_strm, *bw->fc2, M, m_hidden.data(), m_x.data(), Epilogue::None, true));
    }
    g.head = std::make_unique<BoundGemm>(m_eng, m_strm, *m_head, batch, m_pooled.data(), m_logits.data(), Epilogue::None, false);
    return m_gemms.emplace(batch, std::move(g)).first->second;
  }

  const Model& m_model;
  SwinConfig m_cfg;
  int m_max_batch = 1;
  dnnl::engine m_eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream m_strm{m_eng};
  std::unique_ptr<LinearWeights> m_patch, m_head;
  // LayerNorms outside the blocks, looked up once here rather than by name on every run.
  const float *m_patch_norm_g = nullptr, *m_patch_norm_b = nullptr, *m_norm_g = nullptr, *m_norm_b = nullptr;
  std::vector<StageWeights> m_stages;
  std::vector<std::unique_ptr<BlockWeights>> m_blocks;
  std::map<int, BatchGemms> m_gemms;
  // Buffers sized for max_batch; shapes are per stage, the sizes the maximum over stages.
  std::vector<float> m_x;         // residual stream (B*L, C), token order
  std::vector<float> m_xw;        // LayerNorm outputs / im2col / merge gather (B*L, C|4C)
  std::vector<float> m_qkv;       // (B*nW*N, 3C) window order
  std::vector<float> m_scores;    // (B*nW, heads, N, N)
  std::vector<float> m_ctx;       // (B*nW*N, C) attention context, heads merged
  std::vector<float> m_attn_out;  // (B*nW*N, C) after proj, window order
  std::vector<float> m_hidden;    // (B*L, hidden)
  std::vector<float> m_pooled;    // (B, F)
  std::vector<float> m_logits;    // (B, classes)
};

}  // namespace

std::unique_ptr<Plan> make_fp32_plan(const Model& model, int max_batch) {
  return std::make_unique<Fp32CpuPlan>(model, max_batch);
}

}  // namespace swinscope::cpu
