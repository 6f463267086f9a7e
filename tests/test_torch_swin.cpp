// The libtorch SWIN (distill_cli/torch/swin.h) against the engine's FP32 forward on the same
// weights: GELU, ReLU (FC1 bias absent) and mixed models, shifted and unshifted windows,
// gray and RGB inputs, several stages. Also the name round trip: every parameter of the
// libtorch model is a canonical engine tensor and back, bit for bit.
// libtorch first: Qt's `slots` macro would break its headers.
#include "distill_cli/torch/swin.h"

#include <QtTest>

#include <QTemporaryDir>

#include <cmath>
#include <random>

#include "engine/error.h"
#include "engine/model.h"
#include "engine/plan.h"
#include "test_support.h"

using namespace swinscope;

namespace {

const std::string kDir = std::string(SWINSCOPE_SOURCE_DIR) + "/tests/golden/models/";

// max |Δlogit| / max |logit| between the engine and libtorch.
double relative_difference(const Model& m, int batch) {
  const auto& c = m.config;
  const auto input = random_images(c, batch, 7);
  auto plan = make_plan(m, PlanOptions{Variant::FP32, Backend::CPU, batch, 0});
  std::vector<float> engine(static_cast<std::size_t>(batch) * c.num_classes);
  plan->run(input.data(), batch, engine.data());
  train::Swin net = train::swin_from_model(m);
  net->eval();
  torch::NoGradGuard ng;
  auto x = torch::from_blob(const_cast<float*>(input.data()), {batch, c.in_chans, c.img_size, c.img_size}).clone();
  auto t = net->forward(x).contiguous();
  double max_diff = 0, max_abs = 0;
  for (std::size_t i = 0; i < engine.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(engine[i]) - t.data_ptr<float>()[i]));
    max_abs = std::max(max_abs, std::abs(static_cast<double>(engine[i])));
  }
  return max_diff / std::max(max_abs, 1e-12);
}

}  // namespace

class TestTorchSwin : public QObject {
  Q_OBJECT

 private slots:
  void initTestCase() { torch::set_num_threads(2); }

  void matchesEngine_data() {
    QTest::addColumn<QString>("file");
    QTest::addColumn<bool>("relu");
    for (const char* f : {"tiny3", "gray1", "batch4", "relu_mixed"}) {
      QTest::newRow(f) << QString(f) << false;
      QTest::newRow((std::string(f) + " relu").c_str()) << QString(f) << true;
    }
  }
  void matchesEngine() {
    QFETCH(QString, file);
    QFETCH(bool, relu);
    Model m = load_model(kDir + file.toStdString() + ".safetensors");
    if (relu) m = gelu_less(m, true);
    const double rel = relative_difference(m, 3);
    qInfo("%s%s: max |Δlogit| / max |logit| = %.2e (%s)", qPrintable(file), relu ? " relu" : "", rel,
          m.activation_summary().c_str());
    QVERIFY2(rel <= 1e-4, qPrintable(QString("relative difference %1").arg(rel)));
  }

  void freshModelMatchesEngineAndRoundTrips() {
    // A random libtorch model (timm init) → engine model → same logits; names and shapes
    // are the engine's canonical ones (validate_model_tensors inside to_model's users).
    SwinConfig c;
    c.img_size = 28;
    c.patch_size = 2;
    c.in_chans = 1;
    c.num_classes = 10;
    c.embed_dim = 16;
    c.depths = {2, 2};
    c.num_heads = {2, 4};
    c.window_size = 7;
    torch::manual_seed(3);
    auto net = std::make_shared<train::SwinImpl>(c);
    net->block(1).set_activation(Activation::ReLU);
    net->block(1).set_fc1_bias(false);
    Model meta;
    meta.config = c;
    meta.classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    meta.preprocess.channels = 1;
    meta.preprocess.crop = meta.preprocess.resize = 28;
    Model m = net->to_model(meta);
    validate_model_tensors(m);
    QVERIFY(!m.has_fc1_bias(1));
    QVERIFY(m.has_fc1_bias(0));
    QCOMPARE(m.activation_summary(), std::string("mixed (gelu x3, relu x1)"));
    QVERIFY(relative_difference(m, 2) <= 1e-4);
    QTemporaryDir dir;
    const auto path = dir.filePath("m.safetensors").toStdString();
    save_model(m, path);
    const Model back = load_model(path);
    auto net2 = train::swin_from_model(back);
    const Model again = net2->to_model(back);
    QCOMPARE(again.tensors.size(), m.tensors.size());
    for (const auto& [name, t] : m.tensors) QVERIFY2(again.tensors.at(name).data == t.data, name.c_str());
  }

