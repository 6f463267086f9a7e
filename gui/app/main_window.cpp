#include "gui/app/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScreen>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include "gui/app/app_context.h"
#include "gui/app/classify_tab.h"
#include "gui/app/compare_tab.h"
#include "gui/app/numerics_tab.h"
#include "gui/app/evaluate_tab.h"
#include "gui/app/profile_tab.h"
#include "gui/app/slot_panel.h"
#include "gui/models/image_list_model.h"
#include "gui/models/stage_style.h"

namespace swinscope::gui {

namespace {

constexpr int kMaxRecent = 10;

// The bundled model of a kind: *gelu*.int8 for A (not a GELU-less one), *relu*.int8 for B.
QString bundledModel(const QString& assets, bool gelu) {
  const QDir dir(QDir(assets).filePath(QStringLiteral("models")));
  const auto files = dir.entryList({QStringLiteral("*.int8.safetensors")}, QDir::Files, QDir::Name);
  for (const auto& f : files) {
    const QString lower = f.toLower();
    const bool relu = lower.contains(QLatin1String("relu")) || lower.contains(QLatin1String("geluless")) ||
                      lower.contains(QLatin1String("gelu-less")) || lower.contains(QLatin1String("gelu_less"));
    if (gelu ? (lower.contains(QLatin1String("gelu")) && !relu) : relu) return dir.filePath(f);
  }
  return {};
}

}  // namespace

QString MainWindow::findAssetsDir() {
  QStringList candidates;
  const QString env = qEnvironmentVariable("SWINSCOPE_ASSETS");
  if (!env.isEmpty()) candidates << env;
  const QString appDir = QCoreApplication::applicationDirPath();
  // Installed (bin/../share/swinscope/assets), then build trees (build/<preset>/gui/swinscope).
  candidates << QDir(appDir).filePath(QStringLiteral("../share/swinscope/assets")) << QDir(appDir).filePath(QStringLiteral("../../../assets"))
             << QDir(appDir).filePath(QStringLiteral("../../assets"));
#ifdef SWINSCOPE_SOURCE_DIR
  candidates << QStringLiteral(SWINSCOPE_SOURCE_DIR "/assets");
#endif
  for (const auto& c : candidates) {
    const QFileInfo fi(c);
    if (fi.isDir() && (QFileInfo(c + QStringLiteral("/models")).isDir() || QFileInfo(c + QStringLiteral("/samples")).isDir()))
      return fi.canonicalFilePath();
  }
  return {};
}

MainWindow::MainWindow(MainWindowOptions options, QWidget* parent) : QMainWindow(parent), m_options(std::move(options)) {
  setWindowTitle(tr("SwinScope"));
  setObjectName(QStringLiteral("SwinScopeMainWindow"));
  m_ctx = new AppContext(this);

  auto* central = new QWidget(this);
  auto* lay = new QVBoxLayout(central);
  lay->setContentsMargins(6, 6, 6, 0);
  m_messageBar = new MessageBar(central);
  lay->addWidget(m_messageBar);

  auto* split = new QSplitter(Qt::Vertical, central);
  m_split = split;
  split->setObjectName(QStringLiteral("mainSplitter"));
  auto* slotsBox = new QWidget(split);
  auto* slotsLay = new QHBoxLayout(slotsBox);
  slotsLay->setContentsMargins(0, 0, 0, 0);
  for (int s = 0; s < kSlotCount; ++s) {
    m_panels[s] = new SlotPanel(s, slotsBox);
    slotsLay->addWidget(m_panels[s], 1);
    connect(m_panels[s], &SlotPanel::openRequested, this, &MainWindow::openModelDialog);
    connect(m_panels[s], &SlotPanel::sourceChosen, m_ctx, &AppContext::load);
    connect(m_panels[s], &SlotPanel::randomChosen, m_ctx, &AppContext::loadRandom);
    connect(m_panels[s], &SlotPanel::unloadRequested, m_ctx, &AppContext::unload);
    connect(m_panels[s], &SlotPanel::reconfigureRequested, m_ctx, &AppContext::reconfigure);
    connect(m_panels[s], &SlotPanel::problem, this, [this](const QString& t) { m_ctx->report(MessageBar::Level::Error, t); });
    // Both panels open and close their details together: they sit side by side in one pane.
    connect(m_panels[s], &SlotPanel::detailsToggled, this, [this, s](bool on) {
      m_panels[1 - s]->setDetailsShown(on);
      fitSlotPanels();
    });
  }
  m_tabs = new QTabWidget(split);
  m_tabs->setDocumentMode(true);
  m_classify = new ClassifyTab(m_ctx, m_tabs);
  m_evaluate = new EvaluateTab(m_ctx, m_tabs);
  m_profile = new ProfileTab(m_ctx, m_tabs);
  m_compare = new CompareTab(m_ctx, m_tabs);
  m_tabs->addTab(m_classify, tr("&Classify"));
  m_tabs->addTab(m_evaluate, tr("&Evaluate"));
  m_tabs->addTab(m_profile, tr("&Profile"));
  m_tabs->addTab(m_compare, tr("Co&mpare"));
  m_numerics = new NumericsTab(m_ctx, m_tabs);
  m_tabs->addTab(m_numerics, tr("&Numerics"));
  split->addWidget(slotsBox);
  split->addWidget(m_tabs);
  split->setStretchFactor(0, 0);
  split->setStretchFactor(1, 1);
  split->setCollapsible(1, false);
  lay->addWidget(split, 1);
  setCentralWidget(central);

  m_log = new QPlainTextEdit(this);
  m_log->setReadOnly(true);
  m_log->setMaximumBlockCount(5000);
  m_logDock = new QDockWidget(tr("Messages"), this);
  m_logDock->setObjectName(QStringLiteral("messagesDock"));
  m_logDock->setWidget(m_log);
  addDockWidget(Qt::BottomDockWidgetArea, m_logDock);
  m_logDock->hide();

  buildMenus();
  buildStatusBar();

  connect(m_ctx, &AppContext::message, this, &MainWindow::onMessage);
  connect(m_ctx, &AppContext::reportsCleared, m_messageBar, &MessageBar::clearAction);
  connect(m_ctx, &AppContext::slotChanged, this, &MainWindow::updateSlot);
  connect(m_ctx, &AppContext::modelFileLoaded, this, &MainWindow::addRecent);
  connect(m_ctx, &AppContext::backendKnown, this, [this] {
    for (int s = 0; s < kSlotCount; ++s) updateSlot(s);
  });
  connect(&m_ctx->runner(), &JobRunner::queueChanged, this, &MainWindow::updateStatus);
  connect(&m_ctx->runner(), &JobRunner::finished, this, &MainWindow::updateStatus);
  connect(m_messageBar, &MessageBar::logRequested, this, [this] {
    m_logDock->show();
    m_logDock->raise();
  });
  connect(m_evaluate, &EvaluateTab::evaluated, m_compare, &CompareTab::setEvaluation);
  connect(m_profile, &ProfileTab::profiled, m_compare, &CompareTab::setLatency);
  // A failed step clears the rows it would have replaced (issue 15 item 2).
  connect(m_evaluate, &EvaluateTab::failed, m_compare, &CompareTab::clearEvaluation);
  connect(m_profile, &ProfileTab::failed, m_compare, &CompareTab::clearLatency);
  connect(m_compare, &CompareTab::runAllRequested, this, &MainWindow::runAll);
  connect(m_compare, &CompareTab::flippedImagesRequested, this, [this] {
    m_tabs->setCurrentWidget(m_evaluate);
    m_evaluate->showFlipped();
  });

  loadSettings();
  for (int s = 0; s < kSlotCount; ++s) updateSlot(s);
  updateStatus();
  preload();

  if (!m_options.screenshotDir.isEmpty()) {
    m_shotTimer = new QTimer(this);
    m_shotTimer->setInterval(250);
    connect(m_shotTimer, &QTimer::timeout, this, &MainWindow::screenshotStep);
    m_shotTimer->start();
  }
}

MainWindow::~MainWindow() {
  // Stop the worker before the tabs it reports to go away.
  m_ctx->runner().shutdown();
}

QString MainWindow::log() const { return m_log->toPlainText(); }

bool MainWindow::idle() const { return m_ctx->runner().idle(); }

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* openA = file->addAction(tr("Open model into &A…"), this, [this] { openModelDialog(0); });
  openA->setShortcut(QKeySequence::Open);
  QAction* openB = file->addAction(tr("Open model into &B…"), this, [this] { openModelDialog(1); });
  openB->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
  for (int s = 0; s < kSlotCount; ++s) file->addMenu(m_panels[s]->recentMenu());
  for (int s = 0; s < kSlotCount; ++s) file->addMenu(m_panels[s]->randomMenu());
  file->addSeparator();
  QAction* images = file->addAction(tr("Open &images…"), this, [this] {
    m_tabs->setCurrentWidget(m_classify);
    m_classify->openImages();
  });
  images->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
  QAction* paste = file->addAction(tr("&Paste image"), this, [this] {
    m_tabs->setCurrentWidget(m_classify);
    m_classify->paste();
  });
  paste->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_V));
  file->addSeparator();
  QAction* openTrace = file->addAction(tr("Open &trace…"), this, [this] {
    m_tabs->setCurrentWidget(m_profile);
    m_profile->openTraceDialog();
  });
  openTrace->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
  file->addAction(tr("Export trace as &JSON…"), m_profile, &ProfileTab::exportJsonDialog);
  file->addAction(tr("Export trace as &CSV…"), m_profile, &ProfileTab::exportCsvDialog);
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  QAction* eval = run->addAction(tr("&Evaluate A and B"), this, [this] {
    m_tabs->setCurrentWidget(m_evaluate);
    m_evaluate->run();
  });
  eval->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
  QAction* prof = run->addAction(tr("&Profile A and B"), this, [this] {
    m_tabs->setCurrentWidget(m_profile);
    m_profile->run();
  });
  prof->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
  QAction* all = run->addAction(tr("Evaluate &and profile (Table 2)"), this, &MainWindow::runAll);
  all->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
  run->addAction(tr("Profile every &variant (CPU)"), this, [this] {
    m_tabs->setCurrentWidget(m_compare);
    m_compare->showVariants();
    m_compare->profileVariants();
  });
  run->addSeparator();
  QAction* cancel = run->addAction(tr("&Cancel"), this, &MainWindow::cancelCurrent);
  cancel->setShortcut(QKeySequence(Qt::Key_Escape));

  QMenu* view = menuBar()->addMenu(tr("&View"));
  for (int i = 0; i < m_tabs->count(); ++i) {
    QAction* a = view->addAction(m_tabs->tabText(i).remove(QLatin1Char('&')), this, [this, i] { m_tabs->setCurrentIndex(i); });
    a->setShortcut(QKeySequence(Qt::CTRL | static_cast<Qt::Key>(Qt::Key_1 + i)));
  }
  view->addSeparator();
  QAction* log = m_logDock->toggleViewAction();
  log->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
  view->addAction(log);

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("&About SwinScope"), this, [this] {
    QMessageBox::about(this, tr("About SwinScope"), aboutText());
  });
}

