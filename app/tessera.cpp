// tessera: the desktop app. Parses the command line, builds the services the window works with
// (node supervisor, wallet, contribution log, settings), shows the first-run dialog when there is
// no wallet yet, and otherwise the main window. SIGTERM, SIGINT and SIGHUP quit it as the tray's
// Quit does, stopping the node it started (ui/quit_on_signals.h, ui/node_supervisor.h).
#include <csignal>
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
#include <memory>
#include <optional>

#include "core/control/control_file.h"
#include "core/sys/paths.h"
#include "tessera/version.h"
#include "ui/ledger_service.h"
#include "ui/login_item.h"
#include "ui/main_window.h"
#include "ui/node_settings.h"
#include "ui/node_supervisor.h"
#include "ui/quit_on_signals.h"
#include "ui/runs_service.h"
#include "ui/pages/first_run_dialog.h"
#include "ui/screenshots.h"
#include "ui/theme.h"
#include "ui/wallet_service.h"
#include "ui/watch_service.h"

using namespace tessera::ui;

namespace {

// Answers --version without a display, as a command-line program would (e.g. over ssh).
bool asks_for_version(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--version") == 0 || std::strcmp(argv[i], "-v") == 0) return true;
  return false;
}

void name_application() {
  QApplication::setApplicationName(QStringLiteral("Tessera"));
  QApplication::setApplicationVersion(QString::fromLatin1(tessera::kVersion));
  QApplication::setOrganizationName(QStringLiteral("Tessera"));
  QApplication::setQuitOnLastWindowClosed(false);  // the tray keeps the app (and the node) alive
}

struct AppOptions {
  std::optional<QString> data_dir;
  std::optional<QString> screenshots;  // render every page into this folder and exit
  bool start_hidden = false;
  bool no_node = false;
  std::optional<QString> node_program;
  bool measure_startup = false;
  std::optional<QString> run_link;  // `tessera tessera://…` (the desktop's x-scheme-handler/tessera)
};

// Exits for --help and --version (QCommandLineParser::process).
AppOptions parse_command_line(QApplication& app) {
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
  const QCommandLineOption hidden_option(QString::fromLatin1(kStartHiddenOption),
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
  parser.addPositionalArgument(QStringLiteral("link"),
                               QStringLiteral("A run's link (tessera://host:port/<run>#<publisher key>): "
                                              "contribute to that run (it becomes the hub setting)."),
                               QStringLiteral("[link]"));
  parser.process(app);

  AppOptions options;
  if (parser.isSet(data_dir_option)) options.data_dir = parser.value(data_dir_option);
  if (parser.isSet(screenshots_option)) options.screenshots = parser.value(screenshots_option);
  options.start_hidden = parser.isSet(hidden_option);
  options.no_node = parser.isSet(no_node_option);
  if (parser.isSet(node_option)) options.node_program = parser.value(node_option);
  options.measure_startup = parser.isSet(measure_option);
  if (!parser.positionalArguments().isEmpty()) options.run_link = parser.positionalArguments().constFirst().trimmed();
  return options;
}

// `tessera <link>`: the link becomes the hub setting, checked by the same rules as the Settings
// page (a refused one is said and changes nothing).
void use_run_link(NodeSettings& settings, const QString& link) {
  auto next = settings.values();
  next.hub_url = link.toStdString();
  const auto said = QObject::connect(&settings, &NodeSettings::rejected, [](const QString& why) {
    QMessageBox::warning(nullptr, QStringLiteral("Tessera"), QStringLiteral("This run link cannot be used: %1").arg(why));
  });
  settings.apply(next);
  QObject::disconnect(said);
}

// The data folder, created if needed; nothing (after telling the user why) when it cannot be used.
std::optional<QString> open_data_dir(const AppOptions& options) {
  try {
    std::optional<std::filesystem::path> override_dir;
    if (options.data_dir) override_dir = options.data_dir->toStdString();
    const auto dir = tessera::sys::resolve_data_dir(override_dir);
    tessera::sys::ensure_data_dir(dir);
    return QString::fromStdString(dir.string());
  } catch (const std::exception& error) {
    QMessageBox::critical(nullptr, QStringLiteral("Tessera"),
                          QStringLiteral("Tessera cannot use its data folder: %1").arg(QString::fromUtf8(error.what())));
    return std::nullopt;
  }
}

std::unique_ptr<NodeSupervisor> make_node(const AppOptions& options, const QString& data_dir) {
  if (options.no_node || options.measure_startup) return nullptr;
  return std::make_unique<NodeSupervisor>(
      options.node_program ? *options.node_program : NodeSupervisor::defaultNodeProgram(), data_dir);
}

// Remember whether the user left Tessera contributing; it resumes so after a restart.
void remember_contributing(NodeSupervisor* node, QSettings& preferences) {
  if (!node) return;
  QObject::connect(node, &NodeSupervisor::statusChanged, [&preferences](const tessera::control::NodeStatus& status) {
    if (status.state == "running") preferences.setValue(QStringLiteral("node/contributing"), true);
    if (status.state == "paused") preferences.setValue(QStringLiteral("node/contributing"), false);
  });
}

// --measure-startup: the window is shown, its time printed, and the app quits.
int measure_startup(MainWindow& window, const QElapsedTimer& started) {
  window.show();
  QTimer::singleShot(0, [&] {
    std::printf("{\"first_window_ms\": %lld}\n", static_cast<long long>(started.elapsed()));
    QApplication::quit();
  });
  return QApplication::exec();
}

// The first-run dialog when there is no wallet yet; then the node starts (paused until the user
// presses Start on a first run, as the user left it otherwise) and the window shows.
int run_app(const AppOptions& options, bool first_run, MainWindow& window, WalletService& wallet,
            NodeSupervisor* node, const QSettings& preferences) {
  if (first_run) {
    FirstRunDialog dialog(&wallet);
    if (dialog.exec() != QDialog::Accepted) return 0;
    if (node) node->launch(/*paused=*/true);
  } else if (node) {
    node->launch(/*paused=*/!preferences.value(QStringLiteral("node/contributing"), false).toBool());
  }
  if (!options.start_hidden || window.trayIcon() == nullptr) window.show();
  return QApplication::exec();
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes a TLS connection while OpenSSL writes to it (SSL_write has no MSG_NOSIGNAL)
  // must be an error on that connection, not SIGPIPE ending the process.
  std::signal(SIGPIPE, SIG_IGN);
  QElapsedTimer started;
  started.start();
  if (asks_for_version(argc, argv)) {
    std::printf("Tessera %s\n", tessera::kVersion);
    return 0;
  }
  QApplication app(argc, argv);
  QuitOnSignals quit_on_signals;  // a logout's SIGTERM quits cleanly, stopping the node this app started
  QObject::connect(&quit_on_signals, &QuitOnSignals::received,
                   [](int signal_number) { qInfo("signal %d: quitting", signal_number); });
  name_application();
  const auto options = parse_command_line(app);
  if (options.screenshots) return renderScreenshots(app, *options.screenshots);
  applyTheme(app, Theme::System);
  const auto data_dir = open_data_dir(options);
  if (!data_dir) return 1;

  std::unique_ptr<NodeSupervisor> node = make_node(options, *data_dir);
  WalletService wallet(QDir(*data_dir).filePath(QStringLiteral("wallet.json")));
  LedgerService ledger(QDir(*data_dir).filePath(QStringLiteral("contributions.db")));
  NodeSettings settings(node.get(), *data_dir);
  if (options.run_link) use_run_link(settings, *options.run_link);
  if (node) node->setHubUrl(QString::fromStdString(settings.values().hub_url));
  wallet.probe();
  WatchService watch;  // the watched addresses live in the app's settings
  // The Runs page asks whichever node serves the folder (this app's, or one it attached to).
  RunsService runs(QDir(*data_dir).filePath(QString::fromLatin1(tessera::control::kControlFileName)));
  MainWindow window(AppServices{*data_dir, node.get(), &wallet, &ledger, &settings, &watch, &runs});
  QObject::connect(&app, &QApplication::aboutToQuit, [&node] { node.reset(); });  // stops the node cleanly
  QSettings preferences;
  remember_contributing(node.get(), preferences);

  const bool first_run = !QFileInfo::exists(QDir(*data_dir).filePath(QStringLiteral("wallet.json")));
  if (options.measure_startup) return measure_startup(window, started);
  return run_app(options, first_run, window, wallet, node.get(), preferences);
}
