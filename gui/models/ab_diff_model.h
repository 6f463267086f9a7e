#pragma once
// Profile's A/B diff (issue 15, as HTA's TraceDiff and Tracy's "Compare traces"): per stage
// kind — and per block × stage with setPerBlock(true) — the median of A and of B, the change
// B − A with its bootstrap interval (profiler/significance.h: paired over the interleaved runs),
// and a verdict: faster / slower when the interval excludes 0, "no clear change" otherwise,
// added / removed for a stage only one model has (the GELU op, fc1_bias_gelu_quant). Cells are
// shaded by the verdict, darker for a larger relative change.
#include <QAbstractTableModel>

#include <optional>
#include <string>
#include <vector>

#include "profiler/significance.h"
#include "profiler/stats.h"

namespace swinscope::gui {

class AbDiffModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { StageColumn, BlockColumn, ChangeColumn, MedianAColumn, MedianBColumn, DeltaColumn, IntervalColumn, RatioColumn, ColumnCount };
  enum class Change { Faster, Slower, Same, Added, Removed };
  enum Role {
    ValueRole = Qt::UserRole + 1,  // double behind a numeric cell
    ChangeRole,                    // int(Change)
    RunsARole,                     // QVariantList of µs per run (A), for the distribution view
    RunsBRole,
  };

  struct Row {
    std::string kind;
    int stage = -1;
    int block = -1;  // −1: summed over the blocks
    std::vector<double> a, b;  // µs per run; empty when the model lacks the stage
    std::optional<profiler::DeltaInterval> delta;  // both present
    Change change = Change::Same;
  };

  explicit AbDiffModel(QObject* parent = nullptr);
  void setStats(std::optional<profiler::TraceStats> a, std::optional<profiler::TraceStats> b);
  void setPerBlock(bool perBlock);
  bool perBlock() const { return m_perBlock; }
  const std::vector<Row>& rows() const { return m_rows; }
  static QString changeName(Change c);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  void rebuild();

  std::optional<profiler::TraceStats> m_stats[2];
  bool m_perBlock = false;
  std::vector<Row> m_rows;
};

}  // namespace swinscope::gui