QString MainWindow::aboutText() {
  return tr("<p><b>SwinScope %1</b> — int8 SWIN transformers with and without GELU, side by side.</p>"
            "<p>After <i>Faster Inference of Integer SWIN Transformer by Removing the GELU Activation</i> "
            "(Tayaranian et al., arXiv 2402.01169).</p>"
            "<p>Shortcuts: Ctrl+O / Ctrl+Shift+O open a model into A / B, Ctrl+I open images, "
            "Ctrl+Shift+V paste an image, Ctrl+E evaluate, Ctrl+P profile, Ctrl+T open a trace, "
            "Esc cancel, Ctrl+1…4 switch tabs, Ctrl+L messages.</p>"
            "<p>Qt %2</p>")
      .arg(QStringLiteral(SWINSCOPE_VERSION), QString::fromLatin1(qVersion()));
}

void MainWindow::buildStatusBar() {
  m_jobBusy = new QProgressBar(this);
  m_jobBusy->setRange(0, 0);
  m_jobBusy->setMaximumWidth(100);
  m_jobBusy->setMaximumHeight(14);
  m_jobBusy->setTextVisible(false);
  m_jobLabel = new QLabel(this);
  m_cancelButton = new QToolButton(this);
  m_cancelButton->setText(tr("Cancel"));
  m_cancelButton->setToolTip(tr("Cancel the running job (Esc)"));
  m_cancelButton->setAutoRaise(true);
  connect(m_cancelButton, &QToolButton::clicked, this, &MainWindow::cancelCurrent);
  m_backendLabel = new QLabel(this);
  statusBar()->addWidget(m_jobBusy);
  statusBar()->addWidget(m_jobLabel, 1);
  statusBar()->addWidget(m_cancelButton);
  statusBar()->addPermanentWidget(m_backendLabel);
}

