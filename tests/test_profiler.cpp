// Profiler: recorder nesting and bookkeeping, stats on hand-made traces with known answers,
// Chrome JSON / CSV export, import round trip and error messages, and the CUDA recorder
// where a device exists.
#include <QTemporaryDir>
#include <QtTest>

#include <numeric>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profiler/cpu_clock_recorder.h"
#include "profiler/export.h"
#include "profiler/stats.h"
#include "profiler/trace.h"
#ifdef SWINSCOPE_HAVE_CUDA
#include "profiler/cuda/cuda_event_recorder.h"
#endif

using namespace swinscope::profiler;

// Times are clock ticks converted to double µs; start + duration can land one rounding
// (well under a picosecond) past an end converted on its own, so containment allows that.
constexpr double kRoundingUs = 1e-6;

namespace {

// One forward: patch_embed, then per block a "block" span holding qkv_gemm and softmax, then head.
void record_forward(Recorder& rec, int blocks) {
  { Span s(&rec, "patch_embed", -1); }
  for (int b = 0; b < blocks; ++b) {
    Span block(&rec, "block", b);
    { Span s(&rec, "qkv_gemm", b); }
    { Span s(&rec, "softmax", b); }
  }
  { Span s(&rec, "head", -1); }
}

// Per run r: block 0 holds a = A0[r] and b = 5, block 1 holds a = 1 and b = 5, then head = H[r];
// every run lasts 100 µs and runs start 100 µs apart. The tests below use these answers.
constexpr double A0[] = {10, 20, 30, 40};
constexpr double H[] = {2, 4, 6, 8};

Trace hand_made_trace() {
  Trace t;
  t.context = TraceContext{"tiny", "int8-gelu", "cpu", "test, with comma", 2, 4, 1, "hand-made"};
  t.end_to_end_us_unrecorded = 95;
  for (int r = 0; r < 4; ++r) {
    t.runs.push_back(TraceRun{r, 100.0 * r, 100});
    double now = 1;
    for (int b = 0; b < 2; ++b) {
      const double a = b == 0 ? A0[r] : 1.0;
      t.spans.push_back(TraceSpan{"block", "block", 0, b, 0, now, a + 5, r});
      t.spans.push_back(TraceSpan{"a", "a", 1, b, 1, now, a, r});
      t.spans.push_back(TraceSpan{"b", "b", 2, b, 1, now + a, 5, r});
      now += a + 5;
    }
    t.spans.push_back(TraceSpan{"head", "head", 3, -1, 0, now, H[r], r});
  }
  return t;
}

bool near(double a, double b, double tol = 1e-9) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

// Exact for everything but times, which go through ts = run start + span start on export.
void compare_traces(const Trace& got, const Trace& want) {
  QCOMPARE(got.context, want.context);
  QCOMPARE(got.end_to_end_us_unrecorded, want.end_to_end_us_unrecorded);
  QCOMPARE(got.unmatched_ends, want.unmatched_ends);
  QCOMPARE(got.unclosed_spans, want.unclosed_spans);
  QCOMPARE(got.runs, want.runs);
  QCOMPARE(got.spans.size(), want.spans.size());
  for (std::size_t i = 0; i < got.spans.size(); ++i) {
    TraceSpan g = got.spans[i];
    const TraceSpan& w = want.spans[i];
    QVERIFY2(near(g.start_us, w.start_us), qPrintable(QString("span %1 start").arg(i)));
    g.start_us = w.start_us;
    QVERIFY2(g == w, qPrintable(QString("span %1 (%2)").arg(i).arg(QString::fromStdString(w.name))));
  }
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const TraceError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

class TestProfiler : public QObject {
  Q_OBJECT

 private slots:
  void cpuRecorderNesting();
  void cpuRecorderReusesStorage();
  void implicitRun();
  void mismatchedEnd_data();
  void mismatchedEnd();
  void summarize_data();
  void summarize();
  void statsPerKind_data();
  void statsPerKind();
  void statsPerBlockAndRuns();
  void histogramBins();
  void ablation();
  void exportRoundTrip();
  void exportFollowsTraceEventRules();
  void importErrors_data();
  void importErrors();
  void csvExport();
  void cudaRecorder();
};

void TestProfiler::cpuRecorderNesting() {
  CpuClockRecorder rec(16, OnMismatch::Throw);
  for (int r = 0; r < 2; ++r) {
    rec.begin_run(r);
    record_forward(rec, 3);
    rec.end_run();
  }
  const Trace t = rec.take_trace(TraceContext{"m", "v", "cpu", "host", 1, 0, 0, ""});
  QCOMPARE(t.runs.size(), std::size_t{2});
  QCOMPARE(t.context.runs, 2);
  QCOMPARE(t.spans.size(), std::size_t{2 * (2 + 3 * 3)});
  QCOMPARE(t.unmatched_ends, 0);
  QCOMPARE(t.unclosed_spans, 0);
  QCOMPARE(stage_kinds(t), (std::vector<std::string>{"patch_embed", "block", "qkv_gemm", "softmax", "head"}));
  QVERIFY(t.runs[1].start_us >= t.runs[0].start_us + t.runs[0].dur_us - kRoundingUs);

  const TraceSpan* parent = nullptr;
  const TraceSpan* previous = nullptr;
  for (const TraceSpan& s : t.spans) {
    QCOMPARE(s.kind, s.name);
    QVERIFY(s.dur_us >= 0);
    QVERIFY(s.start_us >= 0);
    QVERIFY(s.start_us + s.dur_us <= t.runs[s.run].dur_us + kRoundingUs);
    const bool in_block = s.name == "qkv_gemm" || s.name == "softmax";
    QCOMPARE(s.depth, in_block ? 1 : 0);
    QCOMPARE(s.block >= 0, s.name != "patch_embed" && s.name != "head");
    if (s.depth == 0) parent = &s;
    if (in_block) {  // inside its block span, and after its previous sibling
      QCOMPARE(parent->block, s.block);
      QVERIFY(s.start_us >= parent->start_us);
      QVERIFY(s.start_us + s.dur_us <= parent->start_us + parent->dur_us + kRoundingUs);
    }
    if (previous && previous->run == s.run && previous->depth >= s.depth)
      QVERIFY(s.start_us >= previous->start_us + previous->dur_us - kRoundingUs);
    previous = &s;
  }
  QCOMPARE(kind_colour_argb("softmax"), kind_colour_argb(std::string("soft") + "max"));
  QCOMPARE(kind_colour_argb("softmax") >> 24, 0xFFu);
}

void TestProfiler::cpuRecorderReusesStorage() {
  CpuClockRecorder rec(1, OnMismatch::Throw);
  rec.begin_run(0);
  record_forward(rec, 4);
  rec.end_run();
  rec.clear();  // the warm-up run only sized the storage
  rec.reserve_runs(5);
  const auto* storage = rec.log().spans().data();
  for (int r = 0; r < 5; ++r) {
    rec.begin_run(r);
    record_forward(rec, 4);
    rec.end_run();
  }
  QCOMPARE(rec.log().spans().data(), storage);
  const Trace first = rec.take_trace({});
  QCOMPARE(first.spans.size(), std::size_t{5 * 14});
  QCOMPARE(first.runs.front().run, 0);
  QCOMPARE(first.runs.front().start_us, 0.0);

  rec.begin_run(0);
  record_forward(rec, 4);
  QCOMPARE(rec.log().spans().data(), storage);
  const Trace second = rec.take_trace({});
  QCOMPARE(second.spans.size(), std::size_t{14});
}

void TestProfiler::implicitRun() {
  CpuClockRecorder rec(8, OnMismatch::Throw);
  record_forward(rec, 1);
  rec.begin_run(7);
  record_forward(rec, 1);
  const Trace t = rec.take_trace({});  // closes run 7
  QCOMPARE(t.runs.size(), std::size_t{2});
  QCOMPARE(t.runs[0].run, 0);
  QCOMPARE(t.runs[1].run, 7);
  QCOMPARE(t.spans.back().run, 7);
}

void TestProfiler::mismatchedEnd_data() {
  QTest::addColumn<bool>("throws");
  QTest::newRow("throw") << true;
  QTest::newRow("count") << false;
}

void TestProfiler::mismatchedEnd() {
  QFETCH(bool, throws);
  CpuClockRecorder rec(8, throws ? OnMismatch::Throw : OnMismatch::Count);
  rec.begin_run(0);
  rec.begin("softmax", 0);
  rec.end();
  if (throws)
    QVERIFY_THROWS_EXCEPTION(std::logic_error, rec.end());
  else
    rec.end();
  rec.begin("left_open", 1);
  if (throws)
    QVERIFY_THROWS_EXCEPTION(std::logic_error, rec.end_run());
  else
    rec.end_run();
  const Trace t = rec.take_trace({});
  QCOMPARE(t.unmatched_ends, 1);
  QCOMPARE(t.unclosed_spans, 1);
  QCOMPARE(t.spans.size(), std::size_t{2});
  // The open span is closed at the run's end, so it still lies inside the run.
  QVERIFY(t.spans[1].dur_us >= 0);
  QVERIFY(t.spans[1].start_us + t.spans[1].dur_us <= t.runs[0].dur_us + kRoundingUs);
}

void TestProfiler::summarize_data() {
  QTest::addColumn<std::vector<double>>("values");
  QTest::addColumn<double>("mean");
  QTest::addColumn<double>("median");
  QTest::addColumn<double>("min");
  QTest::addColumn<double>("max");
  QTest::addColumn<double>("p90");
  QTest::newRow("1..10") << std::vector<double>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1} << 5.5 << 5.5 << 1.0 << 10.0 << 9.1;
  QTest::newRow("single") << std::vector<double>{7} << 7.0 << 7.0 << 7.0 << 7.0 << 7.0;
  QTest::newRow("odd") << std::vector<double>{3, 1, 2} << 2.0 << 2.0 << 1.0 << 3.0 << 2.8;
  QTest::newRow("empty") << std::vector<double>{} << 0.0 << 0.0 << 0.0 << 0.0 << 0.0;
}

void TestProfiler::summarize() {
  QFETCH(std::vector<double>, values);
  const Summary s = swinscope::profiler::summarize(values);
  QCOMPARE(s.n, static_cast<int>(values.size()));
  QFETCH(double, mean);
  QFETCH(double, median);
  QFETCH(double, min);
  QFETCH(double, max);
  QFETCH(double, p90);
  QVERIFY(near(s.mean, mean));
  QVERIFY(near(s.median, median));
  QVERIFY(near(s.min, min));
  QVERIFY(near(s.max, max));
  QVERIFY2(near(s.p90, p90), qPrintable(QString::number(s.p90)));
}

void TestProfiler::statsPerKind_data() {
  QTest::addColumn<int>("depth");
  QTest::addColumn<QString>("kind");
  QTest::addColumn<double>("spans_per_run");
  QTest::addColumn<double>("mean");
  QTest::addColumn<double>("median");
  QTest::addColumn<double>("min");
  QTest::addColumn<double>("max");
  QTest::addColumn<double>("p90");
  QTest::addColumn<double>("share");
  // a per run = A0 + 1 = {11, 21, 31, 41}; p90 rank 0.9·3 = 2.7 → 31 + 0.7·10.
  QTest::newRow("leaves a") << kLeafSpans << "a" << 2.0 << 26.0 << 26.0 << 11.0 << 41.0 << 38.0 << 104.0 / 400;
  QTest::newRow("leaves b") << kLeafSpans << "b" << 2.0 << 10.0 << 10.0 << 10.0 << 10.0 << 10.0 << 40.0 / 400;
  QTest::newRow("leaves head") << kLeafSpans << "head" << 1.0 << 5.0 << 5.0 << 2.0 << 8.0 << 7.4 << 20.0 / 400;
  QTest::newRow("depth 1 a") << 1 << "a" << 2.0 << 26.0 << 26.0 << 11.0 << 41.0 << 38.0 << 104.0 / 400;
  // block per run = a + 10 = {21, 31, 41, 51}.
  QTest::newRow("depth 0 block") << 0 << "block" << 2.0 << 36.0 << 36.0 << 21.0 << 51.0 << 48.0 << 144.0 / 400;
  QTest::newRow("depth 0 head") << 0 << "head" << 1.0 << 5.0 << 5.0 << 2.0 << 8.0 << 7.4 << 20.0 / 400;
}

void TestProfiler::statsPerKind() {
  QFETCH(int, depth);
  QFETCH(QString, kind);
  const TraceStats st = compute_stats(hand_made_trace(), depth);
  QCOMPARE(st.runs, 4);
  const KindStats* k = nullptr;
  for (const KindStats& ks : st.kinds)
    if (ks.kind == kind.toStdString()) k = &ks;
  QVERIFY(k);
  QFETCH(double, spans_per_run);
  QFETCH(double, mean);
  QFETCH(double, median);
  QFETCH(double, min);
  QFETCH(double, max);
  QFETCH(double, p90);
  QFETCH(double, share);
  QCOMPARE(k->spans_per_run, spans_per_run);
  QCOMPARE(k->us.n, 4);
  QVERIFY(near(k->us.mean, mean));
  QVERIFY(near(k->us.median, median));
  QVERIFY(near(k->us.min, min));
  QVERIFY(near(k->us.max, max));
  QVERIFY2(near(k->us.p90, p90), qPrintable(QString::number(k->us.p90)));
  QVERIFY(near(k->share, share));
  // Kinds come in stage order whatever the depth.
  for (std::size_t i = 1; i < st.kinds.size(); ++i) QVERIFY(st.kinds[i - 1].stage < st.kinds[i].stage);
}

void TestProfiler::statsPerBlockAndRuns() {
  Trace t = hand_made_trace();
  TraceStats st = compute_stats(t);
  QCOMPARE(st.kinds.size(), std::size_t{3});  // a, b, head: "block" has children
  QCOMPARE(st.run_total_us.median, 100.0);
  QVERIFY(near(st.covered_us.mean, 26.0 + 10.0 + 5.0));
  QVERIFY(near(st.recording_overhead_us, 5.0));
  // Ordered by block (-1 = head first), then stage.
  QCOMPARE(st.block_kinds.size(), std::size_t{5});
  QCOMPARE(st.block_kinds[0].kind, std::string("head"));
  QCOMPARE(st.block_kinds[1].block, 0);
  QCOMPARE(st.block_kinds[1].kind, std::string("a"));
  QVERIFY(near(st.block_kinds[1].us.mean, 25.0));
  QVERIFY(near(st.block_kinds[1].us.p90, 37.0));
  QVERIFY(near(st.block_kinds[1].share, 100.0 / 400));
  QCOMPARE(st.block_kinds[3].block, 1);
  QVERIFY(near(st.block_kinds[3].us.max, 1.0));
  // The per-run values behind each summary (the A/B diff resamples them), in run order.
  QCOMPARE(st.block_kinds[1].per_run_us, std::vector<double>(std::begin(A0), std::end(A0)));
  QCOMPARE(st.kinds[0].per_run_us, (std::vector<double>{11, 21, 31, 41}));  // a: block 0's A0 + block 1's 1

  // Without run records, a run's total is the extent of its spans: 1 .. 1 + a + 10 + head.
  t.runs.clear();
  st = compute_stats(t);
  QCOMPARE(st.runs, 4);
  QVERIFY(near(st.run_total_us.min, 21.0 + 2.0));
  QVERIFY(near(st.run_total_us.max, 51.0 + 8.0));
  // Leaf detection must not depend on the order spans are listed in.
  std::reverse(t.spans.begin(), t.spans.end());
  QCOMPARE(compute_stats(t).kinds.size(), std::size_t{3});
}

void TestProfiler::histogramBins() {
  // {1, 2, 2, 3, 10} in 3 bins over [1, 10]: [1, 4) holds four, [7, 10] the maximum.
  auto h = histogram({1, 2, 2, 3, 10}, 3);
  QCOMPARE(h.lo, 1.0);
  QCOMPARE(h.width, 3.0);
  QCOMPARE(h.counts, (std::vector<int>{4, 0, 1}));
  // Sturges: ⌈log2 5⌉ + 1 = 4 bins, every value counted once.
  h = histogram({1, 2, 2, 3, 10});
  QCOMPARE(h.counts.size(), std::size_t(4));
  QCOMPARE(std::accumulate(h.counts.begin(), h.counts.end(), 0), 5);
  // All equal: one bin of width 0; nothing: no bins.
  h = histogram({7, 7, 7});
  QCOMPARE(h.counts, std::vector<int>{3});
  QCOMPARE(h.width, 0.0);
  QVERIFY(histogram({}).counts.empty());
}

void TestProfiler::ablation() {
  const AblationResult r = swinscope::profiler::ablation("fc1_bias_gelu_quant", {100, 104, 98}, {90, 89, 91});
  QCOMPARE(r.kind, std::string("fc1_bias_gelu_quant"));
  QVERIFY(near(r.op_us, 10.0));
  QVERIFY(near(r.share, 0.1));
  QCOMPARE(r.full_us.n, 3);
  QVERIFY(!r.outputs_valid);
}

void TestProfiler::exportRoundTrip() {
  CpuClockRecorder rec(64, OnMismatch::Count);
  for (int r = 0; r < 3; ++r) {
    rec.begin_run(r);
    record_forward(rec, 2);
    rec.end_run();
  }
  rec.end();  // one unmatched end, which must survive the round trip
  const std::vector<Trace> traces{hand_made_trace(),
                                  rec.take_trace(TraceContext{"m", "int8-relu", "cpu", "", 1, 3, 2, "\"quoted\""})};
  QCOMPARE(traces[1].unmatched_ends, 1);

  const std::vector<Trace> back = parse_chrome_json(to_chrome_json(traces));
  QCOMPARE(back.size(), traces.size());
  for (std::size_t i = 0; i < back.size(); ++i) compare_traces(back[i], traces[i]);

  QTemporaryDir dir;
  QVERIFY(dir.isValid());
  const std::filesystem::path path = dir.filePath("trace.json").toStdString();
  export_chrome_json(traces, path);
  const std::vector<Trace> from_file = import_chrome_json(path);
  QCOMPARE(from_file.size(), traces.size());
  for (std::size_t i = 0; i < back.size(); ++i) compare_traces(from_file[i], traces[i]);
  // Written through a temporary file that is gone afterwards.
  QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"trace.json"});
}

