#include "engine/stages.h"

#include <mutex>
#include <utility>

#include "profiler/trace.h"

namespace swinscope {

namespace {
constexpr std::pair<std::string_view, std::uint32_t> kStageColours[] = {
    {kPatchEmbed, 0xFF9C755F},
    {"ln1_quant", 0xFFEDC948},
    {"qkv_gemm", 0xFF4E79A7},
    {"qkv_bias_quant", 0xFFF28E2B},
    {"qk_gemm", 0xFF76B7B2},
    {"softmax", 0xFFB07AA1},
    {"av_gemm", 0xFF59A14F},
    {"proj_gemm", 0xFF2F6690},
    {"proj_residual_ln2_quant", 0xFFFF9DA7},
    {"fc1_gemm", 0xFF3A7D44},
    {"fc1_bias_gelu_quant", 0xFFE15759},
    {"fc2_gemm", 0xFF86BCB6},
    {"fc2_bias_residual", 0xFFD4A373},
    {"window_attention", 0xFF9D7660},
    {kMergeLnQuant, 0xFFBAB0AC},
    {kMergeGemm, 0xFF7F7F7F},
    {kHead, 0xFFD37295},
};
}  // namespace

std::uint32_t stage_colour_argb(std::string_view name) {
  for (const auto& [n, c] : kStageColours)
    if (n == name) return c;
  return 0;
}

void register_stage_colours() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const auto& [n, c] : kStageColours) profiler::set_kind_colour(n, c);
  });
}

}  // namespace swinscope
