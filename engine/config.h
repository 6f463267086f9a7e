#pragma once
// SWIN architecture hyper-parameters (Liu et al. 2021), as timm names them.
#include <string>
#include <vector>

namespace swinscope {

struct SwinConfig {
  std::string name = "custom";
  int img_size = 224;
  int patch_size = 4;
  int in_chans = 3;
  int num_classes = 1000;
  int embed_dim = 96;
  std::vector<int> depths{2, 2, 6, 2};
  std::vector<int> num_heads{3, 6, 12, 24};
  int window_size = 7;
  double mlp_ratio = 4.0;
  double layer_norm_eps = 1e-5;

  // Derived geometry, per stage s: resolution (square), channels, and the window
  // actually used — clamped to the resolution as SWIN does, in which case no shift.
  int num_stages() const { return static_cast<int>(depths.size()); }
  int stage_resolution(int s) const;
  int stage_dim(int s) const;
  int stage_window(int s) const;
  int stage_shift(int s, int block_in_stage) const;
  int mlp_hidden(int s) const;
  int num_features() const { return stage_dim(num_stages() - 1); }
  int total_blocks() const;
  long long parameter_count() const;

  // Throws swinscope::Error with the field and reason when the config is unusable
  // (non-divisible resolution, heads not dividing dims, ...).
  void validate() const;

  std::string to_json() const;
  static SwinConfig from_json(const std::string& json);  // throws swinscope::Error
  // swin_tiny | swin_small | swin_base | swin_large (224, patch 4, window 7).
  static SwinConfig preset(const std::string& name);      // throws on unknown name
  static std::vector<std::string> preset_names();
};

}  // namespace swinscope
