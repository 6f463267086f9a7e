// The safetensors reader must hand out exactly what the writer stored, and refuse every
// malformed file with an Error that names the file and what is wrong — never crash.
#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/error.h"
#include "engine/safetensors.h"

using namespace swinscope;

namespace {

std::string le64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

// A raw file: length prefix, header text as given, `data_bytes` bytes of data.
QByteArray raw_file(const std::string& header, std::size_t data_bytes = 0) {
  const std::string bytes = le64(header.size()) + header + std::string(data_bytes, '\x5A');
  return QByteArray(bytes.data(), static_cast<qsizetype>(bytes.size()));
}

std::span<const std::byte> as_span(const QByteArray& b) {
  return {reinterpret_cast<const std::byte*>(b.constData()), static_cast<std::size_t>(b.size())};
}

template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
  return out;
}

void write_file(const std::filesystem::path& path, const QByteArray& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.constData(), bytes.size());
}

QByteArray read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  const std::string s{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  return QByteArray(s.data(), static_cast<qsizetype>(s.size()));
}

// The message of the swinscope::Error that `f` throws, or a null string when it throws none.
template <typename F>
QString error_from(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

// Independent reference: the value formula of IEEE 754 binary16.
float half_reference(std::uint16_t h) {
  const int exponent = (h >> 10) & 0x1F;
  const int mantissa = h & 0x3FF;
  float v = 0.0f;
  if (exponent == 0) {
    v = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    v = mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    v = std::ldexp(static_cast<float>(1024 + mantissa), exponent - 25);
  }
  return (h & 0x8000) ? -v : v;
}

struct Owned {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
};

std::vector<TensorToWrite> views_of(const std::vector<Owned>& owned) {
  std::vector<TensorToWrite> out;
  for (const Owned& o : owned) out.push_back({o.name, o.dtype, o.shape, o.data});
  return out;
}

// One tensor of every dtype, odd byte counts, a scalar, an empty tensor, special floats.
std::vector<Owned> sample_tensors() {
  std::vector<float> f32;
  for (int i = 0; i < 48; ++i) f32.push_back(static_cast<float>(i) * 0.5f - 3.0f);
  f32[0] = -0.0f;
  f32[1] = std::numeric_limits<float>::infinity();
  f32[2] = std::bit_cast<float>(0x7FC01234u);  // NaN with a payload: must survive untouched
  f32[3] = std::numeric_limits<float>::denorm_min();
  std::vector<std::int8_t> i8;
  for (int i = 0; i < 9; ++i) i8.push_back(static_cast<std::int8_t>(i * 29 - 128));
  return {
      {"patch_embed.proj.weight", DType::F32, {4, 3, 2, 2}, bytes_of(f32)},
      {"layers.0.blocks.0.mlp.fc1.weight", DType::I8, {3, 3}, bytes_of(i8)},
      {"head.fc.bias", DType::F16, {5}, bytes_of(std::vector<std::uint16_t>{0x3C00, 0x0001, 0x7C00, 0xFE00, 0x8000})},
      {"norm.weight", DType::BF16, {2, 2}, bytes_of(std::vector<std::uint16_t>{0x3F80, 0xC040, 0x0001, 0x7F80})},
      {"scale", DType::F32, {}, bytes_of(std::vector<float>{0.0078125f})},
      {"empty", DType::F32, {0, 4}, {}},
      {"relative_position_index", DType::I64, {3}, bytes_of(std::vector<std::int64_t>{-1, 0, INT64_MAX})},
      {"f64", DType::F64, {2}, bytes_of(std::vector<double>{3.141592653589793, -1e300})},
      {"i32", DType::I32, {2}, bytes_of(std::vector<std::int32_t>{INT32_MIN, 7})},
      {"i16", DType::I16, {3}, bytes_of(std::vector<std::int16_t>{-2, 0, 32767})},
      {"u8", DType::U8, {5}, bytes_of(std::vector<std::uint8_t>{0, 1, 127, 128, 255})},
      {"mask", DType::BOOL, {1, 3}, bytes_of(std::vector<std::uint8_t>{1, 0, 1})},
      {"größe.weight", DType::U8, {1}, bytes_of(std::vector<std::uint8_t>{42})},
  };
}

const std::map<std::string, std::string> kMetadata{
    {"swinscope.format", "1"},
    {"swinscope.config", R"({"embed_dim": 96, "depths": [2, 2, 6, 2]})"},
    {"swinscope.classes", R"(["T-shirt/top", "Trouser"])"},
    {"note", "größe \"quoted\"\n"},
    {"empty", ""},
};

}  // namespace

