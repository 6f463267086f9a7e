// The app's item models and the timeline's time↔pixel mapping, without any widget: every
// model under QAbstractItemModelTester while it is filled, reset and changed, plus the
// numbers each one is there to show.
#include <QAbstractItemModelTester>
#include <QColor>
#include <QGuiApplication>
#include <QtTest>

#include <set>

#include <cmath>
#include <memory>

#include "engine/stages.h"
#include "gui/models/ab_diff_model.h"
#include "gui/models/compare_model.h"
#include "gui/models/eval_models.h"
#include "gui/models/image_list_model.h"
#include "gui/models/numerics_model.h"
#include "gui/models/prediction_model.h"
#include "gui/models/stage_stats_model.h"
#include "gui/models/stage_style.h"
#include "gui/models/timeline_mapping.h"
#include "gui/models/trace_span_model.h"
#include "profiler/stats.h"

using namespace swinscope;
using namespace swinscope::gui;

namespace {

std::unique_ptr<QAbstractItemModelTester> tester(QAbstractItemModel* m) {
  return std::make_unique<QAbstractItemModelTester>(m, QAbstractItemModelTester::FailureReportingMode::QtTest);
}

std::vector<TopK> top(std::initializer_list<std::pair<const char*, float>> items) {
  std::vector<TopK> out;
  int i = 0;
  for (const auto& [name, p] : items) out.push_back({i++, name, p, p * 10});
  return out;
}

// A forward of `blocks` blocks per run: patch_embed, per block a "block" span holding
// fc1_gemm and (when gelu) fc1_bias_gelu_quant, then head. Run r lasts 100 + 10 r µs.
profiler::Trace makeTrace(int runs, int blocks, bool gelu, double scale = 1.0) {
  profiler::Trace t;
  t.context.model = gelu ? "gelu" : "relu";
  t.context.variant = gelu ? "int8-gelu" : "int8-relu";
  t.context.runs = runs;
  double runStart = 0;
  for (int r = 0; r < runs; ++r) {
    const double dur = (100 + 10 * r) * scale;
    t.runs.push_back({r, runStart, dur});
    runStart += dur;
    t.spans.push_back({"forward", "forward", -1, -1, 0, 0, dur, r});
    t.spans.push_back({"patch_embed", "patch_embed", -1, -1, 1, 0, 5 * scale, r});
    double now = 5 * scale;
    for (int b = 0; b < blocks; ++b) {
      const double blockDur = (gelu ? 30 : 20) * scale;
      t.spans.push_back({"block", "block", -1, b, 1, now, blockDur, r});
      t.spans.push_back({"fc1_gemm", "fc1_gemm", -1, b, 2, now, 20 * scale, r});
      if (gelu) t.spans.push_back({"fc1_bias_gelu_quant", "fc1_bias_gelu_quant", -1, b, 2, now + 20 * scale, 10 * scale, r});
      now += blockDur;
    }
    t.spans.push_back({"head", "head", -1, -1, 1, now, 4 * scale, r});
  }
  return t;
}

EvalSlotResult evalResult(const char* model, std::vector<int> predicted, std::vector<int> labels,
                          std::vector<std::filesystem::path> images) {
  EvalSlotResult r;
  r.model = QString::fromLatin1(model);
  r.variant = QStringLiteral("fp32");
  r.classNames = {"cat", "dog", "fish"};
  r.images = std::move(images);
  r.labels = labels;
  auto& e = r.result;
  e.per_class_total.assign(3, 0);
  e.per_class_correct.assign(3, 0);
  e.confusion.assign(3, std::vector<long>(3, 0));
  e.predicted = predicted;
  for (std::size_t i = 0; i < predicted.size(); ++i) {
    if (predicted[i] < 0) {
      e.skipped.push_back({r.images[i], "not an image"});
      continue;
    }
    ++e.evaluated;
    const int l = labels[i];
    ++e.per_class_total[static_cast<std::size_t>(l)];
    ++e.confusion[static_cast<std::size_t>(l)][static_cast<std::size_t>(predicted[i])];
    if (predicted[i] == l) {
      ++e.top1_correct;
      ++e.per_class_correct[static_cast<std::size_t>(l)];
    }
    ++e.top5_correct;
  }
  e.seconds = 2;
  e.images_per_s = e.evaluated / 2.0;
  return r;
}

}  // namespace

