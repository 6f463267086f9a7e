// The int8 SWIN plan on CUDA (real, or under device emulation): the twelve stages of
// engine/stages.h per block, with cuBLASLt int8 GEMMs (gemm.h) and one fused kernel per
// fused op, computing the CPU plan's function (engine/numerics.h). Differences in *layout*
// from the CPU plan, each forced by cuBLASLt multiplying s8 × s8 in the TN order only:
//   - signed activations are s8 (the CPU stores u8 = q + 128 for oneDNN): same q;
//   - q, k are (window·head, Np, d4) and v is transposed (window·head, d4, Np), so Q·Kᵀ and
//     attn·V are both strided-batched TN GEMMs;
//   - the u8 softmax output and the u8 ReLU output are stored as u − 128 in s8, and the
//     consumer adds 128·Σ(other operand) back (exact integer arithmetic).
// Buffers are allocated once for max_batch; a whole forward is captured into a CUDA graph
// per batch size on its first unrecorded run and replayed after. A recorded run (profiling)
// is enqueued stage by stage, ungraphed, so each span brackets its own kernels.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cpu/int8_plan.h"
#include "engine/cuda/av_gemm.cuh"
#include "engine/cuda/buffers.h"
#include "engine/cuda/plan_base.h"
#include "engine/cuda/fc1_bias_gelu_quant.cuh"
#include "engine/cuda/fc1_relu_quant.cuh"
#include "engine/cuda/fc2_bias_residual.cuh"
#include "engine/cuda/gemm.h"
#include "engine/cuda/gemm_s8/gemm_s8.cuh"
#include "engine/cuda/head.cuh"
#include "engine/cuda/ln1_quant.cuh"
#include "engine/cuda/merge.cuh"
#include "engine/cuda/patch_embed.cuh"
#include "engine/cuda/plans.h"
#include "engine/cuda/proj_residual_ln2_quant.cuh"
#include "engine/cuda/qkv_bias_quant.cuh"
#include "engine/cuda/softmax.cuh"
#include "engine/cuda/timing.h"
#include "engine/cuda/verify.cuh"
#include "engine/cuda/window_attention.cuh"
#include "engine/error.h"
#include "engine/quantize.h"
#include "engine/stages.h"

namespace swinscope::SWS_CUDA_NS {

namespace {

using profiler::Span;

// One quantized linear on the device: (N, K) s8 weights as the file holds them (the CPU's
// 7-bit re-rounding is a CPU-ISA workaround, not part of the model), and the multipliers
// its GEMM applies, computed in the CPU's float expression order.
struct Linear {
  int N = 0, K = 0;
  bool per_channel = false;
  std::vector<float> w_scale;            // (1) or (N)
  const std::int8_t* w = nullptr;        // device (N, K)
  const std::int32_t* rowsum = nullptr;  // device (N): Σ_k W[n][k], for inputs stored shifted
  float* alpha = nullptr;                // device (1) or (N): epilogue multipliers (set by set_alpha)
  std::vector<float> alpha_host;
  bool own = false;            // on gemm_s8 (else cuBLASLt): the plan's GemmPolicy, per shape
  S8Tile tile = S8Tile::Auto;  // gemm_s8's tile when own (Auto: its rule; Tune: the fastest)

