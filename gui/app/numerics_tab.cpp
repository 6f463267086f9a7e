#include "gui/app/numerics_tab.h"

#include <QComboBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>
#include <filesystem>

#include "engine/dataset_source.h"
#include "gui/models/numerics_model.h"
#include "gui/models/stage_style.h"

#ifdef SWINSCOPE_HAVE_QTCHARTS
#include <QtCharts/QBarCategoryAxis>
#include <QtCharts/QBarSeries>
#include <QtCharts/QBarSet>
#include <QtCharts/QChart>
#include <QtCharts/QChartView>
#include <QtCharts/QValueAxis>
#endif

namespace swinscope::gui {

namespace {
const QString kAction = QStringLiteral("numerics");
}

NumericsTab::NumericsTab(AppContext* ctx, QWidget* parent) : QWidget(parent), m_ctx(ctx) {
  m_model = new NumericsModel(this);
  auto* lay = new QVBoxLayout(this);

  auto* row1 = new QHBoxLayout;
  m_slot = new QComboBox(this);
  m_slot->addItem(tr("A"));
  m_slot->addItem(tr("B"));
  m_slot->setToolTip(tr("The model measured: usually the int8 one"));
  m_reference = new QLineEdit(this);
  m_reference->setObjectName(QStringLiteral("numericsReference"));
  m_reference->setPlaceholderText(tr("its FP32 source (.safetensors); dequantized: its own weights in float; empty: the other slot"));
  m_reference->setClearButtonEnabled(true);
  auto* browseRef = new QPushButton(tr("Browse…"), this);
  row1->addWidget(new QLabel(tr("Measure"), this));
  row1->addWidget(m_slot);
  row1->addWidget(new QLabel(tr("against"), this));
  row1->addWidget(m_reference, 1);
  row1->addWidget(browseRef);
  lay->addLayout(row1);

  auto* row2 = new QHBoxLayout;
  m_data = new QLineEdit(this);
  m_data->setPlaceholderText(tr("dataset: ImageFolder, flat folder, IDX images file or folder"));
  m_data->setClearButtonEnabled(true);
  auto* browseData = new QPushButton(tr("Browse…"), this);
  m_images = new QSpinBox(this);
  m_images->setRange(1, 1000);
  m_images->setValue(8);
  m_images->setSuffix(tr(" images"));
  m_images->setToolTip(tr("Images run through both models, evenly spaced over the dataset"));
  m_run = new QPushButton(tr("Measure SQNR"), this);
  m_run->setObjectName(QStringLiteral("numericsRun"));
  m_cancel = new QPushButton(tr("Cancel"), this);
  m_cancel->setEnabled(false);
  row2->addWidget(new QLabel(tr("on"), this));
  row2->addWidget(m_data, 1);
  row2->addWidget(browseData);
  row2->addWidget(m_images);
  row2->addWidget(m_run);
  row2->addWidget(m_cancel);
  lay->addLayout(row2);

  m_status = new QLabel(tr("SQNR = 10·log10(Σ ref² / Σ (ref − test)²) in dB, per block and stage: higher is better, about 6 dB per bit. "
                           "Hover a cell for what it measures."),
                        this);
  m_status->setWordWrap(true);
  lay->addWidget(m_status);

  auto* split = new QSplitter(Qt::Vertical, this);
  m_table = new QTableView(split);
  m_table->setObjectName(QStringLiteral("numericsTable"));
  m_table->setModel(m_model);
  m_table->verticalHeader()->hide();
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  m_table->setWordWrap(false);
  split->addWidget(m_table);
#ifdef SWINSCOPE_HAVE_QTCHARTS
  auto* view = new QChartView(split);
  view->setRenderHint(QPainter::Antialiasing);
  view->setMinimumHeight(200);
  m_chart = view;
#else
  auto* label = new QLabel(tr("This build has no Qt Charts: the table shows the same numbers."), split);
  label->setAlignment(Qt::AlignCenter);
  m_chart = label;
#endif
  split->addWidget(m_chart);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  lay->addWidget(split, 1);

  connect(browseRef, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Reference model"), QFileInfo(referenceFile()).absolutePath(),
                                                   tr("Models (*.safetensors);;All files (*)"));
    if (!f.isEmpty()) {
      m_referenceTouched = true;
      m_reference->setText(f);
    }
  });
  connect(m_reference, &QLineEdit::textEdited, this, [this] { m_referenceTouched = true; });
  connect(browseData, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Dataset folder"), dataset());
    if (!d.isEmpty()) m_data->setText(d);
  });
  connect(m_slot, &QComboBox::currentIndexChanged, this, [this] {
    m_referenceTouched = false;  // another model measured: its own reference is guessed again
    guessReference();
  });
  connect(m_run, &QPushButton::clicked, this, [this] { run(); });
  connect(m_cancel, &QPushButton::clicked, this, &NumericsTab::cancel);
  connect(m_ctx, &AppContext::slotChanged, this, &NumericsTab::onSlotChanged);
  connect(&m_ctx->results(), &JobResults::numericsProgress, this, [this](quint64 job, const NumericsProgressInfo& p) {
    if (job == m_job) m_status->setText(tr("Measuring… image %1 of %2").arg(p.done).arg(p.total));
  });
  connect(&m_ctx->results(), &JobResults::numericsFinished, this, &NumericsTab::onFinished);
  connect(&m_ctx->runner(), &JobRunner::finished, this, [this](quint64 job, const QString&, bool cancelled, const QString& error) {
    if (job != m_job) return;  // delivered already (onFinished cleared it), or not ours
    m_job = 0;
    setRunning(false);
    if (!error.isEmpty() && !cancelled) {
      m_ctx->report(MessageBar::Level::Error, error, kAction);
      m_status->setText(tr("Failed: %1").arg(error));
      emit finished(false);
    }
  });
  connect(m_model, &QAbstractItemModel::modelReset, this, &NumericsTab::rebuildChart);
  rebuildChart();
}

