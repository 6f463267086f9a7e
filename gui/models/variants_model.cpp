#include "gui/models/variants_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QLocale>

#include <algorithm>

#include "gui/models/compare_model.h"  // csvField
#include "gui/models/stage_style.h"

namespace swinscope::gui {

namespace {

bool sameColumn(const VariantColumn& a, const VariantColumn& b) {
  return a.slot == b.slot && a.generation == b.generation && a.variant == b.variant && a.model == b.model;
}

}  // namespace

QString VariantColumn::label() const {
  return QStringLiteral("%1 · %2 · %3").arg(slotName(slot), model, variant);
}

VariantsModel::VariantsModel(QObject* parent) : QAbstractTableModel(parent) {}

void VariantsModel::setColumns(std::vector<VariantColumn> columns) {
  // Runnable columns first (in the order given: A's, then B's), the greyed ones after them, so
  // the variants that ran stand side by side and the first column is one that ran.
  std::stable_partition(columns.begin(), columns.end(), [](const VariantColumn& c) { return c.runs; });
  for (auto& c : columns) {
    const auto old = std::find_if(m_columns.begin(), m_columns.end(), [&](const VariantColumn& o) { return sameColumn(o, c); });
    if (old != m_columns.end() && c.runs) c.figures = old->figures;
  }
  beginResetModel();
  m_columns = std::move(columns);
  rebuildRows();
  endResetModel();
}

void VariantsModel::setResults(const std::vector<VariantColumn>& measured, int batch, int runs, const QString& device) {
  beginResetModel();
  for (auto& c : m_columns) {
    const auto m = std::find_if(measured.begin(), measured.end(), [&](const VariantColumn& x) { return sameColumn(x, c); });
    c.figures = m != measured.end() && c.runs ? m->figures : VariantColumn::Figures{};
  }
  m_batch = batch;
  m_runs = runs;
  m_device = device;
  m_when = QDateTime::currentDateTime();
  rebuildRows();
  endResetModel();
}

void VariantsModel::clearResults() {
  beginResetModel();
  for (auto& c : m_columns) c.figures = {};
  rebuildRows();
  endResetModel();
}

void VariantsModel::rebuildRows() {
  m_stages.clear();
  for (const auto& c : m_columns)
    for (const auto& [k, us] : c.figures.stageUs)
      if (std::find(m_stages.begin(), m_stages.end(), k) == m_stages.end()) m_stages.push_back(k);
  // patch_embed, the twelve block stages in the paper's order, the merges, the head.
  std::stable_sort(m_stages.begin(), m_stages.end(), [](const std::string& a, const std::string& b) { return stageOrder(a) < stageOrder(b); });
}

std::vector<const VariantColumn*> VariantsModel::runnableColumns() const {
  std::vector<const VariantColumn*> out;
  for (const auto& c : m_columns)
    if (c.runs) out.push_back(&c);
  return out;
}

bool VariantsModel::hasResults() const {
  return std::any_of(m_columns.begin(), m_columns.end(), [](const VariantColumn& c) { return c.figures.forwardUs.has_value(); });
}

QString VariantsModel::stageName(int row) const {
  if (row == kForwardRow) return tr("forward (recording off)");
  const int i = row - 1;
  return i >= 0 && i < static_cast<int>(m_stages.size()) ? QString::fromStdString(m_stages[static_cast<std::size_t>(i)]) : QString();
}

QString VariantsModel::provenance() const {
  if (!hasResults()) return tr("not profiled");
  return tr("CPU backend, batch %1, %2 recorded runs per variant (interleaved), %3, at %4")
      .arg(m_batch)
      .arg(m_runs)
      .arg(m_device, m_when.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")));
}

std::optional<double> VariantsModel::value(int row, const VariantColumn& c) const {
  if (row == kForwardRow) return c.figures.forwardUs;
  const auto it = c.figures.stageUs.find(m_stages[static_cast<std::size_t>(row - 1)]);
  if (it == c.figures.stageUs.end() || !(it->second > 0)) return std::nullopt;
  return it->second;
}

const VariantColumn* VariantsModel::firstMeasured() const {
  return !m_columns.empty() && m_columns.front().runs ? &m_columns.front() : nullptr;
}

std::optional<double> VariantsModel::ratio(int row, int column) const {
  const VariantColumn* first = firstMeasured();
  const auto& c = m_columns[static_cast<std::size_t>(column)];
  if (!first || !c.runs) return std::nullopt;
  const auto a = value(row, *first);
  const auto b = value(row, c);
  if (!a || !b || *a <= 0) return std::nullopt;
  return *b / *a;
}

int VariantsModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : 1 + static_cast<int>(m_stages.size());
}

int VariantsModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : 1 + static_cast<int>(m_columns.size());
}

Qt::ItemFlags VariantsModel::flags(const QModelIndex& index) const {
  if (!index.isValid()) return Qt::NoItemFlags;
  if (index.column() == 0) return Qt::ItemIsEnabled;
  // A variant that cannot run here is drawn disabled (greyed); its tooltip says why.
  return m_columns[static_cast<std::size_t>(index.column() - 1)].runs ? Qt::ItemIsEnabled : Qt::NoItemFlags;
}

