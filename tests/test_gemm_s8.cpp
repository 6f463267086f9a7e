// The own int8 tensor-core GEMM (engine/cuda/gemm_s8) against the CPU: bit-exact against
// cpu::int8_gemm_reference (the CPU backend's statement of the int8 linear layer) and against
// a plain triple loop written here, on shapes that are multiples of neither the tiles nor 16
// (K: of 16 but not of the 64-byte k-tile), for every tile, epilogue and A type, alpha per
// tensor and per channel; outputs are poisoned before each run and a sentinel after each
// output must stay untouched. The PTX fragment layouts are checked on their own (emulation
// only: the wrappers of engine/cuda/ptx.cuh driven by a kernel written from the PTX ISA's
// formulas), and the launcher's refusals are checked for their messages.
//
// Built twice: test_gemm_s8 under device emulation (CI, any machine), test_gemm_s8_cuda on a
// real GPU (sm_80+; skips with the reason otherwise). tests/CMakeLists.txt wires both.
#include <QtTest>

#if defined(SWINSCOPE_CUDA_EMU) || defined(SWS_TEST_REAL_CUDA)

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/int8_gemm.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cuda/gemm_s8/gemm_s8.cuh"
#include "engine/error.h"
#include "engine/plan.h"
#ifdef SWINSCOPE_CUDA_EMU
#include "engine/cuda/ptx.cuh"
#endif

