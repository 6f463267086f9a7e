#pragma once
// Runs swinscope-cli (the build's own binary) and captures exit code and output.
#include <QProcess>
#include <QString>
#include <QStringList>

struct CliResult {
  int code = -1;  // -1: did not finish within five minutes
  QString out, err;
};

inline CliResult run_cli(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(SWINSCOPE_CLI_PATH), args);
  if (!p.waitForFinished(300000)) return {};
  return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError())};
}
