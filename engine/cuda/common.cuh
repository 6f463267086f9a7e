#pragma once
// Device helpers shared by the fused-op kernels: the window geometry, warp reductions and the
// one-warp LayerNorm + quantize row routine (ln1, ln2, merge). Numerics: engine/numerics.h.
#include <cstdint>

#include "engine/cuda/platform.cuh"

namespace swinscope::SWS_CUDA_NS {

// One transformer stage's window geometry (cpu::WindowGeometry with device-callable methods).
struct Geo {
  int batch = 0, H = 0, C = 0, window = 0, shift = 0, heads = 0;
  SWS_HD int nw() const { return H / window; }
  SWS_HD int windows() const { return nw() * nw(); }            // per image
  SWS_HD int tokens() const { return window * window; }         // N
  SWS_HD int Np() const { return (tokens() + 7) / 8 * 8; }      // keys padded for the GEMMs
  SWS_HD int head_dim() const { return C / heads; }             // d
  SWS_HD int d4() const { return (head_dim() + 3) / 4 * 4; }    // d padded to cuBLASLt's int8 alignment
  SWS_HD long long nwin() const { return static_cast<long long>(batch) * windows(); }
  SWS_HD long long nwh() const { return nwin() * heads; }       // (window, head) pairs
};

inline constexpr int kWarp = 32;
inline constexpr int kRowsPerBlock = 4;  // warp-per-row kernels: 4 warps (128 threads) a block

#if defined(__CUDACC__) || defined(SWINSCOPE_CUDA_EMU)  // device code: nvcc, or the emulation
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// LayerNorm over n values read through `at(k)` (one row, or the concatenated 2×2 segments of
// a patch merge: an accessor rather than a pointer array, which would live in local memory),
// two passes (mean, then the biased variance, as PyTorch and the CPU loops), each result
// handed to `put(k, value)`. One warp.
template <typename At, typename Put>
__device__ __forceinline__ void warp_ln(At at, Put put, int n, const float* gamma, const float* beta, float eps, int lane) {
  float s = 0.f;
  for (int k = lane; k < n; k += kWarp) s += at(k);
  const float mean = warp_sum(s) / static_cast<float>(n);
  float v = 0.f;
  for (int k = lane; k < n; k += kWarp) {
    const float d = at(k) - mean;
    v += d * d;
  }
  const float rstd = 1.f / sqrtf(warp_sum(v) / static_cast<float>(n) + eps);
  for (int k = lane; k < n; k += kWarp) put(k, (at(k) - mean) * rstd * gamma[k] + beta[k]);
}

// The same, quantized (signed) to s8.
template <typename At>
__device__ __forceinline__ void warp_ln_quant(At at, int n, const float* gamma, const float* beta, float eps,
                                              float inv_scale, std::int8_t* out, int lane) {
  warp_ln(at, [=](int k, float v) { out[k] = static_cast<std::int8_t>(numerics::q_signed(v * inv_scale)); }, n, gamma, beta,
          eps, lane);
}

// Element k of the patch-merging gather at output token (b, i, j) of an H×H map of C channels.
__device__ __forceinline__ float merge_gather_at(const float* x, int b, int i, int j, int H, int C, int k) {
  const int s = k / C;
  return x[((static_cast<long long>(b) * H + 2 * i + numerics::merge_dy(s)) * H + 2 * j + numerics::merge_dx(s)) * C + k % C];
}

#endif

inline unsigned grid_for(long long items, int per_block) {
  return static_cast<unsigned>((items + per_block - 1) / per_block);
}

}  // namespace swinscope::SWS_CUDA_NS
