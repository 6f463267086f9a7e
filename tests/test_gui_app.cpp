// The app end to end on the offscreen platform, with tiny models (golden tiny3 in A, a
// random tiny GELU-less SWIN in B): drops, bad input, evaluation and its Cancel,
// profiling, traces, settings. Every job runs on the app's real worker thread.
#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDialog>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QDropEvent>
#include <QFile>
#include <QMimeData>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUrl>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QMenuBar>
#include <QPushButton>
#include <QStandardItemModel>
#include <QToolTip>
#include <QtTest>

#include <memory>

#include "engine/model.h"
#include "engine/plan.h"
#include "gui/app/app_context.h"
#include "gui/app/classify_tab.h"
#include "gui/app/compare_tab.h"
#include "gui/app/evaluate_tab.h"
#include "gui/app/main_window.h"
#include "gui/app/numerics_tab.h"
#include "gui/app/profile_tab.h"
#include "gui/models/ab_diff_model.h"
#include "gui/widgets/ab_diff_chart.h"
#include "gui/app/slot_panel.h"
#include "gui/models/compare_model.h"
#include "gui/models/eval_models.h"
#include "gui/models/image_list_model.h"
#include "gui/models/numerics_model.h"
#include "gui/models/prediction_model.h"
#include "gui/models/stage_stats_model.h"
#include "gui/models/stage_style.h"
#include "gui/models/trace_span_model.h"
#include "gui/models/variants_model.h"
#include "gui/widgets/drop_area.h"
#include "gui/widgets/stage_chart.h"
#include "gui/widgets/timeline_view.h"
#include "profiler/cpu_clock_recorder.h"
#include "profiler/export.h"
#include "tests/idx_writer.h"

using namespace swinscope;
using namespace swinscope::gui;

namespace {

const QString kSource = QStringLiteral(SWINSCOPE_SOURCE_DIR);
QString golden(const QString& rel) { return kSource + QStringLiteral("/tests/golden/") + rel; }

constexpr int kTimeout = 30000;  // ms; generous for a loaded 2-core machine

// A GELU-less SWIN small enough to run in a millisecond, with tiny3's 10 classes.
RandomSpec tinyRelu() {
  SwinConfig c;
  c.name = "tiny_relu";
  c.img_size = 32;
  c.patch_size = 2;
  c.num_classes = 10;
  c.embed_dim = 16;
  c.depths = {2, 2};
  c.num_heads = {1, 2};
  c.window_size = 4;
  RandomSpec s;
  s.config = c;
  s.activation = Activation::ReLU;
  s.seed = 3;
  return s;
}

// Sends a drag-enter and a drop with `mime` to `w`, as a file manager would.
void drop(QWidget* w, QMimeData* mime) {
  const QPoint pos = w->rect().center();
  QDragEnterEvent enter(pos, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(w, &enter);
  QVERIFY(enter.isAccepted());
  QDropEvent dropEvent(QPointF(pos), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(w, &dropEvent);
}

void dropFiles(QWidget* w, const QStringList& files) {
  QMimeData mime;
  QList<QUrl> urls;
  for (const auto& f : files) urls << QUrl::fromLocalFile(f);
  mime.setUrls(urls);
  drop(w, &mime);
}

// An ImageFolder of 10 classes (tiny3's count) with `perClass` copies of the golden photos.
QString makeDataset(const QString& root, int perClass) {
  const QStringList sources{golden("preprocess/photo.jpg"), golden("preprocess/default.jpg"), golden("preprocess/gray.png")};
  for (int c = 0; c < 10; ++c) {
    const QString dir = QStringLiteral("%1/c%2").arg(root).arg(c);
    QDir().mkpath(dir);
    for (int i = 0; i < perClass; ++i) {
      const QString& src = sources[(c + i) % sources.size()];
      QFile::copy(src, QStringLiteral("%1/%2.%3").arg(dir).arg(i).arg(QFileInfo(src).suffix()));
    }
  }
  return root;
}

}  // namespace

class TestGuiApp : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void randomSpecText_data();
  void randomSpecText();
  void dropImagesClassifiesWithBothSlots();
  void badImagesAreReported();
  void pastedImageIsClassified();
  void badModelFileIsReported();
  void cancelStopsEvaluation();
  void evaluationFillsResults();
  void evaluatesIdxFiles();
  void profileDrawsTimelinesAndTable();
  void loadingTraceJsonDrawsItsSpans();
  void corruptTraceIsReported();
  void settingsAndRecentFilesPersist();
  // Issue 15.
  void evaluateAcceptsEveryDatasetForm();
  void failedEvaluationClearsComparisonRows();
  void errorBannerClearsWhenItsActionSucceeds();
  void classCountMismatchIsWarned();
  void profileReportsMediansNoiseAndOneCsv();
  void lastModelsRestoredWithFallback();
  void cudaEntryDisabledWithoutDevice();
  void ivitVariantFollowsTheFile();
  void placeholderAndAboutNameWhatExists();
  void numericsTabMeasuresSqnr();
  void layoutFitsSmallWindowsAndGrows();
  void timelineSearchRangeAndHistogram();
  // Issue 16.
  void variantsTableProfilesEveryVariant();

 private:
  std::unique_ptr<MainWindow> makeWindow(bool loadModels = true);
  // Shows `w` at `size` with the Profile tab current, runs a short profile and waits for it;
  // null when the window or the profile did not come (the caller's QVERIFY fails).
  ProfileTab* profileShown(MainWindow& w, QSize size);

  QTemporaryDir m_tmp;
  int m_windows = 0;
};

ProfileTab* TestGuiApp::profileShown(MainWindow& w, QSize size) {
  w.resize(size);
  w.show();
  if (!QTest::qWaitForWindowExposed(&w)) return nullptr;
  ProfileTab* tab = w.profileTab();
  w.tabs()->setCurrentWidget(tab);
  tab->setSettings(1, 3, 1);
  if (!tab->run() || !QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout)) return nullptr;
  return tab;
}

void TestGuiApp::initTestCase() {
  QStandardPaths::setTestModeEnabled(true);
  QVERIFY(m_tmp.isValid());
  QVERIFY(QFileInfo::exists(golden("models/tiny3.safetensors")));
}

std::unique_ptr<MainWindow> TestGuiApp::makeWindow(bool loadModels) {
  MainWindowOptions o;
  o.settingsFile = m_tmp.filePath(QStringLiteral("settings-%1.ini").arg(++m_windows));
  o.preloadDefaults = false;
  if (loadModels) o.modelA = golden("models/tiny3.safetensors");
  auto w = std::make_unique<MainWindow>(o);
  w->resize(1280, 900);
  if (loadModels) {
    w->context()->loadRandom(1, tinyRelu());
    const bool ready = QTest::qWaitFor([&] { return w->context()->canRun(0) && w->context()->canRun(1); }, kTimeout);
    if (!ready) qWarning("models not ready: %s", qPrintable(w->log()));
  }
  return w;
}

void TestGuiApp::randomSpecText_data() {
  QTest::addColumn<QString>("text");
  QTest::addColumn<bool>("valid");
  QTest::addColumn<QString>("normalized");
  QTest::newRow("arch only") << "random:swin_tiny" << true << "random:swin_tiny:gelu:fp32";
  QTest::newRow("relu int8") << "random:swin_base:relu:int8" << true << "random:swin_base:relu:int8";
  QTest::newRow("order free") << "random:swin_small:int8:GELU" << true << "random:swin_small:gelu:int8";
  QTest::newRow("unknown arch") << "random:swin_huge" << false << "";
  QTest::newRow("bad part") << "random:swin_tiny:silu" << false << "";
  QTest::newRow("not random") << "model.safetensors" << false << "";
}

void TestGuiApp::randomSpecText() {
  QFETCH(QString, text);
  QFETCH(bool, valid);
  QFETCH(QString, normalized);
  QString error;
  const auto spec = RandomSpec::fromText(text, &error);
  QCOMPARE(spec.has_value(), valid);
  if (valid) QCOMPARE(spec->toText(), normalized);
  else QVERIFY(!error.isEmpty());
}