namespace swinscope::SWS_CUDA_NS {
namespace {

constexpr std::size_t kGuard = 64;       // sentinel elements after every output
constexpr unsigned char kPoison = 0x5A;  // outputs are filled with it before each run

// A device buffer with a poisoned sentinel tail.
template <typename T>
class Dev {
 public:
  explicit Dev(std::size_t n, std::size_t offset_bytes = 0) : m_n(n), m_off(offset_bytes) {
    SWS_CUDA_CHECK(cudaMalloc(&m_base, (n + kGuard) * sizeof(T) + m_off));
    poison();
  }
  explicit Dev(const std::vector<T>& h, std::size_t offset_bytes = 0) : Dev(h.size(), offset_bytes) { upload(h); }
  ~Dev() { cudaFree(m_base); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() const { return reinterpret_cast<T*>(static_cast<unsigned char*>(m_base) + m_off); }
  void poison() { SWS_CUDA_CHECK(cudaMemset(m_base, kPoison, (m_n + kGuard) * sizeof(T) + m_off)); }
  void upload(const std::vector<T>& h) { SWS_CUDA_CHECK(cudaMemcpy(get(), h.data(), m_n * sizeof(T), cudaMemcpyHostToDevice)); }
  std::vector<T> download() const {
    std::vector<T> h(m_n);
    SWS_CUDA_CHECK(cudaMemcpy(h.data(), get(), m_n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  // The sentinel after the output, and the bytes before an offset view.
  bool guard_intact() const {
    std::vector<unsigned char> g(kGuard * sizeof(T)), pre(m_off);
    SWS_CUDA_CHECK(cudaMemcpy(g.data(), get() + m_n, g.size(), cudaMemcpyDeviceToHost));
    if (m_off) SWS_CUDA_CHECK(cudaMemcpy(pre.data(), m_base, m_off, cudaMemcpyDeviceToHost));
    g.insert(g.end(), pre.begin(), pre.end());
    return std::all_of(g.begin(), g.end(), [](unsigned char b) { return b == kPoison; });
  }

 private:
  void* m_base = nullptr;
  std::size_t m_n = 0, m_off = 0;
};

void sync() { SWS_CUDA_CHECK(cudaDeviceSynchronize()); }

}  // namespace
}  // namespace swinscope::SWS_CUDA_NS

using namespace swinscope;
namespace be = swinscope::SWS_CUDA_NS;
using be::S8AType;
using be::S8Epilogue;
using be::S8Tile;

namespace {

struct Shape {
  int M, N, K;
};
// Multiples of neither the tiles nor 16 in M and N; K a multiple of 16 but mostly not of 64.
const Shape kShapes[] = {{37, 52, 64}, {200, 96, 96}, {130, 388, 384}, {1, 8, 16},
                         {65, 17, 80}, {129, 257, 112}, {33, 40, 1040}, {300, 1152, 96}};
const S8Tile kTiles[] = {S8Tile::T128x256, S8Tile::T128x128, S8Tile::T64x64};

template <typename T>
std::vector<T> rand_int(std::size_t n, std::mt19937& rng, int lo, int hi) {
  std::uniform_int_distribution<int> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(d(rng));
  return v;
}
std::vector<float> randn(std::size_t n, std::mt19937& rng, float sd, float mean = 0.f) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// The test's own statement of the math (no engine code): int32 sums, then each epilogue.
std::vector<std::int32_t> triple_loop(const std::vector<std::uint8_t>& a, bool a_u8, const std::vector<std::int8_t>& w,
                                      int M, int N, int K) {
  std::vector<std::int32_t> acc(static_cast<std::size_t>(M) * N);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      std::int32_t s = 0;
      for (int k = 0; k < K; ++k) {
        const std::uint8_t av = a[static_cast<std::size_t>(m) * K + k];
        s += (a_u8 ? static_cast<int>(av) : static_cast<int>(static_cast<std::int8_t>(av))) * w[static_cast<std::size_t>(n) * K + k];
      }
      acc[static_cast<std::size_t>(m) * N + n] = s;
    }
  return acc;
}
int round_clamp(float v, float lo, float hi) { return static_cast<int>(std::clamp(std::nearbyint(v), lo, hi)); }
float gelu(float v) { return 0.5f * v * (1.f + std::erf(v * 0.70710678118654752f)); }

struct Epi {
  std::vector<float> alpha;  // 1 or N
  std::vector<float> bias;   // N, or empty
  float deq = 1.f, inv_scale = 1.f;
  float a(int n) const { return alpha[alpha.size() == 1 ? 0 : static_cast<std::size_t>(n)]; }
  float b(int n) const { return bias.empty() ? 0.f : bias[static_cast<std::size_t>(n)]; }
};

// Expected 8/32-bit outputs as ints (BiasResidual: see expect_residual).
std::vector<int> expect(S8Epilogue ep, const std::vector<std::int32_t>& acc, int N, const Epi& e) {
  std::vector<int> out(acc.size());
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const int n = static_cast<int>(i % static_cast<std::size_t>(N));
    const float v = static_cast<float>(acc[i]) * e.a(n);
    switch (ep) {
      case S8Epilogue::S8: out[i] = round_clamp(v, -128.f, 127.f); break;
      case S8Epilogue::S32: out[i] = acc[i]; break;
      case S8Epilogue::ReluU8: out[i] = round_clamp(std::max(v, 0.f), 0.f, 255.f); break;
      case S8Epilogue::ReluShiftedS8: out[i] = round_clamp(std::max(v, 0.f), 0.f, 255.f) - 128; break;
      case S8Epilogue::BiasGeluS8:
        out[i] = round_clamp(gelu(std::fma(static_cast<float>(acc[i]), e.a(n), e.b(n))) * e.inv_scale, -127.f, 127.f);
        break;
      case S8Epilogue::RequantBiasGeluS8: {
        const float y = static_cast<float>(round_clamp(v, -128.f, 127.f));
        out[i] = round_clamp(gelu(std::fma(y, e.deq, e.b(n))) * e.inv_scale, -127.f, 127.f);
        break;
      }
      case S8Epilogue::BiasResidual: break;
    }
  }
  return out;
}
std::vector<float> expect_residual(const std::vector<std::int32_t>& acc, int N, const Epi& e, std::vector<float> x) {
  for (std::size_t i = 0; i < acc.size(); ++i) {
    const int n = static_cast<int>(i % static_cast<std::size_t>(N));
    const float y = static_cast<float>(round_clamp(static_cast<float>(acc[i]) * e.a(n), -128.f, 127.f));
    x[i] = x[i] + std::fma(y, e.deq, e.b(n));
  }
  return x;
}

template <typename A, typename B>
QString first_diff(const std::vector<A>& got, const std::vector<B>& want, int N) {
  long long differ = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (static_cast<double>(got[i]) != static_cast<double>(want[i])) {
      if (differ++ == 0) first = i;
    }
  if (!differ) return {};
  return QString("%1 of %2 differ; first at m=%3 n=%4: got %5, want %6")
      .arg(differ)
      .arg(want.size())
      .arg(first / static_cast<std::size_t>(N))
      .arg(first % static_cast<std::size_t>(N))
      .arg(static_cast<double>(got[first]), 0, 'g', 9)
      .arg(static_cast<double>(want[first]), 0, 'g', 9);
}

#define SWS_EXPECT_SAME(got, want, N, what)                                    \
  do {                                                                        \
    const QString d_ = first_diff((got), (want), (N));                        \
    QVERIFY2(d_.isEmpty(), (QString::fromStdString(std::string(what)) + ": " + d_).toUtf8().constData()); \
  } while (0)

// One problem: inputs, the CPU's answers, and a runner for any epilogue and tile.
struct Problem {
  int M, N, K;
  bool a_u8;
  std::vector<std::uint8_t> a;  // raw bytes: s8 or u8 per a_u8
  std::vector<std::int8_t> w;
  std::vector<std::int32_t> acc;  // triple loop
  be::Dev<std::uint8_t> da;
  be::Dev<std::int8_t> dw;

