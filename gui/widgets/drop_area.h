#pragma once
// A frame that takes files, folders and images dropped from a file manager or a browser
// and hands them on as paths or an image. handleMimeData() is the same path a drop takes,
// for paste (the clipboard holds the same mime data) and for tests.
#include <QFrame>
#include <QImage>
#include <QStringList>
#include <functional>

class QMimeData;

namespace swinscope::gui {

class DropArea : public QFrame {
  Q_OBJECT
 public:
  explicit DropArea(QWidget* parent = nullptr);

  // What the area takes: decides the highlight while dragging. Default: any local file or image.
  void setAcceptor(std::function<bool(const QMimeData*)> acceptor) { m_acceptor = std::move(acceptor); }
  // Emits filesDropped / imageDropped / rejected as a drop would; true when something was taken.
  bool handleMimeData(const QMimeData* mime);

 signals:
  void filesDropped(const QStringList& paths);
  void imageDropped(const QImage& image);
  void rejected(const QString& why);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dragMoveEvent(QDragMoveEvent* event) override;
  void dragLeaveEvent(QDragLeaveEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void paintEvent(QPaintEvent* event) override;

 private:
  bool acceptable(const QMimeData* mime) const;

  std::function<bool(const QMimeData*)> m_acceptor;
  bool m_hovering = false;
};

}  // namespace swinscope::gui
