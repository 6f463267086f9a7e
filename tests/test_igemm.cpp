// The exact integer GEMM of the integer-only plan (engine/cpu/igemm.h): every kernel the CPU runs, s8 and
// u8 activations, against a naive int64 triple loop, bit for bit, on shapes that hit every
// edge of the packing and blocking (K odd, N not a multiple of 16, M not a multiple of the
// register block, K across cache blocks), with full-range and all-extreme operands and
// sentinels around the output.
#include <QtTest>

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/cpu/igemm.h"
#include "engine/error.h"
#include "engine/ivit.h"

using namespace swinscope;
using namespace swinscope::cpu;

namespace {

constexpr std::int32_t kSentinel = 0x5EADBEEF;
constexpr long kGuard = 16;

template <typename A>
std::vector<std::int64_t> reference(const std::vector<A>& a, long M, const std::vector<std::int8_t>& w, int N, int K) {
  std::vector<std::int64_t> r(static_cast<std::size_t>(M * N));
  for (long m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      std::int64_t s = 0;
      for (int k = 0; k < K; ++k)
        s += static_cast<std::int64_t>(a[static_cast<std::size_t>(m * K + k)]) * w[static_cast<std::size_t>(n) * K + k];
      r[static_cast<std::size_t>(m * N + n)] = s;
    }
  return r;
}

// Full range, with the extremes over-represented (a uniform draw rarely hits them).
template <typename T>
T draw(std::mt19937& rng) {
  constexpr int lo = std::is_signed_v<T> ? -128 : 0, hi = std::is_signed_v<T> ? 127 : 255;
  const unsigned u = rng() % 16;
  if (u == 0) return static_cast<T>(lo);
  if (u == 1) return static_cast<T>(hi);
  return static_cast<T>(lo + static_cast<int>(rng() % (hi - lo + 1)));
}

// Every kernel this CPU runs (the others would only repeat the fallback's result).
std::vector<IGemmKernel> kernels() {
  std::vector<IGemmKernel> k;
  for (IGemmKernel c : {IGemmKernel::Plain, IGemmKernel::Avx2, IGemmKernel::Avx512Vnni})
    if (igemm_kernel_available(c)) k.push_back(c);
  return k;
}

// Runs every kernel on (a, w) and compares with the reference; returns "" or the first mismatch.
template <typename A>
std::string check(const std::vector<A>& a, long M, const std::vector<std::int8_t>& w, int N, int K) {
  const IGemmWeights packed(w.data(), N, K);
  const auto ref = reference(a, M, w, N, K);
  for (IGemmKernel kern : kernels()) {
    std::vector<std::int32_t> out(static_cast<std::size_t>(M * N + 2 * kGuard), kSentinel);
    igemm(a.data(), M, packed, out.data() + kGuard, kern);
    const std::string where = igemm_kernel_name(kern) + (std::is_signed_v<A> ? " s8" : " u8") + " M=" + std::to_string(M) +
                              " N=" + std::to_string(N) + " K=" + std::to_string(K);
    for (long i = 0; i < kGuard; ++i)
      if (out[static_cast<std::size_t>(i)] != kSentinel || out[static_cast<std::size_t>(kGuard + M * N + i)] != kSentinel)
        return where + ": wrote outside acc";
    for (long i = 0; i < M * N; ++i)
      if (out[static_cast<std::size_t>(kGuard + i)] != ref[static_cast<std::size_t>(i)])
        return where + ": acc[" + std::to_string(i / N) + "][" + std::to_string(i % N) + "] = " +
               std::to_string(out[static_cast<std::size_t>(kGuard + i)]) + ", expected " +
               std::to_string(ref[static_cast<std::size_t>(i)]);
  }
  return {};
}

// Random A (M, K) and W (N, K) with an all-extreme first row and column: the largest sums in
// magnitude (255 or −128 against −128).
template <typename A>
std::pair<std::vector<A>, std::vector<std::int8_t>> random_operands(std::mt19937& rng, long M, int N, int K) {
  std::vector<A> a(static_cast<std::size_t>(M * K));
  std::vector<std::int8_t> w(static_cast<std::size_t>(N) * K);
  for (auto& x : a) x = draw<A>(rng);
  for (auto& x : w) x = draw<std::int8_t>(rng);
  for (int k = 0; k < K; ++k) a[static_cast<std::size_t>(k)] = std::is_signed_v<A> ? A(-128) : A(255);
  for (int k = 0; k < K; ++k) w[static_cast<std::size_t>(k)] = -128;
  return {std::move(a), std::move(w)};
}

template <typename A>
std::string random_case(std::mt19937& rng, long M, int N, int K) {
  auto [a, w] = random_operands<A>(rng, M, N, K);
  if (N > 1)
    for (int k = 0; k < K; ++k) w[static_cast<std::size_t>(K + k)] = 127;
  return check(a, M, w, N, K);
}

// ---- igemm_fused: the requantization epilogue against igemm's definition, scalar ----

// One call's epilogue and the arrays it points to.
struct FusedParams {
  std::vector<std::int64_t> bias;
  std::vector<std::int32_t> m, shift;
  IGemmEpilogue e;
};

enum class ShiftMix { Vector, ScalarColumns, ResidualShift0 };

std::int64_t uniform(std::mt19937& rng, std::int64_t lo, std::int64_t hi) {
  return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
}

// Per-column dyadics that put the outputs around ±target (some far beyond: clamping), some
// negative multipliers, some biases near ±2³¹ (acc + bias outside int32; every product with
// m ≥ 2²⁹ is above 2³¹). ScalarColumns: some columns get shifts ≤ 0 or ≥ 63 (apply()'s special
// cases, so the whole call takes the scalar path); ResidualShift0: the residual's shift is 0.
FusedParams make_params(std::mt19937& rng, IGemmOut out, int N, std::int64_t amax, ShiftMix mix) {
  FusedParams p;
  std::int64_t target = 200;
  switch (out) {
    case IGemmOut::S8: p.e.lo = -128, p.e.hi = 127; break;
    case IGemmOut::U8: p.e.lo = 0, p.e.hi = 255, target = 300; break;
    case IGemmOut::S32:
      p.e.lo = -(std::int64_t{1} << 20), p.e.hi = std::int64_t{1} << 20, target = std::int64_t{1} << 21;
      if (rng() % 2) p.e.lo = -2147483647 - 1, p.e.hi = 2147483647;
      break;
    case IGemmOut::S16: p.e.lo = -32768, p.e.hi = 32767, target = 40000; break;
    case IGemmOut::Residual:
    case IGemmOut::Residual16:
      p.e.lo = -32767, p.e.hi = 32767, target = 40000;
      if (rng() % 2) p.e.lo = -(std::int64_t{1} << 40), p.e.hi = std::int64_t{1} << 40;
      break;
  }
  p.e.out = out;
  for (int n = 0; n < N; ++n) {
    std::int32_t m = static_cast<std::int32_t>(uniform(rng, std::int64_t{1} << 29, 2147483647));
    if (rng() % 4 == 0) m = -m;
    // m · amax / 2^shift ≈ target · 2^(−1…3)
    const int bits = ivit::bit_length(static_cast<std::uint64_t>(std::abs(static_cast<std::int64_t>(m)) * amax / target));
    int shift = std::clamp(bits + static_cast<int>(uniform(rng, -3, 1)), 1, 62);
    if (rng() % 16 == 0) shift = rng() % 2 ? 1 : 62;  // the vector path's ends
    std::int64_t bias = uniform(rng, -amax / 2, amax / 2);
    if (rng() % 8 == 0) bias = uniform(rng, -(std::int64_t{1} << 31), std::int64_t{1} << 31);
    if (mix == ShiftMix::ScalarColumns && rng() % 3 == 0) {
      if (rng() % 2) {
        shift = static_cast<int>(uniform(rng, -8, 0));  // a left shift: small multipliers keep it in int64
        m = static_cast<std::int32_t>(uniform(rng, -1000, 1000));
      } else {
        shift = static_cast<int>(uniform(rng, 63, 100));  // apply() gives 0
      }
    }
    p.bias.push_back(bias), p.m.push_back(m), p.shift.push_back(shift);
  }
  if (mix == ShiftMix::ScalarColumns) p.shift[static_cast<std::size_t>(N - 1)] = 0;  // at least one
  p.e.bias = p.bias.data(), p.e.m = p.m.data(), p.e.shift = p.shift.data();
  p.e.res_m = static_cast<std::int32_t>(uniform(rng, std::int64_t{1} << 29, 2147483647));
  p.e.res_shift = 31;
  if (mix == ShiftMix::ResidualShift0) p.e.res_m = static_cast<std::int32_t>(uniform(rng, -3, 3)), p.e.res_shift = 0;
  return p;
}

// dst after the definition: igemm's exact acc, then the scalar formula of engine/cpu/igemm.h.
template <typename Out>
void reference_epilogue(const std::vector<std::int64_t>& acc, long M, int N, const IGemmEpilogue& e, std::vector<Out>& dst) {
  for (long r = 0; r < M; ++r)
    for (int n = 0; n < N; ++n) {
      const std::int64_t v = ivit::clamp64(
          ivit::apply(acc[static_cast<std::size_t>(r * N + n)] + (e.bias ? e.bias[n] : 0), {e.m[n], e.shift[n]}), e.lo, e.hi);
      Out& d = dst[static_cast<std::size_t>((e.row_map ? e.row_map[r] : r) * e.ldd + n)];
      if (e.out == IGemmOut::Residual || e.out == IGemmOut::Residual16)
        d = static_cast<Out>(ivit::sat(v + ivit::apply(static_cast<std::int64_t>(d), {e.res_m, e.res_shift}), 32767));
      else
        d = static_cast<Out>(v);
    }
}

// Every kernel against reference_epilogue on a dst of rows with stride N + 3 (the 3 padding
// columns must stay as they were); returns "" or the first mismatch.
template <typename Out, typename A>
std::string check_fused(std::mt19937& rng, const std::vector<A>& a, long M, const IGemmWeights& packed,
                        const std::vector<std::int64_t>& acc, FusedParams& p, const std::string& what, bool best_only) {
  const int N = packed.N();
  p.e.ldd = N + 3;
  std::vector<Out> init(static_cast<std::size_t>(M * p.e.ldd));
  for (auto& x : init)
    x = p.e.out == IGemmOut::Residual     ? static_cast<Out>(uniform(rng, -40000, 40000))
        : p.e.out == IGemmOut::Residual16 ? static_cast<Out>(uniform(rng, -32767, 32767))
                                          : static_cast<Out>(rng());
  std::vector<Out> ref = init;
  reference_epilogue(acc, M, N, p.e, ref);
  const std::vector<IGemmKernel> ks = best_only ? std::vector<IGemmKernel>{best_igemm_kernel()} : kernels();
  for (IGemmKernel kern : ks) {
    std::vector<Out> out = init;
    IGemmEpilogue e = p.e;
    e.dst = out.data();
    if (best_only)
      igemm_fused(a.data(), M, packed, e);
    else
      igemm_fused(a.data(), M, packed, e, kern);
    for (std::size_t i = 0; i < out.size(); ++i)
      if (out[i] != ref[i])
        return igemm_kernel_name(kern) + (std::is_signed_v<A> ? " s8" : " u8") + " " + what + ": dst[" +
               std::to_string(static_cast<long>(i) / p.e.ldd) + "][" + std::to_string(static_cast<long>(i) % p.e.ldd) +
               "] = " + std::to_string(static_cast<long>(out[i])) + ", expected " + std::to_string(static_cast<long>(ref[i])) +
               " (was " + std::to_string(static_cast<long>(init[i])) + ")";
  }
  return {};
}

const char* out_name(IGemmOut o) {
  switch (o) {
    case IGemmOut::S8: return "S8";
    case IGemmOut::U8: return "U8";
    case IGemmOut::S16: return "S16";
    case IGemmOut::S32: return "S32";
    case IGemmOut::Residual: return "Residual";
    case IGemmOut::Residual16: return "Residual16";
  }
  return "?";
}

// check_fused with the destination type of p.e.out.
template <typename A>
std::string check_fused_out(std::mt19937& rng, const std::vector<A>& a, long M, const IGemmWeights& packed,
                            const std::vector<std::int64_t>& acc, FusedParams& p, const std::string& what, bool best_only) {
  switch (p.e.out) {
    case IGemmOut::S8: return check_fused<std::int8_t>(rng, a, M, packed, acc, p, what, best_only);
    case IGemmOut::U8: return check_fused<std::uint8_t>(rng, a, M, packed, acc, p, what, best_only);
    case IGemmOut::S16:
    case IGemmOut::Residual16: return check_fused<std::int16_t>(rng, a, M, packed, acc, p, what, best_only);
    case IGemmOut::S32:
    case IGemmOut::Residual: return check_fused<std::int32_t>(rng, a, M, packed, acc, p, what, best_only);
  }
  return "bad IGemmOut";
}

// A random GEMM (with an all-extreme row and column), its exact acc, and an epilogue of the
// given kind, through every kernel (or the default overload only).
template <typename A>
std::string fused_case(std::mt19937& rng, long M, int N, int K, IGemmOut out, ShiftMix mix, bool permute, bool null_bias = false,
                       bool best_only = false) {
  const auto [a, w] = random_operands<A>(rng, M, N, K);
  const IGemmWeights packed(w.data(), N, K);
  const auto acc = reference(a, M, w, N, K);
  std::int64_t amax = 1;
  for (std::int64_t v : acc) amax = std::max(amax, std::abs(v));
  FusedParams p = make_params(rng, out, N, amax, mix);
  if (null_bias) p.e.bias = nullptr;
  std::vector<long> map(static_cast<std::size_t>(M));
  for (long r = 0; r < M; ++r) map[static_cast<std::size_t>(r)] = r;
  if (permute) {
    std::shuffle(map.begin(), map.end(), rng);
    p.e.row_map = map.data();
  }
  const std::string what = std::string(out_name(out)) + " M=" + std::to_string(M) + " N=" + std::to_string(N) +
                           " K=" + std::to_string(K) + (permute ? " row_map" : "") +
                           (mix == ShiftMix::ScalarColumns ? " scalar shifts" : mix == ShiftMix::ResidualShift0 ? " res_shift 0" : "") +
                           (null_bias ? " no bias" : "");
  return check_fused_out(rng, a, M, packed, acc, p, what, best_only);
}

// fused_case with s8 activations (row map as `permute` says), then with u8 ones (the other
// way): "" or the first failure.
std::string fused_both(std::mt19937& rng, long M, int N, int K, IGemmOut out, ShiftMix mix, bool permute) {
  const std::string e8 = fused_case<std::int8_t>(rng, M, N, K, out, mix, permute);
  return !e8.empty() ? e8 : fused_case<std::uint8_t>(rng, M, N, K, out, mix, !permute);
}

constexpr IGemmOut kOuts[] = {IGemmOut::S8, IGemmOut::U8, IGemmOut::S16, IGemmOut::S32, IGemmOut::Residual, IGemmOut::Residual16};

}  // namespace

