#include "gui/widgets/delegates.h"

#include <QApplication>
#include <QPainter>

#include <algorithm>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

BarDelegate::BarDelegate(int valueRole, int slotRole, QObject* parent)
    : QStyledItemDelegate(parent), m_valueRole(valueRole), m_slotRole(slotRole) {}

void BarDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const {
  const QVariant v = index.data(m_valueRole);
  if (!v.isValid()) return QStyledItemDelegate::paint(painter, option, index);
  QStyleOptionViewItem opt = option;
  initStyleOption(&opt, index);
  const QWidget* w = opt.widget;
  QStyle* style = w ? w->style() : QApplication::style();
  // Background and selection first, then the bar, then the text on top.
  const QString text = opt.text;
  opt.text.clear();
  style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, w);
  const double value = std::clamp(v.toDouble(), 0.0, 1.0);
  const QVariant slot = index.data(m_slotRole);
  QColor c = slot.isValid() ? slotColour(slot.toInt()) : opt.palette.color(QPalette::Highlight);
  c.setAlpha(150);
  const QRect r = opt.rect.adjusted(2, 3, -2, -3);
  painter->fillRect(QRect(r.left(), r.top(), static_cast<int>(r.width() * value), r.height()), c);
  painter->setPen(opt.palette.color(QPalette::Text));
  painter->drawText(r.adjusted(4, 0, -4, 0), Qt::AlignRight | Qt::AlignVCenter, text);
}

HeatMapDelegate::HeatMapDelegate(int heatRole, QColor colour, QObject* parent)
    : QStyledItemDelegate(parent), m_heatRole(heatRole), m_colour(colour) {}

void HeatMapDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const {
  const double v = std::clamp(index.data(m_heatRole).toDouble(), 0.0, 1.0);
  const QColor base = option.palette.color(QPalette::Base);
  auto mix = [&](int a, int b) { return static_cast<int>(a + (b - a) * v); };
  const QColor fill(mix(base.red(), m_colour.red()), mix(base.green(), m_colour.green()), mix(base.blue(), m_colour.blue()));
  painter->fillRect(option.rect, fill);
  if (index.row() == index.column()) {
    // The diagonal (correct predictions) is outlined so it reads even where it is pale.
    painter->setPen(QPen(option.palette.color(QPalette::Mid), 1));
    painter->drawRect(option.rect.adjusted(0, 0, -1, -1));
  }
  painter->setPen(fill.lightness() > 128 ? Qt::black : Qt::white);
  painter->drawText(option.rect, Qt::AlignCenter, index.data(Qt::DisplayRole).toString());
}

QSize HeatMapDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const {
  const int h = option.fontMetrics.height() + 8;
  return {std::max(h, option.fontMetrics.horizontalAdvance(QStringLiteral("00000")) + 8), h};
}

}  // namespace swinscope::gui