  Problem(Shape s, bool u8, std::mt19937& rng, int lo = -128, int hi = 127)
      : M(s.M), N(s.N), K(s.K), a_u8(u8),
        a(rand_int<std::uint8_t>(static_cast<std::size_t>(M) * K, rng, 0, 255)),  // s8: the same bytes
        w(rand_int<std::int8_t>(static_cast<std::size_t>(N) * K, rng, lo, hi)),
        da(a.size()), dw(w.size()) {
    if (lo != -128 || hi != 127) {  // small operands (rounding ties): both from [lo, hi]
      auto v = rand_int<std::int8_t>(a.size(), rng, lo, hi);
      for (std::size_t i = 0; i < a.size(); ++i) a[i] = u8 ? static_cast<std::uint8_t>(v[i] - lo) : static_cast<std::uint8_t>(v[i]);
    }
    da.upload(a);
    dw.upload(w);
    acc = triple_loop(a, a_u8, w, M, N, K);
  }
  // The CPU backend's src: u8 as is, or s8 shifted by the zero point 128.
  std::vector<std::uint8_t> cpu_src() const {
    if (a_u8) return a;
    std::vector<std::uint8_t> s(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) s[i] = static_cast<std::uint8_t>(static_cast<std::int8_t>(a[i]) + 128);
    return s;
  }
  double std_acc() const {
    double s = 0;
    for (auto v : acc) s += static_cast<double>(v) * v;
    return std::sqrt(s / static_cast<double>(acc.size())) + 1.0;
  }
  be::GemmS8Args args(S8Epilogue ep, S8Tile tile, void* d, const float* alpha_n, float alpha, const float* bias,
                      const Epi& e) const {
    be::GemmS8Args g;
    g.M = M, g.N = N, g.K = K, g.A = da.get(), g.a_type = a_u8 ? S8AType::U8 : S8AType::S8, g.B = dw.get(), g.D = d;
    g.epilogue = ep, g.alpha = alpha, g.alpha_n = alpha_n, g.bias = bias, g.deq = e.deq, g.inv_scale = e.inv_scale;
    g.tile = tile, g.label = "test";
    return g;
  }
};

// Per-tensor or per-channel output scales the way the CPU plan makes them.
std::vector<float> cpu_scales(const Problem& p, bool per_channel, cpu::Int8Dst dst, float target, std::mt19937& rng) {
  const auto wscale = randn(per_channel ? static_cast<std::size_t>(p.N) : 1, rng, 0.2f, 1.f);
  std::vector<float> ws(wscale.size());
  for (std::size_t i = 0; i < ws.size(); ++i) ws[i] = std::max(0.3f, wscale[i]) * 0.01f;
  const cpu::Int8LinearWeights lw(p.w.data(), ws.data(), static_cast<int>(ws.size()), p.N, p.K, false);
  const float src_scale = 0.05f;
  // dst_scale so that one standard deviation of the accumulator lands near `target` steps
  const float dst_scale = static_cast<float>(p.std_acc()) * src_scale * 0.01f / target;
  return cpu::int8_output_scales(lw, src_scale, dst, dst_scale);
}

std::string run_label(S8Tile t, S8Epilogue e, bool per_channel, const Shape& s, bool u8) {
  return std::string(be::gemm_s8_tile_name(t)) + " " + be::gemm_s8_epilogue_name(e) + (per_channel ? " per-channel" : " per-tensor") +
         (u8 ? " u8" : " s8") + " M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K);
}

}  // namespace

class TestGemmS8 : public QObject {
  Q_OBJECT

 private:
  std::chrono::steady_clock::time_point m_t0 = std::chrono::steady_clock::now();
  bool m_offset_output = false;  // D one element past an aligned address (no paired stores)

