#pragma once
// Statistics over a Trace: pure functions over plain data.
//
// Each statistic is first summed within a run (a kind that occurs once per block adds up
// over the blocks), then summarized across runs. Shares are ratios of totals over all
// runs (sum of the kind / sum of the run wall times), i.e. a ratio of means, which is not
// skewed by one slow run the way a mean of per-run ratios is.
#include <string>
#include <vector>

#include "profiler/trace.h"

namespace swinscope::profiler {

struct Summary {
  int n = 0;
  double mean = 0;
  double median = 0;
  double min = 0;
  double max = 0;
  double p90 = 0;
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
  double share = 0;          // of the forward (run wall time)
};

struct BlockKindStats {
  int block = -1;
  std::string kind;
  int stage = -1;
  Summary us;
  double share = 0;
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
