#pragma once
// Integer-only operators after I-ViT (arXiv 2207.01405; issue 16): dyadic requantization,
// Shiftmax, ShiftGELU and I-LayerNorm, in exact integer arithmetic (int32 / int64, arithmetic
// shifts, floor divisions). SWS_HD like engine/numerics.h, so the CPU loops and CUDA kernels
// share one definition.
//
// Facts taken from I-ViT's reference code (github.com/zkkli/I-ViT, HEAD 380ba99:
// models/quantization_utils/quant_modules.py IntSoftmax / IntGELU / IntLayerNorm / QuantAct,
// quant_utils.py batch_frexp / fixedpoint_mul) — the algorithms and constants, not the code.
// That code does its "integer" maths on float32 tensors holding integers; here everything is
// an integer, so these functions are the algorithm's exact statement (tests compare them with
// a double-precision transcription of the same steps, and with the float functions).
//
//   Dyadic      scale ≈ m / 2^shift with m the frexp mantissa rounded half up to 31 bits
//               (batch_frexp, max_bit 31); apply(v) = round(v · m / 2^shift), rounding half up
//               (our choice: add 2^(shift−1), arithmetic shift; I-ViT rounds half to even in
//               double).
//   exp_shift   2^(t·S·log2 e) for an integer t ≤ 0 at scale S: t·log2 e ≈ t + (t>>1) − (t>>4),
//               x0 = floor(−1/S) (the code of −1), split t = q·x0 + r with r in (x0, 0],
//               2^(r·S) ≈ 1 + r·S/2 as (r/2 − x0), shifted by n − q:
//               e = floor((r − 2·x0) · 2^(n − q − 1))  (I-ViT: floor((r/2 − x0) · 2^(n − q))).
//   Shiftmax    n = 15: e_j = exp_shift(x_j − max x), out_j = round(e_j · R(Σ e) / 2^45):
//               0…255 at scale 1/256, with the reciprocal R(s) = floor(2^53 / s).
//   ShiftGELU   n = 23, S_sig = 1.702·S (I-ViT folds 1.702 into the float scale, no shifts):
//               σ = round(e1 · R(e1 + e2) / 2^45) ≤ 255 with e1 = exp_shift(x − max),
//               e2 = exp_shift(−max) (a positive argument when the row's max is negative:
//               q < 0; e saturates at 2^62; both 0: σ = 255 for x > 0, else 0);
//               out = x · σ at scale S/256 (about 16 bits).
// Three departures from I-ViT's code, measured in tests/test_ivit_ops.cpp and test_ivit_plan.cpp:
//   - outputs are 8-bit unsigned, 0…255 at 1/256, rounded half up, where I-ViT's are 0…127 at
//     1/128, floored: over a window of 49 tokens its floors lose up to 49/128 of the attention
//     mass, and the logits of 7×7-window golden models drift 0.30 from FP32 (0.07 with these);
//   - the reciprocal has 53 bits (floor(2^53/s), then >> 46) where I-ViT's has 31
//     (floor((2^31 − 1)/min(s, 2^31 − 1)), then >> 24): with n = 23 the GELU sum reaches 2^28
//     for small scales, leaving that factor 3 bits (ShiftGELU 15 % low at amax 2); the same
//     multiply-by-reciprocal, in int64;
//   - no clamp: for q > n the shift turns right (e = floor((r − 2·x0) / 2^(q − n + 1)), 0 for
//     q ≥ n + 63), where I-ViT clamps t at n·x0: with both of ShiftGELU's exponents clamped
//     its σ comes out 0.5 for very negative x (GELU(−10) = −5 instead of 0).
//   I-LayerNorm mean rounded half to even, y = x − mean, var = Σ y² (a sum: no division),
//               std = ⌊√var⌋ by Newton's iteration from a bit-length first guess (the paper's
//               description; the reference code starts from 2^16 for 10 steps, which is wrong
//               for var < 2^16 and has not converged by 2^50), y' = floor(y · floor((2^31 − 1)
//               / std) / 2) at scale √C / 2^30; the affine part is the next requantization:
//               per channel, round(y' · γ_c·√C/2^30 / S_out) + round(β_c / S_out) (two dyadic
//               roundings; I-ViT folds β/γ into an integer bias, which breaks for γ → 0).
#include <cmath>
#include <cstdint>