  // s_in · s_w[n] / s_out (dst_scale ≤ 0: s_in · s_w[n], a dequantization).
  void set_alpha(DeviceArena& arena, float s_in, float s_out, const std::string& what) {
    alpha_host.resize(w_scale.size());
    for (std::size_t n = 0; n < w_scale.size(); ++n) {
      const float s = s_in * w_scale[n];
      alpha_host[n] = s_out > 0.f ? s / s_out : s;
    }
    alpha = arena.upload(alpha_host, what + " alpha");
  }
};

struct Block {
  int stage = 0, global = 0, shift = 0;
  Activation act = Activation::GELU;
  const float *norm1_g, *norm1_b, *norm2_g, *norm2_b, *qkv_b, *proj_b, *fc2_b, *fc1_b = nullptr;
  const float* rel_bias = nullptr;  // (heads, N, Np), −inf in the padding
  Linear qkv, proj, fc1, fc2;
  float s_qkv_in, s_qkv_out, s_q, s_k, s_v, s_p, s_ctx, s_proj_out, s_fc1_in, s_fc1_out, s_fc2_in, s_fc2_out;
};

struct StageW {
  const float *merge_norm_g = nullptr, *merge_norm_b = nullptr;
  Linear merge;
  float s_merge_in = 1.f;
  const float* mask = nullptr;  // (nW, N, Np) or null
};

// GEMM ids of one batch size.
struct BatchGemms {
  int patch = -1, head = -1;
  std::vector<int> merge;                       // per stage
  std::vector<int> qkv, proj, fc1, fc2, qk, av; // per block
};

class CudaInt8Plan final : public CudaPlanBase {
 public:
  CudaInt8Plan(const Model& model, Variant variant, int max_batch, bool fused_attention, GemmPolicy policy)
      : CudaPlanBase(checked(model, variant), max_batch), m_variant(variant), m_fused_attention(fused_attention),
        m_policy(policy == GemmPolicy::Auto ? (kEmulated ? GemmPolicy::CuBlasLt : GemmPolicy::Tune) : policy),
        m_fuse_gelu(variant == Variant::Int8GeluFused) {
    const auto& c = m_cfg;
    if (m_fused_attention)
      for (int s = 0; s < c.num_stages(); ++s) {
        std::string why;
        if (!window_attention_supported(Geo{1, c.stage_resolution(s), c.stage_dim(s), c.stage_window(s), 0, c.num_heads[s]}, &why))
          throw Error("--fused-attention: stage " + std::to_string(s) + " of " + model.path.string() +
                      " does not fit the fused window-attention kernel: " + why + " (run without it)");
      }
    auto upload = [&](const std::string& n) { return m_arena.upload(model.tensor(n).data, n); };
    auto amax = [&](const std::string& n) { return model.tensor(n).data.at(0); };
    auto linear = [&](const std::string& l) {
      const auto& w = model.int8_tensor(l + ".weight");
      Linear lin;
      lin.N = static_cast<int>(w.shape[0]);
      lin.K = static_cast<int>(w.shape[1]);
      lin.w_scale = model.tensor(weight_scale_name(l)).data;
      lin.per_channel = lin.w_scale.size() > 1;
      lin.w = m_arena.upload(w.data, l + ".weight");
      std::vector<std::int32_t> rs(static_cast<std::size_t>(lin.N), 0);
      for (int n = 0; n < lin.N; ++n)
        for (int k = 0; k < lin.K; ++k) rs[static_cast<std::size_t>(n)] += w.data[static_cast<std::size_t>(n) * lin.K + k];
      lin.rowsum = m_arena.upload(rs, l + " row sums");
      return lin;
    };
    upload_outer(model);
    m_stages.resize(static_cast<std::size_t>(c.num_stages()));
    std::size_t x_e = 0, a_e = 0, qkv_e = 0, qk_e = 0, vt_e = 0, score_e = 0, ctxacc_e = 0, hidden_e = 0;
    int global = 0;
    for (int s = 0; s < c.num_stages(); ++s) {
      const int C = c.stage_dim(s), H = c.stage_resolution(s), L = H * H, w = c.stage_window(s), heads = c.num_heads[s];
      const Geo g1{1, H, C, w, 0, heads};
      auto& st = m_stages[static_cast<std::size_t>(s)];
      if (s > 0) {
        const std::string d = "layers." + std::to_string(s) + ".downsample.";
        st.merge_norm_g = upload(d + "norm.weight");
        st.merge_norm_b = upload(d + "norm.bias");
        st.merge = linear(d + "reduction");
        st.s_merge_in = cpu::int8::signed_scale(amax(input_amax_name(d + "reduction")));
        st.merge.set_alpha(m_arena, st.s_merge_in, 0.f, d + "reduction");
        a_e = std::max(a_e, static_cast<std::size_t>(L) * 4 * c.stage_dim(s - 1));
        x_e = std::max(x_e, static_cast<std::size_t>(L) * C);  // merge GEMM's s32 output lands in m_hacc
      }
      st.mask = upload_shift_mask(s);
      x_e = std::max(x_e, static_cast<std::size_t>(L) * C);
      a_e = std::max(a_e, static_cast<std::size_t>(L) * C);
      qkv_e = std::max(qkv_e, static_cast<std::size_t>(L) * 3 * C);
      const auto nwh = static_cast<std::size_t>(g1.nwh());
      qk_e = std::max(qk_e, nwh * g1.Np() * g1.d4());
      vt_e = std::max(vt_e, nwh * g1.d4() * g1.Np());
      score_e = std::max(score_e, nwh * g1.tokens() * g1.Np());
      ctxacc_e = std::max(ctxacc_e, nwh * g1.tokens() * g1.d4());
      hidden_e = std::max(hidden_e, static_cast<std::size_t>(L) * std::max(c.mlp_hidden(s), C));
      for (int b = 0; b < c.depths[s]; ++b, ++global) {
        const std::string p = block_prefix(s, b);
        Block bw;
        bw.stage = s;
        bw.global = global;
        bw.shift = c.stage_shift(s, b);
        bw.act = model.activations.at(static_cast<std::size_t>(global));
        bw.norm1_g = upload(p + "norm1.weight");
        bw.norm1_b = upload(p + "norm1.bias");
        bw.norm2_g = upload(p + "norm2.weight");
        bw.norm2_b = upload(p + "norm2.bias");
        bw.qkv_b = upload(p + "attn.qkv.bias");
        bw.proj_b = upload(p + "attn.proj.bias");
        bw.fc2_b = upload(p + "mlp.fc2.bias");
        if (bw.act == Activation::GELU && model.find(p + "mlp.fc1.bias")) bw.fc1_b = upload(p + "mlp.fc1.bias");
        std::vector<float> dense(static_cast<std::size_t>(heads) * w * w * w * w);
        cpu::expand_relative_position_bias(model.tensor(p + "attn.relative_position_bias_table").data.data(), dense.data(), w,
                                           heads);
        bw.rel_bias = m_arena.upload(cpu::int8::pad_relative_bias(dense.data(), heads, w * w), p + "relative position bias");
        bw.qkv = linear(p + "attn.qkv");
        bw.proj = linear(p + "attn.proj");
        bw.fc1 = linear(p + "mlp.fc1");
        bw.fc2 = linear(p + "mlp.fc2");
        const bool relu = bw.act == Activation::ReLU;
        bw.s_qkv_in = cpu::int8::signed_scale(amax(input_amax_name(p + "attn.qkv")));
        bw.s_qkv_out = cpu::int8::signed_scale(amax(output_amax_name(p + "attn.qkv")));
        bw.s_q = cpu::int8::signed_scale(amax(p + "attn.q_amax"));
        bw.s_k = cpu::int8::signed_scale(amax(p + "attn.k_amax"));
        bw.s_v = cpu::int8::signed_scale(amax(p + "attn.v_amax"));
        bw.s_p = cpu::int8::unsigned_scale(amax(p + "attn.softmax_amax"));
        bw.s_ctx = cpu::int8::signed_scale(amax(input_amax_name(p + "attn.proj")));
        bw.s_proj_out = cpu::int8::signed_scale(amax(output_amax_name(p + "attn.proj")));
        bw.s_fc1_in = cpu::int8::signed_scale(amax(input_amax_name(p + "mlp.fc1")));
        const float fc1_out = amax(output_amax_name(p + "mlp.fc1"));
        bw.s_fc1_out = relu ? cpu::int8::unsigned_scale(fc1_out) : cpu::int8::signed_scale(fc1_out);
        bw.s_fc2_in = relu ? bw.s_fc1_out : cpu::int8::signed_scale(amax(input_amax_name(p + "mlp.fc2")));
        bw.s_fc2_out = cpu::int8::signed_scale(amax(output_amax_name(p + "mlp.fc2")));
        bw.qkv.set_alpha(m_arena, bw.s_qkv_in, bw.s_qkv_out, p + "attn.qkv");
        bw.proj.set_alpha(m_arena, bw.s_ctx, bw.s_proj_out, p + "attn.proj");
        bw.fc1.set_alpha(m_arena, bw.s_fc1_in, bw.s_fc1_out, p + "mlp.fc1");
        bw.fc2.set_alpha(m_arena, bw.s_fc2_in, bw.s_fc2_out, p + "mlp.fc2");
        m_blocks.push_back(std::move(bw));
      }
    }
    const auto B = static_cast<std::size_t>(max_batch);
    m_x = m_arena.alloc<float>(B * x_e, "residual stream");
    m_a = m_arena.alloc<std::int8_t>(B * a_e, "GEMM inputs");
    m_qkv = m_arena.alloc<std::int8_t>(B * qkv_e, "qkv");
    m_q = m_arena.alloc<std::int8_t>(B * qk_e, "q");
    m_k = m_arena.alloc<std::int8_t>(B * qk_e, "k");
    m_vt = m_arena.alloc<std::int8_t>(B * vt_e, "v transposed");
    m_scores = m_arena.alloc<std::int32_t>(B * score_e, "scores");
    m_probs = m_arena.alloc<std::int8_t>(B * score_e, "probabilities");
    m_ctxacc = m_arena.alloc<std::int32_t>(B * ctxacc_e, "attn.V accumulators");
    m_ctx = m_arena.alloc<std::int8_t>(B * x_e, "context");
    m_proj = m_arena.alloc<std::int8_t>(B * x_e, "projection");
    m_h = m_arena.alloc<std::int8_t>(B * hidden_e, "fc1 output");
    m_h2 = m_arena.alloc<std::int8_t>(B * hidden_e, "fc1 activation");
    m_hacc = m_arena.alloc<std::int32_t>(B * hidden_e, "s32 GEMM accumulators");
    m_y = m_arena.alloc<std::int8_t>(B * x_e, "fc2 output");
    probe_relu_epilogue();
    gemms(max_batch);
    choose_gemms();
  }

