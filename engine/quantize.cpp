#include "engine/quantize.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include "engine/cpu/fp32_ops.h"
#include "engine/error.h"

namespace swinscope {

namespace {

std::string stage_merge(int s) { return "layers." + std::to_string(s) + ".downsample.reduction"; }

std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string r = "[";
  for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

// Global block index → its name prefix.
std::vector<std::string> block_prefixes(const SwinConfig& c) {
  std::vector<std::string> out;
  for (int s = 0; s < c.num_stages(); ++s)
    for (int b = 0; b < c.depths[s]; ++b) out.push_back(block_prefix(s, b));
  return out;
}

// C (M, N) = A (M, K) · W (N, K)ᵀ [+ bias], row-major (oneDNN's sgemm is row-major).
void linear(const float* a, const float* w, const float* bias, float* c, long M, int N, int K) {
  if (dnnl_sgemm('N', 'T', M, N, K, 1.f, a, K, w, K, 0.f, c, N) != dnnl_success)
    throw Error("float_reference_forward: oneDNN sgemm failed (" + std::to_string(M) + "x" + std::to_string(N) + "x" +
                    std::to_string(K) + ")",
                Error::Kind::Runtime);
  if (!bias) return;
#pragma omp parallel for schedule(static)
  for (long m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) c[m * N + n] += bias[n];
}

void add_bias(float* x, long rows, int N, const float* bias) {
  if (!bias) return;
#pragma omp parallel for schedule(static)
  for (long r = 0; r < rows; ++r)
    for (int n = 0; n < N; ++n) x[r * N + n] += bias[n];
}

float max_abs(const float* x, std::size_t n) {
  float m = 0.f;
#pragma omp parallel for reduction(max : m) schedule(static)
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

float nonzero_max_abs(const FloatTensor* t) {
  if (!t) return 0.f;
  float m = 0.f;
  for (float v : t->data) m = std::max(m, std::fabs(v));
  return m;
}

std::string refuse_fc1_bias(const Model& m, int global, const std::string& prefix, float max_bias) {
  return m.path.string() + ": block " + std::to_string(global) + " (" + prefix + ") is GELU-less (ReLU) but its FC1 bias '" +
         prefix + "mlp.fc1.bias' is non-zero (max |b| = " + std::to_string(max_bias) +
         "): the GELU-less int8 pipeline applies ReLU inside the FC1 GEMM and has no FC1 bias. Zero and freeze the bias "
         "while distilling the block (the paper's Algorithm 1), or keep the block GELU.";
}

}  // namespace

// ---- names ------------------------------------------------------------------------------

std::vector<std::string> int8_linear_names(const SwinConfig& c) {
  std::vector<std::string> out;
  for (int s = 0; s < c.num_stages(); ++s) {
    if (s > 0) out.push_back(stage_merge(s));
    for (int b = 0; b < c.depths[s]; ++b) {
      const std::string p = block_prefix(s, b);
      for (const char* l : {"attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"}) out.push_back(p + l);
    }
  }
  return out;
}

std::vector<std::string> int8_amax_names(const SwinConfig& c) {
  std::vector<std::string> out;
  for (int s = 0; s < c.num_stages(); ++s) {
    if (s > 0) out.push_back(input_amax_name(stage_merge(s)));
    for (int b = 0; b < c.depths[s]; ++b) {
      const std::string p = block_prefix(s, b);
      out.push_back(input_amax_name(p + "attn.qkv"));
      out.push_back(output_amax_name(p + "attn.qkv"));
      for (const char* t : {"attn.q_amax", "attn.k_amax", "attn.v_amax", "attn.softmax_amax"}) out.push_back(p + t);
      for (const char* l : {"attn.proj", "mlp.fc1", "mlp.fc2"}) {
        out.push_back(input_amax_name(p + l));
        out.push_back(output_amax_name(p + l));
      }
    }
  }
  return out;
}

std::vector<std::string> ivit_amax_names(const SwinConfig& c) {
  std::vector<std::string> out = {"patch_embed.proj.input_amax", "patch_embed.norm.input_amax"};
  for (int s = 0; s < c.num_stages(); ++s) {
    if (s > 0) out.push_back("layers." + std::to_string(s) + ".downsample.norm.input_amax");
    for (int b = 0; b < c.depths[s]; ++b) {
      const std::string p = block_prefix(s, b);
      for (const char* t : {"norm1.input_amax", "attn.logits_amax", "norm2.input_amax"}) out.push_back(p + t);
    }
  }
  out.push_back("norm.input_amax");
  out.push_back("norm.output_amax");
  return out;
}

std::string missing_ivit_range(const Model& model) {
  for (const auto& n : ivit_amax_names(model.config))
    if (!model.find(n)) return n;
  return {};
}

Model dequantize_model(const Model& int8) {
  if (!int8.is_int8()) throw Error(int8.path.string() + ": dequantize_model needs an int8 model");
  Model fp = int8;
  fp.precision = "fp32";
  fp.calibration.clear();
  fp.int8_tensors.clear();
  for (const auto& l : int8_linear_names(int8.config)) {
    const auto& q = int8.int8_tensor(l + ".weight");
    const auto& s = int8.tensor(weight_scale_name(l)).data;
    FloatTensor w{q.shape, std::vector<float>(q.data.size())};
    const std::size_t K = q.data.size() / static_cast<std::size_t>(q.shape.at(0));
    for (std::size_t i = 0; i < q.data.size(); ++i) w.data[i] = static_cast<float>(q.data[i]) * s[s.size() == 1 ? 0 : i / K];
    fp.tensors[l + ".weight"] = std::move(w);
    fp.tensors.erase(weight_scale_name(l));
  }
  for (const auto& n : int8_amax_names(int8.config)) fp.tensors.erase(n);
  for (const auto& n : ivit_amax_names(int8.config)) fp.tensors.erase(n);
  return fp;
}

Model with_ivit_ranges(const Model& int8, const std::map<std::string, float>& amax) {
  Model q = int8;
  for (const auto& name : ivit_amax_names(int8.config)) {
    const auto it = amax.find(name);
    if (it == amax.end() || !std::isfinite(it->second) || it->second < 0.f)
      throw Error("quantize: calibration has no usable range for '" + name + "'", Error::Kind::Runtime);
    q.tensors[name] = FloatTensor{{1}, {std::max(it->second, 1e-8f)}};
  }
  return q;
}

bool is_unsigned_amax(const Model& m, const std::string& name) {
  const auto prefixes = block_prefixes(m.config);
  for (std::size_t g = 0; g < prefixes.size(); ++g) {
    if (name.rfind(prefixes[g], 0) != 0) continue;
    const std::string rest = name.substr(prefixes[g].size());
    if (rest == "attn.softmax_amax") return true;
    return m.activations.at(g) == Activation::ReLU && (rest == "mlp.fc1.output_amax" || rest == "mlp.fc2.input_amax");
  }
  return false;
}

std::string_view calibration_method_name(CalibrationMethod m) {
  switch (m) {
    case CalibrationMethod::Max: return "max";
    case CalibrationMethod::Percentile: return "percentile";
    case CalibrationMethod::Mse: return "mse";
  }
  return "?";
}

CalibrationMethod parse_calibration_method(const std::string& s) {
  for (auto m : {CalibrationMethod::Max, CalibrationMethod::Percentile, CalibrationMethod::Mse})
    if (s == calibration_method_name(m)) return m;
  throw Error("unknown calibration method '" + s + "' (valid: max, percentile, mse)");
}

std::string_view weight_quant_name(WeightQuant w) { return w == WeightQuant::PerTensor ? "per-tensor" : "per-channel"; }

WeightQuant parse_weight_quant(const std::string& s) {
  for (auto w : {WeightQuant::PerTensor, WeightQuant::PerChannel})
    if (s == weight_quant_name(w)) return w;
  throw Error("unknown weight quantization '" + s + "' (valid: per-tensor, per-channel)");
}

// ---- float reference forward ------------------------------------------------------------

void float_reference_forward(const Model& m, const float* input, int batch, float* logits, const Observer& observe) {
  using namespace cpu;
  if (m.is_int8()) throw Error(m.path.string() + ": float_reference_forward needs the float model, this one is int8");
  const auto& c = m.config;
  const float eps = static_cast<float>(c.layer_norm_eps);
  auto t = [&](const std::string& n) { return m.tensor(n).data.data(); };
  auto opt = [&](const std::string& n) -> const float* {
    const auto* f = m.find(n);
    return f ? f->data.data() : nullptr;
  };
  auto obs = [&](const std::string& name, const float* p, std::size_t n) {
    if (observe) observe(name, p, n);
  };
  const long B = batch;
  std::size_t x_elems = static_cast<std::size_t>(c.img_size) * c.img_size * c.in_chans, hid = 0, score = 0;
  for (int s = 0; s < c.num_stages(); ++s) {
    const std::size_t L = static_cast<std::size_t>(c.stage_resolution(s)) * c.stage_resolution(s);
    x_elems = std::max(x_elems, L * 4 * static_cast<std::size_t>(c.stage_dim(s)));
    hid = std::max(hid, L * static_cast<std::size_t>(c.mlp_hidden(s)));
    score = std::max(score, L * c.num_heads[s] * c.stage_window(s) * c.stage_window(s));
  }
  std::vector<float> x(B * x_elems), xw(B * x_elems), qkv(3 * B * x_elems), part(B * x_elems), scores(B * score),
      ctx(B * x_elems), attn(B * x_elems), hidden(B * hid), y(B * x_elems);

  const int P = c.stage_resolution(0);
  obs("patch_embed.proj.input_amax", input, static_cast<std::size_t>(B) * c.in_chans * c.img_size * c.img_size);
  patch_im2col(input, xw.data(), batch, c.in_chans, c.img_size, c.patch_size);
  linear(xw.data(), t("patch_embed.proj.weight"), t("patch_embed.proj.bias"), x.data(), B * P * P, c.embed_dim,
         c.in_chans * c.patch_size * c.patch_size);
  obs("patch_embed.norm.input_amax", x.data(), static_cast<std::size_t>(B) * P * P * c.embed_dim);
  layernorm_rows(x.data(), x.data(), B * P * P, c.embed_dim, t("patch_embed.norm.weight"), t("patch_embed.norm.bias"), eps);
  obs("patch_embed.output", x.data(), static_cast<std::size_t>(B) * P * P * c.embed_dim);

  int global = 0;
  for (int s = 0; s < c.num_stages(); ++s) {
    const int H = c.stage_resolution(s), C = c.stage_dim(s), w = c.stage_window(s), heads = c.num_heads[s];
    const long M = B * H * H;
    if (s > 0) {
      const std::string d = "layers." + std::to_string(s) + ".downsample.";
      const int Cp = c.stage_dim(s - 1);
      obs(d + "norm.input_amax", x.data(), static_cast<std::size_t>(B) * c.stage_resolution(s - 1) * c.stage_resolution(s - 1) * Cp);
      merge_gather_ln(x.data(), xw.data(), batch, c.stage_resolution(s - 1), Cp, t(d + "norm.weight"), t(d + "norm.bias"), eps);
      obs(input_amax_name(stage_merge(s)), xw.data(), static_cast<std::size_t>(M) * 4 * Cp);
      linear(xw.data(), t(d + "reduction.weight"), nullptr, x.data(), M, 2 * Cp, 4 * Cp);
      obs(d + "output", x.data(), static_cast<std::size_t>(M) * C);
    }
    std::vector<float> rel(static_cast<std::size_t>(heads) * w * w * w * w);
    for (int b = 0; b < c.depths[s]; ++b, ++global) {
      const std::string p = block_prefix(s, b);
      const WindowGeometry geo{batch, H, C, w, c.stage_shift(s, b), heads};
      const auto n = static_cast<std::size_t>(M) * C;
      obs(p + "norm1.input_amax", x.data(), n);
      ln_shift_partition(x.data(), xw.data(), geo, t(p + "norm1.weight"), t(p + "norm1.bias"), eps);
      obs(input_amax_name(p + "attn.qkv"), xw.data(), n);
      linear(xw.data(), t(p + "attn.qkv.weight"), nullptr, qkv.data(), M, 3 * C, C);
      obs(output_amax_name(p + "attn.qkv"), qkv.data(), 3 * n);
      add_bias(qkv.data(), M, 3 * C, t(p + "attn.qkv.bias"));
      static const char* kParts[3] = {"attn.q_amax", "attn.k_amax", "attn.v_amax"};
      for (int k = 0; k < 3; ++k) {
        for (long r = 0; r < M; ++r)
          std::copy_n(qkv.data() + r * 3 * C + k * C, C, part.data() + r * C);
        obs(p + kParts[k], part.data(), n);
      }
      expand_relative_position_bias(t(p + "attn.relative_position_bias_table"), rel.data(), w, heads);
      attention_scores(qkv.data(), scores.data(), geo);
      if (observe) {  // the logits the integer softmax quantizes: scaled scores + relative position bias (no mask)
        const std::size_t NN = static_cast<std::size_t>(w) * w * w * w, per_head = static_cast<std::size_t>(w) * w * w * w;
        std::vector<float> logits(static_cast<std::size_t>(M) * heads * w * w);
        for (std::size_t i = 0; i < logits.size(); ++i) logits[i] = scores[i] + rel[(i / per_head) % heads * NN + i % per_head];
        obs(p + "attn.logits_amax", logits.data(), logits.size());
      }
      softmax_bias_mask(scores.data(), rel.data(), geo);
      obs(p + "attn.softmax", scores.data(), static_cast<std::size_t>(M) * heads * w * w);
      attention_av(scores.data(), qkv.data(), ctx.data(), geo);
      obs(input_amax_name(p + "attn.proj"), ctx.data(), n);
      linear(ctx.data(), t(p + "attn.proj.weight"), nullptr, attn.data(), M, C, C);
      obs(output_amax_name(p + "attn.proj"), attn.data(), n);
      add_bias(attn.data(), M, C, t(p + "attn.proj.bias"));
      window_reverse_residual_ln(attn.data(), x.data(), xw.data(), geo, t(p + "norm2.weight"), t(p + "norm2.bias"), eps);
      obs(p + "norm2.input_amax", x.data(), n);
      obs(input_amax_name(p + "mlp.fc1"), xw.data(), n);
      const int hd = c.mlp_hidden(s);
      const auto nh = static_cast<std::size_t>(M) * hd;
      linear(xw.data(), t(p + "mlp.fc1.weight"), nullptr, hidden.data(), M, hd, C);
      const float* fc1_bias = opt(p + "mlp.fc1.bias");
      if (m.activations.at(static_cast<std::size_t>(global)) == Activation::GELU) {
        obs(output_amax_name(p + "mlp.fc1"), hidden.data(), nh);
        add_bias(hidden.data(), M, hd, fc1_bias);
#pragma omp parallel for schedule(static)
        for (std::size_t i = 0; i < nh; ++i)
          hidden[i] = 0.5f * hidden[i] * (1.f + std::erf(hidden[i] * 0.70710678118654752f));
      } else {
        add_bias(hidden.data(), M, hd, fc1_bias);
#pragma omp parallel for schedule(static)
        for (std::size_t i = 0; i < nh; ++i) hidden[i] = std::max(hidden[i], 0.f);
        obs(output_amax_name(p + "mlp.fc1"), hidden.data(), nh);
      }
      obs(input_amax_name(p + "mlp.fc2"), hidden.data(), nh);
      linear(hidden.data(), t(p + "mlp.fc2.weight"), nullptr, y.data(), M, C, hd);
      obs(output_amax_name(p + "mlp.fc2"), y.data(), n);
      const float* b2 = t(p + "mlp.fc2.bias");
#pragma omp parallel for schedule(static)
      for (long r = 0; r < M; ++r)
        for (int k = 0; k < C; ++k) x[r * C + k] += y[r * C + k] + b2[k];
      obs(p + "output", x.data(), n);
    }
  }
  const int L = c.stage_resolution(c.num_stages() - 1);
  std::vector<float> pooled(static_cast<std::size_t>(B) * c.num_features());
  obs("norm.input_amax", x.data(), static_cast<std::size_t>(B) * L * L * c.num_features());
  ln_mean_pool(x.data(), xw.data(), pooled.data(), batch, L * L, c.num_features(), t("norm.weight"), t("norm.bias"), eps);
  obs("norm.output_amax", xw.data(), static_cast<std::size_t>(B) * L * L * c.num_features());
  linear(pooled.data(), t("head.fc.weight"), t("head.fc.bias"), logits, B, c.num_classes, c.num_features());
}

// ---- histogram calibration ---------------------------------------------------------------

void CalibrationHistogram::collect(const float* x, std::size_t n) {
  if (n == 0) return;
  const float mx = max_abs(x, n);
  if (!std::isfinite(mx)) throw Error("calibration: a non-finite value reached a quantized tensor", Error::Kind::Runtime);
  m_max = std::max(m_max, mx);
  if (m_counts.empty()) {
    if (mx == 0.f) {
      m_zeros += static_cast<double>(n);
      return;
    }
    m_width = static_cast<double>(mx) / m_initial_bins;
    m_counts.assign(static_cast<std::size_t>(m_initial_bins), 0.0);
    m_counts[0] += m_zeros;
    m_zeros = 0;
  } else if (mx > m_width * static_cast<double>(m_counts.size())) {
    m_counts.resize(static_cast<std::size_t>(std::ceil(static_cast<double>(mx) / m_width)), 0.0);
  }
  const double inv = 1.0 / m_width;
  const std::size_t last = m_counts.size() - 1;
  // Per-thread histograms merged at the end keep the counts exact and the pass parallel.
#pragma omp parallel
  {
    std::vector<double> local(m_counts.size(), 0.0);
#pragma omp for schedule(static) nowait
    for (std::size_t i = 0; i < n; ++i)
      local[std::min(static_cast<std::size_t>(std::fabs(x[i]) * inv), last)] += 1.0;
#pragma omp critical
    for (std::size_t b = 0; b < local.size(); ++b) m_counts[b] += local[b];
  }
}

double CalibrationHistogram::total() const {
  double t = m_zeros;
  for (double c : m_counts) t += c;
  return t;
}

float CalibrationHistogram::percentile_amax(double percentile) const {
  if (m_counts.empty()) return 0.f;
  const double target = total() * percentile / 100.0;
  double cum = 0;
  for (std::size_t i = 0; i < m_counts.size(); ++i) {
    cum += m_counts[i];
    if (cum >= target) return static_cast<float>(static_cast<double>(i + 1) * m_width);
  }
  return static_cast<float>(static_cast<double>(m_counts.size()) * m_width);
}

float CalibrationHistogram::mse_amax(bool unsigned_range) const {
  if (m_counts.empty()) return 0.f;
  const std::size_t nb = m_counts.size();
  const double bound = unsigned_range ? 255.0 : 127.0;
  const std::size_t start = std::min<std::size_t>(128, nb - 1);
  const std::size_t stride = std::max<std::size_t>(1, (nb - start + 2047) / 2048);
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_i = nb - 1;
  for (std::size_t i = start; i < nb; i += stride) {
    const double amax = (static_cast<double>(i) + 0.5) * m_width;
    const double scale = amax / bound;
    double err = 0;
    for (std::size_t j = 0; j < nb; ++j) {
      if (m_counts[j] == 0) continue;
      const double cj = (static_cast<double>(j) + 0.5) * m_width;
      const double q = std::min(std::nearbyint(cj / scale), bound) * scale;
      err += (q - cj) * (q - cj) * m_counts[j];
    }
    if (err < best) {
      best = err;
      best_i = i;
    }
  }
  return static_cast<float>((static_cast<double>(best_i) + 0.5) * m_width);
}

Calibrator::Calibrator(const Model& fp32, const QuantizeOptions& opts) : m_model(fp32), m_opts(opts) {
  check_quantizable(fp32);
  if (opts.threads > 0) omp_set_num_threads(opts.threads);
  if (opts.method == CalibrationMethod::Percentile && !(opts.percentile > 0 && opts.percentile <= 100))
    throw Error("calibration: percentile must be in (0, 100], found " + std::to_string(opts.percentile));
}

void Calibrator::observe(const float* input, int batch) {
  std::vector<float> logits(static_cast<std::size_t>(batch) * m_model.config.num_classes);
  float_reference_forward(m_model, input, batch, logits.data(), [&](const std::string& name, const float* x, std::size_t n) {
    if (!name.ends_with("_amax")) return;  // the float-only taps (softmax, block outputs) that numerics compares
    const float mx = max_abs(x, n);
    if (!std::isfinite(mx))
      throw Error(m_model.path.string() + ": calibration: the activation '" + name +
                      "' reached a non-finite value (the model overflows on the calibration images)",
                  Error::Kind::Runtime);
    if (m_opts.method == CalibrationMethod::Max) {
      float& cur = m_max[name];
      cur = std::max(cur, mx);
    } else {
      m_hist[name].collect(x, n);
    }
  });
  m_images += batch;
}

std::map<std::string, float> Calibrator::amax() const {
  if (m_images == 0) throw Error("calibration: no images were observed");
  std::map<std::string, float> out;
  if (m_opts.method == CalibrationMethod::Max) return m_max;
  for (const auto& [name, h] : m_hist)
    out[name] = m_opts.method == CalibrationMethod::Percentile ? h.percentile_amax(m_opts.percentile)
                                                              : h.mse_amax(is_unsigned_amax(m_model, name));
  return out;
}

// ---- quantization ------------------------------------------------------------------------

void quantize_weight(const FloatTensor& w, WeightQuant mode, Int8Tensor& q, FloatTensor& scale) {
  const std::int64_t N = w.shape.at(0);
  q.shape = w.shape;
  q.data.resize(static_cast<std::size_t>(w.numel()));
  const std::int64_t groups = mode == WeightQuant::PerChannel ? N : 1;
  const std::int64_t per = w.numel() / groups;
  scale.shape = {groups};
  scale.data.resize(static_cast<std::size_t>(groups));
  for (std::int64_t g = 0; g < groups; ++g) {
    const float* src = w.data.data() + g * per;
    float amax = 0.f;
    for (std::int64_t i = 0; i < per; ++i) amax = std::max(amax, std::fabs(src[i]));
    // An all-zero row quantizes to zeros under any scale; 1/127 keeps the scale positive.
    const float s = amax > 0.f ? amax / 127.f : 1.f / 127.f;
    scale.data[static_cast<std::size_t>(g)] = s;
    for (std::int64_t i = 0; i < per; ++i)
      q.data[static_cast<std::size_t>(g * per + i)] =
          static_cast<std::int8_t>(std::clamp(std::nearbyint(src[i] / s), -127.f, 127.f));
  }
}

void check_quantizable(const Model& fp32) {
  if (fp32.is_int8()) throw Error(fp32.path.string() + ": already an int8 model; quantize the float model");
  validate_model_tensors(fp32);
  const auto prefixes = block_prefixes(fp32.config);
  for (std::size_t g = 0; g < prefixes.size(); ++g)
    if (fp32.activations.at(g) == Activation::ReLU) {
      const float mb = nonzero_max_abs(fp32.find(prefixes[g] + "mlp.fc1.bias"));
      if (mb != 0.f) throw Error(refuse_fc1_bias(fp32, static_cast<int>(g), prefixes[g], mb));
    }
}

Model quantize_model(const Model& fp32, const std::map<std::string, float>& amax, const QuantizeOptions& opts) {
  check_quantizable(fp32);
  const auto& c = fp32.config;
  const auto prefixes = block_prefixes(c);
  Model q;
  q.config = c;
  q.activations = fp32.activations;
  q.preprocess = fp32.preprocess;
  q.classes = fp32.classes;
  q.precision = "int8";
  q.path = fp32.path;
  q.layout = SourceLayout::SwinScope;
  const auto linears = int8_linear_names(c);
  for (const auto& l : linears) {
    Int8Tensor w;
    FloatTensor s;
    quantize_weight(fp32.tensor(l + ".weight"), opts.weights, w, s);
    q.int8_tensors[l + ".weight"] = std::move(w);
    q.tensors[weight_scale_name(l)] = std::move(s);
  }
  for (const auto& [name, t] : fp32.tensors) {
    if (q.int8_tensors.count(name)) continue;
    bool relu_fc1_bias = false;
    for (std::size_t g = 0; g < prefixes.size(); ++g)
      relu_fc1_bias |= fp32.activations[g] == Activation::ReLU && name == prefixes[g] + "mlp.fc1.bias";
    if (!relu_fc1_bias) q.tensors[name] = t;
  }
  for (const auto& name : int8_amax_names(c)) {
    float a = 1.f;
    if (!name.ends_with("attn.softmax_amax")) {
      auto it = amax.find(name);
      if (it == amax.end()) throw Error("quantize: calibration has no range for '" + name + "'", Error::Kind::Runtime);
      if (!std::isfinite(it->second) || it->second < 0.f)
        throw Error("quantize: calibrated range of '" + name + "' is " + std::to_string(it->second), Error::Kind::Runtime);
      // A tensor that was 0 on every calibration image: any positive range quantizes it exactly.
      a = std::max(it->second, 1e-8f);
    }
    q.tensors[name] = FloatTensor{{1}, {a}};
  }
  for (const auto& name : ivit_amax_names(c))  // int8-ivit's ranges, when this calibration observed them
    if (auto it = amax.find(name); it != amax.end() && std::isfinite(it->second) && it->second >= 0.f)
      q.tensors[name] = FloatTensor{{1}, {std::max(it->second, 1e-8f)}};
  nlohmann::json cal{{"method", std::string(calibration_method_name(opts.method))},
                     {"images", opts.images},
                     {"seed", opts.seed},
                     {"weights", std::string(weight_quant_name(opts.weights))},
                     {"data", opts.data}};
  if (opts.method == CalibrationMethod::Percentile) cal["percentile"] = opts.percentile;
  q.calibration = cal.dump();
  validate_int8_model(q);
  return q;
}

void validate_int8_model(const Model& m) {
  const std::string file = m.path.string();
  if (!m.is_int8()) throw Error(file + ": not an int8 model (precision " + m.precision + ")");
  const auto& c = m.config;
  for (const auto& l : int8_linear_names(c)) {
    const std::string wn = l + ".weight";
    const auto* w = m.find_int8(wn);
    if (!w) {
      throw Error(file + ": tensor '" + wn + "' must be I8 in an int8 model" + (m.find(wn) ? " (found F32)" : " (missing)"));
    }
    if (w->shape.size() != 2) throw Error(file + ": tensor '" + wn + "' has shape " + shape_str(w->shape) + ", expected 2-D");
    const std::int64_t N = w->shape[0];
    const auto* s = m.find(weight_scale_name(l));
    if (!s) throw Error(file + ": missing tensor '" + weight_scale_name(l) + "' (expected shape [1] or [" + std::to_string(N) + "])");
    if (s->shape != std::vector<std::int64_t>{1} && s->shape != std::vector<std::int64_t>{N})
      throw Error(file + ": tensor '" + weight_scale_name(l) + "' has shape " + shape_str(s->shape) + ", expected [1] or [" +
                  std::to_string(N) + "]");
    for (float v : s->data)
      if (!(std::isfinite(v) && v > 0.f))
        throw Error(file + ": tensor '" + weight_scale_name(l) + "' holds " + std::to_string(v) + ", expected finite > 0");
  }
  for (const auto& [name, t] : m.int8_tensors) {
    bool known = false;
    for (const auto& l : int8_linear_names(c)) known |= name == l + ".weight";
    if (!known) throw Error(file + ": I8 tensor '" + name + "' is not a quantized GEMM weight of this model");
  }
  for (const auto& name : int8_amax_names(c)) {
    const auto* a = m.find(name);
    if (!a) throw Error(file + ": missing tensor '" + name + "' (expected shape [1]: the calibrated range)");
    if (a->shape != std::vector<std::int64_t>{1})
      throw Error(file + ": tensor '" + name + "' has shape " + shape_str(a->shape) + ", expected [1]");
    if (!(std::isfinite(a->data[0]) && a->data[0] > 0.f))
      throw Error(file + ": tensor '" + name + "' holds " + std::to_string(a->data[0]) + ", expected finite > 0");
  }
  const auto prefixes = block_prefixes(c);
  for (std::size_t g = 0; g < prefixes.size(); ++g)
    if (m.activations.at(g) == Activation::ReLU) {
      const float mb = nonzero_max_abs(m.find(prefixes[g] + "mlp.fc1.bias"));
      if (mb != 0.f) throw Error(refuse_fc1_bias(m, static_cast<int>(g), prefixes[g], mb));
    }
  nlohmann::json cal;
  try {
    cal = nlohmann::json::parse(m.calibration);
  } catch (const nlohmann::json::exception&) {
    throw Error(file + ": metadata swinscope.calibration is missing or not JSON (an int8 model records its calibration)");
  }
  if (!cal.is_object() || !cal.contains("method"))
    throw Error(file + ": metadata swinscope.calibration is not a JSON object with a \"method\"");
}

}  // namespace swinscope
