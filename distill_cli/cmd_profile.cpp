// profile and profile-diff: where an int8 SWIN spends its time, stage by stage and block by block.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "distill_cli/commands.h"
#include "distill_cli/common.h"
#include "engine/error.h"
#include "engine/stages.h"
#include "profiler/cpu_clock_recorder.h"
#include "profiler/export.h"
#include "profiler/stats.h"

namespace swinscope::cli {

namespace {

using profiler::TraceStats;

double median_of(std::vector<double> v) { return profiler::summarize(std::move(v)).median; }

bool is_block_stage(const std::string& kind) {
  return std::any_of(kAllBlockStages.begin(), kAllBlockStages.end(), [&](const StageInfo& s) { return s.name == kind; });
}

std::string fmt(double v, int prec = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

void print_kind_table(const TraceStats& st, const std::map<std::string, double>& ablation_us) {
  const bool abl = !ablation_us.empty();
  // Medians are the summary (a busy machine's slow runs drag a mean anywhere); p10-p90 is the spread.
  std::cout << "\n  stage                      kind      median (us)      p10-p90 (us)   share" << (abl ? "   ablation (us)" : "")
            << "\n";
  for (const auto& k : st.kinds) {
    const bool fused = std::any_of(kAllBlockStages.begin(), kAllBlockStages.end(),
                                   [&](const StageInfo& s) { return s.name == k.kind && s.kind == StageKind::FusedOp; });
    std::string name = k.kind;
    name.resize(26, ' ');
    std::string kind = is_block_stage(k.kind) ? (fused ? "fused" : "gemm") : "outside";
    kind.resize(8, ' ');
    std::cout << "  " << name << " " << kind << std::setw(13) << fmt(k.us.median) << std::setw(18)
              << (fmt(k.us.p10) + "-" + fmt(k.us.p90)) << std::setw(7) << fmt(100.0 * k.share) << " %";
    if (abl) {
      auto it = ablation_us.find(k.kind);
      if (it != ablation_us.end()) std::cout << std::setw(16) << fmt(it->second);
    }
    std::cout << "\n";
  }
  std::cout << "  (medians over the runs; share = median of the stage / median recorded forward)\n";
}

void print_block_table(const TraceStats& st) {
  std::cout << "\n  block  stage                      median (us)   share\n";
  for (const auto& b : st.block_kinds) {
    if (b.block < 0) continue;
    std::string name = b.kind;
    name.resize(26, ' ');
    std::cout << "  " << std::setw(5) << b.block << "  " << name << std::setw(12) << fmt(b.us.median) << std::setw(7)
              << fmt(100.0 * b.share) << " %\n";
  }
}

nlohmann::json stats_json(const TraceStats& st) {
  auto sj = [](const profiler::Summary& s) {
    return nlohmann::json{{"n", s.n},     {"mean", s.mean}, {"median", s.median}, {"min", s.min}, {"max", s.max},
                          {"p10", s.p10}, {"p25", s.p25},   {"p75", s.p75},       {"p90", s.p90}};
  };
  nlohmann::json j{{"runs", st.runs},
                   {"run_total_us", sj(st.run_total_us)},
                   {"covered_us", sj(st.covered_us)},
                   {"end_to_end_us_unrecorded", st.end_to_end_us_unrecorded},
                   {"recording_overhead_us", st.recording_overhead_us}};
  for (const auto& k : st.kinds) j["kinds"].push_back({{"kind", k.kind}, {"us", sj(k.us)}, {"share", k.share}, {"spans_per_run", k.spans_per_run}});
  for (const auto& b : st.block_kinds) j["blocks"].push_back({{"block", b.block}, {"kind", b.kind}, {"us", sj(b.us)}, {"share", b.share}});
  const auto gelu = profiler::gelu_op(st);
  j["gelu_op"] = gelu ? nlohmann::json{{"kind", gelu->kind}, {"median_us", gelu->us.median}, {"share", gelu->share}} : nlohmann::json();
  const auto noise = profiler::assess_noise(st);
  j["noisy"] = noise.noisy;
  j["noise_reasons"] = noise.reasons;
  return j;
}

// A trace's forward: the unrecorded runs' median, or the recorded one's for a trace without it.
double end_to_end_us(const profiler::Trace& t, const TraceStats& st) {
  return t.end_to_end_us_unrecorded > 0 ? t.end_to_end_us_unrecorded : st.run_total_us.median;
}

// "fmnist_swin_gelu.int8.safetensors int8-ivit": the model's file name and the variant, from the
// trace's context; the trace file's name when the trace says nothing.
std::string trace_label(const profiler::Trace& t, const std::string& file) {
  std::string model = std::filesystem::path(t.context.model).filename().string();
  if (model.empty()) model = std::filesystem::path(file).filename().string();
  return t.context.variant.empty() ? model : model + " " + t.context.variant;
}

// "fmnist_swin_gelu.int8.safetensors" → "fmnist_swin_gelu.int8": a column header.
std::string strip_suffix(std::string s, const std::string& suffix) {
  if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) s.resize(s.size() - suffix.size());
  return s;
}

// profile-diff with three or more traces: one column per trace, its median and its ratio to the first.
int diff_many(const std::vector<std::string>& files, const std::vector<profiler::Trace>& traces, bool per_block, bool json) {
  const std::size_t n = traces.size();
  std::vector<TraceStats> st;
  for (const auto& t : traces) st.push_back(profiler::compute_stats(t));
  std::vector<double> e2e;
  for (std::size_t i = 0; i < n; ++i) e2e.push_back(end_to_end_us(traces[i], st[i]));
  // Rows: the kinds of every trace, in the order they first appear (the first trace's order).
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> kinds;  // kind → median us per forward, by trace (0: absent)
  for (std::size_t i = 0; i < n; ++i)
    for (const auto& k : st[i].kinds) {
      auto& v = kinds[k.kind];
      if (v.empty()) {
        v.assign(n, 0.0);
        order.push_back(k.kind);
      }
      v[i] = k.us.median;
    }
  std::map<std::pair<int, std::string>, std::vector<double>> blocks;
  if (per_block)
    for (std::size_t i = 0; i < n; ++i)
      for (const auto& b : st[i].block_kinds) {
        if (b.block < 0) continue;
        auto& v = blocks[{b.block, b.kind}];
        if (v.empty()) v.assign(n, 0.0);
        v[i] = b.us.median;
      }
  auto ratios = [&](const std::vector<double>& v) {
    nlohmann::json r = nlohmann::json::array();
    for (std::size_t i = 0; i < n; ++i) r.push_back(v[0] > 0 && v[i] > 0 ? nlohmann::json(v[i] / v[0]) : nlohmann::json());
    return r;
  };
  auto values = [&](const std::vector<double>& v) {
    nlohmann::json r = nlohmann::json::array();
    for (double x : v) r.push_back(x > 0 ? nlohmann::json(x) : nlohmann::json());
    return r;
  };
  if (json) {
    nlohmann::json j;
    for (std::size_t i = 0; i < n; ++i) {
      const auto& c = traces[i].context;
      j["traces"].push_back({{"file", files[i]},
                             {"label", trace_label(traces[i], files[i])},
                             {"model", c.model},
                             {"variant", c.variant},
                             {"backend", c.backend},
                             {"device", c.device},
                             {"batch", c.batch},
                             {"runs", c.runs},
                             {"end_to_end_us", e2e[i]},
                             {"ratio_to_first", e2e[i] / e2e[0]}});
    }
    for (const auto& k : order) j["kinds"].push_back({{"kind", k}, {"us", values(kinds[k])}, {"ratio_to_first", ratios(kinds[k])}});
    if (per_block)
      for (const auto& [key, v] : blocks)
        j["blocks"].push_back({{"block", key.first}, {"kind", key.second}, {"us", values(v)}, {"ratio_to_first", ratios(v)}});
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto& c = traces[i].context;
    std::cout << "[" << i + 1 << "] " << trace_label(traces[i], files[i]) << " (" << (c.device.empty() ? "device unknown" : c.device)
              << ", batch " << c.batch << ", " << c.runs << " runs)  " << files[i] << "\n";
  }
  for (std::size_t i = 1; i < n; ++i)
    if (traces[i].context.batch != traces[0].context.batch || traces[i].context.device != traces[0].context.device)
      std::cerr << "warning: [" << i + 1 << "] ran on another device or batch size than [1]: its ratios compare unlike runs\n";
  // A column per trace: the model file (without .safetensors) over the variant; each cell the
  // median us and, from the second column on, the ratio to the first.
  std::vector<std::size_t> width(n);
  std::vector<std::string> head1(n), head2(n);
  for (std::size_t i = 0; i < n; ++i) {
    head1[i] = strip_suffix(std::filesystem::path(traces[i].context.model).filename().string(), ".safetensors");
    if (head1[i].empty()) head1[i] = "[" + std::to_string(i + 1) + "]";
    head2[i] = traces[i].context.variant.empty() ? "[" + std::to_string(i + 1) + "]" : traces[i].context.variant;
    width[i] = std::max<std::size_t>({head1[i].size(), head2[i].size(), std::size_t{i == 0 ? 10u : 17u}}) + 2;
  }
  auto cell = [&](std::size_t i, double v, double first) {
    std::string s = v > 0 ? fmt(v) : "-";
    if (i > 0) {
      std::string r = v > 0 && first > 0 ? "x" + fmt(v / first, 3) : "";
      r.insert(0, 7 - std::min<std::size_t>(7, r.size()), ' ');
      s += " " + r;
    }
    s.insert(0, width[i] - std::min(width[i], s.size()), ' ');
    return s;
  };
  auto right = [](std::string s, std::size_t w) {
    s.insert(0, w - std::min(w, s.size()), ' ');
    return s;
  };
  auto print_head = [&](const std::string& lead) {
    std::string pad(lead.size(), ' ');
    std::cout << "\n" << pad;
    for (std::size_t i = 0; i < n; ++i) std::cout << right(head1[i], width[i]);
    std::cout << "\n" << lead;
    for (std::size_t i = 0; i < n; ++i) std::cout << right(head2[i], width[i]);
    std::cout << "\n";
  };
  std::cout << "median us per forward; xR = ratio to the first column (< 1: faster than [1])\n";
  print_head("  stage                     ");
  std::string e2e_name = "end-to-end (recording off)";
  e2e_name.resize(26, ' ');
  std::cout << "  " << e2e_name;
  for (std::size_t i = 0; i < n; ++i) std::cout << cell(i, e2e[i], e2e[0]);
  std::cout << "\n";
  for (const auto& k : order) {
    std::string name = k;
    name.resize(26, ' ');
    std::cout << "  " << name;
    for (std::size_t i = 0; i < n; ++i) std::cout << cell(i, kinds[k][i], kinds[k][0]);
    std::cout << "\n";
  }
  if (per_block) {
    print_head("  block  stage                     ");
    // Block by block, each block's stages in the order of the stage rows above.
    std::vector<std::pair<int, std::string>> keys;
    for (const auto& kv : blocks) keys.push_back(kv.first);
    auto rank = [&](const std::string& kind) { return std::find(order.begin(), order.end(), kind) - order.begin(); };
    std::stable_sort(keys.begin(), keys.end(), [&](const auto& x, const auto& y) {
      return x.first != y.first ? x.first < y.first : rank(x.second) < rank(y.second);
    });
    for (const auto& key : keys) {
      const auto& v = blocks[key];
      std::string name = key.second;
      name.resize(26, ' ');
      std::cout << "  " << std::setw(5) << key.first << "  " << name;
      for (std::size_t i = 0; i < n; ++i) std::cout << cell(i, v[i], v[0]);
      std::cout << "\n";
    }
  }
  return kOk;
}

}  // namespace

int cmd_profile(const std::vector<std::string>& argv) {
  auto opts = plan_options();
  const std::vector<OptionSpec> own{
      {"--model", "FILE", "model .safetensors", ""},
      {"--arch", "NAME", "instead of --model: random weights of a preset (swin_tiny, swin_small, ...)", ""},
      {"--batch", "N", "images per forward pass", "8 on the CPU, 128 on CUDA"},
      {"--runs", "N", "recorded runs (each paired with an unrecorded one for the overhead)", "20"},
      {"--warmup", "N", "unrecorded runs first", "3"},
      {"--trace", "FILE", "write a Chrome trace-event JSON (opens in Perfetto / chrome://tracing)", ""},
      {"--csv", "FILE", "write every span as CSV", ""},
      {"--per-block", "", "also print one row per block and stage", ""},
      {"--ablation", "", "also time each block stage by skipping it (end-to-end with − without)", ""},
      {"--json", "", "print the statistics as JSON", ""}};
  opts.insert(opts.begin(), own.begin(), own.end());
  Args args("profile",
            "Per-stage latency of a SWIN forward, the paper's Table 1: one row per stage kind summed over the\n"
            "blocks, its share of the forward, and (--per-block) each block's stages. End-to-end latency is\n"
            "measured with recording off, interleaved with the recorded runs, and the recording overhead is shown.\n"
            "--ablation measures a stage the paper's second way: latency with the stage skipped, subtracted from\n"
            "the full latency (such runs compute garbage and are used for timing only).\n"
            "Every figure is a median over the runs, with the p10-p90 range as its spread; a share is the\n"
            "stage's median over the median recorded forward. A profile whose spread or recording overhead\n"
            "says the machine was busy is flagged: close other work and run it again.",
            opts, "", "example: swinscope-cli profile --arch swin_tiny --batch 8 --runs 20 --trace swin_t.json --per-block");
  if (!args.parse(argv)) return kOk;
  const int runs = args.get_int("--runs", 20, 1, 100000);
  const int warmup = args.get_int("--warmup", 3, 0, 100000);
  const auto choice = choose_backend(args.get_or("--backend", "auto"));
  const int batch = args.get_int("--batch", choice.backend == Backend::CUDA ? 128 : 8, 1, 4096);
  auto l = load_for_inference(args, batch, true);
  const auto& c = l.model->config;
  const auto input = random_input(c, batch, 7);
  std::vector<float> logits(static_cast<std::size_t>(batch) * c.num_classes);
  auto& plan = *l.plan;
  using Clock = std::chrono::steady_clock;
  auto timed = [&](profiler::Recorder* rec) {
    const auto t0 = Clock::now();
    plan.run(input.data(), batch, logits.data(), rec);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  };

  // CUDA: CUDA events + NVTX ranges on the plan's stream (the host only sees when work was
  // enqueued); the CPU: the host clock.
  auto rec_owner = make_trace_recorder(plan);
  auto& rec = *rec_owner;
  // One recorded warm-up run sizes the recorder's storage; the measured runs then allocate nothing.
  rec.begin_run(0);
  timed(&rec);
  rec.end_run();
  rec.clear();
  rec.reserve_runs(runs);
  for (int i = 0; i < warmup; ++i) timed(nullptr);
  std::vector<double> unrecorded;
  ProgressBar bar("profile");
  const auto t0 = Clock::now();
  for (int r = 0; r < runs; ++r) {
    unrecorded.push_back(timed(nullptr));
    rec.begin_run(r);
    timed(&rec);
    rec.end_run();
    const double el = std::chrono::duration<double>(Clock::now() - t0).count();
    bar.update({r + 1, runs, (r + 1) * batch / el, el / (r + 1) * (runs - r - 1)});
  }
  bar.finish();
  profiler::TraceContext ctx;
  ctx.model = args.get("--model") ? *args.get("--model") : *args.get("--arch");
  ctx.variant = std::string(variant_name(plan.variant()));
  ctx.backend = std::string(backend_name(plan.backend()));
  ctx.device = l.backend.device;
  ctx.batch = batch;
  ctx.runs = runs;
  ctx.warmup = warmup;
  auto trace = rec.take_trace(ctx);
  trace.end_to_end_us_unrecorded = median_of(unrecorded);
  const auto st = profiler::compute_stats(trace);

  std::map<std::string, double> ablation_us;
  if (args.flag("--ablation")) {
    std::vector<std::string> kinds;
    for (const auto& k : st.kinds)
      if (is_block_stage(k.kind)) kinds.push_back(k.kind);
    ProgressBar abar("ablation");
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      // Full and skipped runs alternate so drift on a shared machine hits both alike.
      std::vector<double> full, skipped;
      for (int r = 0; r < runs; ++r) {
        plan.set_skipped_stage("");
        full.push_back(timed(nullptr));
        plan.set_skipped_stage(kinds[i]);
        skipped.push_back(timed(nullptr));
      }
      plan.set_skipped_stage("");
      ablation_us[kinds[i]] = profiler::ablation(kinds[i], full, skipped).op_us;
      abar.update({static_cast<long>(i + 1), static_cast<long>(kinds.size()), 0, 0});
    }
    abar.finish();
  }

