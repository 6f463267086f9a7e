#include "gui/app/classify_tab.h"

#include <algorithm>

#include <QApplication>
#include <QClipboard>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QImageReader>
#include <QLabel>
#include <QListView>
#include <QMimeData>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <cmath>

#include "engine/dataset.h"
#include "gui/models/image_list_model.h"
#include "gui/models/prediction_model.h"
#include "gui/models/stage_style.h"
#include "gui/widgets/delegates.h"
#include "gui/widgets/drop_area.h"

namespace swinscope::gui {

ClassifyTab::ClassifyTab(AppContext* ctx, QWidget* parent) : QWidget(parent), m_ctx(ctx) {
  m_images = new ImageListModel(this);
  m_predictions = new PredictionModel(this);

  auto* split = new QSplitter(Qt::Horizontal, this);
  split->setObjectName(QStringLiteral("classifySplitter"));

  // Left: the drop area with the thumbnails.
  m_drop = new DropArea(split);
  auto* left = new QVBoxLayout(m_drop);
  auto* bar = new QHBoxLayout;
  auto* open = new QPushButton(tr("Open images…"), m_drop);
  open->setToolTip(tr("Open image files (Ctrl+I)"));
  auto* paste = new QPushButton(tr("Paste"), m_drop);
  paste->setToolTip(tr("Paste an image or image files from the clipboard (Ctrl+Shift+V)"));
  auto* clearButton = new QPushButton(tr("Clear"), m_drop);
  bar->addWidget(open);
  bar->addWidget(paste);
  bar->addStretch(1);
  bar->addWidget(clearButton);
  left->addLayout(bar);
  m_hint = new QLabel(tr("Drop image files or folders here, open them, or paste an image."), m_drop);
  m_hint->setAlignment(Qt::AlignCenter);
  m_hint->setWordWrap(true);
  m_hint->setStyleSheet(QStringLiteral("color: palette(placeholder-text); padding: 24px;"));
  left->addWidget(m_hint);
  m_list = new QListView(m_drop);
  m_list->setModel(m_images);
  m_list->setViewMode(QListView::IconMode);
  m_list->setIconSize(QSize(96, 96));
  m_list->setGridSize(QSize(128, 148));
  m_list->setTextElideMode(Qt::ElideMiddle);
  m_list->setResizeMode(QListView::Adjust);
  m_list->setMovement(QListView::Static);
  m_list->setWordWrap(true);
  m_list->setSelectionMode(QAbstractItemView::SingleSelection);
  m_list->setAcceptDrops(false);
  m_list->viewport()->setAcceptDrops(false);
  left->addWidget(m_list, 1);
  connect(open, &QPushButton::clicked, this, &ClassifyTab::openImages);
  connect(paste, &QPushButton::clicked, this, &ClassifyTab::paste);
  connect(clearButton, &QPushButton::clicked, this, &ClassifyTab::clear);
  connect(m_drop, &DropArea::filesDropped, this, &ClassifyTab::addPaths);
  connect(m_drop, &DropArea::imageDropped, this, &ClassifyTab::addImage);
  connect(m_drop, &DropArea::rejected, this, [this](const QString& why) { m_ctx->report(MessageBar::Level::Warning, why); });

  // Right: the selected image and the two top-5 lists.
  auto* right = new QWidget(split);
  auto* rl = new QVBoxLayout(right);
  m_preview = new QLabel(right);
  m_preview->setAlignment(Qt::AlignCenter);
  m_preview->setMinimumSize(120, 120);
  // Ignored: the pixmap must not dictate the label's size, or each new image would grow it.
  m_preview->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored);
  m_path = new QLabel(right);
  m_path->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_path->setWordWrap(true);
  m_path->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  m_agreement = new QLabel(right);
  QFont af = m_agreement->font();
  af.setBold(true);
  m_agreement->setFont(af);
  m_latency = new QLabel(right);
  // Wrapped, and never the reason the window is wide: a 1100-pixel window must fit (issue 15).
  m_latency->setWordWrap(true);
  m_latency->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
  m_table = new QTableView(right);
  m_table->setModel(m_predictions);
  m_table->verticalHeader()->hide();
  m_table->setSelectionMode(QAbstractItemView::NoSelection);
  m_table->setItemDelegateForColumn(PredictionModel::ProbabilityAColumn, new BarDelegate(PredictionModel::ProbabilityRole, PredictionModel::SlotRole, this));
  m_table->setItemDelegateForColumn(PredictionModel::ProbabilityBColumn, new BarDelegate(PredictionModel::ProbabilityRole, PredictionModel::SlotRole, this));
  auto* hh = m_table->horizontalHeader();
  hh->setSectionResizeMode(QHeaderView::Stretch);
  hh->setSectionResizeMode(PredictionModel::RankColumn, QHeaderView::ResizeToContents);
  hh->setSectionResizeMode(PredictionModel::AgreeColumn, QHeaderView::ResizeToContents);
  m_table->setMinimumHeight(m_table->verticalHeader()->defaultSectionSize() * 3 + hh->height());
  rl->addWidget(m_preview, 3);
  rl->addWidget(m_path);
  rl->addWidget(m_agreement);
  rl->addWidget(m_table, 2);
  rl->addWidget(m_latency);
  split->addWidget(m_drop);
  split->addWidget(right);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  auto* lay = new QVBoxLayout(this);
  lay->setContentsMargins(0, 0, 0, 0);
  lay->addWidget(split);

  connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this, &ClassifyTab::showSelected);
  connect(m_images, &QAbstractItemModel::dataChanged, this, [this](const QModelIndex& a, const QModelIndex& b) {
    const int cur = m_list->currentIndex().row();
    if (cur >= a.row() && cur <= b.row()) showSelected();
  });
  connect(&m_ctx->results(), &JobResults::classified, this, &ClassifyTab::onChunk);
  connect(&m_ctx->runner(), &JobRunner::finished, this, [this](quint64 job, const QString&, bool, const QString& error) {
    if (!m_jobs.count(job)) return;
    if (!error.isEmpty()) m_ctx->report(MessageBar::Level::Error, tr("Classification failed: %1").arg(error));
    onJobFinished(job);
  });
  connect(m_ctx, &AppContext::slotChanged, this, &ClassifyTab::onSlotChanged);
  m_lastDir = QDir::homePath();
  updateHint();
  showSelected();
}

void ClassifyTab::updateHint() {
  const bool empty = m_images->rowCount() == 0;
  m_hint->setVisible(empty);
}

void ClassifyTab::addPaths(const QStringList& paths) {
  QStringList images;
  for (const auto& p : paths) {
    const QFileInfo fi(p);
    if (!fi.exists()) {
      m_ctx->report(MessageBar::Level::Error, tr("%1: no such file or folder").arg(p));
      continue;
    }
    if (fi.isDir()) {
      std::vector<std::filesystem::path> found;
      try {
        found = expand_image_paths({p.toStdString()});
      } catch (const std::exception& e) {
        m_ctx->report(MessageBar::Level::Error, tr("%1: %2").arg(p, QString::fromUtf8(e.what())));
        continue;
      }
      if (found.empty()) {
        m_ctx->report(MessageBar::Level::Error, tr("%1: the folder holds no images (looked for .jpg .png .bmp .webp .tif .ppm and similar, in subfolders too)").arg(p));
        continue;
      }
      for (const auto& f : found) images << QString::fromStdString(f.string());
      m_lastDir = p;
      continue;
    }
    if (!has_image_extension(p.toStdString())) {
      m_ctx->report(MessageBar::Level::Error, tr("%1 is not an image file (expected .jpg, .png, .bmp, .webp, .tif, .ppm/.pgm)").arg(fi.fileName()));
      continue;
    }
    images << fi.absoluteFilePath();
    m_lastDir = fi.absolutePath();
  }
  const int room = kMaxImages - m_images->rowCount();
  if (images.size() > room) {
    m_ctx->report(MessageBar::Level::Warning, tr("Classify shows at most %1 images; %2 were left out (the Evaluate tab takes whole datasets)")
                                                 .arg(kMaxImages)
                                                 .arg(images.size() - std::max(0, room)));
    images = images.mid(0, std::max(0, room));
  }
  const QStringList fresh = m_images->addPaths(images);
  updateHint();
  if (fresh.isEmpty()) return;
  if (!m_list->currentIndex().isValid()) select(m_images->rowOf(fresh.front()));
  const auto runnable = m_ctx->runnableSlots();
  if (runnable.empty())
    m_ctx->report(MessageBar::Level::Info, tr("No model can run yet: open a model in A or B, or create a random SWIN, and the images are classified."));
  submit(fresh, runnable, true);
}

