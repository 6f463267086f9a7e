#include "gui/app/evaluate_tab.h"

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>
#include <filesystem>
#include <optional>

#include "engine/dataset_source.h"

#include "gui/models/eval_models.h"
#include "gui/models/stage_style.h"
#include "gui/widgets/delegates.h"

namespace swinscope::gui {

namespace {

// Messages of this tab's action: they stay until the next evaluation succeeds (issue 15 item 7).
const QString kAction = QStringLiteral("evaluate");

QString formatEta(double s) {
  if (!std::isfinite(s) || s < 0) return QStringLiteral("?");
  const long t = std::lround(s);
  if (t >= 3600) return QStringLiteral("%1:%2:%3").arg(t / 3600).arg((t / 60) % 60, 2, 10, QLatin1Char('0')).arg(t % 60, 2, 10, QLatin1Char('0'));
  return QStringLiteral("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QLatin1Char('0'));
}

QTableView* makeTable(QAbstractItemModel* model, QWidget* parent) {
  auto* t = new QTableView(parent);
  t->setModel(model);
  t->setAlternatingRowColors(true);
  t->verticalHeader()->hide();
  t->horizontalHeader()->setStretchLastSection(true);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setWordWrap(false);
  return t;
}

}  // namespace

EvaluateTab::EvaluateTab(AppContext* ctx, QWidget* parent) : QWidget(parent), m_ctx(ctx) {
  m_summary = new EvalSummaryModel(this);
  m_perClass = new PerClassAccuracyModel(this);
  m_skipped = new SkippedFilesModel(this);
  for (auto& c : m_confusion) c = new ConfusionMatrixModel(this);
  m_flipped = new FlippedImagesModel(this);

  auto* lay = new QVBoxLayout(this);
  auto* dataBox = new QGroupBox(tr("Dataset"), this);
  auto* form = new QFormLayout(dataBox);
  m_dir = new QLineEdit(dataBox);
  m_dir->setPlaceholderText(tr("ImageFolder (one folder per class), a flat folder of images with a labels file, "
                                "an IDX images file or a folder of IDX files (Fashion-MNIST)"));
  m_dir->setClearButtonEnabled(true);
  auto* browse = new QPushButton(tr("Folder…"), dataBox);
  browse->setToolTip(tr("Choose a dataset folder: an ImageFolder, a flat folder, or a folder of IDX files"));
  auto* browseFile = new QPushButton(tr("IDX file…"), dataBox);
  browseFile->setToolTip(tr("Choose an IDX images file, e.g. t10k-images-idx3-ubyte.gz (its labels file must lie beside it)"));
  auto* dirRow = new QHBoxLayout;
  dirRow->addWidget(m_dir, 1);
  dirRow->addWidget(browse);
  dirRow->addWidget(browseFile);
  form->addRow(tr("Dataset"), dirRow);
  m_labels = new QLineEdit(dataBox);
  m_labels->setPlaceholderText(tr("optional: a file of `name label` lines for a flat folder (label: index or class name)"));
  m_labels->setClearButtonEnabled(true);
  auto* browseLabels = new QPushButton(tr("Browse…"), dataBox);
  auto* labelsRow = new QHBoxLayout;
  labelsRow->addWidget(m_labels, 1);
  labelsRow->addWidget(browseLabels);
  form->addRow(tr("Labels file"), labelsRow);
  auto* runRow = new QHBoxLayout;
  m_batch = new QSpinBox(dataBox);
  m_batch->setRange(1, 1024);
  m_batch->setValue(8);
  m_batch->setToolTip(tr("Images per forward pass. Cancel takes effect between batches: keep it small for slow models."));
  m_limit = new QSpinBox(dataBox);
  m_limit->setRange(0, 100000000);
  m_limit->setSpecialValueText(tr("all"));
  m_limit->setToolTip(tr("Evaluate only the first N images (dataset order)"));
  m_run = new QPushButton(tr("Evaluate A and B"), dataBox);
  m_run->setToolTip(tr("Run both models over the dataset (Ctrl+E)"));
  m_cancel = new QPushButton(tr("Cancel"), dataBox);
  m_cancel->setEnabled(false);
  runRow->addWidget(new QLabel(tr("Batch"), dataBox));
  runRow->addWidget(m_batch);
  runRow->addSpacing(12);
  runRow->addWidget(new QLabel(tr("Limit"), dataBox));
  runRow->addWidget(m_limit);
  runRow->addStretch(1);
  runRow->addWidget(m_run);
  runRow->addWidget(m_cancel);
  form->addRow(runRow);
  lay->addWidget(dataBox);

  auto* progRow = new QHBoxLayout;
  m_progress = new QProgressBar(this);
  m_progress->setRange(0, 1000);
  m_progress->setValue(0);
  m_progress->setTextVisible(false);
  m_status = new QLabel(this);
  m_status->setMinimumWidth(360);
  progRow->addWidget(m_progress, 1);
  progRow->addWidget(m_status);
  lay->addLayout(progRow);

  auto* top = new QHBoxLayout;
  auto* summaryView = makeTable(m_summary, this);
  summaryView->setObjectName(QStringLiteral("evalSummary"));
  summaryView->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  // Eight rows: shown whole whenever the window has the height, scrolled only in a small
  // window (a fixed height made the window taller than 700 pixels: issue 15, layout).
  summaryView->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
  summaryView->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Maximum);
  summaryView->setMinimumHeight(summaryView->verticalHeader()->defaultSectionSize() * 2 + summaryView->horizontalHeader()->sizeHint().height());
  top->addWidget(summaryView, 3);
  m_notes = new QLabel(this);
  m_notes->setWordWrap(true);
  m_notes->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  m_notes->setTextInteractionFlags(Qt::TextSelectableByMouse);
  top->addWidget(m_notes, 2);
  lay->addLayout(top);

