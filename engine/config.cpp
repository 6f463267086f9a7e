#include "engine/config.h"

#include <nlohmann/json.hpp>

#include "engine/error.h"

namespace swinscope {

int SwinConfig::stage_resolution(int s) const { return (img_size / patch_size) >> s; }

int SwinConfig::stage_dim(int s) const { return embed_dim << s; }

int SwinConfig::stage_window(int s) const {
  // timm / the reference implementation: a window larger than the feature map is
  // clamped to it, and the shift is dropped because one window then covers everything.
  const int r = stage_resolution(s);
  return r <= window_size ? r : window_size;
}

int SwinConfig::stage_shift(int s, int block_in_stage) const {
  if (stage_resolution(s) <= window_size) return 0;
  return (block_in_stage % 2 == 1) ? window_size / 2 : 0;
}

int SwinConfig::mlp_hidden(int s) const { return static_cast<int>(stage_dim(s) * mlp_ratio); }

int SwinConfig::total_blocks() const {
  int n = 0;
  for (int d : depths) n += d;
  return n;
}

long long SwinConfig::parameter_count() const {
  long long n = 0;
  const long long E = embed_dim;
  n += E * in_chans * patch_size * patch_size + E + 2 * E;  // patch conv + LayerNorm
  for (int s = 0; s < num_stages(); ++s) {
    const long long C = stage_dim(s);
    if (s > 0) {
      const long long Cp = stage_dim(s - 1);
      n += 2 * 4 * Cp + 4 * Cp * 2 * Cp;  // merge LayerNorm + reduction (no bias)
    }
    const long long w = stage_window(s);
    const long long hid = mlp_hidden(s);
    const long long per_block = 2 * C + (3 * C * C + 3 * C) + (2 * w - 1) * (2 * w - 1) * num_heads[s] +
                                (C * C + C) + 2 * C + (hid * C + hid) + (C * hid + C);
    n += per_block * depths[s];
  }
  const long long F = num_features();
  n += 2 * F + F * num_classes + num_classes;
  return n;
}

void SwinConfig::validate() const {
  auto fail = [&](const std::string& what) {
    throw Error("SWIN config '" + name + "': " + what);
  };
  if (img_size <= 0 || patch_size <= 0) fail("img_size and patch_size must be positive");
  if (img_size % patch_size != 0)
    fail("img_size " + std::to_string(img_size) + " is not a multiple of patch_size " + std::to_string(patch_size));
  if (in_chans != 1 && in_chans != 3) fail("in_chans must be 1 or 3, found " + std::to_string(in_chans));
  if (num_classes <= 0) fail("num_classes must be positive");
  if (embed_dim <= 0) fail("embed_dim must be positive");
  if (depths.empty()) fail("depths is empty");
  if (depths.size() != num_heads.size())
    fail("depths has " + std::to_string(depths.size()) + " stages but num_heads has " +
         std::to_string(num_heads.size()));
  if (window_size <= 0) fail("window_size must be positive");
  if (mlp_ratio <= 0) fail("mlp_ratio must be positive");
  for (int s = 0; s < num_stages(); ++s) {
    const std::string st = "stage " + std::to_string(s) + ": ";
    if (depths[s] <= 0) fail(st + "depth must be positive");
    if (num_heads[s] <= 0 || stage_dim(s) % num_heads[s] != 0)
      fail(st + "dim " + std::to_string(stage_dim(s)) + " is not divisible by num_heads " +
           std::to_string(num_heads[s]));
    const int r = stage_resolution(s);
    if (r <= 0 || (s > 0 && ((img_size / patch_size) % (1 << s)) != 0))
      fail(st + "patch merging needs an even resolution; image " + std::to_string(img_size) + " / patch " +
           std::to_string(patch_size) + " cannot be halved " + std::to_string(s) + " times");
    if (r % stage_window(s) != 0)
      fail(st + "resolution " + std::to_string(r) + " is not a multiple of window " + std::to_string(stage_window(s)));
    if (mlp_hidden(s) <= 0) fail(st + "MLP hidden size is zero");
  }
}

std::string SwinConfig::to_json() const {
  nlohmann::json j{{"name", name},           {"img_size", img_size},       {"patch_size", patch_size},
                   {"in_chans", in_chans},   {"num_classes", num_classes}, {"embed_dim", embed_dim},
                   {"depths", depths},       {"num_heads", num_heads},     {"window_size", window_size},
                   {"mlp_ratio", mlp_ratio}, {"layer_norm_eps", layer_norm_eps}};
  return j.dump();
}

SwinConfig SwinConfig::from_json(const std::string& text) {
  SwinConfig c;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("SWIN config is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw Error("SWIN config must be a JSON object");
  try {
    if (j.contains("name")) c.name = j.at("name").get<std::string>();
    if (j.contains("img_size")) c.img_size = j.at("img_size").get<int>();
    if (j.contains("patch_size")) c.patch_size = j.at("patch_size").get<int>();
    if (j.contains("in_chans")) c.in_chans = j.at("in_chans").get<int>();
    if (j.contains("num_classes")) c.num_classes = j.at("num_classes").get<int>();
    if (j.contains("embed_dim")) c.embed_dim = j.at("embed_dim").get<int>();
    if (j.contains("depths")) c.depths = j.at("depths").get<std::vector<int>>();
    if (j.contains("num_heads")) c.num_heads = j.at("num_heads").get<std::vector<int>>();
    if (j.contains("window_size")) c.window_size = j.at("window_size").get<int>();
    if (j.contains("mlp_ratio")) c.mlp_ratio = j.at("mlp_ratio").get<double>();
    if (j.contains("layer_norm_eps")) c.layer_norm_eps = j.at("layer_norm_eps").get<double>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("SWIN config has a field of the wrong type: ") + e.what());
  }
  c.validate();
  return c;
}

SwinConfig SwinConfig::preset(const std::string& name) {
  SwinConfig c;
  c.name = name;
  if (name == "swin_tiny") {
    c.embed_dim = 96, c.depths = {2, 2, 6, 2}, c.num_heads = {3, 6, 12, 24};
  } else if (name == "swin_small") {
    c.embed_dim = 96, c.depths = {2, 2, 18, 2}, c.num_heads = {3, 6, 12, 24};
  } else if (name == "swin_base") {
    c.embed_dim = 128, c.depths = {2, 2, 18, 2}, c.num_heads = {4, 8, 16, 32};
  } else if (name == "swin_large") {
    c.embed_dim = 192, c.depths = {2, 2, 18, 2}, c.num_heads = {6, 12, 24, 48};
  } else {
    throw Error("unknown architecture '" + name + "' (known: swin_tiny, swin_small, swin_base, swin_large, or a CONFIG.json)");
  }
  return c;
}

std::vector<std::string> SwinConfig::preset_names() { return {"swin_tiny", "swin_small", "swin_base", "swin_large"}; }

}  // namespace swinscope