void TestProfiler::exportFollowsTraceEventRules() {
  CpuClockRecorder rec(64, OnMismatch::Throw);
  for (int r = 0; r < 2; ++r) {
    rec.begin_run(r);
    record_forward(rec, 2);
    rec.end_run();
  }
  const std::vector<Trace> traces{hand_made_trace(), rec.take_trace({})};
  const auto root = nlohmann::json::parse(to_chrome_json(traces));
  QCOMPARE(root.at("displayTimeUnit").get<std::string>(), std::string("ms"));

  std::set<int> named_pids;
  std::set<std::pair<int, int>> named_threads, used_threads;
  // The enclosing event per (pid, tid) and depth: the run event sits at depth -1.
  std::map<std::pair<int, int>, std::map<int, std::pair<double, double>>> open;
  int x_events = 0;
  bool saw_known_span = false;
  for (const auto& e : root.at("traceEvents")) {
    const std::string ph = e.at("ph");
    const int pid = e.at("pid");
    const int tid = e.at("tid");
    if (ph == "M") {
      if (e.at("name") == "process_name") named_pids.insert(pid);
      if (e.at("name") == "thread_name") named_threads.insert({pid, tid});
      QVERIFY(e.at("args").contains("name") || e.at("args").contains("sort_index"));
      continue;
    }
    QCOMPARE(ph, std::string("X"));
    ++x_events;
    used_threads.insert({pid, tid});
    const double ts = e.at("ts");
    const double dur = e.at("dur");
    QVERIFY(dur >= 0);
    const int depth = e.at("cat") == "run" ? -1 : e.at("args").at("depth").get<int>();
    auto& levels = open[{pid, tid}];
    if (depth >= 0) {
      QVERIFY2(levels.count(depth - 1), "a span before its parent");
      const auto [pts, pdur] = levels.at(depth - 1);
      const double eps = 1e-6;
      QVERIFY2(ts >= pts - eps && ts + dur <= pts + pdur + eps,
               qPrintable(QString::fromStdString(e.at("name").get<std::string>() + " outside its parent")));
      QCOMPARE(tid, e.at("args").at("run").get<int>() + 1);
    }
    levels[depth] = {ts, dur};
    // Microseconds: the hand-made span "a" of block 0 in run 1 is 20 µs long and starts
    // 1 µs into run 1, which starts at 100 µs.
    if (pid == 1 && e.at("name") == "a" && e.at("args").at("run") == 1 && e.at("args").at("block") == 0) {
      QCOMPARE(dur, 20.0);
      QCOMPARE(ts, 101.0);
      saw_known_span = true;
    }
  }
  QVERIFY(saw_known_span);
  QCOMPARE(x_events, int(traces[0].spans.size() + traces[0].runs.size() + traces[1].spans.size() +
                         traces[1].runs.size()));
  QCOMPARE(named_pids, (std::set<int>{1, 2}));
  for (const auto& thread : used_threads) QVERIFY(named_threads.count(thread));
  QCOMPARE(root.at("swinscope").at("traces").size(), std::size_t{2});
}