class TestGuiModels : public QObject {
  Q_OBJECT
 private slots:
  // NumericsModel (issue 15, per-stage int8 error): a row per block, a column per compared
  // tensor and "added"; dB formatted, inf for identical, the worst block bold, red → green.
  // AbDiffModel (issue 15, A/B diff): the GELU op only in A is "removed in B"; a stage B runs
  // 20 µs faster in every paired run is "faster" with a shaded cell; noise is "no clear change".
  void abDiffModel() {
    using swinscope::profiler::KindStats;
    using swinscope::profiler::BlockKindStats;
    using swinscope::gui::AbDiffModel;
    auto kind = [](const std::string& name, int stage, std::vector<double> runs) {
      KindStats k;
      k.kind = name;
      k.stage = stage;
      k.us = swinscope::profiler::summarize(runs);
      k.per_run_us = std::move(runs);
      return k;
    };
    swinscope::profiler::TraceStats a, b;
    a.kinds = {kind("softmax", 5, {100, 102, 98, 101, 99, 103}), kind("fc1_bias_gelu_quant", 10, {40, 41, 39, 40, 42, 40}),
               kind("fc2_gemm", 11, {50, 55, 45, 52, 48, 50})};
    b.kinds = {kind("softmax", 5, {80, 82, 78, 81, 79, 83}), kind("fc2_gemm", 11, {52, 47, 51, 49, 53, 46})};
    for (auto* st : {&a, &b})
      for (const auto& k : st->kinds) {
        BlockKindStats bk;
        bk.block = 0;
        bk.kind = k.kind;
        bk.stage = k.stage;
        bk.us = k.us;
        bk.per_run_us = k.per_run_us;
        st->block_kinds.push_back(bk);
      }
    AbDiffModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(m.rowCount(), 0);
    m.setStats(a, std::nullopt);
    QCOMPARE(m.rowCount(), 0);  // a diff needs both
    m.setStats(a, b);
    QCOMPARE(m.rowCount(), 3);  // forward order: softmax, the GELU op, fc2_gemm
    auto change = [&](int row) { return static_cast<AbDiffModel::Change>(m.index(row, 0).data(AbDiffModel::ChangeRole).toInt()); };
    QCOMPARE(m.index(0, AbDiffModel::StageColumn).data().toString(), QStringLiteral("softmax"));
    QCOMPARE(change(0), AbDiffModel::Change::Faster);
    QCOMPARE(m.index(0, AbDiffModel::DeltaColumn).data(AbDiffModel::ValueRole).toDouble(), -20.0);
    QVERIFY(m.index(0, AbDiffModel::DeltaColumn).data(Qt::BackgroundRole).value<QColor>().isValid());
    QVERIFY(m.index(0, AbDiffModel::IntervalColumn).data().toString().startsWith(QStringLiteral("[-")));
    QCOMPARE(m.index(1, AbDiffModel::StageColumn).data().toString(), QStringLiteral("fc1_bias_gelu_quant"));
    QCOMPARE(change(1), AbDiffModel::Change::Removed);
    QCOMPARE(m.index(1, AbDiffModel::ChangeColumn).data().toString(), QStringLiteral("removed in B"));
    QCOMPARE(m.index(1, AbDiffModel::MedianBColumn).data().toString(), QStringLiteral("–"));
    QCOMPARE(change(2), AbDiffModel::Change::Same);
    QVERIFY(!m.index(2, AbDiffModel::DeltaColumn).data(Qt::BackgroundRole).isValid());  // noise is not shaded
    QCOMPARE(m.index(2, 0).data(AbDiffModel::RunsARole).toList().size(), 6);
    // B against A the other way round: the GELU op is "added in B", softmax slower.
    m.setStats(b, a);
    QCOMPARE(change(1), AbDiffModel::Change::Added);
    QCOMPARE(change(0), AbDiffModel::Change::Slower);
    // Per block: the block rows, block number shown.
    m.setPerBlock(true);
    QCOMPARE(m.rowCount(), 3);
    QCOMPARE(m.index(0, AbDiffModel::BlockColumn).data().toString(), QStringLiteral("0"));
    m.setPerBlock(false);
    QCOMPARE(m.index(0, AbDiffModel::BlockColumn).data().toString(), QStringLiteral("all"));
  }

  void numericsModel() {
    using swinscope::SqnrReport;
    using swinscope::SqnrBlockRow;
    swinscope::gui::NumericsModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QCOMPARE(m.rowCount(), 0);
    const std::size_t points = swinscope::sqnr_points().size();
    QCOMPARE(m.columnCount(), static_cast<int>(points) + 3);
    SqnrReport r;
    for (int g = 0; g < 3; ++g) {
      SqnrBlockRow b;
      b.global = g;
      b.prefix = "layers.0.blocks." + std::to_string(g) + ".";
      b.activation_test = "gelu";
      b.activation_ref = "gelu";
      b.cells.resize(points);
      for (auto& c : b.cells) {
        c.signal = 1000;
        c.noise = g == 2 ? 0 : 1;  // 30 dB; block 2 identical
        c.elements = 10;
      }
      r.blocks.push_back(b);
    }
    r.blocks[1].cells.back().noise = 10;  // block 1's output: 20 dB, adding 9 of the 10 units of noise
    r.blocks[1].input = r.blocks[0].cells.back();
    r.blocks[2].input = r.blocks[1].cells.back();
    m.setReport(r);
    QCOMPARE(m.rowCount(), 3);
    const int blockCol = m.pointColumn(static_cast<int>(points) - 1);
    QCOMPARE(m.index(0, blockCol).data().toString(), QStringLiteral("30.0"));
    QCOMPARE(m.index(1, blockCol).data().toString(), QStringLiteral("20.0"));
    QCOMPARE(m.index(2, blockCol).data().toString(), QStringLiteral("inf"));
    QCOMPARE(m.index(2, blockCol).data(swinscope::gui::NumericsModel::DbRole).toDouble(), std::numeric_limits<double>::infinity());
    // added: block 0 = 30 dB (all its noise), block 1 = 10·log10(1000 / 9), block 2 = inf (less noise out than in)
    QCOMPARE(m.index(1, m.addedColumn()).data().toString(), QString::number(10 * std::log10(1000.0 / 9.0), 'f', 1));
    QCOMPARE(m.index(2, m.addedColumn()).data().toString(), QStringLiteral("inf"));
    // The worst block is 1: its row is bold and marked.
    QVERIFY(m.index(1, 0).data(swinscope::gui::NumericsModel::WorstRole).toBool());
    QVERIFY(!m.index(0, 0).data(swinscope::gui::NumericsModel::WorstRole).toBool());
    QVERIFY(m.index(1, 3).data(Qt::FontRole).value<QFont>().bold());
    QVERIFY(m.index(1, 0).data().toString().contains(QStringLiteral("worst")));
    // Colours: red at the bottom, green at the top, lower dB never greener.
    QVERIFY(swinscope::gui::NumericsModel::colorFor(5).hueF() < swinscope::gui::NumericsModel::colorFor(25).hueF());
    QVERIFY(swinscope::gui::NumericsModel::colorFor(25).hueF() < swinscope::gui::NumericsModel::colorFor(45).hueF());
    QCOMPARE(m.index(0, blockCol).data(Qt::BackgroundRole).value<QColor>(), swinscope::gui::NumericsModel::colorFor(30));
    // Headers say what each column measures.
    QCOMPARE(m.headerData(m.pointColumn(0), Qt::Horizontal).toString(), QStringLiteral("ln1"));
    QVERIFY(m.headerData(m.pointColumn(5), Qt::Horizontal, Qt::ToolTipRole).toString().contains(QStringLiteral("softmax")));
    m.clear();
    QCOMPARE(m.rowCount(), 0);
  }

  void mapTimeToX_data();
  void mapTimeToX();
  void zoom_data();
  void zoom();
  void pan_data();
  void pan();
  void setExtentFits();
  void formatDuration_data();
  void formatDuration();
  void stageStyle();
  void predictionModel();
  void imageListModel();
  void evalModels();
  void predictionAgreementByPath();
  void flippedImagesModel();
  void confusionModel();
  void traceSpanModel();
  void traceSpanModelRunSelection();
  void traceSpanModelSearchAndRange();
  void stageStatsModel();
  void compareModel();
};

// ---- TimelineMapping ----

