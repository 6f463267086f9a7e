#pragma once
// An inline message strip above the tabs (like KDE's KMessageWidget): the latest message
// with its level and a close button. Bursts of errors (a folder of bad files) update one
// strip and count the rest instead of opening a dialog per file; the full list is in the
// window's message log.
#include <QFrame>

class QLabel;
class QTimer;
class QToolButton;

namespace swinscope::gui {

class MessageBar : public QFrame {
  Q_OBJECT
 public:
  enum class Level { Info, Warning, Error };
  Q_ENUM(Level)
  explicit MessageBar(QWidget* parent = nullptr);

  // `action`: what caused the message ("evaluate", "profile", "slot A", ...); clearAction(action)
  // takes it down when that action later succeeds (issue 15 item 7). Empty: no owner.
  void showMessage(Level level, const QString& text, const QString& action = {});
  void clearAction(const QString& action);
  QString action() const { return m_action; }
  void dismiss();
  QString text() const { return m_text; }
  Level level() const { return m_level; }
  // Messages shown since the strip was last dismissed.
  int count() const { return m_count; }

 signals:
  void logRequested();

 private:
  void restyle();

  QLabel* m_icon = nullptr;
  QLabel* m_label = nullptr;
  QToolButton* m_more = nullptr;
  QToolButton* m_close = nullptr;
  QTimer* m_fade = nullptr;
  QString m_text;
  QString m_action;
  Level m_level = Level::Info;
  int m_count = 0;
};

}  // namespace swinscope::gui