  Variant variant() const override { return m_variant; }

  std::vector<StageKernel> kernels() const override {
    const auto& c = m_cfg;
    const auto& g = m_gemms.at(m_max_batch);
    auto lt = [&](int id) { return "cuBLASLt " + m_runner.desc(id).describe() + " [" + m_runner.algo_description(id) + "]"; };
    const std::string emu = kEmulated ? " (device emulation on the CPU)" : "";
    std::vector<StageKernel> k;
    k.push_back({std::string(kPatchEmbed), outer_kernel(g.patch, false)});
    k.push_back({"ln1_quant", "ln1_quant_kernel: LayerNorm + cyclic shift + window partition + quantize to s8, warp per token" + emu});
    const long long M0 = static_cast<long long>(m_max_batch) * c.stage_resolution(0) * c.stage_resolution(0);
    // A linear's kernel: the own GEMM when this plan uses it for that shape, else cuBLASLt.
    auto lin = [&](const Linear& l, int id, S8AType at, S8Epilogue ep) {
      if (own(l)) return gemm_s8_describe(own_args(l, M0, nullptr, at, nullptr, ep)) + emu;
      if (l.K % 16 != 0 && m_policy != GemmPolicy::CuBlasLt)
        return lt(id) + " (K=" + std::to_string(l.K) + " is not a multiple of 16: not on gemm_s8)";
      return lt(id);
    };
    const Block& b0 = m_blocks.front();
    k.push_back({"qkv_gemm", lin(b0.qkv, g.qkv[0], S8AType::S8, S8Epilogue::S8)});
    k.push_back({"qkv_bias_quant", "qkv_bias_quant_kernel: dequantize + bias + requantize q, k, v to s8 + split heads (v transposed)" + emu});
    if (m_fused_attention) {
      std::string per_stage;  // the kernel window_attention picks for each stage's geometry
      for (int s = 0; s < c.num_stages(); ++s)
        per_stage += (s ? ", " : "") + std::string("stage ") + std::to_string(s) + " " +
                     attn_kernel_name(window_attention_pick(Geo{1, c.stage_resolution(s), c.stage_dim(s), c.stage_window(s), 0, c.num_heads[s]}));
      k.push_back({std::string(kWindowAttention.name),
                   "window_attention: q.k^T + dequantize + relative position bias + shift mask + softmax + quantize (u8) + "
                   "p.v + requantize to s8 + merge heads, one block per window and head; mma = both products on int8 tensor "
                   "cores (mma.sync m16n8k32), simt = int32 lanes: " + per_stage + emu});
    } else {
      k.push_back({"qk_gemm", lt(g.qk[0])});
      k.push_back({"softmax", "softmax_quant_kernel: dequantize + scale + relative position bias + shift mask + softmax + quantize (u8 - 128), warp per row" + emu});
      k.push_back({"av_gemm", lt(g.av[0]) + " + av_requant_kernel (zero-point correction, requantize to s8, merge heads)" + emu});
    }
    k.push_back({"proj_gemm", lin(b0.proj, g.proj[0], S8AType::S8, S8Epilogue::S8)});
    k.push_back({"proj_residual_ln2_quant", "proj_residual_ln2_quant_kernel: dequantize + bias + window reverse + reverse shift + residual add + LayerNorm + quantize to s8" + emu});
    const Block* gelu = nullptr;
    const Block* relu = nullptr;
    for (const auto& b : m_blocks) {
      if (b.act == Activation::GELU && !gelu) gelu = &b;
      if (b.act == Activation::ReLU && !relu) relu = &b;
    }
    const bool relu_own = relu && own(relu->fc1) && own(relu->fc2);
    const bool gelu_fused = gelu && m_fuse_gelu && own(gelu->fc1);
    if (gelu_fused)
      k.push_back({"fc1_gemm", "GELU blocks: " + lin(gelu->fc1, -1, S8AType::S8, S8Epilogue::RequantBiasGeluS8) +
                                   ": dequantize + bias + GELU + quantize fused into the GEMM (stage 10 removed)"});
    else if (gelu)
      k.push_back({"fc1_gemm", "GELU blocks: " + lin(gelu->fc1, g.fc1[static_cast<std::size_t>(gelu->global)], S8AType::S8, S8Epilogue::S8)});
    if (relu_own)
      k.push_back({"fc1_gemm", "GELU-less blocks: " + lin(relu->fc1, -1, S8AType::S8, S8Epilogue::ReluU8) +
                                   ": ReLU fused into the GEMM (u8 out, scale amax/255)"});
    else if (relu)
      k.push_back({"fc1_gemm", "GELU-less blocks: " + lt(g.fc1[static_cast<std::size_t>(relu->global)]) +
                                   " + fc1_relu_quant_kernel (ReLU + requantize to u8, stored u8 - 128): not fused, " +
                                   m_relu_epilogue_note + emu});
    if (gelu && !gelu_fused) k.push_back({"fc1_bias_gelu_quant", "fc1_bias_gelu_quant_kernel: dequantize + bias + GELU (erf) + quantize to s8" + emu});
    if (gelu) k.push_back({"fc2_gemm", "GELU blocks: " + lin(gelu->fc2, g.fc2[static_cast<std::size_t>(gelu->global)], S8AType::S8, S8Epilogue::S8)});
    if (relu_own) k.push_back({"fc2_gemm", "GELU-less blocks: " + lin(relu->fc2, -1, S8AType::U8, S8Epilogue::S8) + " (u8 input)"});
    else if (relu) k.push_back({"fc2_gemm", "GELU-less blocks: " + lt(g.fc2[static_cast<std::size_t>(relu->global)])});
    std::string fc2 = "fc2_bias_residual_kernel: dequantize + bias + residual add (float)";
    if (relu && !relu_own) fc2 += "; GELU-less blocks: fc2_bias_residual_from_acc_kernel (zero-point correction + requantize to s8 first)";
    k.push_back({"fc2_bias_residual", fc2 + emu});
    if (m_cfg.num_stages() > 1) {
      k.push_back({std::string(kMergeLnQuant), "merge_ln_quant_kernel: 2x2 gather + LayerNorm + quantize to s8" + emu});
      k.push_back({std::string(kMergeGemm), lt(g.merge[1]) + " + dequantize_rows_kernel" + emu});
    }
    k.push_back({std::string(kHead), outer_kernel(g.head, true)});
    std::string policy(gemm_policy_name(m_policy));
    if (m_policy == GemmPolicy::Tune) {
      policy += ": per shape at batch " + std::to_string(m_max_batch) + " (every batch size uses these choices), median of " +
                std::to_string(kTuneRuns) + " runs after " + std::to_string(kTuneWarmup) + " warm-up";
      if (kEmulated) policy += "; emulated timings: the choices say nothing about a GPU";
    } else {
      policy += m_policy == GemmPolicy::Own ? ": gemm_s8 wherever K allows, tile by its rule" : ": cuBLASLt and the separate ops";
      if (m_fuse_gelu) policy += " (int8-gelu-fused: FC1 on gemm_s8, whose epilogue the variant needs)";
    }
    k.push_back({"gemm policy", policy});
    for (const auto& note : m_choices) k.push_back({"gemm choice", note});
    k.push_back({"forward", graph_note()});
    return k;
  }