class TestIGemm : public QObject {
  Q_OBJECT

 private slots:
  void names() {
    QVERIFY(igemm_kernel_name(IGemmKernel::Plain) == "plain");
    QVERIFY(igemm_kernel_name(IGemmKernel::Avx2).rfind("avx2 vpmaddwd ", 0) == 0);
    QVERIFY(igemm_kernel_name(IGemmKernel::Avx512Vnni).rfind("avx512-vnni vpdpbusd ", 0) == 0);
    QCOMPARE(QString::fromStdString(igemm_impl()), QString::fromStdString(igemm_kernel_name(best_igemm_kernel())));
    QVERIFY(igemm_kernel_available(best_igemm_kernel()));
    std::string tested;
    for (IGemmKernel k : kernels()) tested += (tested.empty() ? "" : ", ") + igemm_kernel_name(k);
    qInfo("igemm kernel on this CPU: %s; tested here: %s", igemm_impl().c_str(), tested.c_str());
    if (kernels().size() < 3) qInfo("kernels this CPU lacks are not tested here");
  }

  void refusesBadShapes() {
    const std::vector<std::int8_t> w(16, 1);
    QVERIFY_THROWS_EXCEPTION(Error, IGemmWeights(w.data(), 0, 16));
    QVERIFY_THROWS_EXCEPTION(Error, IGemmWeights(w.data(), 1, 0));
    QVERIFY_THROWS_EXCEPTION(Error, IGemmWeights(w.data(), 1, kIGemmMaxK + 1));
  }

