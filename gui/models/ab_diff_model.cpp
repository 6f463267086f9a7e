#include "gui/models/ab_diff_model.h"

#include <QColor>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

namespace swinscope::gui {

namespace {

QString us(double v) { return QString::number(v, 'f', v < 10 ? 2 : 1); }

QString signedUs(double v) { return (v > 0 ? QStringLiteral("+") : QString()) + us(v); }

}  // namespace

AbDiffModel::AbDiffModel(QObject* parent) : QAbstractTableModel(parent) {}

void AbDiffModel::setStats(std::optional<profiler::TraceStats> a, std::optional<profiler::TraceStats> b) {
  m_stats[0] = std::move(a);
  m_stats[1] = std::move(b);
  rebuild();
}

void AbDiffModel::setPerBlock(bool perBlock) {
  if (perBlock == m_perBlock) return;
  m_perBlock = perBlock;
  rebuild();
}

QString AbDiffModel::changeName(Change c) {
  switch (c) {
    case Change::Faster: return tr("faster");
    case Change::Slower: return tr("slower");
    case Change::Same: return tr("no clear change");
    case Change::Added: return tr("added in B");
    case Change::Removed: return tr("removed in B");
  }
  return {};
}

void AbDiffModel::rebuild() {
  beginResetModel();
  m_rows.clear();
  if (m_stats[0] && m_stats[1]) {
    // Rows keyed by (block, stage, kind) so both models' stages interleave in forward order.
    std::map<std::tuple<int, int, std::string>, Row> rows;
    for (int s = 0; s < 2; ++s) {
      auto put = [&](int block, int stage, const std::string& kind, const std::vector<double>& per_run) {
        Row& r = rows[{block, stage < 0 ? 1 << 30 : stage, kind}];
        r.kind = kind;
        r.stage = stage;
        r.block = block;
        (s == 0 ? r.a : r.b) = per_run;
      };
      if (m_perBlock) {
        for (const auto& k : m_stats[s]->block_kinds)
          if (k.block >= 0) put(k.block, k.stage, k.kind, k.per_run_us);
      } else {
        for (const auto& k : m_stats[s]->kinds) put(-1, k.stage, k.kind, k.per_run_us);
      }
    }
    for (auto& [key, r] : rows) {
      if (r.a.empty()) {
        r.change = Change::Added;
      } else if (r.b.empty()) {
        r.change = Change::Removed;
      } else {
        r.delta = profiler::bootstrap_median_delta(r.a, r.b);
        r.change = !r.delta->significant() ? Change::Same : (r.delta->estimate < 0 ? Change::Faster : Change::Slower);
      }
      m_rows.push_back(std::move(r));
    }
  }
  endResetModel();
}

int AbDiffModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : static_cast<int>(m_rows.size()); }
int AbDiffModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

QVariant AbDiffModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount) return {};
  const Row& r = m_rows[static_cast<std::size_t>(index.row())];
  auto median = [](const std::vector<double>& v) { return profiler::summarize(v).median; };
  auto toList = [](const std::vector<double>& v) {
    QVariantList l;
    for (double x : v) l << x;
    return l;
  };
  if (role == ChangeRole) return static_cast<int>(r.change);
  if (role == RunsARole) return toList(r.a);
  if (role == RunsBRole) return toList(r.b);
  const int col = index.column();
  std::optional<double> value;
  switch (col) {
    case MedianAColumn:
      if (!r.a.empty()) value = median(r.a);
      break;
    case MedianBColumn:
      if (!r.b.empty()) value = median(r.b);
      break;
    case DeltaColumn:
      if (r.delta) value = r.delta->estimate;
      else if (!r.a.empty()) value = -median(r.a);  // removed: all of A's time goes
      else if (!r.b.empty()) value = median(r.b);
      break;
    case RatioColumn:
      if (!r.a.empty() && !r.b.empty() && median(r.a) > 0) value = median(r.b) / median(r.a);
      break;
    default: break;
  }
  switch (role) {
    case Qt::DisplayRole:
      switch (col) {
        case StageColumn: return QString::fromStdString(r.kind);
        case BlockColumn: return r.block < 0 ? tr("all") : QString::number(r.block);
        case ChangeColumn: return changeName(r.change);
        case IntervalColumn:
          return r.delta ? QStringLiteral("[%1, %2]").arg(signedUs(r.delta->lo), signedUs(r.delta->hi)) : QStringLiteral("–");
        case DeltaColumn: return value ? signedUs(*value) : QStringLiteral("–");
        case RatioColumn: return value ? QStringLiteral("%1×").arg(*value, 0, 'f', 2) : QStringLiteral("–");
        default: return value ? us(*value) : QStringLiteral("–");
      }
    case ValueRole:
      return value ? QVariant(*value) : QVariant();
    case Qt::TextAlignmentRole:
      return col >= MedianAColumn ? QVariant(Qt::AlignRight | Qt::AlignVCenter) : QVariant(Qt::AlignLeft | Qt::AlignVCenter);
    case Qt::ToolTipRole:
      if (r.change == Change::Added) return tr("Only B runs %1").arg(QString::fromStdString(r.kind));
      if (r.change == Change::Removed) return tr("Only A runs %1 (the GELU-less model removes the GELU op)").arg(QString::fromStdString(r.kind));
      if (r.delta)
        return tr("median B − median A = %1 µs; %2 % bootstrap interval [%3, %4] over %5 resamples (%6); %7")
            .arg(signedUs(r.delta->estimate))
            .arg(std::lround(100 * r.delta->level))
            .arg(signedUs(r.delta->lo), signedUs(r.delta->hi))
            .arg(r.delta->resamples)
            .arg(r.delta->paired ? tr("paired runs") : tr("unpaired"))
            .arg(r.delta->significant() ? tr("the interval excludes 0") : tr("the interval contains 0: noise"));
      return {};
    case Qt::BackgroundRole: {
      if (col != ChangeColumn && col != DeltaColumn) return {};
      if (r.change == Change::Added) return QColor(120, 160, 255, 90);
      if (r.change == Change::Removed) return QColor(160, 160, 160, 110);
      if (r.change == Change::Same || !r.delta) return {};
      // Darker for a larger relative change (|Δ| / median A, full at 50 %).
      const double ma = median(r.a);
      const double rel = ma > 0 ? std::min(1.0, std::fabs(r.delta->estimate) / ma / 0.5) : 1.0;
      const int alpha = 50 + static_cast<int>(150 * rel);
      return r.change == Change::Faster ? QColor(40, 170, 60, alpha) : QColor(220, 50, 40, alpha);
    }
    default: return {};
  }
}

QVariant AbDiffModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || section < 0 || section >= ColumnCount) return {};
  if (role == Qt::DisplayRole) {
    switch (section) {
      case StageColumn: return tr("Stage");
      case BlockColumn: return tr("Block");
      case ChangeColumn: return tr("Change");
      case MedianAColumn: return tr("A median µs");
      case MedianBColumn: return tr("B median µs");
      case DeltaColumn: return tr("Δ B − A µs");
      case IntervalColumn: return tr("95 % interval");
      case RatioColumn: return tr("B / A");
      default: return {};
    }
  }
  if (role == Qt::ToolTipRole && section == IntervalColumn)
    return tr("Percentile bootstrap of the median difference, A's and B's run i resampled together (they ran back to back)");
  return {};
}

}  // namespace swinscope::gui
