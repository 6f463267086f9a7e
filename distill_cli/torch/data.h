#pragma once
// Training batches from any engine Dataset (ImageFolder, flat + labels, IDX): decoded and
// preprocessed as the model's file says (engine/preprocess.h), augmented, in worker threads
// one batch ahead of the training loop. Every random choice comes from (seed, item), so a
// run repeats exactly whatever the thread count.
#include <torch/torch.h>

#include <cstdint>
#include <future>
#include <string>
#include <vector>

#include "engine/dataset.h"

namespace swinscope::train {

struct Augment {
  bool enabled = false;
  int pad = 0;         // random translation by up to ±pad pixels (the fill is black)
  bool hflip = true;   // mirror with probability 1/2
};

// The first round(fraction × n) indices of a seeded shuffle of 0..n-1 (at least one).
std::vector<std::size_t> shuffled_subset(std::size_t n, double fraction, std::uint64_t seed);

std::uint64_t mix_seed(std::uint64_t a, std::uint64_t b);

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, const PreprocessConfig& pp, std::vector<std::size_t> order, int batch, Augment aug,
              std::uint64_t seed, int workers);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch (images (n, C, crop, crop), labels (n) int64); false after the last.
  // Images that cannot be decoded are left out and counted.
  bool next(torch::Tensor& images, torch::Tensor& labels);
  // The next batch even when none of its images could be decoded (then empty); false after
  // the last. Data-parallel ranks take one step per global batch whatever they decoded.
  bool next_step(torch::Tensor& images, torch::Tensor& labels);
  std::size_t batches() const { return (m_order.size() + static_cast<std::size_t>(m_batch) - 1) / static_cast<std::size_t>(m_batch); }
  std::size_t items() const { return m_order.size(); }
  long skipped() const { return m_skipped; }
  const std::vector<std::string>& skip_reasons() const { return m_reasons; }

 private:
  struct Batch {
    torch::Tensor images, labels;
    std::vector<std::string> errors;
  };
  Batch load(std::size_t b) const;

  const Dataset& m_data;
  PreprocessConfig m_pp;
  std::vector<std::size_t> m_order;
  int m_batch;
  Augment m_aug;
  std::uint64_t m_seed;
  int m_workers;
  std::size_t m_next = 0;
  std::future<Batch> m_pending;
  long m_skipped = 0;
  std::vector<std::string> m_reasons;  // the first few
};

}  // namespace swinscope::train
