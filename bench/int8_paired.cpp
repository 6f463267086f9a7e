// Paired latency comparison of SwinScope plans in one process: each iteration runs every
// plan once, back to back, in ABC then CBA order (so drift and a neighbour's load hit all
// alike), and the per-iteration ratios to the first plan are summarized by their median.
// On a shared machine this is far steadier than comparing medians of separate runs: two
// runs a few hundred milliseconds apart see nearly the same interference.
// Built and run by bench/cpu_int8.sh against a release build's libraries:
//   int8_paired --batch 8 --iterations 15 --warmup 2 A.int8.safetensors:int8-relu B.int8.safetensors:int8-gelu ...
// Prints one JSON object: per plan the runs, their median and min, and the per-iteration
// ratios to the first plan with their median.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/model.h"
#include "engine/plan.h"

using namespace swinscope;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Contender {
  std::string label;
  std::unique_ptr<Model> model;
  std::unique_ptr<Plan> plan;
  std::vector<double> ms;
};

}  // namespace

int main(int argc, char** argv) {
  int batch = 8, iterations = 15, warmup = 2;
  std::vector<std::string> specs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--batch" || a == "--iterations" || a == "--warmup") && i + 1 < argc) {
      const int v = std::atoi(argv[++i]);
      (a == "--batch" ? batch : a == "--iterations" ? iterations : warmup) = v;
    } else {
      specs.push_back(a);
    }
  }
  if (specs.size() < 2 || batch < 1 || iterations < 1) {
    std::cerr << "usage: int8_paired [--batch N] [--iterations N] [--warmup N] MODEL:VARIANT MODEL:VARIANT [...]\n";
    return 2;
  }
  try {
    std::vector<Contender> cs;
    for (const auto& s : specs) {
      const auto colon = s.rfind(':');
      if (colon == std::string::npos) throw Error(s + ": expected MODEL:VARIANT");
      Contender c;
      c.label = s.substr(colon + 1);
      c.model = std::make_unique<Model>(load_model(s.substr(0, colon)));
      PlanOptions po;
      po.variant = parse_variant(c.label);
      po.max_batch = batch;
      c.plan = make_plan(*c.model, po);
      cs.push_back(std::move(c));
    }
    const auto& cfg = cs[0].model->config;
    std::vector<float> input(static_cast<std::size_t>(batch) * cfg.in_chans * cfg.img_size * cfg.img_size);
    std::mt19937 rng(1);
    std::normal_distribution<float> nd;
    for (auto& v : input) v = nd(rng);
    std::vector<float> logits(static_cast<std::size_t>(batch) * cfg.num_classes);
    for (int w = 0; w < warmup; ++w)
      for (auto& c : cs) c.plan->run(input.data(), batch, logits.data());
    std::vector<std::vector<double>> ratios(cs.size());
    for (int it = 0; it < iterations; ++it) {
      std::vector<double> t(cs.size());
      for (std::size_t k = 0; k < cs.size(); ++k) {
        const std::size_t i = it % 2 ? cs.size() - 1 - k : k;
        const auto t0 = std::chrono::steady_clock::now();
        cs[i].plan->run(input.data(), batch, logits.data());
        t[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        cs[i].ms.push_back(t[i]);
      }
      for (std::size_t i = 0; i < cs.size(); ++i) ratios[i].push_back(t[i] / t[0]);
    }
    nlohmann::json out{{"batch", batch}, {"iterations", iterations}, {"warmup", warmup}, {"plans", nlohmann::json::array()}};
    for (std::size_t i = 0; i < cs.size(); ++i)
      out["plans"].push_back({{"variant", cs[i].label},
                              {"median_ms", median(cs[i].ms)},
                              {"min_ms", *std::min_element(cs[i].ms.begin(), cs[i].ms.end())},
                              {"median_ratio_to_first", median(ratios[i])},
                              {"runs_ms", cs[i].ms},
                              {"ratios_to_first", ratios[i]}});
    std::cout << out.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