void MainWindow::updateStatus() {
  const QString running = m_ctx->runner().runningLabel();
  const int pending = m_ctx->runner().pendingCount();
  if (running.isEmpty() && pending == 0) {
    m_jobLabel->setText(tr("Ready"));
  } else {
    QString t = running.isEmpty() ? tr("Starting…") : running + QStringLiteral("…");
    if (pending > 0) t += tr("  (%n more queued)", nullptr, pending);
    m_jobLabel->setText(t);
  }
  const bool busy = !running.isEmpty() || pending > 0;
  m_jobBusy->setVisible(busy);
  m_cancelButton->setVisible(busy);
  const BackendChoice b = m_ctx->backend();
  if (b.device.empty()) {
    m_backendLabel->setText(tr("detecting devices…"));
    return;
  }
  QString text = QStringLiteral("%1 · %2").arg(b.backend == Backend::CUDA ? QStringLiteral("CUDA") : (b.backend == Backend::CUDAEmu ? QStringLiteral("CUDA (emulated)") : QStringLiteral("CPU")),
                                               QString::fromStdString(b.device));
  if (!b.notice.empty()) text += tr(" · CUDA not used");
  m_backendLabel->setText(text);
  m_backendLabel->setToolTip(b.notice.empty() ? QString::fromStdString(b.device) : QString::fromStdString(b.notice));
}

