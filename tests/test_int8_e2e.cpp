// The int8 pipeline end to end on the golden configs (tests/golden/models): calibration on
// random N(0,1) inputs, quantization, int8 plans for both variants against the FP32 engine
// on the same model (cosine of the logits ≥ 0.99; top-1 agreement reported). GELU-less
// versions of the goldens are made here: every block (or, for the mixed model, the ReLU
// blocks only) ReLU with the FC1 bias dropped. Also: the int8 file format and its bit-exact
// round trip, the variant rules, the refusal of a non-zero FC1 bias as GELU-less, the
// stage spans, and the CLI.
#include <QtTest>

#include <QTemporaryDir>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_support.h"
#include "engine/error.h"
#include "engine/model.h"
#include "engine/plan.h"
#include "engine/quantize.h"
#include "engine/safetensors.h"
#include "engine/stages.h"
#include "profiler/cpu_clock_recorder.h"

using namespace swinscope;

namespace {

const std::string kDir = std::string(SWINSCOPE_SOURCE_DIR) + "/tests/golden/models/";

std::vector<float> read_f32(const SafetensorsFile& f, const char* name, std::vector<std::int64_t>* shape = nullptr) {
  const auto* t = f.find(name);
  if (!t) throw std::runtime_error(f.label() + ": no tensor " + name);
  std::vector<float> v(static_cast<std::size_t>(t->numel()));
  std::memcpy(v.data(), t->data, v.size() * 4);
  if (shape) *shape = t->shape;
  return v;
}

QuantizeOptions options(CalibrationMethod method = CalibrationMethod::Percentile, WeightQuant w = WeightQuant::PerTensor) {
  QuantizeOptions o;
  o.method = method;
  o.weights = w;
  o.data = "random N(0,1)";
  o.images = 16;
  return o;
}

Model quantize(const Model& fp32, const QuantizeOptions& o = options()) {
  Calibrator cal(fp32, o);
  for (int i = 0; i < 2; ++i) {
    const auto in = random_images(fp32.config, 8, 100 + static_cast<unsigned>(i));
    cal.observe(in.data(), 8);
  }
  return quantize_model(fp32, cal.amax(), o);
}

std::vector<float> run(const Model& m, Variant v, const std::vector<float>& input, int batch) {
  PlanOptions po;
  po.variant = v;
  po.max_batch = batch;
  auto plan = make_plan(m, po);
  std::vector<float> out(static_cast<std::size_t>(batch) * m.config.num_classes);
  plan->run(input.data(), batch, out.data());
  return out;
}

struct Agreement {
  double cosine = 0;      // over all logits
  double min_cosine = 1;  // per image
  int top1 = 0, n = 0;
};

Agreement agree(const std::vector<float>& a, const std::vector<float>& b, int classes) {
  auto cos = [](const float* x, const float* y, std::size_t n) {
    double xy = 0, xx = 0, yy = 0;
    for (std::size_t i = 0; i < n; ++i) {
      xy += static_cast<double>(x[i]) * y[i];
      xx += static_cast<double>(x[i]) * x[i];
      yy += static_cast<double>(y[i]) * y[i];
    }
    return xy / std::sqrt(xx * yy);
  };
  Agreement r;
  r.cosine = cos(a.data(), b.data(), a.size());
  r.n = static_cast<int>(a.size()) / classes;
  for (int i = 0; i < r.n; ++i) {
    const float* x = a.data() + static_cast<std::ptrdiff_t>(i) * classes;
    const float* y = b.data() + static_cast<std::ptrdiff_t>(i) * classes;
    r.min_cosine = std::min(r.min_cosine, cos(x, y, static_cast<std::size_t>(classes)));
    r.top1 += std::max_element(x, x + classes) - x == std::max_element(y, y + classes) - y;
  }
  return r;
}


}  // namespace

