#pragma once
// Post-training quantization (PTQ) of a SWIN model to SwinScope's int8 format, and the
// float forward pass that calibration observes.
//
// ---- The int8 model file ---------------------------------------------------------------
// A SwinScope safetensors file with metadata swinscope.precision = "int8" and
// swinscope.calibration = {"method", "percentile", "images", "seed", "weights", "data"}
// (JSON). Every tensor keeps timm's name; the int8 GEMMs add, for each quantized linear
// <L> (per block <B> = layers.S.blocks.I.: <B>attn.qkv, <B>attn.proj, <B>mlp.fc1, <B>mlp.fc2;
// per stage S ≥ 1: layers.S.downsample.reduction):
//   <L>.weight         I8  (out, in)  symmetric, round half to even, clamp ±127
//   <L>.weight_scale   F32 (1) per tensor or (out) per output channel: W ≈ weight · weight_scale
//   <L>.input_amax     F32 (1)  calibrated |x| range of the GEMM input
//   <L>.output_amax    F32 (1)  of the GEMM output before its bias (blocks only: the merge
//                               GEMM writes float); for fc1 of a ReLU block, after the ReLU
// and per block
//   <B>attn.q_amax, <B>attn.k_amax, <B>attn.v_amax  F32 (1)  q, k, v after the qkv bias
//                               (q before the head_dim^-1/2 scale)
//   <B>attn.softmax_amax  F32 (1) = 1: the probabilities, stored u8 with scale 1/255
// The patch embedding, LayerNorms, biases, relative position tables and the head stay F32.
// GELU-less (ReLU) blocks carry no mlp.fc1.bias: ReLU runs inside the FC1 GEMM.
// Scales: a tensor is quantized with s = amax / 127, except the non-negative ones — the
// ReLU output (<B>mlp.fc1.output and <B>mlp.fc2.input of a ReLU block) and the softmax —
// with s = amax / 255 (u8).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"

namespace swinscope {

// ---- names --------------------------------------------------------------------------
// Every quantized linear (prefix <L>), in forward order.
std::vector<std::string> int8_linear_names(const SwinConfig& config);
// Every activation amax tensor name, in forward order (softmax_amax included).
std::vector<std::string> int8_amax_names(const SwinConfig& config);
// The further ranges the integer-only variant (int8-ivit, engine/cpu/ivit_plan.h) needs: the
// input image, the patch embedding before its LayerNorm, the residual stream at every
// LayerNorm's input (norm1, norm2, the patch mergings' and the final norm), the attention
// logits (scaled scores + relative position bias) and the final LayerNorm's output. quantize
// writes them beside int8_amax_names; files without them run every variant but int8-ivit.
std::vector<std::string> ivit_amax_names(const SwinConfig& config);
// The first of ivit_amax_names the file lacks; empty when it holds them all.
std::string missing_ivit_range(const Model& model);
// A float model from an int8 one: every quantized GEMM weight dequantized (q · scale), the
// float tensors kept, the calibrated ranges dropped — to calibrate what an int8 file lacks
// (int8-ivit's ranges) when its float source is not at hand.
Model dequantize_model(const Model& int8);
// `int8` with int8-ivit's ranges (ivit_amax_names) taken from `amax` (calibrated on
// dequantize_model(int8)); its weights and other ranges unchanged. Throws naming a missing range.
Model with_ivit_ranges(const Model& int8, const std::map<std::string, float>& amax);
inline std::string weight_scale_name(const std::string& linear) { return linear + ".weight_scale"; }
inline std::string input_amax_name(const std::string& linear) { return linear + ".input_amax"; }
inline std::string output_amax_name(const std::string& linear) { return linear + ".output_amax"; }
// True for the amax tensors quantized to u8 (amax / 255) in `model`: the ReLU outputs.
bool is_unsigned_amax(const Model& model, const std::string& amax_name);

// ---- options --------------------------------------------------------------------------
enum class CalibrationMethod { Max, Percentile, Mse };
enum class WeightQuant { PerTensor, PerChannel };
std::string_view calibration_method_name(CalibrationMethod m);
CalibrationMethod parse_calibration_method(const std::string& s);  // throws Error listing the names
std::string_view weight_quant_name(WeightQuant w);
WeightQuant parse_weight_quant(const std::string& s);

struct QuantizeOptions {
  CalibrationMethod method = CalibrationMethod::Percentile;
  double percentile = 99.99;  // for Percentile, in (0, 100]
  WeightQuant weights = WeightQuant::PerTensor;  // FasterTransformer's choice
  int threads = 0;  // OpenMP threads for calibration; 0: leave as is
  // Recorded in swinscope.calibration only:
  long images = 0;
  std::uint64_t seed = 0;
  std::string data;  // what the calibration images were ("random N(0,1)", a folder)
};

// ---- the observed float forward ------------------------------------------------------
// Called with every tensor the int8 plan quantizes, under its amax tensor's name, and with
// the float tensors engine/quant_error.h compares too: "patch_embed.output", per block
// "<B>attn.softmax" (probabilities, (B·nW, heads, N, N)) and "<B>output" (the residual stream
// after the block), per stage S ≥ 1 "layers.S.downsample.output" — names that end in no
// "_amax", so calibration skips them.
using Observer = std::function<void(const std::string& amax_name, const float* data, std::size_t n)>;

// The FP32 forward pass (same numbers as the FP32 plan, to float rounding), arranged like
// the int8 plan so each quantized tensor exists on its own: GEMMs without their bias, the
// bias added after. `observe` may be empty. Allocates its buffers per call: calibration
// work, not an inference path. `model` must be fp32.
void float_reference_forward(const Model& model, const float* input, int batch, float* logits, const Observer& observe);

// ---- calibration ----------------------------------------------------------------------
// pytorch-quantization's HistogramCalibrator (which FasterTransformer's SWIN recipe uses):
// a histogram of |x| over [0, first max] in 2048 bins; a later batch with a larger max
// adds bins of the same width, so earlier counts never move.
class CalibrationHistogram {
 public:
  explicit CalibrationHistogram(int bins = 2048) : m_initial_bins(bins) {}
  void collect(const float* x, std::size_t n);
  float max() const { return m_max; }
  double total() const;
  std::size_t bins() const { return m_counts.size(); }
  double bin_width() const { return m_width; }
  // The upper edge of the bin where the cumulative share of |x| reaches `percentile` (so
  // never 0, and never clips inside that bin; pytorch-quantization returns its lower edge).
  float percentile_amax(double percentile) const;
  // pytorch-quantization's _compute_amax_mse: the bin centre c (from bin 128 on) whose
  // fake quantization with amax = c has the least count-weighted squared error over the
  // bin centres; 255 levels when `unsigned_range`, else ±127. At most 2048 candidates
  // (a stride when the histogram has grown beyond that).
  float mse_amax(bool unsigned_range) const;

