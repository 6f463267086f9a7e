#pragma once
// Profile: batch, runs, warm-up; runs A and B interleaved and draws their timelines on one
// time axis; the per-stage table (median, p10, p90, share for A and B, delta) and the
// bar chart; export the trace as Chrome JSON (Perfetto) or CSV; open a saved trace.
#include <QWidget>

#include <map>
#include <optional>
#include <vector>

#include "gui/app/app_context.h"
#include "gui/models/compare_model.h"
#include "profiler/significance.h"
#include "profiler/trace.h"

class QCheckBox;
class QDialog;
class QLineEdit;
class QComboBox;
class QTabWidget;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;

namespace swinscope::gui {

class AbDiffChart;
class AbDiffModel;
class StageChart;
class StageStatsModel;
class TimelineLegend;
class TimelineView;
class TraceSpanModel;

class ProfileTab : public QWidget {
  Q_OBJECT
 public:
  explicit ProfileTab(AppContext* ctx, QWidget* parent = nullptr);

  void setSettings(int batch, int runs, int warmup);
  int batch() const;
  int runs() const;
  int warmup() const;

  bool run();
  void cancel();
  bool isRunning() const { return m_job != 0; }

  // Loads a trace file written by this app or `swinscope-cli profile --trace`.
  bool openTrace(const QString& path);
  bool exportJson(const QString& path);
  // One CSV of every span of every trace, its first column the model (A, B or the trace's label).
  bool exportCsv(const QString& path);
  // The headline above the timeline: latencies, GELU op share, the speed-up, noise flags.
  QString summaryText() const;
  void openTraceDialog();
  void exportJsonDialog();
  void exportCsvDialog();

  TraceSpanModel* spans() const { return m_spans; }
  StageStatsModel* stats() const { return m_stats; }
  TimelineView* timeline() const { return m_timeline; }
  StageChart* chart() const { return m_chart; }
  AbDiffModel* diff() const { return m_diff; }
  AbDiffChart* diffChart() const { return m_diffChart; }
  QCheckBox* diffPerBlock() const { return m_diffPerBlock; }
  QLineEdit* findField() const { return m_find; }
  QLabel* selectionLabel() const { return m_selection; }
  // The per-stage duration histogram a click on a span opens (issue 15): its values and bins.
  void showStageHistogram(int row);
  const std::vector<double>& histogramValues() const { return m_histogramValues; }
  int histogramBins() const { return m_histogramBins; }
  QDialog* histogramDialog() const { return m_histogramDialog; }
  const std::vector<profiler::Trace>& traces() const { return m_traces; }

 signals:
  // After a profile run (not after opening a file): per slot the unrecorded median (µs).
  void profiled(const swinscope::gui::LatencySummary& latency);
  void runningChanged(bool running);
  // The profile could not start or failed: Table 2's latency rows are no longer this session's.
  void failed();

 private:
  void onProgress(quint64 job, const ProfileProgressInfo& p);
  void onFinished(quint64 job, const ProfileOutcome& outcome);
  void onJobEnded(quint64 job, bool cancelled, const QString& error);
  void setTraces(std::vector<profiler::Trace> traces, QStringList labels, std::vector<std::map<std::string, std::string>> kernels,
                 const QString& source);
  void setRunning(bool running);
  void updateRunChoices();

  AppContext* m_ctx = nullptr;
  QSpinBox* m_batch = nullptr;
  QSpinBox* m_runs = nullptr;
  QSpinBox* m_warmup = nullptr;
  QPushButton* m_run = nullptr;
  QPushButton* m_cancel = nullptr;
  QPushButton* m_exportJson = nullptr;
  QPushButton* m_exportCsv = nullptr;
  QComboBox* m_runChoice = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_summary = nullptr;
  TraceSpanModel* m_spans = nullptr;
  StageStatsModel* m_stats = nullptr;
  TimelineView* m_timeline = nullptr;
  TimelineLegend* m_legend = nullptr;
  StageChart* m_chart = nullptr;
  QTableView* m_table = nullptr;
  QTabWidget* m_bottomTabs = nullptr;
  AbDiffModel* m_diff = nullptr;
  AbDiffChart* m_diffChart = nullptr;
  QTableView* m_diffTable = nullptr;
  QCheckBox* m_diffPerBlock = nullptr;
  QLineEdit* m_find = nullptr;
  QLabel* m_findCount = nullptr;
  QLabel* m_selection = nullptr;
  QDialog* m_histogramDialog = nullptr;
  std::vector<double> m_histogramValues;
  QString m_histogramTitle;
  int m_histogramBins = 0;
  std::vector<profiler::Trace> m_traces;
  std::optional<profiler::RatioInterval> m_speedup;  // B over A, from this session's paired runs
  QStringList m_labels;
  QString m_source;
  QString m_lastDir;
  quint64 m_job = 0;
};

}  // namespace swinscope::gui