void MainWindow::fitSlotPanels() {
  QWidget* top = m_split->widget(0);
  top->setMinimumHeight(0);
  // Word-wrapped notices take more lines than the minimum size hint assumes: ask the layout
  // for the height at the pane's actual width.
  int need = top->minimumSizeHint().height();
  // (Only once shown: before that the width is a placeholder and the answer far too tall.)
  if (top->isVisible() && top->layout() && top->layout()->hasHeightForWidth())
    need = std::max(need, top->layout()->totalHeightForWidth(top->width()));
  top->setMinimumHeight(need);
  // The compact panels take what they need, no more (issue 15, layout): the splitter does
  // not resize a pane by itself, so a panel that grew (Details) or shrank is fitted here and
  // every spare pixel goes to the tabs.
  if (auto sizes = m_split->sizes(); sizes.size() == 2 && sizes[0] + sizes[1] > 0 && sizes[0] != need) {
    sizes[1] = std::max(0, sizes[1] + sizes[0] - need);
    sizes[0] = need;
    m_split->setSizes(sizes);
  }
}

void MainWindow::updateSlot(int slot) {
  m_panels[slot]->setState(m_ctx->slot(slot), m_ctx->backend());
  fitSlotPanels();
  QStringList loaded;
  for (int s = 0; s < kSlotCount; ++s)
    if (m_ctx->hasModel(s)) loaded << QStringLiteral("%1: %2").arg(slotName(s), m_ctx->slot(s).label);
  setWindowTitle(loaded.isEmpty() ? tr("SwinScope") : tr("SwinScope — %1").arg(loaded.join(QStringLiteral(" · "))));
  updateStatus();
}

