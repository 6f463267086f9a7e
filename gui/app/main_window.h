#pragma once
// The SwinScope window: model slots A and B above four tabs (Classify, Evaluate, Profile,
// Compare), an inline message bar, a message log, and a status bar with the backend, the
// device and what is running. Settings, window state and recent models persist in QSettings.
#include <QMainWindow>
#include <QStringList>

#include <memory>

#include "gui/widgets/message_bar.h"

class QDockWidget;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QSettings;
class QSplitter;
class QTabWidget;
class QTimer;
class QToolButton;

namespace swinscope::gui {

class AppContext;
class ClassifyTab;
class CompareTab;
class NumericsTab;
class EvaluateTab;
class ProfileTab;
class SlotPanel;

struct MainWindowOptions {
  QString settingsFile;         // empty: the user's settings (QSettings' default location)
  bool preloadDefaults = true;  // the bundled int8 GELU (A) and GELU-less (B) models
  QString modelA, modelB;       // a file or random:ARCH[:gelu|relu][:fp32|int8]; override the defaults
  QStringList images;           // opened in Classify at start
  QString dataset, labels;      // preset in Evaluate
  QString assetsDir;            // empty: found next to the binary or the source tree
  QString screenshotDir;        // hidden: run every tab, save one PNG each, quit
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(MainWindowOptions options = {}, QWidget* parent = nullptr);
  ~MainWindow() override;

  AppContext* context() const { return m_ctx; }
  ClassifyTab* classifyTab() const { return m_classify; }
  EvaluateTab* evaluateTab() const { return m_evaluate; }
  ProfileTab* profileTab() const { return m_profile; }
  CompareTab* compareTab() const { return m_compare; }
  NumericsTab* numericsTab() const { return m_numerics; }
  // Help ▸ About: what the app is, its version, the shortcuts.
  static QString aboutText();
  MessageBar* messageBar() const { return m_messageBar; }
  SlotPanel* slotPanel(int slot) const { return m_panels[slot]; }
  QTabWidget* tabs() const { return m_tabs; }
  QStringList recentFiles() const { return m_recent; }
  QString log() const;
  // True when no job is queued or running.
  bool idle() const;

  // The assets folder (models/, samples/) next to the binary or in the source tree; empty if none.
  static QString findAssetsDir();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void buildStatusBar();
  std::unique_ptr<QSettings> settings() const;
  void loadSettings();
  void saveSettings();
  void addRecent(const QString& path);
  void openModelDialog(int slot);
  void onMessage(MessageBar::Level level, const QString& text, const QString& action);
  void updateStatus();
  void updateSlot(int slot);
  void preload();
  void runAll();
  void cancelCurrent();
  void screenshotStep();
  void fitSlotPanels();

  MainWindowOptions m_options;
  AppContext* m_ctx = nullptr;
  SlotPanel* m_panels[2] = {nullptr, nullptr};
  QTabWidget* m_tabs = nullptr;
  QSplitter* m_split = nullptr;  // slot panels above, tabs below
  ClassifyTab* m_classify = nullptr;
  EvaluateTab* m_evaluate = nullptr;
  ProfileTab* m_profile = nullptr;
  CompareTab* m_compare = nullptr;
  NumericsTab* m_numerics = nullptr;
  MessageBar* m_messageBar = nullptr;
  QDockWidget* m_logDock = nullptr;
  QPlainTextEdit* m_log = nullptr;
  QLabel* m_jobLabel = nullptr;
  QProgressBar* m_jobBusy = nullptr;
  QToolButton* m_cancelButton = nullptr;
  QLabel* m_backendLabel = nullptr;
  QStringList m_recent;
  QString m_lastModelDir;
  bool m_runAllPending = false;
  // Screenshot mode
  QTimer* m_shotTimer = nullptr;
  int m_shotStep = 0;
  int m_shotWaits = 0;
};

}  // namespace swinscope::gui
