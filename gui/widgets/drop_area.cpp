#include "gui/widgets/drop_area.h"

#include <QDragEnterEvent>
#include <QMimeData>
#include <QPainter>
#include <QUrl>

namespace swinscope::gui {

DropArea::DropArea(QWidget* parent) : QFrame(parent) {
  setAcceptDrops(true);
  setFrameShape(QFrame::StyledPanel);
}

bool DropArea::acceptable(const QMimeData* mime) const {
  if (!mime) return false;
  if (m_acceptor) return m_acceptor(mime);
  if (mime->hasImage()) return true;
  for (const auto& u : mime->urls())
    if (u.isLocalFile()) return true;
  return false;
}

bool DropArea::handleMimeData(const QMimeData* mime) {
  if (!mime) return false;
  QStringList files;
  QStringList remote;
  for (const auto& u : mime->urls()) {
    if (u.isLocalFile()) files << u.toLocalFile();
    else remote << u.toDisplayString();
  }
  if (!files.isEmpty()) {
    emit filesDropped(files);
    if (!remote.isEmpty()) emit rejected(tr("Only local files can be opened; ignored: %1").arg(remote.join(QStringLiteral(", "))));
    return true;
  }
  if (mime->hasImage()) {
    const QImage img = qvariant_cast<QImage>(mime->imageData());
    if (!img.isNull()) {
      emit imageDropped(img);
      return true;
    }
  }
  if (!remote.isEmpty()) {
    emit rejected(tr("Only local files can be opened (download it first): %1").arg(remote.join(QStringLiteral(", "))));
    return false;
  }
  if (mime->hasText() && !mime->text().trimmed().isEmpty()) {
    // A path pasted as text is taken when it names an existing file.
    const QString t = mime->text().trimmed();
    const QUrl u = QUrl::fromUserInput(t);
    if (u.isLocalFile()) {
      emit filesDropped({u.toLocalFile()});
      return true;
    }
  }
  emit rejected(tr("Nothing to open: drop image files, folders of images, or an image"));
  return false;
}

void DropArea::dragEnterEvent(QDragEnterEvent* event) {
  if (!acceptable(event->mimeData())) return;
  event->acceptProposedAction();
  m_hovering = true;
  update();
}

void DropArea::dragMoveEvent(QDragMoveEvent* event) {
  if (acceptable(event->mimeData())) event->acceptProposedAction();
}

void DropArea::dragLeaveEvent(QDragLeaveEvent*) {
  m_hovering = false;
  update();
}

void DropArea::dropEvent(QDropEvent* event) {
  m_hovering = false;
  update();
  if (handleMimeData(event->mimeData())) event->acceptProposedAction();
}

void DropArea::paintEvent(QPaintEvent* event) {
  QFrame::paintEvent(event);
  if (!m_hovering) return;
  QPainter p(this);
  QColor c = palette().color(QPalette::Highlight);
  p.setPen(QPen(c, 2, Qt::DashLine));
  c.setAlpha(40);
  p.setBrush(c);
  p.drawRoundedRect(rect().adjusted(2, 2, -2, -2), 6, 6);
}

}  // namespace swinscope::gui
