// The CUDA backend against the CPU reference, stage by stage and end to end (ggml's
// test-backend-ops is the model). Built twice from this file: test_backend_ops runs the CUDA
// backend's kernels and plans under device emulation (CI, any machine), test_backend_ops_cuda
// runs them on a real GPU and skips with the reason when none is usable.
#include <QTemporaryDir>
#include <QtTest>

#include "engine/cuda/plans.h"
#include "engine/cuda/selftest.h"
#include "engine/model.h"
#include "engine/quantize.h"
#include "engine/stages.h"
#include "profiler/cpu_clock_recorder.h"
#include "test_support.h"
#ifdef SWINSCOPE_CUDA_EMU
#include "engine/cuda/gemm.h"
#include "engine/cuda/verify.cuh"
#endif

using namespace swinscope;

#ifdef SWS_TEST_REAL_CUDA
namespace backend = swinscope::cuda;
static constexpr Backend kBackend = Backend::CUDA;
#else
namespace backend = swinscope::cuda_emu;
static constexpr Backend kBackend = Backend::CUDAEmu;
#endif

namespace {

const std::string kRoot = SWINSCOPE_SOURCE_DIR;
const std::string kGolden = kRoot + "/tests/golden/models/";

Model quantize_random(const Model& fp32, WeightQuant w) {
  QuantizeOptions o;
  o.weights = w;
  o.data = "random N(0,1)";
  o.images = 8;
  Calibrator cal(fp32, o);
  const auto in = random_images(fp32.config, 8, 11);
  cal.observe(in.data(), 8);
  return quantize_model(fp32, cal.amax(), o);
}

}  // namespace