QVariant VariantsModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount()) return {};
  const int row = index.row();
  if (index.column() == 0) {
    if (role == Qt::DisplayRole) return stageName(row);
    if (role == Qt::FontRole && row == kForwardRow) {
      QFont f;
      f.setBold(true);
      return f;
    }
    if (role == Qt::ToolTipRole && row == kForwardRow)
      return tr("Median wall time of a forward pass with recording off; the rows below are median µs per forward of each stage, "
                "summed over the blocks");
    return {};
  }
  const int col = index.column() - 1;
  const auto& c = m_columns[static_cast<std::size_t>(col)];
  const auto v = c.runs ? value(row, c) : std::nullopt;
  const auto r = ratio(row, col);
  const double us = v.value_or(0.0);  // (plain doubles: GCC 12 sees optionals as maybe-uninitialized)
  const double rv = r.value_or(0.0);
  switch (role) {
    case Qt::DisplayRole: {
      if (!c.runs) return row == kForwardRow ? tr("cannot run") : QString();
      if (!c.figures.error.isEmpty()) return row == kForwardRow ? tr("failed") : QString();
      if (!c.figures.forwardUs) return row == kForwardRow ? tr("not profiled") : QString();
      if (!v) return QStringLiteral("–");
      const QString text = QLocale().toString(us, 'f', 1);
      if (col == 0 || !r) return text;
      return QStringLiteral("%1  (×%2)").arg(text, QLocale().toString(rv, 'f', 2));
    }
    case ValueRole:
      return v ? QVariant(us) : QVariant();
    case RatioRole:
      return r ? QVariant(rv) : QVariant();
    case RunsRole:
      return c.runs;
    case Qt::TextAlignmentRole:
      return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::FontRole:
      if (row == kForwardRow) {
        QFont f;
        f.setBold(true);
        return f;
      }
      return {};
    case Qt::ToolTipRole: {
      if (!c.runs) return tr("%1 cannot run %2 here: %3").arg(c.model, c.variant, c.note);
      if (!c.figures.error.isEmpty()) return c.figures.error;
      if (!c.figures.forwardUs) return tr("Profile every variant to measure %1").arg(c.label());
      if (!v) return tr("%1 has no %2 stage").arg(c.variant, stageName(row));
      QString t = tr("%1\n%2: median %3 µs per forward").arg(c.label(), stageName(row), QLocale().toString(us, 'f', 1));
      if (row == kForwardRow && c.figures.forwardSpreadUs)
        t += tr(" (p10–p90 %1–%2 µs)").arg(QLocale().toString(c.figures.forwardSpreadUs->first, 'f', 1), QLocale().toString(c.figures.forwardSpreadUs->second, 'f', 1));
      if (r && col > 0) t += tr("\n×%1 of the first column (%2)").arg(QLocale().toString(rv, 'f', 3), m_columns.front().label());
      return t;
    }
    default:
      return {};
  }
}

QVariant VariantsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= columnCount()) return QAbstractTableModel::headerData(section, orientation, role);
  if (section == 0) return role == Qt::DisplayRole ? QVariant(tr("stage (median µs per forward)")) : QVariant();
  const auto& c = m_columns[static_cast<std::size_t>(section - 1)];
  switch (role) {
    case Qt::DisplayRole:
      return QStringLiteral("%1 · %2\n%3").arg(slotName(c.slot), c.variant, c.model);
    case Qt::ToolTipRole:
      return c.runs ? tr("%1: %2").arg(c.label(), c.note) : tr("%1 cannot run %2 here: %3").arg(c.model, c.variant, c.note);
    case Qt::ForegroundRole:
      return c.runs ? QVariant(slotColour(c.slot)) : QVariant(QBrush(QColor(150, 150, 150)));
    default:
      return {};
  }
}

QString VariantsModel::toCsv() const {
  QStringList head{QStringLiteral("stage")};
  const auto cols = runnableColumns();
  for (std::size_t i = 0; i < cols.size(); ++i) {
    const QString l = QStringLiteral("%1 %2 %3").arg(slotName(cols[i]->slot), cols[i]->model, cols[i]->variant);
    head << csvField(l + QStringLiteral(" (us)"));
    if (i > 0) head << csvField(l + QStringLiteral(" / first"));
  }
  QString out = head.join(QLatin1Char(',')) + QLatin1Char('\n');
  for (int row = 0; row < rowCount(); ++row) {
    QStringList f{csvField(row == kForwardRow ? QStringLiteral("forward_recording_off") : stageName(row))};
    for (std::size_t i = 0; i < cols.size(); ++i) {
      const double v = cols[i]->figures.forwardUs ? value(row, *cols[i]).value_or(0.0) : 0.0;
      f << (v > 0 ? QString::number(v, 'g', 8) : QString());
      if (i == 0) continue;
      const double first = cols[0]->figures.forwardUs ? value(row, *cols[0]).value_or(0.0) : 0.0;
      f << (v > 0 && first > 0 ? QString::number(v / first, 'g', 6) : QString());
    }
    out += f.join(QLatin1Char(',')) + QLatin1Char('\n');
  }
  return out;
}

}  // namespace swinscope::gui