 private:
  static const SwinConfig& checked(const Model& model, Variant variant) {
    cpu::check_int8_variant(model, variant);
    validate_model_tensors(model);
    validate_int8_model(model);
    return model.config;
  }

  void prepare(int batch) override { gemms(batch); }

  void forward(int batch, profiler::Recorder* rec) override {
    auto& g = gemms(batch);
    const auto& c = m_cfg;
    cudaStream_t st = m_stream.get();
    const float eps = static_cast<float>(c.layer_norm_eps);
    Span fwd(rec, kForward, -1);
    enqueue_patch_embed(batch, g.patch, m_x, rec);
    for (int s = 0; s < c.num_stages(); ++s) {
      if (s > 0) {
        const auto& sw = m_stages[static_cast<std::size_t>(s)];
        const int H = c.stage_resolution(s - 1);
        {
          Span sp(rec, kMergeLnQuant, -1);
          merge_ln_quant(m_x, m_a, batch, H, c.stage_dim(s - 1), sw.merge_norm_g, sw.merge_norm_b, eps, 1.f / sw.s_merge_in, st);
        }
        Span sp(rec, kMergeGemm, -1);
        const long long rows = static_cast<long long>(batch) * (H / 2) * (H / 2);
        m_runner.run(g.merge[static_cast<std::size_t>(s)], sw.merge.w, m_a, m_hacc, st);
        dequantize_rows(m_hacc, m_x, rows, sw.merge.N, sw.merge.alpha, sw.merge.per_channel, st);
      }
      for (auto& bw : m_blocks)
        if (bw.stage == s) run_block(bw, g, batch, rec);
    }
    enqueue_head(batch, g.head, m_x, rec);
  }