class TestInt8E2e : public QObject {
  Q_OBJECT
 private slots:
  void float_reference_matches_fp32_plan_and_observes_every_tensor() {
    for (const char* name : {"tiny3.safetensors", "relu_mixed.safetensors"}) {
      const Model m = load_model(kDir + name);
      const auto in = random_images(m.config, 2, 7);
      std::vector<float> ref(2 * static_cast<std::size_t>(m.config.num_classes));
      std::set<std::string> seen, extra;  // extra: the float-only taps numerics compares (no "_amax")
      float_reference_forward(m, in.data(), 2, ref.data(), [&](const std::string& n, const float*, std::size_t count) {
        QVERIFY(count > 0);
        (n.ends_with("_amax") ? seen : extra).insert(n);
      });
      QVERIFY(extra.count("patch_embed.output") && extra.count("layers.0.blocks.0.output") &&
              extra.count("layers.0.blocks.0.attn.softmax"));
      const auto fp32 = run(m, Variant::FP32, in, 2);
      double diff = 0, mx = 0;
      for (std::size_t i = 0; i < ref.size(); ++i) {
        diff = std::max(diff, std::fabs(static_cast<double>(ref[i] - fp32[i])));
        mx = std::max(mx, std::fabs(static_cast<double>(fp32[i])));
      }
      QVERIFY2(diff <= 1e-4 * std::max(1.0, mx), qPrintable(QString("%1: %2").arg(name).arg(diff)));
      std::set<std::string> want;
      for (const auto& n : int8_amax_names(m.config))
        if (!n.ends_with("attn.softmax_amax")) want.insert(n);
      for (const auto& n : ivit_amax_names(m.config)) want.insert(n);  // int8-ivit's ranges (issue 16)
      QVERIFY(seen == want);
    }
  }

