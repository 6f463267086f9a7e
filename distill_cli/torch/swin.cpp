#include "distill_cli/torch/swin.h"

#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "engine/error.h"

namespace swinscope::train {

namespace {

torch::nn::Linear linear(int in, int out, bool bias = true) {
  torch::nn::Linear l(torch::nn::LinearOptions(in, out).bias(bias));
  torch::NoGradGuard ng;
  l->weight.normal_(0.0, 0.02);  // timm: trunc_normal_(std=.02), cut at ±2 (100σ): the same
  if (bias) l->bias.zero_();
  return l;
}

torch::nn::LayerNorm layer_norm(int dim, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

// C[i] = A[i] · op(B[i]) for a batch of small row-major matrices, op = transpose or not.
// Window attention is thousands of 49×16 · 16×49 products per step; libtorch's CPU bmm
// (without MKL, as Debian builds it) does each one as select + mm through the dispatcher.
// One dnnl_sgemm per matrix instead: the attention products with their softmax, forward
// and backward, run 1.3× faster (bench/README.md, "Training throughput").
torch::Tensor small_bmm(const torch::Tensor& a, const torch::Tensor& b, bool trans_a, bool trans_b) {
  const auto batch = a.size(0);
  const auto M = trans_a ? a.size(2) : a.size(1), K = trans_a ? a.size(1) : a.size(2);
  const auto N = trans_b ? b.size(1) : b.size(2);
  auto c = torch::empty({batch, M, N}, a.options());
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  float* pc = c.data_ptr<float>();
  const auto sa = a.size(1) * a.size(2), sb = b.size(1) * b.size(2);
  for (int64_t i = 0; i < batch; ++i) {
    const auto status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, 1.f, pa + i * sa, a.size(2),
                                   pb + i * sb, b.size(2), 0.f, pc + i * M * N, N);
    if (status != dnnl_success) throw Error("dnnl_sgemm failed in window attention (status " + std::to_string(status) + ")");
  }
  return c;
}

// A · B (or A · Bᵀ) over the leading batch dimension with its gradients, for contiguous
// float CPU tensors (batch, rows, cols).
struct WindowBmm : torch::autograd::Function<WindowBmm> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b,
                               bool trans_b) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["trans_b"] = trans_b;
    return small_bmm(a, b, false, trans_b);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& a = saved[0];
    const auto& b = saved[1];
    const auto g = grads[0].contiguous();
    if (ctx->saved_data["trans_b"].toBool())  // C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A
      return {small_bmm(g, b, false, false), small_bmm(g, a, true, false), torch::Tensor()};
    return {small_bmm(g, b, false, true), small_bmm(a, g, true, false), torch::Tensor()};  // C = A·B
  }
};

// (B, H, W, C) → (B * nW, w*w, C), windows in row-major order.
torch::Tensor window_partition(const torch::Tensor& x, int w) {
  const auto B = x.size(0), H = x.size(1), W = x.size(2), C = x.size(3);
  return x.view({B, H / w, w, W / w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, w * w, C});
}

torch::Tensor window_reverse(const torch::Tensor& windows, int w, int64_t H, int64_t W) {
  const auto C = windows.size(2);
  const auto B = windows.size(0) / ((H / w) * (W / w));
  return windows.view({B, H / w, W / w, w, w, C}).permute({0, 1, 3, 2, 4, 5}).reshape({B, H, W, C});
}

}  // namespace

torch::Tensor attention_matmul(const torch::Tensor& a, const torch::Tensor& b, bool trans_b) {
  if (!a.device().is_cpu() || a.scalar_type() != torch::kFloat32)
    return torch::matmul(a, trans_b ? b.transpose(-2, -1) : b);
  const auto B = a.size(0), h = a.size(1);
  auto a3 = a.contiguous().view({B * h, a.size(2), a.size(3)});
  auto b3 = b.contiguous().view({B * h, b.size(2), b.size(3)});
  auto c = WindowBmm::apply(a3, b3, trans_b);
  return c.view({B, h, c.size(1), c.size(2)});
}

MlpImpl::MlpImpl(int dim, int hidden) {
  fc1 = register_module("fc1", linear(dim, hidden));
  fc2 = register_module("fc2", linear(hidden, dim));
}

WindowAttentionImpl::WindowAttentionImpl(int dim_, int heads_, int window_)
    : dim(dim_), heads(heads_), window(window_), scale(1.0 / std::sqrt(static_cast<double>(dim_ / heads_))) {
  qkv = register_module("qkv", linear(dim, 3 * dim));
  proj = register_module("proj", linear(dim, dim));
  relative_position_bias_table =
      register_parameter("relative_position_bias_table", torch::empty({(2 * window - 1) * (2 * window - 1), heads}));
  {
    torch::NoGradGuard ng;
    relative_position_bias_table.normal_(0.0, 0.02);
  }
  // index[i, j] for tokens i=(yi, xi), j=(yj, xj): (yi-yj+w-1)*(2w-1) + (xi-xj+w-1).
  const int N = window * window;
  auto index = torch::empty({N * N}, torch::kLong);
  auto* p = index.data_ptr<int64_t>();
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j)
      p[i * N + j] = static_cast<int64_t>((i / window - j / window + window - 1) * (2 * window - 1) +
                                          (i % window - j % window + window - 1));
  relative_position_index = register_buffer("relative_position_index", index);
}

