// The exact integer GEMM of the integer-only plan (engine/cpu/igemm.h): every kernel the CPU runs, s8 and
// u8 activations, against a naive int64 triple loop, bit for bit, on shapes that hit every
// edge of the packing and blocking (K odd, N not a multiple of 16, M not a multiple of the
// register block, K across cache blocks), with full-range and all-extreme operands and
// sentinels around the output.
#include <QtTest>

#include <omp.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/igemm.h"
#include "engine/error.h"

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

template <typename A>
std::string random_case(std::mt19937& rng, long M, int N, int K) {
  std::vector<A> a(static_cast<std::size_t>(M * K));
  std::vector<std::int8_t> w(static_cast<std::size_t>(N) * K);
  for (auto& x : a) x = draw<A>(rng);
  for (auto& x : w) x = draw<std::int8_t>(rng);
  // An all-extreme row and column: the largest sums in magnitude (255 or −128 against −128).
  for (int k = 0; k < K; ++k) a[static_cast<std::size_t>(k)] = std::is_signed_v<A> ? A(-128) : A(255);
  for (int k = 0; k < K; ++k) w[static_cast<std::size_t>(k)] = -128;
  if (N > 1)
    for (int k = 0; k < K; ++k) w[static_cast<std::size_t>(K + k)] = 127;
  return check(a, M, w, N, K);
}

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
};

QTEST_APPLESS_MAIN(TestIGemm)
#include "test_igemm.moc"