  // Edges: every combination of small/odd/block-boundary M, N and K.
  void edgeShapes() {
    std::mt19937 rng(11);
    for (long M : {1L, 2L, 3L, 4L, 5L, 6L, 7L, 13L, 49L, 72L, 73L, 151L})
      for (int N : {1, 7, 8, 15, 16, 17, 33, 100})
        for (int K : {1, 2, 3, 4, 15, 16, 17, 96, 511, 512, 513, 600}) {
          const std::string e8 = random_case<std::int8_t>(rng, M, N, K);
          QVERIFY2(e8.empty(), e8.c_str());
          const std::string eu = random_case<std::uint8_t>(rng, M, N, K);
          QVERIFY2(eu.empty(), eu.c_str());
        }
  }

  // SWIN-T's and the bundled model's shapes (M reduced where only the row count differs).
  void modelShapes() {
    struct S {
      long M;
      int N, K;
    };
    std::mt19937 rng(12);
    for (S s : {S{3136, 384, 96}, S{3136, 96, 384}, S{200, 288, 96}, S{784, 192, 768}, S{196, 1152, 384},
                S{49, 3072, 768}, S{49, 768, 3072}, S{49, 768, 768}, S{64, 32, 128}, S{64, 128, 32}, S{16, 1000, 768},
                S{50, 10, 128}}) {
      const std::string e8 = random_case<std::int8_t>(rng, s.M, s.N, s.K);
      QVERIFY2(e8.empty(), e8.c_str());
      const std::string eu = random_case<std::uint8_t>(rng, s.M, s.N, s.K);
      QVERIFY2(eu.empty(), eu.c_str());
    }
  }

