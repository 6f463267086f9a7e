// swinscope-cli train and distill (the paper's Algorithm 1) on a tiny config and a few
// hundred synthetic IDX images: training lowers the loss, a KD epoch lowers the KD loss,
// after distill every block is ReLU without FC1 bias, --no-kd changes only activations
// and biases, an interrupted run resumed ends with the same weights as an uninterrupted
// one, and bad input is refused with exit code 2 and the file named. Issue 14: a NaN loss
// stops the run keeping the last checkpoint, a full disk during a checkpoint fails cleanly,
// SIGTERM removes the temporary being written and later runs remove stale ones, --resume
// refuses changed options and hand-edited states, and a block missing a tensor is named.
// libtorch first: Qt's `slots` macro would break its headers.
#include "distill_cli/torch/train.h"

#include <QtTest>

#include <QDir>
#include <QTemporaryDir>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "engine/dataset.h"
#include "engine/model.h"
#include "engine/safetensors.h"
#include "idx_writer.h"

using namespace swinscope;

namespace {

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

std::string read_text(const QString& file) {
  std::ifstream in(file.toStdString(), std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Files under `dir` whose name contains ".tmp".
QStringList temporaries(const QString& dir) {
  QStringList out;
  for (const auto& f : QDir(dir).entryList(QDir::Files | QDir::System | QDir::Hidden))
    if (f.contains(".tmp")) out << f;
  return out;
}

// A pid that no process has: one of a child that has exited (and was reaped).
qint64 dead_pid() {
  QProcess p;
  p.start("true", {});
  p.waitForStarted();
  const qint64 pid = p.processId();
  p.waitForFinished();
  return pid;
}

// Writes the model's float tensors as a plain safetensors file, with `metadata`.
void write_plain(const Model& m, const QString& file, const std::map<std::string, std::string>& metadata = {}) {
  std::vector<TensorToWrite> t;
  for (const auto& [name, f] : m.tensors)
    t.push_back({name, DType::F32, f.shape, std::as_bytes(std::span<const float>(f.data))});
  write_safetensors(file.toStdString(), t, metadata);
}

// A small tmpfs mounted for the life of the object (needs root; `ok` says whether it worked).
struct Tmpfs {
  QString dir, why;
  bool ok = false;
  Tmpfs(const QString& d, long kib) : dir(d) {
    QDir().mkpath(dir);
    QProcess p;
    p.start("mount", {"-t", "tmpfs", "-o", QString("size=%1k").arg(kib), "tmpfs", dir});
    ok = p.waitForFinished() && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
    why = QString::fromUtf8(p.readAllStandardError()).trimmed();
    if (why.isEmpty()) why = p.errorString();
  }
  bool resize(long kib) {
    QProcess p;
    p.start("mount", {"-o", QString("remount,size=%1k").arg(kib), dir});
    return p.waitForFinished() && p.exitCode() == 0;
  }
  ~Tmpfs() {
    if (ok) QProcess::execute("umount", {"-l", dir});
  }
};

}  // namespace

class TestDistill : public QObject {
  Q_OBJECT

  QTemporaryDir m_dir;
  QString m_train, m_val, m_teacher, m_config;

  QString path(const QString& name) const { return m_dir.filePath(name); }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    const TinyTrainFiles f = write_tiny_train_fixture(m_dir.path().toStdString());
    m_train = QString::fromStdString(f.train_images);
    m_val = QString::fromStdString(f.val_dir);  // a folder holding one IDX set
    m_config = QString::fromStdString(f.config);
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

  // Issue 14, item 1: a loss that turns NaN stops the run naming the epoch and step, exit 1,
  // and the last good checkpoint is kept (not overwritten with NaN weights).
  void nanLossStopsAndKeepsTheCheckpoint() {
    const QString ck = path("ck_nan");
    const QStringList common{"train", "--arch", m_config, "--data", m_train, "--limit", "64", "--epochs", "2", "--batch", "32",
                             "--seed", "1", "--checkpoint-dir", ck, "--out", path("nan.safetensors")};
    // A finished run, its checkpoint edited back to "epoch 1 of 2 done" with weights that are
    // finite but so large that the next forward pass overflows.
    auto r = run_cli(common);
    QVERIFY2(r.code == 0, qPrintable(r.err));
    nlohmann::json st = nlohmann::json::parse(read_text(ck + "/state.json"));
    QCOMPARE(st.at("next_epoch").get<int>(), 2);
    Model w = load_model((ck + "/teacher-epoch-2.safetensors").toStdString());
    for (auto& v : w.tensors.at("head.fc.weight").data) v = 3e38f;
    save_model(w, (ck + "/teacher-epoch-1.safetensors").toStdString());
    QFile::copy(ck + "/optimizer-epoch-2.pt", ck + "/optimizer-epoch-1.pt");
    st["next_epoch"] = 1;
    st["weights"] = "teacher-epoch-1.safetensors";
    st["optimizer"] = "optimizer-epoch-1.pt";
    st["log"].erase(1);
    std::ofstream(ck.toStdString() + "/state.json") << st.dump(2);
    QFile::remove(ck + "/teacher-epoch-2.safetensors");
    QFile::remove(ck + "/optimizer-epoch-2.pt");
    QFile::remove(path("nan.safetensors"));
    const std::string before = read_text(ck + "/state.json");
    r = run_cli(common + QStringList{"--resume"});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("epoch 2/2, step 1/2") && r.err.contains("nan"), qPrintable(r.err));
    QVERIFY2(r.err.contains("checkpoint of epoch 1"), qPrintable(r.err));
    QCOMPARE(read_text(ck + "/state.json"), before);
    QVERIFY(QFileInfo::exists(ck + "/teacher-epoch-1.safetensors"));
    QVERIFY(!QFileInfo::exists(ck + "/teacher-epoch-2.safetensors"));
    QVERIFY(!QFileInfo::exists(path("nan.safetensors")));
    // distill: an absurd rate sends the weights to Inf and the KD loss to NaN within a few steps.
    r = run_cli({"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.25", "--batch", "16", "--lr", "1e30",
                 "--checkpoint-dir", path("ck_nan_distill"), "--out", path("nan_student.safetensors")});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("KD loss is") && r.err.contains("block 1/4") && r.err.contains("step "), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(path("ck_nan_distill/state.json")));
    QVERIFY(!QFileInfo::exists(path("nan_student.safetensors")));
  }

