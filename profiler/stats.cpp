#include "profiler/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>
#include <tuple>
#include <utility>

namespace swinscope::profiler {

double percentile_sorted(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (rank - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

Summary summarize(std::vector<double> values) {
  Summary s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  s.n = static_cast<int>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  s.median = percentile_sorted(values, 50);
  s.min = values.front();
  s.max = values.back();
  s.p10 = percentile_sorted(values, 10);
  s.p25 = percentile_sorted(values, 25);
  s.p75 = percentile_sorted(values, 75);
  s.p90 = percentile_sorted(values, 90);
  return s;
}

std::vector<bool> select_spans(const Trace& trace, int depth) {
  const std::vector<TraceSpan>& spans = trace.spans;
  std::vector<bool> selected(spans.size(), false);
  if (depth >= 0) {
    for (std::size_t i = 0; i < spans.size(); ++i) selected[i] = spans[i].depth == depth;
    return selected;
  }
  // Leaves, without trusting the order spans come in: in (run, start, depth) order a
  // span's children follow it directly, so a span is a leaf unless the next one is deeper.
  std::vector<std::size_t> order(spans.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(spans[a].run, spans[a].start_us, spans[a].depth) <
           std::tie(spans[b].run, spans[b].start_us, spans[b].depth);
  });
  for (std::size_t k = 0; k < order.size(); ++k) {
    const TraceSpan& s = spans[order[k]];
    const bool has_child = k + 1 < order.size() && spans[order[k + 1]].run == s.run &&
                           spans[order[k + 1]].depth > s.depth;
    selected[order[k]] = !has_child;
  }
  return selected;
}

TraceStats compute_stats(const Trace& trace, int depth) {
  TraceStats out;
  out.depth = depth;
  out.end_to_end_us_unrecorded = trace.end_to_end_us_unrecorded;

  // Runs: those recorded in trace.runs, then any a span names that is missing there.
  std::map<int, std::size_t> run_index;
  std::vector<double> run_total;
  for (const TraceRun& r : trace.runs)
    if (run_index.emplace(r.run, run_total.size()).second) run_total.push_back(r.dur_us);
  std::map<int, std::pair<double, double>> extent;  // runs without a TraceRun: first start, last end
  for (const TraceSpan& s : trace.spans) {
    if (run_index.count(s.run)) continue;
    auto [it, fresh] = extent.try_emplace(s.run, s.start_us, s.start_us + s.dur_us);
    it->second.first = std::min(it->second.first, s.start_us);
    it->second.second = std::max(it->second.second, s.start_us + s.dur_us);
  }
  for (auto& [run, ext] : extent) {
    run_index.emplace(run, run_total.size());
    run_total.push_back(ext.second - ext.first);
  }
  const std::size_t n_runs = run_total.size();
  out.runs = static_cast<int>(n_runs);
  out.run_total_us = summarize(run_total);
  if (trace.end_to_end_us_unrecorded > 0)
    out.recording_overhead_us = out.run_total_us.median - trace.end_to_end_us_unrecorded;
  auto share = [&](const std::vector<double>& per_run) {
    return out.run_total_us.median > 0 ? summarize(per_run).median / out.run_total_us.median : 0.0;
  };

  struct Acc {
    int stage = -1;
    std::size_t first_seen = 0;
    std::size_t count = 0;
    std::vector<double> per_run;
  };
  std::map<std::string, Acc> by_kind;
  std::map<std::pair<int, std::string>, Acc> by_block_kind;
  std::vector<double> covered(n_runs, 0.0);
  const std::vector<bool> selected = select_spans(trace, depth);
  for (std::size_t i = 0; i < trace.spans.size(); ++i) {
    if (!selected[i]) continue;
    const TraceSpan& s = trace.spans[i];
    const std::size_t r = run_index.at(s.run);
    covered[r] += s.dur_us;
    for (Acc* acc : {&by_kind[s.kind], &by_block_kind[{s.block, s.kind}]}) {
      if (acc->per_run.empty()) {
        acc->per_run.assign(n_runs, 0.0);
        acc->stage = s.stage;
        acc->first_seen = i;
      }
      acc->per_run[r] += s.dur_us;
      ++acc->count;
    }
  }
  out.covered_us = summarize(covered);

  // Kinds without a stage index (hand-made traces) go after the indexed ones, in order seen.
  auto order_key = [](const Acc& a) {
    return std::pair(a.stage < 0 ? std::numeric_limits<int>::max() : a.stage, a.first_seen);
  };
  for (auto& [kind, acc] : by_kind)
    out.kinds.push_back(KindStats{kind, acc.stage,
                                  n_runs ? static_cast<double>(acc.count) / static_cast<double>(n_runs) : 0.0,
                                  summarize(acc.per_run), share(acc.per_run), acc.per_run});
  std::sort(out.kinds.begin(), out.kinds.end(), [&](const KindStats& a, const KindStats& b) {
    return order_key(by_kind.at(a.kind)) < order_key(by_kind.at(b.kind));
  });
  for (auto& [key, acc] : by_block_kind)
    out.block_kinds.push_back(BlockKindStats{key.first, key.second, acc.stage, summarize(acc.per_run),
                                             share(acc.per_run), acc.per_run});
  std::sort(out.block_kinds.begin(), out.block_kinds.end(),
            [&](const BlockKindStats& a, const BlockKindStats& b) {
              if (a.block != b.block) return a.block < b.block;
              return order_key(by_block_kind.at({a.block, a.kind})) <
                     order_key(by_block_kind.at({b.block, b.kind}));
            });
  return out;
}

Histogram histogram(const std::vector<double>& values, int bins) {
  Histogram h;
  if (values.empty()) return h;
  const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  h.lo = *mn;
  if (bins <= 0) bins = static_cast<int>(std::ceil(std::log2(static_cast<double>(values.size())))) + 1;
  bins = std::max(1, bins);
  if (*mx == *mn) {
    h.counts.assign(1, static_cast<int>(values.size()));
    return h;
  }
  h.width = (*mx - *mn) / bins;
  h.counts.assign(static_cast<std::size_t>(bins), 0);
  for (double v : values) {
    auto b = static_cast<std::size_t>((v - h.lo) / h.width);
    ++h.counts[std::min(b, h.counts.size() - 1)];
  }
  return h;
}

std::optional<KindStats> find_kind(const TraceStats& stats, std::string_view kind) {
  for (const KindStats& k : stats.kinds)
    if (k.kind == kind) return k;
  return std::nullopt;
}

std::optional<KindStats> gelu_op(const TraceStats& stats) { return find_kind(stats, kGeluOpKind); }

NoiseVerdict assess_noise(const TraceStats& stats, const NoiseThresholds& limits) {
  NoiseVerdict v;
  const Summary& t = stats.run_total_us;
  auto us = [](double x) {
    char b[48];
    if (std::abs(x) >= 1000) std::snprintf(b, sizeof b, "%.2f ms", x / 1000.0);
    else std::snprintf(b, sizeof b, "%.1f us", x);
    return std::string(b);
  };
  auto pct = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%+.1f %%", 100.0 * x);
    return std::string(b);
  };
  if (t.n >= 3 && t.median > 0) {
    if (t.p90 > limits.max_p90_over_median * t.median)
      v.reasons.push_back("p90 of the forward is " + us(t.p90) + " beside a median of " + us(t.median) +
                          ": some runs were much slower, so the machine was busy");
    else if (t.relative_spread() > limits.max_relative_spread)
      v.reasons.push_back("the forward's p10-p90 range (" + us(t.p10) + " to " + us(t.p90) + ") is wider than " +
                          pct(limits.max_relative_spread).substr(1) + " of its median " + us(t.median));
  }
  if (stats.end_to_end_us_unrecorded > 0) {
    const double o = stats.recording_overhead_us / stats.end_to_end_us_unrecorded;
    if (o < limits.min_overhead)
      v.reasons.push_back("recording overhead of " + pct(o) + ": recorded runs were faster than unrecorded ones, "
                          "which recording cannot cause; the machine's load changed during the profile");
    else if (o > limits.max_overhead)
      v.reasons.push_back("recording overhead of " + pct(o) + " against the unrecorded median " +
                          us(stats.end_to_end_us_unrecorded) + ": the recorded runs were disturbed");
  }
  v.noisy = !v.reasons.empty();
  return v;
}

AblationResult ablation(std::string kind, std::vector<double> full_us, std::vector<double> skipped_us) {
  AblationResult r;
  r.kind = std::move(kind);
  r.full_us = summarize(std::move(full_us));
  r.skipped_us = summarize(std::move(skipped_us));
  r.op_us = r.full_us.median - r.skipped_us.median;
  r.share = r.full_us.median > 0 ? r.op_us / r.full_us.median : 0.0;
  r.outputs_valid = false;
  return r;
}

}  // namespace swinscope::profiler
