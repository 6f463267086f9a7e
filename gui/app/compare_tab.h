#pragma once
// Compare: the paper's Table 2 for this machine — accuracy of A and B on the chosen
// dataset (Evaluate tab), end-to-end latency and speed-up (Profile tab), prediction
// agreement — with one-click CSV and PNG export. Below it, the variants table (issue 16): every
// variant each slot's file can run, profiled on the CPU backend, per stage and end to end.
#include <QWidget>

#include <optional>

#include "gui/app/app_context.h"
#include "gui/models/compare_model.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;
class QTableView;

namespace swinscope::gui {

class CompareModel;
class VariantsModel;

class CompareTab : public QWidget {
  Q_OBJECT
 public:
  explicit CompareTab(AppContext* ctx, QWidget* parent = nullptr);

  CompareModel* model() const { return m_model; }
  void setEvaluation(const EvalOutcome& outcome);
  void setLatency(const swinscope::gui::LatencySummary& latency);
  // A failed evaluation / profile clears the rows it would have replaced, so Table 2 never
  // shows accuracy of one run beside latency of another without saying so.
  void clearEvaluation();
  void clearLatency();
  bool exportCsv(const QString& path);
  bool exportPng(const QString& path);
  QWidget* card() const { return m_card; }

  // The variants table: "Profile every variant" — every variant the loaded files support, each
  // in its own CPU plan, interleaved run by run, on the job runner's thread. False when nothing
  // can run or a profile is already running.
  VariantsModel* variants() const { return m_variants; }
  void setVariantSettings(int batch, int runs, int warmup);
  bool profileVariants();
  void cancelVariants();
  bool isProfilingVariants() const { return m_variantsJob != 0; }
  QTabWidget* views() const { return m_views; }
  void showVariants();

 signals:
  void runAllRequested();
  void flippedImagesRequested();  // the images A and B disagree on: Evaluate's Flipped images list
  void variantsProfiled();

 private:
  void refresh();
  void onSlotChanged(int slot);
  void planVariants();  // the columns of the loaded slots' files
  void updateVariantsNote();
  void setVariantsRunning(bool running);
  void onVariantsProgress(quint64 job, const ProfileProgressInfo& p);
  void onVariantsFinished(quint64 job, const VariantsOutcome& outcome);
  void onVariantsJobEnded(quint64 job, bool cancelled, const QString& error);

  AppContext* m_ctx = nullptr;
  CompareModel* m_model = nullptr;
  QWidget* m_card = nullptr;
  QTableView* m_table = nullptr;
  QLabel* m_note = nullptr;
  std::optional<EvalOutcome> m_eval;
  QDateTime m_evaluatedAt;
  LatencySummary m_latency;
  quint64 m_generation[2] = {0, 0};
  QString m_lastDir;
  QTabWidget* m_views = nullptr;  // Table 2 | the variants table
  QWidget* m_variantsPage = nullptr;
  VariantsModel* m_variants = nullptr;
  QTableView* m_variantsTable = nullptr;
  QSpinBox* m_variantsBatch = nullptr;
  QSpinBox* m_variantsRuns = nullptr;
  int m_variantsWarmup = 2;
  QPushButton* m_variantsRun = nullptr;
  QPushButton* m_variantsCancel = nullptr;
  QProgressBar* m_variantsProgress = nullptr;
  QLabel* m_variantsStatus = nullptr;
  QLabel* m_variantsNote = nullptr;
  QStringList m_variantsNoise;
  quint64 m_variantsJob = 0;
};

}  // namespace swinscope::gui
