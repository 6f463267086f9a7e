#include "gui/widgets/timeline_view.h"

#include <QHelpEvent>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

#include "gui/models/stage_style.h"
#include "gui/models/trace_span_model.h"

namespace swinscope::gui {

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setAttribute(Qt::WA_OpaquePaintEvent);
  // Vertically at least every lane at its smallest (sizeHint); more when the window has it (fitLanes).
  setSizePolicy(QSizePolicy::Expanding, QSizePolicy::MinimumExpanding);
  m_map.x0 = m_labelWidth;
}

void TimelineView::setModel(TraceSpanModel* model) {
  if (m_model) disconnect(m_model, nullptr, this, nullptr);
  m_model = model;
  if (m_model) {
    connect(m_model, &QAbstractItemModel::modelReset, this, &TimelineView::modelChanged);
    connect(m_model, &QAbstractItemModel::dataChanged, this, qOverload<>(&QWidget::update));
  }
  modelChanged();
}

void TimelineView::setSearch(const QString& text) {
  m_search = text;
  m_matches = m_model ? m_model->findSpans(text) : std::vector<int>{};
  update();
}

bool TimelineView::isMatch(int row) const { return std::binary_search(m_matches.begin(), m_matches.end(), row); }

void TimelineView::setSelection(double t0, double t1) {
  m_selT0 = std::min(t0, t1);
  m_selT1 = std::max(t0, t1);
  update();
  emit selectionChanged();
}

void TimelineView::clearSelection() {
  if (!hasSelection()) return;
  m_selT0 = m_selT1 = 0;
  update();
  emit selectionChanged();
}

void TimelineView::modelChanged() {
  m_hover = -1;
  m_matches = m_model ? m_model->findSpans(m_search) : std::vector<int>{};
  m_selT0 = m_selT1 = 0;
  m_map.setExtent(0, m_model && m_model->extentUs() > 0 ? m_model->extentUs() : 1.0);
  updateGeometry();
  adjustSize();
  fitLanes();
  layoutArea();
  update();
  emit viewChanged();
}

QSize TimelineView::sizeHint() const {
  const int lanes = m_model ? m_model->laneCount() : 0;
  const int traces = m_model ? m_model->traceCount() : 0;
  const int h = m_rulerHeight + lanes * (kMinLaneHeight + m_laneGap) + std::max(0, traces - 1) * m_traceGap + 8;
  return {800, std::max(h, 160)};
}

QSize TimelineView::minimumSizeHint() const { return {m_labelWidth + 200, sizeHint().height()}; }

void TimelineView::layoutArea() const {
  const double w = std::max(1, width() - m_labelWidth - 8);
  if (m_map.x0 == m_labelWidth && m_map.width == w) return;
  m_map.x0 = m_labelWidth;
  m_map.width = w;
  m_map.clamp();
}

void TimelineView::resizeEvent(QResizeEvent*) {
  fitLanes();
  layoutArea();
  emit viewChanged();
}

void TimelineView::fitLanes() {
  // Lanes share the height the window gives the timeline (its scroll area stretches it): no
  // empty band under a short trace, and SWIN-T's 12 block rows fit without scrolling when
  // the window is tall enough. Below kMinLaneHeight the scroll area scrolls instead.
  const int lanes = m_model ? m_model->laneCount() : 0;
  const int traces = m_model ? m_model->traceCount() : 0;
  if (lanes > 0) {
    const int fixed = m_rulerHeight + lanes * m_laneGap + std::max(0, traces - 1) * m_traceGap + 8;
    m_laneHeight = std::clamp((height() - fixed) / lanes, kMinLaneHeight, kMaxLaneHeight);
  }
}

int TimelineView::laneTop(int lane) const {
  const int trace = m_model ? m_model->laneTrace(lane) : 0;
  return m_rulerHeight + lane * (m_laneHeight + m_laneGap) + trace * m_traceGap;
}

QRectF TimelineView::spanRect(int row) const {
  if (!m_model || row < 0 || row >= m_model->rowCount()) return {};
  layoutArea();
  const auto i = m_model->index(row, 0);
  const double start = i.data(TraceSpanModel::StartRole).toDouble();
  const double dur = i.data(TraceSpanModel::DurationRole).toDouble();
  const int lane = i.data(TraceSpanModel::LaneRole).toInt();
  double x1 = m_map.mapTimeToX(start);
  double x2 = m_map.mapTimeToX(start + dur);
  const double left = m_map.x0, right = m_map.x0 + m_map.width;
  if (x2 < left || x1 > right) return {};
  x1 = std::max(x1, left);
  x2 = std::min(x2, right);
  // Spans narrower than a pixel still show (and can be hovered) as one pixel.
  if (x2 - x1 < 1) x2 = x1 + 1;
  return QRectF(x1, laneTop(lane), x2 - x1, m_laneHeight);
}

