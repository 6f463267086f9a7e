#include "gui/models/timeline_mapping.h"

#include <algorithm>
#include <cmath>

namespace swinscope::gui {

double TimelineMapping::mapTimeToX(double t) const { return x0 + (t - timeStart) * width / timeSpan; }

double TimelineMapping::mapXToTime(double x) const { return timeStart + (x - x0) * timeSpan / width; }

void TimelineMapping::zoom(double factor, double anchorX) {
  if (!(factor > 0) || !std::isfinite(factor)) return;
  const double anchorT = mapXToTime(anchorX);
  const double extent = std::max(totalEnd - totalStart, kMinSpan);
  const double span = std::clamp(timeSpan / factor, kMinSpan, extent);
  // Keep anchorT at anchorX: anchorT = start + (anchorX - x0) * span / width.
  timeStart = anchorT - (anchorX - x0) * span / width;
  timeSpan = span;
  clamp();
}

void TimelineMapping::pan(double dx) {
  timeStart -= dx * timeSpan / width;
  clamp();
}

void TimelineMapping::fitAll() {
  timeStart = totalStart;
  timeSpan = std::max(totalEnd - totalStart, kMinSpan);
}

void TimelineMapping::clamp() {
  if (!(width > 0)) width = 1;
  const double extent = std::max(totalEnd - totalStart, kMinSpan);
  if (!(timeSpan > 0) || !std::isfinite(timeSpan)) timeSpan = extent;
  timeSpan = std::clamp(timeSpan, kMinSpan, extent);
  if (!std::isfinite(timeStart)) timeStart = totalStart;
  timeStart = std::clamp(timeStart, totalStart, totalStart + extent - timeSpan);
}

void TimelineMapping::setExtent(double start, double end) {
  if (!(end > start)) end = start + kMinSpan;
  const bool changed = start != totalStart || end != totalEnd;
  totalStart = start;
  totalEnd = end;
  if (changed) fitAll();
  clamp();
}

}  // namespace swinscope::gui
