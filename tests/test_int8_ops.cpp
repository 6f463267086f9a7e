// The int8 CPU ops (engine/cpu/int8_ops.h, int8_gemm.h) against straightforward references:
// - each fused op against the FP32 engine's own loop (engine/cpu/fp32_ops.h) followed by a
//   plain quantize, within one int8 step (and float outputs within float rounding);
// - the attention GEMMs (qk_gemm, av_gemm) and oneDNN's int8 matmul bit-exact against naive
//   integer loops, with and without the ReLU post-op.
// Every fused op is checked in both implementations (plain loops, and AVX2 where the CPU
// has it) on geometries with and without a cyclic shift, odd channel counts and head sizes.
#include <QtTest>

#include <cmath>
#include <cstring>
#include <random>

#include <oneapi/dnnl/dnnl.hpp>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_gemm.h"
#include "engine/cpu/int8_ops.h"
#include "engine/ivit.h"

using namespace swinscope::cpu;
namespace q8 = swinscope::cpu::int8;
namespace ivit = swinscope::ivit;

Q_DECLARE_METATYPE(swinscope::cpu::WindowGeometry)

namespace {

std::vector<float> randn(std::size_t n, unsigned seed, float stddev = 1.f, float mean = 0.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(mean, stddev);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

template <typename T>
std::vector<T> rand_int(std::size_t n, unsigned seed, int lo, int hi) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> ud(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(ud(rng));
  return v;
}

template <typename T>
int max_step_diff(const std::vector<T>& a, const std::vector<T>& b) {
  int m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(static_cast<int>(a[i]) - static_cast<int>(b[i])));
  return m;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

std::vector<q8::Impl> impls() {
  std::vector<q8::Impl> v{q8::Impl::Plain};
  if (q8::best_impl() == q8::Impl::Avx2) v.push_back(q8::Impl::Avx2);
  return v;
}

QString impl_label(q8::Impl i) { return QString::fromLatin1(q8::impl_name(i).data(), static_cast<int>(q8::impl_name(i).size())); }

void geometry_rows() {
  QTest::addColumn<WindowGeometry>("g");
  //                                        batch  H   C  window shift heads
  QTest::newRow("SWIN-T stage 2 shape, shifted") << WindowGeometry{1, 14, 96, 7, 3, 3};
  QTest::newRow("window 7, no shift, 2 images") << WindowGeometry{2, 14, 64, 7, 0, 2};
  QTest::newRow("window 4, shift 2, d 12 (odd vectors)") << WindowGeometry{2, 8, 24, 4, 2, 2};
  QTest::newRow("window 2, shift 1, d 5") << WindowGeometry{1, 4, 10, 2, 1, 2};
}

// Channel-wise affine parameters of a LayerNorm, not neutral.
std::pair<std::vector<float>, std::vector<float>> ln_params(int C, unsigned seed) {
  return {randn(static_cast<std::size_t>(C), seed, 0.2f, 1.f), randn(static_cast<std::size_t>(C), seed + 1, 0.2f)};
}

}  // namespace

class TestInt8Ops : public QObject {
  Q_OBJECT
 private slots:
  void quantize_round_trip_and_rounding() {
    const float amax = 3.f, s = q8::signed_scale(amax), us = q8::unsigned_scale(amax);
    for (float x : randn(10000, 1, 1.f)) {
      if (std::fabs(x) > amax) continue;
      const float back = q8::dequantize_shifted(q8::quantize_shifted(x, 1.f / s), s);
      QVERIFY2(std::fabs(back - x) <= 0.5f * s * 1.0001f, qPrintable(QString("x %1 back %2").arg(x).arg(back)));
      QVERIFY(std::fabs(static_cast<float>(q8::quantize_s8(x, 1.f / s)) * s - x) <= 0.5f * s * 1.0001f);
      const float ux = std::fabs(x);
      QVERIFY(std::fabs(static_cast<float>(q8::quantize_unsigned(ux, 1.f / us)) * us - ux) <= 0.5f * us * 1.0001f);
    }
    QCOMPARE(int(q8::quantize_shifted(0.f, 1.f)), 128);  // zero point
    QCOMPARE(int(q8::quantize_shifted(1e9f, 1.f)), 255);  // saturates at +127 (+128)
    QCOMPARE(int(q8::quantize_shifted(-1e9f, 1.f)), 1);   // symmetric: −127, never −128
    QCOMPARE(int(q8::quantize_unsigned(-5.f, 1.f)), 0);
    QCOMPARE(int(q8::quantize_unsigned(300.f, 1.f)), 255);
    // Round half to even, the FPU default the vector path uses too.
    QCOMPARE(int(q8::quantize_s8(2.5f, 1.f)), 2);
    QCOMPARE(int(q8::quantize_s8(3.5f, 1.f)), 4);
    QCOMPARE(int(q8::quantize_s8(-2.5f, 1.f)), -2);
  }

