// The float plans on CUDA (real, or under device emulation): fp32 (strict FP32 GEMMs by
// default, TF32 tensor cores with PlanOptions::tf32), and fp16 (the paper's half-precision
// row: FP16 GEMM operands and outputs with FP32 accumulation; the residual stream, LayerNorm,
// softmax, patch embedding and head stay FP32). Stage names as the CPU's FP32 plan, so traces
// of every variant line up. Kernels: float_ops.cuh, patch_embed.cuh, head.cuh; GEMMs: gemm.h.
#include <cmath>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cuda/float_ops.cuh"
#include "engine/cuda/head.cuh"
#include "engine/cuda/patch_embed.cuh"
#include "engine/cuda/plan_base.h"
#include "engine/cuda/plans.h"
#include "engine/stages.h"

namespace swinscope::SWS_CUDA_NS {

namespace {

using profiler::Span;

struct FloatBlock {
  int stage = 0, global = 0, shift = 0;
  Activation act = Activation::GELU;
  const float *norm1_g, *norm1_b, *norm2_g, *norm2_b, *qkv_b, *proj_b, *fc1_b = nullptr, *fc2_b;
  const float* rel_bias = nullptr;                               // (heads, N, N)
  const void *qkv_w, *proj_w, *fc1_w, *fc2_w;                    // (out, in) Act
};

struct FloatStage {
  const float *norm_g = nullptr, *norm_b = nullptr;
  const void* merge_w = nullptr;  // (2C, 4C) Act, no bias
  const float* mask = nullptr;    // (nW, N, Np) or null
};

struct FloatGemms {
  int patch = -1, head = -1;
  std::vector<int> merge, qkv, proj, fc1, fc2, qk, av;
};

class CudaFloatPlan final : public CudaPlanBase {
 public:
  CudaFloatPlan(const Model& model, Variant variant, bool tf32, int max_batch)
      : CudaPlanBase(checked(model, variant), max_batch), m_variant(variant), m_tf32(tf32 && variant == Variant::FP32),
        m_act(variant == Variant::FP16 ? Act::F16 : Act::F32), m_gt(variant == Variant::FP16 ? GemmType::F16 : GemmType::F32) {
    const auto& c = m_cfg;
    auto up = [&](const std::string& n) { return m_arena.upload(model.tensor(n).data, n); };
    auto weight = [&](const std::string& n) -> const void* {
      const auto& v = model.tensor(n).data;
      if (m_act == Act::F32) return m_arena.upload(v, n);
      std::vector<std::uint16_t> h(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) h[i] = numerics::float_to_half_bits(v[i]);
      return m_arena.upload(h, n + " (fp16)");
    };
    upload_outer(model);
    const std::size_t es = m_act == Act::F16 ? 2 : 4;
    std::size_t x_e = 0, a_e = 0, qkv_e = 0, score_e = 0, hidden_e = 0;
    m_stages.resize(static_cast<std::size_t>(c.num_stages()));
    int global = 0;
    for (int s = 0; s < c.num_stages(); ++s) {
      const int C = c.stage_dim(s), H = c.stage_resolution(s), L = H * H, w = c.stage_window(s), heads = c.num_heads[s];
      auto& st = m_stages[static_cast<std::size_t>(s)];
      if (s > 0) {
        const std::string d = "layers." + std::to_string(s) + ".downsample.";
        st.norm_g = up(d + "norm.weight");
        st.norm_b = up(d + "norm.bias");
        st.merge_w = weight(d + "reduction.weight");
        a_e = std::max(a_e, static_cast<std::size_t>(L) * 4 * c.stage_dim(s - 1));
      }
      st.mask = upload_shift_mask(s);
      x_e = std::max(x_e, static_cast<std::size_t>(L) * C);
      a_e = std::max(a_e, static_cast<std::size_t>(L) * C);
      qkv_e = std::max(qkv_e, static_cast<std::size_t>(L) * 3 * C);
      score_e = std::max(score_e, static_cast<std::size_t>(L / (w * w)) * heads * w * w * w * w);
      hidden_e = std::max(hidden_e, static_cast<std::size_t>(L) * c.mlp_hidden(s));
      for (int b = 0; b < c.depths[s]; ++b, ++global) {
        const std::string p = block_prefix(s, b);
        FloatBlock bw;
        bw.stage = s, bw.global = global, bw.shift = c.stage_shift(s, b);
        bw.act = model.activations.at(static_cast<std::size_t>(global));
        bw.norm1_g = up(p + "norm1.weight"), bw.norm1_b = up(p + "norm1.bias");
        bw.norm2_g = up(p + "norm2.weight"), bw.norm2_b = up(p + "norm2.bias");
        bw.qkv_b = up(p + "attn.qkv.bias"), bw.proj_b = up(p + "attn.proj.bias"), bw.fc2_b = up(p + "mlp.fc2.bias");
        if (model.find(p + "mlp.fc1.bias")) bw.fc1_b = up(p + "mlp.fc1.bias");
        std::vector<float> dense(static_cast<std::size_t>(heads) * w * w * w * w);
        cpu::expand_relative_position_bias(model.tensor(p + "attn.relative_position_bias_table").data.data(), dense.data(), w,
                                           heads);
        bw.rel_bias = m_arena.upload(dense, p + "relative position bias");
        bw.qkv_w = weight(p + "attn.qkv.weight"), bw.proj_w = weight(p + "attn.proj.weight");
        bw.fc1_w = weight(p + "mlp.fc1.weight"), bw.fc2_w = weight(p + "mlp.fc2.weight");
        m_blocks.push_back(bw);
      }
    }
    const auto B = static_cast<std::size_t>(max_batch);
    m_x = m_arena.alloc<float>(B * x_e, "residual stream");
    m_a = m_arena.alloc<char>(B * a_e * es, "GEMM inputs");
    m_qkv = m_arena.alloc<char>(B * qkv_e * es, "qkv");
    m_q = m_arena.alloc<char>(B * x_e * es, "q");
    m_k = m_arena.alloc<char>(B * x_e * es, "k");
    m_v = m_arena.alloc<char>(B * x_e * es, "v");
    m_scores = m_arena.alloc<float>(B * score_e, "scores");
    m_probs = m_arena.alloc<char>(B * score_e * es, "probabilities");
    m_ctx = m_arena.alloc<char>(B * x_e * es, "context");
    m_ctx2 = m_arena.alloc<char>(B * x_e * es, "context, heads merged");
    m_proj = m_arena.alloc<char>(B * x_e * es, "projection");
    m_h = m_arena.alloc<char>(B * hidden_e * es, "hidden");
    m_y = m_arena.alloc<char>(B * x_e * es, "fc2 output");
    prepare(max_batch);
  }

