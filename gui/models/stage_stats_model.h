#pragma once
// The paper's Table 1 for A and B side by side: per stage kind, summed over the blocks of
// one forward, the median over runs with its spread (p10, p90) and the share of the forward
// (median stage / median forward: profiler/stats.h), then the
// delta B − A and the ratio. Three total rows follow: the stages covered, the recorded
// forward, and the end-to-end latency with recording off (the reference for speed-ups).
#include <QAbstractTableModel>
#include <optional>
#include <string>
#include <vector>

#include "profiler/stats.h"

namespace swinscope::gui {

class StageStatsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column {
    StageColumn, ClassColumn,
    MedianAColumn, P10AColumn, P90AColumn, ShareAColumn,
    MedianBColumn, P10BColumn, P90BColumn, ShareBColumn,
    DeltaColumn, RatioColumn, ColumnCount
  };
  enum Role {
    ValueRole = Qt::UserRole + 1,  // double behind a numeric cell
    KindRole,                      // QString: stage kind; empty on total rows
    GeluOnlyRole,                  // bool
    TotalRowRole,                  // bool
  };
  enum class Total { Covered, Recorded, Unrecorded };

  explicit StageStatsModel(QObject* parent = nullptr);
  void setStats(std::optional<profiler::TraceStats> a, std::optional<profiler::TraceStats> b, QString labelA = QStringLiteral("A"),
                QString labelB = QStringLiteral("B"));
  void clear();
  bool hasStats(int slot) const { return m_stats[slot].has_value(); }
  int kindCount() const { return static_cast<int>(m_kinds.size()); }
  const std::string& kindAt(int row) const { return m_kinds[static_cast<std::size_t>(row)]; }
  // Median µs per forward of `kind` in the slot's stats; nullopt when the slot lacks it.
  std::optional<double> medianUs(int slot, const std::string& kind) const;
  QString slotLabel(int slot) const { return m_labels[slot]; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  const profiler::KindStats* find(int slot, const std::string& kind) const;
  std::optional<double> value(int slot, int row, int stat) const;  // stat 0 median, 1 p10, 2 p90, 3 share

  std::optional<profiler::TraceStats> m_stats[2];
  QString m_labels[2] = {QStringLiteral("A"), QStringLiteral("B")};
  std::vector<std::string> m_kinds;
};

}  // namespace swinscope::gui
