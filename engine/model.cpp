#include "engine/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/quantize.h"
#include "engine/safetensors.h"

namespace swinscope {

std::string_view activation_name(Activation a) { return a == Activation::GELU ? "gelu" : "relu"; }

std::string_view layout_name(SourceLayout l) {
  switch (l) {
    case SourceLayout::SwinScope: return "swinscope";
    case SourceLayout::Timm: return "timm";
    case SourceLayout::Microsoft: return "microsoft";
    case SourceLayout::HuggingFace: return "huggingface";
    case SourceLayout::Torchvision: return "torchvision";
  }
  return "?";
}

std::int64_t FloatTensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::int64_t Int8Tensor::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

std::string block_prefix(int stage, int block) {
  return "layers." + std::to_string(stage) + ".blocks." + std::to_string(block) + ".";
}

namespace {

std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string r = "[";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_buffer_name(std::string_view n) {
  // Non-parameter buffers that checkpoints carry; the engine recomputes them.
  return ends_with(n, "relative_position_index") || ends_with(n, "attn_mask") ||
         ends_with(n, "num_batches_tracked") || n.find("mask_token") != std::string_view::npos ||
         n.find("position_embeddings") != std::string_view::npos;
}

FloatTensor to_float(const TensorView& t, const std::string& file) {
  FloatTensor out;
  out.shape = t.shape;
  const auto n = static_cast<std::size_t>(t.numel());
  out.data.resize(n);
  switch (t.dtype) {
    case DType::F32: std::memcpy(out.data.data(), t.data, n * 4); break;
    case DType::F64:
      for (std::size_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, t.data + i * 8, 8);
        out.data[i] = static_cast<float>(v);
      }
      break;
    case DType::F16:
    case DType::BF16:
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t v;
        std::memcpy(&v, t.data + i * 2, 2);
        out.data[i] = t.dtype == DType::F16 ? half_to_float(v) : bf16_to_float(v);
      }
      break;
    default:
      throw Error(file + ": tensor '" + t.name + "' has dtype " + std::string(dtype_name(t.dtype)) +
                  " but a float type (F32, F16, BF16, F64) is expected");
  }
  return out;
}

// ---- name mapping: every layout → timm's current names -------------------------------

struct Renamed {
  std::string canonical;  // empty: not a model tensor
  int hf_qkv_part = -1;   // Hugging Face split q/k/v: 0, 1, 2 (weight or bias)
};

Renamed rename_torchvision(const std::string& n) {
  static const std::regex patch(R"(features\.0\.0\.(weight|bias))");
  static const std::regex patch_norm(R"(features\.0\.2\.(weight|bias))");
  static const std::regex block(R"(features\.(\d+)\.(\d+)\.(.+))");
  static const std::regex merge(R"(features\.(\d+)\.(reduction|norm)\.(weight|bias))");
  std::smatch m;
  if (std::regex_match(n, m, patch)) return {"patch_embed.proj." + m[1].str()};
  if (std::regex_match(n, m, patch_norm)) return {"patch_embed.norm." + m[1].str()};
  if (std::regex_match(n, m, merge)) {
    const int k = std::stoi(m[1].str());
    if (k >= 2 && k % 2 == 0) return {"layers." + std::to_string(k / 2) + ".downsample." + m[2].str() + "." + m[3].str()};
  }
  if (std::regex_match(n, m, block)) {
    const int k = std::stoi(m[1].str());
    if (k % 2 == 1) {
      std::string rest = m[3].str();
      if (rest.rfind("mlp.0.", 0) == 0) rest = "mlp.fc1." + rest.substr(6);
      else if (rest.rfind("mlp.3.", 0) == 0) rest = "mlp.fc2." + rest.substr(6);
      return {block_prefix((k - 1) / 2, std::stoi(m[2].str())) + rest};
    }
  }
  if (n.rfind("norm.", 0) == 0) return {n};
  if (n.rfind("head.", 0) == 0) return {"head.fc." + n.substr(5)};
  return {};
}

Renamed rename_microsoft(const std::string& n) {
  static const std::regex down(R"(layers\.(\d+)\.downsample\.(.+))");
  std::smatch m;
  if (std::regex_match(n, m, down)) return {"layers." + std::to_string(std::stoi(m[1].str()) + 1) + ".downsample." + m[2].str()};
  if (n.rfind("head.", 0) == 0 && n.rfind("head.fc.", 0) != 0) return {"head.fc." + n.substr(5)};
  return {n};
}