int TimelineView::spanAt(const QPoint& pos) const {
  if (!m_model || pos.x() < m_map.x0) return -1;
  // Nearest span within 2 px: short spans in a zoomed-out view stay reachable.
  int best = -1;
  double bestDist = 3;
  for (int r = 0; r < m_model->rowCount(); ++r) {
    const QRectF rect = spanRect(r);
    if (rect.isEmpty() || pos.y() < rect.top() || pos.y() > rect.bottom()) continue;
    const double d = pos.x() < rect.left() ? rect.left() - pos.x() : pos.x() > rect.right() ? pos.x() - rect.right() : 0;
    if (d < bestDist) {
      bestDist = d;
      best = r;
      if (d == 0) break;
    }
  }
  return best;
}

void TimelineView::fitAll() {
  m_map.fitAll();
  update();
  emit viewChanged();
}

void TimelineView::zoomBy(double factor, double anchorX) {
  layoutArea();
  m_map.zoom(factor, anchorX);
  update();
  emit viewChanged();
}

void TimelineView::panBy(double dx) {
  layoutArea();
  m_map.pan(dx);
  update();
  emit viewChanged();
}

double TimelineView::tickStep() const {
  // 1-2-5 steps at least ~90 px apart.
  const double minUs = 90.0 / std::max(1e-12, m_map.pixelsPerUs());
  const double mag = std::pow(10.0, std::floor(std::log10(minUs)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= minUs) return m * mag;
  return 10 * mag;
}

void TimelineView::drawRuler(QPainter& p) {
  const QPalette& pal = palette();
  p.fillRect(QRect(0, 0, width(), m_rulerHeight - 4), pal.color(QPalette::Window));
  p.setPen(pal.color(QPalette::WindowText));
  const double step = tickStep();
  const double t0 = std::floor(m_map.timeStart / step) * step;
  const double tEnd = m_map.timeStart + m_map.timeSpan;
  QFont f = font();
  f.setPointSizeF(f.pointSizeF() * 0.9);
  p.setFont(f);
  for (double t = t0; t <= tEnd + step * 0.5; t += step) {
    const double x = m_map.mapTimeToX(t);
    if (x < m_map.x0 - 0.5 || x > m_map.x0 + m_map.width + 0.5) continue;
    p.drawLine(QPointF(x, m_rulerHeight - 10), QPointF(x, m_rulerHeight - 4));
    const double minor = m_map.mapTimeToX(t + step / 2);
    if (minor <= m_map.x0 + m_map.width) p.drawLine(QPointF(minor, m_rulerHeight - 7), QPointF(minor, m_rulerHeight - 4));
    const QString label = std::abs(t) < step * 1e-6 ? QStringLiteral("0") : formatDuration(t);
    p.drawText(QRectF(x - 60, 0, 120, m_rulerHeight - 10), Qt::AlignHCenter | Qt::AlignBottom, label);
  }
  p.drawLine(QPointF(m_map.x0, m_rulerHeight - 4), QPointF(m_map.x0 + m_map.width, m_rulerHeight - 4));
  p.drawText(QRect(4, 0, m_labelWidth - 8, m_rulerHeight - 6), Qt::AlignLeft | Qt::AlignVCenter,
             tr("%1 shown").arg(formatDuration(m_map.timeSpan)));
}

QString TimelineView::placeholderText() {
  return tr("Profile A and B (the button above, Run ▸ Profile A and B, or Ctrl+P) or open a saved trace "
            "(File ▸ Open trace…) to see per-block timelines.");
}

void TimelineView::paintEvent(QPaintEvent*) {
  layoutArea();
  QPainter p(this);
  const QPalette& pal = palette();
  p.fillRect(rect(), pal.color(QPalette::Base));
  if (!m_model || m_model->rowCount() == 0) {
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap,
               placeholderText());
    return;
  }
  drawRuler(p);
  // Lanes: alternating stripes, labels in the trace's colour.
  for (int lane = 0; lane < m_model->laneCount(); ++lane) {
    const int y = laneTop(lane);
    if (lane % 2) p.fillRect(QRect(0, y - 1, width(), m_laneHeight + 2), pal.color(QPalette::AlternateBase));
    const int trace = m_model->laneTrace(lane);
    p.fillRect(QRect(0, y, 4, m_laneHeight), slotColour(trace % 2));
    p.setPen(pal.color(QPalette::Text));
    p.drawText(QRect(8, y, m_labelWidth - 12, m_laneHeight), Qt::AlignLeft | Qt::AlignVCenter,
               p.fontMetrics().elidedText(m_model->laneLabel(lane), Qt::ElideMiddle, m_labelWidth - 12));
  }
  p.save();
  p.setClipRect(QRectF(m_map.x0, m_rulerHeight - 4, m_map.width + 1, height()));
  const QFontMetrics fm = p.fontMetrics();
  for (int r = 0; r < m_model->rowCount(); ++r) {
    const QRectF rc = spanRect(r);
    if (rc.isEmpty()) continue;
    const auto i = m_model->index(r, 0);
    QColor c = i.data(TraceSpanModel::ColourRole).value<QColor>();
    const bool searching = !m_matches.empty() || !m_search.trimmed().isEmpty();
    if (searching && !isMatch(r)) c.setAlpha(50);  // the search fades what does not match
    p.fillRect(rc, c);
    // Neighbouring stages can share a palette colour: a darker edge keeps them apart.
    if (rc.width() >= 4) {
      p.setPen(QPen(c.darker(150), 1));
      p.setBrush(Qt::NoBrush);
      p.drawRect(rc.adjusted(0.5, 0.5, -0.5, -0.5));
    }
    if (i.data(TraceSpanModel::GeluOnlyRole).toBool()) {
      p.fillRect(rc, QBrush(QColor(0, 0, 0, 110), Qt::BDiagPattern));
      p.setPen(QPen(QColor(0xb0, 0x00, 0x20), 2));
      p.setBrush(Qt::NoBrush);
      p.drawRect(rc.adjusted(1, 1, -1, -1));
    }
    if (rc.width() > 40) {
      const QString name = i.sibling(r, TraceSpanModel::StageColumn).data().toString();
      if (fm.horizontalAdvance(name) + 6 < rc.width()) {
        p.setPen(c.lightness() > 140 ? Qt::black : Qt::white);
        p.drawText(rc.adjusted(3, 0, -3, 0), Qt::AlignLeft | Qt::AlignVCenter, name);
      }
    }
  }
  // Where each trace's displayed run ends: the end-to-end comparison at a glance.
  for (int t = 0; t < m_model->traceCount(); ++t) {
    const double end = m_model->displayedRunUs(t);
    if (end <= 0) continue;
    const double x = m_map.mapTimeToX(end);
    int top = -1, bottom = -1;
    for (int lane = 0; lane < m_model->laneCount(); ++lane)
      if (m_model->laneTrace(lane) == t) {
        if (top < 0) top = laneTop(lane);
        bottom = laneTop(lane) + m_laneHeight;
      }
    if (top < 0) continue;
    p.setPen(QPen(slotColour(t % 2), 2, Qt::DashLine));
    p.drawLine(QPointF(x, top - 2), QPointF(x, bottom + 2));
  }
  // Search matches: a thick outline, so even a 1-pixel span shows where it is.
  for (int r : m_matches) {
    const QRectF rc = spanRect(r);
    if (rc.isEmpty()) continue;
    p.setPen(QPen(pal.color(QPalette::Highlight), 2));
    p.setBrush(Qt::NoBrush);
    p.drawRect(rc.adjusted(-1.5, -1.5, 1.5, 1.5));
  }
  if (hasSelection()) {
    const double x0 = m_map.mapTimeToX(m_selT0), x1 = m_map.mapTimeToX(m_selT1);
    QColor band = pal.color(QPalette::Highlight);
    band.setAlpha(45);
    p.fillRect(QRectF(x0, m_rulerHeight - 4, std::max(1.0, x1 - x0), height()), band);
    p.setPen(QPen(pal.color(QPalette::Highlight), 1));
    p.drawLine(QPointF(x0, m_rulerHeight - 4), QPointF(x0, height()));
    p.drawLine(QPointF(x1, m_rulerHeight - 4), QPointF(x1, height()));
  }
  if (m_hover >= 0) {
    const QRectF rc = spanRect(m_hover);
    if (!rc.isEmpty()) {
      p.setPen(QPen(pal.color(QPalette::Highlight), 2));
      p.setBrush(Qt::NoBrush);
      p.drawRect(rc.adjusted(-1, -1, 1, 1));
    }
  }
  p.restore();
}