  Variant variant() const override { return m_variant; }

  std::vector<StageKernel> kernels() const override {
    const auto& g = m_gemms.at(m_max_batch);
    auto lt = [&](int id) { return "cuBLASLt " + m_runner.desc(id).describe() + " [" + m_runner.algo_description(id) + "]"; };
    const std::string emu = kEmulated ? " (device emulation on the CPU)" : "";
    const std::string t = m_act == Act::F16 ? "fp16" : "fp32";
    std::vector<StageKernel> k;
    k.push_back({std::string(kPatchEmbed), outer_kernel(g.patch, false)});
    k.push_back({"ln1_quant", "ln_window_partition_kernel: LayerNorm + cyclic shift + window partition -> " + t + emu});
    k.push_back({"qkv_gemm", lt(g.qkv[0]) + " + bias_split_heads_kernel" + emu});
    k.push_back({"qk_gemm", lt(g.qk[0]) + " (alpha = head_dim^-1/2)"});
    k.push_back({"softmax", "softmax_rows_kernel: relative position bias + shift mask + softmax (fp32) -> " + t + emu});
    k.push_back({"av_gemm", lt(g.av[0]) + " + merge_heads_kernel" + emu});
    k.push_back({"proj_gemm", lt(g.proj[0])});
    k.push_back({"proj_residual_ln2_quant", "proj_residual_ln_kernel: bias + window reverse + reverse shift + residual add + LayerNorm" + emu});
    k.push_back({"fc1_gemm", lt(g.fc1[0]) + " + bias_activation_kernel (GELU erf / ReLU)" + emu});
    k.push_back({"fc2_gemm", lt(g.fc2[0]) + " + bias_residual_kernel" + emu});
    if (m_cfg.num_stages() > 1) {
      k.push_back({std::string(kMergeLnQuant), "merge_gather_ln_kernel: 2x2 gather + LayerNorm -> " + t + emu});
      k.push_back({std::string(kMergeGemm), lt(g.merge[1])});
    }
    k.push_back({std::string(kHead), outer_kernel(g.head, true)});
    k.push_back({"forward", graph_note()});
    return k;
  }

 private:
  static const SwinConfig& checked(const Model& model, Variant variant) {
    if (variant != Variant::FP32 && variant != Variant::FP16)
      throw Error("CUDA float plan: variant " + std::string(variant_name(variant)) + " is not a float variant");
    if (model.is_int8())
      throw Error(model.path.string() + ": variant " + std::string(variant_name(variant)) +
                  " needs the float model; this file holds int8 weights (run it as int8-gelu or int8-relu)");
    validate_model_tensors(model);
    return model.config;
  }