Renamed rename_huggingface(std::string n) {
  if (n.rfind("swin.", 0) == 0) n = n.substr(5);
  static const std::regex block(R"(encoder\.layers\.(\d+)\.blocks\.(\d+)\.(.+))");
  static const std::regex down(R"(encoder\.layers\.(\d+)\.downsample\.(.+))");
  std::smatch m;
  if (n.rfind("embeddings.patch_embeddings.projection.", 0) == 0)
    return {"patch_embed.proj." + n.substr(std::strlen("embeddings.patch_embeddings.projection."))};
  if (n.rfind("embeddings.norm.", 0) == 0) return {"patch_embed.norm." + n.substr(16)};
  if (n.rfind("layernorm.", 0) == 0) return {"norm." + n.substr(10)};
  if (n.rfind("classifier.", 0) == 0) return {"head.fc." + n.substr(11)};
  if (std::regex_match(n, m, down)) return {"layers." + std::to_string(std::stoi(m[1].str()) + 1) + ".downsample." + m[2].str()};
  if (std::regex_match(n, m, block)) {
    const std::string pre = block_prefix(std::stoi(m[1].str()), std::stoi(m[2].str()));
    const std::string rest = m[3].str();
    static const std::vector<std::pair<std::string, std::string>> map{
        {"layernorm_before.", "norm1."},
        {"attention.self.relative_position_bias_table", "attn.relative_position_bias_table"},
        {"attention.output.dense.", "attn.proj."},
        {"layernorm_after.", "norm2."},
        {"intermediate.dense.", "mlp.fc1."},
        {"output.dense.", "mlp.fc2."},
    };
    for (const auto& [from, to] : map)
      if (rest.rfind(from, 0) == 0) return {pre + to + rest.substr(from.size())};
    static const std::regex qkv(R"(attention\.self\.(query|key|value)\.(weight|bias))");
    if (std::regex_match(rest, m, qkv)) {
      const int part = m[1].str() == "query" ? 0 : (m[1].str() == "key" ? 1 : 2);
      return {pre + "attn.qkv." + m[2].str(), part};
    }
  }
  return {};
}

std::string strip_wrapper_prefix(std::string n) {
  // DataParallel / training-framework wrappers.
  for (const char* p : {"module.", "model."})
    if (n.rfind(p, 0) == 0) n = n.substr(std::strlen(p));
  return n;
}

SourceLayout detect_layout(const SafetensorsFile& f) {
  auto has = [&](const char* n) { return f.find(n) || f.find(std::string("module.") + n) || f.find(std::string("model.") + n); };
  if (has("features.0.0.weight")) return SourceLayout::Torchvision;
  if (has("swin.embeddings.patch_embeddings.projection.weight") || has("embeddings.patch_embeddings.projection.weight"))
    return SourceLayout::HuggingFace;
  if (has("patch_embed.proj.weight")) {
    // The original release puts the downsample at the END of a stage, so stage 0 has
    // one; timm's current layout starts stages 1.. with it.
    if (has("layers.0.downsample.reduction.weight")) return SourceLayout::Microsoft;
    return f.metadata().count("swinscope.format") ? SourceLayout::SwinScope : SourceLayout::Timm;
  }
  throw Error(f.label() +
              ": not a SWIN checkpoint: no patch embedding found (looked for patch_embed.proj.weight, "
              "features.0.0.weight, swin.embeddings.patch_embeddings.projection.weight)");
}

// Reads config.json beside the checkpoint (timm's pretrained_cfg or HF's config), if any.
nlohmann::json read_side_config(const std::filesystem::path& model_path) {
  const auto p = model_path.parent_path() / "config.json";
  std::ifstream in(p);
  if (!in) return {};
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(p.string() + ": not valid JSON (" + e.what() + ")");
  }
}

// "layers.<stage>.…" → stage, and for "layers.<stage>.blocks.<block>.…" the block too
// (else -1). False for any other name.
bool parse_layer_name(std::string_view n, int& stage, int& block) {
  auto number = [&n](std::size_t& i, int& out) {
    const std::size_t start = i;
    long v = 0;
    while (i < n.size() && n[i] >= '0' && n[i] <= '9' && v < 1'000'000) v = v * 10 + (n[i++] - '0');
    out = static_cast<int>(v);
    return i > start && i < n.size() && n[i] == '.';
  };
  constexpr std::string_view kLayers = "layers.", kBlocks = "blocks.";
  if (n.substr(0, kLayers.size()) != kLayers) return false;
  std::size_t i = kLayers.size();
  if (!number(i, stage)) return false;
  block = -1;
  ++i;
  if (n.substr(i, kBlocks.size()) != kBlocks) return true;
  i += kBlocks.size();
  int b = 0;
  if (number(i, b)) block = b;
  return true;
}