void TestGuiModels::mapTimeToX_data() {
  QTest::addColumn<double>("timeStart");
  QTest::addColumn<double>("timeSpan");
  QTest::addColumn<double>("x0");
  QTest::addColumn<double>("width");
  QTest::addColumn<double>("t");
  QTest::addColumn<double>("x");
  QTest::newRow("origin") << 0.0 << 1000.0 << 0.0 << 500.0 << 0.0 << 0.0;
  QTest::newRow("end") << 0.0 << 1000.0 << 0.0 << 500.0 << 1000.0 << 500.0;
  QTest::newRow("middle, offset area") << 0.0 << 1000.0 << 150.0 << 500.0 << 500.0 << 400.0;
  QTest::newRow("zoomed-in view") << 200.0 << 100.0 << 0.0 << 1000.0 << 250.0 << 500.0;
  QTest::newRow("before the view") << 200.0 << 100.0 << 10.0 << 1000.0 << 100.0 << -990.0;
  QTest::newRow("after the view") << 200.0 << 100.0 << 10.0 << 1000.0 << 400.0 << 2010.0;
  QTest::newRow("sub-microsecond") << 1.0 << 0.5 << 0.0 << 800.0 << 1.125 << 200.0;
}

void TestGuiModels::mapTimeToX() {
  QFETCH(double, timeStart);
  QFETCH(double, timeSpan);
  QFETCH(double, x0);
  QFETCH(double, width);
  QFETCH(double, t);
  QFETCH(double, x);
  TimelineMapping m;
  m.timeStart = timeStart;
  m.timeSpan = timeSpan;
  m.x0 = x0;
  m.width = width;
  QCOMPARE(m.mapTimeToX(t), x);
  QVERIFY(std::abs(m.mapXToTime(x) - t) < 1e-9);
  QVERIFY(std::abs(m.mapXToTime(m.mapTimeToX(t * 0.37)) - t * 0.37) < 1e-9);
}

void TestGuiModels::zoom_data() {
  QTest::addColumn<double>("timeStart");
  QTest::addColumn<double>("timeSpan");
  QTest::addColumn<double>("factor");
  QTest::addColumn<double>("anchorX");
  QTest::addColumn<double>("wantStart");
  QTest::addColumn<double>("wantSpan");
  // Bar area [100, 1100] (1000 px), data [0, 1000] µs.
  QTest::newRow("2x at left edge") << 0.0 << 1000.0 << 2.0 << 100.0 << 0.0 << 500.0;
  QTest::newRow("2x at centre") << 0.0 << 1000.0 << 2.0 << 600.0 << 250.0 << 500.0;
  QTest::newRow("4x at right edge") << 0.0 << 1000.0 << 4.0 << 1100.0 << 750.0 << 250.0;
  QTest::newRow("out beyond extent clamps") << 250.0 << 500.0 << 0.25 << 600.0 << 0.0 << 1000.0;
  QTest::newRow("out at edge keeps inside") << 600.0 << 200.0 << 0.5 << 100.0 << 600.0 << 400.0;
  QTest::newRow("deepest zoom clamps") << 0.0 << 1000.0 << 1e9 << 600.0 << 500.0 - TimelineMapping::kMinSpan / 2
                                       << TimelineMapping::kMinSpan;
  QTest::newRow("invalid factor ignored") << 100.0 << 200.0 << -3.0 << 600.0 << 100.0 << 200.0;
}

void TestGuiModels::zoom() {
  QFETCH(double, timeStart);
  QFETCH(double, timeSpan);
  QFETCH(double, factor);
  QFETCH(double, anchorX);
  QFETCH(double, wantStart);
  QFETCH(double, wantSpan);
  TimelineMapping m;
  m.x0 = 100;
  m.width = 1000;
  m.totalStart = 0;
  m.totalEnd = 1000;
  m.timeStart = timeStart;
  m.timeSpan = timeSpan;
  const double anchorT = m.mapXToTime(anchorX);
  m.zoom(factor, anchorX);
  QVERIFY2(std::abs(m.timeStart - wantStart) < 1e-6, qPrintable(QString::number(m.timeStart, 'g', 12)));
  QVERIFY2(std::abs(m.timeSpan - wantSpan) < 1e-9, qPrintable(QString::number(m.timeSpan, 'g', 12)));
  // Unless clamped, the time under the cursor stays under it.
  if (factor > 1 && factor < 1e6) QVERIFY(std::abs(m.mapXToTime(anchorX) - anchorT) < 1e-6);
}

void TestGuiModels::pan_data() {
  QTest::addColumn<double>("timeStart");
  QTest::addColumn<double>("timeSpan");
  QTest::addColumn<double>("dx");
  QTest::addColumn<double>("wantStart");
  // 500 px show timeSpan µs; data [0, 1000].
  QTest::newRow("drag left shows later times") << 0.0 << 100.0 << -250.0 << 50.0;
  QTest::newRow("drag right shows earlier times") << 500.0 << 100.0 << 100.0 << 480.0;
  QTest::newRow("clamped at start") << 10.0 << 100.0 << 500.0 << 0.0;
  QTest::newRow("clamped at end") << 850.0 << 100.0 << -5000.0 << 900.0;
  QTest::newRow("whole extent cannot move") << 0.0 << 1000.0 << -300.0 << 0.0;
}

void TestGuiModels::pan() {
  QFETCH(double, timeStart);
  QFETCH(double, timeSpan);
  QFETCH(double, dx);
  QFETCH(double, wantStart);
  TimelineMapping m;
  m.width = 500;
  m.totalEnd = 1000;
  m.timeStart = timeStart;
  m.timeSpan = timeSpan;
  m.pan(dx);
  QVERIFY2(std::abs(m.timeStart - wantStart) < 1e-9, qPrintable(QString::number(m.timeStart)));
  QCOMPARE(m.timeSpan, timeSpan);
}

void TestGuiModels::setExtentFits() {
  TimelineMapping m;
  m.width = 300;
  m.setExtent(0, 2500);
  QCOMPARE(m.timeStart, 0.0);
  QCOMPARE(m.timeSpan, 2500.0);
  m.zoom(5, 150);
  QCOMPARE(m.timeSpan, 500.0);
  m.setExtent(0, 2500);  // same extent: the zoom stays
  QCOMPARE(m.timeSpan, 500.0);
  m.setExtent(0, 100);  // new data: fit again
  QCOMPARE(m.timeSpan, 100.0);
  m.setExtent(5, 5);  // empty extent stays usable
  QVERIFY(m.timeSpan > 0);
  QVERIFY(std::isfinite(m.mapXToTime(10)));
}

