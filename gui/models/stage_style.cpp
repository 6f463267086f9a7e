#include "gui/models/stage_style.h"

#include <algorithm>
#include <cmath>

#include "engine/stages.h"
#include "profiler/trace.h"

namespace swinscope::gui {

QString slotName(int slot) { return slot == 0 ? QStringLiteral("A") : QStringLiteral("B"); }

QColor slotColour(int slot) {
  // Blue and orange: told apart with every common colour-vision deficiency.
  return slot == 0 ? QColor(0x1f, 0x77, 0xb4) : QColor(0xe6, 0x7e, 0x22);
}

QColor kindColour(std::string_view kind) {
  register_stage_colours();
  return QColor::fromRgba(profiler::kind_colour_argb(kind));
}

bool isGeluOnlyStage(std::string_view kind) {
  return std::any_of(kAllBlockStages.begin(), kAllBlockStages.end(),
                     [&](const StageInfo& s) { return s.gelu_only && s.name == kind; });
}

bool isBlockStage(std::string_view kind) {
  return std::any_of(kAllBlockStages.begin(), kAllBlockStages.end(), [&](const StageInfo& s) { return s.name == kind; });
}

bool isFusedOp(std::string_view kind) {
  return std::any_of(kAllBlockStages.begin(), kAllBlockStages.end(),
                     [&](const StageInfo& s) { return s.name == kind && s.kind == StageKind::FusedOp; });
}

QString stageClass(std::string_view kind) {
  for (const auto& s : kAllBlockStages)
    if (s.name == kind) return s.kind == StageKind::FusedOp ? QStringLiteral("fused op") : QStringLiteral("GEMM");
  if (kind == kPatchEmbed || kind == kMergeLnQuant || kind == kMergeGemm || kind == kHead)
    return QStringLiteral("outside blocks");
  return QStringLiteral("span");
}

int stageOrder(std::string_view kind) {
  if (kind == kPatchEmbed) return 0;
  for (const auto& s : kAllBlockStages)
    if (s.name == kind) return stage_order(s);
  if (kind == kMergeLnQuant) return 20;
  if (kind == kMergeGemm) return 21;
  if (kind == kHead) return 22;
  if (kind == kBlock) return 30;
  if (kind == kForward) return 31;
  return 40;
}

QString formatDuration(double us) {
  if (!std::isfinite(us)) return QStringLiteral("–");
  const double a = std::abs(us);
  auto fmt = [](double v) {
    const double av = std::abs(v);
    return QString::number(v, 'f', av >= 100 ? 0 : av >= 10 ? 1 : 2);
  };
  if (a >= 1e6) return fmt(us / 1e6) + QStringLiteral(" s");
  if (a >= 1e3) return fmt(us / 1e3) + QStringLiteral(" ms");
  return fmt(us) + QStringLiteral(" µs");
}

QString formatBytes(qulonglong bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) return QString::number(b / (1024.0 * 1024 * 1024), 'f', 2) + QStringLiteral(" GiB");
  if (b >= 1024.0 * 1024) return QString::number(b / (1024.0 * 1024), 'f', 1) + QStringLiteral(" MiB");
  if (b >= 1024.0) return QString::number(b / 1024.0, 'f', 1) + QStringLiteral(" KiB");
  return QString::number(bytes) + QStringLiteral(" B");
}

QString formatCount(long long n) {
  const double v = static_cast<double>(n);
  if (std::abs(v) >= 1e9) return QString::number(v / 1e9, 'f', 2) + QStringLiteral(" G");
  if (std::abs(v) >= 1e6) return QString::number(v / 1e6, 'f', 1) + QStringLiteral(" M");
  if (std::abs(v) >= 1e4) return QString::number(v / 1e3, 'f', 1) + QStringLiteral(" k");
  return QString::number(n);
}

}  // namespace swinscope::gui