// Blocks of stage s: one more than the highest block index any tensor names, so a block
// missing one tensor still counts (and validation names the missing tensor) instead of
// ending the stage early and leaving the rest of its tensors unused.
int count_blocks(const std::map<std::string, FloatTensor>& t, int s) {
  int n = 0;
  for (const auto& [name, tensor] : t) {
    int stage = 0, block = 0;
    if (parse_layer_name(name, stage, block) && stage == s && block >= 0) n = std::max(n, block + 1);
  }
  return n;
}

// Tensors under layers.<s> for a stage the config does not have, or under a block beyond
// its stage's depth, would be silently unused: refuse the file naming them.
void check_no_leftover_tensors(const Model& m) {
  const auto& c = m.config;
  std::vector<std::string> left;
  auto visit = [&](const std::string& name) {
    int s = 0, b = 0;
    if (!parse_layer_name(name, s, b)) return;
    if (s >= c.num_stages() || b >= c.depths[static_cast<std::size_t>(s)]) left.push_back(name);
  };
  for (const auto& [name, t] : m.tensors) visit(name);
  for (const auto& [name, t] : m.int8_tensors) visit(name);
  if (left.empty()) return;
  std::string depths, names;
  for (std::size_t i = 0; i < c.depths.size(); ++i) depths += (i ? ", " : "") + std::to_string(c.depths[i]);
  for (std::size_t i = 0; i < left.size() && i < 8; ++i) names += (i ? ", " : "") + left[i];
  if (left.size() > 8) names += ", …";
  throw Error(m.path.string() + ": " + std::to_string(left.size()) + " tensor(s) belong to no block of the model (depths [" +
              depths + "]): " + names);
}

void infer_config(Model& m, const LoadOptions& opts, const nlohmann::json& side) {
  auto& t = m.tensors;
  const auto& file = m.path.string();
  SwinConfig c;
  c.name = "inferred";
  const auto& pe = m.tensor("patch_embed.proj.weight");
  if (pe.shape.size() != 4 || pe.shape[2] != pe.shape[3])
    throw Error(file + ": tensor 'patch_embed.proj.weight' has shape " + shape_str(pe.shape) +
                ", expected [embed_dim, in_chans, patch, patch]");
  c.embed_dim = static_cast<int>(pe.shape[0]);
  c.in_chans = static_cast<int>(pe.shape[1]);
  c.patch_size = static_cast<int>(pe.shape[2]);
  m.inferred.push_back("embed_dim = " + std::to_string(c.embed_dim) + ", in_chans = " + std::to_string(c.in_chans) +
                       ", patch_size = " + std::to_string(c.patch_size) + " (from the patch embedding)");
  c.depths.clear();
  c.num_heads.clear();
  for (int s = 0;; ++s) {
    const int d = count_blocks(t, s);
    if (d == 0) break;
    c.depths.push_back(d);
    const auto& table = m.tensor(block_prefix(s, 0) + "attn.relative_position_bias_table");
    if (table.shape.size() != 2)
      throw Error(file + ": tensor '" + block_prefix(s, 0) + "attn.relative_position_bias_table' has shape " +
                  shape_str(table.shape) + ", expected [(2*window-1)^2, heads]");
    c.num_heads.push_back(static_cast<int>(table.shape[1]));
    if (s == 0) {
      const int side_len = static_cast<int>(std::lround(std::sqrt(static_cast<double>(table.shape[0]))));
      if (side_len * side_len != table.shape[0] || side_len % 2 == 0)
        throw Error(file + ": relative position table of stage 0 has " + std::to_string(table.shape[0]) +
                    " rows, not (2*window-1)^2 for any window");
      c.window_size = (side_len + 1) / 2;
    }
  }
  if (c.depths.empty()) throw Error(file + ": no transformer blocks found (layers.0.blocks.0.*)");
  std::string dstr, hstr;
  for (std::size_t i = 0; i < c.depths.size(); ++i) {
    dstr += (i ? "," : "") + std::to_string(c.depths[i]);
    hstr += (i ? "," : "") + std::to_string(c.num_heads[i]);
  }
  m.inferred.push_back("depths = [" + dstr + "] (by counting blocks), num_heads = [" + hstr +
                       "] (from the relative position tables)");
  m.inferred.push_back("window_size = " + std::to_string(c.window_size) + " (from the stage-0 relative position table)");
  const auto& fc1 = m.tensor(block_prefix(0, 0) + "mlp.fc1.weight");
  c.mlp_ratio = static_cast<double>(fc1.shape.at(0)) / c.embed_dim;
  const auto* head = m.find("head.fc.weight");
  if (!head) throw Error(file + ": no classifier head (head.fc.weight / head.weight / classifier.weight): a backbone without a head cannot classify");
  c.num_classes = static_cast<int>(head->shape.at(0));
  m.inferred.push_back("num_classes = " + std::to_string(c.num_classes) + " (from the head)");
  c.img_size = 224;
  std::string img_src = "default (no config.json beside the file, no --img-size)";
  if (side.is_object()) {
    if (side.contains("image_size") && side["image_size"].is_number_integer()) {
      c.img_size = side["image_size"].get<int>();
      img_src = "config.json image_size";
    } else if (side.contains("pretrained_cfg") && side["pretrained_cfg"].contains("input_size")) {
      c.img_size = side["pretrained_cfg"]["input_size"].back().get<int>();
      img_src = "config.json pretrained_cfg.input_size";
    }
    if (side.contains("layer_norm_eps") && side["layer_norm_eps"].is_number()) c.layer_norm_eps = side["layer_norm_eps"].get<double>();
  }
  if (opts.img_size) {
    c.img_size = *opts.img_size;
    img_src = "--img-size";
  }
  m.inferred.push_back("img_size = " + std::to_string(c.img_size) + " (" + img_src + ")");
  c.validate();
  m.config = c;
}

