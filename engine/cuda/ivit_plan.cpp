// The integer-only SWIN plan after I-ViT (variant int8-ivit, issue 16) on CUDA (real, or under
// device emulation): the CPU plan's algorithm (engine/cpu/ivit_plan.cpp) from the same
// ivit::Params, each stage one or two kernels of engine/cuda/ivit_kernels.cu calling the
// SWS_HD functions of engine/ivit.h, and cuBLASLt's exact s8 × s8 → s32 GEMMs, so its logits
// equal the CPU plan's bit for bit (tests/test_ivit_plan.cpp checks that under emulation).
// Same twelve stage names; the whole forward is captured as a CUDA graph per batch size.
//
// Kernels are plain (a thread an output, a warp a normalized row): the first, correct version;
// the attention stages are not fused and use no tensor cores yet.
#include <algorithm>
#include <map>

#include "engine/cuda/buffers.h"
#include "engine/cuda/gemm.h"
#include "engine/cuda/ivit_kernels.cuh"
#include "engine/cuda/patch_embed.cuh"
#include "engine/cuda/plan_base.h"
#include "engine/cuda/plans.h"
#include "engine/error.h"
#include "engine/ivit_params.h"
#include "engine/stages.h"

namespace swinscope::SWS_CUDA_NS {

namespace {

using profiler::Span;

struct IvBlock {
  const ivit::Block* p = nullptr;
  IvLinear qkv, proj, fc1, fc2;
  IvLayerNorm ln1, ln2;
  const std::int32_t* rel_bias = nullptr;  // (heads, N, N)
};

struct IvStage {
  IvLayerNorm ln;
  IvLinear merge;
  const float* mask = nullptr;
};

// GEMM ids of one batch size (−1: the SIMT kernel, for shapes cuBLASLt's int8 rules refuse).
struct IvGemms {
  int patch = -1;
  std::vector<int> merge, qkv, proj, fc1, fc2;
};

class CudaIvitPlan final : public CudaPlanBase {
 public:
  CudaIvitPlan(ivit::Params params, int max_batch) : CudaPlanBase(params.cfg, max_batch), m_p(std::move(params)) {
    const auto& c = m_cfg;
    m_patch = linear(m_p.patch, "patch_embed", false);
    m_head = linear(m_p.head, "head", false);
    m_patch_ln = layernorm(m_p.patch_ln, "patch_embed.norm");
    m_norm = layernorm(m_p.norm, "norm");
    m_head_scale = m_arena.upload(m_p.head_scale, "head scales");
    std::size_t x_e = 0, a_e = 0, acc_e = 0, qkv_e = 0, sc_e = 0, hid_e = 0;
    const int pk = m_p.patch.K;
    const std::size_t L0 = static_cast<std::size_t>(c.stage_resolution(0)) * c.stage_resolution(0);
    acc_e = L0 * c.embed_dim;
    a_e = L0 * pk;  // the quantized im2col rows
    m_stages.resize(static_cast<std::size_t>(c.num_stages()));
    for (int s = 0; s < c.num_stages(); ++s) {
      const int C = c.stage_dim(s), H = c.stage_resolution(s), L = H * H, w = c.stage_window(s), heads = c.num_heads[s];
      const std::string sn = "stage " + std::to_string(s);
      auto& st = m_stages[static_cast<std::size_t>(s)];
      const auto& ps = m_p.stages[static_cast<std::size_t>(s)];
      if (s > 0) {
        st.ln = layernorm(ps.ln, "merge norm " + sn);
        st.merge = linear(ps.merge, "merge " + sn, false);
        a_e = std::max(a_e, static_cast<std::size_t>(L) * 4 * c.stage_dim(s - 1));
      }
      if (!ps.mask.empty()) st.mask = m_arena.upload(ps.mask, "shift mask " + sn);
      x_e = std::max(x_e, static_cast<std::size_t>(L) * C);
      a_e = std::max(a_e, static_cast<std::size_t>(L) * C);
      acc_e = std::max({acc_e, static_cast<std::size_t>(L) * 3 * C, static_cast<std::size_t>(L) * c.mlp_hidden(s)});
      qkv_e = std::max(qkv_e, static_cast<std::size_t>(L) * C);
      sc_e = std::max(sc_e, static_cast<std::size_t>(L) * heads * w * w);
      hid_e = std::max(hid_e, static_cast<std::size_t>(L) * c.mlp_hidden(s));
    }
    for (const auto& pb : m_p.blocks) {
      IvBlock b;
      b.p = &pb;
      const std::string bn = "block " + std::to_string(pb.global);
      b.qkv = linear(pb.qkv, "qkv " + bn, false);
      b.proj = linear(pb.proj, "proj " + bn, false);
      b.fc1 = linear(pb.fc1, "fc1 " + bn, false);
      b.fc2 = linear(pb.fc2, "fc2 " + bn, pb.act == Activation::ReLU);
      b.ln1 = layernorm(pb.ln1, "norm1 " + bn);
      b.ln2 = layernorm(pb.ln2, "norm2 " + bn);
      b.rel_bias = m_arena.upload(pb.rel_bias, "relative position bias " + bn);
      m_blocks.push_back(b);
    }
    const auto B = static_cast<std::size_t>(max_batch);
    const int Ll = c.stage_resolution(c.num_stages() - 1);
    a_e = std::max(a_e, static_cast<std::size_t>(Ll) * Ll * c.num_features());  // the head's normalized rows
    m_x = m_arena.alloc<std::int32_t>(B * x_e, "residual stream");
    m_a = m_arena.alloc<std::int8_t>(B * a_e, "GEMM inputs");
    m_acc = m_arena.alloc<std::int32_t>(B * acc_e, "s32 GEMM accumulators");
    m_q = m_arena.alloc<std::int8_t>(B * qkv_e, "q");
    m_k = m_arena.alloc<std::int8_t>(B * qkv_e, "k");
    m_v = m_arena.alloc<std::int8_t>(B * qkv_e, "v");
    m_scores = m_arena.alloc<std::int32_t>(B * sc_e, "scores / logits");
    m_probs = m_arena.alloc<std::uint8_t>(B * sc_e, "Shiftmax output");
    m_ctx = m_arena.alloc<std::int8_t>(B * x_e, "context");
    m_h = m_arena.alloc<std::int8_t>(B * hid_e, "fc1 output");
    m_h2 = m_arena.alloc<std::int8_t>(B * hid_e, "ShiftGELU output");
    m_pool = m_arena.alloc<std::int8_t>(B * static_cast<std::size_t>(c.num_features()), "pooled");
    m_head_acc = m_arena.alloc<std::int32_t>(B * static_cast<std::size_t>(c.num_classes), "head accumulators");
    gemms(max_batch);
  }

