// Training throughput of the libtorch SWIN (distill_cli/torch) on this machine's CPU.
//  1. The window-attention products, forward + backward, at a training step's shapes:
//     train::attention_matmul (one oneDNN sgemm per matrix) vs torch::matmul (libtorch's CPU
//     bmm), paired: each iteration runs both back to back, alternating which goes first, and
//     the per-iteration ratio is summarized by its median.
//  2. Whole AdamW training steps (forward, cross-entropy, backward, step) on random images
//     for a few batch sizes, interleaved round by round; median images per second.
// Built and run by bench/train_step.sh against a release build:
//   train_step CONFIG.json [--iterations 20] [--rounds 7]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "distill_cli/torch/swin.h"
#include "engine/config.h"

using namespace swinscope;

namespace {

double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// q·kᵀ then probs·v with their backward, for (windows, heads, 49, d) operands.
void attention_products(bool ours, const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  const auto qq = q.detach().requires_grad_(true), kk = k.detach().requires_grad_(true), vv = v.detach().requires_grad_(true);
  auto s = ours ? train::attention_matmul(qq, kk, true) : torch::matmul(qq, kk.transpose(-2, -1));
  auto p = torch::softmax(s, -1);
  auto o = ours ? train::attention_matmul(p, vv, false) : torch::matmul(p, vv);
  o.sum().backward();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: train_step CONFIG.json [--iterations N] [--rounds N]\n");
    return 2;
  }
  int iterations = 20, rounds = 7;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--iterations") iterations = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  std::ifstream f(argv[1]);
  std::stringstream text;
  text << f.rdbuf();
  const SwinConfig config = SwinConfig::from_json(text.str());
  std::printf("libtorch threads: %d\n", torch::get_num_threads());

  // 1. Attention products at batch 64: stage 1 (4 windows × 2 heads per image) and stage 2.
  torch::manual_seed(1);
  struct Shape { const char* name; int64_t windows, heads, d; };
  for (const Shape s : {Shape{"stage 1: 256 windows x 2 heads, 49x16", 256, 2, 16}, Shape{"stage 2: 64 windows x 4 heads, 49x16", 64, 4, 16}}) {
    auto q = torch::randn({s.windows, s.heads, 49, s.d}), k = torch::randn_like(q), v = torch::randn_like(q);
    for (int w = 0; w < 3; ++w) attention_products(true, q, k, v), attention_products(false, q, k, v);
    std::vector<double> ours, theirs, ratio;
    for (int i = 0; i < iterations; ++i) {
      double a = 0, b = 0;
      if (i % 2 == 0) {
        a = seconds([&] { attention_products(true, q, k, v); });
        b = seconds([&] { attention_products(false, q, k, v); });
      } else {
        b = seconds([&] { attention_products(false, q, k, v); });
        a = seconds([&] { attention_products(true, q, k, v); });
      }
      ours.push_back(a * 1e3), theirs.push_back(b * 1e3), ratio.push_back(b / a);
    }
    std::printf("%s: oneDNN %.2f ms, torch::matmul %.2f ms (medians of %d), speed-up %.2fx (median of paired ratios)\n",
                s.name, median(ours), median(theirs), iterations, median(ratio));
  }

  // 2. Whole training steps per batch size, interleaved.
  const std::vector<int64_t> batches{32, 64, 128};
  std::vector<std::vector<double>> rate(batches.size());
  auto net = std::make_shared<train::SwinImpl>(config);
  torch::optim::AdamW opt(net->trainable_parameters(), torch::optim::AdamWOptions(1e-3));
  const auto step = [&](const torch::Tensor& x, const torch::Tensor& y) {
    opt.zero_grad();
    torch::nn::functional::cross_entropy(net->forward(x), y).backward();
    opt.step();
  };
  for (int r = 0; r < rounds + 1; ++r) {
    for (std::size_t j = 0; j < batches.size(); ++j) {
      const auto B = batches[j];
      auto x = torch::randn({B, config.in_chans, config.img_size, config.img_size});
      auto y = torch::randint(0, config.num_classes, {B});
      const int steps = static_cast<int>(1024 / B);
      const double t = seconds([&] { for (int i = 0; i < steps; ++i) step(x, y); });
      if (r > 0) rate[j].push_back(static_cast<double>(steps * B) / t);  // round 0 is warm-up
    }
  }
  for (std::size_t j = 0; j < batches.size(); ++j)
    std::printf("training step, batch %3lld: %.0f img/s (median of %d rounds of 1024 images)\n",
                static_cast<long long>(batches[j]), median(rate[j]), rounds);
  return 0;
}
