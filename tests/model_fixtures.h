#pragma once
// Inputs and model edits several suites share.
#include <random>
#include <vector>

#include "engine/model.h"

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