  Variant variant() const override { return Variant::Int8Ivit; }

  std::vector<StageKernel> kernels() const override {
    const auto& g = m_gemms.at(m_max_batch);
    const std::string emu = kEmulated ? " (device emulation on the CPU)" : "";
    auto gemm = [&](int id) {
      return id < 0 ? std::string("ivit_gemm_simt (s8 x s8 -> s32, a thread an output)")
                    : "cuBLASLt " + m_runner.desc(id).describe() + " [" + m_runner.algo_description(id) + "]";
    };
    bool gelu = false, relu = false;
    for (const auto& b : m_p.blocks) (b.act == Activation::ReLU ? relu : gelu) = true;
    std::vector<StageKernel> k;
    k.push_back({std::string(kPatchEmbed), "patch_im2col + ivit_quantize (s8) + " + gemm(g.patch) +
                                               " + ivit_requant (16 bits) + ivit_layernorm (I-LayerNorm, a warp a row)" + emu});
    k.push_back({"ln1_quant", "ivit_layernorm: I-LayerNorm + cyclic shift + window partition + dyadic to s8, a warp a row" + emu});
    k.push_back({"qkv_gemm", gemm(g.qkv.at(0)) + emu});
    k.push_back({"qkv_bias_quant", "ivit_qkv_split: int32 bias + dyadic to s8 q, k, v + split heads" + emu});
    k.push_back({"qk_gemm", "ivit_qk: s8 q . s8 k^T -> s32, a thread a score" + emu});
    k.push_back({"softmax", "ivit_shiftmax: dyadic to 8-bit logits + integer relative position bias + shift mask + Shiftmax -> u8 "
                            "(1/256), a thread a row" + emu});
    k.push_back({"av_gemm", "ivit_av: u8 p . s8 v -> s32, dyadic to s8, heads merged" + emu});
    k.push_back({"proj_gemm", gemm(g.proj.at(0)) + emu});
    k.push_back({"proj_residual_ln2_quant",
                 "ivit_residual (int32 bias, dyadic, window reverse + reverse shift, integer residual add) + ivit_layernorm" + emu});
    if (gelu) k.push_back({"fc1_gemm", "GELU blocks: " + gemm(g.fc1.at(0)) + " + ivit_fc1_requant (dyadic to s8)" + emu});
    if (relu) k.push_back({"fc1_gemm", "GELU-less blocks: " + gemm(g.fc1.at(0)) + " + ivit_fc1_requant (ReLU in the dyadic, u8 stored as u - 128)" + emu});
    if (gelu) k.push_back({"fc1_bias_gelu_quant", "ivit_shift_gelu: row max (warp), shift exponentials, integer division, dyadic to s8" + emu});
    k.push_back({"fc2_gemm", gemm(g.fc2.at(0)) + emu});
    k.push_back({"fc2_bias_residual", "ivit_residual: int32 bias (+128 column sums after ReLU), dyadic, integer residual add" + emu});
    if (m_cfg.num_stages() > 1) {
      k.push_back({std::string(kMergeLnQuant), "ivit_layernorm: 2x2 gather + I-LayerNorm + dyadic to s8" + emu});
      k.push_back({std::string(kMergeGemm), gemm(g.merge.at(1)) + " + ivit_requant into the 16-bit residual" + emu});
    }
    k.push_back({std::string(kHead), "ivit_layernorm + ivit_pool (integer mean) + ivit_gemm_simt + ivit_logits (the only "
                                     "dequantization)" + emu});
    k.push_back({"forward", graph_note()});
    return k;
  }