void MainWindow::onMessage(MessageBar::Level level, const QString& text, const QString& action) {
  const char* tag = level == MessageBar::Level::Error ? "error" : level == MessageBar::Level::Warning ? "warning" : "info";
  m_log->appendPlainText(QStringLiteral("%1  %2  %3").arg(QTime::currentTime().toString(QStringLiteral("HH:mm:ss")), QLatin1String(tag), text));
  m_messageBar->showMessage(level, text, action);
  statusBar()->showMessage(text, 8000);
}

void MainWindow::openModelDialog(int slot) {
  QString start = m_lastModelDir;
  if (start.isEmpty()) {
    const QString assets = m_options.assetsDir.isEmpty() ? findAssetsDir() : m_options.assetsDir;
    start = assets.isEmpty() ? QDir::homePath() : QDir(assets).filePath(QStringLiteral("models"));
  }
  const QString f = QFileDialog::getOpenFileName(this, tr("Open a model into %1").arg(slotName(slot)), start,
                                                 tr("SWIN models (*.safetensors);;All files (*)"));
  if (f.isEmpty()) return;
  m_lastModelDir = QFileInfo(f).absolutePath();
  m_ctx->load(slot, f);
}

void MainWindow::addRecent(const QString& path) {
  const QString abs = QFileInfo(path).absoluteFilePath();
  m_recent.removeAll(abs);
  m_recent.prepend(abs);
  while (m_recent.size() > kMaxRecent) m_recent.removeLast();
  for (auto* p : m_panels) p->setRecentFiles(m_recent);
  settings()->setValue(QStringLiteral("recent/models"), m_recent);
}

std::unique_ptr<QSettings> MainWindow::settings() const {
  if (!m_options.settingsFile.isEmpty()) return std::make_unique<QSettings>(m_options.settingsFile, QSettings::IniFormat);
  return std::make_unique<QSettings>();
}

void MainWindow::loadSettings() {
  auto s = settings();
  m_recent = s->value(QStringLiteral("recent/models")).toStringList();
  m_recent.erase(std::remove_if(m_recent.begin(), m_recent.end(), [](const QString& f) { return !QFileInfo::exists(f); }), m_recent.end());
  for (auto* p : m_panels) p->setRecentFiles(m_recent);
  m_lastModelDir = s->value(QStringLiteral("recent/modelDir")).toString();
  m_evaluate->setDataset(s->value(QStringLiteral("evaluate/dir")).toString(), s->value(QStringLiteral("evaluate/labels")).toString());
  m_evaluate->setBatch(s->value(QStringLiteral("evaluate/batch"), 8).toInt());
  m_evaluate->setLimit(s->value(QStringLiteral("evaluate/limit"), 0).toLongLong());
  m_profile->setSettings(s->value(QStringLiteral("profile/batch"), 1).toInt(), s->value(QStringLiteral("profile/runs"), 10).toInt(),
                         s->value(QStringLiteral("profile/warmup"), 2).toInt());
  if (!restoreGeometry(s->value(QStringLiteral("window/geometry")).toByteArray())) {
    // First start: most of the screen, not all of it.
    const QRect avail = screen() ? screen()->availableGeometry() : QRect(0, 0, 1400, 900);
    resize(std::min(1440, avail.width() * 9 / 10), std::min(960, avail.height() * 9 / 10));
  }
  restoreState(s->value(QStringLiteral("window/state")).toByteArray());
  for (auto* sp : findChildren<QSplitter*>())
    if (!sp->objectName().isEmpty()) sp->restoreState(s->value(QStringLiteral("splitters/") + sp->objectName()).toByteArray());
  m_tabs->setCurrentIndex(s->value(QStringLiteral("window/tab"), 0).toInt());
}