#include "engine/numerics.h"

namespace swinscope::ivit {

inline constexpr int kShiftmaxN = 15;   // I-ViT's exponent ranges
inline constexpr int kShiftGeluN = 23;
inline constexpr int kRecipBits = 53;   // the reciprocal floor(2^53 / sum)
inline constexpr int kOutShift = 45;    // 53 − 8: outputs 0…255 at scale 1/256
inline constexpr int kOutMax = 255;
inline constexpr std::int64_t kInt31 = 2147483647;  // 2^31 − 1 (I-LayerNorm)
inline constexpr double kGeluSigmoidScale = 1.702;   // x·σ(1.702·x)

struct Dyadic {
  std::int32_t m = 0;  // |m| < 2^31
  int shift = 0;       // value = m / 2^shift
};

// Floor division for any signs (C++ truncates toward zero).
SWS_HD std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// round(v · d.m / 2^d.shift), half up. |v| < 2^32 keeps the product inside int64.
SWS_HD std::int64_t apply(std::int64_t v, Dyadic d) {
  const std::int64_t p = v * static_cast<std::int64_t>(d.m);
  if (d.shift <= 0) return p * (std::int64_t{1} << -d.shift);
  if (d.shift >= 63) return 0;
  return (p + (std::int64_t{1} << (d.shift - 1))) >> d.shift;
}

SWS_HD std::int64_t clamp64(std::int64_t v, std::int64_t lo, std::int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }
// Saturation to ±lim (16-bit residual codes, 8-bit activations).
SWS_HD std::int32_t sat(std::int64_t v, std::int64_t lim) { return static_cast<std::int32_t>(clamp64(v, -lim, lim)); }

// The code of −1.0 at scale S: floor(−1/S) (negative). Host side, from a float scale.
inline std::int32_t exp_x0(double scale) {
  const double v = std::floor(-1.0 / scale);
  return static_cast<std::int32_t>(v < -1e9 ? -1e9 : (v > -1 ? -1 : v));
}

// 2^(t·S·log2 e) · 2^n as I-ViT's int_exp_shift, for any integer t (t > 0 only in
// ShiftGELU's e2); unclamped (see above), saturated at 2^62.
SWS_HD std::int64_t exp_shift(std::int64_t t, std::int32_t x0, int n) {
  t = t + (t >> 1) - (t >> 4);  // ·1.4375 ≈ log2 e (arithmetic shifts: floor)
  const std::int64_t q = floor_div(t, x0);  // ≥ 0 for t ≤ 0; negative when t > 0
  const std::int64_t r = t - x0 * q;        // (x0, 0]
  const std::int64_t base = r - 2 * static_cast<std::int64_t>(x0);  // 2·(r/2 − x0) > 0
  const std::int64_t sh = n - q - 1;
  if (sh < 0) return sh <= -63 ? 0 : base >> -sh;
  if (sh >= 62 || base >= (std::int64_t{1} << (62 - sh))) return std::int64_t{1} << 62;
  return base << sh;
}

// floor(2^53 / s) for a sum s ≥ 1 (capped at 2^52, where exp_shift saturated).
SWS_HD std::int64_t reciprocal(std::int64_t s) {
  const std::int64_t cap = std::int64_t{1} << (kRecipBits - 1);
  return (std::int64_t{1} << kRecipBits) / (s < 1 ? 1 : (s > cap ? cap : s));
}

// The number of significant bits of v (0 for 0).
SWS_HD int bit_length(std::uint64_t v) {
#if defined(__CUDA_ARCH__)
  return v ? 64 - __clzll(static_cast<long long>(v)) : 0;
#else
  return v ? 64 - __builtin_clzll(v) : 0;
#endif
}

// round(e · R(sum) / 2^45) for 0 ≤ e ≤ sum: e/sum in 0…256 steps of 1/256, clamped to 255.
SWS_HD std::int64_t ratio_q8(std::int64_t e, std::int64_t recip) {
  const std::int64_t cap = std::int64_t{1} << (kRecipBits - 1);
  if (e > cap) e = cap;
  // e ≤ sum keeps e · R(sum) ≤ 2^53 (bit lengths ≤ 55 together); a product that could pass
  // 2^62 means e > sum, which sums of e never give: saturate rather than overflow.
  if (bit_length(static_cast<std::uint64_t>(e)) + bit_length(static_cast<std::uint64_t>(recip)) > 62) return kOutMax;
  const std::int64_t v = (e * recip + (std::int64_t{1} << (kOutShift - 1))) >> kOutShift;
  return v > kOutMax ? kOutMax : v;
}

// Shiftmax over x[0, len) (integer logits at the scale whose x0 is given), masked entries
// being codes far below the row's maximum; out[j] in 0…255 at scale 1/256.
template <typename In, typename Out>
SWS_HD void shiftmax_row(const In* x, int len, std::int32_t x0, Out* out) {
  std::int64_t mx = x[0];
  for (int j = 1; j < len; ++j) mx = x[j] > mx ? static_cast<std::int64_t>(x[j]) : mx;
  std::int64_t sum = 0;
  for (int j = 0; j < len; ++j) sum += exp_shift(static_cast<std::int64_t>(x[j]) - mx, x0, kShiftmaxN);
  const std::int64_t recip = reciprocal(sum);
  for (int j = 0; j < len; ++j)
    out[j] = static_cast<Out>(ratio_q8(exp_shift(static_cast<std::int64_t>(x[j]) - mx, x0, kShiftmaxN), recip));
}

// ShiftGELU of one s8 code x in a row whose maximum is mx, with e2 = exp_shift(−mx, x0, 23)
// (once per row): x · σ at scale S/256.
SWS_HD std::int64_t shift_gelu_elem(std::int64_t x, std::int64_t mx, std::int64_t e2, std::int32_t x0) {
  const std::int64_t e1 = exp_shift(x - mx, x0, kShiftGeluN);
  // Both exponents below the range (a row max far above 0 and x far below it): σ by sign.
  const std::int64_t sig = e1 + e2 == 0 ? (x > 0 ? kOutMax : 0) : ratio_q8(e1, reciprocal(e1 + e2));
  return x * sig;
}

// ShiftGELU of one row of s8 codes at scale S (x0 = exp_x0(1.702·S)); out at scale S/256.
template <typename Out>
SWS_HD void shift_gelu_row(const std::int8_t* x, int len, std::int32_t x0, Out* out) {
  std::int64_t mx = x[0];
  for (int j = 1; j < len; ++j) mx = x[j] > mx ? static_cast<std::int64_t>(x[j]) : mx;
  const std::int64_t e2 = exp_shift(-mx, x0, kShiftGeluN);
  for (int j = 0; j < len; ++j) out[j] = static_cast<Out>(shift_gelu_elem(x[j], mx, e2, x0));
}

// ⌊√v⌋ for v ≥ 0: Newton's iteration from 2^⌈bits(v)/2⌉ (≥ √v), decreasing to the floor.
SWS_HD std::int64_t isqrt(std::int64_t v) {
  if (v <= 0) return 0;
  int bits = 0;
  for (std::int64_t t = v; t > 0; t >>= 1) ++bits;
  std::int64_t k = std::int64_t{1} << ((bits + 1) / 2);
  for (;;) {
    const std::int64_t next = (k + v / k) >> 1;
    if (next >= k) return k;
    k = next;
  }
}

// The same ⌊√v⌋ on the host (CPU plan): the double square root, then exact integer steps to the
// floor (the double is within one of √v); one square root instead of Newton's divisions.
inline std::int64_t isqrt_host(std::int64_t v) {
  if (v <= 0) return 0;
  constexpr std::int64_t kMaxRoot = 3037000499;  // ⌊√(2^63 − 1)⌋: (r + 1)² stays inside int64 below it
  std::int64_t r = static_cast<std::int64_t>(std::sqrt(static_cast<double>(v)));
  if (r > kMaxRoot) r = kMaxRoot;
  while (r * r > v) --r;
  while (r < kMaxRoot && (r + 1) * (r + 1) <= v) ++r;
  return r;
}

// I-LayerNorm's pieces, so a row routine and a warp-per-row kernel compute the same thing:
// the mean of a row of `len` codes summing to s, rounded half to even
// (floor((2s + len) / (2 len)), one down on exact ties with an odd result) ...
SWS_HD std::int64_t ilayernorm_mean(std::int64_t s, int len) {
  const std::int64_t den = 2 * static_cast<std::int64_t>(len);
  std::int64_t mean = floor_div(2 * s + len, den);
  if ((2 * s + len) % den == 0 && (mean & 1)) --mean;
  return mean;
}
// ... the factor floor((2^31 − 1) / ⌊√var⌋) from var = Σ (x − mean)² (0 for a constant row) ...
SWS_HD std::int64_t ilayernorm_factor(std::int64_t var) {
  const std::int64_t sd = isqrt(var);
  return sd > 0 ? kInt31 / sd : 0;
}
// ... the same with isqrt_host.
inline std::int64_t ilayernorm_factor_host(std::int64_t var) {
  const std::int64_t sd = isqrt_host(var);
  return sd > 0 ? kInt31 / sd : 0;
}
// ... and one output, floor((x − mean) · factor / 2) at scale √len / 2^30.
SWS_HD std::int32_t ilayernorm_out(std::int64_t x, std::int64_t mean, std::int64_t factor) {
  return static_cast<std::int32_t>(floor_div((x - mean) * factor, 2));
}

// I-LayerNorm's integer part over one row: y'[c] = floor((x − mean) · floor((2^31−1)/std) / 2),
// at scale √len / 2^30 (see the header comment). Returns the factor (0: a constant row, y' = 0).
template <typename In>
SWS_HD std::int64_t ilayernorm_row(const In* x, int len, std::int32_t* y) {
  std::int64_t s = 0;
  for (int c = 0; c < len; ++c) s += x[c];
  const std::int64_t mean = ilayernorm_mean(s, len);
  std::int64_t var = 0;
  for (int c = 0; c < len; ++c) {
    const std::int64_t d = static_cast<std::int64_t>(x[c]) - mean;
    var += d * d;
  }
  const std::int64_t factor = ilayernorm_factor(var);
  for (int c = 0; c < len; ++c) y[c] = ilayernorm_out(x[c], mean, factor);
  return factor;
}

// The dyadic form of a positive or negative scale (batch_frexp, 31 bits). Host side.
inline Dyadic dyadic(double scale) {
  Dyadic d;
  if (scale == 0.0 || !std::isfinite(scale)) return d;
  int e = 0;
  const double mant = std::frexp(scale, &e);  // |mant| in [0.5, 1)
  double m = std::floor(std::fabs(mant) * 2147483648.0 + 0.5);  // half up
  int shift = 31 - e;
  if (m >= 2147483648.0) m /= 2, --shift;  // a mantissa that rounded up to 2^31
  d.m = static_cast<std::int32_t>(mant < 0 ? -m : m);
  d.shift = shift;
  return d;
}

}  // namespace swinscope::ivit