 private:
  IvLinear linear(const ivit::Linear& l, const std::string& what, bool unsigned_input) {
    IvLinear d;
    d.N = l.N, d.K = l.K;
    d.w = m_arena.upload(l.w, what + " weights");
    d.bias = m_arena.upload(l.bias, what + " bias");
    d.out = m_arena.upload(l.out, what + " dyadics");
    if (unsigned_input) d.colsum = m_arena.upload(l.column_sums(), what + " column sums");
    return d;
  }
  IvLayerNorm layernorm(const ivit::LayerNorm& ln, const std::string& what) {
    IvLayerNorm d;
    d.C = ln.C;
    d.gamma = m_arena.upload(ln.gamma, what + " gamma");
    d.beta = m_arena.upload(ln.beta, what + " beta");
    return d;
  }

  // A linear's GEMM (s8 × s8 → s32, TN) on cuBLASLt when its rules allow, else −1 (SIMT).
  int add_linear(const IvLinear& l, int M, const std::string& label) {
    GemmDesc d;
    d.m = l.N, d.n = M, d.k = l.K, d.trans_a = true, d.lda = d.ldb = l.K, d.ldd = l.N;
    d.a = d.b = GemmType::S8, d.d = GemmType::S32, d.label = label;
    return m_runner.supported(d) ? m_runner.add(d) : -1;
  }
  void run_linear(int id, const IvLinear& l, const std::int8_t* a, long long M, std::int32_t* acc) {
    if (id >= 0) m_runner.run(id, l.w, a, acc, m_stream.get());
    else ivit_gemm_simt(a, M, l, acc, m_stream.get());
  }

