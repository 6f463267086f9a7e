#pragma once
// Statistics over a Trace: pure functions over plain data.
//
// Each statistic is first summed within a run (a kind that occurs once per block adds up
// over the blocks), then summarized across runs. The median is THE summary everywhere
// (tables, charts, the CLI, shares): on a shared machine two slow runs out of ten drag a
// mean far off (qk_gemm: mean 440 µs, median 34 µs), never the median. The spread is the
// p10–p90 range and the IQR. A share is median(kind per run) / median(run wall time), so it
// can be checked by dividing the two medians shown beside it.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profiler/trace.h"

namespace swinscope::profiler {

struct Summary {
  int n = 0;
  double mean = 0;  // kept for exports; shown nowhere as the summary
  double median = 0;
  double min = 0;
  double max = 0;
  double p10 = 0;
  double p25 = 0;
  double p75 = 0;
  double p90 = 0;
  double iqr() const { return p75 - p25; }
  // (p90 − p10) / median: 0 for identical runs; how wide the middle 80 % is against the median.
  double relative_spread() const { return median > 0 ? (p90 - p10) / median : 0.0; }
};

// p-th percentile (0..100) of sorted values by linear interpolation between closest ranks
// (numpy's default, Hyndman–Fan type 7): rank = p/100 · (n−1). 0 for no values.
double percentile_sorted(const std::vector<double>& sorted, double p);
Summary summarize(std::vector<double> values);

struct KindStats {
  std::string kind;
  int stage = -1;
  double spans_per_run = 0;  // e.g. the number of blocks for a per-block stage
  Summary us;                // per-run total of this kind
  double share = 0;          // median(us per run) / median(run wall time)
  std::vector<double> per_run_us;  // the values `us` summarizes, by run (0 where a run lacks the kind)
};

struct BlockKindStats {
  int block = -1;
  std::string kind;
  int stage = -1;
  Summary us;
  double share = 0;
  std::vector<double> per_run_us;
};

// Which spans the kind and block statistics count. Leaves (spans with no child) count
// every stage once however deep it sits, e.g. a patch_embed at depth 0 next to softmax
// inside a block span at depth 1; a fixed depth selects one level of the tree.
inline constexpr int kLeafSpans = -1;

struct TraceStats {
  int depth = kLeafSpans;
  int runs = 0;
  Summary run_total_us;  // wall time per run
  Summary covered_us;    // per run, the selected spans summed (≤ run total: gaps are not in any span)
  std::vector<KindStats> kinds;             // by stage index
  std::vector<BlockKindStats> block_kinds;  // by block, then stage index
  double end_to_end_us_unrecorded = 0;      // copied from the trace; 0 = not measured
  double recording_overhead_us = 0;         // median run total − unrecorded latency, when measured
};

// Run totals come from trace.runs; a trace without them uses each run's span extent.
TraceStats compute_stats(const Trace& trace, int depth = kLeafSpans);

// Which spans compute_stats(trace, depth) counts, index for index with trace.spans.
std::vector<bool> select_spans(const Trace& trace, int depth);

// The kind's statistics, or nullopt when the trace has no span of that kind.
std::optional<KindStats> find_kind(const TraceStats& stats, std::string_view kind);

// The fused op the GELU-less model removes (engine/stages.h names it too; a test keeps the two
// equal). The one definition of "GELU op share", used by the app's Profile and Compare tabs
// and by `swinscope-cli profile`: its median µs per forward over the median recorded forward
// (KindStats::share). nullopt when the model has no such op (GELU-less) or none was recorded.
inline constexpr std::string_view kGeluOpKind = "fc1_bias_gelu_quant";
std::optional<KindStats> gelu_op(const TraceStats& stats);

// Whether a profile's timings can be trusted: a run whose spread, or whose recording overhead
// (recorded median − unrecorded median), says that something else used the machine.
struct NoiseThresholds {
  double max_relative_spread = 0.5;  // (p90 − p10) / median of the recorded forward
  double max_p90_over_median = 1.5;
  double min_overhead = -0.05;       // recording cannot make a forward faster: −5 % is noise
  double max_overhead = 0.5;         // +50 %: the recorder, or the machine, is in the way
};
struct NoiseVerdict {
  bool noisy = false;
  std::vector<std::string> reasons;  // one sentence each, with the figures
};
NoiseVerdict assess_noise(const TraceStats& stats, const NoiseThresholds& limits = {});

// Equal-width bins over [min, max] of `values` (the last bin closed): the per-stage duration
// histogram. `bins` ≤ 0: Sturges' rule, ⌈log2 n⌉ + 1, at least 1. Empty for no values; one bin
// of width 0 when every value is the same.
struct Histogram {
  double lo = 0;
  double width = 0;
  std::vector<int> counts;
};
Histogram histogram(const std::vector<double>& values, int bins = 0);

// The paper's second way to measure a fused op: end-to-end latency with the op, minus
// end-to-end latency with the op skipped. A skipped op leaves garbage in its output
// buffer, so an ablated run's predictions mean nothing: `outputs_valid` is always false.
struct AblationResult {
  std::string kind;
  Summary full_us;
  Summary skipped_us;
  double op_us = 0;  // median(full) − median(skipped); may come out ≤ 0 within noise
  double share = 0;  // op_us / median(full)
  bool outputs_valid = false;
};

AblationResult ablation(std::string kind, std::vector<double> full_us, std::vector<double> skipped_us);

}  // namespace swinscope::profiler