  // Runs `ep` on `p` with tile `t` and checks the output (and the CPU's answer where the CPU
  // has the same op) bit for bit, plus the sentinel.
  void check(Problem& p, S8Epilogue ep, S8Tile t, bool per_channel, std::mt19937& rng) {
    const std::string what = run_label(t, ep, per_channel, {p.M, p.N, p.K}, p.a_u8);
    const auto MN = static_cast<std::size_t>(p.M) * p.N;
    const auto src = p.cpu_src();
    const auto src_kind = p.a_u8 ? cpu::Int8Src::Unsigned : cpu::Int8Src::Shifted;
    const cpu::Int8LinearWeights lw(p.w.data(), std::vector<float>(1, 1.f).data(), 1, p.N, p.K, false);
    Epi e;
    switch (ep) {
      case S8Epilogue::S32: e.alpha = {1.f}; break;
      case S8Epilogue::BiasGeluS8: {  // alpha dequantizes: acc·alpha ~ N(0, 1.5²)
        std::uniform_real_distribution<float> spread(0.8f, 1.2f);
        e.alpha.assign(per_channel ? static_cast<std::size_t>(p.N) : 1, 1.5f / static_cast<float>(p.std_acc()));
        for (auto& a : e.alpha) a *= spread(rng);
        e.bias = randn(static_cast<std::size_t>(p.N), rng, 0.5f);
        e.inv_scale = 127.f / 4.f;
        break;
      }
      default:
        e.alpha = cpu_scales(p, per_channel, cpu::Int8Dst::S8, ep == S8Epilogue::ReluU8 || ep == S8Epilogue::ReluShiftedS8 ? 90.f : 45.f, rng);
        e.bias = randn(static_cast<std::size_t>(p.N), rng, 0.5f);
        e.deq = 1.f / 45.f;
        e.inv_scale = 127.f / 4.f;
    }
    be::Dev<float> dalpha(e.alpha), dbias(e.bias.empty() ? std::vector<float>(1, 0.f) : e.bias);
    const float* alpha_n = per_channel && ep != S8Epilogue::S32 ? dalpha.get() : nullptr;
    const float alpha = per_channel ? 1.f : e.alpha[0];
    const float* bias = e.bias.empty() ? nullptr : dbias.get();
    const bool gelu_without_bias = ep == S8Epilogue::BiasGeluS8 && !per_channel;  // the null-bias path
    if (gelu_without_bias) e.bias.clear();

    if (ep == S8Epilogue::BiasResidual) {
      const auto x0 = randn(MN, rng, 1.f);
      be::Dev<float> dx(x0, m_offset_output ? sizeof(float) : 0);
      be::gemm_s8(p.args(ep, t, dx.get(), alpha_n, alpha, bias, e), nullptr);
      be::sync();
      const auto got = dx.download();
      QVERIFY2(dx.guard_intact(), (what + ": sentinel after x overwritten").c_str());
      SWS_EXPECT_SAME(got, expect_residual(p.acc, p.N, e, x0), p.N, what + " vs triple loop");
      // The CPU chain: int8_gemm_reference → s8 y, then the CPU's own fc2_bias_residual.
      std::vector<std::int8_t> y(MN);
      cpu::int8_gemm_reference(src.data(), src_kind, lw, p.M, e.alpha, cpu::Int8Dst::S8, y.data());
      auto xc = x0;
      const auto impl = cpu::int8::best_impl();
      cpu::int8::fc2_bias_residual(y.data(), xc.data(), p.M, p.N, e.bias.data(), e.deq, impl);
      if (impl == cpu::int8::Impl::Avx2) {  // fmadd(y, deq, bias) + x: the same two roundings
        SWS_EXPECT_SAME(got, xc, p.N, what + " vs CPU int8_gemm_reference + fc2_bias_residual");
      } else {  // the plain loop's y·deq + bias may or may not be contracted by the compiler
        for (std::size_t i = 0; i < MN; ++i)
          QVERIFY2(std::abs(got[i] - xc[i]) <= 1e-6f * (1.f + std::abs(xc[i])), (what + " vs CPU fc2_bias_residual").c_str());
      }
      return;
    }
    const std::size_t esize = ep == S8Epilogue::S32 ? 4 : 1;
    be::Dev<unsigned char> d(MN * esize, m_offset_output ? esize : 0);
    be::gemm_s8(p.args(ep, t, d.get(), alpha_n, alpha, gelu_without_bias ? nullptr : bias, e), nullptr);
    be::sync();
    QVERIFY2(d.guard_intact(), (what + ": sentinel after the output overwritten").c_str());
    const auto raw = d.download();
    std::vector<int> got(MN);
    for (std::size_t i = 0; i < MN; ++i) {
      if (ep == S8Epilogue::S32) {
        std::int32_t v;
        std::memcpy(&v, raw.data() + 4 * i, 4);
        got[i] = v;
      } else {
        got[i] = ep == S8Epilogue::ReluU8 ? static_cast<int>(raw[i]) : static_cast<int>(static_cast<std::int8_t>(raw[i]));
      }
    }
    SWS_EXPECT_SAME(got, expect(ep, p.acc, p.N, e), p.N, what + " vs triple loop");

    // The CPU backend's reference where it has the same operation.
    std::vector<int> cpu_want;
    if (ep == S8Epilogue::S32) {
      std::vector<float> f(MN);
      cpu::int8_gemm_reference(src.data(), src_kind, lw, p.M, {1.f}, cpu::Int8Dst::F32, f.data());
      for (auto v : f) cpu_want.push_back(static_cast<int>(v));
    } else if (ep == S8Epilogue::S8) {
      std::vector<std::int8_t> y(MN);
      cpu::int8_gemm_reference(src.data(), src_kind, lw, p.M, e.alpha, cpu::Int8Dst::S8, y.data());
      cpu_want.assign(y.begin(), y.end());
    } else if (ep == S8Epilogue::ReluU8 || ep == S8Epilogue::ReluShiftedS8) {
      std::vector<std::uint8_t> y(MN);
      cpu::int8_gemm_reference(src.data(), src_kind, lw, p.M, e.alpha, cpu::Int8Dst::U8Relu, y.data());
      for (auto v : y) cpu_want.push_back(ep == S8Epilogue::ReluU8 ? v : v - 128);
    } else if (ep == S8Epilogue::RequantBiasGeluS8) {
      std::vector<std::int8_t> y(MN);
      cpu::int8_gemm_reference(src.data(), src_kind, lw, p.M, e.alpha, cpu::Int8Dst::S8, y.data());
      std::vector<std::uint8_t> h(MN);  // the CPU stores it shifted (q + 128); Plain: the erf of <cmath>
      cpu::int8::fc1_bias_gelu_quant(y.data(), h.data(), p.M, p.N, e.bias.data(), e.deq, e.inv_scale, cpu::int8::Impl::Plain);
      for (auto v : h) cpu_want.push_back(v - 128);
      // Bit-exact where the engine is built with FMA contraction (-march=native on an FMA CPU,
      // as here); one step either way otherwise (y·deq + bias rounded twice).
      long long off = 0;
      for (std::size_t i = 0; i < MN; ++i) {
        QVERIFY2(std::abs(got[i] - cpu_want[i]) <= 1, (what + " vs the CPU backend: more than one step").c_str());
        off += got[i] != cpu_want[i];
      }
      if (off) qInfo("%s: %lld of %zu one step off the CPU's plain loop", what.c_str(), off, MN);
      return;
    }
    if (!cpu_want.empty()) SWS_EXPECT_SAME(got, cpu_want, p.N, what + " vs the CPU backend");
  }

