#include "engine/evaluate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/error.h"
#include "engine/preprocess.h"

namespace swinscope {

using Clock = std::chrono::steady_clock;

std::vector<TopK> top_k(const float* logits, int n, int k, const std::vector<std::string>& names) {
  const float mx = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i] - mx));
  std::vector<int> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  k = std::min(k, n);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::vector<TopK> out;
  for (int i = 0; i < k; ++i) {
    const int c = idx[static_cast<std::size_t>(i)];
    out.push_back({c, c < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(c)] : std::to_string(c),
                   static_cast<float>(std::exp(static_cast<double>(logits[c] - mx)) / sum), logits[c]});
  }
  return out;
}

namespace {

// Decodes items [first, first+count) into `input` slots with `load(item, out)`; returns
// which slots hold an image. Decoding runs in parallel; a failure is recorded for that item only.
template <class Load>
std::vector<int> decode_batch(std::size_t first, int count, const PreprocessConfig& pp, std::vector<float>& input,
                              std::vector<std::string>& errors, const Load& load) {
  const std::size_t per = static_cast<std::size_t>(pp.channels) * pp.crop * pp.crop;
  std::vector<std::vector<float>> tmp(static_cast<std::size_t>(count));
  errors.assign(static_cast<std::size_t>(count), {});
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < count; ++i) {
    auto& t = tmp[static_cast<std::size_t>(i)];
    t.resize(per);
    try {
      load(first + static_cast<std::size_t>(i), t.data());
    } catch (const std::exception& e) {
      errors[static_cast<std::size_t>(i)] = e.what();
    }
  }
  std::vector<int> ok;
  for (int i = 0; i < count; ++i) {
    if (!errors[static_cast<std::size_t>(i)].empty()) continue;
    std::copy(tmp[static_cast<std::size_t>(i)].begin(), tmp[static_cast<std::size_t>(i)].end(),
              input.begin() + static_cast<long>(ok.size() * per));
    ok.push_back(i);
  }
  return ok;
}

void report(const ProgressFn& progress, long done, long total, Clock::time_point t0) {
  if (!progress) return;
  const double el = std::chrono::duration<double>(Clock::now() - t0).count();
  Progress p{done, total, el > 0 ? done / el : 0, 0};
  p.eta_s = p.images_per_s > 0 ? (total - done) / p.images_per_s : 0;
  progress(p);
}

}  // namespace

ClassifyResult classify_images(Plan& plan, const Model& model, const std::vector<std::filesystem::path>& images, int topk,
                               int batch, const ProgressFn& progress, const std::atomic<bool>* cancel) {
  batch = std::max(1, std::min(batch, plan.max_batch()));
  ClassifyResult r;
  const auto& pp = model.preprocess;
  std::vector<float> input(static_cast<std::size_t>(batch) * pp.channels * pp.crop * pp.crop);
  std::vector<float> logits(static_cast<std::size_t>(batch) * model.config.num_classes);
  std::vector<std::string> errors;
  const auto t0 = Clock::now();
  for (std::size_t first = 0; first < images.size(); first += static_cast<std::size_t>(batch)) {
    if (cancel && cancel->load()) break;
    const int count = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(batch), images.size() - first));
    const auto ok = decode_batch(first, count, pp, input, errors,
                                 [&](std::size_t i, float* out) { preprocess_file(images[i], pp, out); });
    for (int i = 0; i < count; ++i)
      if (!errors[static_cast<std::size_t>(i)].empty()) r.skipped.push_back({images[first + static_cast<std::size_t>(i)], errors[static_cast<std::size_t>(i)]});
    if (!ok.empty()) {
      const auto f0 = Clock::now();
      plan.run(input.data(), static_cast<int>(ok.size()), logits.data());
      r.seconds += std::chrono::duration<double>(Clock::now() - f0).count();
      for (std::size_t j = 0; j < ok.size(); ++j)
        r.predictions.push_back({images[first + static_cast<std::size_t>(ok[j])],
                                 top_k(logits.data() + j * static_cast<std::size_t>(model.config.num_classes),
                                       model.config.num_classes, topk, model.classes)});
    }
    report(progress, static_cast<long>(first) + count, static_cast<long>(images.size()), t0);
  }
  return r;
}

EvalResult evaluate(Plan& plan, const Model& model, const Dataset& data, int batch, long limit, const ProgressFn& progress,
                    const std::atomic<bool>* cancel) {
  batch = std::max(1, std::min(batch, plan.max_batch()));
  const int nc = model.config.num_classes;
  const long total = limit > 0 ? std::min<long>(limit, static_cast<long>(data.images.size())) : static_cast<long>(data.images.size());
  std::vector<std::filesystem::path> paths;
  for (long i = 0; i < total; ++i) paths.push_back(data.images[static_cast<std::size_t>(i)].path);
  EvalResult r;
  r.per_class_total.assign(static_cast<std::size_t>(nc), 0);
  r.per_class_correct.assign(static_cast<std::size_t>(nc), 0);
  if (nc <= 100) r.confusion.assign(static_cast<std::size_t>(nc), std::vector<long>(static_cast<std::size_t>(nc), 0));
  r.predicted.assign(static_cast<std::size_t>(total), -1);
  const auto& pp = model.preprocess;
  std::vector<float> input(static_cast<std::size_t>(batch) * pp.channels * pp.crop * pp.crop);
  std::vector<float> logits(static_cast<std::size_t>(batch) * nc);
  std::vector<std::string> errors;
  const auto t0 = Clock::now();
  for (long first = 0; first < total; first += batch) {
    if (cancel && cancel->load()) {
      r.cancelled = true;
      break;
    }
    const int count = static_cast<int>(std::min<long>(batch, total - first));
    const auto ok = decode_batch(static_cast<std::size_t>(first), count, pp, input, errors, [&](std::size_t i, float* out) {
      preprocess_dataset_image(data, i, pp, out);
    });
    for (int i = 0; i < count; ++i)
      if (!errors[static_cast<std::size_t>(i)].empty()) r.skipped.push_back({paths[static_cast<std::size_t>(first + i)], errors[static_cast<std::size_t>(i)]});
    if (!ok.empty()) plan.run(input.data(), static_cast<int>(ok.size()), logits.data());
    for (std::size_t j = 0; j < ok.size(); ++j) {
      const long di = first + ok[j];
      const int label = data.images[static_cast<std::size_t>(di)].label;
      const float* l = logits.data() + j * static_cast<std::size_t>(nc);
      const auto top = top_k(l, nc, 5, model.classes);
      const int pred = top[0].index;
      r.predicted[static_cast<std::size_t>(di)] = pred;
      ++r.evaluated;
      if (label >= 0 && label < nc) {
        ++r.per_class_total[static_cast<std::size_t>(label)];
        if (pred == label) {
          ++r.top1_correct;
          ++r.per_class_correct[static_cast<std::size_t>(label)];
        }
        if (std::any_of(top.begin(), top.end(), [&](const TopK& t) { return t.index == label; })) ++r.top5_correct;
        if (!r.confusion.empty()) ++r.confusion[static_cast<std::size_t>(label)][static_cast<std::size_t>(pred)];
      }
    }
    report(progress, first + count, total, t0);
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.images_per_s = r.seconds > 0 ? r.evaluated / r.seconds : 0;
  return r;
}

}  // namespace swinscope
