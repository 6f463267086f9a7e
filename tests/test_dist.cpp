// Data-parallel train and distill (issue 17, docs/distributed.md): two Gloo workers on the
// loopback started by `swinscope-cli launch` end a train epoch and distill blocks with the
// same weights as one process on the same global batch (short and unevenly shared last
// batches included); the all-reduce overlapped with backward (--dist-overlap on) gives
// bit-identical weights to the one after it (off); a worker killed by SIGKILL ends the job
// within seconds with a message naming it, with the launcher and without it; a hung worker is
// given up after --dist-timeout; the 2-worker run resumes with 1 process and ends where an uninterrupted run
// does; a global batch that does not divide, and NCCL on this CPU-only libtorch, are refused.
#include <QtTest>

#include <QDir>
#include <QElapsedTimer>
#include <QRegularExpression>
#include <QTemporaryDir>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "engine/model.h"
#include "idx_writer.h"

using namespace swinscope;

namespace {

// The largest over tensors of max|a − b| / max|a|: rounding differences from summing a batch
// in two halves are ~1e-7 of a tensor's scale.
//
// Left out: the key third of every attn.qkv.bias. Softmax is invariant to a constant added to
// every key's score, so that bias's exact gradient is 0; what backward computes there is
// rounding noise (~1e-10), and AdamW's normalization turns the noise into steps of ±lr. Two
// single-process runs with 1 and 2 threads differ there by 4e-4 of the tensor's scale, as
// much as 1 vs 2 workers do; SGD (distill) does not amplify it and is compared whole.
double max_relative_difference(const Model& a, const Model& b, std::string* where, bool skip_key_bias = false) {
  if (a.tensors.size() != b.tensors.size()) {
    *where = "tensor count";
    return INFINITY;
  }
  double worst = 0;
  for (const auto& [name, t] : a.tensors) {
    const auto* o = b.find(name);
    if (!o || o->data.size() != t.data.size()) {
      *where = name;
      return INFINITY;
    }
    double diff = 0, scale = 0;
    const bool key_bias = skip_key_bias && name.size() > 13 && name.compare(name.size() - 13, 13, "attn.qkv.bias") == 0;
    const std::size_t third = t.data.size() / 3;
    for (std::size_t i = 0; i < t.data.size(); ++i) {
      if (key_bias && i >= third && i < 2 * third) continue;
      diff = std::max(diff, std::abs(static_cast<double>(t.data[i]) - o->data[i]));
      scale = std::max(scale, std::abs(static_cast<double>(t.data[i])));
    }
    const double rel = scale > 0 ? diff / scale : diff;
    if (rel > worst) {
      worst = rel;
      *where = name;
    }
  }
  return worst;
}

// run_cli with extra environment variables.
CliResult run_cli_env(const QStringList& args, const QStringList& env) {
  QProcess p;
  auto e = QProcessEnvironment::systemEnvironment();
  for (const auto& kv : env) e.insert(kv.section('=', 0, 0), kv.section('=', 1));
  p.setProcessEnvironment(e);
  p.start(QStringLiteral(SWINSCOPE_CLI_PATH), args);
  if (!p.waitForFinished(300000)) {
    p.kill();
    p.waitForFinished();
    return {};
  }
  return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}

// A TCP port free now on the loopback (the kernel's pick for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  return ok ? ntohs(a.sin_port) : 0;
}

nlohmann::json read_state(const QString& dir) {
  std::ifstream in((dir + "/state.json").toStdString());
  return nlohmann::json::parse(in);
}

}  // namespace

class TestDist : public QObject {
  Q_OBJECT

  QTemporaryDir m_dir;
  QString m_train, m_val, m_teacher, m_config;

  QString path(const QString& name) const { return m_dir.filePath(name); }

  // `launch --nproc-per-node 2 -- args`; skips the test where the build has no c10d.
  CliResult launch2(const QStringList& args, const QStringList& env = {}) {
    return run_cli_env(QStringList{"launch", "--nproc-per-node", "2", "--"} + args, env);
  }