  // Per-class accuracy beside the two confusion heat maps; skipped files on their own tab.
  m_details = new QTabWidget(this);
  auto* split = new QSplitter(Qt::Horizontal, m_details);
  split->setObjectName(QStringLiteral("evaluateSplitter"));
  auto* perClassView = makeTable(m_perClass, split);
  perClassView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_heatMaps = new QWidget(split);
  auto* heatLay = new QVBoxLayout(m_heatMaps);
  heatLay->setContentsMargins(4, 0, 0, 0);
  m_confusionNote = new QLabel(m_heatMaps);
  m_confusionNote->setWordWrap(true);
  m_confusionNote->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  heatLay->addWidget(m_confusionNote);
  auto* heatRow = new QHBoxLayout;
  for (int s = 0; s < kSlotCount; ++s) {
    auto* box = new QVBoxLayout;
    m_heatTitles[s] = new QLabel(tr("%1 — rows: true class, columns: predicted").arg(slotName(s)), m_heatMaps);
    m_heatTitles[s]->setStyleSheet(QStringLiteral("color: %1; font-weight: bold;").arg(slotColour(s).name()));
    auto* view = new QTableView(m_heatMaps);
    view->setModel(m_confusion[s]);
    view->setItemDelegate(new HeatMapDelegate(ConfusionMatrixModel::HeatRole, slotColour(s), view));
    // Sized to fit (issue 15, layout): every row and column share the view, so all ten classes
    // show at once; header texts are clipped before a row is hidden (full names in tooltips).
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    view->verticalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    view->horizontalHeader()->setMinimumSectionSize(18);
    view->verticalHeader()->setMinimumSectionSize(12);
    view->setSelectionMode(QAbstractItemView::NoSelection);
    view->setShowGrid(false);
    m_heatViews[s] = view;
    view->hide();
    m_heatTitles[s]->hide();
    box->addWidget(m_heatTitles[s]);
    box->addWidget(view, 1);
    heatRow->addLayout(box);
  }
  heatLay->addLayout(heatRow, 1);
  heatLay->addStretch(0);
  split->addWidget(perClassView);
  split->addWidget(m_heatMaps);
  split->setStretchFactor(0, 2);
  split->setStretchFactor(1, 3);
  m_details->addTab(split, tr("Per-class accuracy and confusion"));
  auto* skippedView = makeTable(m_skipped, m_details);
  skippedView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  skippedView->horizontalHeader()->setStretchLastSection(true);
  m_details->addTab(skippedView, tr("Skipped files"));
  // Where A and B disagree, with the 2×2 table and McNemar's exact test above the list.
  auto* flippedBox = new QWidget(m_details);
  auto* fl = new QVBoxLayout(flippedBox);
  m_flippedHeadline = new QLabel(flippedBox);
  m_flippedHeadline->setWordWrap(true);
  m_flippedHeadline->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_flippedHeadline->setText(m_flipped->headline());
  auto* flippedView = makeTable(m_flipped, flippedBox);
  flippedView->setObjectName(QStringLiteral("flippedImages"));
  flippedView->setIconSize(QSize(48, 48));
  flippedView->verticalHeader()->setDefaultSectionSize(52);
  flippedView->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  fl->addWidget(m_flippedHeadline);
  fl->addWidget(flippedView, 1);
  m_details->addTab(flippedBox, tr("Flipped images"));
  // Room for a whole 10-class heat map at its smallest rows (12 px) before the summary gets
  // more than its two rows: the results first (issue 15, layout).
  m_details->setMinimumHeight(205);
  lay->addWidget(m_details, 1);