  IvGemms& gemms(int batch) {
    auto it = m_gemms.find(batch);
    if (it != m_gemms.end()) return it->second;
    const auto& c = m_cfg;
    IvGemms g;
    g.patch = add_linear(m_patch, batch * c.stage_resolution(0) * c.stage_resolution(0), "patch_embed");
    g.merge.assign(static_cast<std::size_t>(c.num_stages()), -1);
    for (int s = 1; s < c.num_stages(); ++s)
      g.merge[static_cast<std::size_t>(s)] = add_linear(m_stages[static_cast<std::size_t>(s)].merge,
                                                        batch * c.stage_resolution(s) * c.stage_resolution(s),
                                                        "merge_gemm stage " + std::to_string(s));
    for (const auto& b : m_blocks) {
      const int M = batch * c.stage_resolution(b.p->stage) * c.stage_resolution(b.p->stage);
      const std::string n = " block " + std::to_string(b.p->global);
      g.qkv.push_back(add_linear(b.qkv, M, "qkv_gemm" + n));
      g.proj.push_back(add_linear(b.proj, M, "proj_gemm" + n));
      g.fc1.push_back(add_linear(b.fc1, M, "fc1_gemm" + n));
      g.fc2.push_back(add_linear(b.fc2, M, "fc2_gemm" + n));
    }
    return m_gemms.emplace(batch, std::move(g)).first->second;
  }

  void prepare(int batch) override { gemms(batch); }

  void forward(int batch, profiler::Recorder* rec) override {
    auto& g = gemms(batch);
    const auto& c = m_cfg;
    cudaStream_t st = m_stream.get();
    Span fwd(rec, kForward, -1);
    {
      Span sp(rec, kPatchEmbed, -1);
      const long long rows = static_cast<long long>(batch) * c.stage_resolution(0) * c.stage_resolution(0);
      patch_im2col(m_in, m_cols, batch, c.in_chans, c.img_size, c.patch_size, st);
      ivit_quantize(m_cols, m_a, rows * m_patch.K, 1.f / m_p.s_img, st);
      run_linear(g.patch, m_patch, m_a, rows, m_acc);
      ivit_requant(m_acc, m_acc, rows, m_patch, ivit::kResMax, st);
      ivit_layernorm(m_acc, IvRows::Plain, Geo{}, rows, m_patch_ln, ivit::kResMax, nullptr, m_x, st);
    }
    for (int s = 0; s < c.num_stages(); ++s) {
      if (s > 0) {
        const auto& sw = m_stages[static_cast<std::size_t>(s)];
        const int Hp = c.stage_resolution(s - 1);
        const long long rows = static_cast<long long>(batch) * (Hp / 2) * (Hp / 2);
        {
          Span sp(rec, kMergeLnQuant, -1);
          ivit_layernorm(m_x, IvRows::Merge, Geo{batch, Hp, c.stage_dim(s - 1), 1, 0, 1}, rows, sw.ln, ivit::kActMax, m_a,
                         nullptr, st);
        }
        Span sp(rec, kMergeGemm, -1);
        run_linear(g.merge[static_cast<std::size_t>(s)], sw.merge, m_a, rows, m_acc);
        ivit_requant(m_acc, m_x, rows, sw.merge, ivit::kResMax, st);
      }
      for (std::size_t i = 0; i < m_blocks.size(); ++i)
        if (m_blocks[i].p->stage == s) run_block(m_blocks[i], g, i, batch, rec);
    }
    Span sp(rec, kHead, -1);
    const int L = c.stage_resolution(c.num_stages() - 1) * c.stage_resolution(c.num_stages() - 1);
    ivit_layernorm(m_x, IvRows::Plain, Geo{}, static_cast<long long>(batch) * L, m_norm, ivit::kActMax, m_a, nullptr, st);
    ivit_pool(m_a, m_pool, batch, L, c.num_features(), st);
    ivit_gemm_simt(m_pool, batch, m_head, m_head_acc, st);
    ivit_logits(m_head_acc, m_head, m_head_scale, m_logits, batch, st);
  }