void MainWindow::saveSettings() {
  auto s = settings();
  s->setValue(QStringLiteral("window/geometry"), saveGeometry());
  s->setValue(QStringLiteral("window/state"), saveState());
  s->setValue(QStringLiteral("window/tab"), m_tabs->currentIndex());
  for (auto* sp : findChildren<QSplitter*>())
    if (!sp->objectName().isEmpty()) s->setValue(QStringLiteral("splitters/") + sp->objectName(), sp->saveState());
  s->setValue(QStringLiteral("recent/models"), m_recent);
  s->setValue(QStringLiteral("recent/modelDir"), m_lastModelDir);
  // The models in A and B, restored at the next start.
  for (int slot = 0; slot < kSlotCount; ++slot) s->setValue(QStringLiteral("models/") + slotName(slot), m_ctx->slot(slot).source);
  s->setValue(QStringLiteral("evaluate/dir"), m_evaluate->datasetDir());
  s->setValue(QStringLiteral("evaluate/labels"), m_evaluate->labelsFile());
  s->setValue(QStringLiteral("evaluate/batch"), m_evaluate->batch());
  s->setValue(QStringLiteral("evaluate/limit"), static_cast<qlonglong>(m_evaluate->limit()));
  s->setValue(QStringLiteral("profile/batch"), m_profile->batch());
  s->setValue(QStringLiteral("profile/runs"), m_profile->runs());
  s->setValue(QStringLiteral("profile/warmup"), m_profile->warmup());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  m_ctx->runner().cancelAll();
  QMainWindow::closeEvent(event);
}

void MainWindow::preload() {
  const QString assets = m_options.assetsDir.isEmpty() ? findAssetsDir() : m_options.assetsDir;
  QString sources[2] = {m_options.modelA, m_options.modelB};
  if (m_options.preloadDefaults) {
    // The models of the last session come back (issue 15 item 9); a file that is gone falls
    // back to the bundled model, saying so. The command line wins over both.
    auto s = settings();
    for (int slot = 0; slot < kSlotCount; ++slot) {
      if (!sources[slot].isEmpty()) continue;
      const QString last = s->value(QStringLiteral("models/") + slotName(slot)).toString();
      const QString bundled = assets.isEmpty() ? QString() : bundledModel(assets, slot == 0);
      if (!last.isEmpty() && (last.startsWith(QLatin1String("random:")) || QFileInfo::exists(last))) {
        sources[slot] = last;
        continue;
      }
      sources[slot] = bundled;
      if (!last.isEmpty())
        m_ctx->report(MessageBar::Level::Warning,
                      bundled.isEmpty() ? tr("%1: the last model, %2, is gone").arg(slotName(slot), last)
                                        : tr("%1: the last model, %2, is gone; the bundled %3 is loaded instead")
                                              .arg(slotName(slot), last, QFileInfo(bundled).fileName()),
                      AppContext::slotAction(slot));
    }
  }
  for (int s = 0; s < kSlotCount; ++s)
    if (!sources[s].isEmpty()) m_ctx->load(s, sources[s]);
  if (m_options.preloadDefaults && sources[0].isEmpty() && sources[1].isEmpty())
    m_ctx->report(MessageBar::Level::Info, tr("No bundled models found: open a model into A and B (Ctrl+O, Ctrl+Shift+O) or create a random SWIN from a slot's menu."));
  if (!m_options.dataset.isEmpty()) m_evaluate->setDataset(m_options.dataset, m_options.labels);
  else if (m_evaluate->datasetDir().isEmpty() && !assets.isEmpty() && QFileInfo(assets + QStringLiteral("/samples")).isDir())
    m_evaluate->setDataset(assets + QStringLiteral("/samples"));
  if (m_numerics->dataset().isEmpty()) m_numerics->setDataset(m_evaluate->datasetDir());
  if (!m_options.images.isEmpty()) m_classify->addPaths(m_options.images);
}