  connect(browse, &QPushButton::clicked, this, &EvaluateTab::browseDataset);
  connect(browseFile, &QPushButton::clicked, this, &EvaluateTab::browseDatasetFile);
  connect(browseLabels, &QPushButton::clicked, this, &EvaluateTab::browseLabels);
  connect(m_run, &QPushButton::clicked, this, &EvaluateTab::run);
  connect(m_cancel, &QPushButton::clicked, this, &EvaluateTab::cancel);
  connect(&m_ctx->results(), &JobResults::evalProgress, this, &EvaluateTab::onProgress);
  connect(&m_ctx->results(), &JobResults::evalFinished, this, &EvaluateTab::onFinished);
  connect(&m_ctx->runner(), &JobRunner::finished, this,
          [this](quint64 job, const QString&, bool cancelled, const QString& error) { onJobEnded(job, cancelled, error); });
  m_confusionNote->setText(tr("Evaluate to see where each model confuses which classes."));
}

void EvaluateTab::setDataset(const QString& dir, const QString& labelsFile) {
  m_dir->setText(dir);
  m_labels->setText(labelsFile);
}
QString EvaluateTab::datasetDir() const { return m_dir->text().trimmed(); }
QString EvaluateTab::labelsFile() const { return m_labels->text().trimmed(); }
void EvaluateTab::setBatch(int batch) { m_batch->setValue(batch); }
int EvaluateTab::batch() const { return m_batch->value(); }
void EvaluateTab::setLimit(long limit) { m_limit->setValue(static_cast<int>(std::min<long>(limit, m_limit->maximum()))); }
long EvaluateTab::limit() const { return m_limit->value(); }

void EvaluateTab::browseDataset() {
  const QString start = datasetDir().isEmpty() ? QDir::homePath() : datasetDir();
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Dataset folder"), start);
  if (!dir.isEmpty()) m_dir->setText(dir);
}

QString EvaluateTab::flippedHeadline() const { return m_flippedHeadline->text(); }
void EvaluateTab::showFlipped() { m_details->setCurrentIndex(2); }
bool EvaluateTab::flippedShown() const { return m_details->currentIndex() == 2; }

void EvaluateTab::browseDatasetFile() {
  const QString start = datasetDir().isEmpty() ? QDir::homePath() : QFileInfo(datasetDir()).absolutePath();
  const QString f = QFileDialog::getOpenFileName(this, tr("IDX images file"), start,
                                                 tr("IDX images (*-images-idx3-ubyte *-images-idx3-ubyte.gz *-images.idx3-ubyte);;All files (*)"));
  if (!f.isEmpty()) m_dir->setText(f);
}

void EvaluateTab::browseLabels() {
  const QString start = labelsFile().isEmpty() ? datasetDir() : labelsFile();
  const QString f = QFileDialog::getOpenFileName(this, tr("Labels file"), start, tr("Text files (*.txt *.csv *.tsv);;All files (*)"));
  if (!f.isEmpty()) m_labels->setText(f);
}

bool EvaluateTab::run() {
  if (m_job) return false;
  const QString dir = datasetDir();
  if (dir.isEmpty()) {
    m_ctx->report(MessageBar::Level::Warning, tr("Choose a dataset first"), kAction);
    emit failed();
    return false;
  }
  // The CLI's check (engine/dataset_source.h): the same forms accepted, the same messages.
  try {
    std::optional<std::filesystem::path> labels;
    if (!labelsFile().isEmpty()) labels = QFile::encodeName(labelsFile()).toStdString();
    check_dataset_source(QFile::encodeName(dir).toStdString(), labels);
  } catch (const std::exception& e) {
    m_ctx->report(MessageBar::Level::Error, QString::fromUtf8(e.what()), kAction);
    emit failed();
    return false;
  }
  EvalRequest req;
  req.dataDir = dir;
  req.labelsFile = labelsFile();
  req.batch = batch();
  req.limit = limit();
  req.models = m_ctx->runnableSlots();
  if (req.models.empty()) {
    m_ctx->report(MessageBar::Level::Warning, tr("No model can run: load a model into A or B first"), kAction);
    emit failed();
    return false;
  }
  JobResults* results = &m_ctx->results();
  m_job = m_ctx->runner().submit(tr("Evaluating on %1").arg(QFileInfo(dir).fileName()), [req, results](const JobToken& token) {
    EvalOutcome out = runEvaluate(req, token, [&](const EvalProgressInfo& p) { emit results->evalProgress(token.id(), p); });
    if (!token.cancelled()) emit results->evalFinished(token.id(), out);
  });
  m_lastDone = 0;
  m_progress->setValue(0);
  m_status->setText(m_ctx->runner().runningId() == m_job ? tr("Starting…") : tr("Queued behind %1").arg(m_ctx->runner().runningLabel()));
  setRunning(true);
  return true;
}

void EvaluateTab::cancel() {
  if (!m_job) return;
  m_ctx->runner().cancel(m_job);
  // From here on this job's results are ignored, whenever the worker gets to stop.
  m_job = 0;
  setRunning(false);
  m_status->setText(tr("Cancelled after %n image(s)", nullptr, static_cast<int>(m_lastDone)));
  m_ctx->report(MessageBar::Level::Info, tr("Evaluation cancelled"), kAction);
}

void EvaluateTab::setRunning(bool running) {
  m_run->setEnabled(!running);
  m_cancel->setEnabled(running);
  m_dir->setEnabled(!running);
  m_labels->setEnabled(!running);
  emit runningChanged(running);
}

void EvaluateTab::onProgress(quint64 job, const EvalProgressInfo& p) {
  if (job != m_job) return;
  if (!p.warning.isEmpty()) m_ctx->report(MessageBar::Level::Warning, p.warning, kAction);
  if (!p.phase.isEmpty()) {
    m_status->setText(p.phase);
    m_progress->setValue(p.total > 0 ? static_cast<int>(1000.0 * static_cast<double>(p.done) / static_cast<double>(p.total)) : 0);
    return;
  }
  m_lastDone = p.done;
  const double perSlot = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 1.0;
  m_progress->setValue(static_cast<int>(1000.0 * (p.slotIndex + perSlot) / std::max(1, p.slotCount)));
  m_status->setText(tr("%1: %2 / %3 images · %4 images/s · ETA %5")
                        .arg(slotName(p.slot))
                        .arg(p.done)
                        .arg(p.total)
                        .arg(p.imagesPerS, 0, 'f', 1)
                        .arg(formatEta(p.etaS)));
}

void EvaluateTab::onFinished(quint64 job, const EvalOutcome& outcome) {
  if (job != m_job) return;  // cancelled: a late result
  m_job = 0;
  setRunning(false);
  m_progress->setValue(1000);
  m_last = outcome;
  show(outcome);
  QStringList parts;
  for (int s = 0; s < kSlotCount; ++s)
    if (outcome.result[s])
      parts << tr("%1 top-1 %2 %").arg(slotName(s)).arg(100.0 * outcome.result[s]->result.top1(), 0, 'f', 2);
  m_status->setText(tr("Done: %1").arg(parts.join(QStringLiteral(", "))));
  // This action's earlier errors are over; what this run reports replaces them.
  m_ctx->clearReports(kAction);
  bool anyResult = false;
  for (int s = 0; s < kSlotCount; ++s) {
    anyResult = anyResult || outcome.result[s].has_value();
    if (!outcome.error[s].isEmpty())
      m_ctx->report(MessageBar::Level::Error, tr("Evaluation of %1: %2").arg(slotName(s), outcome.error[s]), kAction);
  }
  for (const auto& n : outcome.notes)
    if (n.contains(QLatin1String(" classes but the dataset has "))) m_ctx->report(MessageBar::Level::Warning, n, kAction);
  for (int s = 0; s < kSlotCount; ++s)
    if (outcome.result[s] && !outcome.result[s]->result.skipped.empty())
      m_ctx->report(MessageBar::Level::Warning, tr("%1 skipped %n file(s) it could not decode (see Skipped files)", nullptr,
                                                   static_cast<int>(outcome.result[s]->result.skipped.size()))
                                                    .arg(slotName(s)),
                    kAction);
  if (!anyResult) {
    emit failed();
    return;
  }
  emit evaluated(outcome);
}

void EvaluateTab::onJobEnded(quint64 job, bool cancelled, const QString& error) {
  if (job != m_job) return;
  // Ended without delivering (evalFinished clears m_job first): cancelled elsewhere, or failed.
  m_job = 0;
  setRunning(false);
  if (cancelled && error.isEmpty()) {
    m_status->setText(tr("Cancelled"));
    return;
  }
  m_status->setText(tr("Failed"));
  m_ctx->report(MessageBar::Level::Error, tr("Evaluation failed: %1").arg(error.isEmpty() ? tr("no result") : error), kAction);
  emit failed();
}

void EvaluateTab::show(const EvalOutcome& o) {
  m_summary->setResults(o.result[0], o.result[1]);
  m_perClass->setResults(o.result[0], o.result[1]);
  m_skipped->setResults(o.result[0], o.result[1]);
  m_details->setTabText(1, tr("Skipped files (%1)").arg(m_skipped->rowCount()));
  m_flipped->setResults(o.result[0], o.result[1], o.thumbnails);
  m_flippedHeadline->setText(m_flipped->headline());
  m_details->setTabText(2, tr("Flipped images (%1)").arg(m_flipped->rowCount()));
  QStringList notes;
  notes << tr("<b>Dataset:</b> %1").arg(o.dataset.toHtmlEscaped());
  for (const auto& n : o.notes) notes << tr("note: %1").arg(n.toHtmlEscaped());
  for (int s = 0; s < kSlotCount; ++s)
    if (!o.error[s].isEmpty()) notes << QStringLiteral("<span style=\"color:#c0392b\">%1: %2</span>").arg(slotName(s), o.error[s].toHtmlEscaped());
  m_notes->setText(notes.join(QStringLiteral("<br>")));
  int classes = 0;
  for (int s = 0; s < kSlotCount; ++s) {
    const auto& r = o.result[s];
    const bool show = r && !r->result.confusion.empty() && static_cast<int>(r->result.confusion.size()) <= kMaxHeatMapClasses;
    if (show) {
      m_confusion[s]->setMatrix(r->result.confusion, r->classNames);
      classes = std::max(classes, m_confusion[s]->classCount());
    } else {
      m_confusion[s]->clear();
    }
    m_heatViews[s]->setVisible(show);
    m_heatTitles[s]->setVisible(show);
  }
  if (classes > 0) m_confusionNote->setText(tr("Cell colour: share of the true class (row); the diagonal is each class's recall."));
  else {
    int modelClasses = 0;
    for (const auto& r : o.result)
      if (r) modelClasses = std::max(modelClasses, static_cast<int>(r->classNames.size()));
    m_confusionNote->setText(tr("The confusion heat map is drawn for models with at most %1 classes (this one has %2).")
                                 .arg(kMaxHeatMapClasses)
                                 .arg(modelClasses));
  }
}

}  // namespace swinscope::gui
