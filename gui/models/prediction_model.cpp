#include "gui/models/prediction_model.h"

#include <QColor>

#include <algorithm>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

PredictionModel::PredictionModel(QObject* parent) : QAbstractTableModel(parent) {}

void PredictionModel::setPredictions(std::optional<std::vector<TopK>> a, std::optional<std::vector<TopK>> b) {
  beginResetModel();
  m_top[0] = std::move(a);
  m_top[1] = std::move(b);
  endResetModel();
}

void PredictionModel::clear() { setPredictions(std::nullopt, std::nullopt); }

void PredictionModel::setSlotTitles(const QString& a, const QString& b) {
  m_titles[0] = a;
  m_titles[1] = b;
  emit headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
}

const TopK* PredictionModel::at(int slot, int row) const {
  const auto& t = m_top[slot];
  if (!t || row < 0 || row >= static_cast<int>(t->size())) return nullptr;
  return &(*t)[static_cast<std::size_t>(row)];
}

PredictionModel::Agreement PredictionModel::agreementAt(int row) const {
  const TopK* a = at(0, row);
  const TopK* b = at(1, row);
  if (!a || !m_top[1]) return Agreement::None;
  if (b && b->name == a->name) return Agreement::SameRank;
  const auto& tb = *m_top[1];
  if (std::any_of(tb.begin(), tb.end(), [&](const TopK& t) { return t.name == a->name; })) return Agreement::OtherRank;
  return Agreement::None;
}

bool PredictionModel::top1Agrees() const { return agreementAt(0) == Agreement::SameRank; }

int PredictionModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid()) return 0;
  std::size_t n = 0;
  for (const auto& t : m_top)
    if (t) n = std::max(n, t->size());
  return static_cast<int>(n);
}

int PredictionModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant PredictionModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const int row = index.row();
  const int col = index.column();
  if (col == RankColumn) {
    if (role == Qt::DisplayRole) return row + 1;
    if (role == Qt::TextAlignmentRole) return int(Qt::AlignCenter);
    return {};
  }
  if (col == AgreeColumn) {
    const Agreement ag = agreementAt(row);
    switch (role) {
      case Qt::DisplayRole: return ag == Agreement::SameRank ? QStringLiteral("✓") : ag == Agreement::OtherRank ? QStringLiteral("↕") : QString();
      case Qt::TextAlignmentRole: return int(Qt::AlignCenter);
      case AgreementRole: return static_cast<int>(ag);
      case Qt::ToolTipRole: {
        if (ag == Agreement::SameRank) return tr("A and B both rank this class %1").arg(row + 1);
        if (ag == Agreement::OtherRank) {
          const TopK* a = at(0, row);
          const auto& tb = *m_top[1];
          const auto it = std::find_if(tb.begin(), tb.end(), [&](const TopK& t) { return t.name == a->name; });
          return tr("B ranks A's class %1 at %2").arg(QString::fromStdString(a->name)).arg(it - tb.begin() + 1);
        }
        return {};
      }
      default: return {};
    }
  }
  const int slot = (col == ClassAColumn || col == ProbabilityAColumn) ? 0 : 1;
  const TopK* t = at(slot, row);
  if (role == SlotRole) return slot;
  if (!t) return {};
  const bool prob = col == ProbabilityAColumn || col == ProbabilityBColumn;
  switch (role) {
    case Qt::DisplayRole:
      if (prob) return QString::number(100.0 * t->probability, 'f', 1) + QStringLiteral(" %");
      return QString::fromStdString(t->name);
    case ProbabilityRole: return prob ? QVariant(t->probability) : QVariant();
    case Qt::ToolTipRole:
      return tr("%1: class %2 (index %3)\nprobability %4, logit %5")
          .arg(slotName(slot), QString::fromStdString(t->name))
          .arg(t->index)
          .arg(static_cast<double>(t->probability), 0, 'g', 6)
          .arg(static_cast<double>(t->logit), 0, 'g', 6);
    case Qt::TextAlignmentRole: return prob ? int(Qt::AlignRight | Qt::AlignVCenter) : int(Qt::AlignLeft | Qt::AlignVCenter);
    default: return {};
  }
}

QVariant PredictionModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ToolTipRole && (section == ClassAColumn || section == ProbabilityAColumn)) return m_titles[0];
  if (role == Qt::ToolTipRole && (section == ClassBColumn || section == ProbabilityBColumn)) return m_titles[1];
  if (role == Qt::ForegroundRole) {
    if (section == ClassAColumn || section == ProbabilityAColumn) return slotColour(0);
    if (section == ClassBColumn || section == ProbabilityBColumn) return slotColour(1);
    return {};
  }
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case RankColumn: return tr("#");
    case ClassAColumn: return tr("A class");
    case ProbabilityAColumn: return tr("A probability");
    case AgreeColumn: return tr("agree");
    case ClassBColumn: return tr("B class");
    case ProbabilityBColumn: return tr("B probability");
    default: return {};
  }
}

}  // namespace swinscope::gui