  void ln1_quant_data() { geometry_rows(); }
  void ln1_quant() {
    QFETCH(WindowGeometry, g);
    const std::size_t n = static_cast<std::size_t>(g.batch) * g.H * g.H * g.C;
    const auto x = randn(n, 2, 1.5f, 0.3f);
    const auto [gamma, beta] = ln_params(g.C, 3);
    const float eps = 1e-5f, inv = 1.f / q8::signed_scale(4.f);
    std::vector<float> y(n);
    ln_shift_partition(x.data(), y.data(), g, gamma.data(), beta.data(), eps);
    std::vector<std::uint8_t> want(n);
    for (std::size_t i = 0; i < n; ++i) want[i] = q8::quantize_shifted(y[i], inv);
    for (auto impl : impls()) {
      std::vector<std::uint8_t> got(n);
      q8::ln1_quant(x.data(), got.data(), g, gamma.data(), beta.data(), eps, inv, impl);
      QVERIFY2(max_step_diff(got, want) <= 1, qPrintable(impl_label(impl)));
    }
  }

  void qkv_bias_quant_data() { geometry_rows(); }
  void qkv_bias_quant() {
    QFETCH(WindowGeometry, g);
    const int N = g.tokens_per_window(), C = g.C, d = g.head_dim();
    const long nwin = static_cast<long>(g.batch) * g.windows_per_image(), rows = nwin * N;
    const auto qkv = rand_int<std::int8_t>(static_cast<std::size_t>(rows) * 3 * C, 4, -128, 127);
    const auto bias = randn(static_cast<std::size_t>(3 * C), 5, 0.3f);
    const float deq = 0.02f, inv[3] = {1.f / 0.021f, 1.f / 0.017f, 1.f / 0.025f};
    // Reference: per part and head, (N, d) rows; k and v then packed into kT / vP.
    std::vector<std::int8_t> want[3];
    for (auto& w : want) w.resize(static_cast<std::size_t>(rows) * C);
    for (long r = 0; r < rows; ++r)
      for (int c = 0; c < 3 * C; ++c) {
        const int p = c / C, h = (c % C) / d, e = c % d;
        const long win = r / N, t = r % N;
        want[p][static_cast<std::size_t>(((win * g.heads + h) * N + t) * d + e)] =
            q8::quantize_s8(static_cast<float>(qkv[static_cast<std::size_t>(r * 3 * C + c)]) * deq + bias[static_cast<std::size_t>(c)], inv[p]);
      }
    const long heads = nwin * g.heads, ktb = q8::kt_head_bytes(N, d), vpb = q8::vp_head_bytes(N, d);
    std::vector<std::int8_t> want_kt(static_cast<std::size_t>(heads * ktb)), want_vp(static_cast<std::size_t>(heads * vpb));
    for (long b = 0; b < heads; ++b) {
      q8::pack_k_transposed(want[1].data() + b * N * d, want_kt.data() + b * ktb, N, d);
      q8::pack_v_pairs(want[2].data() + b * N * d, want_vp.data() + b * vpb, N, d);
    }
    for (auto impl : impls()) {
      // Garbage first: the op must write the padding zeros itself (buffers are shared by stages).
      std::vector<std::int8_t> q(want[0].size(), 55), kt(want_kt.size(), 55), vp(want_vp.size(), 55);
      q8::qkv_bias_quant(qkv.data(), q.data(), kt.data(), vp.data(), g, bias.data(), deq, inv, impl);
      QVERIFY2(max_step_diff(q, want[0]) <= 1 && max_step_diff(kt, want_kt) <= 1 && max_step_diff(vp, want_vp) <= 1,
               qPrintable(impl_label(impl)));
    }
  }