  void compareWeights(const QString& one, const QString& two, bool skip_key_bias = false) {
    std::string where;
    const double d = max_relative_difference(load_model(one.toStdString()), load_model(two.toStdString()), &where, skip_key_bias);
    qInfo("%s vs %s: max relative difference %.3g (%s)", qPrintable(QFileInfo(one).fileName()),
          qPrintable(QFileInfo(two).fileName()), d, where.c_str());
    QVERIFY2(d <= 1e-5, where.c_str());
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    const auto probe = run_cli({"launch", "--nproc-per-node", "1", "--", "train", "--help"});
    if (probe.err.contains("no distributed path")) QSKIP("this swinscope-cli was built without Gloo (libgloo-dev)");
    QVERIFY2(probe.code == 0, qPrintable(probe.err));
    const TinyTrainFiles f = write_tiny_train_fixture(m_dir.path().toStdString());
    m_train = QString::fromStdString(f.train_images);
    m_val = QString::fromStdString(f.val_dir);  // a folder holding one IDX set
    m_config = QString::fromStdString(f.config);
    m_teacher = path("teacher.safetensors");
    const auto r = run_cli({"train", "--arch", m_config, "--data", m_train, "--epochs", "4", "--batch", "32", "--lr", "5e-3",
                            "--warmup", "1", "--seed", "3", "--threads", "1", "--out", m_teacher});
    QVERIFY2(r.code == 0, qPrintable(r.err));
  }

  void helpNamesTheEnvironment() {
    const auto r = run_cli({"launch", "--help"});
    QCOMPARE(r.code, 0);
    QVERIFY(r.out.contains("--nproc-per-node") && r.out.contains("MASTER_PORT") && r.out.contains("RANK"));
    QVERIFY(run_cli({"--help"}).out.contains("launch"));
    QVERIFY(run_cli({"distill", "--help"}).out.contains("--dist-timeout"));
    QCOMPARE(run_cli({"launch", "--nproc-per-node", "2", "--", "info"}).code, 2);  // only train and distill
    QCOMPARE(run_cli({"launch", "--nproc-per-node", "2"}).code, 2);
  }

  // 241 images in global batches of 32: the last global batch has 17, shared 8 / 9.
  // AdamW moves every weight by about ±lr per step whatever the gradient's size, so where a
  // gradient is a near-cancelling sum the summation order shows in the weights in proportion
  // to lr: at --lr 5e-3 / 1e-3 / 5e-4 the worst element differed by 4.7e-5 / 1.0e-5 / 6.4e-6 of its
  // tensor's scale; 1 vs 2 threads in one process differ as much (9.5e-6 at 1e-3, 6.4e-6 at 5e-4).
  // SGD (distill) shows 4e-7.
  void trainEpochEqualsOneProcess() {
    const QStringList common{"train", "--arch", m_config, "--data", m_train, "--val", m_val, "--limit", "241", "--epochs", "1",
                             "--batch", "32", "--lr", "5e-4", "--warmup", "0.5", "--seed", "4", "--threads", "1"};
    auto one = run_cli(common + QStringList{"--checkpoint-dir", path("tr1"), "--out", path("train1.safetensors")});
    QVERIFY2(one.code == 0, qPrintable(one.err));
    auto two = launch2(common + QStringList{"--checkpoint-dir", path("tr2"), "--out", path("train2.safetensors")});
    QVERIFY2(two.code == 0, qPrintable(two.err));
    QVERIFY2(two.err.contains("2 data-parallel workers") && two.err.contains("gradient all-reduce"), qPrintable(two.err));
    QCOMPARE(two.err.count("epoch 1/1"), 1);  // rank 0 alone logs
    QCOMPARE(two.out.count("wrote "), 1);
    compareWeights(path("train1.safetensors"), path("train2.safetensors"), true);
    compareWeights(path("tr1/teacher-epoch-1.safetensors"), path("tr2/teacher-epoch-1.safetensors"), true);
    // For scale: one process with 2 threads instead of 1 (another summation order).
    auto t2 = run_cli(common.mid(0, common.size() - 1) + QStringList{"2", "--out", path("train1t2.safetensors")});
    QVERIFY2(t2.code == 0, qPrintable(t2.err));
    std::string where;
    const double floor = max_relative_difference(load_model(path("train1.safetensors").toStdString()),
                                                 load_model(path("train1t2.safetensors").toStdString()), &where, true);
    qInfo("for scale, 1 process with 1 vs 2 threads: %.3g (%s)", floor, where.c_str());
    // The logged figures are global: loss and accuracy over the whole epoch, validation on all 64.
    const auto a = read_state(path("tr1")).at("log"), b = read_state(path("tr2")).at("log");
    QCOMPARE(a.size(), b.size());
    for (std::size_t e = 0; e < a.size(); ++e) {
      QVERIFY(std::abs(a[e].at("loss").get<double>() - b[e].at("loss").get<double>()) < 1e-5);
      QCOMPARE(a[e].at("train_acc").get<double>(), b[e].at("train_acc").get<double>());
      QCOMPARE(a[e].at("val_top1").get<double>(), b[e].at("val_top1").get<double>());
    }
  }