void TestProfiler::importErrors_data() {
  const std::string good = to_chrome_json({hand_made_trace()});
  auto edit = [&](const std::function<void(nlohmann::json&)>& f) {
    auto j = nlohmann::json::parse(good);
    f(j);
    return QString::fromStdString(j.dump());
  };
  auto first_span = [](nlohmann::json& j) -> nlohmann::json& {
    for (auto& e : j["traceEvents"])
      if (e["ph"] == "X" && e["cat"] == "span") return e;
    throw std::logic_error("no span");
  };
  QTest::addColumn<QString>("text");
  QTest::addColumn<QString>("message");
  QTest::newRow("not json") << "{\"traceEvents\": [" << "<string>: JSON: ";
  QTest::newRow("foreign trace") << "{\"traceEvents\": []}" << "top level: missing \"swinscope\"";
  QTest::newRow("format") << edit([](auto& j) { j["swinscope"]["format"] = "other"; })
                          << "swinscope.format: expected \"swinscope-trace\"";
  QTest::newRow("version") << edit([](auto& j) { j["swinscope"]["version"] = 9; })
                           << "swinscope.version: expected 1, found 9";
  QTest::newRow("negative dur") << edit([&](auto& j) { first_span(j)["dur"] = -1.5; }) << "negative duration";
  QTest::newRow("ts not a number") << edit([&](auto& j) { first_span(j)["ts"] = "12"; })
                                   << "\"ts\" must be a finite number, found \"12\"";
  QTest::newRow("unknown pid") << edit([&](auto& j) { first_span(j)["pid"] = 42; })
                               << "pid 42 has no entry in swinscope.traces";
  QTest::newRow("args without kind") << edit([&](auto& j) { first_span(j)["args"].erase("kind"); })
                                     << ".args: missing \"kind\"";
  QTest::newRow("context batch") << edit([](auto& j) { j["swinscope"]["traces"][0]["context"]["batch"] = "2"; })
                                 << "swinscope.traces[0].context: \"batch\" must be an integer";
}

