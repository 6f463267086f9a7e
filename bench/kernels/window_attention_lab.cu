// window_attention_lab: stages 4–6 of every SWIN-T stage at batch 128 (window 7, with and
// without the shift mask), on a real GPU (sm_80+): the engine's three-stage path (cuBLASLt
// Q·Kᵀ → s32, softmax_quant, cuBLASLt attn·V → s32, av_requant) against the fused
// window_attention kernels (mma: int8 tensor cores; simt: int32 lanes). Build and usage:
// bench/kernels/README.md. Not part of the CMake build.
//
// Per case:
//   1. correctness: both fused kernels against the three-stage output (the same function: 0
//      differences expected, at most one int8 step allowed) and all three against a host loop
//      on sampled (window, head) pairs (one step allowed: the host sums the softmax in another
//      order);
//   2. timing: CUDA events, the L2 flushed before each run, median of --runs (≥ 50); TOPS =
//      the two products' 2·N·N·d each per (window, head); GB/s = q, k, vᵀ read + the context
//      written (what a fused kernel must move) / t, and for the three stages also the bytes
//      their intermediates add (scores, probabilities, attn·V sums, each written and read);
//   3. the ratio three-stage / fused (issue 13's goal: ≥ 2× at SWIN-T batch 128).
// Output: one line per (case, version), then "checks: N failed" (exit status 1 if any).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/kernels/lab_common.cuh"
#include "engine/cuda/av_gemm.cuh"
#include "engine/cuda/common.cuh"
#include "engine/cuda/gemm.h"
#include "engine/cuda/softmax.cuh"
#include "engine/cuda/window_attention.cuh"
#include "engine/error.h"
#include "engine/numerics.h"

using namespace swinscope;
using namespace swinscope::SWS_CUDA_NS;
using namespace lab;

