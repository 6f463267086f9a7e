#include "gui/app/compare_tab.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSaveFile>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include "gui/models/compare_model.h"
#include "gui/models/stage_style.h"
#include "gui/models/variants_model.h"
#include "profiler/stats.h"

namespace swinscope::gui {

namespace {
const QString kVariantsAction = QStringLiteral("variants");

// The variants the CPU backend runs (the variants table profiles on the CPU only).
bool runsOnCpu(Variant v) { return v != Variant::FP16 && v != Variant::Int8GeluFused; }
bool isInt8(Variant v) { return v != Variant::FP32 && v != Variant::FP16; }
}  // namespace

CompareTab::CompareTab(AppContext* ctx, QWidget* parent) : QWidget(parent), m_ctx(ctx) {
  m_model = new CompareModel(this);
  auto* lay = new QVBoxLayout(this);
  auto* buttons = new QHBoxLayout;
  auto* runAll = new QPushButton(tr("Evaluate and profile A and B"), this);
  runAll->setToolTip(tr("Runs the Evaluate tab (its dataset and settings), then the Profile tab"));
  auto* csv = new QPushButton(tr("Export CSV…"), this);
  auto* png = new QPushButton(tr("Export PNG…"), this);
  buttons->addWidget(runAll);
  auto* flipped = new QPushButton(tr("Flipped images…"), this);
  flipped->setObjectName(QStringLiteral("flippedImagesButton"));
  flipped->setToolTip(tr("The images where A and B predict different classes, with thumbnails, the 2×2 table and McNemar's test"));
  buttons->addWidget(flipped);
  connect(flipped, &QPushButton::clicked, this, &CompareTab::flippedImagesRequested);
  buttons->addStretch(1);
  buttons->addWidget(csv);
  buttons->addWidget(png);
  lay->addLayout(buttons);

  // The card is what the PNG export grabs: title, table and the conditions.
  m_card = new QWidget(this);
  m_card->setAutoFillBackground(true);
  auto* cl = new QVBoxLayout(m_card);
  auto* title = new QLabel(tr("<h3>GELU vs GELU-less on this machine (the paper's Table 2)</h3>"), m_card);
  cl->addWidget(title);
  m_table = new QTableView(m_card);
  m_table->setModel(m_model);
  m_table->verticalHeader()->hide();
  m_table->setAlternatingRowColors(true);
  m_table->setSelectionMode(QAbstractItemView::NoSelection);
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_table->horizontalHeader()->setMinimumSectionSize(110);
  m_table->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  m_table->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
  cl->addWidget(m_table);
  m_note = new QLabel(m_card);
  m_note->setWordWrap(true);
  cl->addWidget(m_note);
  // Two views: Table 2 (A against B) and the variants table, each with the tab's full height.
  m_views = new QTabWidget(this);
  m_views->setObjectName(QStringLiteral("compareViews"));
  m_views->setDocumentMode(true);
  auto* top = new QWidget(m_views);
  auto* tl = new QVBoxLayout(top);
  auto* row = new QHBoxLayout;
  row->addWidget(m_card);
  row->addStretch(1);
  tl->addLayout(row);
  tl->addStretch(1);
  m_views->addTab(top, tr("A vs B (Table 2)"));

  // The variants table (issue 16): FT-style int8-gelu, I-ViT's integer-only int8-ivit and the
  // GELU-less int8-relu side by side, per stage and end to end, on the CPU backend.
  auto* page = new QWidget(m_views);
  page->setObjectName(QStringLiteral("variantsPage"));
  m_variantsPage = page;
  auto* gl = new QVBoxLayout(page);
  gl->addWidget(new QLabel(tr("<h3>Every variant each file can run, on the CPU backend: int8 (FasterTransformer-style), "
                              "integer-only (I-ViT), GELU-less</h3>"),
                           page));
  auto* vc = new QHBoxLayout;
  m_variantsRun = new QPushButton(tr("Profile every variant"), page);
  m_variantsRun->setObjectName(QStringLiteral("profileVariantsButton"));
  m_variantsRun->setToolTip(tr("Builds a CPU plan for every variant each loaded file can run (int8-gelu, int8-relu, int8-ivit, …) "
                               "and profiles them in turns, run by run: median µs per stage and per forward, and the ratio to the first column"));
  m_variantsCancel = new QPushButton(tr("Cancel"), page);
  m_variantsCancel->setEnabled(false);
  m_variantsBatch = new QSpinBox(page);
  m_variantsBatch->setRange(1, 256);
  m_variantsBatch->setValue(8);
  m_variantsBatch->setPrefix(tr("batch "));
  m_variantsRuns = new QSpinBox(page);
  m_variantsRuns->setRange(1, 1000);
  m_variantsRuns->setValue(10);
  m_variantsRuns->setSuffix(tr(" runs"));
  m_variantsRuns->setToolTip(tr("Recorded runs per variant (each next to an unrecorded one); 2 warm-up runs first"));
  m_variantsProgress = new QProgressBar(page);
  m_variantsProgress->setRange(0, 1);
  m_variantsProgress->setValue(0);
  m_variantsProgress->setTextVisible(false);
  m_variantsProgress->setMaximumHeight(12);
  m_variantsStatus = new QLabel(page);
  vc->addWidget(m_variantsRun);
  vc->addWidget(m_variantsBatch);
  vc->addWidget(m_variantsRuns);
  vc->addWidget(m_variantsCancel);
  vc->addWidget(m_variantsProgress, 1);
  vc->addWidget(m_variantsStatus);
  gl->addLayout(vc);
  m_variants = new VariantsModel(this);
  m_variantsTable = new QTableView(page);
  m_variantsTable->setObjectName(QStringLiteral("variantsTable"));
  m_variantsTable->setModel(m_variants);
  m_variantsTable->verticalHeader()->hide();
  m_variantsTable->setAlternatingRowColors(true);
  m_variantsTable->setSelectionMode(QAbstractItemView::NoSelection);
  m_variantsTable->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_variantsTable->horizontalHeader()->setMinimumSectionSize(110);
  gl->addWidget(m_variantsTable, 1);
  m_variantsNote = new QLabel(page);
  m_variantsNote->setWordWrap(true);
  gl->addWidget(m_variantsNote);
  m_views->addTab(page, tr("Variants (CPU)"));
  lay->addWidget(m_views, 1);

  connect(runAll, &QPushButton::clicked, this, &CompareTab::runAllRequested);
  connect(csv, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Export Table 2 as CSV"), QDir(m_lastDir).filePath(QStringLiteral("swinscope-table2.csv")), tr("CSV (*.csv)"));
    if (!f.isEmpty()) exportCsv(f);
  });
  connect(png, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Export Table 2 as PNG"), QDir(m_lastDir).filePath(QStringLiteral("swinscope-table2.png")), tr("PNG (*.png)"));
    if (!f.isEmpty()) exportPng(f);
  });
  connect(m_variantsRun, &QPushButton::clicked, this, [this] { profileVariants(); });
  connect(m_variantsCancel, &QPushButton::clicked, this, &CompareTab::cancelVariants);
  connect(&m_ctx->results(), &JobResults::variantsProgress, this, &CompareTab::onVariantsProgress);
  connect(&m_ctx->results(), &JobResults::variantsFinished, this, &CompareTab::onVariantsFinished);
  connect(&m_ctx->runner(), &JobRunner::finished, this,
          [this](quint64 job, const QString&, bool cancelled, const QString& error) { onVariantsJobEnded(job, cancelled, error); });
  connect(m_ctx, &AppContext::slotChanged, this, &CompareTab::onSlotChanged);
  connect(m_ctx, &AppContext::backendKnown, this, &CompareTab::refresh);
  m_lastDir = QDir::homePath();
  planVariants();
  refresh();
}

