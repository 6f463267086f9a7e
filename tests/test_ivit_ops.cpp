// The integer-only operators of engine/ivit.h (issue 16): each against a double-precision
// transcription of I-ViT's own steps (floats holding integers, floor where its code floors —
// exact here, every value stays below 2^53), bit for bit; and against the float function it
// approximates, with the error measured and bounded.
#include <QtTest>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/ivit.h"
#include "engine/numerics.h"

using namespace swinscope;

namespace {

// ---- I-ViT's steps in double (quant_modules.py IntSoftmax / IntGELU / IntLayerNorm), with
// engine/ivit.h's two documented departures: a 53-bit reciprocal, and no clamp ----
double exp_shift_ref(double t, double x0, int n) {
  t = t + std::floor(t / 2) - std::floor(t / 16);
  const double q = std::floor(t / x0);
  const double r = t - x0 * q;
  const double e = r / 2 - x0;
  return std::max(std::floor(e * std::ldexp(1.0, n - static_cast<int>(q))), 0.0);
}

std::vector<int> shiftmax_ref(const std::vector<int>& x, double x0, int n) {
  double mx = x[0];
  for (int v : x) mx = std::max(mx, static_cast<double>(v));
  std::vector<double> e;
  double sum = 0;
  for (int v : x) sum += e.emplace_back(exp_shift_ref(v - mx, x0, n));
  const double factor = std::floor(std::ldexp(1.0, 53) / sum);
  std::vector<int> out;
  for (double v : e) out.push_back(static_cast<int>(std::min(255.0, std::floor(v * factor / std::ldexp(1.0, 45) + 0.5))));
  return out;
}

std::vector<int> shift_gelu_ref(const std::vector<std::int8_t>& x, double x0, int n) {
  double mx = x[0];
  for (int v : x) mx = std::max(mx, static_cast<double>(v));
  std::vector<int> out;
  for (int v : x) {
    const double e1 = exp_shift_ref(v - mx, x0, n), e2 = exp_shift_ref(-mx, x0, n);
    const double sig = e1 + e2 == 0 ? (v > 0 ? 255 : 0)
                                    : std::min(255.0, std::floor(e1 * std::floor(std::ldexp(1.0, 53) / (e1 + e2)) / std::ldexp(1.0, 45) + 0.5));
    out.push_back(static_cast<int>(v * sig));
  }
  return out;
}

std::vector<std::int32_t> ilayernorm_ref(const std::vector<int>& x) {
  double s = 0;
  for (int v : x) s += v;
  const double mean = std::nearbyint(s / static_cast<double>(x.size()));  // torch.round: half to even
  double var = 0;
  for (int v : x) var += (v - mean) * (v - mean);
  const double sd = std::floor(std::sqrt(var));
  const double factor = sd > 0 ? std::floor(2147483647.0 / sd) : 0;
  std::vector<std::int32_t> y;
  for (int v : x) y.push_back(static_cast<std::int32_t>(std::floor((v - mean) * factor / 2)));
  return y;
}

double gelu(double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); }

}  // namespace

class TestIvitOps : public QObject {
  Q_OBJECT

 private slots:
  void floorDivisionAndDyadic() {
    QCOMPARE(ivit::floor_div(-7, 2), std::int64_t{-4});
    QCOMPARE(ivit::floor_div(7, -2), std::int64_t{-4});
    QCOMPARE(ivit::floor_div(-8, -2), std::int64_t{4});
    QCOMPARE(ivit::floor_div(7, 2), std::int64_t{3});
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> lg(-20, 10);
    std::uniform_int_distribution<std::int64_t> v(-(std::int64_t{1} << 31), (std::int64_t{1} << 31) - 1);
    double worst = 0;  // in steps beyond the 31-bit mantissa's own error |v·s|·2^-31
    for (int i = 0; i < 20000; ++i) {
      const double s = std::pow(2.0, lg(rng)) * (i % 3 == 0 ? -1 : 1);
      const ivit::Dyadic d = ivit::dyadic(s);
      QVERIFY(d.m != 0 && std::abs(static_cast<std::int64_t>(d.m)) < (std::int64_t{1} << 31));
      QVERIFY(std::fabs(static_cast<double>(d.m) / std::ldexp(1.0, d.shift) - s) <= std::fabs(s) * 1e-9);
      const std::int64_t x = v(rng) >> (i % 20);
      const double want = static_cast<double>(x) * s;
      if (std::fabs(want) > 1e15) continue;
      const double err = std::fabs(static_cast<double>(ivit::apply(x, d)) - want) - std::fabs(want) * std::ldexp(1.0, -31);
      worst = std::max(worst, err);
    }
    QVERIFY2(worst <= 0.5 + 1e-9, std::to_string(worst).c_str());  // rounding, beyond the mantissa's error
    QCOMPARE(ivit::dyadic(0.0).m, 0);
    // A mantissa that rounds up to 2^31 is renormalized.
    const ivit::Dyadic one = ivit::dyadic(std::nextafter(1.0, 0.0));
    QCOMPARE(one.m, std::int32_t{1} << 30);
    QCOMPARE(one.shift, 30);
  }