 private slots:
  void initTestCase() {
#ifdef SWS_TEST_REAL_CUDA
    const std::string why = cuda_unavailable_reason();
    if (!why.empty()) QSKIP(("no CUDA device: " + why).c_str());
    int dev = 0, major = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    if (major < 8) QSKIP("gemm_s8 needs sm_80 or newer");
#endif
    m_t0 = std::chrono::steady_clock::now();
  }
  void cleanupTestCase() {
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_t0).count();
    qInfo("gemm_s8 tests: %.1f s", s);
  }

#ifdef SWINSCOPE_CUDA_EMU
  // The emulated PTX against the ISA's fragment formulas, independent of the GEMM's index math.
  void fragmentLayoutsFollowThePtxIsa();
#endif

  // The main loop: s32 accumulators (no rounding to hide behind) and s8 with per-channel alpha,
  // every tile, s8 and u8 A, every shape.
  void accumulatorsExact_data() {
    QTest::addColumn<int>("shape");
    QTest::addColumn<int>("tile");
    QTest::addColumn<bool>("u8");
    for (int s = 0; s < static_cast<int>(std::size(kShapes)); ++s)
      for (S8Tile t : kTiles)
        for (bool u8 : {false, true}) {
          const std::string name = std::to_string(kShapes[s].M) + "x" + std::to_string(kShapes[s].N) + "x" +
                                   std::to_string(kShapes[s].K) + " " + be::gemm_s8_tile_name(t) + (u8 ? " u8" : " s8");
          QTest::newRow(name.c_str()) << s << static_cast<int>(t) << u8;
        }
  }
  void accumulatorsExact() {
    QFETCH(int, shape);
    QFETCH(int, tile);
    QFETCH(bool, u8);
    std::mt19937 rng(1000u + static_cast<unsigned>(shape * 10 + tile * 2 + u8));
    Problem p(kShapes[shape], u8, rng);
    check(p, S8Epilogue::S32, static_cast<S8Tile>(tile), false, rng);
    check(p, S8Epilogue::S8, static_cast<S8Tile>(tile), true, rng);
  }

