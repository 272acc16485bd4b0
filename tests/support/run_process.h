// Runs one of the project's executables as a user would, for the command-line tests: arguments,
// optional standard input, bounded wait, exit code and both outputs.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

namespace tessera::test {

struct ProcessResult {
  int exit_code = -1;  // -1: it crashed, did not start, or ran past the timeout (then it is killed)
  QString out;
  QString err;
};

inline ProcessResult run_process(const QString& program, const QStringList& arguments, const QString& input = {},
                                 int timeout_ms = 120000) {
  QProcess process;
  process.start(program, arguments);
  if (!process.waitForStarted()) return {};
  process.write(input.toUtf8());
  process.closeWriteChannel();
  if (!process.waitForFinished(timeout_ms)) {
    process.kill();
    process.waitForFinished();
    return {};
  }
  return {process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1,
          QString::fromUtf8(process.readAllStandardOutput()), QString::fromUtf8(process.readAllStandardError())};
}

}  // namespace tessera::test
