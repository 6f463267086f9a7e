#include "gui/models/stage_stats_model.h"

#include <QBrush>
#include <QColor>
#include <QFont>

#include <algorithm>
#include <set>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

namespace {
constexpr int kTotalRows = 3;
}

StageStatsModel::StageStatsModel(QObject* parent) : QAbstractTableModel(parent) {}

void StageStatsModel::setStats(std::optional<profiler::TraceStats> a, std::optional<profiler::TraceStats> b, QString labelA,
                               QString labelB) {
  beginResetModel();
  m_stats[0] = std::move(a);
  m_stats[1] = std::move(b);
  m_labels[0] = std::move(labelA);
  m_labels[1] = std::move(labelB);
  std::set<std::string> seen;
  m_kinds.clear();
  for (const auto& s : m_stats)
    if (s)
      for (const auto& k : s->kinds)
        if (seen.insert(k.kind).second) m_kinds.push_back(k.kind);
  std::stable_sort(m_kinds.begin(), m_kinds.end(), [](const auto& x, const auto& y) { return stageOrder(x) < stageOrder(y); });
  endResetModel();
}

void StageStatsModel::clear() { setStats(std::nullopt, std::nullopt); }

const profiler::KindStats* StageStatsModel::find(int slot, const std::string& kind) const {
  if (!m_stats[slot]) return nullptr;
  for (const auto& k : m_stats[slot]->kinds)
    if (k.kind == kind) return &k;
  return nullptr;
}

std::optional<double> StageStatsModel::medianUs(int slot, const std::string& kind) const {
  const auto* k = find(slot, kind);
  return k ? std::optional<double>(k->us.median) : std::nullopt;
}

std::optional<double> StageStatsModel::value(int slot, int row, int stat) const {
  if (!m_stats[slot]) return std::nullopt;
  const auto& st = *m_stats[slot];
  const profiler::Summary* s = nullptr;
  double share = 0;
  if (row < kindCount()) {
    const auto* k = find(slot, kindAt(row));
    if (!k) return std::nullopt;
    s = &k->us;
    share = k->share;
  } else {
    switch (static_cast<Total>(row - kindCount())) {
      case Total::Covered:
        s = &st.covered_us;
        share = st.run_total_us.median > 0 ? st.covered_us.median / st.run_total_us.median : 0;
        break;
      case Total::Recorded:
        s = &st.run_total_us;
        share = 1;
        break;
      case Total::Unrecorded:
        // Only the median is measured (the CLI and the app keep the median of the
        // unrecorded runs); the other statistics are not shown for this row.
        if (st.end_to_end_us_unrecorded <= 0) return std::nullopt;
        if (stat != 0) return std::nullopt;
        return st.end_to_end_us_unrecorded;
    }
  }
  switch (stat) {
    case 0: return s->median;
    case 1: return s->p10;
    case 2: return s->p90;
    default: return share;
  }
}

int StageStatsModel::rowCount(const QModelIndex& parent) const {
  if (parent.isValid() || (!m_stats[0] && !m_stats[1])) return 0;
  return kindCount() + kTotalRows;
}

int StageStatsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant StageStatsModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const int row = index.row();
  const int col = index.column();
  const bool total = row >= kindCount();
  const std::string kind = total ? std::string() : kindAt(row);
  const bool gelu = !total && isGeluOnlyStage(kind);
  if (role == KindRole) return QString::fromStdString(kind);
  if (role == GeluOnlyRole) return gelu;
  if (role == TotalRowRole) return total;
  if (role == Qt::FontRole && (gelu || total)) {
    QFont f;
    f.setBold(true);
    return f;
  }
  if (role == Qt::DecorationRole && col == StageColumn && !total) return kindColour(kind);
  if (role == Qt::TextAlignmentRole) return col <= ClassColumn ? int(Qt::AlignLeft | Qt::AlignVCenter) : int(Qt::AlignRight | Qt::AlignVCenter);

  std::optional<double> v;
  if (col >= MedianAColumn && col <= ShareBColumn) {
    const int slot = col >= MedianBColumn ? 1 : 0;
    v = value(slot, row, (col - MedianAColumn) % 4);
  } else if (col == DeltaColumn || col == RatioColumn) {
    const auto a = value(0, row, 0);
    const auto b = value(1, row, 0);
    if (col == DeltaColumn) {
      // An op missing from one side counts as 0 there: that is the paper's saving.
      if ((a || b) && m_stats[0] && m_stats[1]) v = b.value_or(0) - a.value_or(0);
    } else if (a && b && *a > 0) {
      v = *b / *a;
    }
  }
  if (role == ValueRole) return v ? QVariant(*v) : QVariant();
  if (role == Qt::ForegroundRole && col == DeltaColumn && v && *v != 0)
    return QBrush(*v < 0 ? QColor(0x27, 0xae, 0x60) : QColor(0xc0, 0x39, 0x2b));
  if (role == Qt::ToolTipRole) {
    if (gelu) return tr("dequantize + bias + GELU + quantize after FC1: the fused op the GELU-less model removes");
    if (total) {
      switch (static_cast<Total>(row - kindCount())) {
        case Total::Covered: return tr("The stages above summed per forward (gaps between spans are not in any span)");
        case Total::Recorded: return tr("Wall time of a recorded forward");
        case Total::Unrecorded: return tr("Median wall time of a forward with recording off: the reference latency");
      }
    }
    return {};
  }
  if (role != Qt::DisplayRole) return {};
  if (col == StageColumn) {
    if (!total) return QString::fromStdString(kind);
    switch (static_cast<Total>(row - kindCount())) {
      case Total::Covered: return tr("all stages");
      case Total::Recorded: return tr("forward (recorded)");
      case Total::Unrecorded: return tr("end-to-end (recording off)");
    }
  }
  if (col == ClassColumn) return total ? QString() : stageClass(kind);
  if (!v) {
    const int slot = col >= MedianBColumn && col <= ShareBColumn ? 1 : 0;
    if (col >= MedianAColumn && col <= ShareBColumn && gelu && m_stats[slot]) return tr("removed");
    return QStringLiteral("–");
  }
  const bool share = col == ShareAColumn || col == ShareBColumn;
  if (share) return QString::number(100.0 * *v, 'f', 1) + QStringLiteral(" %");
  if (col == RatioColumn) return QString::number(*v, 'f', 3);
  if (col == DeltaColumn) return (*v > 0 ? QStringLiteral("+") : QString()) + QString::number(*v, 'f', 1);
  return QString::number(*v, 'f', 1);
}

QVariant StageStatsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal) return QAbstractTableModel::headerData(section, orientation, role);
  if (role == Qt::ForegroundRole) {
    if (section >= MedianAColumn && section <= ShareAColumn) return slotColour(0);
    if (section >= MedianBColumn && section <= ShareBColumn) return slotColour(1);
    return {};
  }
  if (role == Qt::ToolTipRole) {
    if (section == ShareAColumn || section == ShareBColumn)
      return m_labels[section >= MedianBColumn ? 1 : 0] + tr(": median of the stage over the median recorded forward");
    if (section >= MedianAColumn && section <= ShareBColumn)
      return m_labels[section >= MedianBColumn ? 1 : 0] +
             tr(": µs per forward, summed over the blocks; median over the runs, p10 and p90 its spread");
    if (section == DeltaColumn) return tr("median B − median A (µs); negative: B is faster");
    if (section == RatioColumn) return tr("median B / median A");
    return {};
  }
  if (role != Qt::DisplayRole) return {};
  switch (section) {
    case StageColumn: return tr("Stage");
    case ClassColumn: return tr("Type");
    case MedianAColumn: return tr("A median");
    case P10AColumn: return tr("A p10");
    case P90AColumn: return tr("A p90");
    case ShareAColumn: return tr("A share");
    case MedianBColumn: return tr("B median");
    case P10BColumn: return tr("B p10");
    case P90BColumn: return tr("B p90");
    case ShareBColumn: return tr("B share");
    case DeltaColumn: return tr("Δ median (µs)");
    case RatioColumn: return tr("B / A");
    default: return {};
  }
}

}  // namespace swinscope::gui