class TestBackendOps : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_dir;
  std::vector<std::string> m_models;

 private slots:
  void initTestCase() {
#ifdef SWS_TEST_REAL_CUDA
    const std::string why = cuda_unavailable_reason();
    if (!why.empty()) QSKIP(("no CUDA device: " + why).c_str());
#endif
    QVERIFY(m_dir.isValid());
    // Per-channel weights on a GELU golden config, per-tensor on a half-distilled one (GELU and
    // GELU-less blocks in one model), and the two bundled models.
    const auto tiny3 = quantize_random(load_model(kGolden + "tiny3.safetensors"), WeightQuant::PerChannel);
    const auto mixed = quantize_random(gelu_less(load_model(kGolden + "relu_mixed.safetensors"), false), WeightQuant::PerTensor);
    m_models.push_back(m_dir.filePath("tiny3.perchannel.int8.safetensors").toStdString());
    save_model(tiny3, m_models.back());
    m_models.push_back(m_dir.filePath("relu_mixed.int8.safetensors").toStdString());
    save_model(mixed, m_models.back());
    m_models.push_back(kRoot + "/assets/models/fmnist_swin_gelu.int8.safetensors");
    m_models.push_back(kRoot + "/assets/models/fmnist_swin_relu.int8.safetensors");
    // Float models run as fp32, tf32 and fp16.
    m_models.push_back(kGolden + "tiny3.safetensors");
    m_models.push_back(kRoot + "/assets/models/fmnist_swin_gelu.fp32.safetensors");
  }

  // Every stage of both int8 plans on golden and SWIN-T shapes, then each model's forward.
  void everyStageMatchesTheCpu() {
    SelftestOptions o;
    o.models = m_models;
    const auto rows = backend::run_selftest(o);
    QVERIFY(rows.size() > 100);
    int forward = 0;
    for (const auto& r : rows) {
      forward += r.stage.rfind("forward", 0) == 0;
      if (!r.pass)
        qWarning("%s | %s: max error %g > %g %s %s", r.stage.c_str(), r.shape.c_str(), r.max_error, r.tolerance,
                 r.unit.c_str(), r.detail.c_str());
    }
    int expected = 0;
    for (const auto& m : m_models) {
      const Model mm = load_model(m);
      // 4 int8 plans (+3 rows comparing with the first), int8-gelu-fused for GELU models, int8-ivit
      // (bit for bit against the CPU's integer-only plan) for files with its ranges; fp32, tf32, fp16.
      expected += mm.is_int8() ? 15 + (default_variant(mm) == Variant::Int8Gelu ? 3 : 0) + (missing_ivit_range(mm).empty() ? 3 : 0) : 9;
    }
    QCOMPARE(forward, expected);
    for (const auto& r : rows) QVERIFY2(r.pass, (r.stage + " | " + r.shape + " | " + r.detail).c_str());
    // Every stage of the block appears, on every case.
    for (const auto& st : kAllBlockStages) {
      if (st.name == "qkv_gemm" || st.name == "proj_gemm" || st.name == "fc2_gemm") continue;  // named with the GEMM rows
      bool seen = false;
      for (const auto& r : rows) seen = seen || r.stage.rfind(std::string(st.name), 0) == 0;
      QVERIFY2(seen, std::string(st.name).c_str());
    }
  }

  // The CUDA plan's trace lines up with the CPU plan's row for row: same spans, same order.
  void traceLinesUpWithTheCpu() {
    for (const auto& path : {m_models[1], m_models[3], m_models[5]}) {
      const Model m = load_model(path);
      const auto in = random_images(m.config, 2, 5);
      std::vector<float> out(2 * static_cast<std::size_t>(m.config.num_classes));
      std::vector<std::vector<std::pair<std::string, int>>> spans;
      for (Backend b : {Backend::CPU, kBackend}) {
        auto plan = make_plan(m, PlanOptions{default_variant(m), b, 2, 0});
        QCOMPARE(plan->backend(), b);
        profiler::CpuClockRecorder rec;
        rec.begin_run(0);
        plan->run(in.data(), 2, out.data(), &rec);
        rec.end_run();
        const auto t = rec.take_trace({});
        spans.emplace_back();
        for (const auto& s : t.spans) spans.back().emplace_back(s.name, s.block);
      }
      QVERIFY(!spans[0].empty());
      QCOMPARE(spans[1], spans[0]);
    }
  }

  // The plan reports the kernel behind every stage, cuBLASLt for the GEMMs, and says that the
  // GELU-less FC1 is not fused yet.
  void kernelsAreNamed() {
    const Model m = load_model(m_models[3]);
    auto plan = make_plan(m, PlanOptions{Variant::Int8Relu, kBackend, 4, 0});
    const auto k = plan->kernels();
    bool fc1 = false, qk = false;
    for (const auto& s : k) {
      QVERIFY2(!s.kernel.empty(), s.stage.c_str());
      if (s.stage == "fc1_gemm") fc1 = s.kernel.find("not fused") != std::string::npos;
      if (s.stage == "qk_gemm") qk = s.kernel.find("cuBLASLt") != std::string::npos && s.kernel.find("batch=") != std::string::npos;
    }
    QVERIFY(fc1);
    QVERIFY(qk);
    // Ablation: a skipped stage changes the output (the plan really skips it, ungraphed).
    const auto in = random_images(m.config, 4, 3);
    std::vector<float> a(4 * static_cast<std::size_t>(m.config.num_classes)), b(a.size());
    plan->run(in.data(), 4, a.data());
    plan->set_skipped_stage("fc2_bias_residual");
    plan->run(in.data(), 4, b.data());
    plan->set_skipped_stage("");
    QVERIFY(a != b);
    // Batch sizes below the maximum get their own graph, and agree with a plan built for them.
    std::vector<float> c(a.size());
    plan->run(in.data(), 1, c.data());
    auto one = make_plan(m, PlanOptions{Variant::Int8Relu, kBackend, 1, 0});
    std::vector<float> d(a.size());
    one->run(in.data(), 1, d.data());
    for (int i = 0; i < m.config.num_classes; ++i) QCOMPARE(c[static_cast<std::size_t>(i)], d[static_cast<std::size_t>(i)]);
    QVERIFY(!error_of([&] { plan->run(in.data(), 5, c.data()); }).empty());
    // Fused window attention: one window_attention span per block in place of stages 4–6, and
    // the same logits (bit for bit: the same integer and float operations in the same order).
    PlanOptions fo{Variant::Int8Relu, kBackend, 4, 0};
    fo.fused_attention = true;
    auto fused = make_plan(m, fo);
    std::vector<float> f(a.size());
    fused->run(in.data(), 4, f.data());
    QCOMPARE(f, a);
    profiler::CpuClockRecorder rec;
    rec.begin_run(0);
    fused->run(in.data(), 4, f.data(), &rec);
    rec.end_run();
    int wa = 0, three = 0;
    for (const auto& s : rec.take_trace({}).spans) {
      wa += s.name == "window_attention";
      three += s.name == "qk_gemm" || s.name == "softmax" || s.name == "av_gemm";
    }
    QCOMPARE(wa, m.config.total_blocks());
    QCOMPARE(three, 0);
  }

  // --gemm tune: every distinct block GEMM shape is timed (own GEMM tiles vs cuBLASLt; FC1 + FC2
  // together for GELU-less blocks), each choice is listed with its timings, and whatever was
  // chosen, the logits are the cuBLASLt plan's bit for bit. Auto is cuBLASLt under emulation.
  void gemmChoicesAreTimedPerShape() {
    const Model m = load_model(m_models[1]);  // GELU and GELU-less blocks, two stages
    const auto in = random_images(m.config, 2, 9);
    const auto n = 2 * static_cast<std::size_t>(m.config.num_classes);
    auto run = [&](GemmPolicy p, std::vector<StageKernel>* kernels) {
      PlanOptions o{Variant::Int8Relu, kBackend, 2, 0};
      o.gemm = p;
      auto plan = make_plan(m, o);
      std::vector<float> out(n);
      plan->run(in.data(), 2, out.data());
      if (kernels) *kernels = plan->kernels();
      return out;
    };
    std::vector<StageKernel> tk, ak;
    const auto lt = run(GemmPolicy::CuBlasLt, nullptr);
    QCOMPARE(run(GemmPolicy::Tune, &tk), lt);
    QCOMPARE(run(GemmPolicy::Own, nullptr), lt);
    int choices = 0, pairs = 0;
    std::string policy;
    for (const auto& k : tk) {
      if (k.stage == "gemm policy") policy = k.kernel;
      if (k.stage != "gemm choice") continue;
      ++choices;
      pairs += k.kernel.find("(GELU-less)") != std::string::npos;
      QVERIFY2(k.kernel.find("cuBLASLt") != std::string::npos && k.kernel.find("gemm_s8 ") != std::string::npos &&
                   k.kernel.find(" ms") != std::string::npos && k.kernel.find("M=") != std::string::npos &&
                   k.kernel.find("gemm_s8 verified against cuBLASLt on this shape") != std::string::npos,
               k.kernel.c_str());
    }
    QVERIFY2(policy.rfind("tune", 0) == 0, policy.c_str());
    int gelu_stages = 0, relu_stages = 0;  // distinct (stage, activation) pairs
    for (int s = 0; s < m.config.num_stages(); ++s) {
      bool g = false, r = false;
      int global = 0;
      for (int t = 0; t < s; ++t) global += m.config.depths[t];
      for (int b = 0; b < m.config.depths[s]; ++b) (m.activations[static_cast<std::size_t>(global + b)] == Activation::ReLU ? r : g) = true;
      gelu_stages += g, relu_stages += r;
    }
    // Per stage: qkv and proj once; GELU blocks fc1 and fc2; GELU-less blocks one FC1 + FC2 decision.
    QCOMPARE(pairs, relu_stages);
    QCOMPARE(choices, 2 * m.config.num_stages() + 2 * gelu_stages + relu_stages);
    QCOMPARE(run(GemmPolicy::Auto, &ak), lt);
    const std::string want = kBackend == Backend::CUDA ? "tune" : "cublaslt";  // a GPU tunes; the emulation does not
    for (const auto& k : ak)
      if (k.stage == "gemm policy") QVERIFY2(k.kernel.rfind(want, 0) == 0, k.kernel.c_str());
    QCOMPARE(parse_gemm_policy("tune"), GemmPolicy::Tune);
    const auto e = error_of([] { parse_gemm_policy("fastest"); });
    QVERIFY2(e.find("auto, cublaslt, own, tune") != std::string::npos, e.c_str());
  }

  void refusesWhatItCannotRun() {
    const Model int8 = load_model(m_models[3]);
    const auto e = error_of([&] { make_plan(int8, PlanOptions{Variant::FP16, kBackend, 1, 0}); });
    QVERIFY2(e.find("needs the float model") != std::string::npos, e.c_str());
    const Model fp32 = load_model(kGolden + "tiny3.safetensors");
    const auto cpu16 = error_of([&] { make_plan(fp32, PlanOptions{Variant::FP16, Backend::CPU, 1, 0}); });
    QVERIFY2(cpu16.find("CUDA backend only") != std::string::npos, cpu16.c_str());
    const Model gelu = load_model(m_models[2]);
    const auto r = error_of([&] { make_plan(gelu, PlanOptions{Variant::Int8Relu, kBackend, 1, 0}); });
    QVERIFY2(r.find("int8-relu") != std::string::npos, r.c_str());
  }