void TestGuiModels::formatDuration_data() {
  QTest::addColumn<double>("us");
  QTest::addColumn<QString>("text");
  QTest::newRow("sub-µs") << 0.123 << QStringLiteral("0.12 µs");
  QTest::newRow("µs") << 12.34 << QStringLiteral("12.3 µs");
  QTest::newRow("hundreds of µs") << 456.7 << QStringLiteral("457 µs");
  QTest::newRow("ms") << 1234.0 << QStringLiteral("1.23 ms");
  QTest::newRow("s") << 2.5e6 << QStringLiteral("2.50 s");
  QTest::newRow("negative") << -1500.0 << QStringLiteral("-1.50 ms");
}

void TestGuiModels::formatDuration() {
  QFETCH(double, us);
  QFETCH(QString, text);
  QCOMPARE(gui::formatDuration(us), text);
}

void TestGuiModels::stageStyle() {
  QVERIFY(isGeluOnlyStage("fc1_bias_gelu_quant"));
  QVERIFY(!isGeluOnlyStage("fc1_gemm"));
  QCOMPARE(stageClass("softmax"), QStringLiteral("fused op"));
  QCOMPARE(stageClass("qk_gemm"), QStringLiteral("GEMM"));
  QCOMPARE(stageClass("head"), QStringLiteral("outside blocks"));
  QVERIFY(stageOrder("patch_embed") < stageOrder("ln1_quant"));
  QVERIFY(stageOrder("fc2_bias_residual") < stageOrder("merge_ln_quant"));
  // The palette is the profiler's, so Nsight and the app agree on a stage's colour.
  const QRgb softmax = kindColour("softmax").rgba();
  QCOMPARE(softmax, profiler::kind_colour_argb("softmax"));
  // Every stage has its own colour (a hashed palette put qkv_gemm and qk_gemm side by side in one).
  std::set<QRgb> seen;
  for (const auto& st : kBlockStages) seen.insert(kindColour(st.name).rgba());
  for (auto k : {kPatchEmbed, kMergeLnQuant, kMergeGemm, kHead}) seen.insert(kindColour(k).rgba());
  QCOMPARE(seen.size(), kBlockStages.size() + 4);
  QVERIFY(slotColour(0) != slotColour(1));
}

// ---- PredictionModel ----

void TestGuiModels::predictionModel() {
  PredictionModel m;
  auto t = tester(&m);
  QCOMPARE(m.rowCount(), 0);
  m.setPredictions(top({{"cat", 0.6f}, {"dog", 0.3f}, {"fox", 0.1f}}), top({{"cat", 0.5f}, {"fox", 0.3f}, {"owl", 0.2f}}));
  QCOMPARE(m.rowCount(), 3);
  QCOMPARE(m.columnCount(), int(PredictionModel::ColumnCount));
  QVERIFY(m.top1Agrees());
  QCOMPARE(m.agreementAt(0), PredictionModel::Agreement::SameRank);
  QCOMPARE(m.agreementAt(1), PredictionModel::Agreement::None);       // dog not in B
  QCOMPARE(m.agreementAt(2), PredictionModel::Agreement::OtherRank);  // fox is B's #2
  QCOMPARE(m.data(m.index(0, PredictionModel::AgreeColumn)).toString(), QStringLiteral("✓"));
  QCOMPARE(m.data(m.index(1, PredictionModel::ClassAColumn)).toString(), QStringLiteral("dog"));
  QCOMPARE(m.data(m.index(1, PredictionModel::ProbabilityBColumn), PredictionModel::ProbabilityRole).toFloat(), 0.3f);
  QCOMPARE(m.data(m.index(0, PredictionModel::ProbabilityAColumn)).toString(), QStringLiteral("60.0 %"));
  // B missing (no model or the image failed for it): A alone, no agreement claimed.
  m.setPredictions(top({{"cat", 0.9f}, {"dog", 0.1f}}), std::nullopt);
  QCOMPARE(m.rowCount(), 2);
  QVERIFY(!m.top1Agrees());
  QVERIFY(!m.data(m.index(0, PredictionModel::ClassBColumn)).isValid());
  // Different k per side: the longer one sets the rows.
  m.setPredictions(top({{"cat", 1.0f}}), top({{"dog", 0.5f}, {"cat", 0.5f}}));
  QCOMPARE(m.rowCount(), 2);
  QCOMPARE(m.agreementAt(0), PredictionModel::Agreement::OtherRank);
  m.setSlotTitles(QStringLiteral("gelu.int8"), QStringLiteral("relu.int8"));
  m.clear();
  QCOMPARE(m.rowCount(), 0);
}

// ---- ImageListModel ----

void TestGuiModels::imageListModel() {
  ImageListModel m;
  auto t = tester(&m);
  const auto added = m.addPaths({"/x/a.png", "/x/b.jpg", "/x/a.png"});
  QCOMPARE(added, QStringList({"/x/a.png", "/x/b.jpg"}));
  QCOMPARE(m.rowCount(), 2);
  QCOMPARE(m.addPaths({"/x/b.jpg", "/x/c.png"}), QStringList({"/x/c.png"}));
  QCOMPARE(m.rowCount(), 3);
  QCOMPARE(m.rowOf("/x/c.png"), 2);
  QCOMPARE(m.status(0), ImageListModel::Status::Pending);
  QImage thumb(16, 16, QImage::Format_RGB32);
  thumb.fill(Qt::red);
  m.setThumbnail("/x/a.png", thumb);
  QCOMPARE(m.data(m.index(0), Qt::DecorationRole).value<QImage>().size(), QSize(16, 16));
  m.setPrediction("/x/a.png", 0, top({{"cat", 0.7f}}), 3.5, 2);
  QCOMPARE(m.status(0), ImageListModel::Status::Partial);
  m.setPrediction("/x/a.png", 1, top({{"cat", 0.6f}}), 2.5, 2);
  QCOMPARE(m.status(0), ImageListModel::Status::Done);
  QVERIFY(m.data(m.index(0), ImageListModel::AgreeRole).toBool());
  QCOMPARE(m.data(m.index(0), ImageListModel::Top1BRole).toString(), QStringLiteral("cat"));
  QVERIFY(m.data(m.index(0)).toString().endsWith(QStringLiteral("✓ cat")));
  m.setFailed("/x/b.jpg", "truncated");
  QCOMPARE(m.status(1), ImageListModel::Status::Failed);
  QVERIFY(m.data(m.index(1), Qt::ToolTipRole).toString().contains(QStringLiteral("truncated")));
  m.setPrediction("/nowhere.png", 0, {}, 1, 1);  // unknown path: ignored
  m.clearSlot(1);
  QCOMPARE(m.status(0), ImageListModel::Status::Partial);
  QCOMPARE(m.entry(0).latencyMs[1], -1.0);
  QCOMPARE(m.paths().size(), 3);
  m.clear();
  QCOMPARE(m.rowCount(), 0);
  QCOMPARE(m.rowOf("/x/a.png"), -1);
}

