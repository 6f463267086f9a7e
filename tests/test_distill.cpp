// swinscope-cli train and distill (the paper's Algorithm 1) on a tiny config and a few
// hundred synthetic IDX images: training lowers the loss, a KD epoch lowers the KD loss,
// after distill every block is ReLU without FC1 bias, --no-kd changes only activations
// and biases, an interrupted run resumed ends with the same weights as an uninterrupted
// one, and bad input is refused with exit code 2 and the file named.
// libtorch first: Qt's `slots` macro would break its headers.
#include "distill_cli/torch/train.h"

#include <QtTest>

#include <QDir>
#include <QTemporaryDir>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "engine/dataset.h"
#include "engine/model.h"
#include "idx_writer.h"

using namespace swinscope;

namespace {

const char* kConfig =
    R"({"name": "test_tiny", "img_size": 16, "patch_size": 2, "in_chans": 1, "num_classes": 4, "embed_dim": 16,
        "depths": [2, 2], "num_heads": [2, 4], "window_size": 4, "mlp_ratio": 2.0})";

bool same_weights(const Model& a, const Model& b, QString* why) {
  if (a.tensors.size() != b.tensors.size()) {
    *why = QString("%1 vs %2 tensors").arg(a.tensors.size()).arg(b.tensors.size());
    return false;
  }
  for (const auto& [name, t] : a.tensors) {
    const auto* o = b.find(name);
    if (!o || o->data != t.data) {
      *why = QString::fromStdString(name) + " differs";
      return false;
    }
  }
  return true;
}

}  // namespace

class TestDistill : public QObject {
  Q_OBJECT

  QTemporaryDir m_dir;
  QString m_train, m_val, m_teacher, m_config;

