#pragma once
// The paper's Table 2 for this machine: accuracy of A and B on the chosen dataset,
// end-to-end latency with recording off, the speed-up of B over A, and how often the two
// predict the same class.
#include <QAbstractTableModel>
#include <QDateTime>
#include <optional>

#include "gui/models/eval_models.h"
#include "profiler/significance.h"

namespace swinscope::gui {

struct CompareSlot {
  QString model;
  QString variant;
  long evaluated = 0;
  std::optional<double> top1, top5;  // [0, 1]
  std::optional<double> latencyUs;   // median forward, recording off
  int batch = 0;                     // of the latency measurement
  // Median µs per forward of the fused op the paper removes (fc1_bias_gelu_quant), from
  // the same profile; empty when the model has none (GELU-less) or was not profiled.
  std::optional<double> geluOpUs;
  std::optional<std::pair<double, double>> latencySpreadUs;  // p10 and p90 of the forward, recording off
};

// What a profile contributes to Table 2.
struct LatencySummary {
  std::optional<double> latencyUs[2];
  std::optional<std::pair<double, double>> latencySpreadUs[2];  // p10, p90 of the unrecorded runs
  std::optional<double> geluOpUs[2];
  int batch = 0;
  int runs = 0;
  // B over A from the paired unrecorded runs (profiler::bootstrap_speedup), when both ran.
  std::optional<profiler::RatioInterval> speedup;
  QStringList noise[2];  // why a slot's timing is not to be trusted (profiler::assess_noise)
  QDateTime when;        // provenance: when the profile finished
};

// "A is 18.8× faster" / "B is 1.25× faster (95 % CI 1.10–1.41×)" for a speed-up of B over A
// (latency A / latency B), ": within noise" when the interval contains 1. Never "0.053× as fast".
QString speedupSentence(double speedupOfB, const std::optional<profiler::RatioInterval>& interval,
                        const QString& labelA = QStringLiteral("A"), const QString& labelB = QStringLiteral("B"));

// One field of an RFC 4180 CSV line: quoted (quotes doubled) when it holds a comma, quote or newline.
QString csvField(QString s);

struct CompareInputs {
  CompareSlot slot[2];
  QString dataset;
  QString device;
  std::optional<PredictionAgreement> agreement;
  std::optional<profiler::McNemarTable> mcnemar;
  std::optional<profiler::RatioInterval> speedupInterval;
  // Provenance of each half: a row is only shown with where it came from.
  QDateTime evaluatedAt;  // with `dataset` and the slots' image counts
  QDateTime profiledAt;
  int runs = 0;           // of the profile
};

class CompareModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Row { ModelRow, VariantRow, ImagesRow, Top1Row, Top5Row, LatencyRow, GeluOpRow, ThroughputRow, SpeedupRow, AgreementRow, McNemarRow,
             AccuracySourceRow, LatencySourceRow, RowCount };
  enum Column { MetricColumn, AColumn, BColumn, CompareColumn, ColumnCount };
  enum Role { ValueRole = Qt::UserRole + 1 };

  explicit CompareModel(QObject* parent = nullptr);
  void setInputs(CompareInputs inputs);
  const CompareInputs& inputs() const { return m_in; }
  // B's speed-up over A (latency A / latency B) when both were measured.
  std::optional<double> speedup() const;
  // "A is 18.8× faster" / "B is 1.25× faster", with the bootstrap interval when there is one,
  // and "within noise" when that interval contains 1.
  QString speedupText() const;
  // RFC 4180 CSV with plain numbers (accuracy in %, latency in ms), one line per row.
  QString toCsv() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  QString metricName(int row) const;
  std::optional<double> number(int row, int column) const;  // what CSV and ValueRole carry
  QString text(int row, int column) const;

  CompareInputs m_in;
};

}  // namespace swinscope::gui
