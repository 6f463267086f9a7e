#include "gui/app/compare_tab.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSaveFile>
#include <QTableView>
#include <QVBoxLayout>

#include "gui/models/compare_model.h"
#include "gui/models/stage_style.h"

namespace swinscope::gui {

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
  auto* row = new QHBoxLayout;
  row->addWidget(m_card);
  row->addStretch(1);
  lay->addLayout(row);
  lay->addStretch(1);

  connect(runAll, &QPushButton::clicked, this, &CompareTab::runAllRequested);
  connect(csv, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Export Table 2 as CSV"), QDir(m_lastDir).filePath(QStringLiteral("swinscope-table2.csv")), tr("CSV (*.csv)"));
    if (!f.isEmpty()) exportCsv(f);
  });
  connect(png, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Export Table 2 as PNG"), QDir(m_lastDir).filePath(QStringLiteral("swinscope-table2.png")), tr("PNG (*.png)"));
    if (!f.isEmpty()) exportPng(f);
  });
  connect(m_ctx, &AppContext::slotChanged, this, &CompareTab::onSlotChanged);
  connect(m_ctx, &AppContext::backendKnown, this, &CompareTab::refresh);
  m_lastDir = QDir::homePath();
  refresh();
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
  if (!f.open(QIODevice::WriteOnly | QIODevice::Text) || f.write(m_model->toCsv().toUtf8()) < 0 || !f.commit()) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot write %1: %2").arg(path, f.errorString()));
    return false;
  }
  m_lastDir = QFileInfo(path).absolutePath();
  m_ctx->report(MessageBar::Level::Info, tr("Table 2 written to %1").arg(path));
  return true;
}

bool CompareTab::exportPng(const QString& path) {
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
