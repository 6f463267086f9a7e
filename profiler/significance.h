#pragma once
// Is a difference real? Two questions SwinScope's comparisons ask, as plain functions:
//   - a speed-up of B over A from paired timing runs: its bootstrap confidence interval, so
//     "1.05×" and "1.56×" from two runs on a busy machine are seen to be noise;
//   - two classifiers evaluated once on one test set: McNemar's exact test on the images
//     where exactly one of them is right (Dietterich 1998 recommends it for this design).
#include <cstdint>
#include <vector>

namespace swinscope::profiler {

struct RatioInterval {
  double estimate = 0;  // median(a) / median(b) over all pairs
  double lo = 0;        // percentile bootstrap interval at `level`
  double hi = 0;
  double level = 0.95;
  int resamples = 0;
  int pairs = 0;
  bool contains(double x) const { return lo <= x && x <= hi; }
};

// Speed-up of B over A, median(a_us) / median(b_us), with a paired percentile bootstrap:
// each resample draws run indices with replacement and keeps A's and B's run i together
// (they ran back to back, so they share the machine's state at that moment). Deterministic:
// the same inputs and seed give the same interval on every platform (own generator, no
// std::uniform_int_distribution). Pairs with a non-positive time are dropped.
// Throws std::invalid_argument when the two lists differ in length.
RatioInterval bootstrap_speedup(const std::vector<double>& a_us, const std::vector<double>& b_us, int resamples = 2000,
                                double level = 0.95, std::uint64_t seed = 0x5317u);

// The change of a median, B − A (µs), with a percentile bootstrap interval: the A/B diff of a
// stage. Paired (run i of A and of B resampled together, as bootstrap_speedup) when both lists
// have the same length, each list resampled on its own otherwise. `significant` when the
// interval excludes 0. Deterministic, as bootstrap_speedup.
struct DeltaInterval {
  double estimate = 0;  // median(b) − median(a)
  double lo = 0;
  double hi = 0;
  double level = 0.95;
  int resamples = 0;
  bool paired = false;
  bool significant() const { return resamples > 0 && (lo > 0 || hi < 0); }
};
DeltaInterval bootstrap_median_delta(const std::vector<double>& a_us, const std::vector<double>& b_us, int resamples = 2000,
                                     double level = 0.95, std::uint64_t seed = 0x5317u);

// Paired correct/wrong outcomes of A and B on the same images.
struct McNemarTable {
  long both_correct = 0;
  long a_only = 0;  // A right, B wrong (b in the textbook's table)
  long b_only = 0;  // A wrong, B right (c)
  long both_wrong = 0;
  long total() const { return both_correct + a_only + b_only + both_wrong; }
  long discordant() const { return a_only + b_only; }
  double accuracy_a() const { return total() ? static_cast<double>(both_correct + a_only) / static_cast<double>(total()) : 0; }
  double accuracy_b() const { return total() ? static_cast<double>(both_correct + b_only) / static_cast<double>(total()) : 0; }
};
McNemarTable mcnemar_table(const std::vector<bool>& a_correct, const std::vector<bool>& b_correct);

// McNemar's exact test: under "A and B are equally accurate" each discordant image is A's
// with probability ½, so p = min(1, 2·P(X ≤ min(b, c))), X ~ Binomial(b + c, ½) — scipy's
// binomtest(min(b, c), b + c, 0.5).pvalue. 1 when there are no discordant pairs. Summed in
// log space, so 10k-image test sets with thousands of discordant pairs do not underflow.
double mcnemar_exact_p(long b, long c);
inline double mcnemar_exact_p(const McNemarTable& t) { return mcnemar_exact_p(t.a_only, t.b_only); }

}  // namespace swinscope::profiler