void CompareTab::planVariants() {
  std::vector<VariantColumn> cols;
  for (int s = 0; s < kSlotCount; ++s) {
    const auto& slot = m_ctx->slot(s);
    if (!slot.model) continue;
    const bool int8File = slot.model->is_int8();
    for (const auto& vs : variant_support(*slot.model)) {
      // The other precision's variants (fp32 of an int8 file, int8-* of a float one) are not
      // variants of this file: left out rather than greyed.
      if (isInt8(vs.variant) != int8File) continue;
      VariantColumn c;
      c.slot = s;
      c.model = slot.label;
      c.variant = QString::fromUtf8(variant_name(vs.variant).data(), static_cast<int>(variant_name(vs.variant).size()));
      c.generation = slot.generation;
      c.runs = vs.runs && runsOnCpu(vs.variant);
      c.note = QString::fromStdString(vs.note);
      if (vs.runs && !runsOnCpu(vs.variant)) c.note = tr("%1 (this table profiles on the CPU backend)").arg(c.note);
      cols.push_back(std::move(c));
    }
  }
  m_variants->setColumns(std::move(cols));
  m_variantsRun->setEnabled(!m_variantsJob && !m_variants->runnableColumns().empty());
  updateVariantsNote();
}

void CompareTab::updateVariantsNote() {
  QString note;
  if (m_variants->columns().empty())
    note = tr("Load an int8 model into A and B (the bundled GELU model and its GELU-less student, say) to profile every variant they can run.");
  else
    note = tr("Median µs per forward of each stage (summed over the blocks) and of the forward with recording off, random input; "
              "(×r): ratio to the first column. int8-ivit's Shiftmax is in the softmax row, ShiftGELU in fc1_bias_gelu_quant, "
              "I-LayerNorm in ln1_quant. Greyed: cannot run here (hover for why). Measured: %1.")
               .arg(m_variants->provenance());
  if (!m_variantsNoise.isEmpty()) note += QLatin1Char(' ') + tr("<b>Noisy timing</b> (%1): close other work and profile again.").arg(m_variantsNoise.join(QStringLiteral("; ")));
  m_variantsNote->setText(note);
}

