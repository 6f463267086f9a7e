#include "distill_cli/torch/data.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

namespace swinscope::train {

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b) {
  // splitmix64 of the combination
  std::uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::vector<std::size_t> shuffled_subset(std::size_t n, double fraction, std::uint64_t seed) {
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  const auto keep = std::clamp<std::size_t>(static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n))), 1, n);
  idx.resize(keep);
  return idx;
}

BatchLoader::BatchLoader(const Dataset& data, const PreprocessConfig& pp, std::vector<std::size_t> order, int batch, Augment aug,
                         std::uint64_t seed, int workers)
    : m_data(data), m_pp(pp), m_order(std::move(order)), m_batch(std::max(1, batch)), m_aug(aug), m_seed(seed),
      m_workers(std::max(1, workers)) {
  if (batches() > 0) m_pending = std::async(std::launch::async, [this] { return load(0); });
}

BatchLoader::~BatchLoader() {
  if (m_pending.valid()) m_pending.wait();
}

BatchLoader::Batch BatchLoader::load(std::size_t b) const {
  const std::size_t first = b * static_cast<std::size_t>(m_batch);
  const std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(m_batch), m_order.size() - first);
  const int C = m_pp.channels, S = m_pp.crop;
  const std::size_t per = static_cast<std::size_t>(C) * S * S;
  std::vector<float> buf(n * per);
  std::vector<std::int64_t> lab(n);
  std::vector<std::string> errors(n);
  // Black after normalization, per channel: the fill for translated-in pixels.
  float black[3];
  for (int c = 0; c < C; ++c) black[c] = (0.f - m_pp.mean[static_cast<std::size_t>(c)]) / m_pp.std[static_cast<std::size_t>(c)];
  auto work = [&](std::size_t lo, std::size_t hi) {
    std::vector<float> tmp(per);
    for (std::size_t i = lo; i < hi; ++i) {
      const std::size_t item = m_order[first + i];
      float* out = buf.data() + i * per;
      try {
        preprocess_dataset_image(m_data, item, m_pp, m_aug.enabled ? tmp.data() : out);
      } catch (const std::exception& e) {
        errors[i] = e.what();
        continue;
      }
      lab[i] = m_data.images[item].label;
      if (!m_aug.enabled) continue;
      std::mt19937_64 rng(mix_seed(m_seed, item));
      const int dx = m_aug.pad > 0 ? static_cast<int>(rng() % (2 * m_aug.pad + 1)) - m_aug.pad : 0;
      const int dy = m_aug.pad > 0 ? static_cast<int>(rng() % (2 * m_aug.pad + 1)) - m_aug.pad : 0;
      const bool flip = m_aug.hflip && (rng() & 1);
      for (int c = 0; c < C; ++c)
        for (int y = 0; y < S; ++y)
          for (int x = 0; x < S; ++x) {
            const int sy = y + dy, sx0 = x + dx;
            const int sx = flip ? S - 1 - sx0 : sx0;
            out[(static_cast<std::size_t>(c) * S + y) * S + x] =
                (sy < 0 || sy >= S || sx0 < 0 || sx0 >= S) ? black[c] : tmp[(static_cast<std::size_t>(c) * S + sy) * S + sx];
          }
    }
  };
  const std::size_t threads = std::min<std::size_t>(static_cast<std::size_t>(m_workers), n);
  if (threads <= 1) {
    work(0, n);
  } else {
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(work, n * t / threads, n * (t + 1) / threads);
    for (auto& th : pool) th.join();
  }
  // Drop the failures, keeping order.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) continue;
    if (kept != i) {
      std::copy(buf.begin() + static_cast<long>(i * per), buf.begin() + static_cast<long>((i + 1) * per),
                buf.begin() + static_cast<long>(kept * per));
      lab[kept] = lab[i];
    }
    ++kept;
  }
  Batch out;
  out.images = torch::from_blob(buf.data(), {static_cast<long>(kept), C, S, S}, torch::kFloat32).clone();
  out.labels = torch::from_blob(lab.data(), {static_cast<long>(kept)}, torch::kInt64).clone();
  for (auto& e : errors)
    if (!e.empty()) out.errors.push_back(std::move(e));
  return out;
}

bool BatchLoader::next_step(torch::Tensor& images, torch::Tensor& labels) {
  if (m_next >= batches()) return false;
  Batch b = m_pending.get();
  ++m_next;
  if (m_next < batches()) m_pending = std::async(std::launch::async, [this, k = m_next] { return load(k); });
  m_skipped += static_cast<long>(b.errors.size());
  for (auto& e : b.errors)
    if (m_reasons.size() < 5) m_reasons.push_back(std::move(e));
  images = b.images;
  labels = b.labels;
  return true;
}

bool BatchLoader::next(torch::Tensor& images, torch::Tensor& labels) {
  while (next_step(images, labels))
    if (images.size(0) > 0) return true;
  return false;
}

}  // namespace swinscope::train