void TestGuiApp::dropImagesClassifiesWithBothSlots() {
  auto w = makeWindow();
  QVERIFY(w->context()->canRun(0) && w->context()->canRun(1));
  ClassifyTab* tab = w->classifyTab();
  QAbstractItemModelTester imagesTester(tab->images(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester predictionsTester(tab->predictions(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  const QStringList files{golden("preprocess/photo.jpg"), golden("preprocess/default.jpg"), golden("preprocess/gray.png")};
  dropFiles(tab->dropArea(), files);
  QCOMPARE(tab->images()->rowCount(), 3);
  QVERIFY(QTest::qWaitFor([&] {
    for (int r = 0; r < 3; ++r)
      if (tab->images()->status(r) != ImageListModel::Status::Done) return false;
    return true;
  }, kTimeout));
  for (int r = 0; r < 3; ++r) {
    const auto& e = tab->images()->entry(r);
    QVERIFY(!e.thumbnail.isNull());
    for (int s = 0; s < 2; ++s) {
      QCOMPARE(e.top[s]->size(), std::size_t(5));
      QVERIFY(e.top[s]->front().probability >= e.top[s]->back().probability);
      QVERIFY(e.latencyMs[s] >= 0);
    }
  }
  // The first dropped image is selected: its top-5 of A and B side by side.
  tab->select(0);
  QCOMPARE(tab->predictions()->rowCount(), 5);
  QCOMPARE(tab->predictions()->index(0, PredictionModel::ClassAColumn).data().toString(),
           QString::fromStdString(tab->images()->entry(0).top[0]->front().name));
  QVERIFY(tab->predictions()->index(0, PredictionModel::ProbabilityBColumn).data(PredictionModel::ProbabilityRole).toFloat() > 0);
  // Dropping the same files again adds nothing.
  dropFiles(tab->dropArea(), files);
  QCOMPARE(tab->images()->rowCount(), 3);
}

void TestGuiApp::badImagesAreReported() {
  auto w = makeWindow();
  ClassifyTab* tab = w->classifyTab();
  // A text file: refused with a message in the window, nothing added.
  const QString text = m_tmp.filePath(QStringLiteral("notes.txt"));
  {
    QFile f(text);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("not an image\n");
  }
  dropFiles(tab->dropArea(), {text});
  QCOMPARE(tab->images()->rowCount(), 0);
  QVERIFY(w->messageBar()->isVisibleTo(w.get()));
  QCOMPARE(w->messageBar()->level(), MessageBar::Level::Error);
  QVERIFY2(w->messageBar()->text().contains(QStringLiteral("notes.txt")) && w->messageBar()->text().contains(QStringLiteral("not an image")),
           qPrintable(w->messageBar()->text()));
  // A folder without images.
  const QString empty = m_tmp.filePath(QStringLiteral("empty-folder"));
  QDir().mkpath(empty);
  dropFiles(tab->dropArea(), {empty});
  QVERIFY2(w->messageBar()->text().contains(QStringLiteral("holds no images")), qPrintable(w->messageBar()->text()));
  // A truncated JPEG: listed, marked failed with the decoder's reason, the others still classified.
  dropFiles(tab->dropArea(), {kSource + QStringLiteral("/tests/data/bad_images/truncated.jpg"), golden("preprocess/photo.jpg")});
  QCOMPARE(tab->images()->rowCount(), 2);
  QVERIFY(QTest::qWaitFor([&] { return !tab->busy(); }, kTimeout));
  QCOMPARE(tab->images()->status(0), ImageListModel::Status::Failed);
  QVERIFY(tab->images()->entry(0).error.contains(QStringLiteral("truncated")));
  QCOMPARE(tab->images()->status(1), ImageListModel::Status::Done);
  QVERIFY(w->log().contains(QStringLiteral("truncated.jpg")));
  // A remote URL is refused, not fetched.
  QMimeData remote;
  remote.setUrls({QUrl(QStringLiteral("https://example.com/cat.jpg"))});
  QVERIFY(!tab->dropArea()->handleMimeData(&remote));
  QVERIFY(w->messageBar()->count() >= 3);
}

void TestGuiApp::pastedImageIsClassified() {
  auto w = makeWindow();
  ClassifyTab* tab = w->classifyTab();
  QImage img(golden("preprocess/photo.jpg"));
  QVERIFY(!img.isNull());
  QApplication::clipboard()->setImage(img);
  tab->paste();
  QCOMPARE(tab->images()->rowCount(), 1);
  QVERIFY(tab->images()->entry(0).path.endsWith(QStringLiteral("pasted-1.png")));
  QVERIFY(QTest::qWaitFor([&] { return tab->images()->status(0) == ImageListModel::Status::Done; }, kTimeout));
  // An empty clipboard says so.
  QApplication::clipboard()->clear();
  tab->paste();
  QCOMPARE(tab->images()->rowCount(), 1);
  QCOMPARE(w->messageBar()->level(), MessageBar::Level::Warning);
}

void TestGuiApp::badModelFileIsReported() {
  auto w = makeWindow();
  AppContext* ctx = w->context();
  const quint64 gen = ctx->slot(0).generation;
  ctx->load(0, kSource + QStringLiteral("/tests/data/safetensors_bad/offsets_overlap.safetensors"));
  QVERIFY(QTest::qWaitFor([&] { return !ctx->isLoading(0); }, kTimeout));
  QCOMPARE(w->messageBar()->level(), MessageBar::Level::Error);
  QVERIFY2(w->messageBar()->text().contains(QStringLiteral("offsets_overlap")), qPrintable(w->messageBar()->text()));
  // The slot keeps the model it had.
  QVERIFY(ctx->canRun(0));
  QCOMPARE(ctx->slot(0).generation, gen);
  QCOMPARE(ctx->slot(0).label, QStringLiteral("tiny3.safetensors"));
  // Not a model at all, dropped on the slot.
  dropFiles(w->slotPanel(1), {golden("preprocess/photo.jpg")});
  QVERIFY2(w->messageBar()->text().contains(QStringLiteral(".safetensors")), qPrintable(w->messageBar()->text()));
  QVERIFY(ctx->canRun(1));
  // A model dropped on slot B replaces B.
  dropFiles(w->slotPanel(1), {golden("models/batch4.safetensors")});
  QVERIFY(QTest::qWaitFor([&] { return ctx->slot(1).label == QStringLiteral("batch4.safetensors") && !ctx->isLoading(1); }, kTimeout));
  QVERIFY(ctx->canRun(1));
  QCOMPARE(ctx->slot(1).model->config.num_classes, 5);
}

void TestGuiApp::cancelStopsEvaluation() {
  auto w = makeWindow();
  const QString data = makeDataset(m_tmp.filePath(QStringLiteral("big")), 40);  // 400 images per model
  EvaluateTab* tab = w->evaluateTab();
  tab->setDataset(data);
  tab->setBatch(1);
  tab->setLimit(0);
  QSignalSpy finished(tab, &EvaluateTab::evaluated);
  QVERIFY(tab->run());
  QVERIFY(tab->isRunning());
  QVERIFY(QTest::qWaitFor([&] { return tab->progressDone() > 0; }, kTimeout));
  tab->cancel();
  QVERIFY(!tab->isRunning());
  // The worker stops at its next batch; a batch of this model is a few milliseconds.
  QVERIFY(QTest::qWaitFor([&] { return w->context()->runner().idle(); }, 5000));
  QVERIFY(tab->progressDone() < 400);
  QTest::qWait(100);  // a late result, if any, would arrive now: it must be dropped
  QCOMPARE(finished.count(), 0);
  QCOMPARE(tab->summary()->rowCount(), 0);
  QVERIFY(w->log().contains(QStringLiteral("Evaluation cancelled")));
  // The app is usable afterwards: a limited run completes.
  tab->setLimit(20);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QCOMPARE(finished.count(), 1);
  QCOMPARE(tab->summary()->result(0)->result.evaluated, 20L);
}

void TestGuiApp::evaluationFillsResults() {
  auto w = makeWindow();
  const QString data = makeDataset(m_tmp.filePath(QStringLiteral("small")), 2);
  // One unreadable image in class c3: skipped with its reason, the rest evaluated.
  QFile::copy(kSource + QStringLiteral("/tests/data/bad_images/truncated.jpg"), data + QStringLiteral("/c3/broken.jpg"));
  EvaluateTab* tab = w->evaluateTab();
  QAbstractItemModelTester t1(tab->summary(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester t2(tab->perClass(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester t3(tab->skipped(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester t4(tab->confusion(0), QAbstractItemModelTester::FailureReportingMode::QtTest);
  tab->setDataset(data);
  tab->setBatch(4);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QVERIFY2(tab->lastOutcome().has_value(), qPrintable(w->log()));
  for (int s = 0; s < 2; ++s) {
    const auto& r = tab->summary()->result(s);
    QVERIFY(r.has_value());
    QCOMPARE(r->result.evaluated, 20L);
    QCOMPARE(r->result.skipped.size(), std::size_t(1));
    QVERIFY(r->result.top5() >= r->result.top1());
    QCOMPARE(tab->confusion(s)->classCount(), 10);
  }
  QCOMPARE(tab->perClass()->rowCount(), 10);
  QCOMPARE(tab->skipped()->rowCount(), 2);  // the broken file, once per model
  QVERIFY(tab->skipped()->index(0, SkippedFilesModel::ReasonColumn).data().toString().contains(QStringLiteral("truncated")));
  // The Compare tab has the accuracies and the agreement of the two models.
  const CompareModel* cmp = w->compareTab()->model();
  QVERIFY(cmp->index(CompareModel::Top1Row, CompareModel::AColumn).data(CompareModel::ValueRole).isValid());
  QVERIFY(cmp->index(CompareModel::AgreementRow, CompareModel::CompareColumn).data(CompareModel::ValueRole).isValid());
  const QString csv = m_tmp.filePath(QStringLiteral("table2.csv"));
  QVERIFY(w->compareTab()->exportCsv(csv));
  QFile f(csv);
  QVERIFY(f.open(QIODevice::ReadOnly));
  QVERIFY(f.readAll().startsWith("metric,A,B,comparison"));
  const QString png = m_tmp.filePath(QStringLiteral("table2.png"));
  QVERIFY(w->compareTab()->exportPng(png));
  QVERIFY(!QImage(png).isNull());
}

namespace {

// An IDX pair as Fashion-MNIST ships it (big-endian header), uncompressed.
void writeIdx(const QString& dir, int n, quint32 imageMagic = 0x803) {
  QDir().mkpath(dir);
  auto be = [](QByteArray& b, quint32 v) {
    for (int s = 24; s >= 0; s -= 8) b.append(static_cast<char>((v >> s) & 0xff));
  };
  QByteArray img, lab;
  be(img, imageMagic);
  be(img, static_cast<quint32>(n));
  be(img, 28);
  be(img, 28);
  be(lab, 0x801);
  be(lab, static_cast<quint32>(n));
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < 28 * 28; ++p) img.append(static_cast<char>((p * (i + 3)) % 256));
    lab.append(static_cast<char>(i % 10));
  }
  QFile fi(dir + QStringLiteral("/t10k-images-idx3-ubyte"));
  QFile fl(dir + QStringLiteral("/t10k-labels-idx1-ubyte"));
  QVERIFY(fi.open(QIODevice::WriteOnly) && fi.write(img) == img.size());
  QVERIFY(fl.open(QIODevice::WriteOnly) && fl.write(lab) == lab.size());
}

}  // namespace

void TestGuiApp::evaluatesIdxFiles() {
  auto w = makeWindow();
  EvaluateTab* tab = w->evaluateTab();
  const QString dir = m_tmp.filePath(QStringLiteral("idx"));
  writeIdx(dir, 12);
  tab->setDataset(dir);
  tab->setBatch(4);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QVERIFY2(tab->summary()->result(0).has_value(), qPrintable(w->log()));
  QCOMPARE(tab->summary()->result(0)->result.evaluated, 12L);
  QCOMPARE(tab->summary()->result(1)->result.evaluated, 12L);
  QVERIFY(tab->lastOutcome()->dataset.contains(QStringLiteral("t10k (IDX)")));
  // Class i holds images i and i + 10: labels came through.
  QCOMPARE(tab->perClass()->rowCount(), 10);
  QCOMPARE(tab->perClass()->index(0, PerClassAccuracyModel::ImagesColumn).data().toString(), QStringLiteral("2"));
  // A file that is not IDX: a clear error, no result.
  const QString bad = m_tmp.filePath(QStringLiteral("idx-bad"));
  writeIdx(bad, 3, 0x1234);
  tab->setDataset(bad);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QVERIFY2(w->messageBar()->text().contains(QStringLiteral("not an IDX image file")), qPrintable(w->messageBar()->text()));
  // Debian's gzipped Fashion-MNIST, when installed.
  const QString fmnist = QStringLiteral("/usr/share/datasets/fashion-mnist");
  if (!QFileInfo::exists(fmnist + QStringLiteral("/t10k-images-idx3-ubyte.gz"))) return;
  tab->setDataset(fmnist);
  tab->setLimit(20);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QVERIFY2(tab->summary()->result(0).has_value(), qPrintable(w->log()));
  QCOMPARE(tab->summary()->result(0)->result.evaluated, 20L);
}

void TestGuiApp::profileDrawsTimelinesAndTable() {
  auto w = makeWindow();
  ProfileTab* tab = w->profileTab();
  QAbstractItemModelTester t1(tab->spans(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  QAbstractItemModelTester t2(tab->stats(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  tab->setSettings(1, 3, 1);
  QSignalSpy profiled(tab, &ProfileTab::profiled);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QCOMPARE(profiled.count(), 1);
  QCOMPARE(tab->spans()->traceCount(), 2);
  QCOMPARE(tab->traces()[0].runs.size(), std::size_t(3));
  // tiny3 has 6 blocks, tiny_relu 4: one lane per block plus one outside the blocks each.
  QCOMPARE(tab->spans()->laneCount(), 7 + 5);
  QVERIFY(tab->stats()->kindCount() >= 12);
  QVERIFY(tab->stats()->medianUs(0, "softmax").has_value());
  QCOMPARE(tab->chart()->barCount() > 0, true);
  // The A/B diff: a row per stage kind of either model, each with a verdict; per block, more rows.
  QAbstractItemModelTester t3(tab->diff(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  QVERIFY(tab->diff()->rowCount() >= 12);
  for (const auto& r : tab->diff()->rows()) QVERIFY(!r.a.empty() || !r.b.empty());
  const int summed = tab->diff()->rowCount();
#ifdef SWINSCOPE_HAVE_QTCHARTS
  QVERIFY(tab->diffChart()->boxCount() >= 2 * 12 - 2);
#endif
  tab->diffPerBlock()->setChecked(true);
  QVERIFY(tab->diff()->rowCount() > summed);
  QCOMPARE(tab->diffChart()->block(), 0);
  // The Compare tab has both latencies and the speed-up.
  QVERIFY(w->compareTab()->model()->speedup().has_value());
  // Export and read back.
  const QString json = m_tmp.filePath(QStringLiteral("profile.json"));
  QVERIFY(tab->exportJson(json));
  const auto back = profiler::import_chrome_json(json.toStdString());
  QCOMPARE(back.size(), std::size_t(2));
  QCOMPARE(back[0].spans.size(), tab->traces()[0].spans.size());
  QVERIFY(tab->exportCsv(m_tmp.filePath(QStringLiteral("profile.csv"))));
  // One file for A and B (a model column), never a second file chosen silently (issue 15 item 6).
  QVERIFY(!QFileInfo::exists(m_tmp.filePath(QStringLiteral("profile.B.csv"))));
}

void TestGuiApp::loadingTraceJsonDrawsItsSpans() {
  // A trace recorded straight from the engine, as `swinscope-cli profile --trace` writes it.
  const Model m = load_model(golden("models/tiny3.safetensors").toStdString());
  PlanOptions po;
  auto plan = make_plan(m, po);
  std::vector<float> input(3 * 32 * 32, 0.5f), logits(10);
  profiler::CpuClockRecorder rec;
  for (int r = 0; r < 3; ++r) {
    rec.begin_run(r);
    plan->run(input.data(), 1, logits.data(), &rec);
    rec.end_run();
  }
  profiler::TraceContext ctx;
  ctx.model = "tiny3";
  ctx.variant = "fp32";
  ctx.backend = "cpu";
  ctx.device = "test";
  ctx.runs = 3;
  const auto trace = rec.take_trace(ctx);
  const QString path = m_tmp.filePath(QStringLiteral("saved.json"));
  profiler::export_chrome_json(trace, path.toStdString());

  auto w = makeWindow(false);
  ProfileTab* tab = w->profileTab();
  QAbstractItemModelTester tester(tab->spans(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  QVERIFY(tab->openTrace(path));
  TraceSpanModel* spans = tab->spans();
  QCOMPARE(spans->traceCount(), 1);
  QCOMPARE(spans->traceLabel(0), QStringLiteral("fp32"));
  // Every leaf span of the shown run is a row: patch_embed, the stages of 6 blocks (the FP32
  // plan records 9 of the 12 int8 stage names per block), the merges, head.
  const auto leaves = profiler::select_spans(trace, profiler::kLeafSpans);
  const int run = spans->displayedRun(0);
  int expected = 0;
  for (std::size_t i = 0; i < trace.spans.size(); ++i)
    if (leaves[i] && trace.spans[i].run == run) ++expected;
  QVERIFY(expected >= 1 + 6 * 9 + 1);
  QCOMPARE(spans->rowCount(), expected);
  QCOMPARE(spans->laneCount(), 7);
  // The timeline draws them: each span's rectangle holds its stage colour.
  TimelineView* view = tab->timeline();
  w->tabs()->setCurrentWidget(tab);
  w->resize(2400, 1200);
  w->show();
  QVERIFY(QTest::qWaitForWindowExposed(w.get()));
  view->fitAll();
  const QImage img = view->grab().toImage();
  int checked = 0;
  for (int r = 0; r < spans->rowCount(); ++r) {
    const QRectF rc = view->spanRect(r);
    QVERIFY(!rc.isEmpty());
    QCOMPARE(view->spanAt(rc.center().toPoint()), r);
    if (rc.width() < 8 || spans->index(r, 0).data(TraceSpanModel::GeluOnlyRole).toBool()) continue;
    const QColor want = spans->index(r, 0).data(TraceSpanModel::ColourRole).value<QColor>();
    const QPoint probe(static_cast<int>(rc.left()) + 2, static_cast<int>(rc.top()) + 2);
    QCOMPARE(img.pixelColor(probe).rgb(), want.rgb());
    ++checked;
  }
  QVERIFY2(checked > 10, qPrintable(QStringLiteral("checked %1 of %2, view %3 px, first %4 px").arg(checked).arg(spans->rowCount()).arg(view->width()).arg(view->spanRect(0).width())));
  // Hovering a span shows its exact figures.
  const QRectF first = view->spanRect(5);
  const QPoint at = first.center().toPoint();
  QHelpEvent help(QEvent::ToolTip, at, view->mapToGlobal(at));
  QCoreApplication::sendEvent(view, &help);
  const QString stage = spans->index(5, TraceSpanModel::StageColumn).data().toString();
  QVERIFY2(QToolTip::text().contains(stage) && QToolTip::text().contains(QStringLiteral("duration")), qPrintable(QToolTip::text()));
  // The wheel zooms in around the cursor: the span stays under it.
  QWheelEvent wheel(QPointF(at), QPointF(view->mapToGlobal(at)), QPoint(), QPoint(0, 3 * 120), Qt::NoButton, Qt::NoModifier,
                    Qt::NoScrollPhase, false);
  QCoreApplication::sendEvent(view, &wheel);
  QVERIFY(view->mapping().timeSpan < spans->extentUs() / 1.9);
  QCOMPARE(view->spanAt(QPoint(static_cast<int>(view->spanRect(5).center().x()), at.y())), 5);
  // Dragging pans: dragging left brings later times in.
  const double before = view->mapping().timeStart;
  QTest::mousePress(view, Qt::LeftButton, Qt::NoModifier, at);
  QMouseEvent move(QEvent::MouseMove, QPointF(at - QPoint(200, 0)), QPointF(view->mapToGlobal(at - QPoint(200, 0))), Qt::NoButton,
                   Qt::LeftButton, Qt::NoModifier);
  QCoreApplication::sendEvent(view, &move);
  QTest::mouseRelease(view, Qt::LeftButton, Qt::NoModifier, at - QPoint(200, 0));
  QVERIFY(view->mapping().timeStart > before);
  // Double-click fits the whole run again.
  QTest::mouseDClick(view, Qt::LeftButton, Qt::NoModifier, at);
  QCOMPARE(view->mapping().timeSpan, spans->extentUs());
}

void TestGuiApp::corruptTraceIsReported() {
  auto w = makeWindow(false);
  const QString path = m_tmp.filePath(QStringLiteral("corrupt.json"));
  {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("{\"traceEvents\": [ {\"ph\": \"X\"");
  }
  QVERIFY(!w->profileTab()->openTrace(path));
  QCOMPARE(w->messageBar()->level(), MessageBar::Level::Error);
  QVERIFY2(w->messageBar()->text().contains(QStringLiteral("corrupt.json")), qPrintable(w->messageBar()->text()));
  QCOMPARE(w->profileTab()->spans()->rowCount(), 0);
  QVERIFY(!w->profileTab()->openTrace(m_tmp.filePath(QStringLiteral("missing.json"))));
}

void TestGuiApp::settingsAndRecentFilesPersist() {
  QString settingsFile;
  {
    auto w = makeWindow();
    QVERIFY(w->recentFiles().contains(golden("models/tiny3.safetensors")));
    w->evaluateTab()->setBatch(3);
    w->profileTab()->setSettings(2, 7, 1);
    w->tabs()->setCurrentIndex(2);
    w->close();
    settingsFile = m_tmp.filePath(QStringLiteral("settings-%1.ini").arg(m_windows));
  }
  QSettings s(settingsFile, QSettings::IniFormat);
  QVERIFY(s.value(QStringLiteral("recent/models")).toStringList().contains(golden("models/tiny3.safetensors")));
  QCOMPARE(s.value(QStringLiteral("evaluate/batch")).toInt(), 3);
  QCOMPARE(s.value(QStringLiteral("profile/runs")).toInt(), 7);
  QCOMPARE(s.value(QStringLiteral("window/tab")).toInt(), 2);
  QVERIFY(!s.value(QStringLiteral("window/geometry")).toByteArray().isEmpty());
  // A new window with the same settings comes back as it was left.
  MainWindowOptions o;
  o.settingsFile = settingsFile;
  o.preloadDefaults = false;
  MainWindow again(o);
  QCOMPARE(again.evaluateTab()->batch(), 3);
  QCOMPARE(again.profileTab()->runs(), 7);
  QCOMPARE(again.tabs()->currentIndex(), 2);
  QVERIFY(again.recentFiles().contains(golden("models/tiny3.safetensors")));
}

// ---- issue 15 ----

void TestGuiApp::evaluateAcceptsEveryDatasetForm() {
  auto w = makeWindow();
  EvaluateTab* tab = w->evaluateTab();
  const QString dir = m_tmp.filePath(QStringLiteral("idx-forms"));
  writeIdx(dir, 12);
  tab->setBatch(4);
  // The IDX images file itself (typed or chosen with "IDX file…"), as the CLI accepts it.
  const auto images = QDir(dir).entryList({QStringLiteral("*-images-*")}, QDir::Files);
  QCOMPARE(images.size(), 1);
  tab->setDataset(QDir(dir).filePath(images.front()));
  QVERIFY2(tab->run(), qPrintable(w->log()));
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QVERIFY2(tab->summary()->result(0).has_value(), qPrintable(w->log()));
  QCOMPARE(tab->summary()->result(0)->result.evaluated, 12L);
  QVERIFY(tab->lastOutcome()->dataset.contains(QStringLiteral("(IDX)")));
  // The Flipped images tab: one row per disagreement, each with its thumbnail from the IDX
  // pixels, and the 2×2 table with McNemar's p above it.
  QAbstractItemModelTester flippedTester(tab->flipped(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  const auto& o = *tab->lastOutcome();
  QCOMPARE(static_cast<std::size_t>(tab->flipped()->rowCount()), flippedImages(*o.result[0], *o.result[1]).size());
  const long agreed = predictionAgreement(*o.result[0], *o.result[1]).agreed;
  QCOMPARE(static_cast<long>(tab->flipped()->rowCount()), 12 - agreed);
  for (int r = 0; r < tab->flipped()->rowCount(); ++r)
    QVERIFY(!tab->flipped()->index(r, 0).data(Qt::DecorationRole).value<QImage>().isNull());
  QVERIFY2(tab->flippedHeadline().contains(QStringLiteral("McNemar exact p")), qPrintable(tab->flippedHeadline()));
  // Compare's button leads there.
  w->tabs()->setCurrentWidget(w->compareTab());
  auto* button = w->compareTab()->findChild<QPushButton*>(QStringLiteral("flippedImagesButton"));
  QVERIFY(button);
  button->click();
  QCOMPARE(w->tabs()->currentWidget(), static_cast<QWidget*>(tab));
  QVERIFY(tab->flippedShown());
  QCOMPARE(tab->flipped()->table()->total(), 12L);
  // What is no dataset is refused before any job, with the CLI's message naming it.
  const QString junk = m_tmp.filePath(QStringLiteral("notes.txt"));
  QFile f(junk);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write("x");
  f.close();
  tab->setDataset(junk);
  QVERIFY(!tab->run());
  QCOMPARE(w->messageBar()->level(), MessageBar::Level::Error);
  QVERIFY2(w->messageBar()->text().contains(junk) && w->messageBar()->text().contains(QStringLiteral("IDX images file")),
           qPrintable(w->messageBar()->text()));
  tab->setDataset(m_tmp.filePath(QStringLiteral("no-such-folder")));
  QVERIFY(!tab->run());
  QVERIFY2(w->messageBar()->text().contains(QStringLiteral("no such file or folder")), qPrintable(w->messageBar()->text()));
}

void TestGuiApp::failedEvaluationClearsComparisonRows() {
  auto w = makeWindow();
  EvaluateTab* tab = w->evaluateTab();
  const CompareModel* cmp = w->compareTab()->model();
  const QString dir = m_tmp.filePath(QStringLiteral("idx-provenance"));
  writeIdx(dir, 10);
  tab->setDataset(dir);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  // Every accuracy row comes with where and when it was measured, and McNemar's p.
  QVERIFY(cmp->index(CompareModel::Top1Row, CompareModel::AColumn).data(CompareModel::ValueRole).isValid());
  const QString source = cmp->index(CompareModel::AccuracySourceRow, CompareModel::CompareColumn).data().toString();
  QVERIFY2(source.contains(QStringLiteral("(IDX)")) && source.contains(QStringLiteral("10 images")) &&
               source.contains(QDate::currentDate().toString(QStringLiteral("yyyy-MM-dd"))),
           qPrintable(source));
  const double p = cmp->index(CompareModel::McNemarRow, CompareModel::CompareColumn).data(CompareModel::ValueRole).toDouble();
  QVERIFY(p > 0 && p <= 1);
  // A failed evaluation (a dataset that is not there) clears the accuracy it would replace;
  // Run ▸ Evaluate and profile stops before profiling.
  tab->setDataset(m_tmp.filePath(QStringLiteral("gone")));
  QSignalSpy profiled(w->profileTab(), &ProfileTab::runningChanged);
  QVERIFY(!tab->run());
  QVERIFY(!cmp->index(CompareModel::Top1Row, CompareModel::AColumn).data(CompareModel::ValueRole).isValid());
  QCOMPARE(cmp->index(CompareModel::AccuracySourceRow, CompareModel::CompareColumn).data().toString(), QStringLiteral("not evaluated"));
  emit w->compareTab()->runAllRequested();
  QVERIFY(!w->profileTab()->isRunning());
  QCOMPARE(profiled.count(), 0);
}

void TestGuiApp::errorBannerClearsWhenItsActionSucceeds() {
  auto w = makeWindow();
  EvaluateTab* tab = w->evaluateTab();
  tab->setDataset(m_tmp.filePath(QStringLiteral("missing-dataset")));
  QVERIFY(!tab->run());
  QCOMPARE(w->messageBar()->level(), MessageBar::Level::Error);
  QCOMPARE(w->messageBar()->action(), QStringLiteral("evaluate"));
  QVERIFY(!w->messageBar()->isHidden());
  // Another action's success does not take the evaluation's error down...
  w->context()->clearReports(QStringLiteral("profile"));
  QVERIFY(!w->messageBar()->isHidden());
  // ... the evaluation's own success does.
  const QString dir = m_tmp.filePath(QStringLiteral("idx-banner"));
  writeIdx(dir, 10);
  tab->setDataset(dir);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QVERIFY(tab->summary()->result(0).has_value());
  QVERIFY2(w->messageBar()->isHidden() || w->messageBar()->level() != MessageBar::Level::Error,
           qPrintable(w->messageBar()->text()));
}

void TestGuiApp::classCountMismatchIsWarned() {
  auto w = makeWindow();
  EvaluateTab* tab = w->evaluateTab();
  // Labels 0..3 only: four classes against the models' ten.
  const QString dir = m_tmp.filePath(QStringLiteral("idx-four"));
  QDir().mkpath(dir);
  write_idx_set(dir.toStdString(), "t10k", 8, 28, 4, 1);
  tab->setDataset(dir);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QVERIFY2(w->log().contains(QStringLiteral("10 classes but the dataset has 4")), qPrintable(w->log()));
  QVERIFY(tab->lastOutcome()->notes.join(QLatin1Char(' ')).contains(QStringLiteral("dataset has 4")));
}

void TestGuiApp::profileReportsMediansNoiseAndOneCsv() {
  auto w = makeWindow();
  ProfileTab* tab = w->profileTab();
  tab->setSettings(1, 6, 1);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, kTimeout));
  QCOMPARE(tab->traces().size(), std::size_t{2});
  const QString summary = tab->summaryText();
  QVERIFY2(summary.contains(QStringLiteral("median")) && summary.contains(QStringLiteral("p10–p90")), qPrintable(summary));
  // "X is N× faster" with N ≥ 1, and the bootstrap interval of the paired runs.
  QVERIFY2(summary.contains(QStringLiteral("× faster")) && summary.contains(QStringLiteral("% CI")), qPrintable(summary));
  QVERIFY(!summary.contains(QStringLiteral("as fast as")));
  const CompareModel* cmp = w->compareTab()->model();
  QVERIFY(cmp->index(CompareModel::SpeedupRow, CompareModel::CompareColumn).data().toString().contains(QStringLiteral("× faster")));
  QVERIFY(cmp->index(CompareModel::LatencySourceRow, CompareModel::CompareColumn).data().toString().contains(QStringLiteral("6 paired runs")));
  // One CSV, a model column, both slots' spans.
  const QString csv = m_tmp.filePath(QStringLiteral("both.csv"));
  QVERIFY(tab->exportCsv(csv));
  QVERIFY(!QFileInfo::exists(m_tmp.filePath(QStringLiteral("both.B.csv"))));
  QFile f(csv);
  QVERIFY(f.open(QIODevice::ReadOnly));
  const QStringList lines = QString::fromUtf8(f.readAll()).trimmed().split(QLatin1Char('\n'));
  QVERIFY(lines.front().startsWith(QStringLiteral("model,model_file,variant,run,")));
  int a = 0, b = 0;
  for (int i = 1; i < lines.size(); ++i) {
    if (lines[i].startsWith(QStringLiteral("A,"))) ++a;
    else if (lines[i].startsWith(QStringLiteral("B,"))) ++b;
    else QFAIL(qPrintable(lines[i]));
  }
  QCOMPARE(static_cast<std::size_t>(a), tab->traces()[0].spans.size());
  QCOMPARE(static_cast<std::size_t>(b), tab->traces()[1].spans.size());
  // The stage table's headers say median, never mean.
  for (int c = 0; c < tab->stats()->columnCount(); ++c)
    QVERIFY(!tab->stats()->headerData(c, Qt::Horizontal).toString().contains(QStringLiteral("mean")));
}

void TestGuiApp::lastModelsRestoredWithFallback() {
  const QString settingsFile = m_tmp.filePath(QStringLiteral("restore.ini"));
  {
    QSettings s(settingsFile, QSettings::IniFormat);
    s.setValue(QStringLiteral("models/A"), golden("models/tiny3.safetensors"));
    s.setValue(QStringLiteral("models/B"), m_tmp.filePath(QStringLiteral("deleted.safetensors")));
  }
  MainWindowOptions o;
  o.settingsFile = settingsFile;
  o.assetsDir = kSource + QStringLiteral("/assets");
  MainWindow w(o);
  QVERIFY(QTest::qWaitFor([&] { return w.context()->canRun(0) && w.context()->canRun(1); }, kTimeout));
  QCOMPARE(w.context()->slot(0).source, golden("models/tiny3.safetensors"));
  QVERIFY2(w.context()->slot(1).source.endsWith(QStringLiteral("fmnist_swin_relu.int8.safetensors")), qPrintable(w.context()->slot(1).source));
  QVERIFY2(w.log().contains(QStringLiteral("deleted.safetensors, is gone")), qPrintable(w.log()));
  w.close();
  // What was in the slots at close is what the next start restores.
  QSettings s(settingsFile, QSettings::IniFormat);
  QCOMPARE(s.value(QStringLiteral("models/B")).toString(), w.context()->slot(1).source);
  QVERIFY(s.contains(QStringLiteral("splitters/mainSplitter")));
}

void TestGuiApp::cudaEntryDisabledWithoutDevice() {
  auto w = makeWindow(false);
  QVERIFY(QTest::qWaitFor([&] { return !w->context()->backend().device.empty(); }, kTimeout));
  if (w->context()->backend().backend == Backend::CUDA) QSKIP("a CUDA device is usable here: the entry is enabled");
  QComboBox* box = nullptr;
  for (auto* c : w->slotPanel(0)->findChildren<QComboBox*>())
    if (c->findData(QStringLiteral("cuda")) >= 0) box = c;
  QVERIFY(box);
  auto* model = qobject_cast<QStandardItemModel*>(box->model());
  QVERIFY(model);
  QStandardItem* cuda = model->item(box->findData(QStringLiteral("cuda")));
  QVERIFY(!cuda->isEnabled());
  QVERIFY2(!cuda->toolTip().isEmpty(), "the reason is the tooltip");
  QCOMPARE(cuda->toolTip(), QString::fromStdString(w->context()->backend().notice));
}

// int8-ivit (integer-only, CPU) is offered for an int8 file holding its ranges, not for a float one.
void TestGuiApp::ivitVariantFollowsTheFile() {
  MainWindowOptions o;
  o.settingsFile = m_tmp.filePath(QStringLiteral("settings-%1.ini").arg(++m_windows));
  o.preloadDefaults = false;
  o.modelA = kSource + QStringLiteral("/assets/models/fmnist_swin_relu.int8.safetensors");
  o.modelB = golden("models/tiny3.safetensors");
  MainWindow w(o);
  QVERIFY(QTest::qWaitFor([&] { return w.context()->canRun(0) && w.context()->canRun(1); }, kTimeout));
  // int8-ivit runs on the CPU and on CUDA: only the file decides.
  auto item = [&](int slot) -> QStandardItem* {
    for (auto* c : w.slotPanel(slot)->findChildren<QComboBox*>()) {
      const int i = c->findData(static_cast<int>(Variant::Int8Ivit));
      if (i >= 0) return qobject_cast<QStandardItemModel*>(c->model())->item(i);
    }
    return nullptr;
  };
  QVERIFY(item(0) && item(1));
  QVERIFY2(item(0)->isEnabled(), qPrintable(item(0)->toolTip()));
  QVERIFY(!item(1)->isEnabled());
  QVERIFY2(item(1)->toolTip().contains(QStringLiteral("int8")), qPrintable(item(1)->toolTip()));
}

void TestGuiApp::placeholderAndAboutNameWhatExists() {
  auto w = makeWindow(false);
  // Every "Menu ▸ Item" the timeline's placeholder names is in the menu bar.
  const QString text = TimelineView::placeholderText();
  QVERIFY(!text.contains(QStringLiteral("Profile ▸ Run")));
  const QRegularExpression path(QStringLiteral("(\\w+) ▸ ([^,()]+?)(?=[,()]|$| or )"));
  int named = 0;
  for (auto it = path.globalMatch(text); it.hasNext();) {
    const auto m = it.next();
    bool found = false;
    for (QAction* menu : w->menuBar()->actions()) {
      if (menu->text().remove(QLatin1Char('&')) != m.captured(1) || !menu->menu()) continue;
      for (QAction* a : menu->menu()->actions())
        if (a->text().remove(QLatin1Char('&')) == m.captured(2).trimmed()) found = true;
    }
    QVERIFY2(found, qPrintable(m.captured(0)));
    ++named;
  }
  QVERIFY(named >= 2);
  QVERIFY(MainWindow::aboutText().contains(QStringLiteral("SwinScope " SWINSCOPE_VERSION)));
  QVERIFY(!QStringLiteral(SWINSCOPE_VERSION).isEmpty());
}

// Numerics (issue 15, per-stage int8 error): the bundled GELU int8 model in A, its FP32 source
// guessed as the reference, SQNR per block and stage on two sample images; a model against
// itself is "inf" everywhere; a missing reference file is refused before any work.
void TestGuiApp::numericsTabMeasuresSqnr() {
  const QString models = kSource + QStringLiteral("/assets/models/");
  auto w = makeWindow(false);
  w->context()->load(0, models + QStringLiteral("fmnist_swin_gelu.int8.safetensors"));
  QVERIFY(QTest::qWaitFor([&] { return w->context()->canRun(0); }, kTimeout));
  NumericsTab* tab = w->numericsTab();
  QVERIFY(w->tabs()->indexOf(tab) >= 0);
  QAbstractItemModelTester tester(tab->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
  // X.int8.safetensors → X.fp32.safetensors beside it
  QCOMPARE(QFileInfo(tab->referenceFile()).fileName(), QStringLiteral("fmnist_swin_gelu.fp32.safetensors"));
  tab->setDataset(kSource + QStringLiteral("/assets/samples"));
  tab->setImages(2);
  QSignalSpy done(tab, &NumericsTab::finished);
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, 3 * kTimeout));
  QCOMPARE(done.count(), 1);
  QCOMPARE(done.at(0).at(0).toBool(), true);
  NumericsModel* m = tab->model();
  QCOMPARE(m->rowCount(), 4);  // the bundled model's 2 + 2 blocks
  int worstRows = 0;
  for (int r = 0; r < m->rowCount(); ++r) {
    for (int c = NumericsModel::kFixedColumns; c < m->columnCount(); ++c) {
      const double db = m->index(r, c).data(NumericsModel::DbRole).toDouble();
      QVERIFY2(std::isfinite(db) && db > 0, qPrintable(QStringLiteral("row %1 column %2: %3").arg(r).arg(c).arg(db)));
    }
    worstRows += m->index(r, 0).data(NumericsModel::WorstRole).toBool() ? 1 : 0;
  }
  QCOMPARE(worstRows, 1);
#ifdef SWINSCOPE_HAVE_QTCHARTS
  QCOMPARE(tab->chartBars(), 8);  // per block: the residual stream and the added noise
#endif
  // The model against itself: no noise anywhere, no worst block.
  tab->setReferenceFile(models + QStringLiteral("fmnist_swin_gelu.int8.safetensors"));
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, 3 * kTimeout));
  QCOMPARE(m->rowCount(), 4);
  for (int r = 0; r < m->rowCount(); ++r) {
    QCOMPARE(m->index(r, NumericsModel::kFixedColumns).data().toString(), QStringLiteral("inf"));
    QVERIFY(!m->index(r, 0).data(NumericsModel::WorstRole).toBool());
  }
  // The GELU-less model has no FP32 source beside it: its own weights dequantized are offered.
  w->context()->load(1, models + QStringLiteral("fmnist_swin_relu.int8.safetensors"));
  QVERIFY(QTest::qWaitFor([&] { return w->context()->canRun(1); }, kTimeout));
  tab->setTestSlot(1);
  QCOMPARE(tab->referenceFile(), QStringLiteral("dequantized"));
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, 3 * kTimeout));
  QCOMPARE(m->rowCount(), 4);
  for (int r = 0; r < m->rowCount(); ++r) {
    const double db = m->index(r, m->addedColumn() - 1).data(NumericsModel::DbRole).toDouble();
    QVERIFY2(std::isfinite(db) && db > 10, qPrintable(QString::number(db)));
  }
  // Slot A as int8-ivit: the integer-only plan's taps; the four GEMM outputs it never forms
  // (qkv, proj, fc2; fc1 of GELU blocks) are "–", every other cell finite.
  w->context()->reconfigure(0, QStringLiteral("cpu"), Variant::Int8Ivit);
  QVERIFY(QTest::qWaitFor([&] { return w->context()->canRun(0) && w->context()->slot(0).variant == Variant::Int8Ivit; }, kTimeout));
  tab->setTestSlot(0);
  tab->setReferenceFile(models + QStringLiteral("fmnist_swin_gelu.fp32.safetensors"));
  QVERIFY(tab->run());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isRunning(); }, 3 * kTimeout));
  QCOMPARE(m->rowCount(), 4);
  for (int r = 0; r < m->rowCount(); ++r) {
    int empty = 0;
    for (int c = NumericsModel::kFixedColumns; c < m->addedColumn(); ++c) {
      const QVariant db = m->index(r, c).data(NumericsModel::DbRole);
      if (!db.isValid()) {
        ++empty;
        QCOMPARE(m->index(r, c).data().toString(), QStringLiteral("–"));
      } else {
        QVERIFY2(std::isfinite(db.toDouble()) && db.toDouble() > 10, qPrintable(QString::number(db.toDouble())));
      }
    }
    QCOMPARE(empty, 4);
  }
  // A reference that does not exist is refused at once, naming the file.
  tab->setReferenceFile(m_tmp.filePath(QStringLiteral("no-such.fp32.safetensors")));
  QVERIFY(!tab->run());
  QVERIFY(w->log().contains(QStringLiteral("no-such.fp32.safetensors")));
}

// Layout (issue 15): the window fits 1100×700 with both models loaded and a profile shown; the
// slot panels are two lines until Details opens both; the timeline's lanes grow with the window.
void TestGuiApp::layoutFitsSmallWindowsAndGrows() {
  auto w = makeWindow();
  ProfileTab* tab = profileShown(*w, QSize(1100, 700));
  QVERIFY(tab);
  QCoreApplication::processEvents();
  const QSize min = w->minimumSizeHint();
  QVERIFY2(min.width() <= 1100 && min.height() <= 700, qPrintable(QStringLiteral("%1x%2").arg(min.width()).arg(min.height())));
  QCOMPARE(w->size(), QSize(1100, 700));
  // Compact panels: the facts are hidden, both open and close together, and the pane follows.
  SlotPanel* a = w->slotPanel(0);
  const int compact = a->height();
  QVERIFY(!a->detailsShown());
  QVERIFY2(compact < 4 * a->fontMetrics().height() + 40, qPrintable(QString::number(compact)));
  a->setDetailsShown(true);
  QVERIFY(w->slotPanel(1)->detailsShown());
  QVERIFY(QTest::qWaitFor([&] { return a->height() > compact; }, kTimeout));
  a->setDetailsShown(false);
  QVERIFY(!w->slotPanel(1)->detailsShown());
  QVERIFY(QTest::qWaitFor([&] { return a->height() == compact; }, kTimeout));
  // The timeline: the lanes take the height a larger window gives them.
  const int small = tab->timeline()->laneHeight();
  w->resize(2560, 1440);
  QVERIFY(QTest::qWaitFor([&] { return tab->timeline()->laneHeight() > small; }, kTimeout));
}

// Timeline (issue 15): typing a name highlights its spans (a count beside the field), Shift+drag
// selects a range whose summary appears, and a click on a span opens its stage's histogram.
void TestGuiApp::timelineSearchRangeAndHistogram() {
  auto w = makeWindow();
  ProfileTab* tab = profileShown(*w, QSize(1600, 1000));
  QVERIFY(tab);
  TimelineView* tl = tab->timeline();
  int softmax = 0;
  for (int r = 0; r < tab->spans()->rowCount(); ++r)
    if (tab->spans()->index(r, 0).data(TraceSpanModel::KindRole).toString() == QStringLiteral("softmax")) ++softmax;
  QVERIFY(softmax > 0);
  tab->findField()->setText(QStringLiteral("SoftMax"));
  QCOMPARE(tl->matchCount(), softmax);
  tab->findField()->clear();
  QCOMPARE(tl->matchCount(), 0);
  // Shift+drag across the middle of the bar area.
  QCoreApplication::processEvents();
  const int y = tl->laneTop(1) + tl->laneHeight() / 2;
  const QPoint from(tl->mapping().x0 + 20, y), to(static_cast<int>(tl->mapping().x0 + tl->mapping().width / 2), y);
  QTest::mousePress(tl, Qt::LeftButton, Qt::ShiftModifier, from);
  QTest::mouseMove(tl, to);
  QTest::mouseRelease(tl, Qt::LeftButton, Qt::ShiftModifier, to);
  QVERIFY(tl->hasSelection());
  QVERIFY(tl->selectionEnd() > tl->selectionStart());
  QVERIFY2(tab->selectionLabel()->text().startsWith(QStringLiteral("Selection")), qPrintable(tab->selectionLabel()->text()));
  QVERIFY(tab->selectionLabel()->toolTip().contains(QStringLiteral("span(s)")));
  // A click clears it; a click on a span opens its histogram: every span of that kind and
  // trace over the three runs.
  int row = -1;
  for (int r = 0; r < tab->spans()->rowCount() && row < 0; ++r)
    if (tab->spans()->index(r, 0).data(TraceSpanModel::KindRole).toString() == QStringLiteral("softmax") && !tl->spanRect(r).isEmpty()) row = r;
  QVERIFY(row >= 0);
  const QPoint centre = tl->spanRect(row).center().toPoint();
  QCOMPARE(tl->spanAt(centre), row);
  QTest::mouseClick(tl, Qt::LeftButton, Qt::NoModifier, centre);
  QVERIFY(!tl->hasSelection());
  QVERIFY(tab->histogramDialog() && tab->histogramDialog()->isVisible());
  const int trace = tab->spans()->index(row, 0).data(TraceSpanModel::TraceRole).toInt();
  const int blocks = trace == 0 ? 6 : 4;  // tiny3, tiny_relu
  QCOMPARE(static_cast<int>(tab->histogramValues().size()), 3 * blocks);
  QVERIFY(tab->histogramBins() >= 1);
}

// Issue 16: the Compare tab's variants table. The bundled GELU model in A and its GELU-less
// student in B: four columns run on the CPU (A int8-gelu, A int8-ivit, B int8-relu, B
// int8-ivit), the variants they cannot run (or only on CUDA) are greyed with the reason.
void TestGuiApp::variantsTableProfilesEveryVariant() {
  MainWindowOptions o;
  o.settingsFile = m_tmp.filePath(QStringLiteral("settings-%1.ini").arg(++m_windows));
  o.preloadDefaults = false;
  o.modelA = kSource + QStringLiteral("/assets/models/fmnist_swin_gelu.int8.safetensors");
  o.modelB = kSource + QStringLiteral("/assets/models/fmnist_swin_relu.int8.safetensors");
  MainWindow w(o);
  QVERIFY(QTest::qWaitFor([&] { return w.context()->canRun(0) && w.context()->canRun(1); }, kTimeout));
  CompareTab* tab = w.compareTab();
  VariantsModel* m = tab->variants();
  QAbstractItemModelTester tester(m, QAbstractItemModelTester::FailureReportingMode::QtTest);
  // Planned as soon as the files are in: the four that run first, side by side.
  const auto runnable = m->runnableColumns();
  QCOMPARE(runnable.size(), std::size_t{4});
  const QStringList expected{"A int8-gelu", "A int8-ivit", "B int8-relu", "B int8-ivit"};
  for (int i = 0; i < 4; ++i) {
    const auto* c = m->columns()[static_cast<std::size_t>(i)].runs ? &m->columns()[static_cast<std::size_t>(i)] : nullptr;
    QVERIFY(c);
    QCOMPARE(slotName(c->slot) + QLatin1Char(' ') + c->variant, expected[i]);
    const QString head = m->headerData(i + 1, Qt::Horizontal).toString();
    QVERIFY2(head.contains(c->variant) && head.contains(c->model), qPrintable(head));
  }
  QVERIFY(m->columns()[0].model.contains(QStringLiteral("fmnist_swin_gelu.int8")));
  QVERIFY(m->columns()[2].model.contains(QStringLiteral("fmnist_swin_relu.int8")));
  // The greyed ones: disabled cells, the reason as the tooltip (A cannot run int8-relu).
  bool sawReluOfGelu = false;
  for (int col = 5; col <= static_cast<int>(m->columns().size()); ++col) {
    const auto& c = m->columns()[static_cast<std::size_t>(col - 1)];
    QVERIFY(!c.runs);
    QVERIFY(!(m->flags(m->index(VariantsModel::kForwardRow, col)) & Qt::ItemIsEnabled));
    const QString tip = m->index(VariantsModel::kForwardRow, col).data(Qt::ToolTipRole).toString();
    QVERIFY2(!c.note.isEmpty() && tip.contains(c.note), qPrintable(tip));
    if (c.slot == 0 && c.variant == QLatin1String("int8-relu")) sawReluOfGelu = true;
  }
  QVERIFY(sawReluOfGelu);
  QCOMPARE(m->index(VariantsModel::kForwardRow, 1).data().toString(), QStringLiteral("not profiled"));

  // Cancel: the job stops, nothing is shown.
  tab->setVariantSettings(1, 100000, 0);
  QSignalSpy profiled(tab, &CompareTab::variantsProfiled);
  QVERIFY(tab->profileVariants());
  QVERIFY(!tab->profileVariants());  // one at a time
  tab->cancelVariants();
  QVERIFY(!tab->isProfilingVariants());
  QVERIFY(QTest::qWaitFor([&] { return w.context()->runner().idle(); }, 120000));
  QCOMPARE(profiled.count(), 0);
  QVERIFY(!m->hasResults());

  // "Profile every variant", a tiny profile, on the worker thread.
  tab->setVariantSettings(1, 2, 0);
  auto* button = tab->findChild<QPushButton*>(QStringLiteral("profileVariantsButton"));
  QVERIFY(button && button->isEnabled());
  button->click();
  QVERIFY(tab->isProfilingVariants());
  QVERIFY(!button->isEnabled());
  QVERIFY(QTest::qWaitFor([&] { return !tab->isProfilingVariants(); }, 120000));
  QCOMPARE(profiled.count(), 1);
  QVERIFY(button->isEnabled());
  QVERIFY(m->hasResults());
  for (int col = 1; col <= 4; ++col) {
    const double fwd = m->index(VariantsModel::kForwardRow, col).data(VariantsModel::ValueRole).toDouble();
    QVERIFY2(fwd > 0, qPrintable(m->headerData(col, Qt::Horizontal).toString()));
    const double ratio = m->index(VariantsModel::kForwardRow, col).data(VariantsModel::RatioRole).toDouble();
    QVERIFY(ratio > 0);
    if (col == 1) QCOMPARE(ratio, 1.0);
    else QVERIFY2(m->index(VariantsModel::kForwardRow, col).data().toString().contains(QStringLiteral("×")), qPrintable(m->index(0, col).data().toString()));
  }
  // Per stage: Shiftmax in softmax for every column; the GELU op (ShiftGELU in A's int8-ivit)
  // only in the GELU model's columns.
  auto rowOf = [&](const QString& stage) {
    for (int r = 0; r < m->rowCount(); ++r)
      if (m->stageName(r) == stage) return r;
    return -1;
  };
  const int softmax = rowOf(QStringLiteral("softmax")), gelu = rowOf(QStringLiteral("fc1_bias_gelu_quant"));
  QVERIFY(softmax > 0 && gelu > 0 && rowOf(QStringLiteral("ln1_quant")) > 0);
  QVERIFY(m->rowCount() >= 1 + 12);
  for (int col = 1; col <= 4; ++col) QVERIFY(m->index(softmax, col).data(VariantsModel::ValueRole).toDouble() > 0);
  QVERIFY(m->index(gelu, 1).data(VariantsModel::ValueRole).toDouble() > 0);
  QVERIFY(m->index(gelu, 2).data(VariantsModel::ValueRole).toDouble() > 0);
  QVERIFY(!m->index(gelu, 3).data(VariantsModel::ValueRole).isValid());
  QVERIFY(!m->index(gelu, 4).data(VariantsModel::ValueRole).isValid());
  QVERIFY(m->provenance().contains(QStringLiteral("batch 1, 2 recorded runs")));
  // The Compare tab's CSV export carries the table after Table 2.
  const QString csv = m_tmp.filePath(QStringLiteral("variants.csv"));
  QVERIFY(tab->exportCsv(csv));
  QFile f(csv);
  QVERIFY(f.open(QIODevice::ReadOnly));
  const QString text = QString::fromUtf8(f.readAll());
  QVERIFY(text.startsWith(QStringLiteral("metric,A,B,comparison")));
  QVERIFY2(text.contains(QStringLiteral("\n\nstage,A fmnist_swin_gelu.int8.safetensors int8-gelu (us),A fmnist_swin_gelu.int8.safetensors int8-ivit (us),")),
           qPrintable(text));
  QVERIFY(text.contains(QStringLiteral("B fmnist_swin_relu.int8.safetensors int8-ivit / first")));
  QVERIFY(text.contains(QStringLiteral("\nforward_recording_off,")));
  // A new model in B drops B's columns' figures, keeps A's.
  w.context()->load(1, kSource + QStringLiteral("/assets/models/fmnist_swin_gelu.int8.safetensors"));
  QVERIFY(QTest::qWaitFor([&] { return !w.context()->isLoading(1) && w.context()->canRun(1); }, kTimeout));
  QVERIFY(QTest::qWaitFor([&] { return m->columns()[2].slot == 1 && m->columns()[2].variant == QLatin1String("int8-gelu"); }, kTimeout));
  QVERIFY(m->index(VariantsModel::kForwardRow, 1).data(VariantsModel::ValueRole).toDouble() > 0);
  QVERIFY(!m->index(VariantsModel::kForwardRow, 3).data(VariantsModel::ValueRole).isValid());
}

QTEST_MAIN(TestGuiApp)
#include "test_gui_app.moc"