  // --fraction 0.45 of 256: 115 images per block in batches of 16, the last of 3 (shared 1 / 2).
  void distillEqualsOneProcess() {
    const QStringList common{"distill", "--teacher", m_teacher, "--data", m_train, "--val", m_val, "--fraction", "0.45",
                             "--batch", "16", "--seed", "6", "--threads", "1", "--stop-after-block", "1"};
    auto one = run_cli(common + QStringList{"--checkpoint-dir", path("d1"), "--out", path("d1.safetensors")});
    QVERIFY2(one.code == 0, qPrintable(one.err));
    auto two = launch2(common + QStringList{"--checkpoint-dir", path("d2"), "--out", path("d2.safetensors")});
    QVERIFY2(two.code == 0, qPrintable(two.err));
    QCOMPARE(two.err.count("block 2/4"), 1);
    compareWeights(path("d1/student-block-1.safetensors"), path("d2/student-block-1.safetensors"));
    const auto a = read_state(path("d1")).at("log"), b = read_state(path("d2")).at("log");
    for (std::size_t k = 0; k < a.size(); ++k) {
      QVERIFY(std::abs(a[k].at("kd_loss_mean").get<double>() - b[k].at("kd_loss_mean").get<double>()) < 1e-5);
      QCOMPARE(a[k].at("val_top1").get<double>(), b[k].at("val_top1").get<double>());
    }
    // The frozen FC1 biases stay absent, the converted blocks ReLU.
    const Model s = load_model(path("d2/student-block-1.safetensors").toStdString());
    QVERIFY(!s.has_fc1_bias(0) && !s.has_fc1_bias(1) && s.has_fc1_bias(2));
    QCOMPARE(s.activations[1], Activation::ReLU);
    QCOMPARE(s.activations[2], Activation::GELU);
  }

