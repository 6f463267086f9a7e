// Exact integer GEMM micro-benchmark (engine/cpu/igemm.h) on SWIN-T's linear-layer shapes at
// batch 1 and the bundled model's: acc (M, N) int32 = A (M, K) u8 · Wᵀ, W (N, K) s8.
//   old   the integer-only plan's first loop (engine/cpu/ivit_plan.cpp before igemm.h): each
//         A row widened to int16, one `omp simd` int16 dot product per output
//   igemm igemm() with the best kernel (igemm_impl()), and with the AVX2 and the plain kernel
//   dnnl  oneDNN's u8·s8 → s8 matmul as the int8 plan binds it (BoundInt8Gemm): reference
//         speed only, it is not exact without VNNI (engine/cpu/int8_gemm.h)
//   fused igemm_fused() to S8 with a per-channel dyadic requantization (bias, m ≈ 2^30…2^31,
//         shift placing the outputs around ±64) fused into the GEMM's tiles
//   igemm+rq  igemm() into int32, then the plan's separate requantization pass over it
//         (the int64 pass ivit_plan.cpp ran before igemm_fused: int64 arrays, omp parallel over rows, omp simd)
// Every igemm result is compared with the old loop's, bit for bit, and fused with igemm+rq.
// Warm-up, then the median of --runs runs, the implementations interleaved within each run. Build and run (from the
// repository root, flags as the engine's Release build with SWINSCOPE_NATIVE):
//   g++ -O3 -march=native -std=c++20 -fopenmp -I. bench/igemm_micro.cpp engine/cpu/igemm.cpp
//       engine/cpu/int8_gemm.cpp -ldnnl -o /tmp/igemm_micro
//   OMP_NUM_THREADS=1 /tmp/igemm_micro [--runs 7]
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/igemm.h"
#include "engine/cpu/int8_gemm.h"

using namespace swinscope::cpu;