class SafetensorsTest : public QObject {
  Q_OBJECT

 private slots:
  void dtypeNames();
  void halfToFloat_data();
  void halfToFloat();
  void halfToFloatEveryValue();
  void bf16ToFloat_data();
  void bf16ToFloat();
  void roundTrip();
  void rewriteIsByteIdentical();
  void overwriteLeavesNoTemporaryFile();
  void writeRejects_data();
  void writeRejects();
  void writeIntoMissingDirectory();
  void acceptsPaddingGapsAndExtraFields();
  void badInput_data();
  void badInput();
  void everyTruncationIsRefused();
  void missingFile();
  void directoryIsRefused();
  void regressionCorpus();

 private:
  std::filesystem::path tempPath(const QString& name) const {
    return std::filesystem::path(m_dir.filePath(name).toStdString());
  }
  QTemporaryDir m_dir;
};

void SafetensorsTest::dtypeNames() {
  const std::vector<std::pair<DType, std::size_t>> all{
      {DType::F64, 8}, {DType::F32, 4}, {DType::F16, 2}, {DType::BF16, 2}, {DType::I64, 8},
      {DType::I32, 4}, {DType::I16, 2}, {DType::I8, 1},  {DType::U8, 1},   {DType::BOOL, 1}};
  for (const auto& [t, size] : all) {
    QCOMPARE(dtype_size(t), size);
    QCOMPARE(dtype_from_name(dtype_name(t)), std::optional<DType>(t));
  }
  QCOMPARE(dtype_name(DType::BF16), std::string_view("BF16"));
  QVERIFY(!dtype_from_name("f32"));
  QVERIFY(!dtype_from_name("F8_E4M3"));
  QVERIFY(!dtype_from_name(""));
}

void SafetensorsTest::halfToFloat_data() {
  QTest::addColumn<uint>("bits");
  QTest::addColumn<float>("expected");
  QTest::newRow("+0") << 0x0000u << 0.0f;
  QTest::newRow("1") << 0x3C00u << 1.0f;
  QTest::newRow("-2") << 0xC000u << -2.0f;
  QTest::newRow("1/3") << 0x3555u << 0.333251953125f;
  QTest::newRow("max 65504") << 0x7BFFu << 65504.0f;
  QTest::newRow("min normal") << 0x0400u << std::ldexp(1.0f, -14);
  QTest::newRow("min subnormal") << 0x0001u << std::ldexp(1.0f, -24);
  QTest::newRow("max subnormal") << 0x03FFu << std::ldexp(1023.0f, -24);
  QTest::newRow("-subnormal") << 0x8200u << -std::ldexp(1.0f, -15);
  QTest::newRow("+inf") << 0x7C00u << std::numeric_limits<float>::infinity();
  QTest::newRow("-inf") << 0xFC00u << -std::numeric_limits<float>::infinity();
}

void SafetensorsTest::halfToFloat() {
  QFETCH(uint, bits);
  QFETCH(float, expected);
  QCOMPARE(std::bit_cast<std::uint32_t>(half_to_float(static_cast<std::uint16_t>(bits))),
           std::bit_cast<std::uint32_t>(expected));
}

void SafetensorsTest::halfToFloatEveryValue() {
  for (std::uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float got = half_to_float(static_cast<std::uint16_t>(h));
    const float want = half_reference(static_cast<std::uint16_t>(h));
    if (std::isnan(want)) {
      QVERIFY2(std::isnan(got), qPrintable(QString::number(h, 16)));
      QCOMPARE(std::signbit(got), std::signbit(want));
    } else {
      QVERIFY2(std::bit_cast<std::uint32_t>(got) == std::bit_cast<std::uint32_t>(want),
               qPrintable(QStringLiteral("half 0x%1 gave %2, expected %3").arg(h, 4, 16).arg(got).arg(want)));
    }
  }
  // The NaN payload is kept (quiet bit included), not replaced by a canonical NaN.
  QCOMPARE(std::bit_cast<std::uint32_t>(half_to_float(0x7E01)), 0x7FC02000u);
}