  // --dist-overlap on (each bucket's all-reduce started from the gradient hooks during
  // backward) and off (after backward) give bit-identical weights: same buckets, same order.
  // --fraction 0.44 of 256: 113 images per block in batches of 16, the last of 1, so rank 0
  // has an empty share (no backward: its buckets start after it) while rank 1's start in hooks.
  // Once with the model's one bucket, once with 8 KiB buckets (test hook
  // SWINSCOPE_DIST_BUCKET_BYTES), where gradients complete buckets out of order too.
  void distillOverlapOnEqualsOff() {
    const QStringList common{"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.44", "--batch", "16",
                             "--seed", "9", "--threads", "1", "--stop-after-block", "1"};
    const QRegularExpression stats("in (\\d+) buckets?; (\\d+) of (\\d+) bucket all-reduces started during backward");
    const QString ref = path("ov-on-25MiB/student-block-1.safetensors");
    for (const QString& cap : {QString("25MiB"), QString("8192")}) {
      for (const QString& mode : {QString("on"), QString("off")}) {
        const QString dir = path("ov-" + mode + "-" + cap);
        const QStringList env = cap == "25MiB" ? QStringList{} : QStringList{"SWINSCOPE_DIST_BUCKET_BYTES=" + cap};
        const auto r = launch2(common + QStringList{"--dist-overlap", mode, "--checkpoint-dir", dir, "--out", dir + ".safetensors"}, env);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto m = stats.match(r.err);
        QVERIFY2(m.hasMatch(), qPrintable(r.err));
        qInfo("overlap %s, bucket cap %s: %s", qPrintable(mode), qPrintable(cap), qPrintable(m.captured(0)));
        const int buckets = m.captured(1).toInt(), early = m.captured(2).toInt(), total = m.captured(3).toInt();
        QCOMPARE(total, 16 * buckets);  // 2 blocks of 8 steps
        QVERIFY(cap == "25MiB" ? buckets == 1 : buckets > 4);
        // On: every bucket of the 14 steps where rank 0 ran backward; the last step of each
        // block (rank 0's share empty) after backward. Off: none.
        QCOMPARE(early, mode == "on" ? 14 * buckets : 0);
        const Model a = load_model(ref.toStdString()), b = load_model((dir + "/student-block-1.safetensors").toStdString());
        QCOMPARE(a.tensors.size(), b.tensors.size());
        for (const auto& [name, t] : a.tensors) {
          const auto* o = b.find(name);
          QVERIFY2(o && o->data == t.data, name.c_str());  // bit for bit
        }
        const auto la = read_state(path("ov-on-25MiB")).at("log"), lb = read_state(dir).at("log");
        QCOMPARE(la.size(), lb.size());
        for (std::size_t k = 0; k < la.size(); ++k)
          QCOMPARE(la[k].at("kd_loss_mean").get<double>(), lb[k].at("kd_loss_mean").get<double>());
      }
    }
    QCOMPARE(launch2(common + QStringList{"--dist-overlap", "maybe", "--out", path("x.safetensors")}).code, 2);
  }