std::vector<Activation> parse_activations(const std::string& text, int blocks, const std::string& file) {
  auto one = [&](const std::string& s) {
    if (s == "gelu") return Activation::GELU;
    if (s == "relu") return Activation::ReLU;
    throw Error(file + ": metadata swinscope.activation has '" + s + "', expected gelu or relu");
  };
  if (text == "gelu" || text == "relu") return std::vector<Activation>(static_cast<std::size_t>(blocks), one(text));
  std::vector<Activation> out;
  try {
    for (const auto& e : nlohmann::json::parse(text)) out.push_back(one(e.get<std::string>()));
  } catch (const nlohmann::json::exception&) {
    throw Error(file + ": metadata swinscope.activation is neither gelu, relu nor a JSON list of them");
  }
  if (static_cast<int>(out.size()) != blocks)
    throw Error(file + ": metadata swinscope.activation lists " + std::to_string(out.size()) +
                " blocks but the model has " + std::to_string(blocks));
  return out;
}

// Float or (in an int8 model) int8: which one a tensor must be is validate_int8_model's job.
void check_shape(const Model& m, const std::string& name, const std::vector<std::int64_t>& want) {
  const std::vector<std::int64_t>* shape = nullptr;
  if (const auto* t = m.find(name)) shape = &t->shape;
  else if (const auto* q = m.find_int8(name)) shape = &q->shape;
  if (!shape)
    throw Error(m.path.string() + ": missing tensor '" + name + "' (expected shape " + shape_str(want) + ")");
  if (*shape != want)
    throw Error(m.path.string() + ": tensor '" + name + "' has shape " + shape_str(*shape) + ", expected " +
                shape_str(want));
}

}  // namespace

const FloatTensor* Model::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

const FloatTensor& Model::tensor(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  throw Error(path.string() + ": missing tensor '" + name + "'");
}

const Int8Tensor* Model::find_int8(const std::string& name) const {
  auto it = int8_tensors.find(name);
  return it == int8_tensors.end() ? nullptr : &it->second;
}

const Int8Tensor& Model::int8_tensor(const std::string& name) const {
  if (const auto* t = find_int8(name)) return *t;
  throw Error(path.string() + ": missing int8 tensor '" + name + "'");
}

bool Model::has_fc1_bias(int global_block) const {
  int b = global_block;
  for (int s = 0; s < config.num_stages(); ++s) {
    if (b < config.depths[s]) return find(block_prefix(s, b) + "mlp.fc1.bias") != nullptr;
    b -= config.depths[s];
  }
  return false;
}

