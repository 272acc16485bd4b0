// The main window (see main_window.h).
#include "ui/main_window.h"

#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QMenu>
#include <QStackedWidget>
#include <QStatusBar>
#include <QSystemTrayIcon>

#include "tessera/version.h"
#include "ui/node_settings.h"
#include "ui/watch_service.h"
#include "ui/node_supervisor.h"
#include "ui/pages/dashboards_page.h"
#include "ui/pages/home_page.h"
#include "ui/pages/log_page.h"
#include "ui/pages/runs_page.h"
#include "ui/pages/settings_page.h"
#include "ui/pages/wallet_page.h"

// Resources compiled into a static library must be registered by name.
static void initTesseraResources() { Q_INIT_RESOURCE(tessera); }

namespace tessera::ui {

QString MainWindow::pageName(Page page) {
  switch (page) {
    case Home: return QStringLiteral("home");
    case Runs: return QStringLiteral("runs");
    case Dashboards: return QStringLiteral("dashboards");
    case Wallet: return QStringLiteral("wallet");
    case Log: return QStringLiteral("log");
    case Settings: return QStringLiteral("settings");
    default: return {};
  }
}

MainWindow::MainWindow(const AppServices& services, QWidget* parent) : QMainWindow(parent), services_(services) {
  initTesseraResources();
  setWindowTitle(QStringLiteral("Tessera"));
  setObjectName(QStringLiteral("MainWindow"));
  setWindowIcon(QIcon(QStringLiteral(":/icons/tessera.svg")));
  resize(1280, 800);
  setMinimumSize(960, 640);

  auto* central = new QWidget(this);
  auto* layout = new QHBoxLayout(central);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(0);
  navigation_ = new QListWidget(central);
  navigation_->setObjectName(QStringLiteral("navigation"));
  navigation_->setFixedWidth(210);
  navigation_->setFrameShape(QFrame::NoFrame);
  QFont nav_font = navigation_->font();
  nav_font.setPointSizeF(nav_font.pointSizeF() * 1.1);
  navigation_->setFont(nav_font);
  const QString names[] = {tr("Home"), tr("Runs"), tr("Dashboards"), tr("Wallet"), tr("Contribution log"), tr("Settings")};
  for (const auto& name : names) navigation_->addItem(name);
  pages_ = new QStackedWidget(central);
  home_ = new HomePage(services_.node, services_.settings, pages_);
  runs_page_ = new RunsPage(services_.runs, pages_);
  connect(runs_page_, &RunsPage::demoRequested, this, &MainWindow::useDemoNetwork);
  dashboards_ = new DashboardsPage(services_.ledger, pages_);
  wallet_page_ = new WalletPage(services_.wallet, services_.ledger, services_.watch, pages_);
  if (services_.watch != nullptr && services_.settings != nullptr) {
    auto* watch = services_.watch;
    const auto follow = [watch](const control::NodeSettings& values) {
      watch->setHubUrl(QString::fromStdString(values.hub_url));
    };
    follow(services_.settings->values());
    connect(services_.settings, &NodeSettings::changed, watch, follow);
  }
  log_page_ = new LogPage(services_.ledger, services_.data_dir + QStringLiteral("/node_key.json"), pages_);
  settings_page_ = new SettingsPage(services_.settings, services_.data_dir, pages_);
  for (QWidget* page : std::initializer_list<QWidget*>{home_, runs_page_, dashboards_, wallet_page_, log_page_, settings_page_})
    pages_->addWidget(page);
  layout->addWidget(navigation_);
  layout->addWidget(pages_, 1);
  setCentralWidget(central);
  connect(navigation_, &QListWidget::currentRowChanged, pages_, &QStackedWidget::setCurrentIndex);
  navigation_->setCurrentRow(0);

  node_line_ = new QLabel(this);
  node_line_->setObjectName(QStringLiteral("nodeLine"));
  statusBar()->addWidget(node_line_, 1);
  statusBar()->addPermanentWidget(new QLabel(tr("Tessera %1").arg(QString::fromLatin1(kVersion)), this));
  statusBar()->setSizeGripEnabled(false);
  node_line_->setText(services_.node != nullptr ? tr("Node not started") : tr("Node not connected"));

  if (services_.node != nullptr) {
    connect(services_.node, &NodeSupervisor::statusChanged, this, &MainWindow::onStatus);
    connect(services_.node, &NodeSupervisor::statusChanged, dashboards_, &DashboardsPage::showNodeStatus);
    connect(services_.node, &NodeSupervisor::statusChanged, runs_page_, &RunsPage::showNodeStatus);
    connect(services_.node, &NodeSupervisor::phaseChanged, this, [this](NodeSupervisor::Phase phase) {
      switch (phase) {
        case NodeSupervisor::Phase::Stopped: node_line_->setText(tr("Node stopped")); break;
        case NodeSupervisor::Phase::Launching: node_line_->setText(tr("Starting the node…")); break;
        case NodeSupervisor::Phase::Connected: node_line_->setText(tr("Connected to the node")); break;
        case NodeSupervisor::Phase::Crashed: node_line_->setText(tr("The node stopped unexpectedly")); break;
      }
    });
    connect(services_.node, &NodeSupervisor::callFailed, this, [this](const QString& what, const QString& why) {
      node_line_->setText(tr("%1: %2 (retrying; last try %3)")
                              .arg(what, why, QLocale().toString(QTime::currentTime(), QLocale::ShortFormat)));
    });
    connect(settings_page_, &SettingsPage::hubUrlChanged, services_.node, &NodeSupervisor::setHubUrl);
  }
  setupTray();
}

void MainWindow::showPage(Page page) { navigation_->setCurrentRow(page); }
MainWindow::Page MainWindow::currentPage() const { return static_cast<Page>(pages_->currentIndex()); }

// The Runs page's "Try it on this computer": the demo is the local network, which the node runs
// when no hub is set (the same change as clearing the hub URL in Settings). A node already on it
// but idle (the user left the demo) is restarted onto it.
void MainWindow::useDemoNetwork() {
  if (services_.settings == nullptr) return;
  auto next = services_.settings->values();
  const bool was_local = next.hub_url.empty();
  next.hub_url.clear();
  if (!services_.settings->apply(next)) return;
  if (services_.node != nullptr) {
    if (was_local && services_.node->hubUrl().isEmpty())
      services_.node->restartNow();
    else
      services_.node->setHubUrl({});
  }
  showPage(Home);
}

void MainWindow::setupTray() {
  if (!QSystemTrayIcon::isSystemTrayAvailable()) return;
  tray_ = new QSystemTrayIcon(windowIcon(), this);
  tray_->setToolTip(tr("Tessera"));
  auto* menu = new QMenu(this);
  tray_status_ = menu->addAction(tr("Not contributing"));
  tray_status_->setEnabled(false);
  menu->addSeparator();
  tray_toggle_ = menu->addAction(tr("Start"), this, [this] {
    if (services_.node == nullptr) return;
    if (running_)
      services_.node->pauseContribution(false);
    else
      services_.node->startContribution();
  });
  menu->addAction(tr("Snooze for 1 hour"), this, [this] {
    if (services_.node != nullptr) services_.node->snooze(3600);
  });
  menu->addSeparator();
  menu->addAction(tr("Open Tessera"), this, [this] {
    showNormal();
    raise();
    activateWindow();
  });
  menu->addAction(tr("Quit"), this, &MainWindow::quit);
  tray_->setContextMenu(menu);
  connect(tray_, &QSystemTrayIcon::activated, this, [this](QSystemTrayIcon::ActivationReason reason) {
    if (reason == QSystemTrayIcon::Trigger || reason == QSystemTrayIcon::DoubleClick) {
      showNormal();
      raise();
      activateWindow();
    }
  });
  tray_->show();
}

void MainWindow::onStatus(const control::NodeStatus& status) {
  const QString state = QString::fromStdString(status.state);
  running_ = state == QStringLiteral("running") || state == QStringLiteral("joining") ||
             state == QStringLiteral("waiting");
  QString line = describeState(state);
  const QString run = QString::fromStdString(status.run);
  if (!run.isEmpty()) line += tr(" · run %1").arg(run);
  const QString reason = QString::fromStdString(status.reason);
  if (!reason.isEmpty()) line += QStringLiteral(" · ") + reason;
  node_line_->setText(line);
  if (tray_ != nullptr) {
    tray_->setToolTip(tr("Tessera: %1").arg(line));
    tray_status_->setText(line);
    tray_toggle_->setText(running_ ? tr("Pause") : tr("Start"));
  }
}

void MainWindow::quit() {
  quitting_ = true;
  close();
  QApplication::quit();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  if (!quitting_ && tray_ != nullptr && tray_->isVisible() && services_.node != nullptr) {
    hide();
    if (!told_about_tray_) {
      tray_->showMessage(tr("Tessera keeps running"),
                         tr("Contribution continues in the background. Use the tray icon to pause or quit."));
      told_about_tray_ = true;
    }
    event->ignore();
    return;
  }
  QMainWindow::closeEvent(event);
  // Without a tray (or a node) nothing would be left to reopen the window: closing it quits.
  if (!quitting_) QApplication::quit();
}

}  // namespace tessera::ui
