// The engine under the profiler: every stage of every block recorded, in order, nested in
// its block; stages cover the forward; `profile` and `profile-diff` end to end.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include "tests/cli_runner.h"
#include <QTemporaryDir>

#include <random>

#include "engine/model.h"
#include "engine/plan.h"
#include "engine/stages.h"
#include "profiler/cpu_clock_recorder.h"
#include "profiler/export.h"
#include "profiler/stats.h"

using namespace swinscope;

namespace {
const std::string kDir = std::string(SWINSCOPE_SOURCE_DIR) + "/tests/golden/models/";

}  // namespace

class TestProfile : public QObject {
  Q_OBJECT
 private slots:
  void trace_has_every_stage_of_every_block_in_order() {
    const Model m = load_model(kDir + "tiny3.safetensors");
    PlanOptions po;
    po.max_batch = 2;
    auto plan = make_plan(m, po);
    const auto& c = m.config;
    std::vector<float> in(2ul * c.in_chans * c.img_size * c.img_size, 0.5f), out(2ul * c.num_classes);
    profiler::CpuClockRecorder rec;
    const int runs = 5;
    for (int r = 0; r < runs; ++r) {
      rec.begin_run(r);
      plan->run(in.data(), 2, out.data(), &rec);
      rec.end_run();
    }
    const auto trace = rec.take_trace({});
    QCOMPARE(trace.unmatched_ends, 0);
    QCOMPARE(trace.unclosed_spans, 0);
    // Expected FP32 stage order inside each block (stages fused away in FP32 do not appear).
    const std::vector<std::string> fp32_stages{"ln1_quant", "qkv_gemm", "qk_gemm", "softmax", "av_gemm",
                                               "proj_gemm", "proj_residual_ln2_quant", "fc1_gemm", "fc2_gemm"};
    for (int r = 0; r < runs; ++r) {
      std::vector<std::vector<std::string>> per_block(static_cast<std::size_t>(c.total_blocks()));
      double block_start = -1, block_end = -1;
      for (const auto& s : trace.spans) {
        if (s.run != r) continue;
        QVERIFY2(s.dur_us > 0, s.name.c_str());
        if (s.name == kBlock) {
          block_start = s.start_us;
          block_end = s.start_us + s.dur_us;
          continue;
        }
        if (s.block >= 0) {
          QVERIFY(s.block < c.total_blocks());
          QVERIFY2(s.start_us >= block_start && s.start_us + s.dur_us <= block_end + 1e-3, s.name.c_str());
          per_block[static_cast<std::size_t>(s.block)].push_back(s.name);
        }
      }
      for (const auto& b : per_block) QVERIFY(b == fp32_stages);
    }
    // Stages (leaves) cover the recorded forward; gaps are bookkeeping between spans.
    const auto st = profiler::compute_stats(trace);
    const double cover = st.covered_us.median / st.run_total_us.median;
    qInfo("leaf spans cover %.1f %% of the recorded forward", 100 * cover);
    QVERIFY2(cover > 0.9 && cover <= 1.0 + 1e-9, qPrintable(QString::number(cover)));
  }

  void skipped_stage_disappears_from_the_trace() {
    const Model m = load_model(kDir + "tiny3.safetensors");
    auto plan = make_plan(m, {});
    std::vector<float> in(static_cast<std::size_t>(m.config.in_chans) * m.config.img_size * m.config.img_size, 0.1f);
    std::vector<float> out(static_cast<std::size_t>(m.config.num_classes));
    plan->set_skipped_stage("softmax");
    profiler::CpuClockRecorder rec;
    rec.begin_run(0);
    plan->run(in.data(), 1, out.data(), &rec);
    rec.end_run();
    const auto t = rec.take_trace({});
    QVERIFY(std::none_of(t.spans.begin(), t.spans.end(), [](const auto& s) { return s.name == "softmax"; }));
    QVERIFY(std::any_of(t.spans.begin(), t.spans.end(), [](const auto& s) { return s.name == "qk_gemm"; }));
  }

