// swinscope-cli compare end to end (issue 15): the 2x2 table, accuracies that agree with
// `eval`, McNemar's p recomputed from the table, the flipped images, every dataset form the
// shared check accepts, and the class-count warning of compare and eval.
#include <QtTest>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include "profiler/significance.h"
#include "tests/cli_runner.h"
#include "tests/idx_writer.h"

namespace {

const QString kSrc = QStringLiteral(SWINSCOPE_SOURCE_DIR);
const QString kGelu = kSrc + "/assets/models/fmnist_swin_gelu.int8.safetensors";
const QString kRelu = kSrc + "/assets/models/fmnist_swin_relu.int8.safetensors";
const QString kSamples = kSrc + "/assets/samples";

QJsonObject json_of(const CliResult& r) { return QJsonDocument::fromJson(r.out.toUtf8()).object(); }

// A random 3-class model of Fashion-MNIST's image size (28, one channel), for the warning.
QString make_three_class_model(const QTemporaryDir& dir) {
  const QString cfg = dir.filePath("three.json");
  QFile f(cfg);
  f.open(QIODevice::WriteOnly);
  f.write(R"({"name":"three","img_size":28,"patch_size":4,"in_chans":1,"num_classes":3,"embed_dim":16,
              "depths":[2],"num_heads":[1],"window_size":7,"mlp_ratio":2})");
  f.close();
  const QString out = dir.filePath("three.safetensors");
  const auto r = run_cli({"init", "--arch", cfg, "--seed", "3", "--out", out});
  if (r.code != 0) qWarning("%s", qPrintable(r.err));
  return out;
}

}  // namespace

class TestCliCompare : public QObject {
  Q_OBJECT
 private slots:
  void help_teaches() {
    const auto r = run_cli({"compare", "--help"});
    QCOMPARE(r.code, 0);
    for (const char* s : {"--model", "--data", "--limit", "--json", "McNemar", "discordant", "example:"}) QVERIFY2(r.out.contains(s), s);
    QVERIFY(run_cli({"--help"}).err.contains("compare") || run_cli({"--help"}).out.contains("compare"));
  }

