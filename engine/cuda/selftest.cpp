// See selftest.h. Layout conversions between the two backends (the CPU stores signed int8 as
// u8 = q + 128 and packs k, v for its AVX2 kernels; CUDA keeps s8 in cuBLASLt's TN layouts)
// happen here, on the host, so each side runs exactly what its plan runs.
#include "engine/cuda/selftest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "engine/cpu/fp32_ops.h"
#include "engine/cpu/int8_gemm.h"
#include "engine/cpu/int8_ops.h"
#include "engine/cuda/av_gemm.cuh"
#include "engine/cuda/fc1_bias_gelu_quant.cuh"
#include "engine/cuda/fc1_relu_quant.cuh"
#include "engine/cuda/fc2_bias_residual.cuh"
#include "engine/cuda/float_ops.cuh"
#include "engine/cuda/gemm.h"
#include "engine/cuda/head.cuh"
#include "engine/cuda/ln1_quant.cuh"
#include "engine/cuda/merge.cuh"
#include "engine/cuda/patch_embed.cuh"
#include "engine/cuda/proj_residual_ln2_quant.cuh"
#include "engine/cuda/qkv_bias_quant.cuh"
#include "engine/cuda/softmax.cuh"
#include "engine/cuda/window_attention.cuh"
#include "engine/error.h"
#include "engine/model.h"
#include "engine/cuda/plans.h"
#include "engine/quantize.h"
#include "profiler/recorder.h"
#include <filesystem>