std::string Model::activation_summary() const {
  const auto relu = std::count(activations.begin(), activations.end(), Activation::ReLU);
  const auto gelu = static_cast<long>(activations.size()) - relu;
  if (relu == 0) return "gelu";
  if (gelu == 0) return "relu";
  return "mixed (gelu x" + std::to_string(gelu) + ", relu x" + std::to_string(relu) + ")";
}

void validate_model_tensors(const Model& m) {
  const auto& c = m.config;
  check_no_leftover_tensors(m);
  const std::int64_t E = c.embed_dim, p = c.patch_size;
  check_shape(m, "patch_embed.proj.weight", {E, c.in_chans, p, p});
  check_shape(m, "patch_embed.proj.bias", {E});
  check_shape(m, "patch_embed.norm.weight", {E});
  check_shape(m, "patch_embed.norm.bias", {E});
  for (int s = 0; s < c.num_stages(); ++s) {
    const std::int64_t C = c.stage_dim(s), hid = c.mlp_hidden(s), w = c.stage_window(s);
    if (s > 0) {
      const std::string d = "layers." + std::to_string(s) + ".downsample.";
      const std::int64_t Cp = c.stage_dim(s - 1);
      check_shape(m, d + "norm.weight", {4 * Cp});
      check_shape(m, d + "norm.bias", {4 * Cp});
      check_shape(m, d + "reduction.weight", {2 * Cp, 4 * Cp});
    }
    for (int b = 0; b < c.depths[s]; ++b) {
      const std::string pre = block_prefix(s, b);
      for (const char* ln : {"norm1", "norm2"}) {
        check_shape(m, pre + ln + ".weight", {C});
        check_shape(m, pre + ln + ".bias", {C});
      }
      check_shape(m, pre + "attn.qkv.weight", {3 * C, C});
      check_shape(m, pre + "attn.qkv.bias", {3 * C});
      check_shape(m, pre + "attn.relative_position_bias_table", {(2 * w - 1) * (2 * w - 1), c.num_heads[s]});
      check_shape(m, pre + "attn.proj.weight", {C, C});
      check_shape(m, pre + "attn.proj.bias", {C});
      check_shape(m, pre + "mlp.fc1.weight", {hid, C});
      if (m.find(pre + "mlp.fc1.bias")) check_shape(m, pre + "mlp.fc1.bias", {hid});
      check_shape(m, pre + "mlp.fc2.weight", {C, hid});
      check_shape(m, pre + "mlp.fc2.bias", {C});
    }
  }
  const std::int64_t F = c.num_features();
  check_shape(m, "norm.weight", {F});
  check_shape(m, "norm.bias", {F});
  check_shape(m, "head.fc.weight", {c.num_classes, F});
  check_shape(m, "head.fc.bias", {c.num_classes});
}

