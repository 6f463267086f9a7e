// The FP32 engine against torchvision's SwinTransformer (tests/golden/make_golden.py):
// same weights, same inputs, logits within 1e-4 · max(1, |logit|max). The same weights in
// timm, Microsoft and Hugging Face layouts (no metadata: config inferred) give the same logits.
#include <QtTest>
#include <QTemporaryDir>

#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "engine/model.h"
#include "engine/plan.h"
#include "engine/safetensors.h"

using namespace swinscope;

namespace {

const std::string kDir = std::string(SWINSCOPE_SOURCE_DIR) + "/tests/golden/models/";

std::vector<float> read_f32(const SafetensorsFile& f, const char* name, std::vector<std::int64_t>* shape) {
  const auto* t = f.find(name);
  if (!t) throw std::runtime_error(f.label() + ": no tensor " + name);
  std::vector<float> v(static_cast<std::size_t>(t->numel()));
  std::memcpy(v.data(), t->data, v.size() * 4);
  if (shape) *shape = t->shape;
  return v;
}

struct Compare {
  double max_abs = 0, bound = 0;
  int top1_agree = 0, n = 0;
};

Compare run_and_compare(const std::string& model_file, const std::string& io_file, std::optional<int> img_size,
                        int max_batch_override = 0) {
  LoadOptions lo;
  lo.img_size = img_size;
  const Model m = load_model(kDir + model_file, lo);
  const auto io = SafetensorsFile::open(kDir + io_file);
  std::vector<std::int64_t> in_shape, out_shape;
  const auto input = read_f32(io, "input", &in_shape);
  const auto want = read_f32(io, "logits", &out_shape);
  const int B = static_cast<int>(in_shape[0]);
  const int nc = static_cast<int>(out_shape[1]);
  PlanOptions po;
  po.max_batch = max_batch_override ? max_batch_override : B;
  auto plan = make_plan(m, po);
  std::vector<float> got(static_cast<std::size_t>(B) * nc);
  const std::size_t per = input.size() / static_cast<std::size_t>(B);
  // Run in chunks of max_batch so smaller plans are exercised too.
  for (int b0 = 0; b0 < B; b0 += po.max_batch) {
    const int n = std::min(po.max_batch, B - b0);
    plan->run(input.data() + per * static_cast<std::size_t>(b0), n, got.data() + static_cast<std::size_t>(b0) * nc);
  }
  Compare c;
  double maxlogit = 0;
  for (float v : want) maxlogit = std::max(maxlogit, std::fabs(static_cast<double>(v)));
  c.bound = 1e-4 * std::max(1.0, maxlogit);
  for (std::size_t i = 0; i < want.size(); ++i) c.max_abs = std::max(c.max_abs, std::fabs(static_cast<double>(got[i] - want[i])));
  for (int b = 0; b < B; ++b) {
    auto arg = [&](const std::vector<float>& v) {
      return std::max_element(v.begin() + b * nc, v.begin() + (b + 1) * nc) - (v.begin() + b * nc);
    };
    c.top1_agree += arg(got) == arg(want);
    ++c.n;
  }
  return c;
}

}  // namespace

class TestGolden : public QObject {
  Q_OBJECT
 private slots:
  void logits_match_torchvision_data() {
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("io");
    QTest::addColumn<int>("img_size");  // 0: from metadata
    QTest::addColumn<int>("max_batch");
    QTest::newRow("tiny3 (torchvision names, shifted windows)") << "tiny3.safetensors" << "tiny3.io.safetensors" << 0 << 0;
    QTest::newRow("tiny3 batch-1 plan") << "tiny3.safetensors" << "tiny3.io.safetensors" << 0 << 1;
    QTest::newRow("tiny3 timm layout, inferred") << "tiny3.timm.safetensors" << "tiny3.io.safetensors" << 32 << 0;
    QTest::newRow("tiny3 microsoft layout, inferred") << "tiny3.ms.safetensors" << "tiny3.io.safetensors" << 32 << 0;
    QTest::newRow("tiny3 hugging face layout, inferred") << "tiny3.hf.safetensors" << "tiny3.io.safetensors" << 32 << 0;
    QTest::newRow("gray1 (1 channel, window 7)") << "gray1.safetensors" << "gray1.io.safetensors" << 0 << 0;
    QTest::newRow("relu_mixed (GELU and ReLU blocks)") << "relu_mixed.safetensors" << "relu_mixed.io.safetensors" << 0 << 0;
    QTest::newRow("batch4 (window 2, shift 1)") << "batch4.safetensors" << "batch4.io.safetensors" << 0 << 0;
    QTest::newRow("batch4 in two batches of 3+1") << "batch4.safetensors" << "batch4.io.safetensors" << 0 << 3;
  }
  void logits_match_torchvision() {
    QFETCH(QString, model);
    QFETCH(QString, io);
    QFETCH(int, img_size);
    QFETCH(int, max_batch);
    std::optional<int> img;
    if (img_size) img = img_size;
    const auto c = run_and_compare(model.toStdString(), io.toStdString(), img, max_batch);
    qInfo("max |dlogit| = %.3g (bound %.3g), top-1 agreement %d/%d", c.max_abs, c.bound, c.top1_agree, c.n);
    QVERIFY2(c.max_abs <= c.bound, qPrintable(QString("max |dlogit| %1 > %2").arg(c.max_abs).arg(c.bound)));
    QCOMPARE(c.top1_agree, c.n);
  }

