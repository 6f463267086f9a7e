#pragma once
// Per-block timelines drawn with QPainter from a TraceSpanModel: a lane per block (and one
// for the work outside the blocks) for each trace, one bar per stage in the profiler's
// colour, on one time axis. Wheel zooms around the cursor, dragging pans, double-click
// fits, hovering shows the exact figures; + / - / arrows / 0 do the same from the keyboard.
// The GELU op the paper removes is hatched and outlined so it stands out.
#include <QLabel>
#include <QWidget>

#include "gui/models/timeline_mapping.h"

namespace swinscope::gui {

class TraceSpanModel;

class TimelineView : public QWidget {
  Q_OBJECT
 public:
  // What an empty timeline says; names the menus and buttons that exist (Run ▸ Profile A and B).
  static QString placeholderText();
  explicit TimelineView(QWidget* parent = nullptr);

  void setModel(TraceSpanModel* model);
  TraceSpanModel* model() const { return m_model; }
  const TimelineMapping& mapping() const { return m_map; }

  // The model row of the span drawn at `pos`, or -1.
  int spanAt(const QPoint& pos) const;
  // Where row `row` is drawn (empty when outside the view).
  QRectF spanRect(int row) const;
  int laneTop(int lane) const;
  int laneHeight() const { return m_laneHeight; }

  // Search (issue 15): spans whose stage name contains `text` are outlined, the others faded.
  void setSearch(const QString& text);
  int matchCount() const { return static_cast<int>(m_matches.size()); }
  bool isMatch(int row) const;
  // A time range (µs) picked with Shift+drag; cleared by a plain click or clearSelection().
  void setSelection(double t0, double t1);
  void clearSelection();
  bool hasSelection() const { return m_selT1 > m_selT0; }
  double selectionStart() const { return m_selT0; }
  double selectionEnd() const { return m_selT1; }

  void fitAll();
  void zoomBy(double factor, double anchorX);
  void panBy(double dx);

  QSize sizeHint() const override;
  QSize minimumSizeHint() const override;

 signals:
  void viewChanged();
  void selectionChanged();          // read selectionStart/End; hasSelection() false when cleared
  void spanClicked(int row);        // a click (no drag) on a span

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void fitLanes();
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;
  bool event(QEvent* event) override;

 private:
  void modelChanged();
  void layoutArea() const;
  void drawRuler(QPainter& p);
  double tickStep() const;

  TraceSpanModel* m_model = nullptr;
  // Mutable: the bar area follows width() even before a pending resize event arrives
  // (hidden widgets get theirs only when shown), so hit tests and painting agree.
  mutable TimelineMapping m_map;
  int m_labelWidth = 180;
  int m_rulerHeight = 28;
  static constexpr int kMinLaneHeight = 18;
  static constexpr int kMaxLaneHeight = 40;
  int m_laneHeight = kMinLaneHeight;  // grows with the height the view is given (resizeEvent)
  int m_laneGap = 2;
  int m_traceGap = 10;
  int m_hover = -1;
  std::vector<int> m_matches;  // sorted rows matching the search
  QString m_search;
  double m_selT0 = 0, m_selT1 = 0;
  bool m_selecting = false;
  double m_selAnchor = 0;
  QPoint m_pressPos;
  bool m_dragging = false;
  QPoint m_lastDrag;
};

// The stage kinds of a TraceSpanModel with their colours, the removed GELU op first.
class TimelineLegend : public QLabel {
  Q_OBJECT
 public:
  explicit TimelineLegend(QWidget* parent = nullptr);
  void setModel(TraceSpanModel* model);

 private:
  void refresh();
  TraceSpanModel* m_model = nullptr;
};

}  // namespace swinscope::gui