  GemmDesc linear(int N, int K, int M, GemmType d, const std::string& label) const {
    GemmDesc g;
    g.m = N, g.n = M, g.k = K, g.trans_a = true, g.lda = K, g.ldb = K, g.ldd = N;
    g.a = g.b = m_gt, g.d = d, g.tf32 = m_tf32 && m_gt == GemmType::F32, g.label = label;
    return g;
  }

  void prepare(int batch) override {
    if (m_gemms.count(batch)) return;
    const auto& c = m_cfg;
    FloatGemms g;
    g.patch = add_patch_gemm(batch, m_tf32);  // patch embedding and head stay FP32 in every float plan
    g.head = add_head_gemm(batch, m_tf32);
    g.merge.assign(static_cast<std::size_t>(c.num_stages()), -1);
    for (int s = 1; s < c.num_stages(); ++s) {
      const int L = c.stage_resolution(s) * c.stage_resolution(s);
      g.merge[static_cast<std::size_t>(s)] =
          m_runner.add(linear(2 * c.stage_dim(s - 1), 4 * c.stage_dim(s - 1), batch * L, GemmType::F32, "merge_gemm stage " + std::to_string(s)));
    }
    for (const auto& bw : m_blocks) {
      const int s = bw.stage, C = c.stage_dim(s), L = c.stage_resolution(s) * c.stage_resolution(s), M = batch * L;
      const std::string b = " block " + std::to_string(bw.global);
      g.qkv.push_back(m_runner.add(linear(3 * C, C, M, m_gt, "qkv_gemm" + b)));
      g.proj.push_back(m_runner.add(linear(C, C, M, m_gt, "proj_gemm" + b)));
      g.fc1.push_back(m_runner.add(linear(c.mlp_hidden(s), C, M, m_gt, "fc1_gemm" + b)));
      g.fc2.push_back(m_runner.add(linear(C, c.mlp_hidden(s), M, m_gt, "fc2_gemm" + b)));
      const Geo geo{batch, c.stage_resolution(s), C, c.stage_window(s), bw.shift, c.num_heads[s]};
      const int N = geo.tokens(), d = geo.head_dim();
      GemmDesc qk;  // scores (N × N) row-major = column-major (keys × queries), scaled by d^−½
      qk.m = N, qk.n = N, qk.k = d, qk.trans_a = true, qk.lda = qk.ldb = d, qk.ldd = N;
      qk.batch = static_cast<int>(geo.nwh()), qk.stride_a = qk.stride_b = static_cast<long long>(N) * d;
      qk.stride_d = static_cast<long long>(N) * N, qk.a = qk.b = m_gt, qk.d = GemmType::F32;
      qk.alpha = 1.f / std::sqrt(static_cast<float>(d)), qk.tf32 = m_tf32 && m_gt == GemmType::F32, qk.label = "qk_gemm" + b;
      g.qk.push_back(m_runner.add(qk));
      GemmDesc av;  // ctx (N × d) row-major = column-major (d × N) = v (d × N, col-major) · P (N × N, col-major: Pᵀ)
      av.m = d, av.n = N, av.k = N, av.lda = d, av.ldb = N, av.ldd = d;
      av.batch = static_cast<int>(geo.nwh()), av.stride_a = static_cast<long long>(N) * d;
      av.stride_b = static_cast<long long>(N) * N, av.stride_d = static_cast<long long>(N) * d;
      av.a = av.b = av.d = m_gt, av.tf32 = m_tf32 && m_gt == GemmType::F32, av.label = "av_gemm" + b;
      g.av.push_back(m_runner.add(av));
    }
    m_gemms.emplace(batch, std::move(g));
  }

  void forward(int batch, profiler::Recorder* rec) override {
    const auto& g = m_gemms.at(batch);
    const auto& c = m_cfg;
    cudaStream_t st = m_stream.get();
    const float eps = static_cast<float>(c.layer_norm_eps);
    Span fwd(rec, kForward, -1);
    enqueue_patch_embed(batch, g.patch, m_x, rec);
    for (int s = 0; s < c.num_stages(); ++s) {
      if (s > 0) {
        const auto& sw = m_stages[static_cast<std::size_t>(s)];
        {
          Span sp(rec, kMergeLnQuant, -1);
          merge_gather_ln(m_x, m_a, m_act, batch, c.stage_resolution(s - 1), c.stage_dim(s - 1), sw.norm_g, sw.norm_b, eps, st);
        }
        Span sp(rec, kMergeGemm, -1);
        m_runner.run(g.merge[static_cast<std::size_t>(s)], sw.merge_w, m_a, m_x, st);
      }
      for (const auto& bw : m_blocks)
        if (bw.stage == s) run_block(bw, g, batch, rec);
    }
    enqueue_head(batch, g.head, m_x, rec);
  }

