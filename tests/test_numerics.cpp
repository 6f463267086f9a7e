// Per-stage int8 error (issue 15): SQNR against hand computations, the CPU int8 plan's tensor
// tap against the float walk on the bundled models (a row per block, every stage finite and
// positive, a model against itself +inf), and swinscope-cli numerics end to end.
#include <QtTest>

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <cmath>
#include <limits>
#include <numeric>

#include "engine/dataset_source.h"
#include "engine/error.h"
#include "engine/plan.h"
#include "engine/quant_error.h"
#include "tests/cli_runner.h"

using namespace swinscope;

namespace {

const QString kSrc = QStringLiteral(SWINSCOPE_SOURCE_DIR);
const QString kGeluInt8 = kSrc + "/assets/models/fmnist_swin_gelu.int8.safetensors";
const QString kGeluFp32 = kSrc + "/assets/models/fmnist_swin_gelu.fp32.safetensors";
const QString kReluInt8 = kSrc + "/assets/models/fmnist_swin_relu.int8.safetensors";
const QString kSamples = kSrc + "/assets/samples";

int total_blocks(const SwinConfig& c) { return std::accumulate(c.depths.begin(), c.depths.end(), 0); }

QJsonObject json_of(const CliResult& r) { return QJsonDocument::fromJson(r.out.toUtf8()).object(); }

}  // namespace

class TestNumerics : public QObject {
  Q_OBJECT
 private slots:
  // ---- SQNR by hand ----
  void sqnr_hand_values_data() {
    QTest::addColumn<QVector<float>>("ref");
    QTest::addColumn<QVector<float>>("test");
    QTest::addColumn<double>("expected");
    // Σ ref² = 25, Σ err² = 1: 10 log10(25)
    QTest::newRow("3-4 vs 3-3") << QVector<float>{3, 4} << QVector<float>{3, 3} << 13.979400086720377;
    // Σ ref² = 30, Σ err² = 0.01 + 0.01 = 0.02 (floats: 1.1, 1.9 are not exact, hence the tolerance)
    QTest::newRow("1-4, two off by 0.1") << QVector<float>{1, 2, 3, 4} << QVector<float>{1.1f, 1.9f, 3, 4} << 31.760912590556813;
    // error of the same energy as the signal: 0 dB; twice: −3.01 dB
    QTest::newRow("0 dB") << QVector<float>{1, -1} << QVector<float>{0, 0} << 0.0;
    QTest::newRow("sign flip") << QVector<float>{2} << QVector<float>{-2} << -6.020599913279624;
  }
  void sqnr_hand_values() {
    QFETCH(QVector<float>, ref);
    QFETCH(QVector<float>, test);
    QFETCH(double, expected);
    const double db = sqnr_db(ref.data(), test.data(), static_cast<std::size_t>(ref.size()));
    QVERIFY2(std::fabs(db - expected) < 1e-4, qPrintable(QString::number(db, 'g', 12)));
  }

  void sqnr_edges_and_accumulation() {
    const float a[3] = {1, 2, 3};
    QCOMPARE(sqnr_db(a, a, 3), std::numeric_limits<double>::infinity());  // identical: no noise
    const float z[2] = {0, 0}, o[2] = {1, 0};
    QCOMPARE(sqnr_db(z, o, 2), -std::numeric_limits<double>::infinity());  // no signal, some noise
    // Sums over two tensors are energies added, not dB averaged: (9 + 16) / (1 + 0) → 13.98 dB.
    SqnrSum s;
    const float r1[1] = {3}, t1[1] = {2}, r2[1] = {4}, t2[1] = {4};
    s.add(r1, t1, 1);
    s.add(r2, t2, 1);
    QCOMPARE(s.elements, std::size_t{2});
    QVERIFY(std::fabs(s.db() - 13.979400086720377) < 1e-9);
    // The noise a block adds: out energy 100, noise 2 out, 1 in → 10 log10(100 / 1) = 20 dB.
    SqnrBlockRow row;
    row.cells.resize(sqnr_points().size());
    row.cells.back().signal = 100;
    row.cells.back().noise = 2;
    row.cells.back().elements = 1;
    row.input.signal = 90;
    row.input.noise = 1;
    row.input.elements = 1;
    QVERIFY(std::fabs(row.added_db() - 20.0) < 1e-12);
    row.input.noise = 3;  // less noise out than in: the block adds none
    QCOMPARE(row.added_db(), std::numeric_limits<double>::infinity());
  }

