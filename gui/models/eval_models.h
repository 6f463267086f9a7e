#pragma once
// Evaluation results of A and B on one dataset, as item models: a summary (top-1, top-5,
// throughput, skipped), per-class accuracy, the skipped files with their reasons, and the
// confusion matrix of one slot.
#include <QAbstractTableModel>
#include <QHash>
#include <QImage>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/evaluate.h"
#include "profiler/significance.h"

namespace swinscope::gui {

// What one slot's evaluation produced, with what is needed to read it.
struct EvalSlotResult {
  QString model;    // shown in headers: file name or "random swin_tiny"
  QString variant;  // int8-gelu, fp32, ...
  QString device;
  EvalResult result;
  std::vector<std::string> classNames;              // label order (the model's classes)
  std::vector<std::filesystem::path> images;        // dataset order, as `result.predicted`
  std::vector<int> labels;                          // dataset labels, as `result.predicted`
};

struct PredictionAgreement {
  long compared = 0;  // images both slots classified
  long agreed = 0;    // same top-1 class name
  double rate() const { return compared ? static_cast<double>(agreed) / compared : 0; }
};
// Matches images by path (the two slots may list a dataset in different orders when their
// class lists differ) and classes by name.
PredictionAgreement predictionAgreement(const EvalSlotResult& a, const EvalSlotResult& b);
// The 2×2 right/wrong table of A and B over the images both classified (matched the same
// way), for McNemar's exact test (profiler/significance.h).
profiler::McNemarTable mcnemarTable(const EvalSlotResult& a, const EvalSlotResult& b);

// An image where A and B predict different classes (issue 15: "flipped images").
struct FlippedImage {
  QString path;      // as the dataset lists it (IDX items: the images file + "#index")
  long index = 0;    // in A's dataset order
  QString truth;     // true class, by A's class names
  QString a, b;      // each model's top-1 class
  bool aRight = false, bRight = false;
};
std::vector<FlippedImage> flippedImages(const EvalSlotResult& a, const EvalSlotResult& b);

// The flipped images with their thumbnails (made by the evaluation job, which has the pixels),
// and the 2×2 table and McNemar's exact p of the same evaluation for the header above the list.
class FlippedImagesModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { ImageColumn, TrueColumn, AColumn, BColumn, RightColumn, ColumnCount };
  enum Role { RightRole = Qt::UserRole + 1 };  // QString "A", "B" or "neither"
  explicit FlippedImagesModel(QObject* parent = nullptr);
  void setResults(const std::optional<EvalSlotResult>& a, const std::optional<EvalSlotResult>& b,
                  const QHash<QString, QImage>& thumbnails = {});
  void clear();
  const std::optional<profiler::McNemarTable>& table() const { return m_table; }
  // "A right, B wrong: 3 · A wrong, B right: 0 · both right: 43 · both wrong: 4 · McNemar exact p = 0.25 (…)"
  QString headline() const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<FlippedImage> m_rows;
  QHash<QString, QImage> m_thumbnails;
  std::optional<profiler::McNemarTable> m_table;
};

class EvalSummaryModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Row { ModelRow, VariantRow, EvaluatedRow, Top1Row, Top5Row, ThroughputRow, TimeRow, SkippedRow, RowCount };
  enum Role { ValueRole = Qt::UserRole + 1 };  // the number behind a cell (double), when there is one
  explicit EvalSummaryModel(QObject* parent = nullptr);
  void setResults(std::optional<EvalSlotResult> a, std::optional<EvalSlotResult> b);
  void clear();
  bool hasResults() const { return m_r[0].has_value() || m_r[1].has_value(); }
  const std::optional<EvalSlotResult>& result(int slot) const { return m_r[slot]; }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::optional<EvalSlotResult> m_r[2];
};

// One row per class with at least one image: class, images, A top-1, B top-1, B − A.
class PerClassAccuracyModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { ClassColumn, ImagesColumn, AccuracyAColumn, AccuracyBColumn, DeltaColumn, ColumnCount };
  enum Role { ValueRole = Qt::UserRole + 1 };  // accuracy in [0, 1] (double) or the count
  explicit PerClassAccuracyModel(QObject* parent = nullptr);
  void setResults(const std::optional<EvalSlotResult>& a, const std::optional<EvalSlotResult>& b);
  void clear();

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  struct Row {
    QString name;
    long total = 0;
    std::optional<double> acc[2];
  };
  std::vector<Row> m_rows;
};

class SkippedFilesModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column { SlotColumn, FileColumn, ReasonColumn, ColumnCount };
  explicit SkippedFilesModel(QObject* parent = nullptr);
  void setResults(const std::optional<EvalSlotResult>& a, const std::optional<EvalSlotResult>& b);
  void clear();

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  struct Row {
    int slot = 0;
    QString path;
    QString reason;
  };
  std::vector<Row> m_rows;
};

// Rows: true class, columns: predicted class; DisplayRole the count, HeatRole the count as
// a share of its row (what the heat map colours: recall on the diagonal).
class ConfusionMatrixModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Role { HeatRole = Qt::UserRole + 1, CountRole };
  explicit ConfusionMatrixModel(QObject* parent = nullptr);
  void setMatrix(std::vector<std::vector<long>> matrix, std::vector<std::string> classNames);
  void clear();
  int classCount() const { return static_cast<int>(m_matrix.size()); }

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

 private:
  std::vector<std::vector<long>> m_matrix;
  std::vector<long> m_rowTotals;
  std::vector<std::string> m_names;
};

}  // namespace swinscope::gui