void NumericsTab::setDataset(const QString& dir) { m_data->setText(dir); }
QString NumericsTab::dataset() const { return m_data->text().trimmed(); }
void NumericsTab::setTestSlot(int slot) { m_slot->setCurrentIndex(slot); }
QString NumericsTab::referenceFile() const { return m_reference->text().trimmed(); }
void NumericsTab::setImages(int n) { m_images->setValue(n); }

void NumericsTab::setReferenceFile(const QString& path) {
  m_referenceTouched = true;
  m_reference->setText(path);
}

void NumericsTab::onSlotChanged(int slot) {
  if (slot == m_slot->currentIndex()) guessReference();
  // A result describes the models it was measured on: a new model in either slot makes it stale.
  if (m_model->report()) {
    m_model->clear();
    m_status->setText(tr("A slot's model changed: measure again."));
  }
}

// X.int8.safetensors beside X.fp32.safetensors (as `quantize` names them): offer the FP32 one.
void NumericsTab::guessReference() {
  if (m_referenceTouched) return;
  const auto& s = m_ctx->slot(m_slot->currentIndex());
  QString guess;
  if (s.model && s.model->is_int8()) {
    QString src = s.source;
    if (src.endsWith(QStringLiteral(".int8.safetensors"))) {
      src.replace(src.size() - 17, 17, QStringLiteral(".fp32.safetensors"));
      if (QFileInfo::exists(src)) guess = src;
    }
    // No FP32 source beside it: its own weights dequantized (activation quantization only).
    if (guess.isEmpty()) guess = QStringLiteral("dequantized");
  }
  m_reference->setText(guess);
}

bool NumericsTab::run() {
  if (m_job) return false;
  const int slot = m_slot->currentIndex();
  if (!m_ctx->hasModel(slot)) {
    m_ctx->report(MessageBar::Level::Warning, tr("Load a model into %1 first").arg(slotName(slot)), kAction);
    return false;
  }
  NumericsRequest req;
  req.test = m_ctx->slotRun(slot);
  req.test.model = m_ctx->slot(slot).model;  // measured on the CPU whatever the slot's backend
  req.referencePath = referenceFile();
  if (req.referencePath.isEmpty()) {
    req.reference = m_ctx->slot(1 - slot).model;
    if (!req.reference) {
      m_ctx->report(MessageBar::Level::Warning,
                    tr("Choose a reference: the FP32 source file, or a model in %1").arg(slotName(1 - slot)), kAction);
      return false;
    }
  } else if (req.referencePath == QLatin1String("dequantized")) {
    if (!m_ctx->slot(slot).model->is_int8()) {
      m_ctx->report(MessageBar::Level::Warning, tr("'dequantized' needs an int8 model in %1").arg(slotName(slot)), kAction);
      return false;
    }
  } else if (!QFileInfo(req.referencePath).isFile()) {
    m_ctx->report(MessageBar::Level::Error, tr("%1: no such file").arg(req.referencePath), kAction);
    return false;
  }
  req.dataDir = dataset();
  if (req.dataDir.isEmpty()) {
    m_ctx->report(MessageBar::Level::Warning, tr("Choose a dataset first"), kAction);
    return false;
  }
  try {  // the CLI's check, on the UI thread: cheap
    check_dataset_source(QFile::encodeName(req.dataDir).toStdString());
  } catch (const std::exception& e) {
    m_ctx->report(MessageBar::Level::Error, QString::fromUtf8(e.what()), kAction);
    return false;
  }
  req.images = m_images->value();
  JobResults* results = &m_ctx->results();
  m_job = m_ctx->runner().submit(tr("Measuring SQNR of %1").arg(req.test.label), [req, results](const JobToken& token) {
    NumericsOutcome out = runNumerics(req, token, [&](const NumericsProgressInfo& p) { emit results->numericsProgress(token.id(), p); });
    if (!token.cancelled()) emit results->numericsFinished(token.id(), out);
  });
  m_status->setText(tr("Starting…"));
  setRunning(true);
  return true;
}