  // Every epilogue, alpha per tensor and per channel, every tile, on two small shapes.
  void everyEpilogue_data() {
    QTest::addColumn<int>("epilogue");
    QTest::addColumn<int>("tile");
    QTest::addColumn<bool>("u8");
    for (int ep = 0; ep <= static_cast<int>(S8Epilogue::BiasResidual); ++ep)
      for (S8Tile t : kTiles)
        for (bool u8 : {false, true}) {
          const auto e = static_cast<S8Epilogue>(ep);
          if (u8 && e != S8Epilogue::S8 && e != S8Epilogue::S32 && e != S8Epilogue::BiasResidual) continue;
          const std::string name = std::string(be::gemm_s8_epilogue_name(e)) + " " + be::gemm_s8_tile_name(t) + (u8 ? " u8" : " s8");
          QTest::newRow(name.c_str()) << ep << static_cast<int>(t) << u8;
        }
  }
  void everyEpilogue() {
    QFETCH(int, epilogue);
    QFETCH(int, tile);
    QFETCH(bool, u8);
    std::mt19937 rng(2000u + static_cast<unsigned>(epilogue * 10 + tile * 2 + u8));
    for (const Shape& s : {Shape{37, 52, 64}, Shape{200, 96, 96}, Shape{130, 388, 384}}) {
      Problem p(s, u8, rng);
      for (bool per_channel : {false, true}) {
        check(p, static_cast<S8Epilogue>(epilogue), static_cast<S8Tile>(tile), per_channel, rng);
        if (QTest::currentTestFailed()) return;
      }
    }
  }

  // D not aligned for column pairs (even N): every epilogue through the one-element stores.
  void unalignedOutputs() {
    m_offset_output = true;
    std::mt19937 rng(31);
    for (bool u8 : {false, true}) {
      Problem p({37, 52, 64}, u8, rng);
      for (int ep = 0; ep <= static_cast<int>(S8Epilogue::BiasResidual); ++ep) {
        const auto e = static_cast<S8Epilogue>(ep);
        if (u8 && e != S8Epilogue::S8 && e != S8Epilogue::S32 && e != S8Epilogue::BiasResidual) continue;
        check(p, e, S8Tile::T64x64, true, rng);
        if (QTest::currentTestFailed()) break;
      }
    }
    m_offset_output = false;
  }

  // Exact .5 products (alpha 0.5, small operands): round half to even, in every 8-bit epilogue.
  void roundingTiesGoToEven() {
    std::mt19937 rng(77);
    Problem p({70, 40, 32}, false, rng, -3, 3);
    int ties = 0;
    for (auto v : p.acc) ties += (v % 2) != 0;
    QVERIFY(ties > 100);
    for (S8Epilogue ep : {S8Epilogue::S8, S8Epilogue::ReluU8, S8Epilogue::ReluShiftedS8}) {
      const auto MN = static_cast<std::size_t>(p.M) * p.N;
      be::Dev<std::uint8_t> d(MN);
      Epi e;
      e.alpha = {0.5f};
      be::gemm_s8(p.args(ep, S8Tile::T64x64, d.get(), nullptr, 0.5f, nullptr, e), nullptr);
      be::sync();
      QVERIFY(d.guard_intact());
      const auto raw = d.download();
      std::vector<int> got(MN);
      for (std::size_t i = 0; i < MN; ++i)
        got[i] = ep == S8Epilogue::ReluU8 ? static_cast<int>(raw[i]) : static_cast<int>(static_cast<std::int8_t>(raw[i]));
      SWS_EXPECT_SAME(got, expect(ep, p.acc, p.N, e), p.N, be::gemm_s8_epilogue_name(ep));
      // 2.5 → 2 and −2.5 → −2, not 3 / −3: pin a few by hand
      for (std::size_t i = 0; i < MN; ++i)
        if (ep == S8Epilogue::S8 && (p.acc[i] == 5 || p.acc[i] == -5)) QCOMPARE(got[i], p.acc[i] / 2);
    }
  }

  // gemm_s8 allocates nothing and synchronizes nothing: it records into a CUDA graph, and a
  // replay computes what a direct launch does.
  void capturesIntoAGraph() {
    using namespace be;  // the runtime API: global (real) or ::sws_emu (through cuda_emu)
    std::mt19937 rng(11);
    Problem p({130, 96, 160}, false, rng);
    const auto MN = static_cast<std::size_t>(p.M) * p.N;
    be::Dev<std::int8_t> d(MN);
    Epi e;
    e.alpha = {0.0004f};
    cudaStream_t st = nullptr;
    SWS_CUDA_CHECK(cudaStreamCreate(&st));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    SWS_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
    for (S8Tile t : kTiles) be::gemm_s8(p.args(S8Epilogue::S8, t, d.get(), nullptr, e.alpha[0], nullptr, e), st);
    SWS_CUDA_CHECK(cudaStreamEndCapture(st, &graph));
    SWS_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    SWS_CUDA_CHECK(cudaGraphLaunch(exec, st));
    SWS_CUDA_CHECK(cudaStreamSynchronize(st));
    std::vector<int> got;
    for (auto v : d.download()) got.push_back(v);
    SWS_EXPECT_SAME(got, expect(S8Epilogue::S8, p.acc, p.N, e), p.N, "graph replay");
    QVERIFY(d.guard_intact());
    SWS_CUDA_CHECK(cudaGraphExecDestroy(exec));
    SWS_CUDA_CHECK(cudaGraphDestroy(graph));
    SWS_CUDA_CHECK(cudaStreamDestroy(st));
  }