void TestProfiler::importErrors() {
  QFETCH(QString, text);
  QFETCH(QString, message);
  const std::string what = error_of([&] { parse_chrome_json(text.toStdString()); });
  QVERIFY2(what.find(message.toStdString()) != std::string::npos, what.c_str());

  const std::string missing = error_of([] { import_chrome_json("/nonexistent/trace.json"); });
  QVERIFY2(missing.find("/nonexistent/trace.json: cannot open") != std::string::npos, missing.c_str());
}

void TestProfiler::csvExport() {
  Trace t = hand_made_trace();
  t.spans[0].name = "block, \"zero\"";
  const std::string csv = to_csv(t);
  std::istringstream in(csv);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  QCOMPARE(lines.size(), t.spans.size() + 1);
  QCOMPARE(lines[0], std::string("run,block,stage,kind,name,depth,start_us,dur_us"));
  QCOMPARE(lines[1], std::string("0,0,0,block,\"block, \"\"zero\"\"\",0,1.000,15.000"));
  QCOMPARE(lines.back(), std::string("3,-1,3,head,head,0,52.000,8.000"));

  QTemporaryDir dir;
  const std::filesystem::path path = dir.filePath("trace.csv").toStdString();
  export_csv(t, path);
  std::ifstream file(path);
  std::stringstream contents;
  contents << file.rdbuf();
  QCOMPARE(contents.str(), csv);
  const std::string bad = error_of([&] { export_csv(t, "/nonexistent/dir/trace.csv"); });
  QVERIFY2(bad.find("/nonexistent/dir/trace.csv: cannot create") != std::string::npos, bad.c_str());
}

