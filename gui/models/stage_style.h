#pragma once
// How a stage kind looks and is described everywhere in the app: its colour comes from the
// profiler's palette (so Nsight's NVTX ranges, the timeline, the table and the chart agree),
// its class (fused op / GEMM / outside the blocks) from engine/stages.h.
#include <QColor>
#include <QString>
#include <string_view>

namespace swinscope::gui {

inline constexpr int kSlotCount = 2;  // A and B
QString slotName(int slot);           // "A", "B"
// A and B keep one colour each across bars, lanes and charts.
QColor slotColour(int slot);

QColor kindColour(std::string_view kind);
// The op the paper removes (fc1_bias_gelu_quant): drawn hatched and listed first in legends.
bool isGeluOnlyStage(std::string_view kind);
bool isBlockStage(std::string_view kind);
bool isFusedOp(std::string_view kind);
// "fused op", "GEMM", "outside blocks" (patch_embed, merges, head) or "span" (anything else).
QString stageClass(std::string_view kind);
// Sort key: patch_embed, the twelve block stages in the paper's order, merges, head, rest.
int stageOrder(std::string_view kind);

// "12.3 µs", "1.23 ms", "2.50 s": three significant figures in a unit that fits.
QString formatDuration(double us);
QString formatBytes(qulonglong bytes);
QString formatCount(long long n);  // 28288354 → "28.3 M"

}  // namespace swinscope::gui