  // The window-attention products run through oneDNN with a hand-written backward; values
  // and both gradients must equal libtorch's matmul, for a·b and a·bᵀ, also on the
  // non-contiguous slices the attention feeds it.
  void attentionProductMatchesMatmul_data() {
    QTest::addColumn<bool>("trans_b");
    QTest::newRow("a.b") << false;
    QTest::newRow("a.bT") << true;
  }
  void attentionProductMatchesMatmul() {
    QFETCH(bool, trans_b);
    torch::manual_seed(3);
    // q, k, v are slices of the permuted qkv output: not contiguous.
    auto packed = torch::randn({6, 49, 2, 3, 16}).requires_grad_(true);
    auto probs = torch::randn({6, 3, 49, 49}).requires_grad_(true);
    auto packed_ref = packed.detach().clone().requires_grad_(true);
    auto probs_ref = probs.detach().clone().requires_grad_(true);
    const auto operands = [&](const torch::Tensor& p, const torch::Tensor& s) {
      auto qkv = p.permute({2, 0, 3, 1, 4});
      return std::pair{trans_b ? qkv[0] : s, qkv[1]};
    };
    const auto [a, b] = operands(packed, probs);
    const auto [a_ref, b_ref] = operands(packed_ref, probs_ref);
    QVERIFY(!b.is_contiguous());
    auto out = train::attention_matmul(a, b, trans_b);
    auto ref = torch::matmul(a_ref, trans_b ? b_ref.transpose(-2, -1) : b_ref);
    QCOMPARE(out.sizes().vec(), ref.sizes().vec());
    const auto rel = [](const torch::Tensor& x, const torch::Tensor& y) {
      return (x - y).abs().max().item<double>() / y.abs().max().item<double>();
    };
    QVERIFY2(rel(out, ref) < 1e-5, std::to_string(rel(out, ref)).c_str());
    const auto g = torch::randn(ref.sizes());
    (out * g).sum().backward();
    (ref * g).sum().backward();
    QVERIFY2(rel(packed.grad(), packed_ref.grad()) < 1e-5, std::to_string(rel(packed.grad(), packed_ref.grad())).c_str());
    if (!trans_b) QVERIFY2(rel(probs.grad(), probs_ref.grad()) < 1e-5, std::to_string(rel(probs.grad(), probs_ref.grad())).c_str());
  }

  void frozenBiasStaysZero() {
    Model m = load_model(kDir + "tiny3.safetensors");
    auto net = train::swin_from_model(m);
    net->block(0).set_fc1_bias(false);
    const auto params = net->trainable_parameters();
    for (const auto& p : params) QVERIFY(!p.is_same(net->block(0).mlp->fc1->bias));
    QVERIFY(net->block(0).mlp->fc1->bias.abs().sum().item<double>() == 0.0);
  }

  void refusesWrongShapes() {
    Model m = load_model(kDir + "tiny3.safetensors");
    SwinConfig c = m.config;
    c.embed_dim *= 2;
    c.num_heads = {c.num_heads[0] * 2, c.num_heads[1] * 2, c.num_heads[2] * 2};
    if (c.num_heads.size() != m.config.num_heads.size()) QSKIP("tiny3 layout changed");
    auto net = std::make_shared<train::SwinImpl>(c);
    bool threw = false;
    try {
      net->load_from(m);
    } catch (const Error& e) {
      threw = std::string(e.what()).find("wrong shape") != std::string::npos;
    }
    QVERIFY(threw);
  }
};

QTEST_GUILESS_MAIN(TestTorchSwin)
#include "test_torch_swin.moc"