  if (auto p = args.get("--trace")) profiler::export_chrome_json(trace, *p);
  if (auto p = args.get("--csv")) profiler::export_csv(trace, *p);

  if (args.flag("--json")) {
    auto j = stats_json(st);
    j["context"] = {{"model", ctx.model}, {"variant", ctx.variant}, {"backend", ctx.backend}, {"device", ctx.device}, {"batch", batch}};
    if (!ablation_us.empty()) j["ablation_us"] = ablation_us;
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  std::cout << ctx.model << "  " << ctx.variant << " on " << ctx.device << ", batch " << batch << ", " << runs
            << " runs after " << warmup << " warm-up\n"
            << "end-to-end (recording off): median " << fmt(trace.end_to_end_us_unrecorded / 1000.0, 2) << " ms, "
            << fmt(batch * 1e6 / trace.end_to_end_us_unrecorded, 1) << " images/s\n"
            << "end-to-end (recording on):  median " << fmt(st.run_total_us.median / 1000.0, 2) << " ms  (overhead "
            << fmt(st.recording_overhead_us, 0) << " us, "
            << fmt(100.0 * st.recording_overhead_us / trace.end_to_end_us_unrecorded, 2) << " %)\n"
            << "stages cover " << fmt(100.0 * st.covered_us.median / st.run_total_us.median, 1) << " % of the recorded forward\n";
  if (const auto gelu = profiler::gelu_op(st))
    std::cout << "GELU op (" << gelu->kind << "): median " << fmt(gelu->us.median) << " us per forward, "
              << fmt(100.0 * gelu->share, 1) << " % of the forward\n";
  else
    std::cout << "GELU op: none (this model has no " << profiler::kGeluOpKind << ")\n";
  const auto noise = profiler::assess_noise(st);
  for (const auto& r : noise.reasons) std::cerr << "warning: noisy timing: " << r << "\n";
  if (noise.noisy) std::cerr << "warning: these figures are not reliable; close other work and run the profile again\n";
  print_kind_table(st, ablation_us);
  if (args.flag("--per-block")) print_block_table(st);
  return kOk;
}

int cmd_profile_diff(const std::vector<std::string>& argv) {
  Args args("profile-diff",
            "Stage-by-stage (and with --per-block, block-by-block) comparison of traces written by\n"
            "`profile --trace`. Two traces (e.g. int8-gelu vs int8-relu): medians, B-A deltas and B/A ratios;\n"
            "B/A < 1 means B is faster. Three or more (e.g. the four columns of issue 16: int8-gelu and\n"
            "int8-ivit of the GELU model, int8-relu and int8-ivit of the GELU-less one): one column per trace,\n"
            "headed by its model file and variant, with the median us per forward and the ratio to the first\n"
            "trace (< 1: faster than the first); the first row is the end-to-end forward with recording off.\n"
            "A stage a variant does not run (the GELU op in a GELU-less model) shows '-'.",
            {{"--per-block", "", "also compare block by block", ""}, {"--json", "", "print JSON", ""}}, "A.json B.json [C.json ...]",
            "example: swinscope-cli profile-diff gelu.json gelu-ivit.json relu.json relu-ivit.json --per-block\n"
            "(each written by e.g. swinscope-cli profile --model M --variant int8-ivit --backend cpu --threads 1 --trace gelu-ivit.json;\n"
            "bench/ivit_cpu.sh times the same four in paired rounds)");
  if (!args.parse(argv)) return kOk;
  if (args.positional().size() < 2) throw UsageError("swinscope-cli profile-diff: expects two or more trace files (see --help)");
  auto load = [](const std::string& p) {
    std::vector<profiler::Trace> t;
    try {
      t = profiler::import_chrome_json(p);
    } catch (const std::exception& e) {
      throw Error(e.what());
    }
    if (t.empty()) throw Error(p + ": holds no SwinScope trace");
    return t.front();
  };
  if (args.positional().size() > 2) {
    std::vector<profiler::Trace> traces;
    for (const auto& p : args.positional()) traces.push_back(load(p));
    return diff_many(args.positional(), traces, args.flag("--per-block"), args.flag("--json"));
  }
  const auto a = load(args.positional()[0]);
  const auto b = load(args.positional()[1]);
  const auto sa = profiler::compute_stats(a);
  const auto sb = profiler::compute_stats(b);
  std::map<std::string, std::pair<double, double>> kinds;  // kind → (A, B) median per forward
  std::vector<std::string> order;
  for (const auto& k : sa.kinds) {
    kinds[k.kind].first = k.us.median;
    order.push_back(k.kind);
  }
  for (const auto& k : sb.kinds) {
    if (!kinds.count(k.kind)) order.push_back(k.kind);
    kinds[k.kind].second = k.us.median;
  }
  const double ea = end_to_end_us(a, sa);
  const double eb = end_to_end_us(b, sb);
  if (args.flag("--json")) {
    nlohmann::json j{{"a", args.positional()[0]}, {"b", args.positional()[1]}, {"end_to_end_us", {ea, eb}}, {"speedup_a_over_b", ea / eb}};
    for (const auto& k : order) j["kinds"].push_back({{"kind", k}, {"a_us", kinds[k].first}, {"b_us", kinds[k].second}});
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  std::cout << "A: " << a.context.model << " " << a.context.variant << " (" << a.context.device << ", batch " << a.context.batch << ")\n"
            << "B: " << b.context.model << " " << b.context.variant << " (" << b.context.device << ", batch " << b.context.batch << ")\n"
            << "end-to-end (medians): A " << fmt(ea / 1000, 2) << " ms, B " << fmt(eb / 1000, 2) << " ms, B/A " << fmt(eb / ea, 3)
            // Always "X is N x faster" with N >= 1: "B is 0.053x as fast" reads backwards.
            << "  (" << (ea >= eb ? "B is " + fmt(ea / eb, 2) : "A is " + fmt(eb / ea, 2)) << "x faster)\n\n"
            << "  stage                          A (us)      B (us)    B-A (us)     B/A\n";
  for (const auto& k : order) {
    const auto [va, vb] = kinds[k];
    std::string name = k;
    name.resize(26, ' ');
    std::cout << "  " << name << std::setw(12) << (va > 0 ? fmt(va) : "-") << std::setw(12) << (vb > 0 ? fmt(vb) : "-")
              << std::setw(12) << fmt(vb - va) << std::setw(8) << (va > 0 && vb > 0 ? fmt(vb / va, 3) : "-") << "\n";
  }
  if (args.flag("--per-block")) {
    std::map<std::pair<int, std::string>, std::pair<double, double>> blocks;
    for (const auto& x : sa.block_kinds) blocks[{x.block, x.kind}].first = x.us.median;
    for (const auto& x : sb.block_kinds) blocks[{x.block, x.kind}].second = x.us.median;
    std::cout << "\n  block  stage                          A (us)      B (us)     B/A\n";
    for (const auto& [key, v] : blocks) {
      if (key.first < 0) continue;
      std::string name = key.second;
      name.resize(26, ' ');
      std::cout << "  " << std::setw(5) << key.first << "  " << name << std::setw(12) << (v.first > 0 ? fmt(v.first) : "-")
                << std::setw(12) << (v.second > 0 ? fmt(v.second) : "-") << std::setw(8)
                << (v.first > 0 && v.second > 0 ? fmt(v.second / v.first, 3) : "-") << "\n";
    }
  }
  return kOk;
}

}  // namespace swinscope::cli