namespace {

struct Case {
  int stage, H, C, heads, shift;
};

template <typename T>
void upload(Buf<T>& b, const std::vector<T>& h) {
  SWS_CUDA_CHECK(cudaMemcpy(b.p, h.data(), b.bytes(), cudaMemcpyHostToDevice));
}
template <typename T>
std::vector<T> download(const T* p, std::size_t n) {
  std::vector<T> h(n);
  SWS_CUDA_CHECK(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}

void run_case(const Case& cs, int batch, Timer& timer, GemmRunner& runner) {
  const Geo g{batch, cs.H, cs.C, 7, cs.shift, cs.heads};
  const int N = g.tokens(), Np = g.Np(), d = g.head_dim(), d4 = g.d4();
  const long long nwh = g.nwh(), nwin = g.nwin();
  std::printf("stage %d H=%d C=%d heads=%d shift=%d: %lld (window, head) pairs of %d tokens, head dim %d; fused kernel: %s\n",
              cs.stage, cs.H, cs.C, cs.heads, cs.shift, nwh, N, d, attn_kernel_name(window_attention_pick(g)));
  const std::size_t qk_n = static_cast<std::size_t>(nwh) * Np * d4, sc_n = static_cast<std::size_t>(nwh) * N * Np,
                    ctx_n = static_cast<std::size_t>(nwin) * N * cs.C;
  // Inputs as qkv_bias_quant leaves them: zeros in the padded rows and columns.
  std::mt19937 rng(static_cast<unsigned>(cs.stage * 10 + cs.shift));
  std::uniform_int_distribution<int> s8(-127, 127);
  std::vector<std::int8_t> hq(qk_n, 0), hk(qk_n, 0), hv(qk_n, 0);
  for (long long w = 0; w < nwh; ++w)
    for (int i = 0; i < N; ++i)
      for (int e = 0; e < d; ++e) {
        const std::size_t at = (static_cast<std::size_t>(w) * Np + i) * d4 + e;
        hq[at] = static_cast<std::int8_t>(s8(rng));
        hk[at] = static_cast<std::int8_t>(s8(rng));
        hv[(static_cast<std::size_t>(w) * d4 + e) * Np + i] = static_cast<std::int8_t>(s8(rng));
      }
  std::normal_distribution<float> nb(0.f, 1.f);
  std::vector<float> hbias(static_cast<std::size_t>(cs.heads) * N * Np, -INFINITY);
  for (int h = 0; h < cs.heads; ++h)
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) hbias[(static_cast<std::size_t>(h) * N + i) * Np + j] = nb(rng);
  std::vector<float> hmask(static_cast<std::size_t>(g.windows()) * N * Np, 0.f);
  for (std::size_t i = 0; i < hmask.size(); ++i) hmask[i] = (i * 2654435761u >> 7) % 5 == 0 ? -100.f : 0.f;
  // One standard deviation of q·k (≈ 73²·√d) maps to ~2 logits; the context to ~40 steps.
  const float deq = 2.f / (73.f * 73.f * std::sqrt(static_cast<float>(d))), inv_p = 255.f, requant = 1.f / 400.f;

  Buf<std::int8_t> q(qk_n), k(qk_n), vt(qk_n), probs(sc_n), ctx3(ctx_n), ctx_mma(ctx_n), ctx_simt(ctx_n);
  Buf<std::int32_t> scores(sc_n), ctxacc(static_cast<std::size_t>(nwh) * N * d4);
  Buf<float> bias(hbias.size()), mask(hmask.size());
  upload(q, hq), upload(k, hk), upload(vt, hv), upload(bias, hbias), upload(mask, hmask);
  const float* mk = cs.shift ? mask.p : nullptr;

  // The engine's descriptors (int8_plan.cpp, gemms()).
  GemmDesc qk;
  qk.m = Np, qk.n = N, qk.k = d4, qk.trans_a = true, qk.lda = d4, qk.ldb = d4, qk.ldd = Np;
  qk.batch = static_cast<int>(nwh), qk.stride_a = qk.stride_b = static_cast<long long>(Np) * d4;
  qk.stride_d = static_cast<long long>(N) * Np, qk.a = qk.b = GemmType::S8, qk.d = GemmType::S32, qk.label = "qk_gemm";
  GemmDesc av;
  av.m = d4, av.n = N, av.k = Np, av.trans_a = true, av.lda = Np, av.ldb = Np, av.ldd = d4;
  av.batch = static_cast<int>(nwh), av.stride_a = static_cast<long long>(d4) * Np, av.stride_b = static_cast<long long>(N) * Np;
  av.stride_d = static_cast<long long>(N) * d4, av.a = av.b = GemmType::S8, av.d = GemmType::S32, av.label = "av_gemm";
  const int qk_id = runner.add(qk), av_id = runner.add(av);
  auto three = [&] {
    runner.run(qk_id, k.p, q.p, scores.p, nullptr);
    softmax_quant(scores.p, probs.p, g, bias.p, mk, deq, inv_p, nullptr);
    runner.run(av_id, vt.p, probs.p, ctxacc.p, nullptr);
    av_requant(ctxacc.p, vt.p, ctx3.p, g, requant, nullptr);
  };
  auto fused = [&](AttnKernel kernel, std::int8_t* out) {
    window_attention(q.p, k.p, vt.p, out, g, bias.p, mk, deq, inv_p, requant, nullptr, kernel);
  };
  three();
  const bool simt_ok = window_attention_supported(g, nullptr, AttnKernel::Simt);
  const bool mma_ok = window_attention_supported(g, nullptr, AttnKernel::Mma);
  if (mma_ok) fused(AttnKernel::Mma, ctx_mma.p);
  if (simt_ok) fused(AttnKernel::Simt, ctx_simt.p);
  SWS_CUDA_CHECK(cudaDeviceSynchronize());

  // ---- correctness
  const std::string label = "stage " + std::to_string(cs.stage) + " shift " + std::to_string(cs.shift);
  struct Version {
    bool ok;
    AttnKernel kernel;
    std::int8_t* out;
  };
  const Version versions[] = {{mma_ok, AttnKernel::Mma, ctx_mma.p}, {simt_ok, AttnKernel::Simt, ctx_simt.p}};
  for (const Version& v : versions) {
    if (!v.ok) continue;
    const char* name = attn_kernel_name(v.kernel);
    const auto df = diff(v.out, ctx3.p, ctx_n);
    std::printf("  %s vs three stages: %llu of %zu outputs differ, by at most %d\n", name, df.first, ctx_n, df.second);
    if (df.second > 1) fail(label + ": " + name + " differs from the three stages by " + std::to_string(df.second) + " steps");
  }
  // Host loop on sampled (window, head) pairs.
  const auto h3 = download(ctx3.p, ctx_n), hm = download(ctx_mma.p, ctx_n);
  int worst = 0;
  for (int sample = 0; sample < 16; ++sample) {
    const long long w = (static_cast<long long>(sample) * 104729 * 7919) % nwh;
    const int h = static_cast<int>(w % cs.heads);
    const long long win = w / cs.heads;
    for (int i = 0; i < N; ++i) {
      std::vector<float> logit(static_cast<std::size_t>(N));
      float mx = -INFINITY;
      for (int j = 0; j < N; ++j) {
        int acc = 0;
        for (int e = 0; e < d4; ++e)
          acc += hq[(static_cast<std::size_t>(w) * Np + i) * d4 + e] * hk[(static_cast<std::size_t>(w) * Np + j) * d4 + e];
        logit[static_cast<std::size_t>(j)] = static_cast<float>(acc) * deq + hbias[(static_cast<std::size_t>(h) * N + i) * Np + j] +
                                             (cs.shift ? hmask[(static_cast<std::size_t>(win % g.windows()) * N + i) * Np + j] : 0.f);
        mx = std::max(mx, logit[static_cast<std::size_t>(j)]);
      }
      float sum = 0.f;
      for (float l : logit) sum += numerics::exp_f(l - mx);
      const float inv = inv_p / sum;
      std::vector<int> p(static_cast<std::size_t>(N));
      for (int j = 0; j < N; ++j) p[static_cast<std::size_t>(j)] = numerics::q_unsigned(numerics::exp_f(logit[static_cast<std::size_t>(j)] - mx) * inv);
      for (int e = 0; e < d; ++e) {
        int acc = 0;
        for (int j = 0; j < N; ++j) acc += p[static_cast<std::size_t>(j)] * hv[(static_cast<std::size_t>(w) * d4 + e) * Np + j];
        const int want = numerics::q_signed(static_cast<float>(acc) * requant);
        const std::size_t at = (static_cast<std::size_t>(win) * N + i) * cs.C + static_cast<std::size_t>(h) * d + e;
        worst = std::max({worst, std::abs(h3[at] - want), mma_ok ? std::abs(hm[at] - want) : 0});
      }
    }
  }
  std::printf("  host loop on 16 sampled (window, head) pairs: at most %d step(s) off\n", worst);
  if (worst > 1) fail(label + ": " + std::to_string(worst) + " steps from the host loop");

  // ---- timing
  const double ops = 4.0 * static_cast<double>(nwh) * N * N * d;
  const double min_bytes = 3.0 * static_cast<double>(qk_n) + static_cast<double>(ctx_n);
  const double extra3 = 2.0 * (4.0 * sc_n + sc_n + 4.0 * static_cast<double>(nwh) * N * d4);
  auto line = [&](const char* name, double ms, double bytes) {
    std::printf("  %-36s %9.1f us %7.2f TOPS %7.0f GB/s\n", name, ms * 1e3, ops / (ms * 1e-3) / 1e12, bytes / (ms * 1e-3) / 1e9);
  };
  const double t3 = timer.median_ms(three);
  line("three stages (cuBLASLt + 2 kernels)", t3, min_bytes + extra3);
  for (const Version& v : versions) {
    if (!v.ok) continue;
    const double t = timer.median_ms([&] { fused(v.kernel, v.out); });
    line((std::string("fused ") + attn_kernel_name(v.kernel)).c_str(), t, min_bytes);
    std::printf("  %-36s %9.2fx\n", (std::string("three stages / fused ") + attn_kernel_name(v.kernel)).c_str(), t3 / t);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const LabArgs args = parse_lab_args(argc, argv, false, "[--runs N (50)] [--batch B (128)] [--stage 0-3]");
  const int runs = args.runs, batch = args.batch, only_stage = args.stage;
  try {
    cudaDeviceProp prop{};
    SWS_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    std::printf("%s, sm_%d%d, %d SMs; SWIN-T window attention, batch %d, median of %d runs, L2 flushed before each\n", prop.name,
                prop.major, prop.minor, prop.multiProcessorCount, batch, runs);
    if (prop.major < 8) {
      std::printf("needs sm_80 or newer\n");
      return 1;
    }
    Timer timer(runs);
    GemmRunner runner;
    for (int st = 0; st < 4; ++st) {
      if (only_stage >= 0 && st != only_stage) continue;
      const int H = 56 >> st, C = 96 << st, heads = 3 << st;
      run_case({st, H, C, heads, 0}, batch, timer, runner);
      if (H > 7) run_case({st, H, C, heads, 3}, batch, timer, runner);  // stage 3 is one window: no shift
    }
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
  std::printf("checks: %d failed\n", g_failed);
  return g_failed ? 1 : 0;
}