  // Auto picks a tile, runs it and says which.
  void autoTileRunsAndDescribes() {
    std::mt19937 rng(5);
    for (const Shape& s : {Shape{37, 52, 64}, Shape{300, 256, 64}}) {
      Problem p(s, false, rng);
      Epi e;
      e.alpha = {1.f};
      auto a = p.args(S8Epilogue::S32, S8Tile::Auto, nullptr, nullptr, 1.f, nullptr, e);
      const S8Tile picked = be::gemm_s8_pick_tile(a);
      QVERIFY(picked != S8Tile::Auto);
      const std::string desc = be::gemm_s8_describe(a);
      QVERIFY2(desc.find(be::gemm_s8_tile_name(picked)) != std::string::npos, desc.c_str());
      QVERIFY2(desc.find("M=" + std::to_string(s.M)) != std::string::npos, desc.c_str());
      check(p, S8Epilogue::S32, S8Tile::Auto, false, rng);
    }
  }

  // The launcher refuses what the kernel cannot do, naming the field.
  void refusesBadArguments() {
    be::Dev<std::int8_t> a(64 * 64 + 16), w(64 * 64 + 16), d(64 * 64 * 4);
    be::GemmS8Args ok;
    ok.M = 64, ok.N = 64, ok.K = 64, ok.A = a.get(), ok.B = w.get(), ok.D = d.get(), ok.label = "fc1 stage 0";
    auto message = [](const be::GemmS8Args& g) {
      try {
        be::gemm_s8(g, nullptr);
        be::sync();
      } catch (const Error& e) {
        return std::string(e.what());
      }
      return std::string();
    };
    QVERIFY(message(ok).empty());
    const std::vector<std::pair<std::function<void(be::GemmS8Args&)>, std::string>> cases = {
        {[](be::GemmS8Args& g) { g.K = 40; }, "K must be a multiple of 16"},
        {[](be::GemmS8Args& g) { g.M = 0; }, "sizes must be positive"},
        {[](be::GemmS8Args& g) { g.N = -3; }, "sizes must be positive"},
        {[&](be::GemmS8Args& g) { g.A = a.get() + 1; }, "A is not 16-byte aligned"},
        {[&](be::GemmS8Args& g) { g.B = w.get() + 8; }, "B is not 16-byte aligned"},
        {[](be::GemmS8Args& g) { g.B = nullptr; }, "B is null"},
        {[](be::GemmS8Args& g) { g.D = nullptr; }, "D is null"},
        {[](be::GemmS8Args& g) { g.epilogue = S8Epilogue::BiasResidual; }, "bias_residual needs a bias"},
        {[](be::GemmS8Args& g) { g.a_type = S8AType::U8, g.epilogue = S8Epilogue::ReluU8; }, "u8 A operand"},
        {[](be::GemmS8Args& g) { g.epilogue = S8Epilogue::S32, g.alpha = 0.5f; }, "alpha must be 1"},
        {[&](be::GemmS8Args& g) { g.epilogue = S8Epilogue::S32, g.D = d.get() + 2; }, "D is not aligned"},
        {[](be::GemmS8Args& g) { g.M = 70000 * 64, g.tile = S8Tile::T64x64; }, "grid.y limit"},
    };
    for (const auto& [edit, want] : cases) {
      be::GemmS8Args g = ok;
      edit(g);
      const std::string msg = message(g);
      QVERIFY2(msg.find(want) != std::string::npos, ("wanted '" + want + "', got '" + msg + "'").c_str());
      QVERIFY2(msg.find("fc1 stage 0") != std::string::npos, msg.c_str());
    }
    QVERIFY(d.guard_intact());
  }
};

#ifdef SWINSCOPE_CUDA_EMU
namespace swinscope::cuda_emu {
namespace {
// One warp: A (16×32), B (32×8) fragments loaded by the ISA's formulas from global memory,
// one mma, D stored by the formula; then ldmatrix.x4 of four 8×16-byte matrices.
template <bool AU8>
__global__ void fragment_kernel(const std::uint8_t* A, const std::int8_t* Bt, const std::int32_t* C, std::int32_t* D,
                                std::uint32_t* ld_out) {
  const int lane = static_cast<int>(threadIdx.x), g = lane >> 2, t = lane & 3;
  std::uint32_t a[4] = {0, 0, 0, 0}, b[2] = {0, 0};
  for (int i = 0; i < 16; ++i) {  // "Matrix Fragments for mma.m16n8k32", multiplicand A
    const int row = g + 8 * ((i >> 2) & 1), k = 4 * t + (i & 3) + 16 * (i >> 3);
    a[i >> 2] |= static_cast<std::uint32_t>(A[row * 32 + k]) << (8 * (i & 3));
  }
  for (int i = 0; i < 8; ++i) {  // multiplicand B (Bt is n-major: Bt[n][k])
    const int k = 4 * t + (i & 3) + 16 * (i >> 2), n = g;
    b[i >> 2] |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(Bt[n * 32 + k])) << (8 * (i & 3));
  }
  std::int32_t d[4];
  for (int i = 0; i < 4; ++i) d[i] = C[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)];
  if constexpr (AU8)
    ptx::mma_m16n8k32_u8s8(d, a, b);
  else
    ptx::mma_m16n8k32_s8(d, a, b);
  for (int i = 0; i < 4; ++i) D[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = d[i];

  // ldmatrix: rows of 16 bytes; matrix j's row r at shared offset (j·8 + r)·16, filled with a
  // pattern and handed out in reverse row order to show each lane's address is used.
  __shared__ unsigned char s[4 * 8 * 16];
  for (int i = lane; i < 4 * 8 * 16; i += 32) s[i] = static_cast<unsigned char>(i * 7 + 3);
  __syncwarp();
  std::uint32_t r[4];
  const int j = lane >> 3, row = lane & 7;
  ptx::ldmatrix_x4(r, s + (j * 8 + row) * 16);
  for (int q = 0; q < 4; ++q) ld_out[lane * 4 + q] = r[q];
}
}  // namespace
}  // namespace swinscope::cuda_emu

