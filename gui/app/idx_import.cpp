#include "gui/app/idx_import.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QSaveFile>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#ifdef SWINSCOPE_HAVE_ZLIB
#include <zlib.h>
#endif

#include "engine/error.h"

namespace swinscope::gui {

namespace {

// Reads an IDX file whole, gunzipping when it is compressed (zlib's gzread passes plain
// files through unchanged).
std::string readIdx(const QString& path) {
  std::string data;
#ifdef SWINSCOPE_HAVE_ZLIB
  gzFile f = gzopen(QFile::encodeName(path).constData(), "rb");
  if (!f) throw Error(path.toStdString() + ": cannot open");
  std::unique_ptr<gzFile_s, int (*)(gzFile)> guard(f, gzclose);
  char buf[1 << 16];
  for (;;) {
    const int n = gzread(f, buf, sizeof buf);
    if (n < 0) {
      int err = 0;
      throw Error(path.toStdString() + ": cannot decompress (" + gzerror(f, &err) + ")");
    }
    if (n == 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
#else
  if (path.endsWith(QLatin1String(".gz"))) throw Error(path.toStdString() + ": compressed IDX needs zlib, which this build lacks; gunzip it first");
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) throw Error(path.toStdString() + ": cannot open (" + f.errorString().toStdString() + ")");
  const QByteArray all = f.readAll();
  data.assign(all.constData(), static_cast<std::size_t>(all.size()));
#endif
  return data;
}

std::uint32_t bigEndian32(const std::string& d, std::size_t at) {
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(d[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

}  // namespace

std::vector<IdxSet> findIdxSets(const QString& dir) {
  std::vector<IdxSet> out;
  const QDir d(dir);
  const auto images = d.entryList({QStringLiteral("*-images-idx3-ubyte"), QStringLiteral("*-images-idx3-ubyte.gz"),
                                   QStringLiteral("*-images.idx3-ubyte"), QStringLiteral("*-images.idx3-ubyte.gz")},
                                  QDir::Files, QDir::Name);
  for (const auto& img : images) {
    QString labels = img;
    labels.replace(QStringLiteral("-images"), QStringLiteral("-labels")).replace(QStringLiteral("idx3"), QStringLiteral("idx1"));
    if (!d.exists(labels)) continue;
    IdxSet s;
    s.images = d.filePath(img);
    s.labels = d.filePath(labels);
    s.name = img.left(img.indexOf(QStringLiteral("-images")));
    out.push_back(s);
  }
  std::stable_sort(out.begin(), out.end(), [](const IdxSet& a, const IdxSet& b) {
    return (a.name == QLatin1String("t10k") || a.name == QLatin1String("test")) && b.name != a.name;
  });
  return out;
}

IdxImport importIdx(const IdxSet& set, const QString& outDir, long limit, const JobToken& token,
                    const std::function<void(long, long)>& progress) {
  IdxImport r;
  r.folder = outDir;
  r.labelsFile = QDir(outDir).filePath(QStringLiteral("labels.txt"));
  const QString marker = QDir(outDir).filePath(QStringLiteral("complete"));
  if (QFileInfo::exists(marker) && QFileInfo::exists(r.labelsFile)) {
    QFile m(marker);
    if (m.open(QIODevice::ReadOnly)) r.count = m.readAll().trimmed().toLong();
    return r;
  }
  const std::string img = readIdx(set.images);
  const std::string lab = readIdx(set.labels);
  if (img.size() < 16 || bigEndian32(img, 0) != 0x00000803)
    throw Error(set.images.toStdString() + ": not an IDX image file (expected magic 0x00000803: unsigned bytes, 3 dimensions)");
  if (lab.size() < 8 || bigEndian32(lab, 0) != 0x00000801)
    throw Error(set.labels.toStdString() + ": not an IDX label file (expected magic 0x00000801: unsigned bytes, 1 dimension)");
  const long n = bigEndian32(img, 4);
  const int rows = static_cast<int>(bigEndian32(img, 8));
  const int cols = static_cast<int>(bigEndian32(img, 12));
  const long nl = bigEndian32(lab, 4);
  if (n != nl)
    throw Error(set.labels.toStdString() + ": " + std::to_string(nl) + " labels, but " + set.images.toStdString() + " holds " +
                std::to_string(n) + " images");
  if (rows <= 0 || cols <= 0 || rows > 4096 || cols > 4096)
    throw Error(set.images.toStdString() + ": implausible image size " + std::to_string(rows) + "x" + std::to_string(cols));
  const std::size_t per = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  if (img.size() < 16 + per * static_cast<std::size_t>(n))
    throw Error(set.images.toStdString() + ": truncated: " + std::to_string(n) + " images of " + std::to_string(rows) + "x" +
                std::to_string(cols) + " need " + std::to_string(16 + per * static_cast<std::size_t>(n)) + " bytes, found " +
                std::to_string(img.size()));
  if (lab.size() < 8 + static_cast<std::size_t>(n))
    throw Error(set.labels.toStdString() + ": truncated: " + std::to_string(n) + " labels need " + std::to_string(8 + n) + " bytes");
  const long total = limit > 0 ? std::min(limit, n) : n;
  if (!QDir().mkpath(outDir)) throw Error(outDir.toStdString() + ": cannot create folder");
  QString labels;
  for (long i = 0; i < total; ++i) {
    if (token.cancelled()) throw Error("import cancelled");
    const QString name = QStringLiteral("%1-%2.png").arg(set.name).arg(i, 5, 10, QLatin1Char('0'));
    const QImage im(reinterpret_cast<const uchar*>(img.data() + 16 + per * static_cast<std::size_t>(i)), cols, rows, cols,
                    QImage::Format_Grayscale8);
    if (!im.save(QDir(outDir).filePath(name), "PNG")) throw Error(outDir.toStdString() + ": cannot write " + name.toStdString());
    labels += name + QLatin1Char(' ') + QString::number(static_cast<unsigned char>(lab[8 + static_cast<std::size_t>(i)])) + QLatin1Char('\n');
    if (i % 500 == 0 || i + 1 == total) progress(i + 1, total);
  }
  QSaveFile lf(r.labelsFile);
  if (!lf.open(QIODevice::WriteOnly) || lf.write(labels.toUtf8()) < 0 || !lf.commit())
    throw Error(r.labelsFile.toStdString() + ": cannot write");
  QSaveFile mf(marker);
  if (!mf.open(QIODevice::WriteOnly) || mf.write(QByteArray::number(static_cast<qlonglong>(total))) < 0 || !mf.commit())
    throw Error(marker.toStdString() + ": cannot write");
  r.count = total;
  return r;
}

}  // namespace swinscope::gui