// ---- evaluation models ----

void TestGuiModels::evalModels() {
  const std::vector<std::filesystem::path> imgs{"/d/0.png", "/d/1.png", "/d/2.png", "/d/3.png"};
  auto a = evalResult("gelu", {0, 1, 1, 2}, {0, 1, 2, 2}, imgs);  // 3 of 4 right
  auto b = evalResult("relu", {0, 1, -1, 2}, {0, 1, 2, 2}, imgs);  // one skipped, 3 of 3 right
  EvalSummaryModel summary;
  PerClassAccuracyModel perClass;
  SkippedFilesModel skipped;
  auto t1 = tester(&summary);
  auto t2 = tester(&perClass);
  auto t3 = tester(&skipped);
  QCOMPARE(summary.rowCount(), 0);
  summary.setResults(a, b);
  perClass.setResults(a, b);
  skipped.setResults(a, b);
  QCOMPARE(summary.rowCount(), int(EvalSummaryModel::RowCount));
  QCOMPARE(summary.data(summary.index(EvalSummaryModel::Top1Row, 1)).toString(), QStringLiteral("75.00 %"));
  QCOMPARE(summary.data(summary.index(EvalSummaryModel::Top1Row, 2), EvalSummaryModel::ValueRole).toDouble(), 1.0);
  QCOMPARE(summary.data(summary.index(EvalSummaryModel::SkippedRow, 2)).toString(), QStringLiteral("1"));
  QCOMPARE(perClass.rowCount(), 3);
  // fish: A 1 of 2, B 1 of 1 (its other image was skipped).
  QCOMPARE(perClass.data(perClass.index(2, PerClassAccuracyModel::ClassColumn)).toString(), QStringLiteral("fish"));
  QCOMPARE(perClass.data(perClass.index(2, PerClassAccuracyModel::AccuracyAColumn), PerClassAccuracyModel::ValueRole).toDouble(), 0.5);
  QCOMPARE(perClass.data(perClass.index(2, PerClassAccuracyModel::DeltaColumn)).toString(), QStringLiteral("+50.0 pt"));
  QCOMPARE(skipped.rowCount(), 1);
  QCOMPARE(skipped.data(skipped.index(0, SkippedFilesModel::SlotColumn)).toString(), QStringLiteral("B"));
  QCOMPARE(skipped.data(skipped.index(0, SkippedFilesModel::ReasonColumn)).toString(), QStringLiteral("not an image"));
  // One slot only.
  summary.setResults(a, std::nullopt);
  QCOMPARE(summary.data(summary.index(EvalSummaryModel::Top1Row, 2)).toString(), QStringLiteral("–"));
  perClass.setResults(std::nullopt, b);
  QCOMPARE(perClass.data(perClass.index(0, PerClassAccuracyModel::AccuracyAColumn)).toString(), QStringLiteral("–"));
  summary.clear();
  perClass.clear();
  skipped.clear();
  QCOMPARE(skipped.rowCount(), 0);
}

void TestGuiModels::predictionAgreementByPath() {
  const std::vector<std::filesystem::path> imgs{"/d/0.png", "/d/1.png", "/d/2.png", "/d/3.png"};
  auto a = evalResult("a", {0, 1, 1, 2}, {0, 1, 2, 2}, imgs);
  auto b = evalResult("b", {0, 1, -1, 0}, {0, 1, 2, 2}, imgs);
  auto ag = predictionAgreement(a, b);
  QCOMPARE(ag.compared, 3L);  // the image B skipped is not compared
  QCOMPARE(ag.agreed, 2L);
  // B listed the dataset in another order: matched by path, not by position.
  auto c = evalResult("c", {2, 1, 1, 0}, {2, 2, 1, 0}, {"/d/3.png", "/d/2.png", "/d/1.png", "/d/0.png"});
  ag = predictionAgreement(a, c);
  QCOMPARE(ag.compared, 4L);
  QCOMPARE(ag.agreed, 4L);
  QCOMPARE(ag.rate(), 1.0);
}

void TestGuiModels::confusionModel() {
  ConfusionMatrixModel m;
  auto t = tester(&m);
  m.setMatrix({{3, 1, 0}, {0, 4, 0}, {2, 0, 2}}, {"cat", "dog", "a very long class name"});
  QCOMPARE(m.rowCount(), 3);
  QCOMPARE(m.columnCount(), 3);
  QCOMPARE(m.data(m.index(0, 0)).toString(), QStringLiteral("3"));
  QCOMPARE(m.data(m.index(0, 0), ConfusionMatrixModel::HeatRole).toDouble(), 0.75);
  QCOMPARE(m.data(m.index(2, 0), ConfusionMatrixModel::HeatRole).toDouble(), 0.5);
  QCOMPARE(m.data(m.index(1, 2)).toString(), QString());  // zero cells stay blank
  QVERIFY(m.headerData(2, Qt::Horizontal).toString().size() <= 6);
  QCOMPARE(m.headerData(2, Qt::Vertical).toString(), QStringLiteral("a very long class name"));
  m.setMatrix({{1, 2}, {3}}, {"x", "y"});  // ragged input is squared, not read out of bounds
  QCOMPARE(m.data(m.index(1, 1), ConfusionMatrixModel::CountRole).toLongLong(), 0LL);
  m.clear();
  QCOMPARE(m.rowCount(), 0);
}

// ---- TraceSpanModel ----

