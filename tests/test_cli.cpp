// swinscope-cli end to end: exit codes, messages, JSON shapes, skipped images.
#include <QtTest>

#include <limits>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include "tests/cli_runner.h"
#include "engine/model.h"
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

namespace {

const QString kSrc = QStringLiteral(SWINSCOPE_SOURCE_DIR);


// A tiny 3-class RGB model (img 32) made with `init` from a JSON config.
QString make_tiny_model(const QTemporaryDir& dir, const QString& activation) {
  const QString cfg = dir.filePath("tiny.json");
  QFile f(cfg);
  f.open(QIODevice::WriteOnly);
  f.write(R"({"name":"tiny","img_size":32,"patch_size":4,"in_chans":3,"num_classes":3,"embed_dim":16,
              "depths":[2,2],"num_heads":[1,2],"window_size":4,"mlp_ratio":2})");
  f.close();
  const QString out = dir.filePath("tiny_" + activation + ".safetensors");
  const auto r = run_cli({"init", "--arch", cfg, "--activation", activation, "--seed", "3", "--out", out});
  if (r.code != 0) qWarning("%s", qPrintable(r.err));
  return out;
}

}  // namespace

class TestCli : public QObject {
  Q_OBJECT
 private slots:
  void help_lists_commands() {
    const auto r = run_cli({"--help"});
    QCOMPARE(r.code, 0);
    for (const char* c : {"info", "init", "classify", "eval", "bench"}) QVERIFY2(r.out.contains(c), c);
    const auto e = run_cli({"eval", "--help"});
    QCOMPARE(e.code, 0);
    QVERIFY(e.out.contains("--labels"));
  }

  void bad_arguments_exit_2() {
    QCOMPARE(run_cli({"no-such-command"}).code, 2);
    const auto r = run_cli({"classify", "--model"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("needs a value"), qPrintable(r.err));
    const auto u = run_cli({"info", "--frobnicate", "x"});
    QCOMPARE(u.code, 2);
    QVERIFY(u.err.contains("--frobnicate"));
  }

  void bad_model_file_is_refused_with_reason() {
    QTemporaryDir dir;
    const QString bad = dir.filePath("bad.safetensors");
    QFile f(bad);
    f.open(QIODevice::WriteOnly);
    f.write("this is not a model");
    f.close();
    const auto r = run_cli({"info", bad});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(bad), qPrintable(r.err));
    const auto missing = run_cli({"info", dir.filePath("nope.safetensors")});
    QCOMPARE(missing.code, 2);
    QVERIFY2(missing.err.contains("nope.safetensors"), qPrintable(missing.err));
  }

  void info_reports_inferred_values() {
    const auto r = run_cli({"info", kSrc + "/tests/golden/models/tiny3.hf.safetensors", "--img-size", "32", "--json"});
    QCOMPARE(r.code, 0);
    const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(j["layout"].toString(), QString("huggingface"));
    QCOMPARE(j["config"].toObject()["window_size"].toInt(), 4);
    QCOMPARE(j["config"].toObject()["depths"].toArray().size(), 3);
    QVERIFY(!j["inferred"].toArray().isEmpty());
  }