void SafetensorsTest::bf16ToFloat_data() {
  QTest::addColumn<uint>("bits");
  QTest::addColumn<float>("expected");
  QTest::newRow("1") << 0x3F80u << 1.0f;
  QTest::newRow("-3") << 0xC040u << -3.0f;
  QTest::newRow("pi") << 0x4049u << 3.140625f;
  QTest::newRow("min subnormal") << 0x0001u << std::ldexp(1.0f, -133);
  QTest::newRow("-0") << 0x8000u << -0.0f;
  QTest::newRow("+inf") << 0x7F80u << std::numeric_limits<float>::infinity();
}

void SafetensorsTest::bf16ToFloat() {
  QFETCH(uint, bits);
  QFETCH(float, expected);
  QCOMPARE(std::bit_cast<std::uint32_t>(bf16_to_float(static_cast<std::uint16_t>(bits))),
           std::bit_cast<std::uint32_t>(expected));
  QVERIFY(std::isnan(bf16_to_float(0x7FC0)));
}

void SafetensorsTest::roundTrip() {
  QVERIFY(m_dir.isValid());
  const auto owned = sample_tensors();
  const auto path = tempPath("roundtrip.safetensors");
  write_safetensors(path, views_of(owned), kMetadata);

  const SafetensorsFile file = SafetensorsFile::open(path);
  const QByteArray raw = read_file(path);
  const SafetensorsFile copy = SafetensorsFile::from_bytes(as_span(raw), "in-memory");
  QCOMPARE(file.label(), path.string());
  QCOMPARE(copy.label(), std::string("in-memory"));

  for (const SafetensorsFile* f : {&file, &copy}) {
    QCOMPARE(f->tensors().size(), owned.size());
    QVERIFY(f->metadata() == kMetadata);
    QCOMPARE(f->file_size(), static_cast<std::uint64_t>(raw.size()));
    QVERIFY(f->find("absent") == nullptr);
    for (const Owned& o : owned) {
      const TensorView* v = f->find(o.name);
      QVERIFY2(v, o.name.c_str());
      QCOMPARE(v->name, o.name);
      QCOMPARE(v->dtype, o.dtype);
      QVERIFY(v->shape == o.shape);
      QCOMPARE(v->nbytes, o.data.size());
      QVERIFY2(o.data.empty() || std::memcmp(v->data, o.data.data(), o.data.size()) == 0, o.name.c_str());
      // Typed reads straight from the mapping need natural alignment.
      QCOMPARE(reinterpret_cast<std::uintptr_t>(v->data) % dtype_size(v->dtype), std::uintptr_t{0});
    }
    QCOMPARE(f->find("scale")->numel(), std::int64_t{1});
    QCOMPARE(f->find("empty")->numel(), std::int64_t{0});
    QCOMPARE(f->find("patch_embed.proj.weight")->numel(), std::int64_t{48});
    // tensors() follows the data layout.
    for (std::size_t i = 1; i < f->tensors().size(); ++i) {
      QVERIFY(f->tensors()[i - 1].data + f->tensors()[i - 1].nbytes <= f->tensors()[i].data);
    }
  }

  // The format forbids holes: header padded to 8, then the tensors back to back.
  std::uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= static_cast<std::uint64_t>(static_cast<unsigned char>(raw[i])) << (8 * i);
  QCOMPARE(header_len % 8, std::uint64_t{0});
  std::uint64_t data_bytes = 0;
  for (const Owned& o : owned) data_bytes += o.data.size();
  QCOMPARE(static_cast<std::uint64_t>(raw.size()), 8 + header_len + data_bytes);
  // Entries in the header are sorted by name, with the metadata present.
  const QByteArray header = raw.mid(8, static_cast<qsizetype>(header_len));
  QVERIFY(header.indexOf("\"__metadata__\"") >= 0);
  QVERIFY(header.indexOf("\"empty\"") < header.indexOf("\"f64\""));
  QVERIFY(header.indexOf("\"head.fc.bias\"") < header.indexOf("\"patch_embed.proj.weight\""));
}

void SafetensorsTest::rewriteIsByteIdentical() {
  const auto owned = sample_tensors();
  const auto first = tempPath("first.safetensors");
  const auto second = tempPath("second.safetensors");
  write_safetensors(first, views_of(owned), kMetadata);
  const SafetensorsFile file = SafetensorsFile::open(first);
  std::vector<TensorToWrite> again;
  // Reverse input order: the writer's layout must not depend on it.
  for (auto it = file.tensors().rbegin(); it != file.tensors().rend(); ++it) {
    again.push_back({it->name, it->dtype, it->shape, {it->data, it->nbytes}});
  }
  write_safetensors(second, again, file.metadata());
  QCOMPARE(read_file(second), read_file(first));
}

