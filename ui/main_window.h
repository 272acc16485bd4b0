// The app's window: a side navigation over the six pages (Home, Runs, Dashboards, Wallet,
// Contribution log, Settings), a status line for the node, and the tray icon (status, Pause/Start, Snooze,
// Open, Quit). Closing the window keeps contributing from the tray unless the user quits.
#pragma once

#include <QMainWindow>
#include <QString>

#include "core/control/node_status.h"

class QLabel;
class QListWidget;
class QStackedWidget;
class QSystemTrayIcon;
class QAction;

namespace tessera::ui {

class DashboardsPage;
class HomePage;
class LedgerService;
class LogPage;
class NodeSettings;
class NodeSupervisor;
class RunsPage;
class RunsService;
class SettingsPage;
class WalletPage;
class WalletService;
class WatchService;

// What the window works with; owned by the caller (app/tessera.cpp or a test). `node` may be null
// (screenshots, tests without a daemon); so may `watch` (no Watching section) and `runs` (the Runs
// page says there is no node). The watch service follows the hub URL of `settings`.
struct AppServices {
  QString data_dir;
  NodeSupervisor* node = nullptr;
  WalletService* wallet = nullptr;
  LedgerService* ledger = nullptr;
  NodeSettings* settings = nullptr;
  WatchService* watch = nullptr;
  RunsService* runs = nullptr;
};

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  enum Page { Home, Runs, Dashboards, Wallet, Log, Settings, PageCount };
  Q_ENUM(Page)

  explicit MainWindow(const AppServices& services, QWidget* parent = nullptr);

  void showPage(Page page);
  Page currentPage() const;
  static QString pageName(Page page);  // "home", "dashboards", … (file names, object names)

  HomePage* homePage() const { return home_; }
  RunsPage* runsPage() const { return runs_page_; }
  DashboardsPage* dashboardsPage() const { return dashboards_; }
  WalletPage* walletPage() const { return wallet_page_; }
  LogPage* logPage() const { return log_page_; }
  SettingsPage* settingsPage() const { return settings_page_; }
  QSystemTrayIcon* trayIcon() const { return tray_; }

  // Quit for real (the tray's Quit): the node is stopped by its supervisor's destructor.
  void quit();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void setupTray();
  void useDemoNetwork();
  void onStatus(const tessera::control::NodeStatus& status);

  AppServices services_;
  QListWidget* navigation_ = nullptr;
  QStackedWidget* pages_ = nullptr;
  HomePage* home_ = nullptr;
  RunsPage* runs_page_ = nullptr;
  DashboardsPage* dashboards_ = nullptr;
  WalletPage* wallet_page_ = nullptr;
  LogPage* log_page_ = nullptr;
  SettingsPage* settings_page_ = nullptr;
  QLabel* node_line_ = nullptr;
  QSystemTrayIcon* tray_ = nullptr;
  QAction* tray_status_ = nullptr;
  QAction* tray_toggle_ = nullptr;
  bool quitting_ = false;
  bool told_about_tray_ = false;
  bool running_ = false;
};

}  // namespace tessera::ui
