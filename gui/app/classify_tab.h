#pragma once
// Classify: drop, open or paste images; a thumbnail list; for the selected image the top-5
// of A and B side by side, a mark where they agree, and each model's latency.
#include <QTemporaryDir>
#include <QWidget>

#include <set>

#include "gui/app/app_context.h"

class QLabel;
class QListView;
class QTableView;

namespace swinscope::gui {

class DropArea;
class ImageListModel;
class PredictionModel;

class ClassifyTab : public QWidget {
  Q_OBJECT
 public:
  // More than this many images belong in the Evaluate tab.
  static constexpr int kMaxImages = 1000;

  explicit ClassifyTab(AppContext* ctx, QWidget* parent = nullptr);

  DropArea* dropArea() const { return m_drop; }
  ImageListModel* images() const { return m_images; }
  PredictionModel* predictions() const { return m_predictions; }
  QListView* imageView() const { return m_list; }
  bool busy() const { return !m_jobs.empty(); }

  // Files and folders (recursed); anything that is not an image is reported, not added.
  void addPaths(const QStringList& paths);
  void addImage(const QImage& image);  // pasted or dropped pixels: kept as a temporary PNG
  void openImages();
  void paste();
  void clear();
  void select(int row);

 signals:
  void workFinished();

 private:
  void onSlotChanged(int slot);
  void onChunk(quint64 job, const ClassifyChunk& chunk);
  void onJobFinished(quint64 job);
  void submit(const QStringList& paths, const std::vector<SlotRun>& models, bool thumbnails);
  void showSelected();
  void updateHint();

  AppContext* m_ctx = nullptr;
  ImageListModel* m_images = nullptr;
  PredictionModel* m_predictions = nullptr;
  DropArea* m_drop = nullptr;
  QListView* m_list = nullptr;
  QLabel* m_hint = nullptr;
  QLabel* m_preview = nullptr;
  QLabel* m_path = nullptr;
  QLabel* m_agreement = nullptr;
  QLabel* m_latency = nullptr;
  QTableView* m_table = nullptr;
  std::set<quint64> m_jobs;
  quint64 m_seenGeneration[2] = {0, 0};
  QTemporaryDir m_pasteDir;
  int m_pasted = 0;
  double m_dpr = 1.0;
  QString m_lastDir;
};

}  // namespace swinscope::gui
