#pragma once
// The spans a timeline draws: for each loaded trace (A, B, or the traces of a saved file),
// the leaf spans (stages, patch_embed, merges, head) of one run — by default the run whose
// wall time is the median — each placed in a lane: one lane per trace for the work outside
// the blocks, then one lane per block. All traces share one time axis starting at 0.
#include <QAbstractTableModel>
#include <QColor>
#include <map>
#include <string>
#include <vector>

#include "profiler/stats.h"
#include "profiler/trace.h"

namespace swinscope::gui {

class TraceSpanModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { TraceColumn, RunColumn, BlockColumn, StageColumn, ClassColumn, StartColumn, DurationColumn, ColumnCount };
  enum Role {
    StartRole = Qt::UserRole + 1,  // double, µs from the start of its run
    DurationRole,                  // double, µs
    KindRole,                      // QString: the stage kind (what stats group by)
    ColourRole,                    // QColor: the profiler palette's colour of the kind
    LaneRole,                      // int: timeline lane
    TraceRole,                     // int: index of the trace
    BlockRole,                     // int: block, -1 outside the blocks
    GeluOnlyRole,                  // bool: the op the GELU-less model removes
    MedianRole,                    // double: median µs of this block and kind over all runs
  };
  static constexpr int kMedianRun = -1;

  explicit TraceSpanModel(QObject* parent = nullptr);

  void setTraces(std::vector<profiler::Trace> traces, QStringList labels);
  void clear();
  // kMedianRun, or a run number (the trace's run field); a trace lacking it shows its median run.
  void setRun(int run);
  int run() const { return m_run; }
  void setKernels(int trace, std::map<std::string, std::string> stageToKernel);

  int traceCount() const { return static_cast<int>(m_traces.size()); }
  const profiler::Trace& trace(int i) const { return m_traces[static_cast<std::size_t>(i)].trace; }
  const profiler::TraceStats& stats(int i) const { return m_traces[static_cast<std::size_t>(i)].stats; }
  QString traceLabel(int i) const { return m_traces[static_cast<std::size_t>(i)].label; }
  int displayedRun(int i) const { return m_traces[static_cast<std::size_t>(i)].shownRun; }
  // Wall time of the displayed run of trace i (µs).
  double displayedRunUs(int i) const { return m_traces[static_cast<std::size_t>(i)].shownRunUs; }
  int runCount() const;  // the largest number of runs among the traces

  int laneCount() const { return static_cast<int>(m_lanes.size()); }
  QString laneLabel(int lane) const { return m_lanes[static_cast<std::size_t>(lane)].label; }
  int laneTrace(int lane) const { return m_lanes[static_cast<std::size_t>(lane)].trace; }
  double extentUs() const { return m_extentUs; }
  // Kinds present, in stage order (for the legend).
  std::vector<std::string> kinds() const;
  QString kernel(int trace, const std::string& kind) const;
  // A multi-line description of a span for tooltips: names, exact start and duration,
  // share of its run, the median over runs, the kernel.
  QString describe(int row) const;

  // Timeline search (issue 15): the rows whose stage name or kind contains `text`, ignoring
  // case; none for empty text.
  std::vector<int> findSpans(const QString& text) const;
  // A selected time range [t0, t1] (µs, the shared axis) of the displayed runs: per trace the
  // spans that overlap it and how much of the range each kind covers (overlap only).
  struct RangeSummary {
    double t0 = 0, t1 = 0;
    struct PerTrace {
      QString label;
      int spans = 0;
      double coveredUs = 0;
      std::vector<std::pair<std::string, double>> kinds;  // µs inside the range, largest first
    };
    std::vector<PerTrace> traces;
    double durationUs() const { return t1 - t0; }
    QString text(int topKinds = 4) const;  // one line per trace
  };
  RangeSummary summarizeRange(double t0, double t1) const;
  // Every duration (µs) of `kind` in trace `trace`, over all its runs and blocks (the
  // per-stage histogram on click).
  std::vector<double> durationsOf(int trace, const std::string& kind) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  struct Loaded {
    profiler::Trace trace;
    profiler::TraceStats stats;
    QString label;
    int shownRun = 0;
    double shownRunUs = 0;
    std::map<std::string, std::string> kernels;
    std::map<std::pair<int, std::string>, double> medianUs;  // (block, kind) → median
  };
  struct Row {
    int trace = 0;
    int span = 0;  // index into trace.spans
    int lane = 0;
  };
  struct Lane {
    int trace = 0;
    int block = -1;
    QString label;
  };
  void rebuild();

  std::vector<Loaded> m_traces;
  std::vector<Row> m_rows;
  std::vector<Lane> m_lanes;
  double m_extentUs = 0;
  int m_run = kMedianRun;
};

// The run whose wall time is the median of the trace's runs (the lower middle one for an
// even count); 0 for a trace without runs.
int medianRun(const profiler::Trace& trace);

}  // namespace swinscope::gui