void TestGuiModels::traceSpanModel() {
  TraceSpanModel m;
  auto t = tester(&m);
  QCOMPARE(m.rowCount(), 0);
  QCOMPARE(m.laneCount(), 0);
  // Runs last 100, 110, 120 µs: the median run is run 1.
  auto a = makeTrace(3, 2, true);
  auto b = makeTrace(3, 2, false);
  QCOMPARE(medianRun(a), 1);
  m.setTraces({a, b}, {QStringLiteral("A"), QStringLiteral("B")});
  QCOMPARE(m.traceCount(), 2);
  QCOMPARE(m.displayedRun(0), 1);
  QCOMPARE(m.displayedRunUs(0), 110.0);
  // Leaves only: A has patch_embed + 2 × (fc1_gemm, gelu op) + head; B lacks the gelu op.
  QCOMPARE(m.rowCount(), 6 + 4);
  // Lanes: per trace one outside the blocks, one per block.
  QCOMPARE(m.laneCount(), 6);
  QCOMPARE(m.laneLabel(0), QStringLiteral("A · embed / merge / head"));
  QCOMPARE(m.laneLabel(4), QStringLiteral("B · block 0"));
  QCOMPARE(m.laneTrace(5), 1);
  QCOMPARE(m.extentUs(), 110.0);
  int gelu = 0;
  for (int r = 0; r < m.rowCount(); ++r) {
    const auto i = m.index(r, 0);
    QCOMPARE(i.data(TraceSpanModel::TraceRole).toInt() == 0, m.laneTrace(i.data(TraceSpanModel::LaneRole).toInt()) == 0);
    if (i.data(TraceSpanModel::GeluOnlyRole).toBool()) {
      ++gelu;
      QCOMPARE(i.data(TraceSpanModel::TraceRole).toInt(), 0);
      QCOMPARE(i.data(TraceSpanModel::DurationRole).toDouble(), 10.0);
      QCOMPARE(i.data(TraceSpanModel::ColourRole).value<QColor>(), kindColour("fc1_bias_gelu_quant"));
      QVERIFY(m.describe(r).contains(QStringLiteral("removed by the GELU-less model")));
    }
  }
  QCOMPARE(gelu, 2);
  const auto kinds = m.kinds();
  QCOMPARE(kinds.front(), std::string("patch_embed"));
  QCOMPARE(kinds.back(), std::string("head"));
  m.setKernels(0, {{"fc1_gemm", "oneDNN matmul s8"}});
  QCOMPARE(m.kernel(0, "fc1_gemm"), QStringLiteral("oneDNN matmul s8"));
  m.clear();
  QCOMPARE(m.rowCount(), 0);
}

// Timeline search and range summary (issue 15), by hand on the median run (run 1) of
// makeTrace: A = patch [0,5], fc1 [5,25], GELU op [25,35], fc1 [35,55], GELU op [55,65], head;
// B = patch [0,5], fc1 [5,25], fc1 [25,45], head.
void TestGuiModels::traceSpanModelSearchAndRange() {
  TraceSpanModel m;
  auto t = tester(&m);
  m.setTraces({makeTrace(3, 2, true), makeTrace(3, 2, false)}, {QStringLiteral("A"), QStringLiteral("B")});
  QCOMPARE(m.findSpans(QStringLiteral("GELU")).size(), std::size_t(2));  // case-insensitive
  for (int r : m.findSpans(QStringLiteral("gelu"))) QVERIFY(m.index(r, 0).data(TraceSpanModel::GeluOnlyRole).toBool());
  QCOMPARE(m.findSpans(QStringLiteral("fc1")).size(), std::size_t(6));
  QVERIFY(m.findSpans(QStringLiteral("  ")).empty());
  QVERIFY(m.findSpans(QStringLiteral("nothing")).empty());
  const auto sum = m.summarizeRange(40, 20);  // either order
  QCOMPARE(sum.t0, 20.0);
  QCOMPARE(sum.durationUs(), 20.0);
  QCOMPARE(sum.traces.size(), std::size_t(2));
  QCOMPARE(sum.traces[0].spans, 3);
  QCOMPARE(sum.traces[0].coveredUs, 20.0);
  QCOMPARE(sum.traces[0].kinds.size(), std::size_t(2));
  QCOMPARE(sum.traces[0].kinds[0].second, 10.0);
  QCOMPARE(sum.traces[0].kinds[1].second, 10.0);
  QCOMPARE(sum.traces[1].spans, 2);
  QCOMPARE(sum.traces[1].kinds.size(), std::size_t(1));
  QCOMPARE(sum.traces[1].kinds[0], (std::pair<std::string, double>{"fc1_gemm", 20.0}));
  QVERIFY(sum.text().contains(QStringLiteral("fc1_gemm 100.0 %")));
  QCOMPARE(m.summarizeRange(200, 300).traces[0].spans, 0);
  // Every GELU op of A over its three runs and two blocks, for the histogram.
  const auto d = m.durationsOf(0, "fc1_bias_gelu_quant");
  QCOMPARE(d, std::vector<double>(6, 10.0));
  QVERIFY(m.durationsOf(1, "fc1_bias_gelu_quant").empty());
  QVERIFY(m.durationsOf(5, "fc1_gemm").empty());
}

void TestGuiModels::traceSpanModelRunSelection() {
  TraceSpanModel m;
  auto t = tester(&m);
  m.setTraces({makeTrace(4, 1, true)}, {QStringLiteral("saved")});
  QCOMPARE(m.runCount(), 4);
  QCOMPARE(m.displayedRun(0), 1);  // 100, 110, 120, 130: lower middle
  m.setRun(3);
  QCOMPARE(m.displayedRun(0), 3);
  QCOMPARE(m.extentUs(), 130.0);
  for (int r = 0; r < m.rowCount(); ++r) QCOMPARE(m.index(r, TraceSpanModel::RunColumn).data().toInt(), 3);
  m.setRun(42);  // absent run: the median one is shown
  QCOMPARE(m.displayedRun(0), 1);
  m.setRun(TraceSpanModel::kMedianRun);
  QCOMPARE(m.laneLabel(1), QStringLiteral("saved · block 0"));
}

// ---- StageStatsModel ----