void NumericsTab::cancel() {
  if (!m_job) return;
  m_ctx->runner().cancel(m_job);
  m_job = 0;
  setRunning(false);
  m_status->setText(tr("Cancelled"));
}

void NumericsTab::setRunning(bool running) {
  m_run->setEnabled(!running);
  m_cancel->setEnabled(running);
}

void NumericsTab::onFinished(quint64 job, const NumericsOutcome& out) {
  if (job != m_job) return;
  m_job = 0;
  setRunning(false);
  m_model->setReport(out.report);
  m_ctx->clearReports(kAction);
  const int worst = out.report.worst_block();
  QString text = tr("%1 against %2 (%3 → %4), %5, %n image(s). Logits: %6 dB.", nullptr, static_cast<int>(out.report.images))
                     .arg(out.testLabel, out.referenceLabel, QString::fromStdString(out.report.test_kind),
                          QString::fromStdString(out.report.reference_kind), out.dataset, NumericsModel::formatDb(out.report.logits.db()));
  if (worst >= 0)
    text += QLatin1Char(' ') + tr("Worst block: %1 (%2), adding noise at %3 dB.")
                                   .arg(worst)
                                   .arg(QString::fromStdString(out.report.blocks[static_cast<std::size_t>(worst)].prefix))
                                   .arg(NumericsModel::formatDb(out.report.blocks[static_cast<std::size_t>(worst)].added_db()));
  else
    text += QLatin1Char(' ') + tr("No block adds noise: both compute the same tensors.");
  m_status->setText(text);
  emit finished(true);
}

void NumericsTab::rebuildChart() {
  m_bars = 0;
#ifdef SWINSCOPE_HAVE_QTCHARTS
  auto* view = static_cast<QChartView*>(m_chart);
  auto* chart = new QChart;
  const bool dark = palette().color(QPalette::Window).lightness() < 128;
  chart->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
  chart->setAnimationOptions(QChart::NoAnimation);
  const auto& r = m_model->report();
  if (!r) {
    chart->setTitle(tr("SQNR per block: press Measure SQNR"));
  } else {
    chart->setTitle(tr("SQNR per block (dB, higher is better; inf not drawn)"));
    auto* out = new QBarSet(tr("residual stream after the block"));
    auto* added = new QBarSet(tr("noise the block adds"));
    QStringList cats;
    double top = 10, bottom = 0;
    for (const auto& b : r->blocks) {
      cats << QString::number(b.global);
      const double o = b.output().db(), a = b.added_db();
      *out << (std::isfinite(o) ? o : 0.0);
      *added << (std::isfinite(a) ? a : 0.0);
      for (double v : {o, a})
        if (std::isfinite(v)) {
          top = std::max(top, v);
          bottom = std::min(bottom, v);
        }
      m_bars += 2;
    }
    auto* series = new QBarSeries;
    series->append(out);
    series->append(added);
    chart->addSeries(series);
    auto* x = new QBarCategoryAxis;
    x->append(cats);
    x->setTitleText(tr("block"));
    auto* y = new QValueAxis;
    y->setRange(std::floor(bottom / 10.0) * 10.0, std::ceil(top / 10.0) * 10.0);
    y->setTitleText(tr("SQNR (dB)"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
  }
  QChart* old = view->chart();
  view->setChart(chart);
  delete old;
#endif
}

}  // namespace swinscope::gui