namespace {

struct Shape {
  const char* name;
  long M;
  int N, K;
};

// The old loop, verbatim in its algorithm.
void old_igemm(const std::uint8_t* a, long M, const std::vector<std::int16_t>& w16, int N, int K, std::int32_t* acc) {
#pragma omp parallel
  {
    std::vector<std::int16_t> row(static_cast<std::size_t>(K));
#pragma omp for schedule(static)
    for (long m = 0; m < M; ++m) {
      const std::uint8_t* ar = a + m * K;
      for (int k = 0; k < K; ++k) row[static_cast<std::size_t>(k)] = static_cast<std::int16_t>(ar[k]);
      const std::int16_t* r = row.data();
      for (int n = 0; n < N; ++n) {
        const std::int16_t* wr = w16.data() + static_cast<std::size_t>(n) * K;
        std::int32_t s = 0;
#pragma omp simd reduction(+ : s)
        for (int k = 0; k < K; ++k) s += static_cast<std::int32_t>(r[k]) * static_cast<std::int32_t>(wr[k]);
        acc[m * N + n] = s;
      }
    }
  }
}

// The int64 requantization pass ivit_plan.cpp ran after igemm before igemm_fused, on every row of acc.
void requant_rows(const std::int32_t* acc, long M, int N, const std::vector<std::int64_t>& bias,
                  const std::vector<std::int64_t>& m, const std::vector<std::int64_t>& round,
                  const std::vector<std::int64_t>& shift, std::int64_t lo, std::int64_t hi, std::int8_t* dst) {
  const std::int64_t *b = bias.data(), *mm = m.data(), *rd = round.data(), *sh = shift.data();
#pragma omp parallel for schedule(static)
  for (long r = 0; r < M; ++r) {
    const std::int32_t* ar = acc + r * N;
    std::int8_t* out = dst + r * N;
#pragma omp simd
    for (int n = 0; n < N; ++n) {
      std::int64_t v = ((ar[n] + b[n]) * mm[n] + rd[n]) >> sh[n];
      v = v < lo ? lo : (v > hi ? hi : v);
      out[n] = static_cast<std::int8_t>(v);
    }
  }
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 7;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--runs")) runs = std::max(1, std::atoi(argv[i + 1]));
  const Shape shapes[] = {
      {"stage 0 qkv", 3136, 288, 96},   {"stage 0 proj", 3136, 96, 96},  {"stage 0 fc1", 3136, 384, 96},
      {"stage 0 fc2", 3136, 96, 384},   {"stage 1 fc1", 784, 768, 192},  {"stage 1 fc2", 784, 192, 768},
      {"stage 2 qkv", 196, 1152, 384},  {"stage 2 fc1", 196, 1536, 384}, {"stage 2 fc2", 196, 384, 1536},
      {"stage 3 fc1", 49, 3072, 768},   {"stage 3 fc2", 49, 768, 3072},  {"C=32 fc1", 256, 128, 32},
      {"C=32 fc2", 256, 32, 128},       {"C=128 fc1", 16, 512, 128},     {"C=128 fc2", 16, 128, 512},
  };
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream strm(eng);
  std::printf("threads %d; igemm kernel: %s; oneDNN ISA 7-bit weights (no VNNI): %s\n", omp_get_max_threads(),
              igemm_impl().c_str(), int8_gemm_needs_7bit_weights() ? "yes" : "no");
  std::printf("%-14s %5s %5s %5s | %8s %8s %8s %8s %8s %8s %8s | %7s %7s %7s %7s %7s | %s\n", "shape", "M", "N", "K",
              "old ms", "best ms", "avx2 ms", "plain ms", "dnnl ms", "fused ms", "ig+rq ms", "old/best", "old/avx2",
              "best/dnnl", "rq/fused", "fus/dnnl", "exact");
  double sum_old = 0, sum_ig = 0, sum_avx2 = 0, sum_dnnl = 0, sum_fused = 0, sum_rq = 0;
  for (const Shape& s : shapes) {
    std::mt19937 rng(5);
    std::vector<std::uint8_t> a(static_cast<std::size_t>(s.M) * s.K);
    std::vector<std::int8_t> w(static_cast<std::size_t>(s.N) * s.K);
    for (auto& x : a) x = static_cast<std::uint8_t>(rng() % 256);
    for (auto& x : w) x = static_cast<std::int8_t>(static_cast<int>(rng() % 256) - 128);
    const std::vector<std::int16_t> w16(w.begin(), w.end());
    const IGemmWeights packed(w.data(), s.N, s.K);
    std::vector<std::int32_t> acc_old(static_cast<std::size_t>(s.M) * s.N), acc_ig(acc_old.size()),
        acc_avx2(acc_old.size()), acc_plain(acc_old.size());
    const float scale = 1.f;
    Int8LinearWeights dw(w.data(), &scale, 1, s.N, s.K, int8_gemm_needs_7bit_weights());
    std::vector<std::int8_t> dst(acc_old.size());
    Int8GemmIo io;
    io.src = a.data();
    io.src_kind = Int8Src::Unsigned;
    io.dst = dst.data();
    io.dst_kind = Int8Dst::S8;
    io.dst_scale = 1000.f;
    BoundInt8Gemm dnnl_gemm(eng, strm, dw, static_cast<int>(s.M), io);

    // A per-channel dyadic as the plan's: outputs around ±64 for these operands (Σ of K products
    // of u8 uniform · s8 uniform: standard deviation ≈ 85·74·√K), bias a few output steps.
    std::vector<std::int64_t> bias(static_cast<std::size_t>(s.N)), m64(bias.size()), round64(bias.size()), shift64(bias.size());
    std::vector<std::int32_t> m32(bias.size()), shift32(bias.size());
    const int base_shift = 31 + static_cast<int>(std::lround(std::log2(85.0 * 74.0 * std::sqrt(double(s.K)) / 64.0)));
    for (int n = 0; n < s.N; ++n) {
      m32[static_cast<std::size_t>(n)] = static_cast<std::int32_t>((1u << 30) + rng() % (1u << 30));
      shift32[static_cast<std::size_t>(n)] = base_shift + static_cast<int>(rng() % 3) - 1;
      bias[static_cast<std::size_t>(n)] = static_cast<std::int64_t>(rng() % 200001) - 100000;
      m64[static_cast<std::size_t>(n)] = m32[static_cast<std::size_t>(n)];
      shift64[static_cast<std::size_t>(n)] = shift32[static_cast<std::size_t>(n)];
      round64[static_cast<std::size_t>(n)] = std::int64_t{1} << (shift32[static_cast<std::size_t>(n)] - 1);
    }
    std::vector<std::int8_t> out_fused(acc_old.size()), out_rq(acc_old.size());
    std::vector<std::int32_t> acc_rq(acc_old.size());
    IGemmEpilogue ep;
    ep.bias = bias.data(), ep.m = m32.data(), ep.shift = shift32.data(), ep.lo = -128, ep.hi = 127;
    ep.out = IGemmOut::S8, ep.dst = out_fused.data(), ep.ldd = s.N;

    auto t_old = [&] { old_igemm(a.data(), s.M, w16, s.N, s.K, acc_old.data()); };
    auto t_ig = [&] { igemm(a.data(), s.M, packed, acc_ig.data()); };
    auto t_avx2 = [&] { igemm(a.data(), s.M, packed, acc_avx2.data(), IGemmKernel::Avx2); };
    auto t_plain = [&] { igemm(a.data(), s.M, packed, acc_plain.data(), IGemmKernel::Plain); };
    auto t_dnnl = [&] {
      dnnl_gemm.execute(strm);
      strm.wait();
    };
    auto t_fused = [&] { igemm_fused(a.data(), s.M, packed, ep); };
    auto t_rq = [&] {
      igemm(a.data(), s.M, packed, acc_rq.data());
      requant_rows(acc_rq.data(), s.M, s.N, bias, m64, round64, shift64, -128, 127, out_rq.data());
    };
    t_old(), t_ig(), t_avx2(), t_plain(), t_dnnl(), t_fused(), t_rq();  // warm-up
    const bool exact = acc_ig == acc_old && acc_avx2 == acc_old && acc_plain == acc_old && out_fused == out_rq;
    std::vector<double> v_old, v_ig, v_avx2, v_plain, v_dnnl, v_fused, v_rq;
    for (int r = 0; r < runs; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      t_old();
      v_old.push_back(ms_since(t0));
      t0 = std::chrono::steady_clock::now();
      t_ig();
      v_ig.push_back(ms_since(t0));
      t0 = std::chrono::steady_clock::now();
      t_avx2();
      v_avx2.push_back(ms_since(t0));
      t0 = std::chrono::steady_clock::now();
      t_plain();
      v_plain.push_back(ms_since(t0));
      t0 = std::chrono::steady_clock::now();
      t_dnnl();
      v_dnnl.push_back(ms_since(t0));
      for (int i = 0; i < 2; ++i) {  // fused and igemm+rq in alternating order (the one after dnnl finds colder caches)
        t0 = std::chrono::steady_clock::now();
        if ((r + i) % 2 == 0) {
          t_fused();
          v_fused.push_back(ms_since(t0));
        } else {
          t_rq();
          v_rq.push_back(ms_since(t0));
        }
      }
    }
    const double mo = median(v_old), mi = median(v_ig), ma = median(v_avx2), mp = median(v_plain), md = median(v_dnnl),
                 mf = median(v_fused), mr = median(v_rq);
    sum_old += mo, sum_ig += mi, sum_avx2 += ma, sum_dnnl += md, sum_fused += mf, sum_rq += mr;
    std::printf("%-14s %5ld %5d %5d | %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f %8.3f | %6.1fx %6.1fx %6.2fx %6.2fx %6.2fx | %s\n",
                s.name, s.M, s.N, s.K, mo, mi, ma, mp, md, mf, mr, mo / mi, mo / ma, mi / md, mr / mf, mf / md,
                exact ? "yes" : "NO");
    if (!exact) return 1;
  }
  std::printf("sum of medians: old %.2f ms, best %.2f ms, avx2 %.2f ms, dnnl %.2f ms, fused %.2f ms, igemm+rq %.2f ms "
              "(old/best %.1fx, old/avx2 %.1fx, best/dnnl %.2fx, igemm+rq/fused %.2fx, fused/dnnl %.2fx)\n",
              sum_old, sum_ig, sum_avx2, sum_dnnl, sum_fused, sum_rq, sum_old / sum_ig, sum_old / sum_avx2, sum_ig / sum_dnnl,
              sum_rq / sum_fused, sum_fused / sum_dnnl);
  return 0;
}