void CompareTab::showVariants() { m_views->setCurrentWidget(m_variantsPage); }

void CompareTab::setVariantSettings(int batch, int runs, int warmup) {
  m_variantsBatch->setValue(batch);
  m_variantsRuns->setValue(runs);
  m_variantsWarmup = std::max(0, warmup);
}

bool CompareTab::profileVariants() {
  if (m_variantsJob) return false;
  planVariants();
  VariantsRequest req;
  req.batch = m_variantsBatch->value();
  req.runs = m_variantsRuns->value();
  req.warmup = m_variantsWarmup;
  for (const auto* c : m_variants->runnableColumns()) {
    const auto& slot = m_ctx->slot(c->slot);
    VariantRun r;
    r.slot = c->slot;
    r.model = slot.model;
    r.generation = c->generation;
    r.label = c->model;
    r.variant = parse_variant(c->variant.toStdString());
    r.threads = slot.plans ? slot.plans->options().threads : 0;
    req.columns.push_back(std::move(r));
  }
  if (req.columns.empty()) {
    m_ctx->report(MessageBar::Level::Warning, tr("No variant can run: load an int8 model into A or B first"), kVariantsAction);
    return false;
  }
  showVariants();
  JobResults* results = &m_ctx->results();
  m_variantsJob = m_ctx->runner().submit(tr("Profiling %1 variants (batch %2, %3 runs)").arg(req.columns.size()).arg(req.batch).arg(req.runs),
                                         [req, results](const JobToken& token) {
                                           VariantsOutcome out = runVariants(req, token, [&](const ProfileProgressInfo& p) {
                                             emit results->variantsProgress(token.id(), p);
                                           });
                                           if (!token.cancelled()) emit results->variantsFinished(token.id(), out);
                                         });
  m_variantsProgress->setRange(0, 0);
  m_variantsStatus->setText(m_ctx->runner().runningId() == m_variantsJob ? tr("Starting…")
                                                                         : tr("Queued behind %1").arg(m_ctx->runner().runningLabel()));
  setVariantsRunning(true);
  return true;
}

void CompareTab::cancelVariants() {
  if (!m_variantsJob) return;
  m_ctx->runner().cancel(m_variantsJob);
  m_variantsJob = 0;
  setVariantsRunning(false);
  m_variantsProgress->setRange(0, 1);
  m_variantsProgress->setValue(0);
  m_variantsStatus->setText(tr("Cancelled"));
}