  QString path(const QString& name) const { return m_dir.filePath(name); }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    write_idx_set(m_dir.path().toStdString(), "train", 256, 16, 4, 1);
    QDir().mkpath(path("val"));
    write_idx_set(path("val").toStdString(), "t10k", 64, 16, 4, 2);
    m_train = path("train-images-idx3-ubyte");
    m_val = path("val");  // a folder holding one IDX set
    m_config = path("tiny.json");
    std::ofstream(m_config.toStdString()) << kConfig;
    m_teacher = path("teacher.safetensors");
    const auto r = run_cli({"train", "--arch", m_config, "--data", m_train, "--val", m_val, "--epochs", "12", "--batch", "32",
                            "--lr", "5e-3", "--warmup", "1", "--seed", "3", "--checkpoint-dir", path("train_ckpt"), "--out",
                            m_teacher});
    QVERIFY2(r.code == 0, qPrintable(r.err));
  }

  void helpTeaches() {
    for (const char* c : {"train", "distill"}) {
      const auto r = run_cli({c, "--help"});
      QCOMPARE(r.code, 0);
      QVERIFY(r.out.contains("--checkpoint-dir") && r.out.contains("--resume") && r.out.contains("example"));
    }
    QVERIFY(run_cli({"distill", "--help"}).out.contains("Algorithm 1"));
    QVERIFY(run_cli({"--help"}).out.contains("distill"));
  }

  void trainWritesAUsableTeacher() {
    const Model t = load_model(m_teacher.toStdString());
    QCOMPARE(t.config.num_classes, 4);
    QCOMPARE(t.preprocess.channels, 1);
    QCOMPARE(t.preprocess.crop, 16);
    QCOMPARE(t.activation_summary(), std::string("gelu"));
    QCOMPARE(static_cast<int>(t.classes.size()), 4);
    // The loss of the last epoch is below the first (state.json keeps every epoch).
    std::ifstream in(path("train_ckpt/state.json").toStdString());
    const auto st = nlohmann::json::parse(in);
    const auto& log = st.at("log");
    QCOMPARE(static_cast<int>(log.size()), 12);
    const double first = log.front().at("loss").get<double>(), last = log.back().at("loss").get<double>();
    qInfo("train loss %.4f -> %.4f, val top-1 %.3f", first, last, log.back().at("val_top1").get<double>());
    QVERIFY(last < first);
    QVERIFY(log.back().at("val_top1").get<double>() > 0.35);  // chance: 0.25
    // The engine evaluates it on the IDX set directly.
    const auto e = run_cli({"eval", "--model", m_teacher, "--data", m_val, "--backend", "cpu"});
    QVERIFY2(e.code == 0, qPrintable(e.err));
    QVERIFY(e.out.contains("evaluated: 64 images"));
  }

  void trainContinuesFromAModel() {
    const QString out = path("continued.safetensors");
    const auto r = run_cli({"train", "--init", m_teacher, "--data", m_train, "--epochs", "1", "--batch", "32", "--lr", "1e-3",
                            "--warmup", "0", "--seed", "4", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const Model a = load_model(m_teacher.toStdString());
    const Model b = load_model(out.toStdString());
    QCOMPARE(b.config.to_json(), a.config.to_json());
    QCOMPARE(b.preprocess.to_json(), a.preprocess.to_json());
    QCOMPARE(b.classes, a.classes);
    QVERIFY(b.tensors.at("head.fc.weight").data != a.tensors.at("head.fc.weight").data);  // it trained
    // --arch and --init together are refused.
    QCOMPARE(run_cli({"train", "--init", m_teacher, "--arch", m_config, "--data", m_train, "--out", out}).code, 2);
  }

  void kdEpochLowersTheLoss() {
    const Model teacher = load_model(m_teacher.toStdString());
    const Dataset data = open_dataset(m_train.toStdString(), std::nullopt, teacher.classes);
    train::DistillOptions o;
    o.fraction = 1.0;
    o.batch = 16;
    o.lr = 0.01;
    o.seed = 5;
    o.stop_after_block = 0;
    const auto r = train::distill(teacher, data, nullptr, o, {}, {});
    QCOMPARE(static_cast<int>(r.blocks.size()), 1);
    const auto& b = r.blocks[0];
    qInfo("block 1 KD loss %.5f -> %.5f", b.kd_loss_first, b.kd_loss_last);
    QVERIFY(b.kd_loss_first > 0.01);  // the swap to ReLU without FC1 bias moved the logits
    QVERIFY(b.kd_loss_last < b.kd_loss_first);
    QCOMPARE(r.student->block(0).activation, Activation::ReLU);
    QVERIFY(!r.student->block(0).fc1_bias);
    QCOMPARE(r.student->block(1).activation, Activation::GELU);
  }

  void cosineScheduleSettlesEachBlock() {
    train::DistillOptions o;
    o.lr = 0.02;
    const long steps = 200;
    for (long s : {0L, 57L, 199L}) QCOMPARE(train::distill_lr_at(o, s, steps), 0.02);  // the paper: constant
    o.cosine = true;
    QCOMPARE(train::distill_lr_at(o, 0, steps), 0.02);                   // starts at --lr
    QVERIFY(std::abs(train::distill_lr_at(o, 100, steps) - 0.01) < 1e-12);  // half way: half the rate
    const double last = train::distill_lr_at(o, steps - 1, steps);
    QVERIFY(last > 0 && last < 0.02 * 1e-3);  // ends near 0, still a step
    for (long s = 1; s < steps; ++s) QVERIFY(train::distill_lr_at(o, s, steps) < train::distill_lr_at(o, s - 1, steps));
    // The CLI takes it, and trains with it.
    const QString out = path("cosine.safetensors");
    const auto r = run_cli({"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.25", "--batch", "16",
                            "--lr-schedule", "cosine", "--seed", "3", "--stop-after-block", "0", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
  }

  void averageIsTheMeanOfTheWeights() {
    // Two models of one architecture: the teacher and a copy with other weights.
    const Model a = load_model(m_teacher.toStdString());
    Model b = a;
    float k = 0;
    for (auto& [name, t] : b.tensors)
      for (auto& v : t.data) v = v * 0.5f + 0.001f * (k += 1);
    const QString other = path("other.safetensors");
    save_model(b, other.toStdString());
    const QString soup = path("soup.safetensors");
    const auto r = run_cli({"average", m_teacher, other, "--out", soup});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const Model s = load_model(soup.toStdString());
    QCOMPARE(s.tensors.size(), a.tensors.size());
    for (const auto& [name, t] : s.tensors)
      for (std::size_t j = 0; j < t.data.size(); ++j)
        QCOMPARE(t.data[j], static_cast<float>((static_cast<double>(a.tensor(name).data[j]) + b.tensor(name).data[j]) / 2));
    QCOMPARE(s.classes, a.classes);  // the first model's metadata
    QCOMPARE(s.preprocess.to_json(), a.preprocess.to_json());
    // Refused with exit 2: one model only; models whose preprocessing or activations differ.
    QCOMPARE(run_cli({"average", m_teacher, "--out", soup}).code, 2);
    Model c = b;
    c.preprocess.mean[0] += 0.1f;
    save_model(c, other.toStdString());
    const auto norm = run_cli({"average", m_teacher, other, "--out", soup});
    QCOMPARE(norm.code, 2);
    QVERIFY2(norm.err.contains("preprocessing"), qPrintable(norm.err));
    b.activations[0] = Activation::ReLU;
    save_model(b, other.toStdString());
    const auto mixed = run_cli({"average", m_teacher, other, "--out", soup});
    QCOMPARE(mixed.code, 2);
    QVERIFY2(mixed.err.contains("activations"), qPrintable(mixed.err));
  }

  void distillMakesEveryBlockReluWithoutBias() {
    const QString out = path("student.safetensors");
    const auto r = run_cli({"distill", "--teacher", m_teacher, "--data", m_train, "--val", m_val, "--fraction", "0.25", "--batch",
                            "16", "--seed", "1", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.err.contains("block 4/4"));
    const Model s = load_model(out.toStdString());
    QCOMPARE(s.activation_summary(), std::string("relu"));
    for (int g = 0; g < s.config.total_blocks(); ++g) QVERIFY(!s.has_fc1_bias(g));
    // Ready for quantize: the int8 file is written and reads back as GELU-less.
    const auto q = run_cli({"quantize", "--model", out, "--calib", m_train, "--images", "32", "--out", path("student.int8.safetensors")});
    QVERIFY2(q.code == 0, qPrintable(q.err));
    const auto e = run_cli({"eval", "--model", path("student.int8.safetensors"), "--data", m_val, "--backend", "cpu"});
    QVERIFY2(e.code == 0, qPrintable(e.err));
  }

  void noKdChangesOnlyActivationsAndBiases() {
    const QString out = path("nokd.safetensors");
    const auto r = run_cli({"distill", "--teacher", m_teacher, "--data", m_train, "--no-kd", "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const Model t = load_model(m_teacher.toStdString());
    const Model s = load_model(out.toStdString());
    QCOMPARE(s.activation_summary(), std::string("relu"));
    int removed = 0;
    for (const auto& [name, tensor] : t.tensors) {
      const auto* o = s.find(name);
      if (name.find("mlp.fc1.bias") != std::string::npos) {
        QVERIFY2(!o, name.c_str());
        ++removed;
        continue;
      }
      QVERIFY2(o && o->data == tensor.data, name.c_str());
    }
    QCOMPARE(removed, t.config.total_blocks());
    QCOMPARE(s.tensors.size() + static_cast<std::size_t>(removed), t.tensors.size());
  }

  void resumeEndsWithTheSameWeights() {
    const QStringList common{"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.25", "--batch", "16",
                             "--seed", "9", "--threads", "1"};
    // Uninterrupted.
    auto r = run_cli(common + QStringList{"--checkpoint-dir", path("ck_full"), "--out", path("full.safetensors")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    // Interrupted after block 2 (the test hook), then resumed.
    r = run_cli(common + QStringList{"--checkpoint-dir", path("ck_part"), "--stop-after-block", "1", "--out", path("part.safetensors")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(path("part.safetensors")));
    // Without --resume the folder is refused rather than overwritten.
    r = run_cli(common + QStringList{"--checkpoint-dir", path("ck_part"), "--out", path("part.safetensors")});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("--resume"));
    // With other options it is refused too.
    r = run_cli({"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.5", "--batch", "16", "--seed", "9",
                 "--threads", "1", "--checkpoint-dir", path("ck_part"), "--resume", "--out", path("part.safetensors")});
    QCOMPARE(r.code, 2);
    QVERIFY(r.err.contains("other options"));
    r = run_cli(common + QStringList{"--checkpoint-dir", path("ck_part"), "--resume", "--out", path("part.safetensors")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(!r.err.contains("block 1/4"));  // blocks 1 and 2 were not redone
    QVERIFY(r.err.contains("block 3/4"));
    QString why;
    QVERIFY2(same_weights(load_model(path("full.safetensors").toStdString()), load_model(path("part.safetensors").toStdString()), &why),
             qPrintable(why));
  }

  void killedRunResumes() {
    // kill -9 in the middle of a block: the checkpoint of the last finished block is intact.
    QProcess p;
    p.start(QStringLiteral(SWINSCOPE_CLI_PATH),
            {"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "1", "--batch", "8", "--seed", "2",
             "--threads", "1", "--checkpoint-dir", path("ck_kill"), "--out", path("killed.safetensors")});
    QVERIFY(p.waitForStarted());
    // Wait for the first checkpoint, then kill.
    for (int i = 0; i < 600 && !QFileInfo::exists(path("ck_kill/state.json")); ++i) QTest::qWait(100);
    QVERIFY(QFileInfo::exists(path("ck_kill/state.json")));
    p.kill();
    p.waitForFinished();
    const auto r = run_cli({"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "1", "--batch", "8", "--seed", "2",
                            "--threads", "1", "--checkpoint-dir", path("ck_kill"), "--resume", "--out", path("killed.safetensors")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(load_model(path("killed.safetensors").toStdString()).activation_summary(), std::string("relu"));
  }

  void badInputIsRefused_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("teacher not a SWIN") << QStringList{"distill", "--teacher", "@notswin", "--data", "@train", "--out", "@x"}
                                        << "not a SWIN checkpoint";
    QTest::newRow("teacher missing") << QStringList{"distill", "--teacher", "@missing.safetensors", "--data", "@train", "--out", "@x"}
                                     << "missing.safetensors";
    QTest::newRow("folder without images") << QStringList{"distill", "--teacher", "@teacher", "--data", "@empty", "--out", "@x"}
                                           << "empty";
    QTest::newRow("labels name missing images")
        << QStringList{"distill", "--teacher", "@teacher", "--data", "@flat", "--labels", "@flat/labels.txt", "--out", "@x"}
        << "do not exist";
    QTest::newRow("train: no images") << QStringList{"train", "--arch", "@config", "--data", "@empty", "--out", "@x"} << "empty";
    QTest::newRow("train: unknown arch") << QStringList{"train", "--arch", "swin_huge", "--data", "@train", "--out", "@x"}
                                         << "swin_huge";
    QTest::newRow("train: bad activation") << QStringList{"train", "--arch", "@config", "--data", "@train", "--activation",
                                                          "swish", "--out", "@x"}
                                           << "--activation";
    QTest::newRow("int8 teacher") << QStringList{"distill", "--teacher", "@int8", "--data", "@train", "--out", "@x"}
                                  << "int8";
    QTest::newRow("bad fraction") << QStringList{"distill", "--teacher", "@teacher", "--data", "@train", "--fraction", "0",
                                                 "--out", "@x"}
                                  << "--fraction";
    QTest::newRow("bad lr schedule") << QStringList{"distill", "--teacher", "@teacher", "--data", "@train", "--lr-schedule",
                                                    "linear", "--out", "@x"}
                                     << "--lr-schedule";
  }
  void badInputIsRefused() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    // A safetensors file that is valid but holds no SWIN.
    {
      std::ofstream f(path("notswin").toStdString(), std::ios::binary);
      const std::string header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
      const std::uint64_t n = header.size();
      f.write(reinterpret_cast<const char*>(&n), 8);
      f << header;
      f.write("\0\0\0\0\0\0\0\0", 8);
    }
    QDir().mkpath(path("empty/class_a"));
    QDir().mkpath(path("flat"));
    std::ofstream(path("flat/labels.txt").toStdString()) << "a.png 0\nb.png 1\n";
    for (auto& a : args) {
      if (!a.startsWith('@')) continue;
      const QString n = a.mid(1);
      if (n == "train") a = m_train;
      else if (n == "teacher") a = m_teacher;
      else if (n == "config") a = m_config;
      else if (n == "int8") a = path("student.int8.safetensors");
      else a = path(n);
    }
    const auto r = run_cli(args);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestDistill)
#include "test_distill.moc"
