#pragma once
// Item delegates: a probability as a bar in its slot's colour, and a heat-map cell.
#include <QStyledItemDelegate>

namespace swinscope::gui {

// Draws the value of `valueRole` (in [0, 1]) as a bar behind the cell's text; the bar's
// colour is slotColour(index.data(slotRole)), or the highlight colour without a slot.
class BarDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  BarDelegate(int valueRole, int slotRole, QObject* parent = nullptr);
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;

 private:
  int m_valueRole;
  int m_slotRole;
};

// Fills a cell by the value of `heatRole` in [0, 1], from the base colour to `colour`.
class HeatMapDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  HeatMapDelegate(int heatRole, QColor colour, QObject* parent = nullptr);
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

 private:
  int m_heatRole;
  QColor m_colour;
};

}  // namespace swinscope::gui