  void run_block(const IvBlock& b, const IvGemms& g, std::size_t i, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const auto& p = *b.p;
    const int s = p.stage;
    const Geo geo{batch, c.stage_resolution(s), c.stage_dim(s), c.stage_window(s), p.shift, c.num_heads[s]};
    const long long rows = static_cast<long long>(batch) * geo.H * geo.H;
    const int hidden = c.mlp_hidden(s);
    const bool relu = p.act == Activation::ReLU;
    const float* mask = p.shift > 0 ? m_stages[static_cast<std::size_t>(s)].mask : nullptr;
    cudaStream_t st = m_stream.get();
    Span block(rec, kBlock, p.global);
    auto run_stage = [&](int index, auto&& work) { Plan::run_stage(rec, index, p.global, work); };
    run_stage(1, [&] { ivit_layernorm(m_x, IvRows::Window, geo, rows, b.ln1, ivit::kActMax, m_a, nullptr, st); });
    run_stage(2, [&] { run_linear(g.qkv[i], b.qkv, m_a, rows, m_acc); });
    run_stage(3, [&] { ivit_qkv_split(m_acc, b.qkv, geo, m_q, m_k, m_v, st); });
    run_stage(4, [&] { ivit_qk(m_q, m_k, m_scores, geo, st); });
    run_stage(5, [&] { ivit_shiftmax(m_scores, m_probs, geo, p.att, b.rel_bias, mask, p.masked, p.x0, st); });
    run_stage(6, [&] { ivit_av(m_probs, m_v, m_ctx, geo, p.av, st); });
    run_stage(7, [&] { run_linear(g.proj[i], b.proj, m_ctx, rows, m_acc); });
    run_stage(8, [&] {
      ivit_residual(m_acc, b.proj, p.res_attn, m_x, IvRows::Window, geo, rows, st);
      ivit_layernorm(m_x, IvRows::Plain, geo, rows, b.ln2, ivit::kActMax, m_a, nullptr, st);
    });
    run_stage(9, [&] {
      run_linear(g.fc1[i], b.fc1, m_a, rows, m_acc);
      ivit_fc1_requant(m_acc, b.fc1, relu, m_h, rows, st);
    });
    if (!relu) run_stage(10, [&] { ivit_shift_gelu(m_h, m_h2, rows, hidden, p.gelu_x0, p.gelu_out, st); });
    run_stage(11, [&] { run_linear(g.fc2[i], b.fc2, relu ? m_h : m_h2, rows, m_acc); });
    run_stage(12, [&] { ivit_residual(m_acc, b.fc2, p.res_mlp, m_x, IvRows::Plain, geo, rows, st); });
  }

  ivit::Params m_p;
  IvLinear m_patch, m_head;
  IvLayerNorm m_patch_ln, m_norm;
  const float* m_head_scale = nullptr;
  std::vector<IvStage> m_stages;
  std::vector<IvBlock> m_blocks;
  std::map<int, IvGemms> m_gemms;
  std::int32_t* m_x = nullptr;        // residual stream (B·L, C), 16-bit codes, token order
  std::int8_t* m_a = nullptr;         // s8 GEMM inputs: quantized im2col, ln1 (window order), ln2, merge, head rows
  std::int32_t* m_acc = nullptr;      // s32 accumulators
  std::int8_t *m_q = nullptr, *m_k = nullptr, *m_v = nullptr;  // (B·nW·heads, N, d)
  std::int32_t* m_scores = nullptr;   // (B·nW·heads, N, N), then the 8-bit logits
  std::uint8_t* m_probs = nullptr;    // (B·nW·heads, N, N) at 1/256
  std::int8_t* m_ctx = nullptr;       // (B·nW·N, C) window order
  std::int8_t* m_h = nullptr;         // (B·L, hidden) s8, or u8 − 128 after ReLU
  std::int8_t* m_h2 = nullptr;        // (B·L, hidden) ShiftGELU output
  std::int8_t* m_pool = nullptr;      // (B, F)
  std::int32_t* m_head_acc = nullptr; // (B, classes)
};

}  // namespace

std::unique_ptr<Plan> make_ivit_plan(const Model& model, int max_batch) {
  return std::make_unique<CudaIvitPlan>(ivit::build_params(model), max_batch);
}

}  // namespace swinscope::SWS_CUDA_NS