void TestProfiler::cudaRecorder() {
#ifndef SWINSCOPE_HAVE_CUDA
  QSKIP("built without CUDA");
#else
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) QSKIP("no CUDA device");
  cudaStream_t stream = nullptr;
  QCOMPARE(cudaStreamCreate(&stream), cudaSuccess);
  void* buffer = nullptr;
  const std::size_t bytes = 64 << 20;
  QCOMPARE(cudaMalloc(&buffer, bytes), cudaSuccess);
  {
    CudaEventRecorder rec(stream, 2, OnMismatch::Throw);
    for (int r = 0; r < 3; ++r) {
      rec.begin_run(r);
      rec.begin("outer", -1);
      for (int b = 0; b < 2; ++b) {
        Span s(&rec, "memset", b);
        QCOMPARE(cudaMemsetAsync(buffer, b, bytes, stream), cudaSuccess);
      }
      rec.end();
      rec.end_run();
    }
    const Trace t = rec.take_trace(TraceContext{"", "", "cuda", "", 1, 0, 0, ""});
    QCOMPARE(t.runs.size(), std::size_t{3});
    QCOMPARE(t.spans.size(), std::size_t{9});
    QCOMPARE(stage_kinds(t), (std::vector<std::string>{"outer", "memset"}));
    const double eps = 1e-3;  // cudaEventElapsedTime is float milliseconds
    for (std::size_t i = 0; i < t.spans.size(); i += 3) {
      const TraceSpan& outer_span = t.spans[i];
      QCOMPARE(outer_span.depth, 0);
      for (std::size_t c = i + 1; c < i + 3; ++c) {
        const TraceSpan& s = t.spans[c];
        QCOMPARE(s.depth, 1);
        QVERIFY(s.dur_us > 0);  // a 64 MiB memset takes microseconds on any GPU
        QVERIFY(s.start_us >= outer_span.start_us - eps);
        QVERIFY(s.start_us + s.dur_us <= outer_span.start_us + outer_span.dur_us + eps);
      }
      QVERIFY(outer_span.start_us + outer_span.dur_us <= t.runs[outer_span.run].dur_us + eps);
    }
    // A second session reuses the pool.
    const std::size_t pool = rec.pool_size();
    rec.begin_run(0);
    { Span s(&rec, "memset", 0); }
    rec.end_run();
    QCOMPARE(rec.take_trace({}).spans.size(), std::size_t{1});
    QCOMPARE(rec.pool_size(), pool);
  }
  QCOMPARE(cudaFree(buffer), cudaSuccess);
  QCOMPARE(cudaStreamDestroy(stream), cudaSuccess);
#endif
}

QTEST_APPLESS_MAIN(TestProfiler)
#include "test_profiler.moc"