  // ---- the engine on the bundled models ----
  void int8_against_fp32_source() {
    const Model int8 = load_model(kGeluInt8.toStdString());
    const Model fp32 = load_model(kGeluFp32.toStdString());
    const Dataset data = open_dataset_source(check_dataset_source(kSamples.toStdString()), int8.classes);
    long calls = 0;
    const SqnrReport r = measure_sqnr(int8, fp32, data, 3, [&](const Progress& p) {
      ++calls;
      QCOMPARE(p.total, 3L);
    });
    QCOMPARE(calls, 3L);
    QCOMPARE(r.images, 3L);
    QCOMPARE(static_cast<int>(r.blocks.size()), total_blocks(int8.config));
    for (const auto& b : r.blocks) {
      QCOMPARE(b.cells.size(), sqnr_points().size());
      for (std::size_t k = 0; k < b.cells.size(); ++k) {
        const double db = b.cells[k].db();
        const QString where = QString::fromStdString(b.prefix) + sqnr_points()[k].column + " = " + QString::number(db);
        QVERIFY2(!b.cells[k].empty(), qPrintable(where));
        QVERIFY2(std::isfinite(db), qPrintable(where));
        // A layout mismatch (window vs token order, q vs kT packing) compares unrelated values of
        // similar energy: about 0 dB or below. int8 of this model gives 20–40 dB.
        QVERIFY2(db > 10.0, qPrintable(where));
      }
    }
    QVERIFY(std::isinf(r.patch_embed.db()));  // the int8 plan's patch embedding is float
    QVERIFY(std::isfinite(r.logits.db()) && r.logits.db() > 10.0);
    for (const auto& [name, s] : r.merges) QVERIFY2(std::isfinite(s.db()) && s.db() > 10.0, name.c_str());
    QVERIFY(r.worst_block() >= 0 && r.worst_block() < static_cast<int>(r.blocks.size()));
  }

  // The integer-only plan's taps: every tensor it keeps, dequantized, in the float walk's layout
  // (a layout slip would read ~0 dB); the three GEMM outputs it never forms at 8 bits stay empty;
  // the same logits with and without the tap.
  void int8_ivit_against_fp32_source() {
    const Model int8 = load_model(kGeluInt8.toStdString());
    const Model fp32 = load_model(kGeluFp32.toStdString());
    const Dataset data = open_dataset_source(check_dataset_source(kSamples.toStdString()), int8.classes);
    const SqnrReport r = measure_sqnr(int8, fp32, data, 3, {}, Variant::Int8Ivit);
    QVERIFY2(r.test_kind.find("int8-ivit") != std::string::npos, r.test_kind.c_str());
    for (const auto& b : r.blocks)
      for (std::size_t k = 0; k < b.cells.size(); ++k) {
        const std::string col = sqnr_points()[k].column;
        const QString where = QString::fromStdString(b.prefix + col + " = ") + QString::number(b.cells[k].db());
        if (col == "qkv" || col == "proj" || col == "fc2" || col == "fc1") {  // fc1: GELU blocks (this model's)
          QVERIFY2(b.cells[k].empty(), qPrintable(where));
          continue;
        }
        QVERIFY2(!b.cells[k].empty() && std::isfinite(b.cells[k].db()) && b.cells[k].db() > 10.0, qPrintable(where));
      }
    QVERIFY(std::isfinite(r.patch_embed.db()) && r.patch_embed.db() > 20.0);  // integer patch embedding
    QVERIFY(std::isfinite(r.logits.db()) && r.logits.db() > 10.0);
    for (const auto& [name, s] : r.merges) QVERIFY2(std::isfinite(s.db()) && s.db() > 10.0, name.c_str());
    // A float model has no int8 plan to pick.
    bool refused = false;
    try {
      measure_sqnr(fp32, fp32, data, 1, {}, Variant::Int8Ivit);
    } catch (const Error& e) {
      refused = std::string(e.what()).find("needs an int8 model") != std::string::npos;
    }
    QVERIFY(refused);
    // The tap changes nothing.
    auto plan = make_plan(int8, PlanOptions{Variant::Int8Ivit, Backend::CPU, 1, 0});
    std::vector<float> in(static_cast<std::size_t>(int8.config.in_chans) * int8.config.img_size * int8.config.img_size, 0.25f);
    std::vector<float> a(static_cast<std::size_t>(int8.config.num_classes)), b(a.size());
    plan->run(in.data(), 1, a.data());
    int taps = 0;
    QVERIFY(plan->set_tensor_tap([&](const std::string&, const float*, std::size_t) { ++taps; }));
    plan->run(in.data(), 1, b.data());
    QCOMPARE(a, b);
    QVERIFY(taps > 10);
  }

