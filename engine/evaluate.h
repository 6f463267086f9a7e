#pragma once
// Classification and evaluation on top of a Plan: batches images, decodes them in
// parallel, skips (and counts, with the reason) what cannot be decoded, reports progress,
// and stops when asked.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/dataset.h"
#include "engine/model.h"
#include "engine/plan.h"

namespace swinscope {

struct TopK {
  int index = 0;
  std::string name;
  float probability = 0.f;
  float logit = 0.f;
};

// Softmax over `logits` (n), then the k best, highest first (ties: lower index first).
std::vector<TopK> top_k(const float* logits, int n, int k, const std::vector<std::string>& names);

struct SkippedImage {
  std::filesystem::path path;
  std::string reason;
};

struct ImagePrediction {
  std::filesystem::path path;
  std::vector<TopK> top;
};

struct ClassifyResult {
  std::vector<ImagePrediction> predictions;  // in input order, skipped ones left out
  std::vector<SkippedImage> skipped;
  double seconds = 0;  // forward passes only
};

struct Progress {
  long done = 0;
  long total = 0;
  double images_per_s = 0;
  double eta_s = 0;
};
using ProgressFn = std::function<void(const Progress&)>;

ClassifyResult classify_images(Plan& plan, const Model& model, const std::vector<std::filesystem::path>& images, int topk,
                               int batch, const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

struct EvalResult {
  long evaluated = 0;
  long top1_correct = 0;
  long top5_correct = 0;
  double top1() const { return evaluated ? static_cast<double>(top1_correct) / evaluated : 0; }
  double top5() const { return evaluated ? static_cast<double>(top5_correct) / evaluated : 0; }
  double seconds = 0;        // wall time including decoding
  double images_per_s = 0;
  std::vector<SkippedImage> skipped;
  std::vector<long> per_class_total, per_class_correct;  // by label
  std::vector<std::vector<long>> confusion;             // [label][predicted], only when ≤ 100 classes
  std::vector<int> predicted;                           // top-1 per dataset image, -1 when skipped
  bool cancelled = false;
};

EvalResult evaluate(Plan& plan, const Model& model, const Dataset& data, int batch, long limit,
                    const ProgressFn& progress = {}, const std::atomic<bool>* cancel = nullptr);

}  // namespace swinscope