  void int8_logits_follow_fp32_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("io");
    QTest::addColumn<int>("relu");  // 0: as in the file, 1: every block GELU-less, 2: the file's ReLU blocks GELU-less
    QTest::addColumn<int>("method");
    QTest::addColumn<int>("weights");
    const int pct = int(CalibrationMethod::Percentile), pt = int(WeightQuant::PerTensor);
    QTest::newRow("tiny3 int8-gelu") << "tiny3" << "tiny3" << 0 << pct << pt;
    QTest::newRow("tiny3 int8-relu") << "tiny3" << "tiny3" << 1 << pct << pt;
    QTest::newRow("gray1 int8-gelu") << "gray1" << "gray1" << 0 << pct << pt;
    QTest::newRow("gray1 int8-relu") << "gray1" << "gray1" << 1 << pct << pt;
    QTest::newRow("batch4 int8-gelu (window 2)") << "batch4" << "batch4" << 0 << pct << pt;
    QTest::newRow("batch4 int8-relu (window 2)") << "batch4" << "batch4" << 1 << pct << pt;
    QTest::newRow("relu_mixed int8-relu (half distilled: GELU and ReLU blocks)") << "relu_mixed" << "relu_mixed" << 2 << pct << pt;
    QTest::newRow("relu_mixed int8-relu (all ReLU)") << "relu_mixed" << "relu_mixed" << 1 << pct << pt;
    QTest::newRow("tiny3 int8-gelu, max, per-channel") << "tiny3" << "tiny3" << 0 << int(CalibrationMethod::Max) << int(WeightQuant::PerChannel);
    QTest::newRow("tiny3 int8-relu, mse, per-channel") << "tiny3" << "tiny3" << 1 << int(CalibrationMethod::Mse) << int(WeightQuant::PerChannel);
  }
  void int8_logits_follow_fp32() {
    QFETCH(QString, model);
    QFETCH(QString, io);
    QFETCH(int, relu);
    QFETCH(int, method);
    QFETCH(int, weights);
    Model fp32 = load_model(kDir + model.toStdString() + ".safetensors");
    if (relu) fp32 = gelu_less(std::move(fp32), relu == 1);
    const Model q = quantize(fp32, options(static_cast<CalibrationMethod>(method), static_cast<WeightQuant>(weights)));
    const Variant v = default_variant(q);
    QCOMPARE(v, relu ? Variant::Int8Relu : Variant::Int8Gelu);
    // The golden inputs, then 16 more random images for a top-1 figure worth stating.
    const auto f = SafetensorsFile::open(kDir + io.toStdString() + ".io.safetensors");
    std::vector<std::int64_t> shape;
    auto input = read_f32(f, "input", &shape);
    const int golden = static_cast<int>(shape[0]);
    const auto extra = random_images(fp32.config, 16, 555);
    input.insert(input.end(), extra.begin(), extra.end());
    const int n = golden + 16;
    const auto want = run(fp32, Variant::FP32, input, n);
    const auto got = run(q, v, input, n);
    const int nc = fp32.config.num_classes;
    const auto on_golden = agree(std::vector<float>(got.begin(), got.begin() + golden * nc),
                                 std::vector<float>(want.begin(), want.begin() + golden * nc), nc);
    const auto all = agree(got, want, nc);
    qInfo("%s: golden inputs cosine %.4f (min per image %.4f), top-1 %d/%d; with 16 random images: cosine %.4f "
          "(min %.4f), top-1 %d/%d",
          qPrintable(QString(variant_name(v).data())), on_golden.cosine, on_golden.min_cosine, on_golden.top1, on_golden.n,
          all.cosine, all.min_cosine, all.top1, all.n);
    QVERIFY2(on_golden.cosine >= 0.99, qPrintable(QString("cosine %1").arg(on_golden.cosine)));
    QVERIFY2(all.cosine >= 0.99, qPrintable(QString("cosine %1").arg(all.cosine)));
  }

  void batch_of_four_equals_four_single_runs() {
    const Model q = quantize(load_model(kDir + "batch4.safetensors"));
    const auto in = random_images(q.config, 4, 9);
    const auto together = run(q, default_variant(q), in, 4);
    PlanOptions po;
    po.variant = default_variant(q);
    po.max_batch = 4;
    auto plan = make_plan(q, po);  // one plan, batch sizes 1 and 4 both built from it
    const std::size_t per = in.size() / 4, nc = static_cast<std::size_t>(q.config.num_classes);
    std::vector<float> one(nc);
    for (std::size_t i = 0; i < 4; ++i) {
      plan->run(in.data() + per * i, 1, one.data());
      for (std::size_t k = 0; k < nc; ++k) QVERIFY(std::fabs(one[k] - together[i * nc + k]) <= 1e-5f * (1.f + std::fabs(one[k])));
    }
  }

  void quantized_file_loads_back_bit_for_bit() {
    // The half-distilled model: GELU and ReLU blocks, per-channel weights.
    const Model q = quantize(gelu_less(load_model(kDir + "relu_mixed.safetensors"), false),
                             options(CalibrationMethod::Percentile, WeightQuant::PerChannel));
    QTemporaryDir dir;
    const std::string a = dir.filePath("a.int8.safetensors").toStdString(), b = dir.filePath("b.int8.safetensors").toStdString();
    save_model(q, a);
    const Model back = load_model(a);
    QCOMPARE(back.precision, std::string("int8"));
    QCOMPARE(back.tensors.size(), q.tensors.size());
    QCOMPARE(back.int8_tensors.size(), q.int8_tensors.size());
    for (const auto& [name, t] : q.tensors) {
      const auto* o = back.find(name);
      QVERIFY2(o && o->shape == t.shape && std::memcmp(o->data.data(), t.data.data(), t.data.size() * 4) == 0, name.c_str());
    }
    for (const auto& [name, t] : q.int8_tensors) {
      const auto* o = back.find_int8(name);
      QVERIFY2(o && o->shape == t.shape && o->data == t.data, name.c_str());
    }
    QVERIFY(back.activations == q.activations);
    QCOMPARE(back.calibration, q.calibration);
    QCOMPARE(back.config.to_json(), q.config.to_json());
    save_model(back, b);
    std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
    const std::string ba((std::istreambuf_iterator<char>(fa)), {}), bb((std::istreambuf_iterator<char>(fb)), {});
    QVERIFY(!ba.empty());
    QVERIFY2(ba == bb, "saving a loaded int8 model changed the file");
    // The same logits from the file as from the model in memory.
    const auto in = random_images(q.config, 1, 3);
    QVERIFY(run(q, Variant::Int8Relu, in, 1) == run(back, Variant::Int8Relu, in, 1));
  }

  void file_format_names_dtypes_and_metadata() {
    const Model fp32 = load_model(kDir + "tiny3.safetensors");
    const Model q = quantize(fp32, options(CalibrationMethod::Max, WeightQuant::PerChannel));
    QTemporaryDir dir;
    const std::string path = dir.filePath("t.int8.safetensors").toStdString();
    save_model(q, path);
    const auto f = SafetensorsFile::open(path);
    auto expect = [&](const std::string& name, DType dt, std::vector<std::int64_t> shape) {
      const auto* t = f.find(name);
      QVERIFY2(t, name.c_str());
      QVERIFY2(t->dtype == dt, name.c_str());
      QVERIFY2(t->shape == shape, name.c_str());
    };
    const std::string p = "layers.0.blocks.1.";
    expect(p + "attn.qkv.weight", DType::I8, {48, 16});
    expect(p + "attn.qkv.weight_scale", DType::F32, {48});  // per channel
    expect(p + "attn.qkv.input_amax", DType::F32, {1});
    expect(p + "attn.qkv.output_amax", DType::F32, {1});
    expect(p + "attn.qkv.bias", DType::F32, {48});
    for (const char* a : {"attn.q_amax", "attn.k_amax", "attn.v_amax", "attn.softmax_amax"}) expect(p + a, DType::F32, {1});
    expect(p + "mlp.fc1.weight", DType::I8, {64, 16});
    expect(p + "mlp.fc1.bias", DType::F32, {64});  // GELU block: kept
    expect(p + "mlp.fc2.output_amax", DType::F32, {1});
    expect("layers.1.downsample.reduction.weight", DType::I8, {32, 64});
    expect("layers.1.downsample.reduction.input_amax", DType::F32, {1});
    expect("patch_embed.proj.weight", DType::F32, {16, 3, 2, 2});  // float, as documented
    expect("head.fc.weight", DType::F32, {10, 64});
    QCOMPARE(f.find(p + "attn.softmax_amax") ? *reinterpret_cast<const float*>(f.find(p + "attn.softmax_amax")->data) : 0.f, 1.f);
    QCOMPARE(f.metadata().at("swinscope.precision"), std::string("int8"));
    const auto cal = nlohmann::json::parse(f.metadata().at("swinscope.calibration"));
    QCOMPARE(cal.at("method").get<std::string>(), std::string("max"));
    QCOMPARE(cal.at("weights").get<std::string>(), std::string("per-channel"));
    QCOMPARE(cal.at("images").get<long>(), 16L);
    QVERIFY(cal.contains("seed") && cal.contains("data"));
    // About a quarter of the float weights' bytes: the GEMM weights dominate even at this size.
    QVERIFY(std::filesystem::file_size(path) < fp32.file_size / 2);
    // A GELU-less block keeps no FC1 bias in the file.
    const Model r = quantize(gelu_less(fp32, true));
    QVERIFY(!r.find(p + "mlp.fc1.bias"));
  }

  void variants_follow_the_file() {
    const Model fp32 = load_model(kDir + "tiny3.safetensors");
    const Model gelu = quantize(fp32);
    const Model relu = quantize(gelu_less(fp32, true));
    QCOMPARE(default_variant(fp32), Variant::FP32);
    QCOMPARE(default_variant(gelu), Variant::Int8Gelu);
    QCOMPARE(default_variant(relu), Variant::Int8Relu);
    const auto in = random_images(fp32.config, 1, 4);
    const std::string fp32_on_int8 = error_of([&] { run(gelu, Variant::FP32, in, 1); });
    QVERIFY2(fp32_on_int8.find("int8") != std::string::npos, fp32_on_int8.c_str());
    const std::string int8_on_fp32 = error_of([&] { run(fp32, Variant::Int8Gelu, in, 1); });
    QVERIFY2(int8_on_fp32.find("quantize") != std::string::npos, int8_on_fp32.c_str());
    const std::string gelu_as_relu = error_of([&] { run(gelu, Variant::Int8Relu, in, 1); });
    QVERIFY2(gelu_as_relu.find("FC1 bias") != std::string::npos, gelu_as_relu.c_str());
    const std::string relu_as_gelu = error_of([&] { run(relu, Variant::Int8Gelu, in, 1); });
    QVERIFY2(relu_as_gelu.find("GELU-less") != std::string::npos, relu_as_gelu.c_str());
  }

  void nonzero_fc1_bias_is_refused_as_gelu_less() {
    // relu_mixed's ReLU blocks (1 and 3) keep a non-zero FC1 bias: fine in FP32, not int8.
    const Model m = load_model(kDir + "relu_mixed.safetensors");
    const std::string e = error_of([&] { check_quantizable(m); });
    QVERIFY2(e.find("layers.0.blocks.1.mlp.fc1.bias") != std::string::npos && e.find("non-zero") != std::string::npos, e.c_str());
    QVERIFY(!error_of([&] { quantize_model(m, {}, options()); }).empty());
    // An int8 file whose GELU-less block carries a non-zero FC1 bias is refused at load.
    const Model q = quantize(gelu_less(m, false));
    QTemporaryDir dir;
    const std::string good = dir.filePath("good.safetensors").toStdString(), bad = dir.filePath("bad.safetensors").toStdString();
    save_model(q, good);
    const auto f = SafetensorsFile::open(good);
    std::vector<TensorToWrite> tensors;
    for (const auto& t : f.tensors()) tensors.push_back({t.name, t.dtype, t.shape, std::span<const std::byte>(t.data, t.nbytes)});
    const auto& bias = m.tensor("layers.0.blocks.1.mlp.fc1.bias");
    tensors.push_back({"layers.0.blocks.1.mlp.fc1.bias", DType::F32, bias.shape,
                       std::span<const std::byte>(reinterpret_cast<const std::byte*>(bias.data.data()), bias.data.size() * 4)});
    write_safetensors(bad, tensors, f.metadata());
    const std::string le = error_of([&] { load_model(bad); });
    QVERIFY2(le.find("GELU-less") != std::string::npos && le.find("layers.0.blocks.1.mlp.fc1.bias") != std::string::npos, le.c_str());
    // A zero FC1 bias is the same as none.
    auto zero = bias;
    std::fill(zero.data.begin(), zero.data.end(), 0.f);
    tensors.back().data = std::span<const std::byte>(reinterpret_cast<const std::byte*>(zero.data.data()), zero.data.size() * 4);
    write_safetensors(bad, tensors, f.metadata());
    QVERIFY(error_of([&] { load_model(bad); }).empty());
  }

  void stages_are_spans_named_as_in_stages_h() {
    const Model gelu = quantize(load_model(kDir + "tiny3.safetensors"));
    const Model mixed = quantize(gelu_less(load_model(kDir + "relu_mixed.safetensors"), false));
    for (const Model* m : {&gelu, &mixed}) {
      PlanOptions po;
      po.variant = default_variant(*m);
      auto plan = make_plan(*m, po);
      profiler::CpuClockRecorder rec;
      const auto in = random_images(m->config, 1, 5);
      std::vector<float> out(static_cast<std::size_t>(m->config.num_classes));
      rec.begin_run(0);
      plan->run(in.data(), 1, out.data(), &rec);
      rec.end_run();
      const auto trace = rec.take_trace({});
      std::map<int, std::set<std::string>> per_block;
      for (const auto& s : trace.spans)
        if (s.block >= 0 && s.name != kBlock) per_block[s.block].insert(s.name);
      QCOMPARE(static_cast<int>(per_block.size()), m->config.total_blocks());
      for (const auto& [block, names] : per_block) {
        const bool relu = m->activations[static_cast<std::size_t>(block)] == Activation::ReLU;
        for (const auto& st : kBlockStages)
          QVERIFY2(names.count(std::string(st.name)) == (st.gelu_only && relu ? 0u : 1u),
                   qPrintable(QString("block %1 stage %2").arg(block).arg(st.name.data())));
      }
      QVERIFY(!plan->kernels().empty());
      bool merge = false;
      for (const auto& s : trace.spans) merge |= s.name == kMergeGemm;
      QVERIFY(merge);
      // Ablation: the skipped stage leaves no span.
      plan->set_skipped_stage("softmax");
      rec.begin_run(1);
      plan->run(in.data(), 1, out.data(), &rec);
      rec.end_run();
      for (const auto& s : rec.take_trace({}).spans) QVERIFY(s.name != "softmax");
    }
  }

  void cli_quantize_then_run() {
    QTemporaryDir dir;
    const QString out = dir.filePath("tiny3.int8.safetensors");
    const auto r = run_cli({"quantize", "--model", QString::fromStdString(kDir) + "tiny3.safetensors", "--calib", "random",
                            "--images", "8", "--batch", "4", "--out", out});
    if (r.code == 2 && r.err.contains("unknown command")) QSKIP("swinscope-cli has no quantize command registered in this build");
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.out.contains("int8"), qPrintable(r.out));
    const Model q = load_model(out.toStdString());
    QCOMPARE(q.precision, std::string("int8"));
    QCOMPARE(nlohmann::json::parse(q.calibration).at("images").get<long>(), 8L);
    const auto info = run_cli({"info", out});
    QCOMPARE(info.code, 0);
    QVERIFY2(info.out.contains("int8"), qPrintable(info.out));
    // Without --variant the file decides (default_variant): a GELU model runs as int8-gelu.
    const auto bench = run_cli({"bench", "--model", out, "--batch", "2", "--runs", "1", "--warmup", "0", "--json"});
    QVERIFY2(bench.code == 0, qPrintable(bench.err));
    QVERIFY2(bench.out.contains("\"variant\":\"int8-gelu\""), qPrintable(bench.out));
    const auto fp32 = run_cli({"bench", "--model", out, "--variant", "fp32", "--batch", "1", "--runs", "1", "--warmup", "0"});
    QCOMPARE(fp32.code, 2);
    QVERIFY2(fp32.err.contains("int8"), qPrintable(fp32.err));
    // Refusals are bad input (exit 2) with the reason.
    const auto refused = run_cli({"quantize", "--model", QString::fromStdString(kDir) + "relu_mixed.safetensors", "--calib",
                                  "random", "--images", "2", "--out", dir.filePath("x.safetensors")});
    QCOMPARE(refused.code, 2);
    QVERIFY2(refused.err.contains("mlp.fc1.bias"), qPrintable(refused.err));
    const auto bad_method = run_cli({"quantize", "--model", out, "--calib", "random", "--method", "entropy", "--out", dir.filePath("y.safetensors")});
    QCOMPARE(bad_method.code, 2);
    QVERIFY(bad_method.err.contains("entropy"));
  }
};

QTEST_APPLESS_MAIN(TestInt8E2e)
#include "test_int8_e2e.moc"
