#pragma once
// A SWIN model in one canonical layout (timm's current tensor names), loaded from any of
// the layouts users bring: SwinScope/timm, the original Microsoft release, Hugging Face
// transformers and torchvision. Float tensors are held as FP32. An int8 model (a SwinScope
// file with swinscope.precision = "int8", written by `quantize`; names in engine/quantize.h)
// holds its quantized GEMM weights as int8 beside the float tensors, scales and amaxes.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/preprocess.h"

namespace swinscope {

enum class Activation { GELU, ReLU };
std::string_view activation_name(Activation a);

struct FloatTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
  std::int64_t numel() const;
};

struct Int8Tensor {
  std::vector<std::int64_t> shape;
  std::vector<std::int8_t> data;
  std::int64_t numel() const;
};

enum class SourceLayout { SwinScope, Timm, Microsoft, HuggingFace, Torchvision };
std::string_view layout_name(SourceLayout l);

struct LoadOptions {
  std::optional<int> img_size;  // overrides metadata / config.json (for plain checkpoints)
};

struct Model {
  SwinConfig config;
  std::vector<Activation> activations;  // one per block, global block order
  PreprocessConfig preprocess;
  std::vector<std::string> classes;     // num_classes names
  std::string precision = "fp32";                  // "fp32" or "int8"
  std::map<std::string, FloatTensor> tensors;      // canonical name → FP32 values
  std::map<std::string, Int8Tensor> int8_tensors;  // int8 models: quantized GEMM weights (I8 in the file)
  std::string calibration;                         // int8 models: the swinscope.calibration JSON
  std::map<std::string, std::string> metadata;     // the file's __metadata__ as read
  std::filesystem::path path;
  std::uint64_t file_size = 0;
  SourceLayout layout = SourceLayout::SwinScope;
  std::vector<std::string> inferred;  // "window_size = 7 (from relative position tables)", ...
  std::vector<std::string> ignored;   // tensors in the file that the model does not use

  const FloatTensor& tensor(const std::string& name) const;  // throws Error naming it
  const FloatTensor* find(const std::string& name) const;
  const Int8Tensor& int8_tensor(const std::string& name) const;  // throws Error naming it
  const Int8Tensor* find_int8(const std::string& name) const;
  bool is_int8() const { return precision == "int8"; }
  bool has_fc1_bias(int global_block) const;
  // "gelu", "relu", or "mixed (gelu ×a, relu ×b)".
  std::string activation_summary() const;
};

// Canonical names for stage s, block b (in-stage index).
std::string block_prefix(int stage, int block);

// Loads and validates; throws swinscope::Error naming the file, the tensor and the
// expected vs found shape.
Model load_model(const std::filesystem::path& path, const LoadOptions& opts = {});

// Writes a SwinScope model (canonical names, full metadata; int8 models with their I8
// tensors and calibration record); temp file + rename. load_model(save_model(m)) gives m
// back bit for bit.
void save_model(const Model& model, const std::filesystem::path& path);

// Random weights with timm's initialisation (trunc-normal 0.02 linears, zero biases,
// unit LayerNorms), for latency work on the real sizes.
Model init_random_model(const SwinConfig& config, Activation activation, std::uint64_t seed);

// Checks that every tensor the config needs is present with the right shape (for an int8
// model the GEMM weights may be int8; engine/quantize.h validate_int8_model checks the rest).
void validate_model_tensors(const Model& model);

}  // namespace swinscope
