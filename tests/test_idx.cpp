// IDX (MNIST / Fashion-MNIST) files as engine datasets: plain and gzipped sets, an images
// file or a folder with one set, Fashion-MNIST's names, and the refusals (two sets in a
// folder, wrong magic, truncated data, counts that differ) naming the file.
#include <QtTest>

#include <QTemporaryDir>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "engine/dataset.h"
#include "engine/error.h"
#include "engine/idx.h"
#include "idx_writer.h"
#include "test_support.h"

using namespace swinscope;

class TestIdx : public QObject {
  Q_OBJECT

 private slots:
  void readsASet() {
    QTemporaryDir dir;
    write_idx_set(dir.path().toStdString(), "train", 10, 8, 4, 1);
    const auto sets = find_idx_sets(dir.path().toStdString());
    QCOMPARE(static_cast<int>(sets.size()), 1);
    QCOMPARE(sets[0].name, std::string("train"));
    const IdxData d = read_idx(sets[0]);
    QCOMPARE(d.count, 10L);
    QCOMPARE(d.rows, 8);
    QCOMPARE(d.cols, 8);
    for (long i = 0; i < d.count; ++i) QCOMPARE(static_cast<int>(d.labels[static_cast<std::size_t>(i)]), static_cast<int>(i % 4));
    // A bright shape on a dark, noisy background.
    const auto* p = d.image(0);
    QVERIFY(*std::max_element(p, p + 64) >= 180);
    QVERIFY(*std::min_element(p, p + 64) <= 60);
  }

  void datasetFromFileOrFolder() {
    QTemporaryDir dir;
    write_idx_set(dir.path().toStdString(), "t10k", 12, 8, 3, 2);
    const Dataset a = open_dataset(dir.filePath("t10k-images-idx3-ubyte").toStdString(), std::nullopt, {});
    const Dataset b = open_dataset(dir.path().toStdString(), std::nullopt, {"x", "y", "z"});
    QCOMPARE(a.images.size(), std::size_t{12});
    QCOMPARE(b.images.size(), std::size_t{12});
    QCOMPARE(a.folder_classes, (std::vector<std::string>{"0", "1", "2"}));
    QCOMPARE(b.folder_classes, (std::vector<std::string>{"x", "y", "z"}));
    QCOMPARE(a.images[4].label, 1);
    const Image8 rgb = load_dataset_image(a, 4, 3);
    QCOMPARE(rgb.channels, 3);
    QCOMPARE(rgb.width, 8);
    QCOMPARE(rgb.pixels[0], rgb.pixels[2]);
    PreprocessConfig pp;
    pp.resize = 8;
    pp.crop = 8;
    pp.channels = 1;
    pp.mean = {0, 0, 0};
    pp.std = {1, 1, 1};
    std::vector<float> out(64);
    preprocess_dataset_image(a, 0, pp, out.data());
    QCOMPARE(out[2 * 8 + 2], a.idx->image(0)[2 * 8 + 2] / 255.0f);
    // The model has fewer classes than the labels need.
    QVERIFY(error_of([&] { open_dataset(dir.path().toStdString(), std::nullopt, {"only"}); }).find("label 2") != std::string::npos);
  }

  void gzippedAndFashionNames() {
    QTemporaryDir dir;
    const std::string d = dir.filePath("fashion-mnist").toStdString();
    QDir().mkpath(QString::fromStdString(d));
    write_idx_set(d, "train", 20, 8, 10, 3);
    if (std::system(("gzip " + d + "/train-images-idx3-ubyte " + d + "/train-labels-idx1-ubyte").c_str()) != 0)
      QSKIP("gzip not available");
    const Dataset ds = open_dataset(d + "/train-images-idx3-ubyte.gz", std::nullopt, {});
    QCOMPARE(ds.images.size(), std::size_t{20});
    QCOMPARE(ds.folder_classes, fashion_mnist_classes());
  }

  // The fuzz_idx regression inputs (tests/data/idx_bad: a little-endian split offset, the
  // images file, the labels file), each refused with a message naming one of the two files.
  void fuzzRegressionsAreRefusedByName() {
    const std::filesystem::path dir = std::filesystem::path(SWINSCOPE_SOURCE_DIR) / "tests" / "data" / "idx_bad";
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::ifstream f(e.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (bytes.size() < 4) continue;
      const std::uint32_t word = static_cast<unsigned char>(bytes[0]) | static_cast<unsigned char>(bytes[1]) << 8 |
                                 static_cast<unsigned char>(bytes[2]) << 16 | static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[3])) << 24;
      const std::size_t split = word % (bytes.size() - 4 + 1);
      const IdxSet set{"case-images-idx3-ubyte", "case-labels-idx1-ubyte", "case"};
      const std::string msg = error_of([&] { parse_idx(bytes.substr(4, split), bytes.substr(4 + split), set); });
      QVERIFY2(msg.rfind("case-images-idx3-ubyte: ", 0) == 0 || msg.rfind("case-labels-idx1-ubyte: ", 0) == 0,
               qPrintable(QString::fromStdString(e.path().filename().string() + ": '" + msg + "'")));
      ++n;
    }
    QVERIFY(n >= 7);
  }

  void refusals() {
    QTemporaryDir dir;
    const std::string d = dir.path().toStdString();
    write_idx_set(d, "train", 10, 8, 4, 1);
    write_idx_set(d, "t10k", 10, 8, 4, 2);
    // Two sets: the user must name one.
    auto e = error_of([&] { open_dataset(d, std::nullopt, {}); });
    QVERIFY2(e.find("2 IDX sets") != std::string::npos, e.c_str());
    // Truncated images.
    std::filesystem::resize_file(d + "/train-images-idx3-ubyte", 16 + 64 * 5);
    e = error_of([&] { open_dataset(d + "/train-images-idx3-ubyte", std::nullopt, {}); });
    QVERIFY2(e.find("truncated") != std::string::npos && e.find("train-images-idx3-ubyte") != std::string::npos, e.c_str());
    // Wrong magic: a label file given as images.
    std::filesystem::copy_file(d + "/t10k-labels-idx1-ubyte", d + "/bad-images-idx3-ubyte");
    std::filesystem::copy_file(d + "/t10k-labels-idx1-ubyte", d + "/bad-labels-idx1-ubyte");
    e = error_of([&] { open_dataset(d + "/bad-images-idx3-ubyte", std::nullopt, {}); });
    QVERIFY2(e.find("not an IDX image file") != std::string::npos, e.c_str());
    // Label count differs from image count.
    write_idx_set(d, "few", 6, 8, 4, 4);
    write_idx_set(d, "many", 9, 8, 4, 4);
    std::filesystem::copy_file(d + "/many-labels-idx1-ubyte", d + "/few-labels-idx1-ubyte",
                               std::filesystem::copy_options::overwrite_existing);
    e = error_of([&] { open_dataset(d + "/few-images-idx3-ubyte", std::nullopt, {}); });
    QVERIFY2(e.find("9 labels") != std::string::npos, e.c_str());
    // Labels file missing.
    std::filesystem::remove(d + "/many-labels-idx1-ubyte");
    e = error_of([&] { open_dataset(d + "/many-images-idx3-ubyte", std::nullopt, {}); });
    QVERIFY2(e.find("labels file") != std::string::npos, e.c_str());
  }
};

QTEST_GUILESS_MAIN(TestIdx)
#include "test_idx.moc"