  // The documented bound: K = 65536 products of 255·(−128) is −2 139 095 040, still int32.
  void largestK() {
    const int K = kIGemmMaxK, N = 17;
    const long M = 5;
    std::vector<std::uint8_t> a(static_cast<std::size_t>(M * K), 255);
    std::vector<std::int8_t> w(static_cast<std::size_t>(N) * K, -128);
    for (int k = 0; k < K; ++k) w[static_cast<std::size_t>(K + k)] = 127;
    const std::string e = check(a, M, w, N, K);
    QVERIFY2(e.empty(), e.c_str());
    std::vector<std::int8_t> a8(static_cast<std::size_t>(M * K), -128);
    const std::string e8 = check(a8, M, w, N, K);
    QVERIFY2(e8.empty(), e8.c_str());
  }

  // The tiling splits by panels when rows are few, differently for each thread count.
  void threadCounts() {
    const int saved = omp_get_max_threads();
    std::mt19937 rng(13);
    for (int t : {1, 2, 3, 5}) {
      omp_set_num_threads(t);
      for (long M : {1L, 49L, 130L, 400L}) {
        const std::string e = random_case<std::int8_t>(rng, M, 200, 130);
        QVERIFY2(e.empty(), (e + " threads=" + std::to_string(t)).c_str());
      }
    }
    omp_set_num_threads(saved);
  }