  void run_block(const Block& bw, BatchGemms& g, int batch, profiler::Recorder* rec) {
    const auto& c = m_cfg;
    const int s = bw.stage;
    const auto i = static_cast<std::size_t>(bw.global);
    const float eps = static_cast<float>(c.layer_norm_eps);
    const Geo geo{batch, c.stage_resolution(s), c.stage_dim(s), c.stage_window(s), bw.shift, c.num_heads[s]};
    const long long rows = static_cast<long long>(batch) * geo.H * geo.H;
    const int hidden = c.mlp_hidden(s);
    const float* mask = bw.shift > 0 ? m_stages[static_cast<std::size_t>(s)].mask : nullptr;
    const bool relu = bw.act == Activation::ReLU;
    cudaStream_t st = m_stream.get();
    auto alpha_rows = [](const Linear& l) { return l.per_channel ? l.alpha : nullptr; };
    Span block(rec, kBlock, bw.global);
    auto run_stage = [&](int index, auto&& work) { Plan::run_stage(rec, index, bw.global, work); };
    run_stage(1, [&] { ln1_quant(m_x, m_a, geo, bw.norm1_g, bw.norm1_b, eps, 1.f / bw.s_qkv_in, st); });
    run_stage(2, [&] {
      if (own(bw.qkv)) gemm_s8(own_args(bw.qkv, rows, m_a, S8AType::S8, m_qkv, S8Epilogue::S8), st);
      else m_runner.run(g.qkv[i], bw.qkv.w, m_a, m_qkv, st, alpha_rows(bw.qkv));
    });
    run_stage(3, [&] {
      const float inv[3] = {1.f / bw.s_q, 1.f / bw.s_k, 1.f / bw.s_v};
      qkv_bias_quant(m_qkv, m_q, m_k, m_vt, geo, bw.qkv_b, bw.s_qkv_out, inv, st);
    });
    const float deq = bw.s_q * bw.s_k / std::sqrt(static_cast<float>(geo.head_dim()));
    if (m_fused_attention) {
      if (!skipped(kWindowAttention.name)) {
        Span sp(rec, kWindowAttention.name, bw.global);
        window_attention(m_q, m_k, m_vt, m_ctx, geo, bw.rel_bias, mask, deq, 1.f / bw.s_p, bw.s_p * bw.s_v / bw.s_ctx, st);
      }
    } else {
      run_stage(4, [&] { m_runner.run(g.qk[i], m_k, m_q, m_scores, st); });
      run_stage(5, [&] { softmax_quant(m_scores, m_probs, geo, bw.rel_bias, mask, deq, 1.f / bw.s_p, st); });
      run_stage(6, [&] {
        m_runner.run(g.av[i], m_vt, m_probs, m_ctxacc, st);
        av_requant(m_ctxacc, m_vt, m_ctx, geo, bw.s_p * bw.s_v / bw.s_ctx, st);
      });
    }
    run_stage(7, [&] {
      if (own(bw.proj)) gemm_s8(own_args(bw.proj, rows, m_ctx, S8AType::S8, m_proj, S8Epilogue::S8), st);
      else m_runner.run(g.proj[i], bw.proj.w, m_ctx, m_proj, st, alpha_rows(bw.proj));
    });
    // GELU-less on the own GEMM: ReLU inside FC1 (u8 out, the CPU's layout), FC2 reads u8.
    const bool relu_own = relu && own(bw.fc1) && own(bw.fc2);
    run_stage(8, [&] {
      proj_residual_ln2_quant(m_proj, m_x, m_a, geo, bw.proj_b, bw.s_proj_out, bw.norm2_g, bw.norm2_b, eps, 1.f / bw.s_fc1_in, st);
    });
    run_stage(9, [&] {
      if (relu_own) {
        gemm_s8(own_args(bw.fc1, rows, m_a, S8AType::S8, m_h, S8Epilogue::ReluU8), st);
      } else if (!relu && own(bw.fc1) && m_fuse_gelu) {
        // int8-gelu-fused: requantize, bias, GELU and quantize in the epilogue — the same
        // function as FC1 → fc1_bias_gelu_quant, without the op (and its pass over memory).
        gemm_s8(fused_gelu_args(bw, rows), st);
      } else if (!relu && own(bw.fc1)) {
        gemm_s8(own_args(bw.fc1, rows, m_a, S8AType::S8, m_h, S8Epilogue::S8), st);
      } else if (relu) {
        m_runner.run(g.fc1[i], bw.fc1.w, m_a, m_hacc, st);
        fc1_relu_quant(m_hacc, m_h, rows, hidden, bw.fc1.alpha, bw.fc1.per_channel, st);
      } else {
        m_runner.run(g.fc1[i], bw.fc1.w, m_a, m_h, st, alpha_rows(bw.fc1));
      }
    });
    if (!relu && !(m_fuse_gelu && own(bw.fc1)))
      run_stage(10, [&] { fc1_bias_gelu_quant(m_h, m_h2, rows, hidden, bw.fc1_b, bw.s_fc1_out, 1.f / bw.s_fc2_in, st); });
    run_stage(11, [&] {
      if (relu_own) gemm_s8(own_args(bw.fc2, rows, m_h, S8AType::U8, m_y, S8Epilogue::S8), st);
      else if (!relu && own(bw.fc2)) gemm_s8(own_args(bw.fc2, rows, m_h2, S8AType::S8, m_y, S8Epilogue::S8), st);
      else if (relu) m_runner.run(g.fc2[i], bw.fc2.w, m_h, m_hacc, st);
      else m_runner.run(g.fc2[i], bw.fc2.w, m_h2, m_y, st, alpha_rows(bw.fc2));
    });
    run_stage(12, [&] {
      if (relu && !relu_own)
        fc2_bias_residual_from_acc(m_hacc, bw.fc2.rowsum, bw.fc2.alpha, bw.fc2.per_channel, m_x, rows, geo.C, bw.fc2_b,
                                   bw.s_fc2_out, st);
      else fc2_bias_residual(m_y, m_x, rows, geo.C, bw.fc2_b, bw.s_fc2_out, st);
    });
  }

  // gemm_s8 needs K % 16 == 0 (16-byte cp.async row segments); other linears stay on cuBLASLt,
  // and info --plan says which.
  static bool own(const Linear& l) { return l.own; }
  static GemmS8Args own_args(const Linear& l, long long M, const void* A, S8AType at, void* D, S8Epilogue ep) {
    GemmS8Args a;
    a.M = static_cast<int>(M), a.N = l.N, a.K = l.K, a.A = A, a.a_type = at, a.B = l.w, a.D = D, a.epilogue = ep;
    a.tile = l.tile;
    if (l.per_channel) a.alpha_n = l.alpha;
    else a.alpha = l.alpha_host.at(0);
    return a;
  }

  GemmS8Args fused_gelu_args(const Block& bw, long long rows) const {
    GemmS8Args a = own_args(bw.fc1, rows, m_a, S8AType::S8, m_h2, S8Epilogue::RequantBiasGeluS8);
    a.bias = bw.fc1_b, a.deq = bw.s_fc1_out, a.inv_scale = 1.f / bw.s_fc2_in;
    return a;
  }

  // ---- the GEMM policy: which linears run on gemm_s8, with which tile
  static constexpr int kTuneWarmup = kEmulated ? 1 : 3;
  static constexpr int kTuneRuns = kEmulated ? 3 : 15;

  void choose_gemms() {
    const bool own_all = m_policy == GemmPolicy::Own || m_policy == GemmPolicy::Tune;
    for (auto& b : m_blocks)
      for (Linear* l : {&b.qkv, &b.proj, &b.fc1, &b.fc2}) {
        l->own = own_all && l->K % 16 == 0;
        if (m_fuse_gelu && l == &b.fc1 && b.act == Activation::GELU) l->own = l->K % 16 == 0;  // the epilogue needs it
      }
    if (m_policy == GemmPolicy::Tune) tune_gemms();
  }

