#include "engine/ivit_params.h"

#include <algorithm>
#include <cmath>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cpu/int8_plan.h"
#include "engine/error.h"
#include "engine/quantize.h"

namespace swinscope::ivit {

void Linear::bind(float s_in, float s_out, const float* b) {
  bias.assign(static_cast<std::size_t>(N), 0);
  out.resize(static_cast<std::size_t>(N));
  for (int n = 0; n < N; ++n) {
    const double acc_scale = static_cast<double>(s_in) * sw(n);
    if (b) bias[static_cast<std::size_t>(n)] = std::llround(b[n] / acc_scale);
    out[static_cast<std::size_t>(n)] = dyadic(acc_scale / s_out);
  }
}

std::vector<std::int64_t> Linear::column_sums() const {
  std::vector<std::int64_t> s(static_cast<std::size_t>(N), 0);
  for (int n = 0; n < N; ++n)
    for (int k = 0; k < K; ++k) s[static_cast<std::size_t>(n)] += w[static_cast<std::size_t>(n) * K + k];
  return s;
}

void LayerNorm::bind(const float* g, const float* b, int channels, float s_out) {
  C = channels;
  gamma.resize(static_cast<std::size_t>(C));
  beta.resize(static_cast<std::size_t>(C));
  const double s_ln = std::sqrt(static_cast<double>(C)) / std::ldexp(1.0, 30);
  for (int c = 0; c < C; ++c) {
    gamma[static_cast<std::size_t>(c)] = dyadic(s_ln * g[c] / s_out);
    beta[static_cast<std::size_t>(c)] = std::llround(b[c] / s_out);
  }
}

namespace {

Linear from_file(const Model& m, const std::string& l) {
  const auto& w = m.int8_tensor(l + ".weight");
  Linear r;
  r.N = static_cast<int>(w.shape[0]);
  r.K = static_cast<int>(w.shape[1]);
  r.w = w.data;
  r.w_scale = m.tensor(weight_scale_name(l)).data;
  return r;
}

// The float layers the int8 file keeps (patch embedding, head), quantized per output channel
// as quantize does it (quantize_weight).
Linear from_float(const FloatTensor& w) {
  Int8Tensor q;
  FloatTensor scale;
  quantize_weight(w, WeightQuant::PerChannel, q, scale);
  Linear r;
  r.N = static_cast<int>(w.shape.at(0));
  r.K = static_cast<int>(w.numel() / w.shape.at(0));
  r.w = std::move(q.data);
  r.w_scale = std::move(scale.data);
  return r;
}

}  // namespace

Params build_params(const Model& model) {
  cpu::check_int8_variant(model, Variant::Int8Ivit);
  validate_model_tensors(model);
  validate_int8_model(model);
  if (const std::string n = missing_ivit_range(model); !n.empty())
    throw Error(model.path.string() + ": variant int8-ivit needs the calibrated range '" + n +
                "', which this file lacks (it was quantized before int8-ivit existed): add the ranges with "
                "swinscope-cli quantize --model " + model.path.string() + " --calib DIR --out M2.int8.safetensors, or "
                "quantize the float model again");
  Params P;
  P.cfg = model.config;
  const auto& c = P.cfg;
  auto t = [&](const std::string& n) { return model.tensor(n).data.data(); };
  auto amax = [&](const std::string& n) { return model.tensor(n).data.at(0); };
  auto s8 = [&](const std::string& n) { return amax(n) / kAct; };
  auto s16 = [&](const std::string& n) { return amax(n) / kRes; };
  // Patch embedding: the image at s_img, conv + bias at s_pe (16 bits), I-LayerNorm into the
  // first block's residual scale.
  P.s_img = s8("patch_embed.proj.input_amax");
  P.patch = from_float(model.tensor("patch_embed.proj.weight"));
  P.patch.bind(P.s_img, s16("patch_embed.norm.input_amax"), t("patch_embed.proj.bias"));
  P.s_patch_out = s16(block_prefix(0, 0) + "norm1.input_amax");
  P.patch_ln.bind(t("patch_embed.norm.weight"), t("patch_embed.norm.bias"), c.embed_dim, P.s_patch_out);
  // Blocks: each residual add lands at the scale of the next LayerNorm's input.
  std::vector<std::string> next_residual;  // per global block: the amax of the residual it writes
  for (int s = 0; s < c.num_stages(); ++s)
    for (int b = 0; b < c.depths[s]; ++b) {
      if (b + 1 < c.depths[s]) next_residual.push_back(block_prefix(s, b + 1) + "norm1.input_amax");
      else if (s + 1 < c.num_stages()) next_residual.push_back("layers." + std::to_string(s + 1) + ".downsample.norm.input_amax");
      else next_residual.push_back("norm.input_amax");
    }
  P.stages.resize(static_cast<std::size_t>(c.num_stages()));
  int global = 0;
  for (int s = 0; s < c.num_stages(); ++s) {
    const int C = c.stage_dim(s), H = c.stage_resolution(s), w = c.stage_window(s), heads = c.num_heads[s];
    const int N = w * w;
    auto& st = P.stages[static_cast<std::size_t>(s)];
    if (s > 0) {
      const std::string d = "layers." + std::to_string(s) + ".downsample.";
      const float s_in = s8(input_amax_name(d + "reduction"));
      st.ln.bind(t(d + "norm.weight"), t(d + "norm.bias"), 4 * c.stage_dim(s - 1), s_in);
      st.merge = from_file(model, d + "reduction");
      st.s_in = s_in;
      st.s_out = s16(block_prefix(s, 0) + "norm1.input_amax");
      st.merge.bind(s_in, st.s_out, nullptr);
    }
    for (int b = 0; b < c.depths[s]; ++b)
      if (c.stage_shift(s, b) > 0 && st.mask.empty())
        st.mask = cpu::int8::shift_mask(cpu::WindowGeometry{1, H, C, w, c.stage_shift(s, b), heads});
    for (int b = 0; b < c.depths[s]; ++b, ++global) {
      const std::string p = block_prefix(s, b);
      Block bw;
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
      bw.s_x = s_x, bw.s_out = s_out, bw.s_qkv_in = s_qkv_in, bw.s_ctx = s_ctx;
      bw.s_fc1_in = s_fc1_in, bw.s_fc1_out = s_fc1_out, bw.s_fc2_in = s_fc2_in;
      bw.ln1.bind(t(p + "norm1.weight"), t(p + "norm1.bias"), C, s_qkv_in);
      bw.ln2.bind(t(p + "norm2.weight"), t(p + "norm2.bias"), C, s_fc1_in);
      bw.qkv = from_file(model, p + "attn.qkv");
      bw.qkv.bind(s_qkv_in, 1.f, t(p + "attn.qkv.bias"));
      for (int n = 0; n < 3 * C; ++n) {  // q, k, v each at its own scale
        const float so = n < C ? bw.s_q : (n < 2 * C ? bw.s_k : bw.s_v);
        bw.qkv.out[static_cast<std::size_t>(n)] = dyadic(static_cast<double>(s_qkv_in) * bw.qkv.sw(n) / so);
      }
      bw.proj = from_file(model, p + "attn.proj");
      bw.proj.bind(s_ctx, s_mid, t(p + "attn.proj.bias"));
      bw.fc1 = from_file(model, p + "mlp.fc1");
      const auto* fb = model.find(p + "mlp.fc1.bias");
      bw.fc1.bind(s_fc1_in, s_fc1_out, fb ? fb->data.data() : nullptr);
      bw.fc2 = from_file(model, p + "mlp.fc2");
      bw.fc2.bind(s_fc2_in, s_out, t(p + "mlp.fc2.bias"));
      bw.res_attn = dyadic(static_cast<double>(s_x) / s_mid);
      bw.res_mlp = dyadic(static_cast<double>(s_mid) / s_out);
      bw.att = dyadic(static_cast<double>(bw.s_q) * bw.s_k / std::sqrt(static_cast<double>(C / heads)) / s_att);
      bw.x0 = exp_x0(s_att);
      bw.masked = -127 - static_cast<std::int32_t>(std::min(1e6, std::ceil(100.0 / s_att)));
      bw.av = dyadic(static_cast<double>(bw.s_v) / 256.0 / s_ctx);  // probabilities at 1/256
      bw.gelu_x0 = exp_x0(kGeluSigmoidScale * s_fc1_out);
      bw.gelu_out = dyadic(static_cast<double>(s_fc1_out) / 256.0 / s_fc2_in);  // x·σ at s/256
      std::vector<float> dense(static_cast<std::size_t>(heads) * N * N);
      cpu::expand_relative_position_bias(t(p + "attn.relative_position_bias_table"), dense.data(), w, heads);
      bw.rel_bias.resize(dense.size());
      for (std::size_t i = 0; i < dense.size(); ++i) bw.rel_bias[i] = static_cast<std::int32_t>(std::lround(dense[i] / s_att));
      P.blocks.push_back(std::move(bw));
    }
  }
  const float s_norm = s8("norm.output_amax");
  P.norm.bind(t("norm.weight"), t("norm.bias"), c.num_features(), s_norm);
  P.head = from_float(model.tensor("head.fc.weight"));
  P.head.bind(s_norm, 1.f, t("head.fc.bias"));
  P.head_scale.resize(static_cast<std::size_t>(c.num_classes));
  for (int n = 0; n < c.num_classes; ++n) P.head_scale[static_cast<std::size_t>(n)] = s_norm * P.head.sw(n);
  return P;
}

}  // namespace swinscope::ivit