  // igemm_fused, vector path (every shift in 1…62): each output kind, s8 and u8, M across the
  // register block (6) and row chunk (72), N across panels (16) and panel pairs (32), K odd and
  // across K blocks (1024 for VNNI, 512 for AVX2), with and without a permuted row_map.
  void fusedOutputs() {
    std::mt19937 rng(21);
    int i = 0;
    for (IGemmOut out : kOuts)
      for (long M : {1L, 5L, 49L, 151L})
        for (int N : {3, 40, 96})
          for (int K : {1, 7, 96, 1025, 2100}) {
            const std::string e = fused_both(rng, M, N, K, out, ShiftMix::Vector, (i++ % 2) == 1);
            QVERIFY2(e.empty(), e.c_str());
          }
  }

  // Shifts outside 1…62 in some columns (the scalar path), and a residual with shift 0.
  void fusedScalarPath() {
    std::mt19937 rng(22);
    for (IGemmOut out : kOuts)
      for (long M : {1L, 49L, 151L})
        for (int N : {3, 40, 96})
          for (int K : {7, 1100}) {
            const std::string e = fused_both(rng, M, N, K, out, ShiftMix::ScalarColumns, true);
            QVERIFY2(e.empty(), e.c_str());
          }
    for (IGemmOut out : {IGemmOut::Residual, IGemmOut::Residual16})
      for (long M : {5L, 151L})
        for (int N : {3, 40, 96})
          for (int K : {7, 1100}) {
            const std::string e = fused_both(rng, M, N, K, out, ShiftMix::ResidualShift0, true);
            QVERIFY2(e.empty(), e.c_str());
          }
  }

