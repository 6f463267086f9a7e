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

  // Issue 16: profile-diff with more than two traces — the four columns (int8-gelu and int8-ivit
  // of the bundled GELU model, int8-relu and int8-ivit of the GELU-less one), each headed by its
  // model file and variant, median us per forward and the ratio to the first column.
  void profile_diff_compares_four_variants() {
    QTemporaryDir dir;
    const QString assets = QStringLiteral(SWINSCOPE_SOURCE_DIR "/assets/models/");
    const QStringList configs{"gelu int8-gelu", "gelu int8-ivit", "relu int8-relu", "relu int8-ivit"};
    QStringList traces;
    for (const auto& c : configs) {
      const QStringList mv = c.split(' ');
      const QString trace = dir.filePath(mv[0] + "-" + mv[1] + ".json");
      const auto r = run_cli({"profile", "--model", assets + "fmnist_swin_" + mv[0] + ".int8.safetensors", "--variant", mv[1], "--backend", "cpu",
                              "--threads", "1", "--batch", "1", "--runs", "2", "--warmup", "0", "--trace", trace});
      QVERIFY2(r.code == 0, qPrintable(c + ": " + r.err));
      traces << trace;
    }
    auto r = run_cli(QStringList{"profile-diff"} + traces + QStringList{"--per-block"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    // One header line of model files, one of variants, in the order given.
    const QStringList lines = r.out.split('\n');
    const auto variantsLine = std::find_if(lines.begin(), lines.end(), [](const QString& l) { return l.trimmed().startsWith("stage "); });
    QVERIFY2(variantsLine != lines.end(), qPrintable(r.out));
    const QStringList heads = variantsLine->simplified().split(' ');
    QCOMPARE(heads, (QStringList{"stage", "int8-gelu", "int8-ivit", "int8-relu", "int8-ivit"}));
    const QString models = (variantsLine - 1)->simplified();
    QCOMPARE(models, QStringLiteral("fmnist_swin_gelu.int8 fmnist_swin_gelu.int8 fmnist_swin_relu.int8 fmnist_swin_relu.int8"));
    QVERIFY2(r.out.contains("[2] fmnist_swin_gelu.int8.safetensors int8-ivit"), qPrintable(r.out));
    // Every row: the first column's median, then each other column's median and its ratio.
    auto row = [&](const QString& name) {
      for (const auto& l : lines)
        if (l.trimmed().startsWith(name + "  ")) return l.simplified().mid(name.size() + 1).split(' ');
      return QStringList();
    };
    const QStringList e2e = row("end-to-end (recording off)");
    QCOMPARE(e2e.size(), 7);
    QVERIFY(e2e[0].toDouble() > 0);
    for (int i : {1, 3, 5}) QVERIFY2(e2e[i].toDouble() > 0 && e2e[i + 1].startsWith('x'), qPrintable(e2e.join(' ')));
    QVERIFY(std::abs(e2e[2].mid(1).toDouble() - e2e[1].toDouble() / e2e[0].toDouble()) < 0.01 * e2e[2].mid(1).toDouble() + 1e-3);
    // ShiftGELU sits in the GELU op's row; the GELU-less columns have none.
    QCOMPARE(row("fc1_bias_gelu_quant").mid(3), (QStringList{"-", "-"}));
    QCOMPARE(row("softmax").size(), 7);
    // --per-block: a second table, block by block.
    QVERIFY2(r.out.contains(QRegularExpression("\\n\\s+3  softmax\\s+\\d")), qPrintable(r.out));
    // The same in JSON: one entry per trace with its label, a value and a ratio per column.
    r = run_cli(QStringList{"profile-diff", "--json", "--per-block"} + traces);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    const auto ts = j["traces"].toArray();
    QCOMPARE(ts.size(), 4);
    QCOMPARE(ts[0].toObject()["label"].toString(), QStringLiteral("fmnist_swin_gelu.int8.safetensors int8-gelu"));
    QCOMPARE(ts[3].toObject()["label"].toString(), QStringLiteral("fmnist_swin_relu.int8.safetensors int8-ivit"));
    QCOMPARE(ts[0].toObject()["ratio_to_first"].toDouble(), 1.0);
    for (const auto& t : ts) QVERIFY(t.toObject()["end_to_end_us"].toDouble() > 0);
    bool gelu = false;
    for (const auto& k : j["kinds"].toArray()) {
      const auto o = k.toObject();
      QCOMPARE(o["us"].toArray().size(), 4);
      QCOMPARE(o["ratio_to_first"].toArray().size(), 4);
      if (o["kind"].toString() != "fc1_bias_gelu_quant") continue;
      gelu = true;
      QVERIFY(o["us"].toArray()[1].toDouble() > 0);
      QVERIFY(o["us"].toArray()[2].isNull() && o["ratio_to_first"].toArray()[3].isNull());
    }
    QVERIFY(gelu);
    QVERIFY(!j["blocks"].toArray().isEmpty());
    // Fewer than two traces: a usage error.
    r = run_cli({"profile-diff", traces[0]});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("two or more"), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestProfile)
#include "test_profile.moc"
