#pragma once
// The Classify tab's images: path, thumbnail, and per slot the top-k and latency (or why
// the image could not be classified). Rows are keyed by path; adding a path twice keeps one.
#include <QAbstractListModel>
#include <QHash>
#include <QImage>
#include <optional>
#include <vector>

#include "engine/evaluate.h"

namespace swinscope::gui {

struct ImageEntry {
  QString path;
  QImage thumbnail;
  QString error;  // the image itself failed (not an image, truncated, ...): no slot can use it
  std::optional<std::vector<TopK>> top[2];
  double latencyMs[2] = {-1, -1};  // per image: the batch's forward time / its size
  int batch[2] = {0, 0};
};

class ImageListModel : public QAbstractListModel {
  Q_OBJECT
 public:
  enum Role {
    PathRole = Qt::UserRole + 1,
    StatusRole,    // Status
    Top1ARole,     // class name or empty
    Top1BRole,
    AgreeRole,     // true when both top-1 exist and match
  };
  enum class Status { Pending, Partial, Done, Failed };

  explicit ImageListModel(QObject* parent = nullptr);

  // Appends the paths not already present; returns the paths added, in order.
  QStringList addPaths(const QStringList& paths);
  void clear();
  int rowOf(const QString& path) const;  // -1 when absent
  const ImageEntry& entry(int row) const { return m_entries[static_cast<std::size_t>(row)]; }
  QStringList paths() const;
  Status status(int row) const;

  void setThumbnail(const QString& path, const QImage& thumbnail);
  void setPrediction(const QString& path, int slot, std::vector<TopK> top, double latencyMs, int batch);
  void setFailed(const QString& path, const QString& reason);
  // The slot's model changed: its results are stale.
  void clearSlot(int slot);

  int rowCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

 private:
  void changed(int row);

  std::vector<ImageEntry> m_entries;
  QHash<QString, int> m_rows;
};

}  // namespace swinscope::gui