  void a_model_against_itself_is_infinite() {
    for (const QString& path : {kGeluInt8, kGeluFp32}) {
      const Model m = load_model(path.toStdString());
      const Dataset data = open_dataset_source(check_dataset_source(kSamples.toStdString()), m.classes);
      const SqnrReport r = measure_sqnr(m, m, data, 2);
      for (const auto& b : r.blocks)
        for (const auto& c : b.cells) QCOMPARE(c.db(), std::numeric_limits<double>::infinity());
      QCOMPARE(r.logits.db(), std::numeric_limits<double>::infinity());
      QCOMPARE(r.worst_block(), -1);
    }
  }

  // The tap changes nothing: the same logits with and without it, and it is never called once
  // cleared.
  void tap_does_not_disturb_the_plan() {
    const Model m = load_model(kReluInt8.toStdString());
    PlanOptions o;
    o.variant = default_variant(m);
    o.max_batch = 2;
    auto plan = make_plan(m, o);
    const auto& c = m.config;
    std::vector<float> input(static_cast<std::size_t>(2) * c.in_chans * c.img_size * c.img_size);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = std::sin(static_cast<float>(i) * 0.37f);
    std::vector<float> plain(2 * static_cast<std::size_t>(c.num_classes)), tapped(plain.size());
    plan->run(input.data(), 2, plain.data());
    long seen = 0;
    QVERIFY(plan->set_tensor_tap([&](const std::string&, const float*, std::size_t) { ++seen; }));
    plan->run(input.data(), 2, tapped.data());
    QVERIFY(seen > 0);
    QCOMPARE(tapped, plain);
    plan->set_tensor_tap({});
    const long before = seen;
    plan->run(input.data(), 2, tapped.data());
    QCOMPARE(seen, before);
  }