  void save_load_roundtrip_is_bit_exact() {
    const Model m = load_model(kDir + "relu_mixed.safetensors");
    const QString tmp = QDir::tempPath() + "/swinscope_roundtrip.safetensors";
    save_model(m, tmp.toStdString());
    const Model back = load_model(tmp.toStdString());
    QCOMPARE(back.tensors.size(), m.tensors.size());
    for (const auto& [name, t] : m.tensors) {
      const auto* b = back.find(name);
      QVERIFY2(b, name.c_str());
      QVERIFY(b->shape == t.shape);
      QVERIFY2(std::memcmp(b->data.data(), t.data.data(), t.data.size() * 4) == 0, name.c_str());
    }
    QCOMPARE(back.config.to_json(), m.config.to_json());
    QVERIFY(back.activations == m.activations);
    QCOMPARE(back.layout, SourceLayout::SwinScope);
    QFile::remove(tmp);
  }

  void side_config_json_supplies_image_size() {
    // A plain timm download: weights without metadata plus timm's config.json beside them.
    QTemporaryDir dir;
    QVERIFY(QFile::copy(QString::fromStdString(kDir + "tiny3.timm.safetensors"), dir.filePath("model.safetensors")));
    QFile cfg(dir.filePath("config.json"));
    QVERIFY(cfg.open(QIODevice::WriteOnly));
    cfg.write(R"({"architecture": "swin_custom", "num_classes": 10, "label_names": ["t0","t1","t2","t3","t4","t5","t6","t7","t8","t9"],
                 "pretrained_cfg": {"input_size": [3, 32, 32], "crop_pct": 0.875, "interpolation": "bilinear",
                                    "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}})");
    cfg.close();
    const Model m = load_model(dir.filePath("model.safetensors").toStdString());
    QCOMPARE(m.config.img_size, 32);
    QCOMPARE(m.preprocess.resize, 36);  // floor(32 / 0.875)
    QCOMPARE(m.preprocess.interpolation, std::string("bilinear"));
    QCOMPARE(m.preprocess.mean[0], 0.5f);
    QCOMPARE(m.classes.at(3), std::string("t3"));
    QCOMPARE(m.layout, SourceLayout::Timm);
  }

  void plain_checkpoint_with_wrong_image_size_is_refused() {
    // 224 is the default for a plain checkpoint; tiny3 (patch 2, window 4) cannot run at
    // 30 because 15 is not a multiple of the window.
    LoadOptions lo;
    lo.img_size = 30;
    QVERIFY_THROWS_EXCEPTION(Error, load_model(kDir + "tiny3.timm.safetensors", lo));
  }

  void missing_tensor_is_named() {
    Model m = load_model(kDir + "tiny3.safetensors");
    m.tensors.erase("layers.1.blocks.0.attn.proj.weight");
    try {
      validate_model_tensors(m);
      QFAIL("a model without a tensor validated");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("layers.1.blocks.0.attn.proj.weight"), e.what());
      QVERIFY2(QString(e.what()).contains("[32, 32]"), e.what());
    }
  }

  void misshaped_tensor_is_named() {
    Model m = load_model(kDir + "tiny3.safetensors");
    m.tensors["head.fc.weight"].shape = {5, 128};
    try {
      validate_model_tensors(m);
      QFAIL("a mis-shaped model validated");
    } catch (const Error& e) {
      QVERIFY2(QString(e.what()).contains("head.fc.weight"), e.what());
      QVERIFY2(QString(e.what()).contains("expected [10, 64]"), e.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestGolden)
#include "test_golden.moc"
