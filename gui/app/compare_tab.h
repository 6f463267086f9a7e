#pragma once
// Compare: the paper's Table 2 for this machine — accuracy of A and B on the chosen
// dataset (Evaluate tab), end-to-end latency and speed-up (Profile tab), prediction
// agreement — with one-click CSV and PNG export.
#include <QWidget>

#include <optional>

#include "gui/app/app_context.h"
#include "gui/models/compare_model.h"

class QLabel;
class QTableView;

namespace swinscope::gui {

class CompareModel;

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

 signals:
  void runAllRequested();
  void flippedImagesRequested();  // the images A and B disagree on: Evaluate's Flipped images list

 private:
  void refresh();
  void onSlotChanged(int slot);

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
};

}  // namespace swinscope::gui