#ifdef SWINSCOPE_CUDA_EMU
  // The comparisons that gate a tuned choice count what they should: s8 within a tolerance,
  // u8 read as u − 128, s32 exactly.
  void verificationCountsMismatches() {
    const std::vector<std::int8_t> a = {0, 5, -7, 127, -128, 3}, b = {0, 6, -9, 127, 127, 3};
    const std::vector<std::int32_t> x = {1, 2, 3, 1 << 30}, y = {1, 2, 4, 1 << 30};
    std::int8_t *da = nullptr, *db = nullptr;
    std::int32_t *dx = nullptr, *dy = nullptr;
    QCOMPARE(backend::cudaMalloc(reinterpret_cast<void**>(&da), a.size()), backend::cudaSuccess);
    QCOMPARE(backend::cudaMalloc(reinterpret_cast<void**>(&db), b.size()), backend::cudaSuccess);
    QCOMPARE(backend::cudaMalloc(reinterpret_cast<void**>(&dx), 4 * x.size()), backend::cudaSuccess);
    QCOMPARE(backend::cudaMalloc(reinterpret_cast<void**>(&dy), 4 * y.size()), backend::cudaSuccess);
    backend::cudaMemcpy(da, a.data(), a.size(), backend::cudaMemcpyHostToDevice);
    backend::cudaMemcpy(db, b.data(), b.size(), backend::cudaMemcpyHostToDevice);
    backend::cudaMemcpy(dx, x.data(), 4 * x.size(), backend::cudaMemcpyHostToDevice);
    backend::cudaMemcpy(dy, y.data(), 4 * y.size(), backend::cudaMemcpyHostToDevice);
    QCOMPARE(backend::count_s8_mismatches(da, false, db, a.size(), 0, nullptr), 3LL);  // 5/6, -7/-9, -128/127
    QCOMPARE(backend::count_s8_mismatches(da, false, db, a.size(), 1, nullptr), 2LL);  // -7/-9, -128/127
    // As u8: 0→-128, 5→-123, 249→121, 127→-1, 128→0, 3→-125: every one far from b but none within 1.
    QCOMPARE(backend::count_s8_mismatches(da, true, db, a.size(), 1, nullptr), 6LL);
    QCOMPARE(backend::count_s8_mismatches(da, false, da, a.size(), 0, nullptr), 0LL);
    QCOMPARE(backend::count_s32_mismatches(dx, dy, x.size(), nullptr), 1LL);
    QCOMPARE(backend::count_s32_mismatches(dx, dx, x.size(), nullptr), 0LL);
    for (void* p : {static_cast<void*>(da), static_cast<void*>(db), static_cast<void*>(dx), static_cast<void*>(dy)})
      backend::cudaFree(p);
  }

  // The emulated cuBLASLt refuses what the library refuses, with the GEMM's label.
  void gemmDescriptorsAreValidated() {
    cuda_emu::GemmRunner runner;
    cuda_emu::GemmDesc d;
    d.m = 64, d.n = 10, d.k = 32, d.trans_a = false, d.lda = 64, d.ldb = 32, d.ldd = 64, d.label = "nn int8";
    std::string why;
    QVERIFY(!runner.supported(d, &why));
    QVERIFY2(why.find("nn int8") != std::string::npos, why.c_str());
    d.trans_a = true, d.lda = 16, d.label = "short lda";  // lda < k
    QVERIFY(!runner.supported(d, &why));
    QVERIFY2(why.find("short lda") != std::string::npos, why.c_str());
    d.lda = 32, d.epilogue = cuda_emu::GemmEpilogue::Relu, d.label = "int8 relu";
    QVERIFY(!runner.supported(d, &why));
    d.epilogue = cuda_emu::GemmEpilogue::None;
    QVERIFY2(runner.supported(d, &why), why.c_str());
  }
#endif
};

QTEST_APPLESS_MAIN(TestBackendOps)
#include "test_backend_ops.moc"
