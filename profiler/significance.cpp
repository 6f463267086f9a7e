#include "profiler/significance.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "profiler/stats.h"

namespace swinscope::profiler {

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fully specified, the same on every platform.
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n): the modulo bias (about n / 2^64) is far below anything measured here.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

double median_of(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  return percentile_sorted(v, 50);
}

}  // namespace

RatioInterval bootstrap_speedup(const std::vector<double>& a_us, const std::vector<double>& b_us, int resamples, double level,
                                std::uint64_t seed) {
  if (a_us.size() != b_us.size())
    throw std::invalid_argument("bootstrap_speedup: " + std::to_string(a_us.size()) + " runs of A but " +
                                std::to_string(b_us.size()) + " of B; the runs must be paired");
  std::vector<double> a, b;
  for (std::size_t i = 0; i < a_us.size(); ++i)
    if (a_us[i] > 0 && b_us[i] > 0) {
      a.push_back(a_us[i]);
      b.push_back(b_us[i]);
    }
  RatioInterval r;
  r.level = std::clamp(level, 0.0, 1.0);
  r.pairs = static_cast<int>(a.size());
  if (a.empty()) return r;
  {
    std::vector<double> sa = a, sb = b;
    r.estimate = median_of(sa) / median_of(sb);
  }
  r.lo = r.hi = r.estimate;
  if (a.size() < 2 || resamples < 1) return r;
  SplitMix64 rng{seed};
  const std::size_t n = a.size();
  std::vector<double> ratios, ra(n), rb(n);
  ratios.reserve(static_cast<std::size_t>(resamples));
  for (int k = 0; k < resamples; ++k) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t j = rng.below(n);
      ra[i] = a[j];
      rb[i] = b[j];
    }
    ratios.push_back(median_of(ra) / median_of(rb));
  }
  std::sort(ratios.begin(), ratios.end());
  r.resamples = resamples;
  const double tail = 100.0 * (1.0 - r.level) / 2.0;
  r.lo = std::min(percentile_sorted(ratios, tail), r.estimate);
  r.hi = std::max(percentile_sorted(ratios, 100.0 - tail), r.estimate);
  return r;
}

DeltaInterval bootstrap_median_delta(const std::vector<double>& a_us, const std::vector<double>& b_us, int resamples, double level,
                                     std::uint64_t seed) {
  DeltaInterval r;
  r.level = std::clamp(level, 0.0, 1.0);
  r.paired = a_us.size() == b_us.size();
  if (a_us.empty() || b_us.empty()) return r;
  {
    std::vector<double> sa = a_us, sb = b_us;
    r.estimate = median_of(sb) - median_of(sa);
  }
  r.lo = r.hi = r.estimate;
  if (a_us.size() < 2 || b_us.size() < 2 || resamples < 1) return r;
  SplitMix64 rng{seed};
  std::vector<double> deltas, ra(a_us.size()), rb(b_us.size());
  deltas.reserve(static_cast<std::size_t>(resamples));
  for (int k = 0; k < resamples; ++k) {
    for (std::size_t i = 0; i < ra.size(); ++i) {
      const std::size_t j = rng.below(ra.size());
      ra[i] = a_us[j];
      if (r.paired) rb[i] = b_us[j];
    }
    if (!r.paired)
      for (std::size_t i = 0; i < rb.size(); ++i) rb[i] = b_us[rng.below(rb.size())];
    deltas.push_back(median_of(rb) - median_of(ra));
  }
  std::sort(deltas.begin(), deltas.end());
  r.resamples = resamples;
  const double tail = 100.0 * (1.0 - r.level) / 2.0;
  r.lo = std::min(percentile_sorted(deltas, tail), r.estimate);
  r.hi = std::max(percentile_sorted(deltas, 100.0 - tail), r.estimate);
  return r;
}

McNemarTable mcnemar_table(const std::vector<bool>& a_correct, const std::vector<bool>& b_correct) {
  if (a_correct.size() != b_correct.size())
    throw std::invalid_argument("mcnemar_table: " + std::to_string(a_correct.size()) + " outcomes of A but " +
                                std::to_string(b_correct.size()) + " of B; both must cover the same images");
  McNemarTable t;
  for (std::size_t i = 0; i < a_correct.size(); ++i) {
    if (a_correct[i] && b_correct[i]) ++t.both_correct;
    else if (a_correct[i]) ++t.a_only;
    else if (b_correct[i]) ++t.b_only;
    else ++t.both_wrong;
  }
  return t;
}

double mcnemar_exact_p(long b, long c) {
  if (b < 0 || c < 0) throw std::invalid_argument("mcnemar_exact_p: negative count");
  const long n = b + c;
  if (n == 0) return 1.0;
  const long k = std::min(b, c);
  // log C(n, i) − n·log 2, summed with the largest term factored out (log-sum-exp).
  const double log_half_n = static_cast<double>(n) * std::log(0.5);
  auto log_term = [&](long i) {
    return std::lgamma(static_cast<double>(n) + 1) - std::lgamma(static_cast<double>(i) + 1) -
           std::lgamma(static_cast<double>(n - i) + 1) + log_half_n;
  };
  const double top = log_term(k);  // terms grow with i up to n/2, and k ≤ n/2
  double sum = 0;
  for (long i = 0; i <= k; ++i) sum += std::exp(log_term(i) - top);
  return std::min(1.0, 2.0 * std::exp(top + std::log(sum)));
}

}  // namespace swinscope::profiler