void TestGuiModels::stageStatsModel() {
  StageStatsModel m;
  auto t = tester(&m);
  QCOMPARE(m.rowCount(), 0);
  auto ta = makeTrace(3, 2, true);
  ta.end_to_end_us_unrecorded = 100;
  auto tb = makeTrace(3, 2, false);
  tb.end_to_end_us_unrecorded = 80;
  m.setStats(profiler::compute_stats(ta), profiler::compute_stats(tb));
  // patch_embed, fc1_gemm, fc1_bias_gelu_quant, head + 3 totals.
  QCOMPARE(m.kindCount(), 4);
  QCOMPARE(m.rowCount(), 7);
  int geluRow = -1;
  for (int r = 0; r < m.kindCount(); ++r)
    if (m.kindAt(r) == "fc1_bias_gelu_quant") geluRow = r;
  QVERIFY(geluRow >= 0);
  QVERIFY(m.index(geluRow, 0).data(StageStatsModel::GeluOnlyRole).toBool());
  // 2 blocks × 10 µs per forward in A; absent in B: Δ = −20 and B shows "removed".
  QCOMPARE(m.index(geluRow, StageStatsModel::MedianAColumn).data(StageStatsModel::ValueRole).toDouble(), 20.0);
  QCOMPARE(m.index(geluRow, StageStatsModel::MedianBColumn).data().toString(), QStringLiteral("removed"));
  QCOMPARE(m.index(geluRow, StageStatsModel::DeltaColumn).data(StageStatsModel::ValueRole).toDouble(), -20.0);
  QVERIFY(!m.index(geluRow, StageStatsModel::RatioColumn).data(StageStatsModel::ValueRole).isValid());
  QCOMPARE(m.medianUs(0, "fc1_bias_gelu_quant").value(), 20.0);
  QVERIFY(!m.medianUs(1, "fc1_bias_gelu_quant").has_value());
  // fc1_gemm is the same in both: ratio 1.
  int gemmRow = -1;
  for (int r = 0; r < m.kindCount(); ++r)
    if (m.kindAt(r) == "fc1_gemm") gemmRow = r;
  QCOMPARE(m.index(gemmRow, StageStatsModel::RatioColumn).data(StageStatsModel::ValueRole).toDouble(), 1.0);
  // The last row is the unrecorded end-to-end latency, median only.
  const int last = m.rowCount() - 1;
  QVERIFY(m.index(last, 0).data(StageStatsModel::TotalRowRole).toBool());
  QCOMPARE(m.index(last, StageStatsModel::MedianAColumn).data(StageStatsModel::ValueRole).toDouble(), 100.0);
  QCOMPARE(m.index(last, StageStatsModel::RatioColumn).data(StageStatsModel::ValueRole).toDouble(), 0.8);
  QCOMPARE(m.index(last, StageStatsModel::P10AColumn).data().toString(), QStringLiteral("–"));
  // Medians, not means: the header says so, and p10/p90 are the spread.
  QCOMPARE(m.headerData(StageStatsModel::MedianAColumn, Qt::Horizontal).toString(), QStringLiteral("A median"));
  QVERIFY(m.headerData(StageStatsModel::ShareAColumn, Qt::Horizontal, Qt::ToolTipRole).toString().contains("median"));
  for (int c = 0; c < m.columnCount(); ++c) QVERIFY(!m.headerData(c, Qt::Horizontal).toString().contains("mean"));
  // Shares are fractions of the forward.
  const double share = m.index(geluRow, StageStatsModel::ShareAColumn).data(StageStatsModel::ValueRole).toDouble();
  QVERIFY(share > 0.1 && share < 0.25);
  m.setStats(std::nullopt, profiler::compute_stats(tb));
  QVERIFY(!m.hasStats(0));
  QCOMPARE(m.index(0, StageStatsModel::DeltaColumn).data().toString(), QStringLiteral("–"));
  m.clear();
  QCOMPARE(m.rowCount(), 0);
}

// ---- CompareModel ----