namespace swinscope::SWS_CUDA_NS {

namespace {

namespace c8 = cpu::int8;
constexpr std::size_t kGuard = 64;          // sentinel elements after every output
constexpr unsigned char kPoison = 0x5A;     // outputs are filled with it before each run
constexpr float kEps = 1e-5f;

// A device buffer with a poisoned sentinel tail.
template <typename T>
class Dev {
 public:
  explicit Dev(std::size_t n) : m_n(n) {
    void* p = nullptr;
    SWS_CUDA_CHECK(cudaMalloc(&p, (n + kGuard) * sizeof(T)));
    m_p = static_cast<T*>(p);
    poison();
  }
  explicit Dev(const std::vector<T>& h) : Dev(h.size()) { upload(h); }
  ~Dev() { cudaFree(m_p); }
  Dev(const Dev&) = delete;
  Dev& operator=(const Dev&) = delete;
  T* get() const { return m_p; }
  void poison() { SWS_CUDA_CHECK(cudaMemset(m_p, kPoison, (m_n + kGuard) * sizeof(T))); }
  void upload(const std::vector<T>& h) { SWS_CUDA_CHECK(cudaMemcpy(m_p, h.data(), m_n * sizeof(T), cudaMemcpyHostToDevice)); }
  std::vector<T> download() const {
    std::vector<T> h(m_n);
    SWS_CUDA_CHECK(cudaMemcpy(h.data(), m_p, m_n * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }
  bool guard_intact() const {
    std::vector<unsigned char> g(kGuard * sizeof(T));
    SWS_CUDA_CHECK(cudaMemcpy(g.data(), m_p + m_n, g.size(), cudaMemcpyDeviceToHost));
    return std::all_of(g.begin(), g.end(), [](unsigned char b) { return b == kPoison; });
  }

 private:
  T* m_p = nullptr;
  std::size_t m_n = 0;
};

struct Rng {
  std::mt19937 gen;
  std::vector<float> normal(std::size_t n, float sd = 1.f, float mean = 0.f) {
    std::normal_distribution<float> d(mean, sd);
    std::vector<float> v(n);
    for (auto& x : v) x = d(gen);
    return v;
  }
  std::vector<std::int8_t> s8(std::size_t n, int lo = -127, int hi = 127) {
    std::uniform_int_distribution<int> d(lo, hi);
    std::vector<std::int8_t> v(n);
    for (auto& x : v) x = static_cast<std::int8_t>(d(gen));
    return v;
  }
};

std::vector<std::uint8_t> shifted(const std::vector<std::int8_t>& v) {
  std::vector<std::uint8_t> u(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) u[i] = static_cast<std::uint8_t>(v[i] + c8::kZeroPoint);
  return u;
}

class Checker {
 public:
  Checker(std::vector<SelftestRow>& rows, std::string shape) : m_rows(rows), m_shape(std::move(shape)) {}
  void set_shape(std::string s) { m_shape = std::move(s); }

  // Integer outputs: the largest difference, in int8 steps (or exact for GEMM accumulators).
  template <typename A, typename B>
  void ints(const std::string& stage, const std::vector<A>& got, const std::vector<B>& want, int tol, bool guard,
            const std::string& unit = "int8 steps") {
    long long worst = 0, differ = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
      const long long d = std::llabs(static_cast<long long>(got.at(i)) - static_cast<long long>(want[i]));
      worst = std::max(worst, d);
      differ += d != 0;
    }
    SelftestRow r{stage, m_shape, static_cast<double>(worst), static_cast<double>(tol), unit, worst <= tol && guard, ""};
    if (differ) r.detail = std::to_string(differ) + " of " + std::to_string(want.size()) + " outputs differ";
    if (!guard) r.detail += std::string(r.detail.empty() ? "" : "; ") + "sentinel after the output overwritten";
    m_rows.push_back(std::move(r));
  }
  // Float outputs: normalized error ‖got − want‖ / ‖want‖.
  void floats(const std::string& stage, const std::vector<float>& got, const std::vector<float>& want, double tol, bool guard) {
    double num = 0, den = 0;
    bool finite = true;
    for (std::size_t i = 0; i < want.size(); ++i) {
      finite = finite && std::isfinite(got.at(i));
      num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
      den += double(want[i]) * want[i];
    }
    const double err = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    SelftestRow r{stage, m_shape, finite ? err : INFINITY, tol, "normalized", finite && err <= tol && guard, ""};
    if (!finite) r.detail = "non-finite output";
    if (!guard) r.detail += std::string(r.detail.empty() ? "" : "; ") + "sentinel after the output overwritten";
    m_rows.push_back(std::move(r));
  }

 private:
  std::vector<SelftestRow>& m_rows;
  std::string m_shape;
};

struct Case {
  std::string name;
  int batch, H, C, window, heads;
};

// Y (M×N) = X (M×K) · Wᵀ as the plans describe it (int8_plan.cpp linear_desc).
GemmDesc linear(int N, int K, int M, GemmType d, GemmScale scale, float alpha, const std::string& label) {
  GemmDesc g;
  g.m = N, g.n = M, g.k = K, g.trans_a = true, g.lda = K, g.ldb = K, g.ldd = N;
  g.a = g.b = GemmType::S8, g.d = d, g.scale = scale, g.alpha = alpha, g.label = label;
  return g;
}

void attention_case(std::vector<SelftestRow>& rows, Rng& rng, const Case& cs, int shift) {
  const Geo g{cs.batch, cs.H, cs.C, cs.window, shift, cs.heads};
  const cpu::WindowGeometry wg{cs.batch, cs.H, cs.C, cs.window, shift, cs.heads};
  const int N = g.tokens(), Np = g.Np(), d = g.head_dim(), d4 = g.d4(), C = g.C;
  const long long rows_n = g.nwin() * N, nwh = g.nwh();
  const auto R = static_cast<std::size_t>(rows_n);
  Checker ck(rows, cs.name + ", batch " + std::to_string(cs.batch) + ", shift " + std::to_string(shift));
  cudaStream_t st = nullptr;
  const auto cpu_impl = c8::Impl::Plain;

  // ---- 1 ln1_quant
  const auto x = rng.normal(R * C, 2.f, 0.3f), gamma = rng.normal(C, 0.5f, 1.f), beta = rng.normal(C, 0.2f);
  const float inv_a = 127.f / 6.f;
  {
    std::vector<std::uint8_t> ref(R * C);
    c8::ln1_quant(x.data(), ref.data(), wg, gamma.data(), beta.data(), kEps, inv_a, cpu_impl);
    Dev<float> dx(x), dg(gamma), db(beta);
    Dev<std::int8_t> out(R * C);
    ln1_quant(dx.get(), out.get(), g, dg.get(), db.get(), kEps, inv_a, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> want(ref.size());
    for (std::size_t i = 0; i < ref.size(); ++i) want[i] = ref[i] - c8::kZeroPoint;
    ck.ints("ln1_quant", out.download(), want, 1, out.guard_intact());
  }
  // ---- 3 qkv_bias_quant
  const auto qkv = rng.s8(R * 3 * C);
  const auto qkv_bias = rng.normal(3 * C, 0.3f);
  const float deq = 0.02f, inv3[3] = {127.f / 2.5f, 127.f / 2.7f, 127.f / 2.2f};
  std::vector<std::int8_t> q_ref(static_cast<std::size_t>(nwh) * N * d), kt_ref(nwh * c8::kt_head_bytes(N, d)),
      vp_ref(nwh * c8::vp_head_bytes(N, d));
  c8::qkv_bias_quant(qkv.data(), q_ref.data(), kt_ref.data(), vp_ref.data(), wg, qkv_bias.data(), deq, inv3, cpu_impl);
  // The CPU's q, kT, vP unpacked into CUDA's layouts (padding 0): what stage 3 must write, and
  // the inputs of stages 4–6 below, so those compare the CUDA ops alone.
  std::vector<std::int8_t> qc(static_cast<std::size_t>(nwh) * Np * d4, 0), kc(qc.size(), 0), vtc(qc.size(), 0);
  {
    const long ktb = c8::kt_head_bytes(N, d), vpb = c8::vp_head_bytes(N, d);
    const int d8 = c8::head_dim8(d);
    for (long long wh = 0; wh < nwh; ++wh)
      for (int t = 0; t < N; ++t)
        for (int e = 0; e < d; ++e) {
          qc[static_cast<std::size_t>((wh * Np + t) * d4 + e)] = q_ref[static_cast<std::size_t>((wh * N + t) * d + e)];
          kc[static_cast<std::size_t>((wh * Np + t) * d4 + e)] = kt_ref[static_cast<std::size_t>(wh * ktb + ((e / 2) * Np + t) * 2 + e % 2)];
          vtc[static_cast<std::size_t>((wh * d4 + e) * Np + t)] = vp_ref[static_cast<std::size_t>(wh * vpb + ((t / 2) * d8 + e) * 2 + t % 2)];
        }
  }
  {
    Dev<std::int8_t> dq(qc.size()), dk(kc.size()), dvt(vtc.size()), dqkv(qkv);
    Dev<float> dbias(qkv_bias);
    qkv_bias_quant(dqkv.get(), dq.get(), dk.get(), dvt.get(), g, dbias.get(), deq, inv3, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    const bool guard = dq.guard_intact() && dk.guard_intact() && dvt.guard_intact();
    std::vector<int> got, want;
    for (const auto* dv : {&dq, &dk, &dvt})
      for (auto v : dv->download()) got.push_back(v);
    for (const auto* h : {&qc, &kc, &vtc}) want.insert(want.end(), h->begin(), h->end());
    ck.ints("qkv_bias_quant", got, want, 1, guard);
  }
  // ---- 4 qk_gemm, on the CPU's q, k
  std::vector<std::int32_t> scores_ref(static_cast<std::size_t>(nwh) * N * Np);
  c8::qk_gemm(q_ref.data(), kt_ref.data(), scores_ref.data(), wg, cpu_impl);
  GemmRunner runner;
  {
    GemmDesc qk;
    qk.m = Np, qk.n = N, qk.k = d4, qk.trans_a = true, qk.lda = d4, qk.ldb = d4, qk.ldd = Np;
    qk.batch = static_cast<int>(nwh), qk.stride_a = qk.stride_b = static_cast<long long>(Np) * d4;
    qk.stride_d = static_cast<long long>(N) * Np, qk.a = qk.b = GemmType::S8, qk.d = GemmType::S32, qk.label = "qk_gemm";
    const int id = runner.add(qk);
    Dev<std::int8_t> a(kc), b(qc);
    Dev<std::int32_t> s(scores_ref.size());
    runner.run(id, a.get(), b.get(), s.get(), st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    ck.ints("qk_gemm", s.download(), scores_ref, 0, s.guard_intact(), "exact (int32)");
  }
  // ---- 5 softmax, on the CPU's scores
  std::vector<float> dense(static_cast<std::size_t>(g.heads) * N * N);
  {
    const auto table = rng.normal(static_cast<std::size_t>(2 * cs.window - 1) * (2 * cs.window - 1) * g.heads, 1.f);
    cpu::expand_relative_position_bias(table.data(), dense.data(), cs.window, g.heads);
  }
  const auto bias_p = c8::pad_relative_bias(dense.data(), g.heads, N);
  const auto mask = c8::shift_mask(wg);
  int smax = 1;
  for (auto v : scores_ref) smax = std::max(smax, std::abs(v));
  const float sdeq = 6.f / static_cast<float>(smax), inv_p = 255.f;
  std::vector<std::uint8_t> probs_ref(scores_ref.size());
  c8::softmax_quant(scores_ref.data(), probs_ref.data(), wg, bias_p.data(), mask.empty() ? nullptr : mask.data(), sdeq, inv_p,
                    cpu_impl);
  {
    Dev<std::int32_t> s(scores_ref);
    Dev<float> b(bias_p);
    std::unique_ptr<Dev<float>> m;
    if (!mask.empty()) m = std::make_unique<Dev<float>>(mask);
    Dev<std::int8_t> p(probs_ref.size());
    softmax_quant(s.get(), p.get(), g, b.get(), m ? m->get() : nullptr, sdeq, inv_p, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> got;
    for (auto v : p.download()) got.push_back(v + c8::kZeroPoint);
    ck.ints("softmax", got, probs_ref, 1, p.guard_intact());
  }
  // ---- 6 av_gemm (GEMM + requantize), on the CPU's probabilities and v
  const float requant = 1.f / 255.f * 0.02f / 0.015f;
  std::vector<std::uint8_t> ctx_ref(R * C);
  c8::av_gemm(probs_ref.data(), vp_ref.data(), ctx_ref.data(), wg, requant, cpu_impl);
  {
    std::vector<std::int8_t> pc(probs_ref.size());
    for (std::size_t i = 0; i < pc.size(); ++i) pc[i] = static_cast<std::int8_t>(probs_ref[i] - c8::kZeroPoint);
    GemmDesc av;
    av.m = d4, av.n = N, av.k = Np, av.trans_a = true, av.lda = Np, av.ldb = Np, av.ldd = d4;
    av.batch = static_cast<int>(nwh), av.stride_a = static_cast<long long>(d4) * Np, av.stride_b = static_cast<long long>(N) * Np;
    av.stride_d = static_cast<long long>(N) * d4, av.a = av.b = GemmType::S8, av.d = GemmType::S32, av.label = "av_gemm";
    const int id = runner.add(av);
    Dev<std::int8_t> a(vtc), b(pc), ctx(R * C);
    Dev<std::int32_t> acc(static_cast<std::size_t>(nwh) * N * d4);
    runner.run(id, a.get(), b.get(), acc.get(), st);
    av_requant(acc.get(), a.get(), ctx.get(), g, requant, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> want(ctx_ref.size());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = ctx_ref[i] - c8::kZeroPoint;
    ck.ints("av_gemm", ctx.download(), want, 1, ctx.guard_intact() && acc.guard_intact());
  }
  // ---- stages 4–6 fused (issue 13): each window_attention kernel against the CPU's three stages
  for (const AttnKernel kernel : {AttnKernel::Mma, AttnKernel::Simt}) {
    if (!window_attention_supported(g, nullptr, kernel)) continue;
    Dev<std::int8_t> dq2(qc), dk2(kc), dv2(vtc), ctx(R * C);
    Dev<float> b(bias_p);
    std::unique_ptr<Dev<float>> m;
    if (!mask.empty()) m = std::make_unique<Dev<float>>(mask);
    window_attention(dq2.get(), dk2.get(), dv2.get(), ctx.get(), g, b.get(), m ? m->get() : nullptr, sdeq, inv_p, requant, st,
                     kernel);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> want(ctx_ref.size());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = ctx_ref[i] - c8::kZeroPoint;
    ck.ints("window_attention " + std::string(attn_kernel_name(kernel)) + " (stages 4-6 fused)", ctx.download(), want, 1,
            ctx.guard_intact());
  }
  // ---- 8 proj_residual_ln2_quant
  {
    const auto proj = rng.s8(R * C);
    const auto pb = rng.normal(C, 0.2f);
    std::vector<float> x_ref = x;
    std::vector<std::uint8_t> out_ref(R * C);
    c8::proj_residual_ln2_quant(proj.data(), x_ref.data(), out_ref.data(), wg, pb.data(), 0.01f, gamma.data(), beta.data(),
                                kEps, inv_a, cpu_impl);
    Dev<std::int8_t> dp(proj), out(R * C);
    Dev<float> dx(x), db(pb), dg(gamma), dbe(beta);
    proj_residual_ln2_quant(dp.get(), dx.get(), out.get(), g, db.get(), 0.01f, dg.get(), dbe.get(), kEps, inv_a, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> want(out_ref.size());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = out_ref[i] - c8::kZeroPoint;
    ck.ints("proj_residual_ln2_quant", out.download(), want, 1, out.guard_intact());
    ck.floats("proj_residual_ln2_quant (residual x)", dx.download(), x_ref, 1e-6, dx.guard_intact());
  }
}

void mlp_case(std::vector<SelftestRow>& rows, Rng& rng, const Case& cs, bool per_channel) {
  const int C = cs.C, hidden = 4 * C;
  const int M = cs.batch * cs.H * cs.H;
  Checker ck(rows, cs.name + ", batch " + std::to_string(cs.batch) + (per_channel ? ", per-channel weights" : ", per-tensor weights"));
  cudaStream_t st = nullptr;
  GemmRunner runner;
  auto weights = [&](int N, int K) {
    const auto w = rng.s8(static_cast<std::size_t>(N) * K);
    std::vector<float> s(per_channel ? static_cast<std::size_t>(N) : 1);
    for (auto& v : s) v = 0.004f + 0.002f * static_cast<float>(rng.gen() % 1000) / 1000.f;
    return std::make_pair(w, s);
  };
  // A linear with S8 output (qkv, proj, fc1 and fc2 of GELU blocks) vs the CPU's bit-exact loop.
  auto s8_linear = [&](const std::string& stage, int N, int K, float s_in, float s_out) {
    auto [w, s] = weights(N, K);
    const cpu::Int8LinearWeights lw(w.data(), s.data(), static_cast<int>(s.size()), N, K, false);
    const auto x = rng.s8(static_cast<std::size_t>(M) * K);
    const auto alpha = cpu::int8_output_scales(lw, s_in, cpu::Int8Dst::S8, s_out);
    std::vector<std::int8_t> ref(static_cast<std::size_t>(M) * N);
    cpu::int8_gemm_reference(shifted(x).data(), cpu::Int8Src::Shifted, lw, M, alpha, cpu::Int8Dst::S8, ref.data());
    const int id = runner.add(linear(N, K, M, GemmType::S8, per_channel ? GemmScale::PerRow : GemmScale::Scalar, alpha[0], stage));
    Dev<std::int8_t> dw(w), dx(x), dy(ref.size());
    Dev<float> da(alpha);
    runner.run(id, dw.get(), dx.get(), dy.get(), st, per_channel ? da.get() : nullptr);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    ck.ints(stage, dy.download(), ref, 0, dy.guard_intact(), "exact (int8)");
    return ref;
  };
  s8_linear("qkv_gemm", 3 * C, C, 0.03f, 0.05f);
  s8_linear("proj_gemm", C, C, 0.02f, 0.04f);
  const auto h = s8_linear("fc1_gemm (GELU block)", hidden, C, 0.03f, 0.06f);
  // ---- 10 fc1_bias_gelu_quant
  {
    const auto b = rng.normal(static_cast<std::size_t>(hidden), 0.3f);
    std::vector<std::uint8_t> ref(h.size());
    c8::fc1_bias_gelu_quant(h.data(), ref.data(), M, hidden, b.data(), 0.05f, 127.f / 4.f, c8::Impl::Plain);
    Dev<std::int8_t> dh(h), out(h.size());
    Dev<float> db(b);
    fc1_bias_gelu_quant(dh.get(), out.get(), M, hidden, db.get(), 0.05f, 127.f / 4.f, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> want(ref.size());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = ref[i] - c8::kZeroPoint;
    ck.ints("fc1_bias_gelu_quant", out.download(), want, 1, out.guard_intact());
  }
  const auto y = s8_linear("fc2_gemm (GELU block)", C, hidden, 0.03f, 0.05f);
  // ---- 12 fc2_bias_residual (GELU block: from s8)
  const auto x0 = rng.normal(static_cast<std::size_t>(M) * C, 1.f);
  const auto b2 = rng.normal(static_cast<std::size_t>(C), 0.2f);
  {
    std::vector<float> ref = x0;
    c8::fc2_bias_residual(y.data(), ref.data(), M, C, b2.data(), 0.05f, c8::Impl::Plain);
    Dev<std::int8_t> dy(y);
    Dev<float> dx(x0), db(b2);
    fc2_bias_residual(dy.get(), dx.get(), M, C, db.get(), 0.05f, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    ck.floats("fc2_bias_residual", dx.download(), ref, 1e-6, dx.guard_intact());
  }
  // ---- GELU-less: fc1 (s32 GEMM + ReLU requantize to u8 − 128), fc2 on the shifted input
  // with the zero-point correction inside fc2_bias_residual — against the CPU's u8 path.
  {
    auto [w1, s1] = weights(hidden, C);
    auto [w2, s2] = weights(C, hidden);
    const cpu::Int8LinearWeights l1(w1.data(), s1.data(), static_cast<int>(s1.size()), hidden, C, false);
    const cpu::Int8LinearWeights l2(w2.data(), s2.data(), static_cast<int>(s2.size()), C, hidden, false);
    const auto xa = rng.s8(static_cast<std::size_t>(M) * C);
    const auto a1 = cpu::int8_output_scales(l1, 0.03f, cpu::Int8Dst::U8Relu, 4.f / 255.f);
    std::vector<std::uint8_t> h_ref(static_cast<std::size_t>(M) * hidden);
    cpu::int8_gemm_reference(shifted(xa).data(), cpu::Int8Src::Shifted, l1, M, a1, cpu::Int8Dst::U8Relu, h_ref.data());
    const auto a2 = cpu::int8_output_scales(l2, 4.f / 255.f, cpu::Int8Dst::S8, 0.05f);
    std::vector<std::int8_t> y_ref(static_cast<std::size_t>(M) * C);
    cpu::int8_gemm_reference(h_ref.data(), cpu::Int8Src::Unsigned, l2, M, a2, cpu::Int8Dst::S8, y_ref.data());
    std::vector<float> x_ref = x0;
    c8::fc2_bias_residual(y_ref.data(), x_ref.data(), M, C, b2.data(), 0.05f, c8::Impl::Plain);

    std::vector<std::int32_t> rowsum(static_cast<std::size_t>(C), 0);
    for (int n = 0; n < C; ++n)
      for (int k = 0; k < hidden; ++k) rowsum[static_cast<std::size_t>(n)] += w2[static_cast<std::size_t>(n) * hidden + k];
    const int id1 = runner.add(linear(hidden, C, M, GemmType::S32, GemmScale::Scalar, 1.f, "fc1_gemm (GELU-less)"));
    const int id2 = runner.add(linear(C, hidden, M, GemmType::S32, GemmScale::Scalar, 1.f, "fc2_gemm (GELU-less)"));
    Dev<std::int8_t> dw1(w1), dw2(w2), dxa(xa), dh(h_ref.size());
    Dev<std::int32_t> acc1(h_ref.size()), acc2(y_ref.size()), drs(rowsum);
    Dev<float> da1(a1), da2(a2), dx(x0), db(b2);
    runner.run(id1, dw1.get(), dxa.get(), acc1.get(), st);
    fc1_relu_quant(acc1.get(), dh.get(), M, hidden, da1.get(), per_channel, st);
    runner.run(id2, dw2.get(), dh.get(), acc2.get(), st);
    fc2_bias_residual_from_acc(acc2.get(), drs.get(), da2.get(), per_channel, dx.get(), M, C, db.get(), 0.05f, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> got;
    for (auto v : dh.download()) got.push_back(v + c8::kZeroPoint);
    ck.ints("fc1_gemm (GELU-less: ReLU requantize)", got, h_ref, 0, dh.guard_intact() && acc1.guard_intact(), "exact (int8)");
    ck.floats("fc2_bias_residual (GELU-less: from s32)", dx.download(), x_ref, 1e-6, dx.guard_intact() && acc2.guard_intact());
  }
  // ---- merge_ln_quant + merge_gemm (s32 + dequantize), when the map halves
  if (cs.H % 2 == 0) {
    const auto xm = rng.normal(static_cast<std::size_t>(M) * C, 1.5f);
    const auto gm = rng.normal(static_cast<std::size_t>(4 * C), 0.3f, 1.f), bm = rng.normal(static_cast<std::size_t>(4 * C), 0.1f);
    const int Mo = cs.batch * (cs.H / 2) * (cs.H / 2);
    std::vector<std::uint8_t> a_ref(static_cast<std::size_t>(Mo) * 4 * C);
    c8::merge_ln_quant(xm.data(), a_ref.data(), cs.batch, cs.H, C, gm.data(), bm.data(), kEps, 127.f / 5.f, c8::Impl::Plain);
    Dev<float> dxm(xm), dgm(gm), dbm(bm);
    Dev<std::int8_t> da(a_ref.size());
    merge_ln_quant(dxm.get(), da.get(), cs.batch, cs.H, C, dgm.get(), dbm.get(), kEps, 127.f / 5.f, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    std::vector<int> want(a_ref.size());
    for (std::size_t i = 0; i < want.size(); ++i) want[i] = a_ref[i] - c8::kZeroPoint;
    const auto got_a = da.download();
    ck.ints("merge_ln_quant", got_a, want, 1, da.guard_intact());
    auto [w, s] = weights(2 * C, 4 * C);
    const cpu::Int8LinearWeights lw(w.data(), s.data(), static_cast<int>(s.size()), 2 * C, 4 * C, false);
    const auto alpha = cpu::int8_output_scales(lw, 5.f / 127.f, cpu::Int8Dst::F32, 1.f);
    std::vector<float> ref(static_cast<std::size_t>(Mo) * 2 * C);
    cpu::int8_gemm_reference(shifted(got_a).data(), cpu::Int8Src::Shifted, lw, Mo, alpha, cpu::Int8Dst::F32, ref.data());
    const int id = runner.add(linear(2 * C, 4 * C, Mo, GemmType::S32, GemmScale::Scalar, 1.f, "merge_gemm"));
    Dev<std::int8_t> dw(w);
    Dev<std::int32_t> acc(ref.size());
    Dev<float> dal(alpha), out(ref.size());
    runner.run(id, dw.get(), da.get(), acc.get(), st);
    dequantize_rows(acc.get(), out.get(), Mo, 2 * C, dal.get(), per_channel, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    ck.floats("merge_gemm", out.download(), ref, 0.0, out.guard_intact());
  }
}

// The float plans' block stages (fp32: ≤ 1e-5, fp16: ≤ 1e-2 normalized) against the CPU's FP32
// loops (cpu/fp32_ops.h), on one case's geometry. The CPU's GEMMs add the biases; here the
// fused ops do, so the CPU side gets biased inputs.
void float_block_case(std::vector<SelftestRow>& rows, Rng& rng, const Case& cs, int shift, Act act) {
  const Geo g{cs.batch, cs.H, cs.C, cs.window, shift, cs.heads};
  const cpu::WindowGeometry wg{cs.batch, cs.H, cs.C, cs.window, shift, cs.heads};
  const int N = g.tokens(), d = g.head_dim(), C = g.C;
  const auto R = static_cast<std::size_t>(g.nwin() * N), nwh = static_cast<std::size_t>(g.nwh());
  const bool f16 = act == Act::F16;
  const double tol = f16 ? 1e-2 : 1e-5;
  Checker ck(rows, cs.name + ", batch " + std::to_string(cs.batch) + ", shift " + std::to_string(shift) + (f16 ? ", fp16" : ", fp32"));
  cudaStream_t st = nullptr;
  const std::size_t es = f16 ? 2 : 4;
  // A float vector as the plan's operand type, on the device (bytes), and back.
  auto to_dev = [&](const std::vector<float>& v) {
    auto d8 = std::make_unique<Dev<std::uint8_t>>(v.size() * es);
    std::vector<std::uint8_t> bytes(v.size() * es);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (f16) {
        const std::uint16_t h = numerics::float_to_half_bits(v[i]);
        std::memcpy(&bytes[i * 2], &h, 2);
      } else {
        std::memcpy(&bytes[i * 4], &v[i], 4);
      }
    }
    d8->upload(bytes);
    return d8;
  };
  auto from_dev = [&](const Dev<std::uint8_t>& dv) {
    const auto bytes = dv.download();
    std::vector<float> v(bytes.size() / es);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (f16) {
        std::uint16_t h;
        std::memcpy(&h, &bytes[i * 2], 2);
        v[i] = numerics::half_bits_to_float(h);
      } else {
        std::memcpy(&v[i], &bytes[i * 4], 4);
      }
    }
    return v;
  };
  const auto x = rng.normal(R * C, 2.f, 0.3f), gamma = rng.normal(C, 0.5f, 1.f), beta = rng.normal(C, 0.2f);
  {  // ln1_quant: LayerNorm + shift + partition
    std::vector<float> ref(R * C);
    cpu::ln_shift_partition(x.data(), ref.data(), wg, gamma.data(), beta.data(), kEps);
    Dev<float> dx(x), dg(gamma), db(beta);
    Dev<std::uint8_t> out(R * C * es);
    ln_window_partition(dx.get(), out.get(), act, g, dg.get(), db.get(), kEps, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    ck.floats("ln1_quant (float plans)", from_dev(out), ref, tol, out.guard_intact());
  }
  // qkv_gemm's bias + split, qk_gemm (scaled), softmax, av_gemm + merge heads.
  const auto qkv = rng.normal(R * 3 * C, 1.f), qkv_b = rng.normal(3 * static_cast<std::size_t>(C), 0.2f);
  std::vector<float> qkv_biased(qkv.size());
  for (std::size_t i = 0; i < qkv.size(); ++i) qkv_biased[i] = qkv[i] + qkv_b[i % (3 * static_cast<std::size_t>(C))];
  std::vector<float> dense(static_cast<std::size_t>(g.heads) * N * N);
  {
    const auto table = rng.normal(static_cast<std::size_t>(2 * cs.window - 1) * (2 * cs.window - 1) * g.heads, 1.f);
    cpu::expand_relative_position_bias(table.data(), dense.data(), cs.window, g.heads);
  }
  std::vector<float> scores_ref(nwh * N * N), ctx_ref(R * C);
  cpu::attention_scores(qkv_biased.data(), scores_ref.data(), wg);
  std::vector<float> probs_ref = scores_ref;
  cpu::softmax_bias_mask(probs_ref.data(), dense.data(), wg);
  cpu::attention_av(probs_ref.data(), qkv_biased.data(), ctx_ref.data(), wg);
  const auto mask = c8::shift_mask(wg);
  GemmRunner runner;
  const GemmType gt = f16 ? GemmType::F16 : GemmType::F32;
  auto dqkv = to_dev(qkv);
  Dev<float> dqb(qkv_b), dbias(dense), dscores(scores_ref.size());
  std::unique_ptr<Dev<float>> dmask;
  if (!mask.empty()) dmask = std::make_unique<Dev<float>>(mask);
  Dev<std::uint8_t> dq(nwh * N * d * es), dk(nwh * N * d * es), dv(nwh * N * d * es), dp(scores_ref.size() * es),
      dctx(R * C * es), dctx2(R * C * es);
  bias_split_heads(dqkv->get(), dq.get(), dk.get(), dv.get(), act, g, dqb.get(), st);
  GemmDesc qk;
  qk.m = N, qk.n = N, qk.k = d, qk.trans_a = true, qk.lda = qk.ldb = d, qk.ldd = N, qk.batch = static_cast<int>(nwh);
  qk.stride_a = qk.stride_b = static_cast<long long>(N) * d, qk.stride_d = static_cast<long long>(N) * N;
  qk.a = qk.b = gt, qk.d = GemmType::F32, qk.alpha = 1.f / std::sqrt(static_cast<float>(d)), qk.label = "qk_gemm (float)";
  runner.run(runner.add(qk), dk.get(), dq.get(), dscores.get(), st);
  SWS_CUDA_CHECK(cudaDeviceSynchronize());
  ck.floats("qkv_gemm bias/split + qk_gemm (float plans)", dscores.download(), scores_ref, tol,
            dscores.guard_intact() && dq.guard_intact() && dk.guard_intact() && dv.guard_intact());
  Dev<float> dscores_ref(scores_ref);  // softmax on the CPU's scores: the comparison is of the op alone
  softmax_rows(dscores_ref.get(), dp.get(), act, g, dbias.get(), dmask ? dmask->get() : nullptr, st);
  SWS_CUDA_CHECK(cudaDeviceSynchronize());
  ck.floats("softmax (float plans)", from_dev(dp), probs_ref, tol, dp.guard_intact());
  GemmDesc av;
  av.m = d, av.n = N, av.k = N, av.lda = d, av.ldb = N, av.ldd = d, av.batch = static_cast<int>(nwh);
  av.stride_a = static_cast<long long>(N) * d, av.stride_b = static_cast<long long>(N) * N, av.stride_d = static_cast<long long>(N) * d;
  av.a = av.b = av.d = gt, av.label = "av_gemm (float)";
  runner.run(runner.add(av), dv.get(), dp.get(), dctx.get(), st);
  merge_heads(dctx.get(), dctx2.get(), act, g, st);
  SWS_CUDA_CHECK(cudaDeviceSynchronize());
  ck.floats("av_gemm + merge heads (float plans)", from_dev(dctx2), ctx_ref, tol, dctx2.guard_intact() && dctx.guard_intact());
  {  // proj_residual_ln2_quant: bias + window reverse + reverse shift + residual + LayerNorm
    const auto attn = rng.normal(R * C, 1.f), pb = rng.normal(static_cast<std::size_t>(C), 0.2f);
    std::vector<float> attn_b(attn.size()), x_ref = x, ln_ref(R * C);
    for (std::size_t i = 0; i < attn.size(); ++i) attn_b[i] = attn[i] + pb[i % static_cast<std::size_t>(C)];
    cpu::window_reverse_residual_ln(attn_b.data(), x_ref.data(), ln_ref.data(), wg, gamma.data(), beta.data(), kEps);
    auto da = to_dev(attn);
    Dev<float> dx(x), dpb(pb), dg(gamma), db(beta);
    Dev<std::uint8_t> out(R * C * es);
    proj_residual_ln(da->get(), dx.get(), out.get(), act, g, dpb.get(), dg.get(), db.get(), kEps, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    ck.floats("proj_residual_ln2_quant (float plans)", from_dev(out), ln_ref, tol, out.guard_intact());
    ck.floats("proj_residual_ln2_quant (float plans, residual x)", dx.download(), x_ref, f16 ? 1e-3 : 1e-6, dx.guard_intact());
  }
  if (cs.H % 2 == 0) {  // merge_ln_quant: 2×2 gather + LayerNorm
    const auto gm = rng.normal(4 * static_cast<std::size_t>(C), 0.3f, 1.f), bm = rng.normal(4 * static_cast<std::size_t>(C), 0.1f);
    const std::size_t Mo = static_cast<std::size_t>(cs.batch) * (cs.H / 2) * (cs.H / 2);
    std::vector<float> ref(Mo * 4 * C);
    cpu::merge_gather_ln(x.data(), ref.data(), cs.batch, cs.H, C, gm.data(), bm.data(), kEps);
    Dev<float> dx(x), dg(gm), db(bm);
    Dev<std::uint8_t> out(ref.size() * es);
    merge_gather_ln(dx.get(), out.get(), act, cs.batch, cs.H, C, dg.get(), db.get(), kEps, st);
    SWS_CUDA_CHECK(cudaDeviceSynchronize());
    ck.floats("merge_ln_quant (float plans)", from_dev(out), ref, tol, out.guard_intact());
  }
}

// patch_embed and head: float stages, against the CPU's FP32 loops (oneDNN-free references).
void float_case(std::vector<SelftestRow>& rows, Rng& rng, int batch, int in_chans, int img, int patch, int E, int classes) {
  Checker ck(rows, "img " + std::to_string(img) + ", patch " + std::to_string(patch) + ", embed " + std::to_string(E) +
                       ", batch " + std::to_string(batch));
  cudaStream_t st = nullptr;
  GemmRunner runner;
  const int P = img / patch, K = in_chans * patch * patch, M = batch * P * P;
  const auto input = rng.normal(static_cast<std::size_t>(batch) * in_chans * img * img);
  const auto w = rng.normal(static_cast<std::size_t>(E) * K, 0.1f), b = rng.normal(static_cast<std::size_t>(E), 0.1f);
  const auto gm = rng.normal(static_cast<std::size_t>(E), 0.3f, 1.f), bm = rng.normal(static_cast<std::size_t>(E), 0.1f);
  std::vector<float> cols(static_cast<std::size_t>(M) * K), ref(static_cast<std::size_t>(M) * E);
  cpu::patch_im2col(input.data(), cols.data(), batch, in_chans, img, patch);
  for (int m = 0; m < M; ++m)
    for (int e = 0; e < E; ++e) {
      double s = 0;
      for (int k = 0; k < K; ++k) s += double(cols[static_cast<std::size_t>(m) * K + k]) * w[static_cast<std::size_t>(e) * K + k];
      ref[static_cast<std::size_t>(m) * E + e] = static_cast<float>(s) + b[static_cast<std::size_t>(e)];
    }
  cpu::layernorm_rows(ref.data(), ref.data(), M, E, gm.data(), bm.data(), kEps);
  GemmDesc d;
  d.m = E, d.n = M, d.k = K, d.trans_a = true, d.lda = K, d.ldb = K, d.ldd = E;
  d.a = d.b = d.d = GemmType::F32, d.label = "patch_embed";
  const int id = runner.add(d);
  Dev<float> din(input), dcols(cols.size()), dw(w), db(b), dg(gm), dbm(bm), dx(ref.size());
  patch_im2col(din.get(), dcols.get(), batch, in_chans, img, patch, st);
  runner.run(id, dw.get(), dcols.get(), dx.get(), st);
  bias_layernorm_rows(dx.get(), dx.get(), M, E, db.get(), dg.get(), dbm.get(), kEps, st);
  SWS_CUDA_CHECK(cudaDeviceSynchronize());
  ck.floats("patch_embed", dx.download(), ref, 1e-5, dx.guard_intact() && dcols.guard_intact());
  // head on the patch embedding's output as the final feature map
  const auto hw = rng.normal(static_cast<std::size_t>(classes) * E, 0.1f), hb = rng.normal(static_cast<std::size_t>(classes), 0.1f);
  std::vector<float> scratch(ref.size()), pooled(static_cast<std::size_t>(batch) * E), logits(static_cast<std::size_t>(batch) * classes);
  cpu::ln_mean_pool(ref.data(), scratch.data(), pooled.data(), batch, P * P, E, gm.data(), bm.data(), kEps);
  for (int bi = 0; bi < batch; ++bi)
    for (int c = 0; c < classes; ++c) {
      double s = 0;
      for (int e = 0; e < E; ++e) s += double(pooled[static_cast<std::size_t>(bi) * E + e]) * hw[static_cast<std::size_t>(c) * E + e];
      logits[static_cast<std::size_t>(bi) * classes + c] = static_cast<float>(s) + hb[static_cast<std::size_t>(c)];
    }
  GemmDesc h;
  h.m = classes, h.n = batch, h.k = E, h.trans_a = true, h.lda = E, h.ldb = E, h.ldd = classes;
  h.a = h.b = h.d = GemmType::F32, h.label = "head";
  const int hid = runner.add(h);
  Dev<float> dref(ref), dscr(scratch.size()), dpool(pooled.size()), dhw(hw), dhb(hb), dlog(logits.size());
  bias_layernorm_rows(dref.get(), dscr.get(), M, E, nullptr, dg.get(), dbm.get(), kEps, st);
  mean_pool(dscr.get(), dpool.get(), batch, P * P, E, st);
  runner.run(hid, dhw.get(), dpool.get(), dlog.get(), st);
  add_bias_rows(dlog.get(), batch, classes, dhb.get(), st);
  SWS_CUDA_CHECK(cudaDeviceSynchronize());
  ck.floats("head", dlog.download(), logits, 1e-5, dlog.guard_intact() && dpool.guard_intact());
}

// The whole forward of a model file: the CUDA plan against the CPU plan. int8: the CPU's GEMMs
// use 7-bit weights on CPUs without VNNI (int8_gemm.h), so the tolerance is wider there. Float
// models: fp32 (≤ 1e-5), tf32 (≤ 1e-3) and fp16 (≤ 1e-2) against the CPU's FP32 plan. Every
// plan's graph replay must equal its ungraphed, recorded run bit for bit.
void forward_rows(std::vector<SelftestRow>& rows, const std::string& path, const SelftestOptions& opts) {
  const Model model = load_model(path);
  const int B = opts.forward_batch;
  const auto& c = model.config;
  Rng rng{std::mt19937(opts.seed + 7)};
  const auto input = rng.normal(static_cast<std::size_t>(B) * c.in_chans * c.img_size * c.img_size);
  const Variant v = default_variant(model);
  auto cpu_plan = make_plan(model, PlanOptions{v, Backend::CPU, B, 0});
  const auto n = static_cast<std::size_t>(B) * c.num_classes;
  std::vector<float> ref(n);
  cpu_plan->run(input.data(), B, ref.data());
  const bool seven_bit = cpu::int8_gemm_needs_7bit_weights();
  struct Flavour {
    std::string name;
    Variant variant;
    bool tf32;
    double tol;
    bool fused = false;
    GemmPolicy gemm = GemmPolicy::CuBlasLt;
    bool ivit = false;  // int8-ivit: the CUDA plan against the CPU's integer-only plan, bit for bit
  };
  std::vector<Flavour> flavours;
  if (model.is_int8()) {
    flavours.push_back({std::string(variant_name(v)), v, false, seven_bit ? 0.15 : 0.05});
    flavours.push_back({std::string(variant_name(v)) + " + fused attention", v, false, seven_bit ? 0.15 : 0.05, true});
    flavours.push_back({std::string(variant_name(v)) + " + own GEMM + fused attention", v, false, seven_bit ? 0.15 : 0.05, true,
                        GemmPolicy::Own});
    flavours.push_back({std::string(variant_name(v)) + " + GEMMs chosen by timing", v, false, seven_bit ? 0.15 : 0.05, false,
                        GemmPolicy::Tune});
    // GELU fused into FC1's epilogue: fma(y, deq, bias) rounds once where the separate op may
    // round twice, so it is compared with the CPU only.
    if (v == Variant::Int8Gelu)
      flavours.push_back({"int8-gelu-fused", Variant::Int8GeluFused, false, seven_bit ? 0.15 : 0.05});
    if (missing_ivit_range(model).empty())
      flavours.push_back({"int8-ivit", Variant::Int8Ivit, false, 0.0, false, GemmPolicy::CuBlasLt, true});
  }
  else flavours = {{"fp32", Variant::FP32, false, 1e-5}, {"tf32", Variant::FP32, true, 1e-3}, {"fp16", Variant::FP16, false, 1e-2}};
  std::vector<int> baseline;
  for (const auto& f : flavours) {
    auto gpu_plan = f.ivit ? make_ivit_plan(model, B)
                    : model.is_int8() ? make_int8_plan(model, f.variant, B, f.fused, f.gemm) : make_float_plan(model, f.variant, f.tf32, B);
    std::vector<float> ref_ivit;
    if (f.ivit) {  // all integers up to the logits' one multiplication: the same bits
      ref_ivit.resize(n);
      make_plan(model, PlanOptions{Variant::Int8Ivit, Backend::CPU, B, 0})->run(input.data(), B, ref_ivit.data());
    }
    const auto& want = f.ivit ? ref_ivit : ref;
    std::vector<float> graphed(n), again(n), recorded(n);
    gpu_plan->run(input.data(), B, graphed.data());  // captures the graph, then replays it
    gpu_plan->run(input.data(), B, again.data());    // a second replay
    struct Count final : profiler::Recorder {
      int spans = 0, depth = 0;
      void begin(std::string_view, int) override { ++spans, ++depth; }
      void end() override { --depth; }
    } count;
    gpu_plan->run(input.data(), B, recorded.data(), &count);  // ungraphed, stage by stage
    Checker ck(rows, std::filesystem::path(path).filename().string() + ", " + f.name + ", batch " + std::to_string(B));
    if (f.ivit) {
      std::vector<int> g_bits(n), w_bits(n);
      std::memcpy(g_bits.data(), graphed.data(), 4 * n);
      std::memcpy(w_bits.data(), want.data(), 4 * n);
      ck.ints("forward (vs CPU int8-ivit)", g_bits, w_bits, 0, true, "exact (bits)");
    } else {
      ck.floats("forward (logits vs CPU plan)", graphed, ref, f.tol, true);
    }
    int agree = 0;
    for (int b = 0; b < B; ++b) {
      auto arg = [&](const std::vector<float>& l) {
        return std::max_element(l.begin() + b * c.num_classes, l.begin() + (b + 1) * c.num_classes) - (l.begin() + b * c.num_classes);
      };
      agree += arg(graphed) == arg(want);
    }
    rows.back().detail = std::to_string(agree) + "/" + std::to_string(B) + " same top-1" +
                         (model.is_int8() && seven_bit && !f.ivit ? "; this CPU's plan uses 7-bit weights (no VNNI), CUDA the file's 8-bit ones" : "");
    std::vector<int> gi(n), ai(n), ri(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::memcpy(&gi[i], &graphed[i], 4);
      std::memcpy(&ai[i], &again[i], 4);
      std::memcpy(&ri[i], &recorded[i], 4);
    }
    ck.ints("forward (graph replay vs replay)", ai, gi, 0, true, "exact (bits)");
    ck.ints("forward (graph vs ungraphed recorded run)", ri, gi, 0, count.depth == 0, "exact (bits)");
    rows.back().detail += (rows.back().detail.empty() ? "" : "; ") + std::to_string(count.spans) + " spans recorded";
    // The int8 alternatives (fused attention, own GEMM) compute the same function as the
    // cuBLASLt three-stage plan, bit for bit.
    if (model.is_int8() && f.variant == v) {
      if (baseline.empty()) baseline = gi;
      else ck.ints("forward (vs the cuBLASLt three-stage plan)", gi, baseline, 0, true, "exact (bits)");
    }
  }
}

}  // namespace

std::vector<SelftestRow> run_selftest(const SelftestOptions& opts) {
  std::vector<SelftestRow> rows;
  Rng rng{std::mt19937(opts.seed)};
  std::vector<Case> cases = {
      {"golden tiny3 stage 0", 2, 16, 16, 4, 1},
      {"fmnist stage 0", 2, 14, 32, 7, 2},
      {"head dim 10 (padded to 12), window 6", 2, 12, 20, 6, 2},
  };
  if (opts.swin_tiny_shapes) {
    cases.push_back({"swin_tiny stage 0", 1, 56, 96, 7, 3});
    cases.push_back({"swin_tiny stage 3", 1, 7, 768, 7, 24});
  }
  for (const auto& cs : cases) {
    attention_case(rows, rng, cs, 0);
    if (cs.H > cs.window) attention_case(rows, rng, cs, cs.window / 2);
    mlp_case(rows, rng, cs, false);
    mlp_case(rows, rng, cs, true);
    for (Act act : {Act::F32, Act::F16}) float_block_case(rows, rng, cs, cs.H > cs.window ? cs.window / 2 : 0, act);
  }
  float_case(rows, rng, 2, 3, 32, 2, 16, 10);
  float_case(rows, rng, 2, 1, 28, 2, 32, 10);
  if (opts.swin_tiny_shapes) float_case(rows, rng, 1, 3, 224, 4, 96, 1000);
  for (const auto& path : opts.models) forward_rows(rows, path, opts);
  return rows;
}

}  // namespace swinscope::SWS_CUDA_NS
