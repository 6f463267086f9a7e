#include "gui/widgets/message_bar.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QTimer>
#include <QToolButton>

namespace swinscope::gui {

MessageBar::MessageBar(QWidget* parent) : QFrame(parent) {
  setObjectName(QStringLiteral("messageBar"));
  setFrameShape(QFrame::StyledPanel);
  auto* lay = new QHBoxLayout(this);
  lay->setContentsMargins(8, 4, 4, 4);
  m_icon = new QLabel(this);
  m_label = new QLabel(this);
  m_label->setWordWrap(true);
  m_label->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_label->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
  m_more = new QToolButton(this);
  m_more->setAutoRaise(true);
  m_more->setToolTip(tr("Show all messages"));
  connect(m_more, &QToolButton::clicked, this, &MessageBar::logRequested);
  m_close = new QToolButton(this);
  m_close->setAutoRaise(true);
  m_close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
  m_close->setToolTip(tr("Dismiss"));
  connect(m_close, &QToolButton::clicked, this, &MessageBar::dismiss);
  lay->addWidget(m_icon);
  lay->addWidget(m_label, 1);
  lay->addWidget(m_more);
  lay->addWidget(m_close);
  // Information goes away by itself; warnings and errors wait to be dismissed.
  m_fade = new QTimer(this);
  m_fade->setSingleShot(true);
  m_fade->setInterval(10000);
  connect(m_fade, &QTimer::timeout, this, &MessageBar::dismiss);
  hide();
}

void MessageBar::showMessage(Level level, const QString& text, const QString& action) {
  // An error stays visible until dismissed or its action succeeds: a later info message does not hide it.
  if (!isHidden() && m_level == Level::Error && level != Level::Error) {
    ++m_count;
    m_more->setText(tr("+%1 more").arg(m_count - 1));
    m_more->setVisible(true);
    return;
  }
  m_level = level;
  m_text = text;
  m_action = action;
  ++m_count;
  m_label->setText(text);
  m_more->setText(tr("+%1 more").arg(m_count - 1));
  m_more->setVisible(m_count > 1);
  restyle();
  show();
  if (level == Level::Info) m_fade->start();
  else m_fade->stop();
}

void MessageBar::clearAction(const QString& action) {
  if (!action.isEmpty() && !isHidden() && m_action == action) dismiss();
}

void MessageBar::dismiss() {
  m_fade->stop();
  m_count = 0;
  m_text.clear();
  m_action.clear();
  hide();
}

void MessageBar::restyle() {
  const QStyle::StandardPixmap icon = m_level == Level::Error     ? QStyle::SP_MessageBoxCritical
                                      : m_level == Level::Warning ? QStyle::SP_MessageBoxWarning
                                                                  : QStyle::SP_MessageBoxInformation;
  const int px = style()->pixelMetric(QStyle::PM_SmallIconSize, nullptr, this);
  m_icon->setPixmap(style()->standardIcon(icon).pixmap(px, px));
  // Tinted from the level's colour with low alpha so it reads on light and dark palettes.
  const QColor c = m_level == Level::Error ? QColor(0xda, 0x44, 0x53) : m_level == Level::Warning ? QColor(0xf6, 0x74, 0x00) : QColor(0x3d, 0xae, 0xe9);
  setStyleSheet(QStringLiteral("#messageBar { background-color: rgba(%1,%2,%3,40); border: 1px solid rgb(%1,%2,%3); border-radius: 4px; }")
                    .arg(c.red())
                    .arg(c.green())
                    .arg(c.blue()));
}

}  // namespace swinscope::gui