void TestGemmS8::fragmentLayoutsFollowThePtxIsa() {
  namespace ce = swinscope::cuda_emu;
  std::mt19937 rng(9);
  for (bool u8 : {false, true}) {
    const auto A = rand_int<std::uint8_t>(16 * 32, rng, 0, 255);
    const auto Bt = rand_int<std::int8_t>(8 * 32, rng, -128, 127);
    const auto C = rand_int<std::int32_t>(16 * 8, rng, -100000, 100000);
    ce::Dev<std::uint8_t> da(A);
    ce::Dev<std::int8_t> db(Bt);
    ce::Dev<std::int32_t> dc(C), dd(16 * 8);
    ce::Dev<std::uint32_t> dl(32 * 4);
    if (u8) {
      constexpr auto k = ce::fragment_kernel<true>;
      ce::launch("fragment_kernel", k, ce::dim3(1), ce::dim3(32), 0, nullptr, da.get(), db.get(), dc.get(), dd.get(), dl.get());
    } else {
      constexpr auto k = ce::fragment_kernel<false>;
      ce::launch("fragment_kernel", k, ce::dim3(1), ce::dim3(32), 0, nullptr, da.get(), db.get(), dc.get(), dd.get(), dl.get());
    }
    ce::sync();
    const auto D = dd.download();
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n) {
        std::int32_t s = C[static_cast<std::size_t>(m * 8 + n)];
        for (int k = 0; k < 32; ++k) {
          const int av = u8 ? A[static_cast<std::size_t>(m * 32 + k)] : static_cast<std::int8_t>(A[static_cast<std::size_t>(m * 32 + k)]);
          s += av * Bt[static_cast<std::size_t>(n * 32 + k)];
        }
        QCOMPARE(D[static_cast<std::size_t>(m * 8 + n)], s);
      }
    // ldmatrix ("Warp-level matrix load instruction: ldmatrix"): register j of lane l =
    // bytes 4(l & 3)..+3 of row l >> 2 of matrix j.
    const auto L = dl.download();
    for (int lane = 0; lane < 32; ++lane)
      for (int j = 0; j < 4; ++j) {
        std::uint32_t want = 0;
        for (int b = 0; b < 4; ++b) {
          const int off = (j * 8 + (lane >> 2)) * 16 + 4 * (lane & 3) + b;
          want |= static_cast<std::uint32_t>(static_cast<unsigned char>(off * 7 + 3)) << (8 * b);
        }
        QCOMPARE(L[static_cast<std::size_t>(lane * 4 + j)], want);
      }
  }
}
#endif

#else  // neither device emulation nor a real-CUDA build of this test

class TestGemmS8 : public QObject {
  Q_OBJECT
 private slots:
  void skipped() { QSKIP("built without device emulation (SWINSCOPE_CUDA_EMU=OFF)"); }
};

#endif

QTEST_APPLESS_MAIN(TestGemmS8)
#include "test_gemm_s8.moc"