void TimelineView::wheelEvent(QWheelEvent* event) {
  if (!m_model || m_model->rowCount() == 0) return QWidget::wheelEvent(event);
  const QPoint d = event->angleDelta();
  if (event->modifiers() & Qt::ShiftModifier || (d.x() != 0 && d.y() == 0)) {
    panBy((d.x() != 0 ? d.x() : d.y()) / 2.0);
  } else {
    zoomBy(std::pow(1.25, d.y() / 120.0), event->position().x());
  }
  event->accept();
}

void TimelineView::mousePressEvent(QMouseEvent* event) {
  m_pressPos = event->position().toPoint();
  if (event->button() == Qt::LeftButton && (event->modifiers() & Qt::ShiftModifier) && m_model && m_model->rowCount() > 0) {
    // Shift+drag selects a time range (its summary: TraceSpanModel::summarizeRange).
    m_selecting = true;
    m_selAnchor = m_map.mapXToTime(event->position().x());
    setSelection(m_selAnchor, m_selAnchor);
    return;
  }
  if (event->button() == Qt::LeftButton) {
    m_dragging = true;
    m_lastDrag = event->position().toPoint();
    setCursor(Qt::ClosedHandCursor);
  }
  QWidget::mousePressEvent(event);
}

void TimelineView::mouseMoveEvent(QMouseEvent* event) {
  const QPoint pos = event->position().toPoint();
  if (m_selecting) {
    setSelection(m_selAnchor, m_map.mapXToTime(event->position().x()));
    return;
  }
  if (m_dragging) {
    panBy(pos.x() - m_lastDrag.x());
    m_lastDrag = pos;
    return;
  }
  const int hover = spanAt(pos);
  if (hover != m_hover) {
    m_hover = hover;
    update();
  }
}