Model load_model(const std::filesystem::path& path, const LoadOptions& opts) {
  const auto file = SafetensorsFile::open(path);
  Model m;
  m.path = path;
  m.file_size = file.file_size();
  m.metadata = file.metadata();
  m.layout = detect_layout(file);
  const std::string fname = path.string();

  if (auto it = m.metadata.find("swinscope.precision"); it != m.metadata.end()) m.precision = it->second;
  if (m.precision != "fp32" && m.precision != "int8")
    throw Error(fname + ": precision '" + m.precision + "' models are not supported by this build (fp32, int8)",
                Error::Kind::BadInput);
  if (m.is_int8() && m.layout != SourceLayout::SwinScope)
    throw Error(fname + ": swinscope.precision is int8 but the file is not a SwinScope model (no swinscope.format)");

  // Rename into the canonical layout; Hugging Face's separate q/k/v are stacked into qkv.
  std::map<std::string, std::array<const TensorView*, 3>> hf_qkv;
  for (const auto& t : file.tensors()) {
    const std::string n = strip_wrapper_prefix(t.name);
    if (is_buffer_name(n)) continue;
    Renamed r;
    switch (m.layout) {
      case SourceLayout::SwinScope:
      case SourceLayout::Timm: r = {n}; break;
      case SourceLayout::Microsoft: r = rename_microsoft(n); break;
      case SourceLayout::HuggingFace: r = rename_huggingface(n); break;
      case SourceLayout::Torchvision: r = rename_torchvision(n); break;
    }
    if (r.canonical.empty()) {
      m.ignored.push_back(t.name);
      continue;
    }
    if (r.hf_qkv_part >= 0) {
      hf_qkv[r.canonical][static_cast<std::size_t>(r.hf_qkv_part)] = &t;
      continue;
    }
    if (m.tensors.count(r.canonical) || m.int8_tensors.count(r.canonical))
      throw Error(fname + ": tensor '" + t.name + "' maps to '" + r.canonical + "', which another tensor already provides");
    if (t.dtype == DType::I8) {
      if (!m.is_int8())
        throw Error(fname + ": tensor '" + t.name + "' has dtype I8 but the model's precision is " + m.precision +
                    " (int8 tensors need swinscope.precision = int8)");
      Int8Tensor q{t.shape, std::vector<std::int8_t>(t.nbytes)};
      std::memcpy(q.data.data(), t.data, t.nbytes);
      m.int8_tensors.emplace(r.canonical, std::move(q));
      continue;
    }
    m.tensors.emplace(r.canonical, to_float(t, fname));
  }
  for (const auto& [name, parts] : hf_qkv) {
    static const char* kPart[3] = {"query", "key", "value"};
    FloatTensor stacked;
    for (int i = 0; i < 3; ++i) {
      if (!parts[i]) throw Error(fname + ": attention " + kPart[i] + " tensor missing for '" + name + "'");
      if (parts[i]->shape != parts[0]->shape)
        throw Error(fname + ": tensor '" + parts[i]->name + "' has shape " + shape_str(parts[i]->shape) +
                    " but its query tensor has " + shape_str(parts[0]->shape));
      const FloatTensor f = to_float(*parts[i], fname);
      stacked.data.insert(stacked.data.end(), f.data.begin(), f.data.end());
    }
    stacked.shape = parts[0]->shape;
    if (!stacked.shape.empty()) stacked.shape[0] *= 3;
    m.tensors.emplace(name, std::move(stacked));
  }

  const auto side = read_side_config(path);
  if (auto it = m.metadata.find("swinscope.config"); it != m.metadata.end()) {
    try {
      m.config = SwinConfig::from_json(it->second);
    } catch (const Error& e) {
      throw Error(fname + ": metadata swinscope.config: " + e.what());
    }
    if (opts.img_size && *opts.img_size != m.config.img_size)
      throw Error(fname + ": --img-size " + std::to_string(*opts.img_size) + " conflicts with the model's img_size " +
                  std::to_string(m.config.img_size));
  } else {
    infer_config(m, opts, side);
  }
  validate_model_tensors(m);

  const int blocks = m.config.total_blocks();
  if (auto it = m.metadata.find("swinscope.activation"); it != m.metadata.end()) {
    m.activations = parse_activations(it->second, blocks, fname);
  } else {
    m.activations.assign(static_cast<std::size_t>(blocks), Activation::GELU);
    m.inferred.push_back("activation = gelu in every block (no swinscope.activation metadata)");
  }

  // Class names: metadata, then config.json (HF id2label, timm label_names), then indices.
  if (auto it = m.metadata.find("swinscope.classes"); it != m.metadata.end()) {
    try {
      m.classes = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
      throw Error(fname + ": metadata swinscope.classes is not a JSON list of strings");
    }
  } else if (side.is_object() && side.contains("id2label") && side["id2label"].is_object()) {
    m.classes.resize(static_cast<std::size_t>(m.config.num_classes));
    for (auto& [k, v] : side["id2label"].items()) {
      const int i = std::stoi(k);
      if (i >= 0 && i < m.config.num_classes && v.is_string()) m.classes[static_cast<std::size_t>(i)] = v.get<std::string>();
    }
  } else if (side.is_object() && side.contains("label_names") && side["label_names"].is_array()) {
    m.classes = side["label_names"].get<std::vector<std::string>>();
  }
  if (!m.classes.empty() && static_cast<int>(m.classes.size()) != m.config.num_classes)
    throw Error(fname + ": " + std::to_string(m.classes.size()) + " class names for " +
                std::to_string(m.config.num_classes) + " classes");
  if (m.classes.empty())
    for (int i = 0; i < m.config.num_classes; ++i) m.classes.push_back("class_" + std::to_string(i));
  for (int i = 0; i < m.config.num_classes; ++i)
    if (m.classes[static_cast<std::size_t>(i)].empty()) m.classes[static_cast<std::size_t>(i)] = "class_" + std::to_string(i);

  if (auto it = m.metadata.find("swinscope.preprocess"); it != m.metadata.end()) {
    try {
      m.preprocess = PreprocessConfig::from_json(it->second);
    } catch (const Error& e) {
      throw Error(fname + ": metadata swinscope.preprocess: " + e.what(), e.kind());  // name the file (issue 14, item 11)
    }
  } else {
    m.preprocess.crop = m.config.img_size;
    double crop_pct = 0.9;
    if (side.is_object() && side.contains("pretrained_cfg")) {
      const auto& pc = side["pretrained_cfg"];
      if (pc.contains("crop_pct") && pc["crop_pct"].is_number()) crop_pct = pc["crop_pct"].get<double>();
      if (pc.contains("interpolation") && pc["interpolation"].is_string()) m.preprocess.interpolation = pc["interpolation"].get<std::string>();
      if (pc.contains("mean") && pc["mean"].size() == 3) m.preprocess.mean = pc["mean"].get<std::array<float, 3>>();
      if (pc.contains("std") && pc["std"].size() == 3) m.preprocess.std = pc["std"].get<std::array<float, 3>>();
    }
    m.preprocess.resize = static_cast<int>(std::floor(m.config.img_size / crop_pct));
    m.preprocess.channels = m.config.in_chans;
    m.inferred.push_back("preprocess: resize " + std::to_string(m.preprocess.resize) + ", crop " +
                         std::to_string(m.preprocess.crop) + ", " + m.preprocess.interpolation);
  }
  if (m.preprocess.crop != m.config.img_size)
    throw Error(fname + ": preprocess crop " + std::to_string(m.preprocess.crop) + " differs from img_size " +
                std::to_string(m.config.img_size));
  if (m.preprocess.channels != m.config.in_chans)
    throw Error(fname + ": preprocess has " + std::to_string(m.preprocess.channels) + " channels but the model takes " +
                std::to_string(m.config.in_chans));
  // A NaN or Inf weight (a diverged training run, a corrupt file) would give NaN probabilities
  // or a silently useless accuracy downstream: refused here, naming the tensor (issue 14, item 1).
  for (const auto& [name, t] : m.tensors)
    for (std::size_t i = 0; i < t.data.size(); ++i)
      if (!std::isfinite(t.data[i]))
        throw Error(fname + ": tensor '" + name + "' holds a non-finite value (" + (std::isnan(t.data[i]) ? "NaN" : "Inf") +
                    " at element " + std::to_string(i) + "): the file is corrupt or the run that wrote it diverged");
  if (m.is_int8()) {
    if (auto it = m.metadata.find("swinscope.calibration"); it != m.metadata.end()) m.calibration = it->second;
    validate_int8_model(m);
  }
  return m;
}