  void init_then_info_shows_relu_without_fc1_bias() {
    QTemporaryDir dir;
    const QString m = make_tiny_model(dir, "relu");
    const auto r = run_cli({"info", m});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("activation:    relu"), qPrintable(r.out));
    QVERIFY(r.out.contains("(no fc1 bias)"));
    QVERIFY(!QFile::exists(m + ".tmp"));
  }

  void classify_json_and_skips_bad_images() {
    QTemporaryDir dir;
    const QString m = make_tiny_model(dir, "gelu");
    const QString pre = kSrc + "/tests/golden/preprocess/";
    const auto r = run_cli({"classify", "--model", m, "--topk", "2", "--json", pre + "photo.jpg", pre + "gray.png", pre + "rgba.png",
                        kSrc + "/tests/data/bad_images/truncated.jpg"});
    QCOMPARE(r.code, 0);
    const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    const auto images = j["images"].toArray();
    QCOMPARE(images.size(), 3);
    for (const auto& im : images) {
      const auto top = im.toObject()["top"].toArray();
      QCOMPARE(top.size(), 2);
      const double p0 = top[0].toObject()["probability"].toDouble(), p1 = top[1].toObject()["probability"].toDouble();
      QVERIFY(p0 >= p1 && p0 <= 1.0 && p1 >= 0.0);
      QVERIFY(top[0].toObject()["logit"].toDouble() >= top[1].toObject()["logit"].toDouble());
      QVERIFY(top[0].toObject()["name"].toString().startsWith("class_"));
    }
    const auto skipped = j["skipped"].toArray();
    QCOMPARE(skipped.size(), 1);
    QVERIFY(skipped[0].toObject()["reason"].toString().contains("truncated.jpg"));
  }

  void eval_imagefolder_counts_and_skips() {
    QTemporaryDir dir;
    const QString m = make_tiny_model(dir, "gelu");
    const QString pre = kSrc + "/tests/golden/preprocess/";
    const QString data = dir.filePath("data");
    const QStringList classes{"a_cat", "b_dog", "c_eel"};
    for (const auto& c : classes) QDir().mkpath(data + "/" + c);
    QFile::copy(pre + "photo.jpg", data + "/a_cat/1.jpg");
    QFile::copy(pre + "default.jpg", data + "/a_cat/2.jpg");
    QFile::copy(pre + "gray.png", data + "/b_dog/1.png");
    QFile::copy(pre + "rgba.png", data + "/c_eel/1.png");
    QFile::copy(kSrc + "/tests/data/bad_images/not_an_image.jpg", data + "/c_eel/broken.jpg");
    QFile::copy(kSrc + "/tests/data/bad_images/empty.jpg", data + "/b_dog/empty.jpg");
    const QString json = dir.filePath("eval.json");
    const auto r = run_cli({"eval", "--model", m, "--data", data, "--batch", "2", "--json", json});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("evaluated: 4 images"), qPrintable(r.out));
    QVERIFY(r.out.contains("skipped:   2"));
    QFile jf(json);
    QVERIFY(jf.open(QIODevice::ReadOnly));
    const auto j = QJsonDocument::fromJson(jf.readAll()).object();
    QCOMPARE(j["evaluated"].toInt(), 4);
    QCOMPARE(j["skipped"].toArray().size(), 2);
    const double top1 = j["top1"].toDouble();
    QVERIFY(top1 >= 0.0 && top1 <= 1.0);
    QCOMPARE(j["top5"].toDouble(), 1.0);  // 3 classes: the label is always in the top 5

    // --limit stops early; a flat folder with a labels file naming a missing image is refused.
    const auto lim = run_cli({"eval", "--model", m, "--data", data, "--limit", "2"});
    QVERIFY2(lim.out.contains("evaluated: 2 images"), qPrintable(lim.out));
    QFile lf(dir.filePath("labels.txt"));
    lf.open(QIODevice::WriteOnly);
    lf.write("a_cat/1.jpg 0\nmissing.png 1\n");
    lf.close();
    const auto bad = run_cli({"eval", "--model", m, "--data", data, "--labels", dir.filePath("labels.txt")});
    QCOMPARE(bad.code, 2);
    QVERIFY2(bad.err.contains("missing.png"), qPrintable(bad.err));
  }

  void eval_empty_folder_is_clear_error() {
    QTemporaryDir dir;
    const QString m = make_tiny_model(dir, "gelu");
    QDir().mkpath(dir.filePath("empty"));
    const auto r = run_cli({"eval", "--model", m, "--data", dir.filePath("empty")});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("no class folders"), qPrintable(r.err));
  }

  void quantize_then_run_int8_both_variants() {
    QTemporaryDir dir;
    const QString pre = kSrc + "/tests/golden/preprocess/";
    const QString calib = dir.filePath("calib");
    for (const char* c : {"a", "b", "c"}) QDir().mkpath(calib + "/" + c);
    QFile::copy(pre + "photo.jpg", calib + "/a/1.jpg");
    QFile::copy(pre + "default.jpg", calib + "/b/1.jpg");
    QFile::copy(pre + "rgba.png", calib + "/c/1.png");
    for (const QString act : {"gelu", "relu"}) {
      const QString fp32 = make_tiny_model(dir, act);
      const QString int8 = dir.filePath(act + ".int8.safetensors");
      auto r = run_cli({"quantize", "--model", fp32, "--calib", calib, "--images", "3", "--out", int8});
      QVERIFY2(r.code == 0, qPrintable(r.err));
      r = run_cli({"info", int8, "--json"});
      QCOMPARE(r.code, 0);
      const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
      QCOMPARE(j["precision"].toString(), QString("int8"));
      QVERIFY(j["metadata"].toObject().contains("swinscope.calibration"));
      // The default variant follows the file: int8-gelu for GELU, int8-relu for GELU-less.
      r = run_cli({"profile", "--model", int8, "--batch", "1", "--runs", "2", "--warmup", "0", "--json"});
      QVERIFY2(r.code == 0, qPrintable(r.err));
      const auto p = QJsonDocument::fromJson(r.out.toUtf8()).object();
      QCOMPARE(p["context"].toObject()["variant"].toString(), "int8-" + act);
      QStringList kinds;
      for (const auto& k : p["kinds"].toArray()) kinds << k.toObject()["kind"].toString();
      // The fused op the paper removes exists only in the GELU model.
      QCOMPARE(kinds.contains("fc1_bias_gelu_quant"), act == "gelu");
      QVERIFY(kinds.contains("qkv_bias_quant") && kinds.contains("fc2_bias_residual"));
      r = run_cli({"classify", "--model", int8, "--json", pre + "photo.jpg"});
      QCOMPARE(r.code, 0);
      QCOMPARE(QJsonDocument::fromJson(r.out.toUtf8()).object()["images"].toArray().size(), 1);
      // An int8 file has no float weights to run in FP32.
      r = run_cli({"classify", "--model", int8, "--variant", "fp32", pre + "photo.jpg"});
      QCOMPARE(r.code, 2);
    }
  }

  void backend_fallback_notice_is_visible() {
    QTemporaryDir dir;
    const QString m = make_tiny_model(dir, "gelu");
    const auto r = run_cli({"bench", "--model", m, "--batch", "2", "--runs", "1", "--warmup", "0", "--json"});
    QCOMPARE(r.code, 0);
    const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QVERIFY(j["median_ms"].toDouble() > 0);
    if (j["backend"].toString() == "cpu") QVERIFY2(r.err.contains("note:"), qPrintable(r.err));
  }

  // Issue 14, items 2, 10 and 12: a symlink loop is entered once and noted, a dangling symlink
  // is skipped and counted with its reason, and `--topk IMG` is --topk's error.
  void symlink_loops_and_dangling_links() {
    QTemporaryDir dir;
    const QString m = kSrc + "/assets/models/fmnist_swin_relu.int8.safetensors";
    const QString root = dir.filePath("set");
    for (const char* c : {"Pullover", "Trouser"}) QVERIFY(QDir().mkpath(root + "/" + c));  // the model's class names
    QVERIFY(QFile::copy(kSrc + "/assets/samples/2_Pullover/t10k-00001.png", root + "/Pullover/a.png"));
    QVERIFY(QFile::copy(kSrc + "/assets/samples/1_Trouser/t10k-00002.png", root + "/Trouser/b.png"));
    QVERIFY(QFile::link("..", root + "/Trouser/loop"));
    QVERIFY(QFile::link(dir.filePath("gone.png"), root + "/Trouser/dangling.png"));
    auto r = run_cli({"classify", "--model", m, "--topk", "1", "--json", root});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("loop: leads to a folder already listed"), qPrintable(r.err));
    QVERIFY2((r.out + r.err).contains("dangling.png"), qPrintable(r.out + r.err));  // listed as skipped, with its reason
    const QString json = dir.filePath("eval.json");
    r = run_cli({"eval", "--model", m, "--data", root, "--json", json});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QFile f(json);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const auto j = QJsonDocument::fromJson(f.readAll()).object();
    QVERIFY2(QJsonDocument(j).toJson().contains("dangling.png"), qPrintable(QJsonDocument(j).toJson()));
    r = run_cli({"classify", "--model", m, "--topk", root + "/Trouser/b.png"});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--topk expects a whole number"), qPrintable(r.err));
  }

  // Issue 14, item 10: a dangling symlink of any name is skipped and counted with its reason;
  // each bad file gives one line naming it (no multi-line OpenCV text), and libpng prints nothing.
  void bad_inputs_are_counted_on_one_line() {
    QTemporaryDir dir;
    const QString m = kSrc + "/assets/models/fmnist_swin_relu.int8.safetensors";
    const QString cls = dir.filePath("set/Trouser");
    QVERIFY(QDir().mkpath(cls));
    QVERIFY(QFile::copy(kSrc + "/assets/samples/1_Trouser/t10k-00002.png", cls + "/good.png"));
    QVERIFY(QFile::link(dir.filePath("gone"), cls + "/notes"));  // dangling, no image extension
    QFile png(kSrc + "/assets/samples/1_Trouser/t10k-00002.png");
    QVERIFY(png.open(QIODevice::ReadOnly));
    const QByteArray bytes = png.readAll();
    const auto write = [&](const QString& name, const QByteArray& data) {
      QFile f(cls + "/" + name);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write(data);
    };
    write("cut.png", bytes.left(bytes.size() / 2));
    QByteArray crc = bytes;
    crc[29] = static_cast<char>(crc[29] ^ 1);
    write("crc.png", crc);
    write("huge.pgm", QByteArray("P5\n40000 40000\n255\n") + QByteArray(64, '\x80'));
    write("short.pgm", QByteArray("P5\n4 4\n255\nab"));  // OpenCV itself prints "imdecode_(''): can't read data: ..."
    const QStringList bad{"notes", "cut.png", "crc.png", "huge.pgm", "short.pgm"};

    auto r = run_cli({"classify", "--model", m, "--topk", "1", "--json", dir.filePath("set")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(!r.err.contains("libpng") && !r.err.contains("imdecode_"), qPrintable(r.err));
    const auto skipped = QJsonDocument::fromJson(r.out.toUtf8()).object()["skipped"].toArray();
    QCOMPARE(skipped.size(), bad.size());
    for (const auto& s : skipped) {
      const QString reason = s.toObject()["reason"].toString();
      QVERIFY2(!reason.contains('\n') && !reason.endsWith(' '), qPrintable(reason));
      QVERIFY2(reason.startsWith(s.toObject()["path"].toString() + ": "), qPrintable(reason));
    }
    QVERIFY2(QJsonDocument(skipped).toJson().contains("dangling symlink"), qPrintable(QJsonDocument(skipped).toJson()));

    r = run_cli({"eval", "--model", m, "--data", dir.filePath("set")});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(!r.err.contains("libpng") && !r.err.contains("imdecode_"), qPrintable(r.err));
    QVERIFY2(r.out.contains("evaluated: 1 images"), qPrintable(r.out));
    QVERIFY2(r.out.contains("skipped:   5"), qPrintable(r.out));
    for (const auto& b : bad) {
      const auto lines = r.out.split('\n').filter(cls + "/" + b + ": ");
      QVERIFY2(lines.size() == 1, qPrintable(b + " in:\n" + r.out));
    }
  }

  // Issue 14, item 11: `eval --json OUT` on a full disk names OUT and says why.
  void eval_json_to_a_full_disk_names_the_file() {
    QTemporaryDir dir;
    const QString mnt = dir.filePath("full");
    QVERIFY(QDir().mkpath(mnt));
    if (QProcess::execute("mount", {"-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt}) != 0)
      QSKIP("cannot mount a 64k tmpfs here (needs root)");
    struct Unmount {
      QString dir;
      ~Unmount() { QProcess::execute("umount", {dir}); }
    } unmount{mnt};
    {
      QFile filler(mnt + "/filler");
      QVERIFY(filler.open(QIODevice::WriteOnly));
      const QByteArray block(4096, 'x');
      while (filler.write(block) == block.size() && filler.flush()) {
      }
    }
    const QString cls = dir.filePath("set/Trouser");
    QVERIFY(QDir().mkpath(cls));
    QVERIFY(QFile::copy(kSrc + "/assets/samples/1_Trouser/t10k-00002.png", cls + "/good.png"));
    const QString out = mnt + "/eval.json";
    const auto r = run_cli({"eval", "--model", kSrc + "/assets/models/fmnist_swin_relu.int8.safetensors", "--data",
                            dir.filePath("set"), "--json", out});
    QCOMPARE(r.code, 1);
    QVERIFY2(r.err.contains(out) && r.err.contains("No space left on device"), qPrintable(r.err));
    QVERIFY(!QFile::exists(out));
    QCOMPARE(QDir(mnt).entryList(QDir::Files).size(), 1);  // no temporary left beside the filler
  }

  // Issue 14, items 1 and 4: non-finite weights are refused at load naming the tensor, and
  // train refuses a zero std or a NaN mean before training.
  void non_finite_weights_and_preprocessing_are_refused() {
    QTemporaryDir dir;
    const QString good = make_tiny_model(dir, "gelu");
    swinscope::Model m = swinscope::load_model(good.toStdString());
    m.tensors.at("head.fc.weight").data[3] = std::numeric_limits<float>::quiet_NaN();
    const QString bad = dir.filePath("nan.safetensors");
    swinscope::save_model(m, bad.toStdString());
    for (const QStringList& cmd : {QStringList{"info", bad}, QStringList{"classify", "--model", bad, kSrc + "/tests/golden/preprocess/photo.jpg"}}) {
      const auto r = run_cli(cmd);
      QCOMPARE(r.code, 2);
      QVERIFY2(r.err.contains("tensor 'head.fc.weight' holds a non-finite value (NaN at element 3)"), qPrintable(r.err));
    }
    // Item 11: a bad preprocess block is reported with the file's name.
    swinscope::Model p = swinscope::load_model(good.toStdString());
    p.preprocess.resize = 0;
    const QString badpre = dir.filePath("resize0.safetensors");
    swinscope::save_model(p, badpre.toStdString());
    const auto rp = run_cli({"info", badpre});
    QCOMPARE(rp.code, 2);
    QVERIFY2(rp.err.contains(badpre + ": metadata swinscope.preprocess: ") && rp.err.contains("resize"), qPrintable(rp.err));
    for (const QStringList& opt : {QStringList{"--std", "0"}, QStringList{"--mean", "nan"}}) {
      auto args = QStringList{"train", "--arch", kSrc + "/assets/fmnist_swin.json", "--data", dir.path(), "--out", dir.filePath("t.safetensors")};
      args += opt;
      const auto r = run_cli(args);
      if (r.err.contains("libtorch")) QSKIP("built without libtorch");
      QCOMPARE(r.code, 2);
      QVERIFY2(r.err.contains(opt[0] + ":"), qPrintable(r.err));
      QVERIFY2(r.err.contains("not a finite"), qPrintable(r.err));
    }
  }

  // Issue 14, items 5 and 6: an output that is an input (by inode, not spelling), a folder, or
  // in a missing folder is refused before any work; --force allows replacing an input.
  void outputs_are_checked_before_the_work() {
    QTemporaryDir dir;
    const QString m = make_tiny_model(dir, "gelu");
    const QString same = dir.path() + "/./" + QFileInfo(m).fileName();  // another spelling of m
    auto r = run_cli({"quantize", "--model", m, "--calib", "random", "--images", "2", "--out", same});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("same file") && r.err.contains("--force"), qPrintable(r.err));
    QVERIFY(swinscope::load_model(m.toStdString()).precision == "fp32");  // the input is untouched
    r = run_cli({"quantize", "--model", m, "--calib", "random", "--images", "2", "--out", dir.filePath("no/such/dir/q.safetensors")});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("does not exist"), qPrintable(r.err));
    r = run_cli({"quantize", "--model", m, "--calib", "random", "--images", "2", "--out", dir.path()});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("names a folder"), qPrintable(r.err));
    r = run_cli({"average", m, m, "--out", ""});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--out is empty"), qPrintable(r.err));
    r = run_cli({"quantize", "--model", m, "--calib", "random", "--images", "2", "--out", same, "--force"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(swinscope::load_model(m.toStdString()).precision == "int8");
  }

  // The CUDA backend as a user reaches it without a GPU: selftest and info --plan under device
  // emulation, and --backend cuda refused with the reason when no device is usable.
  void cuda_emu_selftest_and_plan() {
#ifndef SWINSCOPE_HAVE_CUDA_EMU
    QSKIP("built without device emulation");
#endif
    const QString relu = kSrc + "/assets/models/fmnist_swin_relu.int8.safetensors";
    auto r = run_cli({"selftest", "--backend", "cuda-emu", "--quick", "--json", relu});
    QVERIFY2(r.code == 0, qPrintable(r.err + r.out.left(2000)));
    const auto j = QJsonDocument::fromJson(r.out.toUtf8()).object();
    QCOMPARE(j["failed"].toInt(), 0);
    QVERIFY(j["rows"].toArray().size() > 50);
    r = run_cli({"info", "--plan", "--backend", "cuda-emu", "--batch", "2", relu});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("plan:          int8-relu on cuda-emu"), qPrintable(r.out));
    QVERIFY2(r.out.contains("fc1_relu_quant_kernel"), qPrintable(r.out));
    r = run_cli({"classify", "--backend", "cuda-emu", "--model", relu, "--json", kSrc + "/assets/samples/1_Trouser/t10k-00002.png"});
    QCOMPARE(r.code, 0);
    QVERIFY2(r.out.contains("Trouser"), qPrintable(r.out));
    r = run_cli({"selftest", "--backend", "cuda", "--quick"});
#ifdef SWINSCOPE_HAVE_CUDA
    if (r.code != 0) QVERIFY2(r.err.contains("no usable CUDA device") || r.err.contains("no CUDA device"), qPrintable(r.err));
#else
    QCOMPARE(r.code, 1);
#endif
  }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