  void refusals() {
    auto r = launch2({"distill", "--teacher", m_teacher, "--data", m_train, "--batch", "15", "--out", path("x.safetensors")});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("does not divide by the 2 workers") && r.err.contains("rank "), qPrintable(r.err));
    r = launch2({"distill", "--teacher", m_teacher, "--data", m_train, "--dist-backend", "nccl", "--out", path("x.safetensors")});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("nccl") && r.err.contains("gloo"), qPrintable(r.err));
    // WORLD_SIZE without a rendezvous address.
    r = run_cli_env({"distill", "--teacher", m_teacher, "--data", m_train, "--out", path("x.safetensors")},
                    {"WORLD_SIZE=2", "RANK=0", "MASTER_ADDR="});
    QVERIFY(r.code != 0);
    QVERIFY2(r.err.contains("MASTER_ADDR"), qPrintable(r.err));
  }

  // Rank 1 raises SIGKILL on itself (test hook SWINSCOPE_TEST_KILL=RANK:STEP) in the middle of
  // block 2; the job ends soon with rank 1 named, block 1's checkpoint intact. One process
  // resumes it and ends with the weights of an uninterrupted single-process run.
  void killedWorkerEndsTheJobAndOneProcessResumes() {
    const QStringList common{"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.45", "--batch", "16",
                             "--seed", "8", "--threads", "1", "--dist-timeout", "30"};
    QElapsedTimer clock;
    clock.start();
    // 8 steps per block: the 11th all-reduce is in block 2.
    auto r = launch2(common + QStringList{"--checkpoint-dir", path("k2"), "--out", path("k.safetensors")},
                     {"SWINSCOPE_TEST_KILL=1:11"});
    const double seconds = static_cast<double>(clock.elapsed()) / 1000.0;
    qInfo("killed job: exit %d after %.1f s", r.code, seconds);
    QVERIFY2(r.code != 0 && r.code != -1, qPrintable(r.err));
    QVERIFY(seconds < 60);
    QVERIFY2(r.err.contains("rank 1") && r.err.contains("SIGKILL"), qPrintable(r.err));
    QVERIFY(!QFileInfo::exists(path("k.safetensors")));
    QCOMPARE(read_state(path("k2")).at("next_block").get<int>(), 1);
    // Resumed by one process, to the end.
    r = run_cli(common + QStringList{"--checkpoint-dir", path("k2"), "--resume", "--out", path("k.safetensors")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(!r.err.contains("block 1/4") && r.err.contains("block 4/4"));
    r = run_cli(common + QStringList{"--out", path("k_ref.safetensors")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    compareWeights(path("k_ref.safetensors"), path("k.safetensors"));
  }

  // Without the launcher (as under torchrun, whose agent may be slow to react): the workers
  // started by hand with torchrun's variables; rank 1 dies by SIGKILL, and rank 0 stops by
  // itself with a message naming the failed all-reduce instead of hanging.
  void survivorStopsWithoutTheLauncher() {
    const int port = free_port();
    QVERIFY(port > 0);
    QProcess ranks[2];
    QElapsedTimer clock;
    clock.start();
    for (int r = 0; r < 2; ++r) {
      auto e = QProcessEnvironment::systemEnvironment();
      e.insert("RANK", QString::number(r));
      e.insert("LOCAL_RANK", QString::number(r));
      e.insert("WORLD_SIZE", "2");
      e.insert("MASTER_ADDR", "127.0.0.1");
      e.insert("MASTER_PORT", QString::number(port));
      e.insert("SWINSCOPE_TEST_KILL", "1:3");
      ranks[r].setProcessEnvironment(e);
      ranks[r].start(QStringLiteral(SWINSCOPE_CLI_PATH),
                     {"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.45", "--batch", "16", "--threads",
                      "1", "--dist-timeout", "20", "--out", path("manual.safetensors")});
    }
    for (auto& p : ranks) QVERIFY(p.waitForFinished(90000));
    const double seconds = static_cast<double>(clock.elapsed()) / 1000.0;
    const QString err = QString::fromUtf8(ranks[0].readAllStandardError());
    qInfo("rank 0 stopped after %.1f s: %s", seconds, qPrintable(err.trimmed().section('\n', -1)));
    QCOMPARE(ranks[1].exitStatus(), QProcess::CrashExit);  // SIGKILL
    QCOMPARE(ranks[0].exitStatus(), QProcess::NormalExit);
    QCOMPARE(ranks[0].exitCode(), 1);
    QVERIFY2(err.contains("rank 0/2") && err.contains("all-reduce failed"), qPrintable(err));
    QVERIFY(seconds < 60);
  }

  // A worker that hangs (SIGSTOP: its connections stay open) is detected by --dist-timeout alone.
  void hungWorkerIsGivenUpAfterTheTimeout() {
    QElapsedTimer clock;
    clock.start();
    const auto r = launch2({"distill", "--teacher", m_teacher, "--data", m_train, "--fraction", "0.45", "--batch", "16",
                            "--threads", "1", "--dist-timeout", "3", "--out", path("hung.safetensors")},
                           {"SWINSCOPE_TEST_KILL=1:3:stop"});
    const double seconds = static_cast<double>(clock.elapsed()) / 1000.0;
    qInfo("hung worker: exit %d after %.1f s", r.code, seconds);
    QVERIFY2(r.code != 0 && r.code != -1, qPrintable(r.err));
    QVERIFY2(r.err.contains("rank 0/2") && r.err.contains("--dist-timeout 3 s"), qPrintable(r.err));
    QVERIFY2(r.err.contains("launch: rank 0"), qPrintable(r.err));
    QVERIFY(seconds < 60);
  }
};

QTEST_GUILESS_MAIN(TestDist)
#include "test_dist.moc"
