#pragma once
// The int8 SWIN block as twelve stages (ARCHITECTURE.md, "The int8 block"). This list is
// the single source of truth for names, order and kind: both backends, the profiler's
// timelines and the tests iterate it. FP32/FP16 plans reuse the same names where the work
// corresponds, so traces of different variants line up row for row.
#include <array>
#include <cstdint>
#include <string_view>

namespace swinscope {

enum class StageKind { FusedOp, Gemm };

struct StageInfo {
  int index;               // 1-based, as in the paper's figures
  std::string_view name;
  StageKind kind;
  bool gelu_only;          // exists only in the GELU (FasterTransformer) model
};

inline constexpr std::array<StageInfo, 12> kBlockStages{{
    {1, "ln1_quant", StageKind::FusedOp, false},
    {2, "qkv_gemm", StageKind::Gemm, false},
    {3, "qkv_bias_quant", StageKind::FusedOp, false},
    {4, "qk_gemm", StageKind::Gemm, false},
    {5, "softmax", StageKind::FusedOp, false},
    {6, "av_gemm", StageKind::Gemm, false},
    {7, "proj_gemm", StageKind::Gemm, false},
    {8, "proj_residual_ln2_quant", StageKind::FusedOp, false},
    {9, "fc1_gemm", StageKind::Gemm, false},
    {10, "fc1_bias_gelu_quant", StageKind::FusedOp, true},
    {11, "fc2_gemm", StageKind::Gemm, false},
    {12, "fc2_bias_residual", StageKind::FusedOp, false},
}};

// Work outside the blocks; block index -1 (patch_embed, head) or the stage boundary.
inline constexpr std::string_view kPatchEmbed = "patch_embed";
inline constexpr std::string_view kMergeLnQuant = "merge_ln_quant";
inline constexpr std::string_view kMergeGemm = "merge_gemm";
inline constexpr std::string_view kHead = "head";
inline constexpr std::string_view kForward = "forward";  // the whole run
inline constexpr std::string_view kBlock = "block";      // parent span of a block's stages

// One fixed colour per stage for timelines, charts and NVTX ranges: GEMMs in blues and
// greens, fused ops in warm colours, and the op the paper removes in red.
std::uint32_t stage_colour_argb(std::string_view name);  // 0 for an unknown name
// Registers those colours with the profiler (idempotent, thread-safe); make_plan calls it.
void register_stage_colours();

// A fused alternative to stages 4–6 (qk_gemm, softmax, av_gemm): the CUDA int8 plan's
// window_attention kernel (PlanOptions::fused_attention). A trace holds either it or the three.
inline constexpr StageInfo kWindowAttention{13, "window_attention", StageKind::FusedOp, false};
// Every stage a block's trace can hold: the twelve, then the fused alternatives.
inline constexpr std::array<StageInfo, 13> kAllBlockStages{{kBlockStages[0], kBlockStages[1], kBlockStages[2], kBlockStages[3],
                                                            kBlockStages[4], kBlockStages[5], kBlockStages[6], kBlockStages[7],
                                                            kBlockStages[8], kBlockStages[9], kBlockStages[10], kBlockStages[11],
                                                            kWindowAttention}};
// Where a stage sorts in timelines and tables: its index; a fused alternative takes the place
// of the first stage it replaces.
constexpr int stage_order(const StageInfo& s) { return s.index == kWindowAttention.index ? 4 : s.index; }

constexpr const StageInfo& stage(int index) { return kBlockStages[static_cast<std::size_t>(index - 1)]; }

}  // namespace swinscope