  float time_ms(const std::function<void()>& enqueue) { return median_ms(m_stream.get(), enqueue, kTuneWarmup, kTuneRuns); }
  static std::string verdict(long long bad, std::size_t n) {
    return bad ? "gemm_s8 REJECTED: " + std::to_string(bad) + " of " + std::to_string(n) + " outputs differ from cuBLASLt's"
               : "gemm_s8 verified against cuBLASLt on this shape (" + std::to_string(n) + " outputs)";
  }
  static std::string fmt_ms(float ms) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g ms", static_cast<double>(ms));
    return b;
  }

  // The fastest gemm_s8 tile for `a` (Auto excluded: the rule is what timing replaces); `log`
  // gets every tile's time.
  std::pair<S8Tile, float> fastest_tile(GemmS8Args a, std::string& log) {
    std::pair<S8Tile, float> best{S8Tile::Auto, std::numeric_limits<float>::infinity()};
    for (const S8Tile t : {S8Tile::T128x256, S8Tile::T128x128, S8Tile::T64x64}) {
      a.tile = t;
      const float ms = time_ms([&] { gemm_s8(a, m_stream.get()); });
      log += std::string(log.empty() ? "" : ", ") + gemm_s8_tile_name(t) + " " + fmt_ms(ms);
      if (ms < best.second) best = {t, ms};
    }
    return best;
  }

  // Times own vs cuBLASLt for every block GEMM shape at max_batch (identical shapes once) and
  // sets Linear::own / tile. GELU-less blocks decide FC1 + FC2 together: the own GEMM's ReLU
  // epilogue writes u8, which only the own FC2 reads (cuBLASLt's path stores u8 − 128).
  void tune_gemms() {
    const auto& g = m_gemms.at(m_max_batch);
    cudaStream_t st = m_stream.get();
    const auto& c = m_cfg;
    struct Decision {
      bool own;
      S8Tile tile;
    };
    std::map<std::string, std::vector<Decision>> seen;  // shape key → the decisions for its linears
    for (auto& b : m_blocks) {
      const auto i = static_cast<std::size_t>(b.global);
      const long long M = static_cast<long long>(m_max_batch) * c.stage_resolution(b.stage) * c.stage_resolution(b.stage);
      const int hidden = c.mlp_hidden(b.stage);
      const bool relu = b.act == Activation::ReLU;
      auto key_of = [&](const char* what, const Linear& l) {
        return std::string(what) + " stage " + std::to_string(b.stage) + " M=" + std::to_string(M) + " N=" + std::to_string(l.N) +
               " K=" + std::to_string(l.K) + (l.per_channel ? " per-channel" : " per-tensor");
      };
      auto reuse = [&](const std::string& key, std::initializer_list<Linear*> ls) {
        auto it = seen.find(key);
        if (it == seen.end()) return false;
        std::size_t j = 0;
        for (Linear* l : ls) l->own = it->second[j].own, l->tile = it->second[j].tile, ++j;
        return true;
      };
      // One linear whose alternatives compute the same output (qkv, proj; FC1/FC2 of GELU blocks):
      // `reference` runs the cuBLASLt path into a.D (a candidate unless the variant needs the
      // fused epilogue); gemm_s8 is kept only if its output matches it within one step.
      auto single = [&](const char* what, Linear& l, GemmS8Args a, const std::function<void()>& reference, bool lt_candidate,
                        std::size_t out_bytes) {
        const std::string key = key_of(what, l);
        if (!l.own || reuse(key, {&l})) return;
        std::string log;
        const auto [tile, own_ms] = fastest_tile(a, log);
        const float lt_ms = lt_candidate ? time_ms(reference) : std::numeric_limits<float>::infinity();
        a.tile = tile;
        reference();
        SWS_CUDA_CHECK(cudaMemcpyAsync(m_hacc, a.D, out_bytes, cudaMemcpyDeviceToDevice, st));
        gemm_s8(a, st);
        const long long bad = count_s8_mismatches(static_cast<const std::int8_t*>(a.D), false,
                                                  reinterpret_cast<const std::int8_t*>(m_hacc), out_bytes, 1, st);
        l.own = bad == 0 && own_ms <= lt_ms;
        l.tile = tile;
        seen[key] = {{l.own, l.tile}};
        m_choices.push_back(key + ": " + (l.own ? std::string("gemm_s8 ") + gemm_s8_tile_name(tile) : std::string("cuBLASLt")) +
                            (l.own || lt_candidate ? "" : " + fc1_bias_gelu_quant") + " (gemm_s8 " + log +
                            (lt_candidate ? "; cuBLASLt " + fmt_ms(lt_ms) : "; the variant wants the fused epilogue") + "; " +
                            verdict(bad, out_bytes) + ")");
      };
      auto lt_linear = [&](const Linear& l, int id, const void* A, void* D) {
        return [&l, id, A, D, st, this] { m_runner.run(id, l.w, A, D, st, l.per_channel ? l.alpha : nullptr); };
      };
      const std::size_t xb = static_cast<std::size_t>(M) * c.stage_dim(b.stage), hb = static_cast<std::size_t>(M) * hidden;
      single("qkv_gemm", b.qkv, own_args(b.qkv, M, m_a, S8AType::S8, m_qkv, S8Epilogue::S8), lt_linear(b.qkv, g.qkv[i], m_a, m_qkv),
             true, 3 * xb);
      single("proj_gemm", b.proj, own_args(b.proj, M, m_ctx, S8AType::S8, m_proj, S8Epilogue::S8),
             lt_linear(b.proj, g.proj[i], m_ctx, m_proj), true, xb);
      if (!relu) {
        if (m_fuse_gelu) {
          const auto fc1 = lt_linear(b.fc1, g.fc1[i], m_a, m_h);
          single("fc1_gemm (bias + GELU epilogue)", b.fc1, fused_gelu_args(b, M),
                 [&] {
                   fc1();
                   fc1_bias_gelu_quant(m_h, m_h2, M, hidden, b.fc1_b, b.s_fc1_out, 1.f / b.s_fc2_in, st);
                 },
                 false, hb);
        } else {
          single("fc1_gemm", b.fc1, own_args(b.fc1, M, m_a, S8AType::S8, m_h, S8Epilogue::S8), lt_linear(b.fc1, g.fc1[i], m_a, m_h),
                 true, hb);
        }
        single("fc2_gemm", b.fc2, own_args(b.fc2, M, m_h2, S8AType::S8, m_y, S8Epilogue::S8), lt_linear(b.fc2, g.fc2[i], m_h2, m_y),
               true, xb);
        continue;
      }
      // GELU-less: stages 9, 11 and 12 as each path runs them.
      const std::string key = key_of("fc1_gemm + fc2_gemm (GELU-less)", b.fc1);
      if (!(b.fc1.own && b.fc2.own)) {
        b.fc1.own = b.fc2.own = false;
        continue;
      }
      if (reuse(key, {&b.fc1, &b.fc2})) continue;
      std::string log1, log2;
      b.fc1.tile = fastest_tile(own_args(b.fc1, M, m_a, S8AType::S8, m_h, S8Epilogue::ReluU8), log1).first;
      b.fc2.tile = fastest_tile(own_args(b.fc2, M, m_h, S8AType::U8, m_y, S8Epilogue::S8), log2).first;
      const float own_ms = time_ms([&] {
        gemm_s8(own_args(b.fc1, M, m_a, S8AType::S8, m_h, S8Epilogue::ReluU8), st);
        gemm_s8(own_args(b.fc2, M, m_h, S8AType::U8, m_y, S8Epilogue::S8), st);
        fc2_bias_residual(m_y, m_x, M, c.stage_dim(b.stage), b.fc2_b, b.s_fc2_out, st);
      });
      const float lt_ms = time_ms([&] {
        m_runner.run(g.fc1[i], b.fc1.w, m_a, m_hacc, st);
        fc1_relu_quant(m_hacc, m_h, M, hidden, b.fc1.alpha, b.fc1.per_channel, st);
        m_runner.run(g.fc2[i], b.fc2.w, m_h, m_hacc, st);
        fc2_bias_residual_from_acc(m_hacc, b.fc2.rowsum, b.fc2.alpha, b.fc2.per_channel, m_x, M, c.stage_dim(b.stage), b.fc2_b,
                                   b.s_fc2_out, st);
      });
      // Verified on this shape: FC1 (own ReLU → u8 against cuBLASLt s32 + fc1_relu_quant's u8 − 128,
      // one step), and FC2's product (own s32 against cuBLASLt s32 on the same s8 input, exact).
      m_runner.run(g.fc1[i], b.fc1.w, m_a, m_hacc, st);
      fc1_relu_quant(m_hacc, m_h, M, hidden, b.fc1.alpha, b.fc1.per_channel, st);
      SWS_CUDA_CHECK(cudaMemcpyAsync(m_h2, m_h, hb, cudaMemcpyDeviceToDevice, st));
      gemm_s8(own_args(b.fc1, M, m_a, S8AType::S8, m_h, S8Epilogue::ReluU8), st);
      long long bad = count_s8_mismatches(m_h, true, m_h2, hb, 1, st);
      m_runner.run(g.fc2[i], b.fc2.w, m_h2, m_hacc, st);
      GemmS8Args f2 = own_args(b.fc2, M, m_h2, S8AType::S8, m_x, S8Epilogue::S32);
      f2.alpha = 1.f, f2.alpha_n = nullptr;
      gemm_s8(f2, st);
      bad += count_s32_mismatches(reinterpret_cast<const std::int32_t*>(m_x), m_hacc, xb, st);
      b.fc1.own = b.fc2.own = bad == 0 && own_ms <= lt_ms;
      seen[key] = {{b.fc1.own, b.fc1.tile}, {b.fc2.own, b.fc2.tile}};
      m_choices.push_back(key + ": " +
                       (b.fc1.own ? std::string("gemm_s8 with ReLU in FC1's epilogue, FC1 ") + gemm_s8_tile_name(b.fc1.tile) +
                                        ", FC2 " + gemm_s8_tile_name(b.fc2.tile)
                                  : std::string("cuBLASLt + fc1_relu_quant")) +
                       " (stages 9-12: gemm_s8 " + fmt_ms(own_ms) + ", cuBLASLt + ops " + fmt_ms(lt_ms) + "; FC1 tiles " + log1 +
                       "; FC2 tiles " + log2 + "; " + verdict(bad, hb + xb) + ")");
    }
  }

