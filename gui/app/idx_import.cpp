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

#include "engine/error.h"
#include "engine/idx.h"

namespace swinscope::gui {

std::vector<IdxSet> findIdxSets(const QString& dir) {
  std::vector<IdxSet> out;
  for (const auto& s : find_idx_sets(QFile::encodeName(dir).toStdString())) {
    IdxSet g;
    g.images = QString::fromStdString(s.images.string());
    g.labels = QString::fromStdString(s.labels.string());
    g.name = QString::fromStdString(s.name);
    out.push_back(g);
  }
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
  swinscope::IdxSet es;
  es.images = QFile::encodeName(set.images).toStdString();
  es.labels = QFile::encodeName(set.labels).toStdString();
  const IdxData d = read_idx(es);
  const long n = d.count;
  const long total = limit > 0 ? std::min(limit, n) : n;
  if (!QDir().mkpath(outDir)) throw Error(outDir.toStdString() + ": cannot create folder");
  QString labels;
  for (long i = 0; i < total; ++i) {
    if (token.cancelled()) throw Error("import cancelled");
    const QString name = QStringLiteral("%1-%2.png").arg(set.name).arg(i, 5, 10, QLatin1Char('0'));
    const QImage im(d.image(i), d.cols, d.rows, d.cols, QImage::Format_Grayscale8);
    if (!im.save(QDir(outDir).filePath(name), "PNG")) throw Error(outDir.toStdString() + ": cannot write " + name.toStdString());
    labels += name + QLatin1Char(' ') + QString::number(d.labels[static_cast<std::size_t>(i)]) + QLatin1Char('\n');
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