void SafetensorsTest::overwriteLeavesNoTemporaryFile() {
  QTemporaryDir dir;
  const auto path = std::filesystem::path(dir.filePath("model.safetensors").toStdString());
  const std::vector<float> a{1, 2, 3};
  const std::vector<float> b{4, 5};
  const auto ba = bytes_of(a);
  const auto bb = bytes_of(b);
  write_safetensors(path, {{"w", DType::F32, {3}, ba}}, {});
  write_safetensors(path, {{"w", DType::F32, {2}, bb}}, {{"k", "v"}});
  const SafetensorsFile file = SafetensorsFile::open(path);
  QCOMPARE(file.find("w")->nbytes, bb.size());
  QVERIFY(std::memcmp(file.find("w")->data, bb.data(), bb.size()) == 0);
  QCOMPARE(file.metadata().at("k"), std::string("v"));
  QCOMPARE(QDir(dir.path()).entryList(QDir::Files), QStringList{"model.safetensors"});
}

void SafetensorsTest::writeRejects_data() {
  QTest::addColumn<int>("which");
  QTest::addColumn<QStringList>("keywords");
  QTest::newRow("data shorter than shape") << 0 << QStringList{"tensor 'w'", "data holds 8 bytes", "[3] × F32 needs 12"};
  QTest::newRow("duplicate name") << 1 << QStringList{"tensor 'w'", "more than once"};
  QTest::newRow("empty name") << 2 << QStringList{"empty name"};
  QTest::newRow("reserved name") << 3 << QStringList{"__metadata__", "reserved"};
  QTest::newRow("negative dimension") << 4 << QStringList{"tensor 'w'", "negative dimension"};
  QTest::newRow("name not UTF-8") << 5 << QStringList{"UTF-8"};
}

void SafetensorsTest::writeRejects() {
  QFETCH(int, which);
  QFETCH(QStringList, keywords);
  const auto data = bytes_of(std::vector<float>{1, 2});
  std::vector<TensorToWrite> tensors;
  switch (which) {
    case 0: tensors = {{"w", DType::F32, {3}, data}}; break;
    case 1: tensors = {{"w", DType::F32, {2}, data}, {"w", DType::F32, {2}, data}}; break;
    case 2: tensors = {{"", DType::F32, {2}, data}}; break;
    case 3: tensors = {{"__metadata__", DType::F32, {2}, data}}; break;
    case 4: tensors = {{"w", DType::F32, {-2}, data}}; break;
    case 5: tensors = {{"bad\xff", DType::F32, {2}, data}}; break;
  }
  QTemporaryDir dir;
  const auto path = std::filesystem::path(dir.filePath("out.safetensors").toStdString());
  const QString msg = error_from([&] { write_safetensors(path, tensors, {}); });
  QVERIFY2(!msg.isEmpty(), "no Error thrown");
  QVERIFY2(msg.startsWith(QString::fromStdString(path.string())), qPrintable(msg));
  for (const QString& k : keywords) QVERIFY2(msg.contains(k), qPrintable(msg + " — missing: " + k));
  QVERIFY(QDir(dir.path()).entryList(QDir::Files).isEmpty());
}

void SafetensorsTest::writeIntoMissingDirectory() {
  const auto path = tempPath("no/such/dir/model.safetensors");
  const auto data = bytes_of(std::vector<float>{1});
  Error::Kind kind = Error::Kind::BadInput;
  QString msg;
  try {
    write_safetensors(path, {{"w", DType::F32, {1}, data}}, {});
  } catch (const Error& e) {
    msg = QString::fromUtf8(e.what());
    kind = e.kind();
  }
  QVERIFY2(msg.startsWith(QString::fromStdString(path.string())), qPrintable(msg));
  QVERIFY2(msg.contains("No such file or directory"), qPrintable(msg));
  QCOMPARE(kind, Error::Kind::Runtime);
}

