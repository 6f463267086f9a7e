#pragma once
// The A/B diff's distributions (Qt Charts box plots): per stage, A's and B's durations per run
// side by side — box p25–p75 with the median, whiskers p10–p90 (the app's spread everywhere).
// Per-block rows are shown one block at a time (setBlock). Without Qt Charts it says so.
#include <QWidget>

namespace swinscope::gui {

class AbDiffModel;

class AbDiffChart : public QWidget {
  Q_OBJECT
 public:
  explicit AbDiffChart(QWidget* parent = nullptr);
  void setModel(AbDiffModel* model);
  // The block whose stages are drawn when the model is per block (−1: the summed rows).
  void setBlock(int block);
  int block() const { return m_block; }
  // Boxes drawn (stages × models with data): 0 before any diff or without Qt Charts.
  int boxCount() const { return m_boxes; }

 private:
  void rebuild();

  AbDiffModel* m_model = nullptr;
  QWidget* m_view = nullptr;
  int m_block = -1;
  int m_boxes = 0;
};

}  // namespace swinscope::gui
