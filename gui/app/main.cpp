// swinscope: the desktop app. Command-line options preset what the window shows; the
// hidden --screenshot-dir runs every tab and saves one PNG each (scripts/screenshots).
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QIcon>
#include <QTemporaryDir>

#include <cstdio>

#include "gui/app/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QCoreApplication::setOrganizationName(QStringLiteral("SwinScope"));
  QCoreApplication::setApplicationName(QStringLiteral("swinscope"));
  QCoreApplication::setApplicationVersion(QStringLiteral(SWINSCOPE_VERSION));
  QGuiApplication::setDesktopFileName(QStringLiteral("swinscope"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral(
      "SwinScope: int8 SWIN transformers with GELU (A) and without (B), side by side — classify, evaluate, profile, compare."));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption modelA(QStringList{QStringLiteral("a"), QStringLiteral("model-a")},
                                  QStringLiteral("Model for slot A: a .safetensors file or random:ARCH[:gelu|relu][:fp32|int8]."),
                                  QStringLiteral("MODEL"));
  const QCommandLineOption modelB(QStringList{QStringLiteral("b"), QStringLiteral("model-b")}, QStringLiteral("Model for slot B (as --model-a)."),
                                  QStringLiteral("MODEL"));
  const QCommandLineOption dataset(QStringLiteral("dataset"), QStringLiteral("Dataset folder for the Evaluate tab."), QStringLiteral("DIR"));
  const QCommandLineOption labels(QStringLiteral("labels"), QStringLiteral("Labels file for a flat dataset folder."), QStringLiteral("FILE"));
  const QCommandLineOption noDefaults(QStringLiteral("no-defaults"), QStringLiteral("Do not load the bundled models."));
  const QCommandLineOption settingsFile(QStringLiteral("settings"), QStringLiteral("Keep settings in FILE (INI) instead of the user's."),
                                        QStringLiteral("FILE"));
  const QCommandLineOption assets(QStringLiteral("assets"), QStringLiteral("Folder with the bundled models/ and samples/."), QStringLiteral("DIR"));
  QCommandLineOption screenshots(QStringLiteral("screenshot-dir"), QStringLiteral("Run every tab, save one PNG each into DIR, quit."),
                                 QStringLiteral("DIR"));
  screenshots.setFlags(QCommandLineOption::HiddenFromHelp);
  QCommandLineOption screenshotSize(QStringLiteral("screenshot-size"), QStringLiteral("Window size for --screenshot-dir (default 1440x960)."),
                                    QStringLiteral("WxH"), QStringLiteral("1440x960"));
  screenshotSize.setFlags(QCommandLineOption::HiddenFromHelp);
  parser.addOptions({modelA, modelB, dataset, labels, noDefaults, settingsFile, assets, screenshots, screenshotSize});
  parser.addPositionalArgument(QStringLiteral("images"), QStringLiteral("Images or folders to classify."), QStringLiteral("[IMAGE|FOLDER...]"));
  parser.process(app);

  swinscope::gui::MainWindowOptions o;
  o.modelA = parser.value(modelA);
  o.modelB = parser.value(modelB);
  o.dataset = parser.value(dataset);
  o.labels = parser.value(labels);
  o.preloadDefaults = !parser.isSet(noDefaults);
  o.settingsFile = parser.value(settingsFile);
  o.assetsDir = parser.value(assets);
  for (const auto& p : parser.positionalArguments()) o.images << QDir::current().absoluteFilePath(p);
  QTemporaryDir scratch;
  if (parser.isSet(screenshots)) {
    o.screenshotDir = parser.value(screenshots);
    if (!QDir().mkpath(o.screenshotDir)) {
      std::fprintf(stderr, "swinscope: cannot create %s\n", qPrintable(o.screenshotDir));
      return 2;
    }
    // Screenshots must not depend on (or change) the user's saved window layout.
    if (o.settingsFile.isEmpty()) o.settingsFile = scratch.filePath(QStringLiteral("screenshot-settings.ini"));
  }

  swinscope::gui::MainWindow window(o);
  if (!o.screenshotDir.isEmpty()) {
    const QStringList wh = parser.value(screenshotSize).split(QLatin1Char('x'));
    const int w = wh.value(0).toInt(), h = wh.value(1).toInt();
    if (wh.size() != 2 || w < 400 || h < 300) {
      std::fprintf(stderr, "swinscope: --screenshot-size wants WxH (at least 400x300), found %s\n", qPrintable(parser.value(screenshotSize)));
      return 2;
    }
    window.resize(w, h);
  }
  window.show();
  return app.exec();
}