void SafetensorsTest::acceptsPaddingGapsAndExtraFields() {
  // Leading and trailing whitespace (writers pad the header to 8 bytes with spaces),
  // an unused gap before the first tensor, unknown per-tensor keys (lenient, like the
  // reference reader), and an empty header object.
  const std::string header =
      R"(  {"w":{"dtype":"I16","shape":[2],"data_offsets":[4,8],"extra":{"x":[1]}},"__metadata__":{}}    )";
  const QByteArray bytes = raw_file(header) + QByteArray("\x00\x01\x02\x03\x04\x05\x06\x07", 8);
  const SafetensorsFile f = SafetensorsFile::from_bytes(as_span(bytes), "padded");
  QCOMPARE(f.tensors().size(), std::size_t{1});
  // from_bytes keeps its own copy, so the position shows in the bytes the view starts at.
  const TensorView& w = f.tensors()[0];
  QCOMPARE(w.name, std::string("w"));
  QCOMPARE(w.data[0], std::byte{4});
  QCOMPARE(w.data[3], std::byte{7});
  QCOMPARE(f.file_size(), static_cast<std::uint64_t>(bytes.size()));
  QCOMPARE(f.tensors()[0].nbytes, std::size_t{4});
  QVERIFY(f.metadata().empty());

  const QByteArray empty = raw_file("{}");
  QVERIFY(SafetensorsFile::from_bytes(as_span(empty), "empty").tensors().empty());
}

