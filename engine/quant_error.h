#pragma once
// Per-stage quantization error (issue 15, "per-stage int8 error"): the signal-to-quantization-
// noise ratio of every block's intermediate tensors, int8 model against its FP32 source (or any
// two models of one architecture), on a few dataset images.
//
//   SQNR = 10 · log10(Σ ref² / Σ (ref − test)²)  dB, summed over every element of every image.
//
// Where the numbers come from. The reference side is float_reference_forward (engine/quantize.h),
// the float walk calibration observes; an int8 side is the CPU int8 plan itself, whose tensor
// tap (Plan::set_tensor_tap) dequantizes each stage's output (q · scale) into the same layout
// the float walk uses — window order for ln1 / qkv / q / k / v / ctx / proj, (window, head, i, j)
// for the softmax probabilities, token order for ln2 / fc1 / activation / fc2 / the block output.
// So the int8 numbers are the plan's own (AVX2 or plain loops, oneDNN GEMMs), not a re-derivation.
// Both sides name a tensor the same way (its amax tensor's name, plus "<B>attn.softmax",
// "<B>output", "patch_embed.output", "layers.S.downsample.output"); a size mismatch under one
// name is an error naming the tensor and both files, never a silent comparison of different
// layouts.
//
// Identical tensors (a model against itself) have no noise: SQNR = +inf, printed "inf". A tensor
// with no signal and some noise gives −inf.
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "engine/dataset.h"
#include "engine/evaluate.h"
#include "engine/model.h"
#include "engine/plan.h"

namespace swinscope {

// Σ ref² and Σ (ref − test)², accumulated in double over any number of tensors.
struct SqnrSum {
  double signal = 0;
  double noise = 0;
  std::size_t elements = 0;
  void add(const float* ref, const float* test, std::size_t n);
  double db() const;  // +inf when noise is 0 (identical), −inf when signal is 0 and noise is not
  bool empty() const { return elements == 0; }
};

// One SQNR over a pair of whole tensors.
double sqnr_db(const float* ref, const float* test, std::size_t n);

// The compared tensors of a block, in forward order.
struct SqnrPoint {
  const char* suffix;  // after the block prefix "layers.S.blocks.I."
  const char* column;  // short column title: "ln1", "qkv", ...
  const char* stage;   // the stage (ARCHITECTURE.md) whose output it is
  const char* what;    // a sentence for tooltips and --help
};
const std::vector<SqnrPoint>& sqnr_points();

struct SqnrBlockRow {
  int global = 0;  // block index over the whole model
  int stage = 0;   // SWIN stage (layer) index
  int index = 0;   // block within its stage
  std::string prefix;
  std::string activation_test, activation_ref;  // "gelu" / "relu"
  std::vector<SqnrSum> cells;                   // per sqnr_points(); empty() when a side lacks it
  SqnrSum input;                                // the residual stream entering the block
  // SQNR of the noise energy this block adds: Σ out² / (N_out − N_in), where N is the noise
  // energy of the residual stream. Assumes the new error is uncorrelated with the incoming one;
  // +inf when the block adds none. The block with the lowest value is the "worst" one.
  double added_db() const;
  const SqnrSum& output() const { return cells.back(); }
};

struct SqnrReport {
  std::string test_path, reference_path;
  std::string test_kind, reference_kind;  // "int8 CPU plan (int8-gelu)", "float reference walk"
  long images = 0;
  std::vector<SqnrBlockRow> blocks;
  std::vector<std::pair<std::string, SqnrSum>> merges;  // "layers.S.downsample.reduction.input_amax" / ".output"
  SqnrSum patch_embed;  // the stream entering block 0 (float in an int8 plan: usually +inf)
  SqnrSum logits;
  // The block whose own added noise is largest (lowest added_db); −1 when no block adds any.
  int worst_block() const;
};

// Measures `test` against `reference` on `images` images of `data`, evenly spaced over it (so an
// ImageFolder's classes all take part; all of them when it has fewer), preprocessed
// with the test model's settings), one image at a time. An fp32 model runs the float reference
// walk, an int8 model its CPU int8 plan: its default variant, or `int8_variant` when given
// (int8-ivit: the integer-only plan, whose taps are the codes it keeps, dequantized; the tensors it
// never forms — qkv, proj and fc2 outputs before their requantization, a GELU block's FC1
// output before its bias — stay empty). The two must
// share the architecture (SwinConfig); the error names both files otherwise. `progress` after
// every image.
SqnrReport measure_sqnr(const Model& test, const Model& reference, const Dataset& data, long images,
                        const ProgressFn& progress = {}, std::optional<Variant> int8_variant = std::nullopt);

}  // namespace swinscope