torch::Tensor WindowAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  const auto Bw = x.size(0), N = x.size(1), C = x.size(2);
  auto qkv_t = qkv(x).reshape({Bw, N, 3, heads, C / heads}).permute({2, 0, 3, 1, 4});
  auto q = qkv_t[0], k = qkv_t[1], v = qkv_t[2];
  auto attn = attention_matmul(q, k, true) * scale;
  auto bias = relative_position_bias_table.index_select(0, relative_position_index).view({N, N, heads}).permute({2, 0, 1});
  attn = attn + bias.unsqueeze(0);
  if (mask.defined()) {
    const auto nW = mask.size(0);
    attn = (attn.view({Bw / nW, nW, heads, N, N}) + mask.unsqueeze(1).unsqueeze(0)).view({Bw, heads, N, N});
  }
  attn = torch::softmax(attn, -1);
  return proj(attention_matmul(attn, v, false).transpose(1, 2).reshape({Bw, N, C}));
}

SwinBlockImpl::SwinBlockImpl(int dim, int heads, int resolution_, int window_, int shift_, double mlp_ratio, double eps)
    : resolution(resolution_), window(window_), shift(shift_) {
  norm1 = register_module("norm1", layer_norm(dim, eps));
  attn = register_module("attn", std::make_shared<WindowAttentionImpl>(dim, heads, window));
  norm2 = register_module("norm2", layer_norm(dim, eps));
  mlp = register_module("mlp", std::make_shared<MlpImpl>(dim, static_cast<int>(dim * mlp_ratio)));
  if (shift > 0) {
    // Regions of the shifted map, labelled as the reference implementation does; tokens of
    // one window from different regions do not attend to each other.
    auto img = torch::zeros({1, resolution, resolution, 1});
    const int cuts[4] = {0, resolution - window, resolution - shift, resolution};
    int label = 0;
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b, ++label)
        img.index_put_({0, torch::indexing::Slice(cuts[a], cuts[a + 1]), torch::indexing::Slice(cuts[b], cuts[b + 1]), 0},
                       static_cast<float>(label));
    auto mw = window_partition(img, window).squeeze(-1);  // (nW, N)
    auto diff = mw.unsqueeze(1) - mw.unsqueeze(2);
    attn_mask = register_buffer("attn_mask", torch::where(diff != 0, torch::full_like(diff, -100.0f), torch::zeros_like(diff)));
  }
}

void SwinBlockImpl::set_fc1_bias(bool present) {
  fc1_bias = present;
  torch::NoGradGuard ng;
  if (!present) mlp->fc1->bias.zero_();
  mlp->fc1->bias.set_requires_grad(present);
}

torch::Tensor SwinBlockImpl::forward(const torch::Tensor& x) {
  const auto H = x.size(1), W = x.size(2);
  auto h = norm1(x);
  if (shift > 0) h = torch::roll(h, {-shift, -shift}, {1, 2});
  h = attn->forward(window_partition(h, window), attn_mask);
  h = window_reverse(h, window, H, W);
  if (shift > 0) h = torch::roll(h, {shift, shift}, {1, 2});
  auto y = x + h;
  auto m = fc1_bias ? mlp->fc1(norm2(y)) : torch::nn::functional::linear(norm2(y), mlp->fc1->weight);
  m = activation == Activation::ReLU ? torch::relu(m) : torch::gelu(m);  // exact (erf) GELU, as timm
  return y + mlp->fc2(m);
}

PatchMergingImpl::PatchMergingImpl(int dim, double eps) {
  norm = register_module("norm", layer_norm(4 * dim, eps));
  reduction = register_module("reduction", linear(4 * dim, 2 * dim, false));
}

torch::Tensor PatchMergingImpl::forward(const torch::Tensor& x) {
  using torch::indexing::None;
  using torch::indexing::Slice;
  // x0 = (2i, 2j), x1 = (2i+1, 2j), x2 = (2i, 2j+1), x3 = (2i+1, 2j+1)
  auto x0 = x.index({Slice(), Slice(0, None, 2), Slice(0, None, 2)});
  auto x1 = x.index({Slice(), Slice(1, None, 2), Slice(0, None, 2)});
  auto x2 = x.index({Slice(), Slice(0, None, 2), Slice(1, None, 2)});
  auto x3 = x.index({Slice(), Slice(1, None, 2), Slice(1, None, 2)});
  return reduction(norm(torch::cat({x0, x1, x2, x3}, -1)));
}