  void qk_gemm_is_exact_data() { geometry_rows(); }
  void qk_gemm_is_exact() {
    QFETCH(WindowGeometry, g);
    const int N = g.tokens_per_window(), Np = q8::padded_tokens(N), d = g.head_dim();
    const long wh = static_cast<long>(g.batch) * g.windows_per_image() * g.heads, ktb = q8::kt_head_bytes(N, d);
    const auto q = rand_int<std::int8_t>(static_cast<std::size_t>(wh) * N * d, 6, -127, 127);
    const auto k = rand_int<std::int8_t>(q.size(), 7, -127, 127);
    std::vector<std::int8_t> kt(static_cast<std::size_t>(wh * ktb));
    for (long b = 0; b < wh; ++b) q8::pack_k_transposed(k.data() + b * N * d, kt.data() + b * ktb, N, d);
    std::vector<std::int32_t> want(static_cast<std::size_t>(wh) * N * Np, 0);
    for (long b = 0; b < wh; ++b)
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) {
          std::int32_t acc = 0;
          for (int e = 0; e < d; ++e) acc += q[static_cast<std::size_t>((b * N + i) * d + e)] * k[static_cast<std::size_t>((b * N + j) * d + e)];
          want[static_cast<std::size_t>((b * N + i) * Np + j)] = acc;
        }
    for (auto impl : impls()) {
      std::vector<std::int32_t> got(want.size(), -1);
      q8::qk_gemm(q.data(), kt.data(), got.data(), g, impl);
      QVERIFY2(got == want, qPrintable(impl_label(impl)));
    }
  }