void SafetensorsTest::badInput_data() {
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QStringList>("keywords");
  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
  };

  QTest::newRow("zero-byte file") << QByteArray() << QStringList{"empty", "0 bytes"};
  QTest::newRow("shorter than 8 bytes") << QByteArray("\x05\x00\x00", 3)
                                        << QStringList{"3 bytes", "shorter than the 8-byte header length"};
  QTest::newRow("header length beyond file") << QByteArray::fromStdString(le64(100) + "{}")
                                             << QStringList{"header length 100", "exceeds the 2 bytes", "truncated"};
  QTest::newRow("oversized header length") << QByteArray::fromStdString(le64(100'000'001) + "{}")
                                           << QStringList{"header length 100000001", "limit of 100000000"};
  QTest::newRow("header length 2^64-1") << QByteArray::fromStdString(le64(~std::uint64_t{0}) + "{}")
                                        << QStringList{"header length 18446744073709551615", "limit"};
  QTest::newRow("empty header") << raw_file("") << QStringList{"not valid JSON"};
  QTest::newRow("header not JSON") << raw_file("{not json}") << QStringList{"header is not valid JSON"};
  QTest::newRow("header not UTF-8") << raw_file("{\"\xff\xfe\":{}}") << QStringList{"not valid JSON", "\\xff"};
  QTest::newRow("control character in name") << raw_file(R"({"a\u0001b": 5})") << QStringList{"tensor 'a\\x01b'"};
  QTest::newRow("NUL after the JSON") << raw_file(std::string("{}\0 ", 4)) << QStringList{"not valid JSON", "NUL byte"};
  QTest::newRow("header is an array") << raw_file("[1, 2]") << QStringList{"header is a JSON array", "expected an object"};
  QTest::newRow("deep nesting") << raw_file("{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}")
                                << QStringList{"nested deeper than"};
  QTest::newRow("entry not an object") << raw_file(R"({"w": 5})") << QStringList{"tensor 'w'", "expected an object"};
  QTest::newRow("unknown dtype") << raw_file("{" + entry("w", "F8_E4M3", "[2]", "[0,2]") + "}", 2)
                                 << QStringList{"tensor 'w'", "unknown dtype 'F8_E4M3'", "known: F64"};
  QTest::newRow("dtype not a string") << raw_file(R"({"w":{"dtype":4,"shape":[],"data_offsets":[0,4]}})", 4)
                                      << QStringList{"tensor 'w'", "dtype is a JSON number"};
  QTest::newRow("missing shape") << raw_file(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4)
                                 << QStringList{"tensor 'w'", "missing \"shape\""};
  QTest::newRow("missing data_offsets") << raw_file(R"({"w":{"dtype":"F32","shape":[1]}})", 4)
                                        << QStringList{"tensor 'w'", "missing \"data_offsets\""};
  QTest::newRow("shape not an array") << raw_file("{" + entry("w", "F32", "\"2x2\"", "[0,16]") + "}", 16)
                                      << QStringList{"tensor 'w'", "shape is a JSON string"};
  QTest::newRow("negative dimension") << raw_file("{" + entry("w", "F32", "[2,-3]", "[0,0]") + "}")
                                      << QStringList{"tensor 'w'", "dimension 1 is negative (-3)"};
  QTest::newRow("fractional dimension") << raw_file("{" + entry("w", "F32", "[2.5]", "[0,8]") + "}", 8)
                                        << QStringList{"tensor 'w'", "dimension 0", "fraction"};
  QTest::newRow("element count overflow") << raw_file("{" + entry("w", "F32", "[4294967296,4294967296]", "[0,0]") + "}")
                                          << QStringList{"tensor 'w'", "overflow"};
  QTest::newRow("dimension above int64") << raw_file("{" + entry("w", "U8", "[18446744073709551615]", "[0,0]") + "}")
                                         << QStringList{"tensor 'w'", "overflow"};
  QTest::newRow("byte count overflow") << raw_file("{" + entry("w", "F64", "[4611686018427387904]", "[0,0]") + "}")
                                       << QStringList{"tensor 'w'", "more bytes than fit"};
  QTest::newRow("shape/byte-range mismatch")
      << raw_file("{" + entry("layers.0.blocks.0.attn.qkv.weight", "F32", "[3, 4]", "[0, 100]") + "}", 100)
      << QStringList{"tensor 'layers.0.blocks.0.attn.qkv.weight'",
                     "data_offsets [0, 100] hold 100 bytes but shape [3, 4] × F32 needs 48"};
  QTest::newRow("begin after end") << raw_file("{" + entry("w", "U8", "[0]", "[16,8]") + "}", 16)
                                   << QStringList{"tensor 'w'", "data_offsets [16, 8]", "begin after end"};
  QTest::newRow("offsets outside data area") << raw_file("{" + entry("w", "F32", "[4]", "[0,16]") + "}", 8)
                                             << QStringList{"tensor 'w'", "data_offsets [0, 16]",
                                                            "past the end of the 8-byte data area"};
  QTest::newRow("one offset") << raw_file("{" + entry("w", "U8", "[0]", "[0]") + "}")
                              << QStringList{"tensor 'w'", "[begin, end]", "found 1"};
  QTest::newRow("negative offset") << raw_file("{" + entry("w", "U8", "[8]", "[-8,0]") + "}", 8)
                                   << QStringList{"tensor 'w'", "negative"};
  QTest::newRow("offsets not an array") << raw_file("{" + entry("w", "U8", "[8]", "{}") + "}", 8)
                                        << QStringList{"tensor 'w'", "found a JSON object"};
  QTest::newRow("overlapping ranges")
      << raw_file("{" + entry("a", "F32", "[4]", "[0,16]") + "," + entry("b", "F32", "[4]", "[8,24]") + "}", 24)
      << QStringList{"'a' (data_offsets [0, 16])", "'b' (data_offsets [8, 24])", "overlap"};
  QTest::newRow("range inside another")
      << raw_file("{" + entry("big", "U8", "[32]", "[0,32]") + "," + entry("mid", "U8", "[4]", "[20,24]") + "," +
                      entry("small", "U8", "[4]", "[8,12]") + "}",
                  32)
      << QStringList{"'big'", "'small'", "overlap"};
  QTest::newRow("same range twice")
      << raw_file("{" + entry("a", "I8", "[4]", "[0,4]") + "," + entry("b", "U8", "[4]", "[0,4]") + "}", 4)
      << QStringList{"'a'", "'b'", "overlap"};
  QTest::newRow("duplicate tensor name")
      << raw_file("{" + entry("a", "U8", "[4]", "[0,4]") + "," + entry("a", "U8", "[4]", "[4,8]") + "}", 8)
      << QStringList{"'a'", "more than once"};
  QTest::newRow("metadata not an object") << raw_file(R"({"__metadata__": [1]})")
                                          << QStringList{"__metadata__ is a JSON array", "expected an object"};
  QTest::newRow("metadata value not a string") << raw_file(R"({"__metadata__": {"k": 1}})")
                                               << QStringList{"__metadata__ entry 'k'", "expected a string"};
}