void ClassifyTab::addImage(const QImage& image) {
  if (image.isNull()) {
    m_ctx->report(MessageBar::Level::Error, tr("The pasted image is empty"));
    return;
  }
  if (!m_pasteDir.isValid()) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot keep the pasted image: no temporary folder (%1)").arg(m_pasteDir.errorString()));
    return;
  }
  const QString path = m_pasteDir.filePath(QStringLiteral("pasted-%1.png").arg(++m_pasted));
  if (!image.save(path, "PNG")) {
    m_ctx->report(MessageBar::Level::Error, tr("Cannot write the pasted image to %1").arg(path));
    return;
  }
  addPaths({path});
}

void ClassifyTab::openImages() {
  const QStringList files = QFileDialog::getOpenFileNames(this, tr("Open images"), m_lastDir,
                                                          tr("Images (*.jpg *.jpeg *.png *.bmp *.webp *.tif *.tiff *.ppm *.pgm *.jfif);;All files (*)"));
  if (!files.isEmpty()) addPaths(files);
}

void ClassifyTab::paste() {
  const QMimeData* mime = QApplication::clipboard()->mimeData();
  if (!mime || (!mime->hasUrls() && !mime->hasImage() && !mime->hasText())) {
    m_ctx->report(MessageBar::Level::Warning, tr("The clipboard holds no image and no file"));
    return;
  }
  m_drop->handleMimeData(mime);
}

void ClassifyTab::clear() {
  for (quint64 j : m_jobs) m_ctx->runner().cancel(j);
  m_jobs.clear();
  m_images->clear();
  m_predictions->clear();
  updateHint();
  showSelected();
  emit workFinished();
}

void ClassifyTab::select(int row) {
  if (row < 0 || row >= m_images->rowCount()) return;
  m_list->setCurrentIndex(m_images->index(row));
}

void ClassifyTab::submit(const QStringList& paths, const std::vector<SlotRun>& models, bool thumbnails) {
  ClassifyRequest req;
  req.paths = paths;
  req.models = models;
  req.thumbnails = thumbnails;
  m_dpr = m_list->devicePixelRatioF();
  req.thumbnailPx = static_cast<int>(std::ceil(m_list->iconSize().width() * m_dpr));
  JobResults* results = &m_ctx->results();
  const QString label = tr("Classifying %n image(s)", nullptr, static_cast<int>(paths.size()));
  const quint64 id = m_ctx->runner().submit(label, [req, results](const JobToken& token) {
    runClassify(req, token, [&](ClassifyChunk c) { emit results->classified(token.id(), c); });
  });
  m_jobs.insert(id);
}

void ClassifyTab::onSlotChanged(int slot) {
  const auto& s = m_ctx->slot(slot);
  if (s.generation == m_seenGeneration[slot]) return;
  m_seenGeneration[slot] = s.generation;
  m_images->clearSlot(slot);
  showSelected();
  if (!m_ctx->canRun(slot) || m_images->rowCount() == 0) return;
  QStringList paths;
  for (int r = 0; r < m_images->rowCount(); ++r)
    if (m_images->entry(r).error.isEmpty()) paths << m_images->entry(r).path;
  if (!paths.isEmpty()) submit(paths, {m_ctx->slotRun(slot)}, false);
}