void TestGuiModels::compareModel() {
  CompareModel m;
  auto t = tester(&m);
  QCOMPARE(m.rowCount(), int(CompareModel::RowCount));
  QVERIFY(!m.speedup());
  CompareInputs in;
  in.dataset = QStringLiteral("samples, with comma");
  in.device = QStringLiteral("CPU");
  in.slot[0] = {QStringLiteral("gelu.int8"), QStringLiteral("int8-gelu"), 100, 0.91, 0.99, 2000.0, 4, std::nullopt, std::nullopt};
  in.slot[1] = {QStringLiteral("relu.int8"), QStringLiteral("int8-relu"), 100, 0.905, 0.99, 1600.0, 4, std::nullopt, std::nullopt};
  in.slot[0].geluOpUs = 300.0;  // B is GELU-less: no op, profiled
  in.agreement = PredictionAgreement{100, 97};
  m.setInputs(in);
  QCOMPARE(m.speedup().value(), 1.25);
  QCOMPARE(m.index(CompareModel::SpeedupRow, CompareModel::BColumn).data(CompareModel::ValueRole).toDouble(), 1.25);
  QCOMPARE(m.index(CompareModel::ThroughputRow, CompareModel::AColumn).data(CompareModel::ValueRole).toDouble(), 2000.0);
  QCOMPARE(m.index(CompareModel::LatencyRow, CompareModel::AColumn).data(CompareModel::ValueRole).toDouble(), 2.0);
  QCOMPARE(m.index(CompareModel::LatencyRow, CompareModel::AColumn).data().toString(), QStringLiteral("2.000 (batch 4)"));
  {
    CompareInputs spread = in;
    spread.slot[0].latencySpreadUs = std::pair(1900.0, 2600.0);
    m.setInputs(spread);
    QCOMPARE(m.index(CompareModel::LatencyRow, CompareModel::AColumn).data().toString(), QStringLiteral("2.000 (batch 4, p10–p90 1.900–2.600)"));
    m.setInputs(in);
  }
  QVERIFY(std::abs(m.index(CompareModel::Top1Row, CompareModel::CompareColumn).data(CompareModel::ValueRole).toDouble() + 0.5) < 1e-9);
  QCOMPARE(m.index(CompareModel::AgreementRow, CompareModel::CompareColumn).data(CompareModel::ValueRole).toDouble(), 97.0);
  // The removed op: 0.3 ms in A, none in B, and B saves it (15 % of A's 2 ms).
  QCOMPARE(m.index(CompareModel::GeluOpRow, CompareModel::AColumn).data(CompareModel::ValueRole).toDouble(), 0.3);
  QCOMPARE(m.index(CompareModel::GeluOpRow, CompareModel::BColumn).data().toString(), QStringLiteral("none"));
  QVERIFY(m.index(CompareModel::GeluOpRow, CompareModel::CompareColumn).data().toString().contains(QStringLiteral("15.0 %")));
  const QString csv = m.toCsv();
  const auto lines = csv.trimmed().split(QLatin1Char('\n'));
  QCOMPARE(lines.size(), int(CompareModel::RowCount) + 1);
  QCOMPARE(lines[0], QStringLiteral("metric,A,B,comparison"));
  QVERIFY(lines[1].endsWith(QStringLiteral("\"samples, with comma\"")));
  QVERIFY(lines[1 + CompareModel::SpeedupRow].endsWith(QStringLiteral(",1,1.25,1.25")));
  QVERIFY(lines[1 + CompareModel::Top1Row].contains(QStringLiteral(",91,90.5,")));
  // Speed-ups read "X is N× faster" with N ≥ 1 (never "B is 0.053× as fast as A"), with the
  // bootstrap interval, flagged as noise when it holds 1.
  QCOMPARE(m.speedupText(), QStringLiteral("B is 1.25× faster"));
  in.slot[1].latencyUs = 2000.0 * 18.8;
  m.setInputs(in);
  QCOMPARE(m.speedupText(), QStringLiteral("A is 18.8× faster"));
  profiler::RatioInterval ci;
  ci.estimate = 1.0 / 18.8;
  ci.lo = 1.0 / 19.5;
  ci.hi = 1.0 / 18.0;
  ci.resamples = 2000;
  in.speedupInterval = ci;
  m.setInputs(in);
  QCOMPARE(m.speedupText(), QStringLiteral("A is 18.8× faster (95 % CI 18.0–19.5×)"));
  QCOMPARE(speedupSentence(1.05, profiler::RatioInterval{1.05, 0.9, 1.6, 0.95, 2000, 10}), QStringLiteral("B is 1.05× faster (95 % CI 0.90–1.60×): within noise"));
  // McNemar's row: p of the 2×2 table (b = 10, c = 2: 0.0386), with the counts.
  in.mcnemar = profiler::McNemarTable{80, 10, 2, 8};
  m.setInputs(in);
  QCOMPARE(m.index(CompareModel::McNemarRow, CompareModel::CompareColumn).data(CompareModel::ValueRole).toDouble(), 0.03857421875);
  QVERIFY(m.index(CompareModel::McNemarRow, CompareModel::CompareColumn).data().toString().contains(QStringLiteral("A only right: 10")));
  // Provenance: rows say where they come from, or that they were not measured.
  QCOMPARE(m.index(CompareModel::AccuracySourceRow, CompareModel::CompareColumn).data().toString(), QStringLiteral("not evaluated"));
  in.evaluatedAt = QDateTime(QDate(2026, 12, 2), QTime(21, 0));
  in.profiledAt = QDateTime(QDate(2026, 12, 2), QTime(21, 5));
  in.runs = 10;
  m.setInputs(in);
  QCOMPARE(m.index(CompareModel::AccuracySourceRow, CompareModel::CompareColumn).data().toString(),
           QStringLiteral("samples, with comma, at 2026-12-02 21:00:00"));
  QVERIFY(m.index(CompareModel::LatencySourceRow, CompareModel::CompareColumn).data().toString().contains(QStringLiteral("batch 4, 10 paired runs")));
  QVERIFY(m.toCsv().contains(QStringLiteral("Accuracy measured on,,,\"samples, with comma, at 2026-12-02 21:00:00\"")));
  // Nothing measured yet: dashes, empty CSV cells, no speed-up.
  m.setInputs({});
  QCOMPARE(m.index(CompareModel::Top1Row, CompareModel::AColumn).data().toString(), QStringLiteral("–"));
  QVERIFY(m.toCsv().contains(QStringLiteral("Top-1 accuracy (%),,,\n")));
}

void TestGuiModels::flippedImagesModel() {
  FlippedImagesModel m;
  auto t = tester(&m);
  QCOMPARE(m.rowCount(), 0);
  QVERIFY(!m.table());
  //                     labels:  0  1  2  0  1  2  0  1
  const std::vector<int> labels{0, 1, 2, 0, 1, 2, 0, 1};
  std::vector<std::filesystem::path> images;
  for (int i = 0; i < 8; ++i) images.push_back("/d/img" + std::to_string(i) + ".png");
  // A: right on 0,1,2,3,5; B: right on 0,1,4,5,6; image 7 skipped by B.
  const auto a = evalResult("A", {0, 1, 2, 0, 0, 2, 1, 2}, labels, images);
  const auto b = evalResult("B", {0, 1, 1, 2, 1, 2, 0, -1}, labels, images);
  QImage thumb(4, 4, QImage::Format_RGB888);
  thumb.fill(Qt::red);
  m.setResults(a, b, {{QStringLiteral("/d/img2.png"), thumb}});
  // Disagreements: 2 (A right), 3 (A right), 4 (B right), 6 (B right); 7 is skipped by B.
  QCOMPARE(m.rowCount(), 4);
  QCOMPARE(m.index(0, FlippedImagesModel::ImageColumn).data().toString(), QStringLiteral("2  img2.png"));
  QCOMPARE(m.index(0, FlippedImagesModel::TrueColumn).data().toString(), QStringLiteral("fish"));
  QCOMPARE(m.index(0, FlippedImagesModel::AColumn).data().toString(), QStringLiteral("fish"));
  QCOMPARE(m.index(0, FlippedImagesModel::BColumn).data().toString(), QStringLiteral("dog"));
  QCOMPARE(m.index(0, 0).data(FlippedImagesModel::RightRole).toString(), QStringLiteral("A"));
  QCOMPARE(m.index(2, 0).data(FlippedImagesModel::RightRole).toString(), QStringLiteral("B"));
  QCOMPARE(m.index(0, 0).data(Qt::DecorationRole).value<QImage>().pixelColor(0, 0), QColor(Qt::red));
  QVERIFY(!m.index(1, 0).data(Qt::DecorationRole).isValid());
  QCOMPARE(m.index(1, 0).data(Qt::ToolTipRole).toString(), QStringLiteral("/d/img3.png"));
  // The 2×2 table over the 7 images both classified, and McNemar's p: b = c = 2 → 1.
  QVERIFY(m.table());
  QCOMPARE(m.table()->both_correct, 3L);
  QCOMPARE(m.table()->a_only, 2L);
  QCOMPARE(m.table()->b_only, 2L);
  QCOMPARE(m.table()->both_wrong, 0L);
  QVERIFY2(m.headline().contains(QStringLiteral("McNemar exact p = 1")), qPrintable(m.headline()));
  m.clear();
  QCOMPARE(m.rowCount(), 0);
}

QTEST_MAIN(TestGuiModels)
#include "test_gui_models.moc"