  void needs_two_models() {
    auto r = run_cli({"compare", "--model", kGelu, "--data", kSamples});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("exactly two models"), qPrintable(r.err));
    r = run_cli({"compare", "--model", kGelu, "--model", kRelu, "--model", kGelu, "--data", kSamples});
    QCOMPARE(r.code, 2);
  }

  void bad_dataset_named_before_loading() {
    const auto r = run_cli({"compare", "--model", "/no/such/model.safetensors", "--model", kRelu, "--data", "/no/such/data"});
    QCOMPARE(r.code, 2);
    // The dataset is checked first: the message names it, not the (also missing) model.
    QVERIFY2(r.err.contains("/no/such/data"), qPrintable(r.err));
  }

  void table_accuracies_and_pvalue_agree() {
    QTemporaryDir dir;
    const auto r = run_cli({"compare", "--model", kGelu, "--model", kRelu, "--data", kSamples, "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    const QJsonObject j = json_of(r);
    const QJsonObject t = j["table"].toObject();
    const long both = t["both_correct"].toInteger(), a_only = t["a_only"].toInteger(), b_only = t["b_only"].toInteger(),
               wrong = t["both_wrong"].toInteger();
    QCOMPARE(both + a_only + b_only + wrong, static_cast<long>(j["images"].toInteger()));
    const double n = static_cast<double>(j["images"].toInteger());
    QVERIFY(n > 0);
    QCOMPARE(j["accuracy_a"].toDouble(), static_cast<double>(both + a_only) / n);
    QCOMPARE(j["accuracy_b"].toDouble(), static_cast<double>(both + b_only) / n);
    QCOMPARE(j["mcnemar_exact_p"].toDouble(), swinscope::profiler::mcnemar_exact_p(a_only, b_only));

    // Each model's accuracy is what `eval` reports for it on the same images.
    for (const auto& [model, key] : {std::pair{kGelu, "accuracy_a"}, std::pair{kRelu, "accuracy_b"}}) {
      const QString out = dir.filePath("eval.json");
      const auto e = run_cli({"eval", "--model", model, "--data", kSamples, "--json", out});
      QVERIFY2(e.code == 0, qPrintable(e.err));
      QFile f(out);
      QVERIFY(f.open(QIODevice::ReadOnly));
      const QJsonObject ej = QJsonDocument::fromJson(f.readAll()).object();
      QCOMPARE(ej["evaluated"].toDouble(), n);
      QCOMPARE(ej["top1"].toDouble(), j[key].toDouble());
    }

    // Flipped images: exactly the discordant ones plus those both get wrong differently;
    // each names its path, true class and both predictions, and who was right.
    long discordant = 0;
    for (const auto& v : j["flipped"].toArray()) {
      const QJsonObject f = v.toObject();
      QVERIFY(f["a"].toString() != f["b"].toString());
      QVERIFY(f["path"].toString().startsWith(kSamples));
      const QString right = f["right"].toString();
      if (right == "A") QCOMPARE(f["a"].toString(), f["true"].toString());
      if (right == "B") QCOMPARE(f["b"].toString(), f["true"].toString());
      if (right != "neither") ++discordant;
    }
    QCOMPARE(discordant, a_only + b_only);

    const auto text = run_cli({"compare", "--model", kGelu, "--model", kRelu, "--data", kSamples});
    QVERIFY2(text.code == 0, qPrintable(text.err));
    for (const char* s : {"B right", "A wrong", "McNemar exact test", "p = ", "images where A and B predict different classes"})
      QVERIFY2(text.out.contains(s), qPrintable(text.out));
  }

  void limit_and_idx_forms() {
    QTemporaryDir dir;
    write_idx_set(dir.path().toStdString(), "t10k", 30, 28, 10, 5);
    write_idx_set(dir.path().toStdString(), "train", 20, 28, 10, 6);
    // The images file itself, and the folder holding two sets (its test set is taken, with a note).
    const QString images = dir.filePath("t10k-images-idx3-ubyte");
    auto r = run_cli({"compare", "--model", kGelu, "--model", kRelu, "--data", images, "--limit", "12", "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(json_of(r)["images"].toInteger(), 12);
    r = run_cli({"compare", "--model", kGelu, "--model", kRelu, "--data", dir.path(), "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QCOMPARE(json_of(r)["images"].toInteger(), 30);
    QVERIFY2(r.err.contains("IDX set t10k"), qPrintable(r.err));
    // eval accepts the same forms (one shared check).
    r = run_cli({"eval", "--model", kGelu, "--data", dir.path()});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY(r.out.contains("evaluated: 30"));
    // A file that is no dataset is named, with the forms that would do.
    const QString junk = dir.filePath("notes.txt");
    QFile f(junk);
    f.open(QIODevice::WriteOnly);
    f.write("x");
    f.close();
    r = run_cli({"eval", "--model", kGelu, "--data", junk});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(junk) && r.err.contains("IDX images file"), qPrintable(r.err));
  }

  void class_count_mismatch_warned_before_running() {
    QTemporaryDir dir;
    write_idx_set(dir.path().toStdString(), "t10k", 12, 28, 3, 5);  // labels 0..2: three classes
    const QString three = make_three_class_model(dir);
    QVERIFY(QFile::exists(three));
    const QString images = dir.filePath("t10k-images-idx3-ubyte");
    // 10-class model on a 3-class set: warned, still run.
    auto r = run_cli({"eval", "--model", kGelu, "--data", images});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("warning:") && r.err.contains("10 classes but the dataset has 3"), qPrintable(r.err));
    // The warning comes before the progress of the run.
    const int warn = r.err.indexOf("warning:");
    const int progress = r.err.indexOf("eval");
    QVERIFY2(progress < 0 || warn < progress, qPrintable(r.err));
    // Matching classes: no warning.
    r = run_cli({"eval", "--model", three, "--data", images});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(!r.err.contains("warning:"), qPrintable(r.err));
    r = run_cli({"compare", "--model", three, "--model", kGelu, "--data", images, "--json"});
    QVERIFY2(r.code == 0, qPrintable(r.err));
    QVERIFY2(r.err.contains("B (") && r.err.contains("10 classes but the dataset has 3"), qPrintable(r.err));
    QVERIFY2(!r.err.contains("A ("), qPrintable(r.err));
  }
};

QTEST_GUILESS_MAIN(TestCliCompare)
#include "test_cli_compare.moc"
