#pragma once
// Helpers several suites share: random inputs, model edits, error capture.
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/model.h"

// The message of the swinscope::Error `f` throws; empty when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const swinscope::Error& e) {
    return e.what();
  }
  return {};
}

// N(0,1) images for a config, (n, in_chans, img, img).
inline std::vector<float> random_images(const swinscope::SwinConfig& c, int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd;
  std::vector<float> v(static_cast<std::size_t>(n) * c.in_chans * c.img_size * c.img_size);
  for (auto& x : v) x = nd(rng);
  return v;
}

// Every block ReLU without FC1 bias (`all`, what distill produces), or only the blocks
// already ReLU.
inline swinscope::Model gelu_less(swinscope::Model m, bool all) {
  int g = 0;
  for (int s = 0; s < m.config.num_stages(); ++s)
    for (int b = 0; b < m.config.depths[static_cast<std::size_t>(s)]; ++b, ++g) {
      auto& a = m.activations[static_cast<std::size_t>(g)];
      if (all) a = swinscope::Activation::ReLU;
      if (a == swinscope::Activation::ReLU) m.tensors.erase(swinscope::block_prefix(s, b) + "mlp.fc1.bias");
    }
  return m;
}
