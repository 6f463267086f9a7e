// oneDNN matmul micro-benchmark on SWIN-T's GEMM shapes: which int8 flavour the CPU plan
// should use. For each shape (batch 8 unless --batch): f32, s8·s8 → s8, u8·s8 → s8 with a
// source zero point of 128 (how the plan feeds signed activations), u8·s8 → s8 (ReLU
// output) and u8·s8 with the ReLU post-op → u8 (the GELU-less FC1). Also counts, for
// full-range (±127) and for 7-bit (±64) weights, how many int8 outputs differ from an exact
// integer GEMM: on CPUs without VNNI, u8·s8 products are summed pairwise in saturating
// int16 (vpmaddubsw). Built and run by bench/cpu_int8.sh; standalone:
//   g++ -O2 -std=c++17 bench/int8_gemm_micro.cpp -ldnnl -o /tmp/int8_gemm_micro
//   OMP_NUM_THREADS=2 /tmp/int8_gemm_micro [--batch 8] [--runs 7]
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace dnnl;
using dt = memory::data_type;
using tag = memory::format_tag;

namespace {

struct Shape {
  const char* name;
  long M;  // per image
  long K, N;
};

enum class Flavour { F32, S8S8, U8Zp128, U8, U8Relu };
const char* flavour_name(Flavour f) {
  switch (f) {
    case Flavour::F32: return "f32";
    case Flavour::S8S8: return "s8*s8->s8";
    case Flavour::U8Zp128: return "u8(zp128)*s8->s8";
    case Flavour::U8: return "u8*s8->s8";
    case Flavour::U8Relu: return "u8*s8->relu->u8";
  }
  return "?";
}

struct Result {
  double ms = 0;
  long wrong = 0, checked = 0;
  std::string impl;
};

Result run(engine& eng, stream& strm, Flavour f, long M, long K, long N, int wmax, int runs) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> a(static_cast<std::size_t>(M * K));
  std::vector<std::int8_t> w(static_cast<std::size_t>(K * N));
  for (auto& x : a) x = static_cast<std::uint8_t>(rng() % 256);
  for (auto& x : w) x = static_cast<std::int8_t>(static_cast<int>(rng() % (2 * wmax + 1)) - wmax);
  const dt src_dt = f == Flavour::F32 ? dt::f32 : (f == Flavour::S8S8 ? dt::s8 : dt::u8);
  const dt wei_dt = f == Flavour::F32 ? dt::f32 : dt::s8;
  const dt dst_dt = f == Flavour::F32 ? dt::f32 : (f == Flavour::U8Relu ? dt::u8 : dt::s8);
  const memory::desc a_md({M, K}, src_dt, tag::ab), w_any({K, N}, wei_dt, tag::any), w_user({K, N}, wei_dt, tag::ab),
      d_md({M, N}, dst_dt, tag::ab);
  primitive_attr attr;
  const float scale = 1.f / (8.f * static_cast<float>(K));  // outputs mostly inside the s8 range
  if (f != Flavour::F32) attr.set_output_scales(0, {scale});
  if (f == Flavour::U8Zp128) attr.set_zero_points(DNNL_ARG_SRC, 0, {128});
  if (f == Flavour::U8Relu) {
    post_ops po;
    po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(po);
  }
  matmul::primitive_desc pd(matmul::desc(a_md, w_any, d_md), attr, eng);
  std::vector<float> af, wf;
  void* ap = a.data();
  void* wp = w.data();
  if (f == Flavour::F32) {
    af.assign(a.begin(), a.end());
    wf.assign(w.begin(), w.end());
    ap = af.data();
    wp = wf.data();
  }
  memory am(a_md, eng, ap), wu(w_user, eng, wp), wm(pd.weights_desc(), eng), dm(d_md, eng);
  reorder(wu, wm).execute(strm, wu, wm);
  matmul mm(pd);
  const std::unordered_map<int, memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, dm}};
  for (int i = 0; i < 2; ++i) mm.execute(strm, args);
  strm.wait();
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    mm.execute(strm, args);
    strm.wait();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  Result res;
  res.ms = t[t.size() / 2];
  res.impl = pd.impl_info_str();
  if (f == Flavour::F32) return res;
  // Exactness on the first rows against a plain integer loop.
  for (long m = 0; m < std::min<long>(M, 64); ++m)
    for (long n = 0; n < N; ++n) {
      long acc = 0;
      for (long k = 0; k < K; ++k) {
        int x = a[static_cast<std::size_t>(m * K + k)];
        if (f == Flavour::S8S8) x = static_cast<std::int8_t>(x);
        if (f == Flavour::U8Zp128) x -= 128;
        acc += static_cast<long>(x) * w[static_cast<std::size_t>(k * N + n)];
      }
      float v = static_cast<float>(acc) * scale;
      int want, got;
      if (f == Flavour::U8Relu) {
        want = static_cast<int>(std::min(std::nearbyint(std::max(v, 0.f)), 255.f));
        got = static_cast<std::uint8_t*>(dm.get_data_handle())[m * N + n];
      } else {
        want = static_cast<int>(std::clamp(std::nearbyint(v), -128.f, 127.f));
        got = static_cast<std::int8_t*>(dm.get_data_handle())[m * N + n];
      }
      res.wrong += got != want;
      ++res.checked;
    }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  long batch = 8;
  int runs = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--batch")) batch = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
  }
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  const Shape shapes[] = {
      {"stage0 qkv", 3136, 96, 288}, {"stage0 fc1", 3136, 96, 384}, {"stage0 fc2", 3136, 384, 96},
      {"stage2 qkv", 196, 384, 1152}, {"stage2 fc1", 196, 384, 1536}, {"stage2 fc2", 196, 1536, 384},
  };
  std::printf("oneDNN %d.%d.%d, ISA %d, batch %ld, median of %d runs (ms); wrong = outputs off vs exact integer GEMM "
              "(first 64 rows)\n",
              DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR, DNNL_VERSION_PATCH, static_cast<int>(get_effective_cpu_isa()), batch, runs);
  std::printf("%-12s %-18s %9s %9s   %-22s %-22s  %s\n", "shape", "flavour", "ms", "vs f32", "wrong (±127 weights)",
              "wrong (±64 weights)", "impl");
  double sum[5] = {0, 0, 0, 0, 0};
  for (const auto& s : shapes) {
    double f32 = 0;
    for (auto f : {Flavour::F32, Flavour::S8S8, Flavour::U8Zp128, Flavour::U8, Flavour::U8Relu}) {
      const auto full = run(eng, strm, f, s.M * batch, s.K, s.N, 127, runs);
      const auto seven = f == Flavour::F32 ? Result{} : run(eng, strm, f, s.M * batch, s.K, s.N, 64, 3);
      if (f == Flavour::F32) f32 = full.ms;
      sum[static_cast<int>(f)] += full.ms;
      char w1[64] = "-", w2[64] = "-";
      if (f != Flavour::F32) {
        std::snprintf(w1, sizeof w1, "%ld/%ld", full.wrong, full.checked);
        std::snprintf(w2, sizeof w2, "%ld/%ld", seven.wrong, seven.checked);
      }
      std::printf("%-12s %-18s %9.2f %8.2fx   %-22s %-22s  %s\n", s.name, flavour_name(f), full.ms, f32 / full.ms, w1, w2,
                  full.impl.c_str());
    }
  }
  std::printf("total over the shapes: f32 %.1f ms; s8*s8 %.2fx, u8(zp128)*s8 %.2fx, u8*s8 %.2fx, u8 relu %.2fx faster than f32; "
              "u8(zp128) vs s8*s8: %.2fx\n",
              sum[0], sum[0] / sum[1], sum[0] / sum[2], sum[0] / sum[3], sum[0] / sum[4], sum[1] / sum[2]);
  return 0;
}