SwinImpl::SwinImpl(const SwinConfig& c) : m_config(c) {
  c.validate();
  m_patch_embed = register_module("patch_embed", std::make_shared<PatchEmbedImpl>());
  m_patch_embed->proj = m_patch_embed->register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_chans, c.embed_dim, c.patch_size).stride(c.patch_size)));
  m_patch_embed->norm = m_patch_embed->register_module("norm", layer_norm(c.embed_dim, c.layer_norm_eps));
  m_layers = register_module("layers", torch::nn::ModuleList());
  for (int s = 0; s < c.num_stages(); ++s) {
    auto stage = std::make_shared<SwinStageImpl>();
    if (s > 0)
      stage->downsample = stage->register_module("downsample", std::make_shared<PatchMergingImpl>(c.stage_dim(s - 1), c.layer_norm_eps));
    stage->blocks = stage->register_module("blocks", torch::nn::ModuleList());
    for (int b = 0; b < c.depths[static_cast<std::size_t>(s)]; ++b) {
      auto blk = std::make_shared<SwinBlockImpl>(c.stage_dim(s), c.num_heads[static_cast<std::size_t>(s)], c.stage_resolution(s),
                                                 c.stage_window(s), c.stage_shift(s, b), c.mlp_ratio, c.layer_norm_eps);
      stage->blocks->push_back(blk);
      m_blocks.push_back(blk);
    }
    m_layers->push_back(stage);
    m_stages.push_back(stage);
  }
  m_norm = register_module("norm", layer_norm(c.num_features(), c.layer_norm_eps));
  m_head = register_module("head", std::make_shared<HeadImpl>());
  m_head->fc = m_head->register_module("fc", linear(c.num_features(), c.num_classes));
}

torch::Tensor SwinImpl::forward(const torch::Tensor& input) {
  auto x = m_patch_embed->norm(m_patch_embed->proj(input).permute({0, 2, 3, 1}));
  for (std::size_t s = 0; s < m_stages.size(); ++s) {
    if (m_stages[s]->downsample) x = m_stages[s]->downsample->forward(x);
    for (const auto& m : *m_stages[s]->blocks) x = m->as<SwinBlockImpl>()->forward(x);
  }
  return m_head->fc(m_norm(x).mean({1, 2}));
}

std::vector<Activation> SwinImpl::activations() const {
  std::vector<Activation> a;
  for (const auto& b : m_blocks) a.push_back(b->activation);
  return a;
}

torch::Tensor to_tensor(const FloatTensor& t) {
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}

void SwinImpl::load_from(const Model& model) {
  if (model.is_int8())
    throw Error(model.path.string() + ": an int8 model cannot be trained; give the FP32 model it was quantized from");
  if (model.activations.size() != m_blocks.size())
    throw Error(model.path.string() + ": " + std::to_string(model.activations.size()) + " activations for " +
                std::to_string(m_blocks.size()) + " blocks");
  for (std::size_t g = 0; g < m_blocks.size(); ++g) {
    m_blocks[g]->activation = model.activations[g];
    m_blocks[g]->set_fc1_bias(model.has_fc1_bias(static_cast<int>(g)));
  }
  torch::NoGradGuard ng;
  for (auto& p : named_parameters(true)) {
    const FloatTensor* t = model.find(p.key());
    if (!t) {
      if (p.key().find("mlp.fc1.bias") != std::string::npos) continue;  // absent: zero and frozen
      throw Error(model.path.string() + ": tensor '" + p.key() + "' is missing");
    }
    if (t->shape != p.value().sizes().vec())
      throw Error(model.path.string() + ": tensor '" + p.key() + "' has the wrong shape for this config");
    p.value().copy_(to_tensor(*t));
  }
}

Model SwinImpl::to_model(const Model& meta) const {
  Model m;
  m.config = m_config;
  m.activations = activations();
  m.preprocess = meta.preprocess;
  m.classes = meta.classes;
  m.precision = "fp32";
  for (const auto& p : named_parameters(true)) {
    const auto& key = p.key();
    const auto dot = key.find(".mlp.fc1.bias");
    if (dot != std::string::npos) {
      // layers.S.blocks.B.mlp.fc1.bias → global block index
      int global = 0;
      const int s = std::stoi(key.substr(7));
      const int b = std::stoi(key.substr(key.find("blocks.") + 7));
      for (int i = 0; i < s; ++i) global += m_config.depths[static_cast<std::size_t>(i)];
      if (!m_blocks[static_cast<std::size_t>(global + b)]->fc1_bias) continue;
    }
    auto t = p.value().detach().to(torch::kCPU, torch::kFloat32).contiguous();
    FloatTensor ft;
    ft.shape = t.sizes().vec();
    ft.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    m.tensors[key] = std::move(ft);
  }
  return m;
}

std::vector<torch::Tensor> SwinImpl::trainable_parameters() {
  std::vector<torch::Tensor> out;
  for (auto& p : parameters(true))
    if (p.requires_grad()) out.push_back(p);
  return out;
}

Swin swin_from_model(const Model& model) {
  auto s = std::make_shared<SwinImpl>(model.config);
  s->load_from(model);
  return s;
}

}  // namespace swinscope::train
