#pragma once
// A trainable SWIN in libtorch whose parameter names are timm's (the engine's canonical
// names), so a checkpoint moves between libtorch and the engine by name. Any SwinConfig;
// GELU or ReLU per block; FC1 bias present or absent (zeroed and frozen) per block. The
// forward is the engine's FP32 forward op for op (engine/cpu/fp32_ops.h): same window
// partition, shift mask (-100 across regions), relative position bias, qkv packing and
// patch-merging order.
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "engine/model.h"

namespace swinscope::train {

struct MlpImpl : torch::nn::Module {
  MlpImpl(int dim, int hidden);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

struct WindowAttentionImpl : torch::nn::Module {
  WindowAttentionImpl(int dim, int heads, int window);
  // x: (windows, N, C); mask: (nW, N, N) or undefined.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask);
  int dim, heads, window;
  double scale;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::Tensor relative_position_bias_table;  // ((2w-1)^2, heads), a parameter
  torch::Tensor relative_position_index;       // (N*N) int64, a buffer (not saved)
};

struct SwinBlockImpl : torch::nn::Module {
  SwinBlockImpl(int dim, int heads, int resolution, int window, int shift, double mlp_ratio, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // (B, H, W, C) → same
  void set_activation(Activation a) { activation = a; }
  // Zeroes FC1's bias and freezes it (absent in the saved model); or gives it back.
  void set_fc1_bias(bool present);
  int resolution, window, shift;
  Activation activation = Activation::GELU;
  bool fc1_bias = true;
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  std::shared_ptr<WindowAttentionImpl> attn;
  std::shared_ptr<MlpImpl> mlp;
  torch::Tensor attn_mask;  // (nW, N, N) for shifted blocks
};

struct PatchMergingImpl : torch::nn::Module {
  PatchMergingImpl(int dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // (B, H, W, C) → (B, H/2, W/2, 2C)
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear reduction{nullptr};
};

struct SwinStageImpl : torch::nn::Module {
  std::shared_ptr<PatchMergingImpl> downsample;  // stages after the first
  torch::nn::ModuleList blocks;
};

struct PatchEmbedImpl : torch::nn::Module {
  torch::nn::Conv2d proj{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};

struct HeadImpl : torch::nn::Module {
  torch::nn::Linear fc{nullptr};
};

class SwinImpl : public torch::nn::Module {
 public:
  // timm's initialisation: trunc-normal(0.02) linear weights and bias tables, zero biases,
  // unit LayerNorms. Every block GELU with FC1 bias unless told otherwise.
  explicit SwinImpl(const SwinConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // (B, in_chans, img, img) → logits

  const SwinConfig& config() const { return m_config; }
  int num_blocks() const { return static_cast<int>(m_blocks.size()); }
  SwinBlockImpl& block(int global) { return *m_blocks.at(static_cast<std::size_t>(global)); }
  std::vector<Activation> activations() const;

  // Weights by canonical name from an FP32 engine model (activations and FC1 biases
  // follow it); throws swinscope::Error naming a tensor that is missing or misshapen.
  void load_from(const Model& model);
  // An FP32 engine model with these weights; config, preprocessing and classes from
  // `meta`. Absent FC1 biases are left out.
  Model to_model(const Model& meta) const;

  // Parameters that train: everything but frozen FC1 biases.
  std::vector<torch::Tensor> trainable_parameters();

 private:
  SwinConfig m_config;
  std::shared_ptr<PatchEmbedImpl> m_patch_embed;
  torch::nn::ModuleList m_layers;
  torch::nn::LayerNorm m_norm{nullptr};
  std::shared_ptr<HeadImpl> m_head;
  std::vector<std::shared_ptr<SwinBlockImpl>> m_blocks;
  std::vector<std::shared_ptr<SwinStageImpl>> m_stages;
};

using Swin = std::shared_ptr<SwinImpl>;

// A model built for `model`'s config with its weights.
Swin swin_from_model(const Model& model);

// The two products of window attention, (B, h, M, K) · (B, h, K, N) → (B, h, M, N), or
// with trans_b a · bᵀ for b (B, h, N, K). Float CPU tensors go through one oneDNN sgemm
// per matrix (libtorch's CPU bmm is slow on thousands of 49×49 products) with its own
// backward; anything else through torch::matmul.
torch::Tensor attention_matmul(const torch::Tensor& a, const torch::Tensor& b, bool trans_b);

// Weights as a float tensor on CPU (a copy).
torch::Tensor to_tensor(const FloatTensor& t);

}  // namespace swinscope::train