void MainWindow::runAll() {
  m_tabs->setCurrentWidget(m_compare);
  // Both go to the serial worker: evaluation first, then profiling, never at the same time.
  // An evaluation that cannot start (a bad dataset) stops the pair: Table 2 would otherwise
  // show new latencies beside no accuracy, or beside an earlier dataset's.
  if (!m_evaluate->isRunning() && !m_evaluate->run()) return;
  if (!m_profile->isRunning()) m_profile->run();
}

void MainWindow::cancelCurrent() {
  // The visible tab's job first; otherwise whatever the worker is running.
  if (m_tabs->currentWidget() == m_evaluate && m_evaluate->isRunning()) return m_evaluate->cancel();
  if (m_tabs->currentWidget() == m_profile && m_profile->isRunning()) return m_profile->cancel();
  if (m_evaluate->isRunning()) return m_evaluate->cancel();
  if (m_profile->isRunning()) return m_profile->cancel();
  if (m_compare->isProfilingVariants()) return m_compare->cancelVariants();
  const quint64 running = m_ctx->runner().runningId();
  if (running) m_ctx->runner().cancel(running);
}

void MainWindow::screenshotStep() {
  // One PNG per tab, each taken after that tab's work has finished: the same window a
  // user sees, driven by the same code paths (used by scripts/screenshots under Xvfb).
  const bool busy = !m_ctx->runner().idle() || m_classify->busy() || m_evaluate->isRunning() || m_profile->isRunning() ||
                    m_compare->isProfilingVariants() ||
                    m_numerics->isRunning();
  if (++m_shotWaits > 4 * 60 * 20) {
    fprintf(stderr, "screenshots: gave up waiting after 20 minutes\n");
    QCoreApplication::exit(3);
    return;
  }
  if (busy) return;
  const QDir dir(m_options.screenshotDir);
  auto grabTo = [&](const QString& name) {
    const QString path = dir.filePath(name);
    if (!grab().save(path, "PNG")) {
      fprintf(stderr, "screenshots: cannot write %s\n", qPrintable(path));
      QCoreApplication::exit(2);
      return false;
    }
    fprintf(stderr, "screenshots: wrote %s\n", qPrintable(path));
    return true;
  };
  switch (m_shotStep++) {
    case 0:  // models loaded; show the first image
      m_tabs->setCurrentWidget(m_classify);
      if (m_classify->images()->rowCount() > 0) m_classify->select(0);
      break;
    case 1:
      if (!grabTo(QStringLiteral("classify.png"))) return;
      m_tabs->setCurrentWidget(m_evaluate);
      m_evaluate->run();
      break;
    case 2:
      if (!grabTo(QStringLiteral("evaluate.png"))) return;
      m_tabs->setCurrentWidget(m_profile);
      m_profile->run();
      break;
    case 3:
      if (!grabTo(QStringLiteral("profile.png"))) return;
      m_tabs->setCurrentWidget(m_compare);
      break;
    case 4:
      if (!grabTo(QStringLiteral("compare.png"))) return;
      m_compare->profileVariants();  // its Variants view: every variant of both files on the CPU
      break;
    case 5:
      if (!grabTo(QStringLiteral("compare-variants.png"))) return;
      m_tabs->setCurrentWidget(m_numerics);
      m_numerics->run();
      break;
    case 6:
      if (!grabTo(QStringLiteral("numerics.png"))) return;
      m_shotTimer->stop();
      QCoreApplication::exit(0);
      break;
    default: break;
  }
}

}  // namespace swinscope::gui