  void isqrtIsTheFloorOfTheSquareRoot() {
    std::mt19937_64 rng(2);
    for (std::int64_t v : {0LL, 1LL, 2LL, 3LL, 4LL, 99LL, 100LL, 101LL, 4095LL, 4096LL, 65535LL, 65536LL,
                           (1LL << 50), (1LL << 50) - 1, (1LL << 62) - 1}) {
      const std::int64_t r = ivit::isqrt(v);
      QVERIFY2(r * r <= v && (r + 1) * (r + 1) > v, std::to_string(v).c_str());
    }
    for (int i = 0; i < 100000; ++i) {
      const std::int64_t v = static_cast<std::int64_t>(rng() >> (2 + i % 60));
      const std::int64_t r = ivit::isqrt(v);
      QVERIFY(r * r <= v && (r + 1) * (r + 1) > v);
    }
    // I-ViT's reference iteration (start 2^16, 10 steps) gives 64 for 100; ours gives 10.
    QCOMPARE(ivit::isqrt(100), std::int64_t{10});
  }

  // The CPU plan's isqrt_host (double square root + exact steps) equals Newton's isqrt: around
  // every power of two, around squares up to the largest int64 root, and on random values.
  void isqrtHostEqualsNewton() {
    auto check = [](std::int64_t v) {
      if (v < 0) return;
      QVERIFY2(ivit::isqrt_host(v) == ivit::isqrt(v), std::to_string(v).c_str());
    };
    for (int b = 0; b < 63; ++b)
      for (std::int64_t d = -3; d <= 3; ++d) check((std::int64_t{1} << b) + d);
    check(std::numeric_limits<std::int64_t>::max());
    for (std::int64_t r : {1LL, 2LL, 46340LL, 46341LL, 65535LL, 94906265LL, 94906266LL, 2147483647LL, 3037000498LL, 3037000499LL})
      for (std::int64_t d = -2; d <= 2; ++d) check(r * r + d);
    std::mt19937_64 rng(5);
    for (int i = 0; i < 200000; ++i) check(static_cast<std::int64_t>(rng() >> (1 + i % 62)));
    for (std::int64_t var : {0LL, 1LL, 5LL, 1LL << 40, (1LL << 62) + 12345})
      QCOMPARE(ivit::ilayernorm_factor_host(var), ivit::ilayernorm_factor(var));
  }

  // Shiftmax: bit-exact against the transcription, and its probabilities against softmax.
  void shiftmaxMatchesReferenceAndSoftmax() {
    std::mt19937 rng(3);
    double worst = 0, worst_sum = 0, worst_narrow = 0;  // narrow: logit std ≤ 2
    for (int trial = 0; trial < 3000; ++trial) {
      const int len = trial % 3 == 0 ? 49 : 1 + static_cast<int>(rng() % 160);
      const double sigma = 0.5 + (trial % 7);       // logits spread
      const double amax = 4 * sigma;                 // calibrated 8-bit scale
      const double S = amax / 127;
      std::normal_distribution<double> nd(0, sigma);
      std::vector<int> x(static_cast<std::size_t>(len));
      std::vector<double> xf(x.size());
      for (std::size_t j = 0; j < x.size(); ++j) {
        x[j] = static_cast<int>(std::clamp(std::nearbyint(nd(rng) / S), -127.0, 127.0));
        if (trial % 5 == 0 && j % 3 == 1) x[j] -= 100000;  // shift-masked entries: far below
        xf[j] = x[j] * S;
      }
      const std::int32_t x0 = ivit::exp_x0(S);
      std::vector<int> got(x.size());
      ivit::shiftmax_row(x.data(), len, x0, got.data());
      QCOMPARE(got, shiftmax_ref(x, x0, ivit::kShiftmaxN));
      double mx = -1e300, sum = 0, gsum = 0;
      for (double v : xf) mx = std::max(mx, v);
      for (double v : xf) sum += std::exp(v - mx);
      for (std::size_t j = 0; j < x.size(); ++j) {
        QVERIFY(got[j] >= 0 && got[j] <= 255);
        const double d = std::fabs(got[j] / 256.0 - std::exp(xf[j] - mx) / sum);
        worst = std::max(worst, d);
        if (sigma <= 2) worst_narrow = std::max(worst_narrow, d);
        gsum += got[j] / 256.0;
      }
      worst_sum = std::max(worst_sum, std::fabs(gsum - 1));
    }
    // The linear 2^r ≈ 1 + r/2 is up to 6 % off; with coarse logit scales it shows. Rounding to
    // 1/256 keeps row sums within len/512 of 1 (I-ViT's floors to 1/128 lose up to len/128).
    qInfo("Shiftmax vs softmax: max |dp| %.4f for logit std <= 2, %.4f up to std 6.5 (the output step is 1/256 = %.4f); "
          "max |sum - 1| %.3f",
          worst_narrow, worst, 1 / 256.0, worst_sum);
    QVERIFY2(worst_narrow < 0.07, std::to_string(worst_narrow).c_str());
    QVERIFY2(worst < 0.15, std::to_string(worst).c_str());
  }