  void run_block(const FloatBlock& bw, const FloatGemms& g, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const auto i = static_cast<std::size_t>(bw.global);
    const float eps = static_cast<float>(c.layer_norm_eps);
    const Geo geo{batch, c.stage_resolution(bw.stage), c.stage_dim(bw.stage), c.stage_window(bw.stage), bw.shift,
                  c.num_heads[bw.stage]};
    const long long rows = static_cast<long long>(batch) * geo.H * geo.H;
    const int hidden = c.mlp_hidden(bw.stage);
    const float* mask = bw.shift > 0 ? m_stages[static_cast<std::size_t>(bw.stage)].mask : nullptr;
    cudaStream_t st = m_stream.get();
    Span block(rec, kBlock, bw.global);
    auto stage = [&](std::string_view name, auto&& work) {
      if (skipped(name)) return;
      Span sp(rec, name, bw.global);
      work();
    };
    stage("ln1_quant", [&] { ln_window_partition(m_x, m_a, m_act, geo, bw.norm1_g, bw.norm1_b, eps, st); });
    stage("qkv_gemm", [&] {
      m_runner.run(g.qkv[i], bw.qkv_w, m_a, m_qkv, st);
      bias_split_heads(m_qkv, m_q, m_k, m_v, m_act, geo, bw.qkv_b, st);
    });
    stage("qk_gemm", [&] { m_runner.run(g.qk[i], m_k, m_q, m_scores, st); });
    stage("softmax", [&] { softmax_rows(m_scores, m_probs, m_act, geo, bw.rel_bias, mask, st); });
    stage("av_gemm", [&] {
      m_runner.run(g.av[i], m_v, m_probs, m_ctx, st);
      merge_heads(m_ctx, m_ctx2, m_act, geo, st);
    });
    stage("proj_gemm", [&] { m_runner.run(g.proj[i], bw.proj_w, m_ctx2, m_proj, st); });
    stage("proj_residual_ln2_quant",
          [&] { proj_residual_ln(m_proj, m_x, m_a, m_act, geo, bw.proj_b, bw.norm2_g, bw.norm2_b, eps, st); });
    stage("fc1_gemm", [&] {
      m_runner.run(g.fc1[i], bw.fc1_w, m_a, m_h, st);
      bias_activation(m_h, m_act, rows, hidden, bw.fc1_b, bw.act == Activation::GELU, st);
    });
    stage("fc2_gemm", [&] {
      m_runner.run(g.fc2[i], bw.fc2_w, m_h, m_y, st);
      bias_residual(m_y, m_act, m_x, rows, geo.C, bw.fc2_b, st);
    });
  }

  Variant m_variant;
  bool m_tf32 = false;
  Act m_act = Act::F32;
  GemmType m_gt = GemmType::F32;
  std::vector<FloatStage> m_stages;
  std::vector<FloatBlock> m_blocks;
  std::map<int, FloatGemms> m_gemms;
  // Device buffers sized for max_batch; Act elements where a GEMM reads or writes them.
  float* m_x = nullptr;       // residual stream (B·L, C) token order
  char* m_a = nullptr;        // GEMM inputs: ln1 (window order), ln2 (token order), merge (B·L, 4C)
  char* m_qkv = nullptr;      // (B·nW·N, 3C) window order, before the bias
  char *m_q = nullptr, *m_k = nullptr, *m_v = nullptr;  // (B·nW·heads, N, d)
  float* m_scores = nullptr;  // (B·nW·heads, N, N), scaled
  char* m_probs = nullptr;    // (B·nW·heads, N, N)
  char* m_ctx = nullptr;      // (B·nW·heads, N, d)
  char* m_ctx2 = nullptr;     // (B·nW·N, C) heads merged
  char* m_proj = nullptr;     // (B·nW·N, C) window order, before the bias
  char* m_h = nullptr;        // (B·L, hidden)
  char* m_y = nullptr;        // (B·L, C) fc2 output, before the bias
};

}  // namespace

std::unique_ptr<Plan> make_float_plan(const Model& model, Variant variant, bool tf32, int max_batch) {
  return std::make_unique<CudaFloatPlan>(model, variant, tf32, max_batch);
}

}  // namespace swinscope::SWS_CUDA_NS