  // Issue 14, item 3: a full disk while a checkpoint is written fails with the reason and the
  // file, exit 1; the previous checkpoint stays and no temporary is left. --resume then continues.
  void fullDiskDuringACheckpoint() {
    qint64 bytes = 0;  // one checkpoint of the tiny model: weights, optimizer state, state.json
    for (const auto& f : QDir(path("train_ckpt")).entryInfoList(QDir::Files)) bytes += f.size();
    QVERIFY(bytes > 0);
    // Room for one checkpoint and a half: epoch 1 fits, epoch 2's cannot until epoch 1's is removed.
    Tmpfs disk(path("full_disk"), (bytes * 3 / 2) / 1024 + 8);
    if (!disk.ok) QSKIP(qPrintable("cannot mount a small tmpfs (needs root): " + disk.why));
    const QStringList common{"train", "--arch", m_config, "--data", m_train, "--limit", "64", "--epochs", "2", "--batch", "32",
                             "--seed", "1", "--checkpoint-dir", disk.dir, "--out", path("full.safetensors")};
    auto r = run_cli(common);
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains("No space left on device") && r.err.contains("epoch-2"), qPrintable(r.err));
    QVERIFY2(r.err.contains("checkpoint of epoch 1"), qPrintable(r.err));
    QVERIFY2(temporaries(disk.dir).isEmpty(), qPrintable(temporaries(disk.dir).join(", ")));
    QVERIFY(!QFileInfo::exists(disk.dir + "/teacher-epoch-2.safetensors") && !QFileInfo::exists(disk.dir + "/optimizer-epoch-2.pt"));
    const auto st = nlohmann::json::parse(read_text(disk.dir + "/state.json"));
    QCOMPARE(st.at("next_epoch").get<int>(), 1);
    QCOMPARE(load_model((disk.dir + "/teacher-epoch-1.safetensors").toStdString()).config.num_classes, 4);
    // Nothing lost: with room again the run continues from epoch 1.
    QVERIFY(disk.resize(bytes * 4 / 1024 + 64));
    r = run_cli(common + QStringList{"--resume"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.err.contains("epoch 2/2") && !r.err.contains("epoch 1/2"));
  }