  // The int32-lane form of the AVX-512 epilogue (igemm.cpp epilogue_narrow), where the weights
  // bound every result inside ±2^30: small weights, every output kind but Residual, hi at the
  // type's maximum (saturating stores) and below it, against the definition; then one column
  // whose extreme accumulator puts the result just below 2^30 (taken, exact at the edge) and
  // a bias 3 more (refused: the 64-bit form, still exact).
  void fusedNarrowPath() {
    std::mt19937 rng(25);
    const bool vnni = igemm_kernel_available(IGemmKernel::Avx512Vnni);
    int i = 0;
    for (IGemmOut out : {IGemmOut::S8, IGemmOut::U8, IGemmOut::S16, IGemmOut::S32, IGemmOut::Residual16})
      for (long M : {1L, 49L, 151L})
        for (int N : {3, 40, 96}) {
          const int K = 96;
          auto [a, w] = random_operands<std::int8_t>(rng, M, N, K);
          for (auto& x : w) x = static_cast<std::int8_t>(x / 8);  // |w| ≤ 16: Σ|w| ≤ 1536
          const IGemmWeights packed(w.data(), N, K);
          const auto acc = reference(a, M, w, N, K);
          std::int64_t amax = 1;
          for (std::int64_t v : acc) amax = std::max(amax, std::abs(v));
          FusedParams p = make_params(rng, out, N, amax, ShiftMix::Vector);
          for (auto& b : p.bias) b = std::clamp<std::int64_t>(b, -amax, amax);
          for (auto& sh : p.shift) sh = std::clamp(sh, 20, 62);  // results below 2^30
          if (out == IGemmOut::Residual16) p.e.res_shift = 31;
          if (++i % 3 == 0) p.e.hi -= 5;  // not the type's maximum: clamped, not saturated
          QVERIFY2(igemm_narrow_epilogue_applies(p.e, packed, true) == vnni, out_name(out));
          const std::string what = std::string(out_name(out)) + " narrow M=" + std::to_string(M) + " N=" + std::to_string(N);
          const std::string e = check_fused_out(rng, a, M, packed, acc, p, what, false);
          QVERIFY2(e.empty(), e.c_str());
        }
    // The edge: a = −128, w = −127 (acc = 128·Σ|w|, the bound itself), m = 2^31 − 1, shift 24.
    const int K = 40, N = 1;
    const long M = 7;
    std::vector<std::int8_t> a(static_cast<std::size_t>(M * K), -128), w(static_cast<std::size_t>(K), -127);
    for (long r = 1; r < M; ++r) a[static_cast<std::size_t>(r * K + r)] = static_cast<std::int8_t>(r * 17);  // acc just below
    const IGemmWeights packed(w.data(), N, K);
    const auto acc = reference(a, M, w, N, K);
    const std::int64_t top = 128LL * 127 * K;
    for (std::int64_t extra : {0, 3}) {
      FusedParams p;
      p.m = {2147483647}, p.shift = {24};
      p.bias = {(std::int64_t{1} << 23) - top - 2 + extra};  // (top + bias)·m / 2^24 just below 2^30
      p.e.bias = p.bias.data(), p.e.m = p.m.data(), p.e.shift = p.shift.data();
      p.e.out = IGemmOut::S32, p.e.lo = INT32_MIN, p.e.hi = INT32_MAX;
      QCOMPARE(igemm_narrow_epilogue_applies(p.e, packed, true), vnni && extra == 0);
      const std::string e = check_fused<std::int32_t>(rng, a, M, packed, acc, p, "edge +" + std::to_string(extra), false);
      QVERIFY2(e.empty(), e.c_str());
    }
  }