  // Y (M×N) = X (M×K) · Wᵀ, W (N×K) row-major: the TN GEMM (gemm.h). S8 output carries the
  // linear's multipliers (per tensor: the descriptor's alpha; per channel: the row vector).
  static GemmDesc linear_desc(const Linear& l, int M, GemmType a, GemmType d, const std::string& label) {
    GemmDesc gd;
    gd.m = l.N;
    gd.n = M;
    gd.k = l.K;
    gd.trans_a = true;
    gd.lda = l.K;
    gd.ldb = l.K;
    gd.ldd = l.N;
    gd.a = gd.b = a;
    gd.d = d;
    if (d == GemmType::S8) {
      gd.scale = l.per_channel ? GemmScale::PerRow : GemmScale::Scalar;
      gd.alpha = l.alpha_host.at(0);
    }
    gd.label = label;
    return gd;
  }

  BatchGemms& gemms(int batch) {
    auto it = m_gemms.find(batch);
    if (it != m_gemms.end()) return it->second;
    const auto& c = m_cfg;
    BatchGemms g;
    g.patch = add_patch_gemm(batch, false);
    g.head = add_head_gemm(batch, false);
    g.merge.assign(static_cast<std::size_t>(c.num_stages()), -1);
    for (int s = 1; s < c.num_stages(); ++s) {
      const int L = c.stage_resolution(s) * c.stage_resolution(s);
      g.merge[static_cast<std::size_t>(s)] = m_runner.add(linear_desc(m_stages[static_cast<std::size_t>(s)].merge, batch * L,
                                                                      GemmType::S8, GemmType::S32, "merge_gemm stage " + std::to_string(s)));
    }
    for (const auto& bw : m_blocks) {
      const int s = bw.stage;
      const int L = c.stage_resolution(s) * c.stage_resolution(s);
      const int M = batch * L;
      const std::string b = " block " + std::to_string(bw.global);
      const bool relu = bw.act == Activation::ReLU;
      g.qkv.push_back(m_runner.add(linear_desc(bw.qkv, M, GemmType::S8, GemmType::S8, "qkv_gemm" + b)));
      g.proj.push_back(m_runner.add(linear_desc(bw.proj, M, GemmType::S8, GemmType::S8, "proj_gemm" + b)));
      g.fc1.push_back(m_runner.add(linear_desc(bw.fc1, M, GemmType::S8, relu ? GemmType::S32 : GemmType::S8, "fc1_gemm" + b)));
      g.fc2.push_back(m_runner.add(linear_desc(bw.fc2, M, GemmType::S8, relu ? GemmType::S32 : GemmType::S8, "fc2_gemm" + b)));
      const Geo geo{batch, c.stage_resolution(s), c.stage_dim(s), c.stage_window(s), bw.shift, c.num_heads[s]};
      GemmDesc qk;  // scores (N × Np) row-major = column-major (Np keys × N queries)
      qk.m = geo.Np(), qk.n = geo.tokens(), qk.k = geo.d4(), qk.trans_a = true;
      qk.lda = geo.d4(), qk.ldb = geo.d4(), qk.ldd = geo.Np();
      qk.batch = static_cast<int>(geo.nwh());
      qk.stride_a = qk.stride_b = static_cast<long long>(geo.Np()) * geo.d4();
      qk.stride_d = static_cast<long long>(geo.tokens()) * geo.Np();
      qk.a = qk.b = GemmType::S8, qk.d = GemmType::S32, qk.label = "qk_gemm" + b;
      g.qk.push_back(m_runner.add(qk));
      GemmDesc av;  // ctx (N × d4) row-major = column-major (d4 × N); A = vᵀ (d4 × Np) row-major
      av.m = geo.d4(), av.n = geo.tokens(), av.k = geo.Np(), av.trans_a = true;
      av.lda = geo.Np(), av.ldb = geo.Np(), av.ldd = geo.d4();
      av.batch = static_cast<int>(geo.nwh());
      av.stride_a = static_cast<long long>(geo.d4()) * geo.Np();
      av.stride_b = static_cast<long long>(geo.tokens()) * geo.Np();
      av.stride_d = static_cast<long long>(geo.tokens()) * geo.d4();
      av.a = av.b = GemmType::S8, av.d = GemmType::S32, av.label = "av_gemm" + b;
      g.av.push_back(m_runner.add(av));
    }
    return m_gemms.emplace(batch, std::move(g)).first->second;
  }