  // Issue 14, item 7: SIGTERM while a file is being written removes its temporary (exit 143);
  // SIGINT exits 130; a later run removes temporaries whose process is gone, and says so.
  void signalsAndStaleTemporaries() {
    const QString out = path("sig.safetensors");
    QProcess p;
    p.start(QStringLiteral(SWINSCOPE_CLI_PATH), {"distill", "--teacher", m_teacher, "--data", m_train, "--no-kd", "--out", out});
    QVERIFY(p.waitForStarted());
    // The temporary is a FIFO: opening it for writing blocks until someone reads, which holds
    // the writer in the middle of its write for as long as the test needs.
    const QString tmp = out + ".tmp." + QString::number(p.processId());
    QCOMPARE(::mkfifo(tmp.toLocal8Bit().constData(), 0644), 0);
    const QString wchan = QString("/proc/%1/wchan").arg(p.processId());
    bool blocked = false;
    for (int i = 0; i < 1200 && !blocked && p.state() == QProcess::Running; ++i) {
      QFile f(wchan);
      const QByteArray where = f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
      blocked = where.contains("wait_for_partner") || where.contains("fifo");  // in open() of the FIFO
      if (!blocked) QTest::qWait(50);
    }
    if (!blocked) {
      p.kill();
      p.waitForFinished();
      QFile::remove(tmp);
      QSKIP("cannot see the writer blocked on its temporary (/proc/PID/wchan)");
    }
    p.terminate();  // SIGTERM
    QVERIFY(p.waitForFinished());
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 143);
    QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("SIGTERM"));
    QVERIFY(!QFileInfo::exists(tmp));
    QVERIFY(!QFileInfo::exists(out));
    // SIGINT during training: exit 130.
    QProcess q;
    q.start(QStringLiteral(SWINSCOPE_CLI_PATH), {"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "1", "--batch",
                                                 "8", "--epochs-per-block", "5", "--out", out});
    QVERIFY(q.waitForStarted());
    for (int i = 0; i < 600 && !q.readAllStandardError().contains("distill: "); ++i) q.waitForReadyRead(100);
    ::kill(static_cast<pid_t>(q.processId()), SIGINT);
    QVERIFY(q.waitForFinished());
    QCOMPARE(q.exitStatus(), QProcess::NormalExit);
    QCOMPARE(q.exitCode(), 130);
    // Stale temporaries (their process is gone) beside --out and in the checkpoint folder are
    // removed, saying so; one of a live process (this test) and another file's are kept.
    const QString ck = path("ck_stale");
    QDir().mkpath(ck);
    const QString dead = QString::number(dead_pid()), live = QString::number(QCoreApplication::applicationPid());
    const QStringList stale{out + ".tmp." + dead, ck + "/student-block-0.safetensors.tmp." + dead, ck + "/state.json.tmp." + dead};
    const QStringList kept{out + ".tmp." + live, path("other.safetensors.tmp." + dead)};
    for (const auto& f : stale + kept) std::ofstream(f.toStdString()) << "half written";
    const auto r = run_cli({"distill", "--teacher", m_teacher, "--data", m_train, "--no-kd", "--checkpoint-dir", ck, "--out", out});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    for (const auto& f : stale) {
      QVERIFY2(!QFileInfo::exists(f), qPrintable(f));
      QVERIFY2(r.err.contains("removed " + f), qPrintable(r.err));
    }
    for (const auto& f : kept) QVERIFY2(QFileInfo::exists(f), qPrintable(f));
    QVERIFY(QFileInfo::exists(out));
  }

  // Issue 14, item 8: --resume refuses any changed option that changes the result, naming it
  // with both values, and a checkpoint whose fields do not fit the model, naming the file.
  void resumeRefusesChangedOptions_data() {
    QTest::addColumn<QStringList>("change");
    QTest::addColumn<QString>("message");
    QTest::newRow("weight decay") << QStringList{"--weight-decay", "0.1"} << "--weight-decay was 0.05, now 0.1";
    QTest::newRow("label smoothing") << QStringList{"--label-smoothing", "0.2"} << "--label-smoothing was 0.1, now 0.2";
    QTest::newRow("pad") << QStringList{"--pad", "2"} << "--pad was 0, now 2";
    QTest::newRow("min lr") << QStringList{"--min-lr", "1e-4"} << "--min-lr was 1e-05, now 0.0001";
    QTest::newRow("activation") << QStringList{"--activation", "relu"} << "--activation was gelu, now relu";
    QTest::newRow("no flip") << QStringList{"--no-flip"} << "--no-flip was no, now yes";
  }
  void resumeRefusesChangedOptions() {
    QFETCH(QStringList, change);
    QFETCH(QString, message);
    // The options of initTestCase's run, resumed with one of them changed.
    const auto r = run_cli(QStringList{"train", "--arch", m_config, "--data", m_train, "--val", m_val, "--epochs", "12", "--batch",
                                       "32", "--lr", "5e-3", "--warmup", "1", "--seed", "3", "--checkpoint-dir", path("train_ckpt"),
                                       "--resume", "--out", path("changed.safetensors")} +
                           change);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(message) && r.err.contains("state.json"), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(path("changed.safetensors")));
  }

  void resumeChecksTheCheckpoint() {
    const QString ck = path("ck_edit");
    // --no-kd: checkpoints after every block like a KD run, in a fraction of the time.
    const QStringList common{"distill", "--teacher", m_teacher, "--data", m_train, "--no-kd", "--checkpoint-dir", ck, "--out",
                             path("edit.safetensors")};
    auto r = run_cli(common + QStringList{"--stop-after-block", "0"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    // distill: a changed --pad is refused.
    r = run_cli(common + QStringList{"--resume", "--pad", "2"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--pad was 0, now 2"), qPrintable(r.err));
    const std::string good = read_text(ck + "/state.json");
    auto edited = [&](const std::function<void(nlohmann::json&)>& f) {
      auto st = nlohmann::json::parse(good);
      f(st);
      std::ofstream(ck.toStdString() + "/state.json") << st.dump(2);
      return run_cli(common + QStringList{"--resume"});
    };
    r = edited([](nlohmann::json& st) { st["next_block"] = 99; });
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("state.json: next_block is 99, outside 1..4"), qPrintable(r.err));
    r = edited([](nlohmann::json& st) {  // says 3 blocks are done, the weights have 1 converted
      st["next_block"] = 3;
      for (int b = 1; b < 3; ++b) st["log"].push_back(st["log"][0]), st["log"][b]["block"] = b;
    });
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("state.json") && r.err.contains("block 2 of") && r.err.contains("not converted"), qPrintable(r.err));
    r = edited([](nlohmann::json& st) { st["next_block"] = "two"; });
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("state.json: field 'next_block'"), qPrintable(r.err));
    r = edited([](nlohmann::json& st) { st["weights"] = "../teacher.safetensors"; });
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("not a file name inside"), qPrintable(r.err));
    r = edited([](nlohmann::json& st) { st["fingerprint"] = "teacher t.safetensors data d seed 4"; });  // an older format
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("state.json: written by an earlier swinscope-cli"), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(path("edit.safetensors")));
    // train: next_epoch beyond --epochs, and an optimizer state that is not one.
    const QString tk = path("ck_train_edit");
    QDir().mkpath(tk);
    for (const auto& f : QDir(path("train_ckpt")).entryList(QDir::Files)) QVERIFY(QFile::copy(path("train_ckpt/" + f), tk + "/" + f));
    const QStringList train{"train", "--arch", m_config, "--data", m_train, "--val", m_val, "--epochs", "12", "--batch", "32", "--lr",
                            "5e-3", "--warmup", "1", "--seed", "3", "--checkpoint-dir", tk, "--resume", "--out", path("edit_train.safetensors")};
    const std::string train_state = read_text(tk + "/state.json");
    auto st = nlohmann::json::parse(train_state);
    st["next_epoch"] = 13;
    std::ofstream(tk.toStdString() + "/state.json") << st.dump(2);
    r = run_cli(train);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("state.json: next_epoch is 13, outside 1..12"), qPrintable(r.err));
    std::ofstream(tk.toStdString() + "/state.json") << train_state;
    std::ofstream(tk.toStdString() + "/optimizer-epoch-12.pt") << "not a torch archive";
    r = run_cli(train);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("optimizer-epoch-12.pt: not an optimizer state"), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(path("edit_train.safetensors")));
    // The untouched state resumes.
    std::ofstream(ck.toStdString() + "/state.json") << good;
    r = run_cli(common + QStringList{"--resume"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(load_model(path("edit.safetensors").toStdString()).activation_summary(), std::string("relu"));
  }

  // Issue 14, item 9: a block missing one tensor is named, with and without metadata, instead
  // of shortening the stage; tensors that belong to no block are named too.
  void missingBlockTensorIsNamed() {
    const Model t = load_model(m_teacher.toStdString());
    Model m = t;
    m.tensors.erase("layers.0.blocks.1.norm1.weight");
    const QString plain = path("missing_plain.safetensors"), meta = path("missing_meta.safetensors");
    write_plain(m, plain);
    write_plain(m, meta, t.metadata);
    for (const QString& f : {plain, meta}) {
      try {
        load_model(f.toStdString());
        QFAIL("loaded a model with a block tensor missing");
      } catch (const std::exception& e) {
        QVERIFY2(QString(e.what()).contains(f + ": missing tensor 'layers.0.blocks.1.norm1.weight'"), e.what());
      }
    }
    // A block beyond the config's depth, and a stage beyond its stages.
    Model extra = t;
    extra.tensors["layers.0.blocks.2.norm1.weight"] = t.tensors.at("layers.0.blocks.1.norm1.weight");
    extra.tensors["layers.5.downsample.norm.weight"] = t.tensors.at("layers.1.downsample.norm.weight");
    const QString left = path("leftover.safetensors");
    write_plain(extra, left, t.metadata);
    const auto r = run_cli({"info", left});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("2 tensor(s) belong to no block of the model (depths [2, 2])") &&
                 r.err.contains("layers.0.blocks.2.norm1.weight") && r.err.contains("layers.5.downsample.norm.weight"),
             qPrintable(r.err));
    // Without metadata the inference counts 3 blocks in stage 0 and names the first gap.
    extra.tensors.erase("layers.5.downsample.norm.weight");
    write_plain(extra, left);
    try {
      load_model(left.toStdString());
      QFAIL("loaded a model with a partial block");
    } catch (const std::exception& e) {
      QVERIFY2(QString(e.what()).contains("missing tensor 'layers.0.blocks.2."), e.what());
    }
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
