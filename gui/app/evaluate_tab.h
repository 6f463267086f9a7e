#pragma once
// Evaluate: a dataset (every form the CLI accepts: ImageFolder, flat folder with a labels file,
// an IDX images file or a folder of IDX files; engine/dataset_source.h), batch size and
// limit; progress with images/s, ETA and Cancel; for A and B top-1, top-5, images/s and
// the skipped files with reasons; per-class accuracy; confusion heat maps (≤ 20 classes).
#include <QWidget>

#include <optional>

#include "gui/app/app_context.h"

class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableView;
class QTabWidget;

namespace swinscope::gui {

class ConfusionMatrixModel;
class EvalSummaryModel;
class FlippedImagesModel;
class PerClassAccuracyModel;
class SkippedFilesModel;

class EvaluateTab : public QWidget {
  Q_OBJECT
 public:
  static constexpr int kMaxHeatMapClasses = 20;

  explicit EvaluateTab(AppContext* ctx, QWidget* parent = nullptr);

  void setDataset(const QString& dir, const QString& labelsFile = {});
  QString datasetDir() const;
  QString labelsFile() const;
  void setBatch(int batch);
  int batch() const;
  void setLimit(long limit);
  long limit() const;

  // Starts an evaluation of every runnable slot; false (with a message) when it cannot.
  bool run();
  void cancel();
  bool isRunning() const { return m_job != 0; }
  // Images done in the running (or last cancelled) job, as the progress bar shows.
  long progressDone() const { return m_lastDone; }

  EvalSummaryModel* summary() const { return m_summary; }
  PerClassAccuracyModel* perClass() const { return m_perClass; }
  SkippedFilesModel* skipped() const { return m_skipped; }
  ConfusionMatrixModel* confusion(int slot) const { return m_confusion[slot]; }
  FlippedImagesModel* flipped() const { return m_flipped; }
  QString flippedHeadline() const;
  void showFlipped();  // brings the Flipped images list to the front
  bool flippedShown() const;
  const std::optional<EvalOutcome>& lastOutcome() const { return m_last; }

 signals:
  void evaluated(const swinscope::gui::EvalOutcome& outcome);
  // The evaluation could not start, failed, or no slot produced a result.
  void failed();
  void runningChanged(bool running);

 private:
  void browseDataset();
  void browseDatasetFile();
  void browseLabels();
  void onProgress(quint64 job, const EvalProgressInfo& p);
  void onFinished(quint64 job, const EvalOutcome& outcome);
  void onJobEnded(quint64 job, bool cancelled, const QString& error);
  void setRunning(bool running);
  void show(const EvalOutcome& outcome);

  AppContext* m_ctx = nullptr;
  QLineEdit* m_dir = nullptr;
  QLineEdit* m_labels = nullptr;
  QSpinBox* m_batch = nullptr;
  QSpinBox* m_limit = nullptr;
  QPushButton* m_run = nullptr;
  QPushButton* m_cancel = nullptr;
  QProgressBar* m_progress = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_notes = nullptr;
  QLabel* m_confusionNote = nullptr;
  QWidget* m_heatMaps = nullptr;
  QTabWidget* m_details = nullptr;
  EvalSummaryModel* m_summary = nullptr;
  PerClassAccuracyModel* m_perClass = nullptr;
  SkippedFilesModel* m_skipped = nullptr;
  ConfusionMatrixModel* m_confusion[2] = {nullptr, nullptr};
  FlippedImagesModel* m_flipped = nullptr;
  QLabel* m_flippedHeadline = nullptr;
  QTableView* m_heatViews[2] = {nullptr, nullptr};
  QLabel* m_heatTitles[2] = {nullptr, nullptr};
  quint64 m_job = 0;
  long m_lastDone = 0;
  std::optional<EvalOutcome> m_last;
};

}  // namespace swinscope::gui
