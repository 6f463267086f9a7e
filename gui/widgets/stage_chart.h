#pragma once
// A horizontal bar chart (Qt Charts) of the median time per forward of each stage kind,
// A and B side by side, from a StageStatsModel. Without Qt Charts at build time it says so.
#include <QWidget>

namespace swinscope::gui {

class StageStatsModel;

class StageChart : public QWidget {
  Q_OBJECT
 public:
  explicit StageChart(QWidget* parent = nullptr);
  void setModel(StageStatsModel* model);
  // Bars drawn (categories × sets): 0 before any stats or without Qt Charts.
  int barCount() const { return m_bars; }

 protected:
  void changeEvent(QEvent* event) override;

 private:
  void rebuild();

  StageStatsModel* m_model = nullptr;
  QWidget* m_view = nullptr;
  int m_bars = 0;
};

}  // namespace swinscope::gui