  void softmax_with_bias_and_mask_data() { geometry_rows(); }
  void softmax_with_bias_and_mask() {
    QFETCH(WindowGeometry, g);
    const int N = g.tokens_per_window(), Np = q8::padded_tokens(N), w = g.window;
    const long wh = static_cast<long>(g.batch) * g.windows_per_image() * g.heads;
    const auto s32 = rand_int<std::int32_t>(static_cast<std::size_t>(wh) * N * Np, 8, -20000, 20000);
    const auto table = randn(static_cast<std::size_t>((2 * w - 1) * (2 * w - 1) * g.heads), 9, 0.5f);
    std::vector<float> dense(static_cast<std::size_t>(g.heads) * N * N);
    expand_relative_position_bias(table.data(), dense.data(), w, g.heads);
    const float deq = 2e-4f, inv = 255.f;
    // Reference: the FP32 engine's softmax (which builds the shift mask itself) on the
    // dequantized scores, then quantized.
    std::vector<float> f(static_cast<std::size_t>(wh) * N * N);
    for (long b = 0; b < wh; ++b)
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j)
          f[static_cast<std::size_t>((b * N + i) * N + j)] = static_cast<float>(s32[static_cast<std::size_t>((b * N + i) * Np + j)]) * deq;
    softmax_bias_mask(f.data(), dense.data(), g);
    std::vector<std::uint8_t> want(static_cast<std::size_t>(wh) * N * Np, 0);
    for (long b = 0; b < wh; ++b)
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j)
          want[static_cast<std::size_t>((b * N + i) * Np + j)] = q8::quantize_unsigned(f[static_cast<std::size_t>((b * N + i) * N + j)], inv);
    const auto padded = q8::pad_relative_bias(dense.data(), g.heads, N);
    const auto mask = q8::shift_mask(g);
    QCOMPARE(mask.empty(), g.shift == 0);
    for (auto impl : impls()) {
      std::vector<std::uint8_t> got(want.size(), 77);
      q8::softmax_quant(s32.data(), got.data(), g, padded.data(), mask.empty() ? nullptr : mask.data(), deq, inv, impl);
      QVERIFY2(max_step_diff(got, want) <= 1, qPrintable(impl_label(impl) + QString(" max step %1").arg(max_step_diff(got, want))));
    }
  }

  void av_gemm_is_exact_data() { geometry_rows(); }
  void av_gemm_is_exact() {
    QFETCH(WindowGeometry, g);
    const int N = g.tokens_per_window(), Np = q8::padded_tokens(N), d = g.head_dim(), C = g.C;
    const long nwin = static_cast<long>(g.batch) * g.windows_per_image();
    auto p = rand_int<std::uint8_t>(static_cast<std::size_t>(nwin) * g.heads * N * Np, 10, 0, 255);
    for (std::size_t r = 0; r < p.size() / static_cast<std::size_t>(Np); ++r)
      for (int j = N; j < Np; ++j) p[r * static_cast<std::size_t>(Np) + static_cast<std::size_t>(j)] = 0;  // as softmax leaves them
    const auto v = rand_int<std::int8_t>(static_cast<std::size_t>(nwin) * g.heads * N * d, 11, -127, 127);
    const long vpb = q8::vp_head_bytes(N, d);
    std::vector<std::int8_t> vp(static_cast<std::size_t>(nwin * g.heads * vpb));
    for (long b = 0; b < nwin * g.heads; ++b) q8::pack_v_pairs(v.data() + b * N * d, vp.data() + b * vpb, N, d);
    const float requant = 1.f / 900.f;
    std::vector<std::uint8_t> want(static_cast<std::size_t>(nwin) * N * C);
    std::vector<std::int32_t> want32(want.size());
    for (long win = 0; win < nwin; ++win)
      for (int h = 0; h < g.heads; ++h)
        for (int i = 0; i < N; ++i)
          for (int e = 0; e < d; ++e) {
            std::int32_t acc = 0;
            for (int j = 0; j < N; ++j)
              acc += p[static_cast<std::size_t>(((win * g.heads + h) * N + i) * Np + j)] *
                     v[static_cast<std::size_t>(((win * g.heads + h) * N + j) * d + e)];
            want[static_cast<std::size_t>((win * N + i) * C + h * d + e)] = q8::quantize_shifted(static_cast<float>(acc) * requant, 1.f);
            want32[static_cast<std::size_t>((win * N + i) * C + h * d + e)] = acc;
          }
    for (auto impl : impls()) {
      std::vector<std::uint8_t> got(want.size(), 0);
      q8::av_gemm(p.data(), vp.data(), got.data(), g, requant, impl);
      QVERIFY2(got == want, qPrintable(impl_label(impl)));
      // The int32 form the integer-only plan uses: the same sums, not requantized.
      std::vector<std::int32_t> got32(want32.size(), -7);
      q8::av_gemm_s32(p.data(), vp.data(), got32.data(), g, impl);
      QVERIFY2(got32 == want32, qPrintable(impl_label(impl) + QStringLiteral(" (s32)")));
      // ... and with ivit's dyadic applied as each sum is formed (shifts 1…54 vectorized, the
      // others by the plain loop), against ivit::apply on those sums.
      for (const ivit::Dyadic dy : {ivit::Dyadic{1, 1}, ivit::Dyadic{1234567, 20}, ivit::Dyadic{-987654321, 31},
                                    ivit::Dyadic{2147483647, 62}, ivit::Dyadic{3, 0}, ivit::Dyadic{5, 70},
                                    ivit::Dyadic{2147483647, 54}, ivit::Dyadic{2147483647, 55},
                                    ivit::Dyadic{123456789, 36}, ivit::Dyadic{-2147483647, 40},
                                    ivit::Dyadic{1073741824, 44}, ivit::Dyadic{-1073741824, 45}}) {
        std::vector<std::int8_t> got8(want32.size(), 99), want8(want32.size());
        for (std::size_t k = 0; k < want32.size(); ++k) want8[k] = static_cast<std::int8_t>(ivit::sat(ivit::apply(want32[k], dy), 127));
        q8::av_gemm_dyadic(p.data(), vp.data(), got8.data(), g, dy.m, dy.shift, impl);
        QVERIFY2(got8 == want8, qPrintable(impl_label(impl) + QStringLiteral(" (dyadic %1 / 2^%2)").arg(dy.m).arg(dy.shift)));
      }
    }
  }

  void proj_residual_ln2_quant_data() { geometry_rows(); }
  void proj_residual_ln2_quant() {
    QFETCH(WindowGeometry, g);
    const std::size_t n = static_cast<std::size_t>(g.batch) * g.H * g.H * g.C;
    const auto proj = rand_int<std::int8_t>(n, 12, -127, 127);
    const auto x0 = randn(n, 13, 1.f);
    const auto bias = randn(static_cast<std::size_t>(g.C), 14, 0.2f);
    const auto [gamma, beta] = ln_params(g.C, 15);
    const float deq = 0.01f, eps = 1e-5f, inv = 1.f / q8::signed_scale(3.5f);
    std::vector<float> attn(n), xr = x0, ln(n);
    for (std::size_t i = 0; i < n; ++i) attn[i] = static_cast<float>(proj[i]) * deq + bias[i % static_cast<std::size_t>(g.C)];
    window_reverse_residual_ln(attn.data(), xr.data(), ln.data(), g, gamma.data(), beta.data(), eps);
    std::vector<std::uint8_t> want(n);
    for (std::size_t i = 0; i < n; ++i) want[i] = q8::quantize_shifted(ln[i], inv);
    for (auto impl : impls()) {
      auto x = x0;
      std::vector<std::uint8_t> got(n);
      q8::proj_residual_ln2_quant(proj.data(), x.data(), got.data(), g, bias.data(), deq, gamma.data(), beta.data(), eps, inv, impl);
      QVERIFY2(max_abs_diff(x, xr) <= 1e-5, qPrintable(impl_label(impl)));
      QVERIFY2(max_step_diff(got, want) <= 1, qPrintable(impl_label(impl)));
    }
  }

  void fc1_bias_gelu_quant_data() {
    QTest::addColumn<int>("hidden");
    QTest::addColumn<bool>("with_bias");
    QTest::newRow("384, bias") << 384 << true;
    QTest::newRow("36 (vector tail), bias") << 36 << true;
    QTest::newRow("64, no bias") << 64 << false;
  }
  void fc1_bias_gelu_quant() {
    QFETCH(int, hidden);
    QFETCH(bool, with_bias);
    const long rows = 50;
    const auto h = rand_int<std::int8_t>(static_cast<std::size_t>(rows) * hidden, 16, -128, 127);
    const auto bias = randn(static_cast<std::size_t>(hidden), 17, 0.5f);
    const float deq = 4.f / 127.f, inv = 1.f / q8::signed_scale(4.f);
    std::vector<std::uint8_t> want(h.size());
    for (std::size_t i = 0; i < h.size(); ++i) {
      const double v = h[i] * static_cast<double>(deq) + (with_bias ? bias[i % static_cast<std::size_t>(hidden)] : 0.f);
      want[i] = q8::quantize_shifted(static_cast<float>(0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)))), inv);
    }
    for (auto impl : impls()) {
      std::vector<std::uint8_t> got(h.size());
      q8::fc1_bias_gelu_quant(h.data(), got.data(), rows, hidden, with_bias ? bias.data() : nullptr, deq, inv, impl);
      QVERIFY2(max_step_diff(got, want) <= 1, qPrintable(impl_label(impl)));
    }
  }

  void fc2_bias_residual() {
    const long rows = 33;
    const int C = 44;
    const auto y = rand_int<std::int8_t>(static_cast<std::size_t>(rows) * C, 18, -128, 127);
    const auto x0 = randn(y.size(), 19);
    const auto bias = randn(static_cast<std::size_t>(C), 20, 0.3f);
    const float deq = 0.013f;
    std::vector<float> want = x0;
    for (std::size_t i = 0; i < want.size(); ++i) want[i] += static_cast<float>(y[i]) * deq + bias[i % C];
    for (auto impl : impls()) {
      auto x = x0;
      q8::fc2_bias_residual(y.data(), x.data(), rows, C, bias.data(), deq, impl);
      QVERIFY2(max_abs_diff(x, want) <= 1e-6, qPrintable(impl_label(impl)));
    }
  }

  void merge_ln_quant_data() {
    QTest::addColumn<int>("batch");
    QTest::addColumn<int>("H");
    QTest::addColumn<int>("C");
    QTest::newRow("SWIN-T first merge shape") << 1 << 56 << 96;
    QTest::newRow("odd channel count") << 2 << 8 << 13;
  }
  void merge_ln_quant() {
    QFETCH(int, batch);
    QFETCH(int, H);
    QFETCH(int, C);
    const std::size_t n = static_cast<std::size_t>(batch) * H * H * C;
    const auto x = randn(n, 21, 2.f);
    const auto [gamma, beta] = ln_params(4 * C, 22);
    const float eps = 1e-5f, inv = 1.f / q8::signed_scale(5.f);
    std::vector<float> y(n);
    merge_gather_ln(x.data(), y.data(), batch, H, C, gamma.data(), beta.data(), eps);
    std::vector<std::uint8_t> want(n);
    for (std::size_t i = 0; i < n; ++i) want[i] = q8::quantize_shifted(y[i], inv);
    for (auto impl : impls()) {
      std::vector<std::uint8_t> got(n);
      q8::merge_ln_quant(x.data(), got.data(), batch, H, C, gamma.data(), beta.data(), eps, inv, impl);
      QVERIFY2(max_step_diff(got, want) <= 1, qPrintable(impl_label(impl)));
    }
  }

  void seven_bit_weights_round_half_to_even() {
    const std::vector<std::int8_t> w{3, 5, -3, 127, -127, 1, -1, 0};
    const float scale = 0.5f;
    const Int8LinearWeights lw(w.data(), &scale, 1, 1, static_cast<int>(w.size()), true);
    const std::vector<std::int8_t> want{2, 2, -2, 64, -64, 0, 0, 0};
    QVERIFY(lw.values() == want);
    QCOMPARE(lw.scale(0), 1.f);
    const Int8LinearWeights full(w.data(), &scale, 1, 1, static_cast<int>(w.size()), false);
    QVERIFY(full.values() == w);
  }

  void int8_gemm_bit_exact_data() {
    QTest::addColumn<int>("src");  // Int8Src
    QTest::addColumn<int>("dst");  // Int8Dst
    QTest::addColumn<bool>("per_channel");
    QTest::addColumn<int>("K");
    for (int s : {0, 1})
      for (int d : {0, 1, 2})
        for (bool pc : {false, true}) {
          const char* sn[] = {"u8 zp128", "u8"};
          const char* dn[] = {"-> s8", "-> relu u8", "-> f32"};
          QTest::newRow(qPrintable(QString("%1 %2 %3").arg(sn[s], dn[d], pc ? "per-channel" : "per-tensor")))
              << s << d << pc << (pc ? 96 : 40);
        }
  }
  void int8_gemm_bit_exact() {
    QFETCH(int, src);
    QFETCH(int, dst);
    QFETCH(bool, per_channel);
    QFETCH(int, K);
    const int M = 37, N = 72;
    auto a = rand_int<std::uint8_t>(static_cast<std::size_t>(M) * K, 23, 0, 255);
    auto w = rand_int<std::int8_t>(static_cast<std::size_t>(N) * K, 24, -127, 127);
    // The worst case for a saturating int16 pair sum: a row of 255s against a column of
    // +127s (which the 7-bit re-rounding must keep exact on CPUs without VNNI).
    for (int k = 0; k < K; ++k) {
      a[static_cast<std::size_t>(k)] = 255;
      w[static_cast<std::size_t>(k)] = 127;
    }
    std::vector<float> scales = per_channel ? randn(static_cast<std::size_t>(N), 25, 0.002f, 0.01f) : std::vector<float>{0.01f};
    for (auto& s : scales) s = std::fabs(s) + 1e-4f;
    Int8LinearWeights lw(w.data(), scales.data(), static_cast<int>(scales.size()), N, K, int8_gemm_needs_7bit_weights());
    const auto src_kind = static_cast<Int8Src>(src);
    const auto dst_kind = static_cast<Int8Dst>(dst);
    const float src_scale = 0.05f, dst_scale = dst_kind == Int8Dst::U8Relu ? 30.f / 255.f : 30.f / 127.f;
    const std::size_t bytes = static_cast<std::size_t>(M) * N * (dst_kind == Int8Dst::F32 ? 4 : 1);
    std::vector<unsigned char> got(bytes, 0xAB), want(bytes, 0xCD);
    dnnl::engine eng(dnnl::engine::kind::cpu, 0);
    dnnl::stream strm(eng);
    BoundInt8Gemm gemm(eng, strm, lw, M, Int8GemmIo{a.data(), src_kind, src_scale, got.data(), dst_kind, dst_scale});
    gemm.execute(strm);
    strm.wait();
    int8_gemm_reference(a.data(), src_kind, lw, M, int8_output_scales(lw, src_scale, dst_kind, dst_scale), dst_kind, want.data());
    QVERIFY2(std::memcmp(got.data(), want.data(), bytes) == 0, qPrintable(QString::fromStdString(gemm.describe())));
    // The test means something only if the outputs are not all saturated or all zero.
    if (dst_kind == Int8Dst::S8) {
      int inside = 0;
      for (auto b : got) inside += std::abs(static_cast<int>(static_cast<std::int8_t>(b))) < 127;
      QVERIFY(inside > M * N / 4);
    }
  }
};

QTEST_APPLESS_MAIN(TestInt8Ops)
#include "test_int8_ops.moc"