  // Whether cuBLASLt offers ReLU inside an int8 GEMM on this device (the docs say it does not
  // for the regular order): recorded for `info --plan`, never silently relied on.
  void probe_relu_epilogue() {
    for (const auto& b : m_blocks)
      if (b.act == Activation::ReLU) {
        GemmDesc d = linear_desc(b.fc1, 64, GemmType::S8, GemmType::S8, "fc1_gemm ReLU epilogue probe");
        d.epilogue = GemmEpilogue::Relu;
        std::string why;
        m_relu_epilogue_note = m_runner.supported(d, &why)
                                   ? "cuBLASLt reports an int8 ReLU epilogue on this device, but its s8 output would halve "
                                     "the u8 resolution the model was calibrated for"
                                   : "cuBLASLt has no int8 ReLU epilogue here (" + why + ")";
        return;
      }
  }

  Variant m_variant = Variant::Int8Gelu;
  bool m_fused_attention = false;
  GemmPolicy m_policy = GemmPolicy::CuBlasLt;  // resolved (never Auto)
  std::vector<std::string> m_choices;  // Tune: per distinct shape, in plan order, the choice and its timings
  bool m_fuse_gelu = false;  // int8-gelu-fused: stage 10 inside the FC1 GEMM's epilogue
  std::string m_relu_epilogue_note;
  std::vector<StageW> m_stages;
  std::vector<Block> m_blocks;
  std::map<int, BatchGemms> m_gemms;
  // Device buffers sized for max_batch (shapes per stage; sizes the maximum over stages).
  float* m_x = nullptr;               // residual stream (B·L, C) token order
  std::int8_t* m_a = nullptr;         // GEMM inputs s8: ln1 (window order), ln2 (token order), merge (B·L, 4C)
  std::int8_t* m_qkv = nullptr;       // (B·nW·N, 3C) window order
  std::int8_t *m_q = nullptr, *m_k = nullptr;  // (B·nW·heads, Np, d4)
  std::int8_t* m_vt = nullptr;        // (B·nW·heads, d4, Np)
  std::int32_t* m_scores = nullptr;   // (B·nW·heads, N, Np)
  std::int8_t* m_probs = nullptr;     // (B·nW·heads, N, Np), u8 − 128
  std::int32_t* m_ctxacc = nullptr;   // (B·nW·heads, N, d4)
  std::int8_t* m_ctx = nullptr;       // (B·nW·N, C) window order
  std::int8_t* m_proj = nullptr;      // (B·nW·N, C) window order, before the bias
  std::int8_t* m_h = nullptr;         // (B·L, hidden): GELU blocks s8 before bias+GELU; ReLU blocks u8 − 128
  std::int8_t* m_h2 = nullptr;        // (B·L, hidden) s8 GELU output
  std::int32_t* m_hacc = nullptr;     // s32 accumulators: fc1/fc2 of ReLU blocks, merge
  std::int8_t* m_y = nullptr;         // (B·L, C) fc2 output before the bias (GELU blocks)
};

}  // namespace

std::unique_ptr<Plan> make_int8_plan(const Model& model, Variant variant, int max_batch, bool fused_attention, GemmPolicy gemm) {
  if (variant != Variant::Int8Gelu && variant != Variant::Int8Relu && variant != Variant::Int8GeluFused)
    throw Error("CUDA int8 plan: variant " + std::string(variant_name(variant)) + " is not an int8 variant");
  return std::make_unique<CudaInt8Plan>(model, variant, max_batch, fused_attention, gemm);
}

}  // namespace swinscope::SWS_CUDA_NS