  // A null bias is zero; the overloads without a kernel run the default one; null m, shift or
  // dst are refused.
  void fusedDefaults() {
    std::mt19937 rng(23);
    for (IGemmOut out : kOuts) {
      const std::string e = fused_case<std::int8_t>(rng, 49, 40, 1025, out, ShiftMix::Vector, true, true);
      QVERIFY2(e.empty(), e.c_str());
      const std::string eb = fused_case<std::uint8_t>(rng, 151, 96, 300, out, ShiftMix::Vector, true, false, true);
      QVERIFY2(eb.empty(), eb.c_str());
    }
    const std::vector<std::int8_t> w(16, 1), a(16, 1);
    const IGemmWeights packed(w.data(), 1, 16);
    const std::int32_t m = 1, shift = 1;
    std::int8_t dst = 0;
    IGemmEpilogue e;
    e.m = &m, e.shift = &shift, e.dst = &dst, e.ldd = 1, e.lo = -128, e.hi = 127;
    igemm_fused(a.data(), 1, packed, e);
    QCOMPARE(static_cast<int>(dst), 8);  // (16 · 1 + 1) >> 1
    IGemmEpilogue bad = e;
    bad.m = nullptr;
    QVERIFY_THROWS_EXCEPTION(Error, igemm_fused(a.data(), 1, packed, bad));
    bad = e, bad.shift = nullptr;
    QVERIFY_THROWS_EXCEPTION(Error, igemm_fused(a.data(), 1, packed, bad));
    bad = e, bad.dst = nullptr;
    QVERIFY_THROWS_EXCEPTION(Error, igemm_fused(a.data(), 1, packed, bad));
  }

  // The fused tiles split by panels as igemm's do, differently for each thread count.
  void fusedThreadCounts() {
    const int saved = omp_get_max_threads();
    std::mt19937 rng(24);
    for (int t : {1, 2, 3, 5}) {
      omp_set_num_threads(t);
      for (long M : {1L, 49L, 130L, 400L})
        for (IGemmOut out : {IGemmOut::S8, IGemmOut::Residual, IGemmOut::Residual16}) {
          const std::string e = fused_case<std::int8_t>(rng, M, 200, 130, out, ShiftMix::Vector, true);
          QVERIFY2(e.empty(), (e + " threads=" + std::to_string(t)).c_str());
        }
    }
    omp_set_num_threads(saved);
  }
};

QTEST_APPLESS_MAIN(TestIGemm)
#include "test_igemm.moc"
