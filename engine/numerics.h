#pragma once
// The numerical definition of every int8 SWIN op, shared by the CPU backend's loops and the
// CUDA kernels (real and emulated), so both backends compute one function. Marked SWS_HD:
// __host__ __device__ under nvcc, plain inline for the host compiler.
//
//   signed tensor     s = amax / 127, q = clamp(round(x / s), −127, 127)
//   non-negative      s = amax / 255, q = clamp(round(x / s), 0, 255) (ReLU output, softmax)
//   GEMM output       q = clamp(round(acc · alpha), −128, 127) (what oneDNN and cuBLASLt do)
// round = round half to even: the FPU default on the host (nearbyint), __float2int_rn on the
// GPU. Clamping before rounding equals rounding before clamping for these integer bounds and
// keeps floats beyond the int32 range away from the conversion.
#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#define SWS_HD __host__ __device__ __forceinline__
#else
#define SWS_HD inline
#endif

namespace swinscope::numerics {

inline constexpr int kZeroPoint = 128;  // CPU: signed int8 stored as u8 = q + 128 for oneDNN
inline constexpr float kInvSqrt2 = 0.70710678118654752f;
inline constexpr float kShiftMaskValue = -100.f;  // between tokens of different regions, as the reference

SWS_HD float clampf(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

SWS_HD int round_half_even(float v) {
#if defined(__CUDA_ARCH__)
  return __float2int_rn(v);
#else
  return static_cast<int>(std::nearbyint(v));
#endif
}

SWS_HD float erf_f(float v) {
#if defined(__CUDA_ARCH__)
  return erff(v);
#else
  return std::erf(v);
#endif
}

SWS_HD float exp_f(float v) {
#if defined(__CUDA_ARCH__)
  return expf(v);
#else
  return std::exp(v);
#endif
}

// Already-scaled value → quantized integer.
SWS_HD int q_signed(float scaled) { return round_half_even(clampf(scaled, -127.f, 127.f)); }
SWS_HD int q_unsigned(float scaled) { return round_half_even(clampf(scaled, 0.f, 255.f)); }
SWS_HD int q_gemm_s8(float scaled) { return round_half_even(clampf(scaled, -128.f, 127.f)); }
SWS_HD int q_gemm_relu_u8(float scaled) { return round_half_even(clampf(scaled > 0.f ? scaled : 0.f, 0.f, 255.f)); }

SWS_HD float gelu_erf(float v) { return 0.5f * v * (1.f + erf_f(v * kInvSqrt2)); }

// Shifted-frame coordinate → region 0, 1, 2 (slices (0,−w), (−w,−s), (−s,None) of the
// reference attention mask).
SWS_HD int shift_region(int y, int H, int w, int s) { return y < H - w ? 0 : (y < H - s ? 1 : 2); }

// Token-order index (within the batch) of the token at window position (win, t): cyclic
// shift by −shift, then window partition. ln1 reads from it, proj_residual writes back to it.
SWS_HD long long source_token(long long win, int t, int H, int window, int shift) {
  const int nw = H / window;
  const long long b = win / (nw * nw);
  const int wi = static_cast<int>(win % (nw * nw));
  const int i = (wi / nw) * window + t / window, j = (wi % nw) * window + t % window;  // shifted frame
  const int y = (i + shift) % H, x = (j + shift) % H;
  return (b * H + y) * H + x;
}

// Patch merging gather order (x0=(2i,2j), x1=(2i+1,2j), x2=(2i,2j+1), x3=(2i+1,2j+1)).
SWS_HD int merge_dy(int s) { return s & 1; }
SWS_HD int merge_dx(int s) { return s >> 1; }

// IEEE half precision held as its 16 bits (the fp16 plan's activations and weights; host code
// and the emulation have no __half): round to nearest even, as __float2half_rn.
SWS_HD float half_bits_to_float(std::uint16_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h));
#else
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {  // zero or subnormal: m · 2⁻²⁴, exact in float
    const float v = static_cast<float>(m) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  const std::uint32_t bits = sign | (e == 31 ? 0x7f800000u | (m << 13) : ((e + 112u) << 23) | (m << 13));
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
#endif
}

SWS_HD std::uint16_t float_to_half_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __half_as_ushort(__float2half_rn(f));
#else
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return static_cast<std::uint16_t>(sign | (ax > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (ax >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // ≥ 65520 rounds to infinity
  if (ax < 0x38800000u) {  // below 2⁻¹⁴: subnormal; scaling by 2²⁴ is exact
    float v;
    std::memcpy(&v, &ax, sizeof v);
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(std::nearbyint(v * 16777216.f)));
  }
  std::uint32_t h = (((ax >> 23) - 112u) << 10) | ((ax >> 13) & 0x3ffu);
  const std::uint32_t rest = ax & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry into the exponent is right
  return static_cast<std::uint16_t>(sign | h);
#endif
}

inline int padded_tokens(int N) { return (N + 7) / 8 * 8; }

}  // namespace swinscope::numerics