void TimelineView::mouseReleaseEvent(QMouseEvent* event) {
  if (m_selecting && event->button() == Qt::LeftButton) {
    m_selecting = false;
    return;
  }
  if (event->button() == Qt::LeftButton) {
    m_dragging = false;
    unsetCursor();
    // A click, not a pan: the span under it (its stage's histogram), and the selection goes.
    if ((event->position().toPoint() - m_pressPos).manhattanLength() < 4) {
      clearSelection();
      if (const int row = spanAt(event->position().toPoint()); row >= 0) emit spanClicked(row);
    }
  }
  QWidget::mouseReleaseEvent(event);
}

void TimelineView::mouseDoubleClickEvent(QMouseEvent*) { fitAll(); }

void TimelineView::leaveEvent(QEvent*) {
  m_hover = -1;
  update();
}

void TimelineView::keyPressEvent(QKeyEvent* event) {
  const double centre = m_map.x0 + m_map.width / 2;
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoomBy(1.5, centre); break;
    case Qt::Key_Minus: zoomBy(1 / 1.5, centre); break;
    case Qt::Key_Left: panBy(m_map.width / 10); break;
    case Qt::Key_Right: panBy(-m_map.width / 10); break;
    case Qt::Key_0:
    case Qt::Key_Home: fitAll(); break;
    default: QWidget::keyPressEvent(event);
  }
}

bool TimelineView::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    auto* help = static_cast<QHelpEvent*>(event);
    const int row = spanAt(help->pos());
    if (row >= 0) {
      QToolTip::showText(help->globalPos(), m_model->describe(row), this, spanRect(row).toAlignedRect());
    } else if (help->pos().x() >= m_map.x0 && m_model && m_model->rowCount()) {
      QToolTip::showText(help->globalPos(), tr("%1 from the start of the run").arg(formatDuration(m_map.mapXToTime(help->pos().x()))), this);
    } else {
      QToolTip::hideText();
    }
    return true;
  }
  return QWidget::event(event);
}

// ---- legend ----

TimelineLegend::TimelineLegend(QWidget* parent) : QLabel(parent) {
  setWordWrap(true);
  setTextFormat(Qt::RichText);
}

void TimelineLegend::setModel(TraceSpanModel* model) {
  if (m_model) disconnect(m_model, nullptr, this, nullptr);
  m_model = model;
  if (m_model) connect(m_model, &QAbstractItemModel::modelReset, this, &TimelineLegend::refresh);
  refresh();
}

void TimelineLegend::refresh() {
  if (!m_model || m_model->rowCount() == 0) {
    setText(QString());
    return;
  }
  auto kinds = m_model->kinds();
  std::stable_partition(kinds.begin(), kinds.end(), [](const std::string& k) { return isGeluOnlyStage(k); });
  QStringList items;
  for (const auto& k : kinds) {
    const QColor c = kindColour(k);
    const QString swatch = QStringLiteral("<span style=\"background-color:%1; color:%1\">&nbsp;■■&nbsp;</span>").arg(c.name());
    QString name = QString::fromStdString(k).toHtmlEscaped();
    if (isGeluOnlyStage(k)) name = tr("<b>%1</b> (hatched: the op the GELU-less model removes)").arg(name);
    items << swatch + QStringLiteral("&nbsp;") + name;
  }
  setText(items.join(QStringLiteral(" &nbsp;&nbsp; ")));
}

}  // namespace swinscope::gui