void CompareTab::setVariantsRunning(bool running) {
  m_variantsRun->setEnabled(!running && !m_variants->runnableColumns().empty());
  m_variantsCancel->setEnabled(running);
}

void CompareTab::onVariantsProgress(quint64 job, const ProfileProgressInfo& p) {
  if (job != m_variantsJob) return;
  if (p.runs > 0 && p.run > 0) {
    m_variantsProgress->setRange(0, p.runs);
    m_variantsProgress->setValue(p.run);
  }
  m_variantsStatus->setText(p.phase);
}

void CompareTab::onVariantsFinished(quint64 job, const VariantsOutcome& outcome) {
  if (job != m_variantsJob) return;
  m_variantsJob = 0;
  setVariantsRunning(false);
  m_variantsProgress->setRange(0, 1);
  m_variantsProgress->setValue(1);
  m_ctx->clearReports(kVariantsAction);
  std::vector<VariantColumn> measured;
  m_variantsNoise.clear();
  for (const auto& r : outcome.columns) {
    VariantColumn c;
    c.slot = r.slot;
    c.model = r.label;
    c.variant = r.variant;
    c.generation = r.generation;
    c.figures.error = r.error;
    if (!r.error.isEmpty())
      m_ctx->report(MessageBar::Level::Error, tr("Profiling %1 %2: %3").arg(slotName(r.slot), r.variant, r.error), kVariantsAction);
    if (r.trace) {
      const auto st = profiler::compute_stats(*r.trace);
      c.figures.forwardUs = r.trace->end_to_end_us_unrecorded;
      if (!r.unrecordedUs.empty()) {
        const auto spread = profiler::summarize(r.unrecordedUs);
        c.figures.forwardSpreadUs = std::pair(spread.p10, spread.p90);
      }
      for (const auto& k : st.kinds) c.figures.stageUs[k.kind] = k.us.median;
      const auto noise = profiler::assess_noise(st);
      if (noise.noisy && !noise.reasons.empty())
        m_variantsNoise << tr("%1 %2: %3").arg(slotName(r.slot), r.variant, QString::fromStdString(noise.reasons.front()));
    }
    measured.push_back(std::move(c));
  }
  m_variants->setResults(measured, outcome.batch, outcome.runs, outcome.device);
  updateVariantsNote();  // with the provenance
  m_variantsStatus->setText(tr("Done"));
  emit variantsProfiled();
}

void CompareTab::onVariantsJobEnded(quint64 job, bool cancelled, const QString& error) {
  if (job != m_variantsJob) return;
  m_variantsJob = 0;
  setVariantsRunning(false);
  m_variantsProgress->setRange(0, 1);
  m_variantsProgress->setValue(0);
  if (cancelled && error.isEmpty()) {
    m_variantsStatus->setText(tr("Cancelled"));
    return;
  }
  m_variantsStatus->setText(tr("Failed"));
  m_ctx->report(MessageBar::Level::Error, tr("Profiling the variants failed: %1").arg(error.isEmpty() ? tr("no result") : error), kVariantsAction);
}

void CompareTab::onSlotChanged(int slot) {
  const quint64 g = m_ctx->slot(slot).generation;
  if (g == m_generation[slot]) return;
  // Numbers measured on the model that was in the slot before no longer describe it.
  m_generation[slot] = g;
  m_latency.latencyUs[slot].reset();
  m_latency.latencySpreadUs[slot].reset();
  m_latency.geluOpUs[slot].reset();
  m_latency.noise[slot].clear();
  m_latency.speedup.reset();
  if (m_eval) m_eval->result[slot].reset();
  planVariants();  // the slot's columns follow its file; an older model's figures go
  refresh();
}

void CompareTab::setEvaluation(const EvalOutcome& outcome) {
  m_eval = outcome;
  m_evaluatedAt = QDateTime::currentDateTime();
  refresh();
}

void CompareTab::setLatency(const LatencySummary& latency) {
  m_latency = latency;
  if (!m_latency.when.isValid()) m_latency.when = QDateTime::currentDateTime();
  refresh();
}