 private:
  int m_initial_bins = 2048;
  double m_width = 0;
  std::vector<double> m_counts;
  double m_zeros = 0;  // |x| = 0 seen before the first non-zero max (no width yet)
  float m_max = 0.f;
};

class Calibrator {
 public:
  Calibrator(const Model& fp32, const QuantizeOptions& opts);
  // One float forward over `batch` images (batch, in_chans, img, img), observing everything.
  void observe(const float* input, int batch);
  long images_seen() const { return m_images; }
  // Per amax tensor name, by the chosen method. Throws if nothing was observed.
  std::map<std::string, float> amax() const;

 private:
  const Model& m_model;
  QuantizeOptions m_opts;
  std::map<std::string, CalibrationHistogram> m_hist;
  std::map<std::string, float> m_max;
  long m_images = 0;
};

// ---- quantization ---------------------------------------------------------------------
// Throws (before any calibration work) when `fp32` cannot become an int8 model: it is int8
// already, or a GELU-less block has a non-zero FC1 bias.
void check_quantizable(const Model& fp32);

// The int8 model: weights quantized per `opts.weights`, the amax tensors attached
// (softmax_amax = 1), swinscope.calibration recorded. The activation of each block comes
// from `fp32` (GELU, ReLU, or a mix). Refuses (Error naming the tensor) a GELU-less block
// whose FC1 bias is non-zero: ReLU inside the FC1 GEMM leaves no place for a bias.
Model quantize_model(const Model& fp32, const std::map<std::string, float>& amax, const QuantizeOptions& opts);

// Symmetric weight quantization of one (out, in) matrix: int8 values and 1 or `out` scales.
void quantize_weight(const FloatTensor& w, WeightQuant mode, Int8Tensor& q, FloatTensor& scale);

// Checks an int8 model beyond validate_model_tensors: each quantized weight is I8 with its
// scale ((1) or (out), finite, > 0), each amax present ((1), finite, > 0), the calibration
// record is a JSON object, and no GELU-less block has a non-zero FC1 bias. Throws Error
// naming the file and the tensor.
void validate_int8_model(const Model& model);

}  // namespace swinscope
