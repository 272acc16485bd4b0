// tessera: the desktop app.
#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>
#include <cstring>

#include "tessera/version.h"
#include "ui/main_window.h"

int main(int argc, char** argv) {
  // Answer --version without a display, as a command-line program would (e.g. over ssh).
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-v") == 0) {
      std::printf("Tessera %s\n", tessera::kVersion);
      return 0;
    }
  }
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("Tessera"));
  QApplication::setApplicationVersion(QString::fromLatin1(tessera::kVersion));
  QApplication::setOrganizationName(QStringLiteral("Tessera"));

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Tessera: train open AI models together"));
  parser.addHelpOption();
  parser.addVersionOption();
  parser.process(app);

  tessera::ui::MainWindow window;
  window.show();
  return QApplication::exec();
}
