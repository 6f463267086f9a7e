#include "engine/quant_error.h"

#include <chrono>
#include <cmath>
#include <map>
#include <memory>

#include "engine/error.h"
#include "engine/plan.h"
#include "engine/quantize.h"

namespace swinscope {

void SqnrSum::add(const float* ref, const float* test, std::size_t n) {
  double s = 0, e = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = ref[i], d = r - static_cast<double>(test[i]);
    s += r * r;
    e += d * d;
  }
  signal += s;
  noise += e;
  elements += n;
}

double SqnrSum::db() const {
  if (!(noise > 0)) return std::isnan(noise) ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  if (!(signal > 0)) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

double sqnr_db(const float* ref, const float* test, std::size_t n) {
  SqnrSum s;
  s.add(ref, test, n);
  return s.db();
}

const std::vector<SqnrPoint>& sqnr_points() {
  static const std::vector<SqnrPoint> points{
      {"attn.qkv.input_amax", "ln1", "ln1_quant", "LayerNorm 1 output, shifted and windowed (the qkv GEMM's input)"},
      {"attn.qkv.output_amax", "qkv", "qkv_gemm", "qkv GEMM output, before its bias"},
      {"attn.q_amax", "q", "qkv_bias_quant", "queries after the bias (before the head_dim^-1/2 scale)"},
      {"attn.k_amax", "k", "qkv_bias_quant", "keys after the bias"},
      {"attn.v_amax", "v", "qkv_bias_quant", "values after the bias"},
      {"attn.softmax", "softmax", "softmax", "attention probabilities"},
      {"attn.proj.input_amax", "ctx", "av_gemm", "attention context, heads merged (the proj GEMM's input)"},
      {"attn.proj.output_amax", "proj", "proj_gemm", "proj GEMM output, before its bias"},
      {"mlp.fc1.input_amax", "ln2", "proj_residual_ln2_quant", "LayerNorm 2 output (the fc1 GEMM's input)"},
      {"mlp.fc1.output_amax", "fc1", "fc1_gemm",
       "fc1 GEMM output: before bias and GELU in a GELU block, after the ReLU in a GELU-less one"},
      {"mlp.fc2.input_amax", "act", "fc1_bias_gelu_quant", "activation output, GELU or ReLU (the fc2 GEMM's input)"},
      {"mlp.fc2.output_amax", "fc2", "fc2_gemm", "fc2 GEMM output, before its bias"},
      {"output", "block", "fc2_bias_residual", "the residual stream after the block (float on both sides)"},
  };
  return points;
}

double SqnrBlockRow::added_db() const {
  const SqnrSum& out = output();
  if (out.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double added = out.noise - (input.empty() ? 0.0 : input.noise);
  if (!(added > 0)) return std::numeric_limits<double>::infinity();
  if (!(out.signal > 0)) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(out.signal / added);
}

int SqnrReport::worst_block() const {
  int worst = -1;
  double lowest = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    const double a = blocks[i].added_db();
    if (std::isnan(a)) continue;
    if (a < lowest) {
      lowest = a;
      worst = static_cast<int>(i);
    }
  }
  return worst;
}

namespace {

using Tensors = std::map<std::string, std::vector<float>>;

// One side of the comparison: the float walk of an fp32 model, or an int8 model's CPU plan
// with its tensor tap.
class Side {
 public:
  Side(const Model& m, std::optional<Variant> variant) : m_model(m) {
    if (m.is_int8()) {
      PlanOptions o;
      o.backend = Backend::CPU;
      o.variant = variant.value_or(default_variant(m));
      o.max_batch = 1;
      m_plan = make_plan(m, o);
      m_kind = "int8 CPU plan (" + std::string(variant_name(o.variant)) + ")";
    } else {
      m_kind = "float reference walk (fp32)";
    }
  }
  const std::string& kind() const { return m_kind; }

  // One image; `tap` sees every named tensor, `logits` gets the output.
  void run(const float* input, std::vector<float>& logits, const Plan::TensorTap& tap) {
    logits.assign(static_cast<std::size_t>(m_model.config.num_classes), 0.f);
    if (m_plan) {
      if (!m_plan->set_tensor_tap(tap))
        throw Error(m_model.path.string() + ": this plan cannot show its intermediate tensors", Error::Kind::Runtime);
      m_plan->run(input, 1, logits.data());
      m_plan->set_tensor_tap({});
    } else {
      float_reference_forward(m_model, input, 1, logits.data(), tap);
    }
  }

 private:
  const Model& m_model;
  std::unique_ptr<Plan> m_plan;
  std::string m_kind;
};

std::string activation_of(const Model& m, int global) {
  return std::string(activation_name(m.activations.at(static_cast<std::size_t>(global))));
}

}  // namespace

SqnrReport measure_sqnr(const Model& test, const Model& reference, const Dataset& data, long images, const ProgressFn& progress,
                        std::optional<Variant> int8_variant) {
  if (test.config.to_json() != reference.config.to_json())
    throw Error(test.path.string() + " and " + reference.path.string() +
                ": different architectures (swinscope.config differs); SQNR compares two versions of one model");
  if (images <= 0) throw Error("numerics: the number of images must be positive");
  const long total = std::min<long>(images, static_cast<long>(data.images.size()));
  if (total == 0) throw Error(data.root.string() + ": no images to compare on");

  SqnrReport r;
  r.test_path = test.path.string();
  r.reference_path = reference.path.string();
  const auto& c = test.config;
  const auto& points = sqnr_points();
  std::map<std::string, std::pair<int, int>> where;  // tensor name → (block, point)
  int global = 0;
  for (int s = 0; s < c.num_stages(); ++s)
    for (int b = 0; b < c.depths[s]; ++b, ++global) {
      SqnrBlockRow row;
      row.global = global;
      row.stage = s;
      row.index = b;
      row.prefix = block_prefix(s, b);
      row.activation_test = activation_of(test, global);
      row.activation_ref = activation_of(reference, global);
      row.cells.resize(points.size());
      for (std::size_t k = 0; k < points.size(); ++k) where[row.prefix + points[k].suffix] = {global, static_cast<int>(k)};
      r.blocks.push_back(std::move(row));
    }
  std::map<std::string, std::size_t> merge_index;
  for (int s = 1; s < c.num_stages(); ++s)
    for (const char* tail : {"reduction.input_amax", "output"}) {
      const std::string name = "layers." + std::to_string(s) + ".downsample." + tail;
      merge_index[name] = r.merges.size();
      r.merges.emplace_back(name, SqnrSum{});
    }

  if (int8_variant && !test.is_int8())
    throw Error(test.path.string() + ": --variant " + std::string(variant_name(*int8_variant)) + " needs an int8 model");
  Side ref_side(reference, std::nullopt), test_side(test, int8_variant);
  r.test_kind = test_side.kind();
  r.reference_kind = ref_side.kind();
  const auto& pp = test.preprocess;
  std::vector<float> input(static_cast<std::size_t>(c.in_chans) * pp.crop * pp.crop), ref_logits, test_logits;
  if (static_cast<int>(pp.crop) != c.img_size)
    throw Error(test.path.string() + ": preprocess crop " + std::to_string(pp.crop) + " differs from img_size " +
                std::to_string(c.img_size));
  Tensors ref;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < total; ++i) {
    // Evenly spaced over the dataset: an ImageFolder lists its classes one after another.
    const auto index = static_cast<std::size_t>(i * static_cast<long>(data.images.size()) / total);
    preprocess_dataset_image(data, index, pp, input.data());
    ref.clear();
    ref_side.run(input.data(), ref_logits, [&](const std::string& name, const float* x, std::size_t n) {
      ref[name].assign(x, x + n);
    });
    test_side.run(input.data(), test_logits, [&](const std::string& name, const float* x, std::size_t n) {
      auto it = ref.find(name);
      if (it == ref.end()) return;  // a tensor only the test side has (none today)
      if (it->second.size() != n)
        throw Error("numerics: tensor '" + name + "' has " + std::to_string(n) + " values in " + r.test_path + " but " +
                        std::to_string(it->second.size()) + " in " + r.reference_path + " (different layouts)",
                    Error::Kind::Runtime);
      SqnrSum* sum = nullptr;
      if (auto w = where.find(name); w != where.end())
        sum = &r.blocks[static_cast<std::size_t>(w->second.first)].cells[static_cast<std::size_t>(w->second.second)];
      else if (auto m = merge_index.find(name); m != merge_index.end())
        sum = &r.merges[m->second].second;
      else if (name == "patch_embed.output")
        sum = &r.patch_embed;
      if (sum) sum->add(it->second.data(), x, n);
    });
    r.logits.add(ref_logits.data(), test_logits.data(), ref_logits.size());
    if (progress) {
      Progress p;
      p.done = i + 1;
      p.total = total;
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      p.images_per_s = el > 0 ? static_cast<double>(i + 1) / el : 0;
      p.eta_s = p.images_per_s > 0 ? static_cast<double>(total - i - 1) / p.images_per_s : 0;
      progress(p);
    }
  }
  r.images = total;
  // Each block's input: the previous block's output, or at a stage's start the stream that
  // enters it (the patch embedding or the merge output).
  for (auto& row : r.blocks) {
    if (row.global == 0) {
      row.input = r.patch_embed;
    } else if (row.index > 0) {
      row.input = r.blocks[static_cast<std::size_t>(row.global - 1)].output();
    } else if (row.stage > 0) {
      row.input = r.merges[merge_index.at("layers." + std::to_string(row.stage) + ".downsample.output")].second;
    }
  }
  return r;
}

}  // namespace swinscope
