#include "gui/models/image_list_model.h"

#include <QBrush>
#include <QColor>
#include <QFileInfo>

#include "gui/models/stage_style.h"

namespace swinscope::gui {

ImageListModel::ImageListModel(QObject* parent) : QAbstractListModel(parent) {}

QStringList ImageListModel::addPaths(const QStringList& paths) {
  QStringList fresh;
  for (const auto& p : paths)
    if (!m_rows.contains(p) && !fresh.contains(p)) fresh << p;
  if (fresh.isEmpty()) return fresh;
  const int first = static_cast<int>(m_entries.size());
  beginInsertRows({}, first, first + static_cast<int>(fresh.size()) - 1);
  for (const auto& p : fresh) {
    m_rows.insert(p, static_cast<int>(m_entries.size()));
    ImageEntry e;
    e.path = p;
    m_entries.push_back(std::move(e));
  }
  endInsertRows();
  return fresh;
}

void ImageListModel::clear() {
  beginResetModel();
  m_entries.clear();
  m_rows.clear();
  endResetModel();
}

int ImageListModel::rowOf(const QString& path) const { return m_rows.value(path, -1); }

QStringList ImageListModel::paths() const {
  QStringList out;
  for (const auto& e : m_entries) out << e.path;
  return out;
}

ImageListModel::Status ImageListModel::status(int row) const {
  const auto& e = entry(row);
  if (!e.error.isEmpty()) return Status::Failed;
  const int n = (e.top[0] ? 1 : 0) + (e.top[1] ? 1 : 0);
  return n == 0 ? Status::Pending : n == 2 ? Status::Done : Status::Partial;
}

void ImageListModel::changed(int row) {
  const auto i = index(row);
  emit dataChanged(i, i);
}

void ImageListModel::setThumbnail(const QString& path, const QImage& thumbnail) {
  const int row = rowOf(path);
  if (row < 0) return;
  m_entries[static_cast<std::size_t>(row)].thumbnail = thumbnail;
  changed(row);
}

void ImageListModel::setPrediction(const QString& path, int slot, std::vector<TopK> top, double latencyMs, int batch) {
  const int row = rowOf(path);
  if (row < 0 || slot < 0 || slot >= kSlotCount) return;
  auto& e = m_entries[static_cast<std::size_t>(row)];
  e.top[slot] = std::move(top);
  e.latencyMs[slot] = latencyMs;
  e.batch[slot] = batch;
  changed(row);
}

void ImageListModel::setFailed(const QString& path, const QString& reason) {
  const int row = rowOf(path);
  if (row < 0) return;
  m_entries[static_cast<std::size_t>(row)].error = reason;
  changed(row);
}

void ImageListModel::clearSlot(int slot) {
  if (slot < 0 || slot >= kSlotCount || m_entries.empty()) return;
  for (auto& e : m_entries) {
    e.top[slot].reset();
    e.latencyMs[slot] = -1;
    e.batch[slot] = 0;
  }
  emit dataChanged(index(0), index(rowCount() - 1));
}

int ImageListModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(m_entries.size());
}

QVariant ImageListModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const auto& e = entry(index.row());
  auto top1 = [&](int slot) {
    return e.top[slot] && !e.top[slot]->empty() ? QString::fromStdString(e.top[slot]->front().name) : QString();
  };
  switch (role) {
    case Qt::DisplayRole: {
      QString text = QFileInfo(e.path).fileName();
      if (!e.error.isEmpty()) return text + QStringLiteral("\n") + tr("not classified");
      const QString a = top1(0), b = top1(1);
      if (!a.isEmpty() && a == b) return text + QStringLiteral("\n✓ ") + a;
      if (!a.isEmpty() || !b.isEmpty())
        text += QStringLiteral("\n") + (a.isEmpty() ? QStringLiteral("–") : a) + QStringLiteral(" | ") +
                (b.isEmpty() ? QStringLiteral("–") : b);
      return text;
    }
    case Qt::DecorationRole:
      if (!e.thumbnail.isNull()) return e.thumbnail;
      return {};
    case Qt::ToolTipRole: {
      QString t = e.path;
      if (!e.error.isEmpty()) return t + QStringLiteral("\n") + e.error;
      for (int s = 0; s < kSlotCount; ++s)
        if (e.top[s] && !e.top[s]->empty())
          t += QStringLiteral("\n%1: %2 (%3 %)")
                   .arg(slotName(s), top1(s))
                   .arg(100.0 * static_cast<double>(e.top[s]->front().probability), 0, 'f', 1);
      return t;
    }
    case Qt::ForegroundRole:
      if (!e.error.isEmpty()) return QBrush(QColor(0xc0, 0x39, 0x2b));
      return {};
    case PathRole: return e.path;
    case StatusRole: return static_cast<int>(status(index.row()));
    case Top1ARole: return top1(0);
    case Top1BRole: return top1(1);
    case AgreeRole: {
      const QString a = top1(0), b = top1(1);
      return !a.isEmpty() && a == b;
    }
    default: return {};
  }
}

}  // namespace swinscope::gui
