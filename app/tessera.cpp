// tessera: the desktop app. Parses the command line, builds the services the window works with
// (node supervisor, wallet, contribution log, settings), shows the first-run dialog when there is
// no wallet yet, and otherwise the main window.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QMessageBox>
#include <QSettings>
#include <QTimer>

#include <cstdio>
#include <cstring>
#include <optional>

#include "core/sys/paths.h"
#include "tessera/version.h"
#include "ui/ledger_service.h"
#include "ui/login_item.h"
#include "ui/main_window.h"
#include "ui/node_settings.h"
#include "ui/node_supervisor.h"
#include "ui/pages/first_run_dialog.h"
#include "ui/screenshots.h"
#include "ui/theme.h"
#include "ui/wallet_service.h"
#include "ui/watch_service.h"

int main(int argc, char** argv) {
  QElapsedTimer started;
  started.start();
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
  QApplication::setQuitOnLastWindowClosed(false);  // the tray keeps the app (and the node) alive

  QCommandLineParser parser;
  parser.setApplicationDescription(QStringLiteral("Tessera: train open AI models together"));
  parser.addHelpOption();
  parser.addVersionOption();
  const QCommandLineOption data_dir_option(
      QStringLiteral("data-dir"), QStringLiteral("Folder for the wallet, the contribution log and settings."),
      QStringLiteral("folder"));
  const QCommandLineOption screenshots_option(
      QStringLiteral("screenshots"), QStringLiteral("Render every page (light and dark, 1280x800) to PNG files and exit."),
      QStringLiteral("folder"));
  const QCommandLineOption hidden_option(QString::fromLatin1(tessera::ui::kStartHiddenOption),
                                         QStringLiteral("Start in the tray, without opening the window (what "
                                                        "Start at login uses)."));
  const QCommandLineOption no_node_option(QStringLiteral("no-node"),
                                          QStringLiteral("Do not start tessera-node (view the log and wallet only)."));
  const QCommandLineOption node_option(QStringLiteral("node"), QStringLiteral("The tessera-node program to run."),
                                       QStringLiteral("path"));
  const QCommandLineOption measure_option(
      QStringLiteral("measure-startup"),
      QStringLiteral("Print the milliseconds to the first shown window as JSON, then exit."));
  parser.addOptions({data_dir_option, screenshots_option, hidden_option, no_node_option, node_option, measure_option});
  parser.process(app);

  if (parser.isSet(screenshots_option)) return tessera::ui::renderScreenshots(app, parser.value(screenshots_option));

  tessera::ui::applyTheme(app, tessera::ui::Theme::System);

  QString data_dir;
  try {
    std::optional<std::filesystem::path> override_dir;
    if (parser.isSet(data_dir_option)) override_dir = parser.value(data_dir_option).toStdString();
    const auto dir = tessera::sys::resolve_data_dir(override_dir);
    tessera::sys::ensure_data_dir(dir);
    data_dir = QString::fromStdString(dir.string());
  } catch (const std::exception& error) {
    QMessageBox::critical(nullptr, QStringLiteral("Tessera"),
                          QStringLiteral("Tessera cannot use its data folder: %1").arg(QString::fromUtf8(error.what())));
    return 1;
  }

  using namespace tessera::ui;
  std::unique_ptr<NodeSupervisor> node;
  if (!parser.isSet(no_node_option) && !parser.isSet(measure_option))
    node = std::make_unique<NodeSupervisor>(
        parser.isSet(node_option) ? parser.value(node_option) : NodeSupervisor::defaultNodeProgram(), data_dir);
  WalletService wallet(QDir(data_dir).filePath(QStringLiteral("wallet.json")));
  LedgerService ledger(QDir(data_dir).filePath(QStringLiteral("contributions.db")));
  NodeSettings settings(node.get(), data_dir);
  if (node) node->setHubUrl(QString::fromStdString(settings.values().hub_url));
  wallet.probe();

  WatchService watch;  // the watched addresses live in the app's settings
  MainWindow window(AppServices{data_dir, node.get(), &wallet, &ledger, &settings, &watch});
  QObject::connect(&app, &QApplication::aboutToQuit, [&node] { node.reset(); });  // stops the node cleanly

  // Remember whether the user left Tessera contributing; it resumes so after a restart.
  QSettings preferences;
  if (node) {
    QObject::connect(node.get(), &NodeSupervisor::statusChanged, [&preferences](const tessera::control::NodeStatus& status) {
      if (status.state == "running") preferences.setValue(QStringLiteral("node/contributing"), true);
      if (status.state == "paused") preferences.setValue(QStringLiteral("node/contributing"), false);
    });
  }

  const bool first_run = !QFileInfo::exists(QDir(data_dir).filePath(QStringLiteral("wallet.json")));
  if (parser.isSet(measure_option)) {
    window.show();
    QTimer::singleShot(0, [&] {
      std::printf("{\"first_window_ms\": %lld}\n", static_cast<long long>(started.elapsed()));
      QApplication::quit();
    });
    return QApplication::exec();
  }
  if (first_run) {
    FirstRunDialog dialog(&wallet);
    if (dialog.exec() != QDialog::Accepted) return 0;
    if (node) node->launch(/*paused=*/true);  // contribution starts paused until the user presses Start
  } else if (node) {
    node->launch(/*paused=*/!preferences.value(QStringLiteral("node/contributing"), false).toBool());
  }
  if (!parser.isSet(hidden_option) || window.trayIcon() == nullptr) window.show();
  return QApplication::exec();
}