  void profile_cli_writes_trace_and_diff_reads_it() {
    QTemporaryDir dir;
    const QString model = QString::fromStdString(kDir + "tiny3.safetensors");
    const QString a = dir.filePath("a.json"), b = dir.filePath("b.json"), csv = dir.filePath("a.csv");
    auto r = run_cli({"profile", "--model", model, "--batch", "2", "--runs", "3", "--warmup", "1", "--trace", a, "--csv", csv, "--json"});
    QCOMPARE(r.code, 0);
    const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QVERIFY(j["end_to_end_us_unrecorded"].toDouble() > 0);
    QStringList kinds;
    for (const auto& k : j["kinds"].toArray()) kinds << k.toObject()["kind"].toString();
    for (const char* s : {"patch_embed", "ln1_quant", "softmax", "fc1_gemm", "merge_gemm", "head"}) QVERIFY2(kinds.contains(s), s);
    // Issue 15: the one GELU op share (median-based) and the spread and noise verdict are in the JSON.
    // (An FP32 plan has no separate GELU op: gelu_op is null then, as for a GELU-less model.)
    const auto gelu = j["gelu_op"].toObject();
    QCOMPARE(gelu["kind"].toString(), kinds.contains("fc1_bias_gelu_quant") ? QStringLiteral("fc1_bias_gelu_quant") : QString());
    for (const auto& k : j["kinds"].toArray()) {
      const auto o = k.toObject();
      if (o["kind"].toString() != "fc1_bias_gelu_quant") continue;
      QCOMPARE(gelu["share"].toDouble(), o["share"].toDouble());
      QCOMPARE(gelu["median_us"].toDouble(), o["us"].toObject()["median"].toDouble());
      QVERIFY(o["us"].toObject().contains("p10") && o["us"].toObject().contains("p75"));
    }
    QVERIFY(j["noisy"].isBool());
    QVERIFY(QFile::exists(a));
    QFile cf(csv);
    QVERIFY(cf.open(QIODevice::ReadOnly));
    QVERIFY(cf.readLine().startsWith("run,block,stage,kind,name,depth,start_us,dur_us"));
    r = run_cli({"profile", "--model", model, "--batch", "1", "--runs", "2", "--warmup", "0", "--trace", b});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("stages cover"), qPrintable(r.out));
    QVERIFY2(r.out.contains("GELU op") && r.out.contains("p10-p90") && r.out.contains("median (us)"), qPrintable(r.out));
    // The bundled int8 GELU model has the op: its median and share of the median forward.
    r = run_cli({"profile", "--model", QStringLiteral(SWINSCOPE_SOURCE_DIR "/assets/models/fmnist_swin_gelu.int8.safetensors"), "--batch", "1",
                 "--runs", "3", "--warmup", "1"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("GELU op (fc1_bias_gelu_quant): median") && r.out.contains("% of the forward"), qPrintable(r.out));
    QVERIFY2(!r.out.contains("mean"), qPrintable(r.out));
    r = run_cli({"profile-diff", a, b, "--per-block"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("softmax") && r.out.contains("B/A"), qPrintable(r.out));
    // "X is N x faster", N >= 1, whichever is faster.
    const QRegularExpression faster(QStringLiteral("\\((A|B) is (\\d+\\.\\d+)x faster\\)"));
    const auto m = faster.match(r.out);
    QVERIFY2(m.hasMatch(), qPrintable(r.out));
    QVERIFY(m.captured(2).toDouble() >= 1.0);
    // A file that is not a trace: clear error naming it, exit 2.
    QFile bad(dir.filePath("bad.json"));
    bad.open(QIODevice::WriteOnly);
    bad.write("{\"traceEvents\": 5}");
    bad.close();
    r = run_cli({"profile-diff", a, dir.filePath("bad.json")});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("bad.json"), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestProfile)
#include "test_profile.moc"