void ClassifyTab::onChunk(quint64 job, const ClassifyChunk& chunk) {
  if (!m_jobs.count(job)) return;  // cleared or cancelled: a late result
  for (const auto& item : chunk.items) {
    if (m_images->rowOf(item.path) < 0) continue;
    if (!item.thumbnail.isNull()) {
      // Made at device pixels; drawn at the icon size, sharp on high-DPI screens.
      QImage thumb = item.thumbnail;
      thumb.setDevicePixelRatio(m_dpr);
      m_images->setThumbnail(item.path, thumb);
    }
    if (!item.error.isEmpty()) {
      m_images->setFailed(item.path, item.error);
      // The engine's messages already name the file.
      const QString name = QFileInfo(item.path).fileName();
      m_ctx->report(MessageBar::Level::Error, item.error.contains(name) ? item.error : tr("%1: %2").arg(name, item.error));
      continue;
    }
    for (int s = 0; s < kSlotCount; ++s) {
      // Results for a model that has since been replaced are stale.
      if (!chunk.ran[s] || chunk.generation[s] != m_ctx->slot(s).generation) continue;
      if (item.top[s]) m_images->setPrediction(item.path, s, *item.top[s], item.latencyMs[s], item.batch[s]);
      else if (!item.slotError[s].isEmpty())
        m_ctx->report(MessageBar::Level::Error, tr("%1: %2").arg(slotName(s), item.slotError[s]));
    }
  }
}

void ClassifyTab::onJobFinished(quint64 job) {
  m_jobs.erase(job);
  if (m_jobs.empty()) emit workFinished();
}

void ClassifyTab::showSelected() {
  const QModelIndex cur = m_list->currentIndex();
  if (!cur.isValid()) {
    m_predictions->clear();
    m_preview->setText(tr("No image selected"));
    m_path->clear();
    m_agreement->clear();
    m_latency->clear();
    return;
  }
  const auto& e = m_images->entry(cur.row());
  m_path->setText(e.path);
  // The preview is decoded at display size (JPEG decodes scaled); the thumbnail stands in
  // for formats Qt cannot read but OpenCV can.
  QImageReader reader(e.path);
  reader.setAutoTransform(true);
  const double dpr = m_preview->devicePixelRatioF();
  const QSize box = (m_preview->size().boundedTo(QSize(1024, 1024)).expandedTo(QSize(64, 64)) * dpr);
  if (reader.size().isValid()) reader.setScaledSize(reader.size().scaled(box, Qt::KeepAspectRatio));
  QImage img = reader.read();
  if (img.isNull()) img = e.thumbnail.scaled(box, Qt::KeepAspectRatio, Qt::SmoothTransformation);
  img.setDevicePixelRatio(dpr);
  if (img.isNull()) m_preview->setText(e.error.isEmpty() ? tr("(no preview)") : e.error);
  else m_preview->setPixmap(QPixmap::fromImage(img));
  m_predictions->setSlotTitles(m_ctx->slot(0).label, m_ctx->slot(1).label);
  m_predictions->setPredictions(e.top[0], e.top[1]);
  if (!e.error.isEmpty()) {
    m_agreement->setText(tr("Not classified: %1").arg(e.error));
    m_agreement->setStyleSheet(QStringLiteral("color: #c0392b;"));
  } else if (e.top[0] && e.top[1] && !e.top[0]->empty() && !e.top[1]->empty()) {
    const bool agree = m_predictions->top1Agrees();
    m_agreement->setText(agree ? tr("✓ A and B agree: %1").arg(QString::fromStdString(e.top[0]->front().name))
                               : tr("✗ A says %1, B says %2").arg(QString::fromStdString(e.top[0]->front().name), QString::fromStdString(e.top[1]->front().name)));
    m_agreement->setStyleSheet(agree ? QStringLiteral("color: #27ae60;") : QStringLiteral("color: #c0392b;"));
  } else {
    m_agreement->setText(e.top[0] || e.top[1] ? tr("Only one model has classified this image") : tr("Waiting for a model…"));
    m_agreement->setStyleSheet(QString());
  }
  QStringList lat;
  int batch = 0;
  for (int s = 0; s < kSlotCount; ++s)
    if (e.latencyMs[s] >= 0) {
      lat << tr("%1 %2 ms").arg(slotName(s)).arg(e.latencyMs[s], 0, 'f', 2);
      batch = std::max(batch, e.batch[s]);
    }
  // What the number is: one warm forward of this image's batch, not a median (Profile has those).
  m_latency->setText(lat.isEmpty() ? QString()
                                   : tr("Per image: %1 (one timed forward of a batch of %2 after a warm-up pass, divided by %2; "
                                        "the Profile tab gives medians over many runs)")
                                         .arg(lat.join(QStringLiteral(" · ")))
                                         .arg(batch));
}

}  // namespace swinscope::gui