  // ShiftGELU: bit-exact against the transcription, and x·σ(1.702x) near GELU.
  void shiftGeluMatchesReferenceAndGelu() {
    std::mt19937 rng(4);
    double worst = 0;
    for (double amax : {2.0, 4.0, 8.0, 12.0}) {
      const double S = amax / 127;
      const std::int32_t x0 = ivit::exp_x0(ivit::kGeluSigmoidScale * S);
      for (int trial = 0; trial < 300; ++trial) {
        const int len = 64 + static_cast<int>(rng() % 400);
        std::normal_distribution<double> nd(trial % 4 == 0 ? -amax / 2 : 0, amax / 3);  // some rows with a negative max
        std::vector<std::int8_t> x(static_cast<std::size_t>(len));
        for (auto& v : x) v = static_cast<std::int8_t>(std::clamp(std::nearbyint(nd(rng) / S), -127.0, 127.0));
        std::vector<int> got(x.size());
        ivit::shift_gelu_row(x.data(), len, x0, got.data());
        QCOMPARE(got, shift_gelu_ref(x, x0, ivit::kShiftGeluN));
        for (std::size_t j = 0; j < x.size(); ++j) worst = std::max(worst, std::fabs(got[j] * S / 256 - gelu(x[j] * S)) / amax);
      }
    }
    qInfo("ShiftGELU vs GELU (erf): max |d| %.4f of the input range amax", worst);
    QVERIFY2(worst < 0.05, std::to_string(worst).c_str());
  }

  // I-LayerNorm: bit-exact against the transcription, and the normalized row against LayerNorm.
  void iLayerNormMatchesReferenceAndLayerNorm() {
    std::mt19937 rng(5);
    double worst = 0, worst16 = 0;  // 16: residual codes with a spread ≥ 256, as I-ViT's 16-bit residual stream
    for (int trial = 0; trial < 2000; ++trial) {
      const int C = std::array{96, 192, 384, 768, 17}[static_cast<std::size_t>(trial % 5)];
      const double spread = std::ldexp(1.0, 2 + trial % 12);  // int16-ish residual codes
      std::normal_distribution<double> nd(trial % 3 == 0 ? spread : 0, spread);
      std::vector<int> x(static_cast<std::size_t>(C));
      for (auto& v : x) v = static_cast<int>(std::clamp(std::nearbyint(nd(rng)), -32767.0, 32767.0));
      std::vector<std::int32_t> y(x.size());
      const auto sd = ivit::ilayernorm_row(x.data(), C, y.data());
      QCOMPARE(y, ilayernorm_ref(x));
      QVERIFY(sd > 0);
      double mean = 0, var = 0;
      for (int v : x) mean += v;
      mean /= C;
      for (int v : x) var += (v - mean) * (v - mean);
      const double rstd = 1 / std::sqrt(var / C);
      const double scale = std::sqrt(static_cast<double>(C)) / std::ldexp(1.0, 30);
      for (std::size_t c = 0; c < x.size(); ++c) {
        const double d = std::fabs(y[c] * scale - (x[c] - mean) * rstd);
        worst = std::max(worst, d);
        if (spread >= 256) worst16 = std::max(worst16, d);
      }
    }
    // The integer mean (±0.5 code) and ⌊√var⌋ (relative error < 1/std) dominate for narrow rows.
    qInfo("I-LayerNorm vs LayerNorm (normalized values): max |d| %.4f for code spreads >= 256, %.4f from spread 4", worst16, worst);
    QVERIFY2(worst16 < 0.01, std::to_string(worst16).c_str());
    QVERIFY2(worst < 0.35, std::to_string(worst).c_str());
    // A constant row normalizes to zeros, not a division by zero.
    std::vector<int> flat(96, 7);
    std::vector<std::int32_t> y(96, 1);
    QCOMPARE(ivit::ilayernorm_row(flat.data(), 96, y.data()), std::int64_t{0});
    for (auto v : y) QCOMPARE(v, 0);
  }
};

QTEST_APPLESS_MAIN(TestIvitOps)
#include "test_ivit_ops.moc"