void save_model(const Model& m, const std::filesystem::path& path) {
  if (m.precision != "fp32" && m.precision != "int8")
    throw Error(path.string() + ": cannot write precision '" + m.precision + "' (fp32, int8)");
  validate_model_tensors(m);
  if (m.is_int8()) validate_int8_model(m);
  else if (!m.int8_tensors.empty())
    throw Error(path.string() + ": an fp32 model holds int8 tensors (first: '" + m.int8_tensors.begin()->first + "')");
  std::vector<TensorToWrite> out;
  out.reserve(m.tensors.size() + m.int8_tensors.size());
  for (const auto& [name, t] : m.tensors)
    out.push_back({name, DType::F32, t.shape,
                   std::span<const std::byte>(reinterpret_cast<const std::byte*>(t.data.data()), t.data.size() * 4)});
  for (const auto& [name, t] : m.int8_tensors)
    out.push_back({name, DType::I8, t.shape,
                   std::span<const std::byte>(reinterpret_cast<const std::byte*>(t.data.data()), t.data.size())});
  std::map<std::string, std::string> meta;
  meta["swinscope.format"] = "1";
  meta["swinscope.config"] = m.config.to_json();
  const auto summary = m.activation_summary();
  if (summary == "gelu" || summary == "relu") {
    meta["swinscope.activation"] = summary;
  } else {
    nlohmann::json list = nlohmann::json::array();
    for (auto a : m.activations) list.push_back(std::string(activation_name(a)));
    meta["swinscope.activation"] = list.dump();
  }
  meta["swinscope.precision"] = m.precision;
  if (m.is_int8()) meta["swinscope.calibration"] = m.calibration;
  meta["swinscope.classes"] = nlohmann::json(m.classes).dump();
  meta["swinscope.preprocess"] = m.preprocess.to_json();
  write_safetensors(path, out, meta);
}