void SafetensorsTest::badInput() {
  QFETCH(QByteArray, bytes);
  QFETCH(QStringList, keywords);

  const QString fromMemory = error_from([&] { SafetensorsFile::from_bytes(as_span(bytes), "bad-input"); });
  QVERIFY2(fromMemory.startsWith("bad-input: "), qPrintable("from_bytes: " + fromMemory));
  for (const QString& k : keywords) QVERIFY2(fromMemory.contains(k), qPrintable(fromMemory + " — missing: " + k));
  // Messages quote header bytes; they must stay valid UTF-8 (shown in the GUI, written as JSON).
  QVERIFY2(!fromMemory.contains(QChar::ReplacementCharacter), qPrintable(fromMemory));

  // The same through the memory-mapped path, where the message names the file.
  QString tag = QString::fromUtf8(QTest::currentDataTag());
  for (QChar& c : tag) {
    if (!c.isLetterOrNumber()) c = '_';
  }
  const auto path = tempPath("bad-" + tag + ".safetensors");
  write_file(path, bytes);
  const QString fromFile = error_from([&] { SafetensorsFile::open(path); });
  QVERIFY2(fromFile.startsWith(QString::fromStdString(path.string() + ": ")), qPrintable("open: " + fromFile));
  for (const QString& k : keywords) QVERIFY2(fromFile.contains(k), qPrintable(fromFile + " — missing: " + k));
}

void SafetensorsTest::everyTruncationIsRefused() {
  // No zero-size tensor here: one at the end of the layout would let a cut that only
  // removes trailing bytes leave a still-valid file.
  const auto f32 = bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6});
  const auto i8 = bytes_of(std::vector<std::int8_t>{1, 2, 3});
  const auto path = tempPath("whole.safetensors");
  write_safetensors(path, {{"a", DType::F32, {2, 3}, f32}, {"b", DType::I8, {3}, i8}}, {{"k", "v"}});
  const QByteArray whole = read_file(path);
  QVERIFY(SafetensorsFile::from_bytes(as_span(whole), "whole").tensors().size() == 2);
  const auto cut_path = tempPath("cut.safetensors");
  for (qsizetype n = 0; n < whole.size(); ++n) {
    const QByteArray cut = whole.left(n);
    const QString msg = error_from([&] { SafetensorsFile::from_bytes(as_span(cut), "cut"); });
    QVERIFY2(!msg.isEmpty(), qPrintable(QStringLiteral("prefix of %1 bytes accepted").arg(n)));
    write_file(cut_path, cut);
    QVERIFY2(!error_from([&] { SafetensorsFile::open(cut_path); }).isEmpty(), qPrintable(QString::number(n)));
    // A cut inside the data area is reported against the tensor that lost bytes.
    if (n >= whole.size() - 3) QVERIFY2(msg.contains("tensor 'b'") && msg.contains("truncated"), qPrintable(msg));
  }
}

void SafetensorsTest::missingFile() {
  const auto path = tempPath("does-not-exist.safetensors");
  const QString msg = error_from([&] { SafetensorsFile::open(path); });
  QVERIFY2(msg.startsWith(QString::fromStdString(path.string() + ": ")), qPrintable(msg));
  QVERIFY2(msg.contains("cannot open") && msg.contains("No such file or directory"), qPrintable(msg));
}

void SafetensorsTest::directoryIsRefused() {
  const QString msg = error_from([&] { SafetensorsFile::open(m_dir.path().toStdString()); });
  QVERIFY2(msg.contains("not a regular file"), qPrintable(msg));
}

void SafetensorsTest::regressionCorpus() {
  // Inputs found by the fuzz target (scripts/fuzz) or made by hand to hit its edge cases.
  const QDir dir(QStringLiteral(SWINSCOPE_SOURCE_DIR "/tests/data/safetensors_bad"));
  const QStringList files = dir.entryList(QDir::Files, QDir::Name);
  QVERIFY2(!files.isEmpty(), qPrintable("no regression inputs in " + dir.path()));
  for (const QString& name : files) {
    const auto path = std::filesystem::path(dir.filePath(name).toStdString());
    const QString fromFile = error_from([&] { SafetensorsFile::open(path); });
    QVERIFY2(fromFile.startsWith(QString::fromStdString(path.string() + ": ")), qPrintable(name + ": " + fromFile));
    const QByteArray bytes = read_file(path);
    QVERIFY2(!error_from([&] { SafetensorsFile::from_bytes(as_span(bytes), name.toStdString()); }).isEmpty(),
             qPrintable(name));
  }
}

QTEST_APPLESS_MAIN(SafetensorsTest)
#include "test_safetensors.moc"
