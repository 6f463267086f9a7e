#pragma once
// The timeline's time↔pixel arithmetic, kept free of widgets so it can be tested with plain
// numbers. Times are microseconds from the start of a run; pixels are widget x coordinates.
// The view [timeStart, timeStart + timeSpan] is drawn across [x0, x0 + width].

namespace swinscope::gui {

struct TimelineMapping {
  double timeStart = 0;   // µs at the left edge of the bar area
  double timeSpan = 1;    // µs across the bar area (> 0)
  double x0 = 0;          // pixel of the bar area's left edge
  double width = 1;       // bar area width in pixels (> 0)
  double totalStart = 0;  // the data's extent: pan and zoom stay inside it
  double totalEnd = 1;
  // The deepest zoom: 0.01 µs across the view, below the resolution of any recorder.
  static constexpr double kMinSpan = 0.01;

  double mapTimeToX(double t) const;
  double mapXToTime(double x) const;
  double pixelsPerUs() const { return width / timeSpan; }

  // factor > 1 zooms in, < 1 out; the time under `anchorX` stays under it (up to the clamp).
  void zoom(double factor, double anchorX);
  // Drags the content by dx pixels: positive dx moves it right, bringing earlier times in.
  void pan(double dx);
  // Shows [totalStart, totalEnd].
  void fitAll();
  // Keeps the view inside the extent and timeSpan within [kMinSpan, extent].
  void clamp();
  // Sets the bar area and the extent and, when the extent grew or shrank, fits all.
  void setExtent(double start, double end);
};

}  // namespace swinscope::gui