Model init_random_model(const SwinConfig& config, Activation activation, std::uint64_t seed) {
  config.validate();
  Model m;
  m.config = config;
  m.activations.assign(static_cast<std::size_t>(config.total_blocks()), activation);
  m.preprocess.crop = config.img_size;
  m.preprocess.resize = static_cast<int>(std::floor(config.img_size / 0.9));
  m.preprocess.channels = config.in_chans;
  for (int i = 0; i < config.num_classes; ++i) m.classes.push_back("class_" + std::to_string(i));
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, 0.02f);
  auto trunc = [&](std::vector<std::int64_t> shape) {
    FloatTensor t{shape, {}};
    t.data.resize(static_cast<std::size_t>(t.numel()));
    for (auto& v : t.data) {
      do v = normal(rng);
      while (std::fabs(v) > 0.04f);  // timm's trunc_normal_(std=.02) clips at ±2σ
    }
    return t;
  };
  auto fill = [](std::vector<std::int64_t> shape, float v) {
    FloatTensor t{shape, {}};
    t.data.assign(static_cast<std::size_t>(t.numel()), v);
    return t;
  };
  const std::int64_t E = config.embed_dim, p = config.patch_size;
  m.tensors["patch_embed.proj.weight"] = trunc({E, config.in_chans, p, p});
  m.tensors["patch_embed.proj.bias"] = fill({E}, 0.f);
  m.tensors["patch_embed.norm.weight"] = fill({E}, 1.f);
  m.tensors["patch_embed.norm.bias"] = fill({E}, 0.f);
  for (int s = 0; s < config.num_stages(); ++s) {
    const std::int64_t C = config.stage_dim(s), hid = config.mlp_hidden(s), w = config.stage_window(s);
    if (s > 0) {
      const std::string d = "layers." + std::to_string(s) + ".downsample.";
      const std::int64_t Cp = config.stage_dim(s - 1);
      m.tensors[d + "norm.weight"] = fill({4 * Cp}, 1.f);
      m.tensors[d + "norm.bias"] = fill({4 * Cp}, 0.f);
      m.tensors[d + "reduction.weight"] = trunc({2 * Cp, 4 * Cp});
    }
    for (int b = 0; b < config.depths[s]; ++b) {
      const std::string pre = block_prefix(s, b);
      m.tensors[pre + "norm1.weight"] = fill({C}, 1.f);
      m.tensors[pre + "norm1.bias"] = fill({C}, 0.f);
      m.tensors[pre + "attn.qkv.weight"] = trunc({3 * C, C});
      m.tensors[pre + "attn.qkv.bias"] = fill({3 * C}, 0.f);
      m.tensors[pre + "attn.relative_position_bias_table"] = trunc({(2 * w - 1) * (2 * w - 1), config.num_heads[s]});
      m.tensors[pre + "attn.proj.weight"] = trunc({C, C});
      m.tensors[pre + "attn.proj.bias"] = fill({C}, 0.f);
      m.tensors[pre + "norm2.weight"] = fill({C}, 1.f);
      m.tensors[pre + "norm2.bias"] = fill({C}, 0.f);
      m.tensors[pre + "mlp.fc1.weight"] = trunc({hid, C});
      // GELU-less blocks carry no FC1 bias (the paper removes it so ReLU fuses into the GEMM).
      if (activation == Activation::GELU) m.tensors[pre + "mlp.fc1.bias"] = fill({hid}, 0.f);
      m.tensors[pre + "mlp.fc2.weight"] = trunc({C, hid});
      m.tensors[pre + "mlp.fc2.bias"] = fill({C}, 0.f);
    }
  }
  const std::int64_t F = config.num_features();
  m.tensors["norm.weight"] = fill({F}, 1.f);
  m.tensors["norm.bias"] = fill({F}, 0.f);
  m.tensors["head.fc.weight"] = trunc({config.num_classes, F});
  m.tensors["head.fc.bias"] = fill({config.num_classes}, 0.f);
  m.path = "<random " + config.name + ">";
  return m;
}

}  // namespace swinscope
