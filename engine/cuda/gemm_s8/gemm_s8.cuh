#pragma once
// The project's own int8 tensor-core GEMM (sm_80+: mma.sync m16n8k32, ldmatrix, a cp.async
// multi-stage pipeline; instructions in engine/cuda/ptx.cuh) with the epilogues cuBLASLt
// does not offer for int8 in the regular order (ReLU, bias + GELU, bias + residual), fused:
//
//   Y (M×N) = epilogue( X (M×K, row-major, s8 or u8) · Wᵀ ),  W (N×K, row-major, s8),  s32 sums
//
// Row-major, as the engine thinks of its linear layers (no cuBLAS transposition). The
// epilogues compute with engine/numerics.h, so this GEMM, the cuBLASLt path + separate
// kernels, and the CPU backend compute one function (alpha: per tensor or per output channel
// n; fma where a product meets a bias, spelled out so no compiler's contraction choice
// matters):
//   S8                 y = q_gemm_s8(acc·alpha)                          s8   (what cuBLASLt does)
//   S32                acc                                               s32  (alpha must be 1)
//   ReluU8             q_gemm_relu_u8(acc·alpha)                         u8
//   ReluShiftedS8      q_gemm_relu_u8(acc·alpha) − 128                   s8   (fc1_relu_quant's layout)
//   BiasGeluS8         q_signed(gelu_erf(fma(acc, alpha, bias)) · inv_scale)        s8  (stage 9+10
//                      in one rounding: alpha here dequantizes the accumulator)
//   RequantBiasGeluS8  y = q_gemm_s8(acc·alpha); q_signed(gelu_erf(fma(y, deq, bias)) · inv_scale)
//                      s8: bit-compatible with the FC1 GEMM → fc1_bias_gelu_quant chain
//   BiasResidual       y = q_gemm_s8(acc·alpha); x[m][n] += fma(y, deq, bias[n])      float x, in place
//                      (the FC2 → fc2_bias_residual chain)
//
// Requirements (gemm_s8 throws swinscope::Error naming the field otherwise): M, N, K > 0;
// K % 16 == 0 and A, B 16-byte aligned (cp.async moves 16-byte row segments); M and N free
// (edge tiles are zero-filled and their stores masked). A u8 only with S8, S32, BiasResidual
// (the FC2 epilogues). bias: N floats, required for BiasResidual, optional (0) for the GELU
// epilogues. D: any alignment (pairs are stored together when N is even and D aligned for it).
// All pointers are device pointers; alpha_n and bias are read when the kernel runs (CUDA-graph
// safe), alpha/deq/inv_scale are baked into the launch.
#include <cstdint>
#include <string>

#include "engine/cuda/platform.cuh"

namespace swinscope::SWS_CUDA_NS {

enum class S8Epilogue { S8, S32, ReluU8, ReluShiftedS8, BiasGeluS8, RequantBiasGeluS8, BiasResidual };
enum class S8AType { S8, U8 };
// CTA tile M×N×64, warp tile, pipeline stages. Auto picks by CTA count (gemm_s8_pick_tile).
enum class S8Tile {
  Auto,
  T128x256,  // 8 warps of 64×64, 3 stages, 72 KiB smem (CUTLASS's int8 Sm80 default)
  T128x128,  // 4 warps of 64×64, 3 stages, 48 KiB smem
  T64x64,    // 4 warps of 32×32, 4 stages, 32 KiB smem: narrow N, few rows
};

struct GemmS8Args {
  int M = 0, N = 0, K = 0;
  const void* A = nullptr;  // X (M×K): std::int8_t or std::uint8_t per a_type
  S8AType a_type = S8AType::S8;
  const std::int8_t* B = nullptr;  // W (N×K)
  void* D = nullptr;  // Y (M×N): s8, u8 or s32 per epilogue; BiasResidual: the float x (M×N), updated
  S8Epilogue epilogue = S8Epilogue::S8;
  float alpha = 1.f;               // per-tensor multiplier of the accumulator
  const float* alpha_n = nullptr;  // N floats, one per output channel; replaces alpha when set
  const float* bias = nullptr;     // N floats
  float deq = 1.f;                 // RequantBiasGeluS8, BiasResidual: the scale of the s8 y
  float inv_scale = 1.f;           // GELU epilogues: 1 / the output's scale
  S8Tile tile = S8Tile::Auto;
  const char* label = nullptr;  // for messages, e.g. "fc1 stage 0"
};

// Validates and enqueues the kernel on `stream`; allocates nothing (graph-capturable).
// Throws Error (Runtime) naming the label and the offending field, or the device when it is
// older than sm_80.
void gemm_s8(const GemmS8Args& args, cudaStream_t stream);
// "gemm_s8 128x128x64 (4 warps of 64x64, 3 stages) s8*s8 -> s8, alpha per channel, M=.. N=.. K=.."
std::string gemm_s8_describe(const GemmS8Args& args);
// The tile gemm_s8 runs for these arguments (Auto resolved; needs no device in the emulation).
S8Tile gemm_s8_pick_tile(const GemmS8Args& args);
const char* gemm_s8_tile_name(S8Tile tile);
const char* gemm_s8_epilogue_name(S8Epilogue epilogue);

}  // namespace swinscope::SWS_CUDA_NS
