#include "gui/models/numerics_model.h"

#include <QColor>
#include <QFont>

#include <algorithm>
#include <cmath>

namespace swinscope::gui {

NumericsModel::NumericsModel(QObject* parent) : QAbstractTableModel(parent) {}

void NumericsModel::setReport(SqnrReport report) {
  beginResetModel();
  m_worst = report.worst_block();
  m_report = std::move(report);
  endResetModel();
}

void NumericsModel::clear() {
  beginResetModel();
  m_report.reset();
  m_worst = -1;
  endResetModel();
}

int NumericsModel::addedColumn() const { return kFixedColumns + static_cast<int>(sqnr_points().size()); }

int NumericsModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid() || !m_report) return 0;
  return static_cast<int>(m_report->blocks.size());
}

int NumericsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : addedColumn() + 1; }

QString NumericsModel::formatDb(double db) {
  if (std::isnan(db)) return QStringLiteral("–");
  if (std::isinf(db)) return db > 0 ? QStringLiteral("inf") : QStringLiteral("−inf");
  return QString::number(db, 'f', 1);
}

QColor NumericsModel::colorFor(double db) {
  if (std::isnan(db)) return {};
  const double t = std::isinf(db) ? (db > 0 ? 1.0 : 0.0) : std::clamp((db - 10.0) / 30.0, 0.0, 1.0);
  return QColor::fromHsvF(static_cast<float>(t / 3.0), 0.35f, 1.0f);  // hue 0 (red) → 120° (green)
}

QVariant NumericsModel::data(const QModelIndex& index, int role) const {
  if (!m_report || !index.isValid() || index.row() >= rowCount() || index.column() >= columnCount()) return {};
  const auto& b = m_report->blocks[static_cast<std::size_t>(index.row())];
  const int col = index.column();
  const bool worst = index.row() == m_worst;
  if (role == WorstRole) return worst;
  if (role == Qt::FontRole && worst) {
    QFont f;
    f.setBold(true);
    return f;
  }
  if (col < kFixedColumns) {
    if (role == Qt::DisplayRole)
      return col == 0 ? QStringLiteral("%1 (stage %2.%3)%4").arg(b.global).arg(b.stage).arg(b.index).arg(worst ? QStringLiteral("  ◀ worst") : QString())
                      : QString::fromStdString(b.activation_test);
    if (role == Qt::ToolTipRole)
      return col == 0 ? QString::fromStdString(b.prefix)
                      : tr("model: %1, reference: %2").arg(QString::fromStdString(b.activation_test), QString::fromStdString(b.activation_ref));
    return {};
  }
  double db = 0;
  QString tip;
  if (col == addedColumn()) {
    db = b.added_db();
    tip = tr("SQNR of the noise this block adds to the residual stream: Σ out² / (noise out − noise in)");
  } else {
    const auto k = static_cast<std::size_t>(col - kFixedColumns);
    const auto& c = b.cells[k];
    if (c.empty()) return role == Qt::DisplayRole ? QVariant(QStringLiteral("–")) : QVariant();
    db = c.db();
    const auto& p = sqnr_points()[k];
    tip = tr("%1 [%2]\nΣ ref² = %3, Σ (ref − test)² = %4 over %5 values")
              .arg(QString::fromUtf8(p.what), QString::fromUtf8(p.stage))
              .arg(c.signal, 0, 'g', 4)
              .arg(c.noise, 0, 'g', 4)
              .arg(static_cast<qulonglong>(c.elements));
  }
  switch (role) {
    case Qt::DisplayRole: return formatDb(db);
    case DbRole: return db;
    case Qt::ToolTipRole: return tip;
    case Qt::BackgroundRole: {
      const QColor c = colorFor(db);
      return c.isValid() ? QVariant(c) : QVariant();
    }
    case Qt::ForegroundRole: return QColor(Qt::black);  // on the light cell colours, in either theme
    case Qt::TextAlignmentRole: return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    default: return {};
  }
}

QVariant NumericsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= columnCount()) return {};
  if (section == 0) return role == Qt::DisplayRole ? QVariant(tr("Block")) : QVariant();
  if (section == 1) return role == Qt::DisplayRole ? QVariant(tr("Act.")) : QVariant();
  if (section == addedColumn()) {
    if (role == Qt::DisplayRole) return tr("added");
    if (role == Qt::ToolTipRole) return tr("SQNR of the noise the block itself adds (assumes it is uncorrelated with the incoming noise); the lowest is the worst block");
    return {};
  }
  const auto& p = sqnr_points()[static_cast<std::size_t>(section - kFixedColumns)];
  if (role == Qt::DisplayRole) return QString::fromUtf8(p.column);
  if (role == Qt::ToolTipRole) return QStringLiteral("%1 [%2]").arg(QString::fromUtf8(p.what), QString::fromUtf8(p.stage));
  return {};
}

}  // namespace swinscope::gui