  void different_architectures_are_refused() {
    QTemporaryDir dir;
    const QString cfg = dir.filePath("tiny.json");
    QFile f(cfg);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(R"({"name":"tiny","img_size":28,"patch_size":4,"in_chans":1,"num_classes":10,"embed_dim":16,
                "depths":[2],"num_heads":[1],"window_size":7,"mlp_ratio":2})");
    f.close();
    const QString other = dir.filePath("tiny.safetensors");
    QCOMPARE(run_cli({"init", "--arch", cfg, "--seed", "1", "--out", other}).code, 0);
    const auto r = run_cli({"numerics", "--model", kGeluInt8, "--reference", other, "--data", kSamples});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("different architectures") && r.err.contains(other) && r.err.contains("fmnist_swin_gelu.int8"),
             qPrintable(r.err));
  }

  // ---- swinscope-cli numerics ----
  void cli_help_teaches() {
    const auto r = run_cli({"numerics", "--help"});
    QCOMPARE(r.code, 0);
    for (const char* s : {"--model", "--reference", "--data", "--images", "--json", "SQNR", "10 log10", "softmax", "added", "dequantized", "example:"})
      QVERIFY2(r.out.contains(s), s);
    const auto top = run_cli({"--help"});
    QVERIFY(top.out.contains("numerics") || top.err.contains("numerics"));
  }

  void cli_bad_dataset_named() {
    const auto r = run_cli({"numerics", "--model", kGeluInt8, "--reference", kGeluFp32, "--data", "/no/such/data"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("/no/such/data"), qPrintable(r.err));
  }

  void cli_table_on_bundled_models_data() {
    QTest::addColumn<QString>("model");
    QTest::newRow("gelu int8") << kGeluInt8;
    QTest::newRow("gelu-less int8") << kReluInt8;
  }
  void cli_table_on_bundled_models() {
    QFETCH(QString, model);
    const Model m = load_model(model.toStdString());
    const auto r = run_cli({"numerics", "--model", model, "--reference", kGeluFp32, "--data", kSamples, "--images", "3", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("3/3"), qPrintable(r.err));  // progress
    const QJsonObject j = json_of(r);
    QCOMPARE(j["images"].toInt(), 3);
    const QJsonArray blocks = j["blocks"].toArray();
    QCOMPARE(blocks.size(), total_blocks(m.config));
    for (int b = 0; b < blocks.size(); ++b) {
      const QJsonObject row = blocks[b].toObject();
      QCOMPARE(row["block"].toInt(), b);
      const QJsonObject stages = row["stages"].toObject();
      QCOMPARE(stages.size(), static_cast<qsizetype>(sqnr_points().size()));
      for (const auto& p : sqnr_points()) {
        const QJsonValue v = stages[p.column].toObject()["sqnr_db"];
        QVERIFY2(v.isDouble() && std::isfinite(v.toDouble()) && v.toDouble() > 0, qPrintable(QString::number(b) + p.column));
      }
    }
    const int worst = j["worst_block"].toInt();
    QVERIFY(worst >= 0 && worst < blocks.size());
    // The text form: a row per block and the worst one marked.
    const auto t = run_cli({"numerics", "--model", model, "--reference", kGeluFp32, "--data", kSamples, "--images", "2"});
    QVERIFY2(t.code == 0, qPrintable(t.err));
    QVERIFY(t.out.contains("<- worst"));
    QVERIFY(t.out.contains("logits:"));
    for (int b = 0; b < blocks.size(); ++b)
      QVERIFY2(t.out.contains(QRegularExpression("\\n\\s*" + QString::number(b) + "[* ] ")), qPrintable(t.out));
  }

  // Without the FP32 source: the int8 file's own weights dequantized. Only the activations are
  // quantized then, so every stage is finite and positive; the GELU-less model (whose source is
  // not bundled) is measured this way; an fp32 --model is refused naming the file.
  void cli_reference_dequantized() {
    const auto r = run_cli({"numerics", "--model", kReluInt8, "--reference", "dequantized", "--data", kSamples, "--images", "2", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonObject j = json_of(r);
    QVERIFY(j["reference"].toString().contains("(dequantized)"));
    for (const auto& b : j["blocks"].toArray())
      for (const auto& s : b.toObject()["stages"].toObject()) {
        const QJsonValue v = s.toObject()["sqnr_db"];
        QVERIFY2(v.isDouble() && v.toDouble() > 10.0, qPrintable(QString::number(v.toDouble())));
      }
    QCOMPARE(j["patch_embed"].toObject()["sqnr_db"].toString(), QString("inf"));  // float in both
    const auto bad = run_cli({"numerics", "--model", kGeluFp32, "--reference", "dequantized", "--data", kSamples});
    QVERIFY(bad.code != 0);
    QVERIFY2(bad.err.contains("fmnist_swin_gelu.fp32.safetensors") && bad.err.contains("int8"), qPrintable(bad.err));
  }

  void cli_model_against_itself_prints_inf() {
    const auto r = run_cli({"numerics", "--model", kGeluInt8, "--reference", kGeluInt8, "--data", kSamples, "--images", "2", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonObject j = json_of(r);
    QCOMPARE(j["worst_block"].toInt(), -1);
    for (const auto& b : j["blocks"].toArray())
      for (const auto& s : b.toObject()["stages"].toObject()) QCOMPARE(s.toObject()["sqnr_db"].toString(), QString("inf"));
    QCOMPARE(j["logits"].toObject()["sqnr_db"].toString(), QString("inf"));
  }
};

QTEST_GUILESS_MAIN(TestNumerics)
#include "test_numerics.moc"