void CompareTab::clearEvaluation() {
  m_eval.reset();
  m_evaluatedAt = {};
  refresh();
}

void CompareTab::clearLatency() {
  m_latency = {};
  refresh();
}

void CompareTab::refresh() {
  CompareInputs in;
  for (int s = 0; s < kSlotCount; ++s) {
    auto& c = in.slot[s];
    const auto& slot = m_ctx->slot(s);
    c.model = slot.label;
    if (slot.model) c.variant = QString::fromUtf8(variant_name(slot.variant).data(), static_cast<int>(variant_name(slot.variant).size()));
    if (m_eval && m_eval->result[s]) {
      const auto& r = m_eval->result[s]->result;
      c.evaluated = r.evaluated;
      if (r.evaluated > 0) {
        c.top1 = r.top1();
        c.top5 = r.top5();
      }
    }
    c.latencyUs = m_latency.latencyUs[s];
    c.latencySpreadUs = m_latency.latencySpreadUs[s];
    c.geluOpUs = m_latency.geluOpUs[s];
    c.batch = m_latency.batch;
  }
  if (m_eval) {
    in.dataset = m_eval->dataset;
    in.evaluatedAt = m_evaluatedAt;
    if (m_eval->result[0] && m_eval->result[1]) {
      in.agreement = predictionAgreement(*m_eval->result[0], *m_eval->result[1]);
      in.mcnemar = mcnemarTable(*m_eval->result[0], *m_eval->result[1]);
    }
  }
  if (m_latency.latencyUs[0] || m_latency.latencyUs[1]) {
    in.profiledAt = m_latency.when;
    in.runs = m_latency.runs;
    in.speedupInterval = m_latency.speedup;
  }
  in.device = QString::fromStdString(m_ctx->backend().device);
  m_model->setInputs(in);
  QStringList notes;
  if (!m_eval) notes << tr("Accuracy: run the Evaluate tab (or the button above).");
  if (!m_latency.latencyUs[0] && !m_latency.latencyUs[1]) notes << tr("Latency: run the Profile tab (or the button above).");
  for (int s = 0; s < kSlotCount; ++s)
    if (!m_latency.noise[s].isEmpty())
      notes << tr("<b>%1's timing is noisy</b> (%2): close other work and profile again.").arg(slotName(s), m_latency.noise[s].join(QStringLiteral("; ")));
  notes << tr("Latency is the median forward pass on random input with recording off, A and B alternating run by run; "
              "the speed-up's interval is a paired bootstrap over those runs. Accuracy, agreement and McNemar's test "
              "come from the same dataset for both models.");
  if (!m_ctx->backend().notice.empty()) notes << QString::fromStdString(m_ctx->backend().notice);
  m_note->setText(notes.join(QLatin1Char(' ')));
}

bool CompareTab::exportCsv(const QString& path) {
  QSaveFile f(path);
  // Table 2, then (once profiled) the variants table after an empty line, in one file.
  QString csv = m_model->toCsv();
  if (m_variants->hasResults()) csv += QLatin1Char('\n') + m_variants->toCsv();
  if (!f.open(QIODevice::WriteOnly | QIODevice::Text) || f.write(csv.toUtf8()) < 0 || !f.commit()) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot write %1: %2").arg(path, f.errorString()));
    return false;
  }
  m_lastDir = QFileInfo(path).absolutePath();
  m_ctx->report(MessageBar::Level::Info, tr("Table 2 written to %1").arg(path));
  return true;
}

bool CompareTab::exportPng(const QString& path) {
  // A tab never shown has never been laid out (Qt's default 100 × 30, where the variants table
  // squeezes the card to nothing): it is laid out at its preferred size first.
  if (!isVisible() && layout()) {
    resize(size().expandedTo(sizeHint()));
    layout()->activate();
  }
  const QPixmap pm = m_card->grab();
  if (pm.isNull() || !pm.save(path, "PNG")) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot write %1").arg(path));
    return false;
  }
  m_lastDir = QFileInfo(path).absolutePath();
  m_ctx->report(MessageBar::Level::Info, tr("Table 2 image written to %1").arg(path));
  return true;
}

}  // namespace swinscope::gui
