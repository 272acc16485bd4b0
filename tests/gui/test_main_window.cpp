// The main window on the offscreen platform: six pages behind the navigation, each shown at
// 1280×800 without a node, and the status line saying there is none; Home says plainly when the
// hub excluded the node from its run.
#include <QtTest>

#include <QApplication>
#include <QLabel>
#include <QLineEdit>
#include <QCheckBox>
#include <QListWidget>
#include <QSpinBox>
#include <QPushButton>
#include <QFile>
#include <QTemporaryDir>

#include "tessera/version.h"
#include "ui/ledger_service.h"
#include "ui/main_window.h"
#include "ui/node_settings.h"
#include "ui/pages/home_page.h"
#include "ui/pages/runs_page.h"
#include "ui/pages/settings_page.h"
#include "ui/wallet_service.h"

using namespace tessera::ui;
using tessera::control::format_clock;
using tessera::control::PowerProfile;

namespace {

// The main window over services kept in `folder`, shown, with no node.
struct ShownWindow {
  explicit ShownWindow(const QString& folder)
      : wallet(folder + QStringLiteral("/wallet.json")),
        ledger(folder + QStringLiteral("/contributions.db")),
        settings(nullptr, folder),
        window(AppServices{folder, nullptr, &wallet, &ledger, &settings}) {
    window.show();
  }
  WalletService wallet;
  LedgerService ledger;
  NodeSettings settings;
  MainWindow window;
};

}  // namespace

class TestMainWindow : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void opensWithEveryPage() {
    QTemporaryDir dir;
    ShownWindow shown(dir.path());
    auto& window = shown.window;
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QStringLiteral("Tessera"));
    auto* navigation = window.findChild<QListWidget*>(QStringLiteral("navigation"));
    QVERIFY(navigation != nullptr);
    QCOMPARE(navigation->count(), int(MainWindow::PageCount));
    for (int page = 0; page < MainWindow::PageCount; ++page) {
      navigation->setCurrentRow(page);
      QCOMPARE(window.currentPage(), static_cast<MainWindow::Page>(page));
      const QImage image = window.grab().toImage();
      QVERIFY(!image.isNull());
    }
    QCOMPARE(window.findChild<QLabel*>(QStringLiteral("nodeLine"))->text(), QStringLiteral("Node not connected"));
    QCOMPARE(window.homePage()->stateText(), QStringLiteral("Not started"));
  }

  void homeSaysTheNodeWasExcluded() {
    HomePage home(nullptr, nullptr);
    tessera::control::NodeStatus status;
    status.state = "excluded";
    status.run = "tessera-1b";
    status.reason = "its work failed a spot check at step 7";
    home.showStatus(status);
    QCOMPARE(home.stateText(), QStringLiteral("Excluded from this run"));
    const QString reason = home.findChild<QLabel*>(QStringLiteral("stateReason"))->text();
    QVERIFY2(reason.contains(QStringLiteral("tessera-1b: its work failed a spot check at step 7")), qPrintable(reason));
    QVERIFY(reason.contains(QStringLiteral("set another hub in Settings")));
    QCOMPARE(home.findChild<QPushButton*>(QStringLiteral("startButton"))->text(), QStringLiteral("Start"));
  }

  void settingsPersistWithoutANode() {
    QTemporaryDir dir;
    NodeSettings settings(nullptr, dir.path());
    QSignalSpy rejected(&settings, &NodeSettings::rejected);
    auto next = settings.values();
    next.idle_minutes = 0;
    settings.apply(next);
    QCOMPARE(rejected.count(), 1);
    QVERIFY(rejected.at(0).at(0).toString().contains(QStringLiteral("idle_minutes")));
    next = settings.values();
    next.profile = PowerProfile::Full;
    next.schedule.enabled = true;
    settings.apply(next);
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(settings.file()), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(NodeSettings(nullptr, dir.path()).values().profile == PowerProfile::Full, 5000);
    const auto reread = NodeSettings(nullptr, dir.path()).values();
    QCOMPARE(reread.schedule.enabled, true);
    QCOMPARE(QString::fromStdString(format_clock(reread.schedule.start_minute)),
             QStringLiteral("22:00"));  // the nested default survives a partial patch
  }

  // The Runs page's "Try it on this computer" puts the node on the local demo network: the hub
  // setting is cleared (and saved) and Home shows.
  void runsPageTriesTheDemo() {
    QTemporaryDir dir;
    ShownWindow shown(dir.path());
    auto next = shown.settings.values();
    next.hub_url = "https://hub.example:8080";
    QVERIFY(shown.settings.apply(next));
    shown.window.showPage(MainWindow::Runs);
    QCOMPARE(shown.window.currentPage(), MainWindow::Runs);
    auto* demo = shown.window.runsPage()->findChild<QPushButton*>(QStringLiteral("demoButton"));
    QVERIFY(demo != nullptr && demo->isVisible());
    demo->click();
    QVERIFY(shown.settings.values().hub_url.empty());
    QCOMPARE(shown.window.currentPage(), MainWindow::Home);
    QTRY_VERIFY_WITH_TIMEOUT(NodeSettings(nullptr, dir.path()).values().hub_url.empty(), 5000);
  }

  // The hub URL follows the node's rule, with the node's words, before anything is saved or the
  // node is restarted on it.
  void settingsPageRefusesABadHubUrl() {
    QTemporaryDir dir;
    ShownWindow shown(dir.path());
    auto& window = shown.window;
    auto& settings = shown.settings;
    window.showPage(MainWindow::Settings);
    auto* page = window.findChild<SettingsPage*>();
    auto* hub = window.findChild<QLineEdit*>(QStringLiteral("hubUrl"));
    auto* message = window.findChild<QLabel*>(QStringLiteral("settingsMessage"));
    QVERIFY(page && hub && message);
    QSignalSpy rejected(&settings, &NodeSettings::rejected);
    QSignalSpy hub_changed(page, &SettingsPage::hubUrlChanged);
    hub->setText(QStringLiteral("hub.example:8080"));
    Q_EMIT hub->editingFinished();
    QTRY_COMPARE_WITH_TIMEOUT(rejected.count(), 1, 5000);
    QString node_says;
    try {
      tessera::control::NodeSettings{}.merged({{"hub_url", "hub.example:8080"}});
    } catch (const std::invalid_argument& error) {
      node_says = QString::fromUtf8(error.what());
    }
    QCOMPARE(node_says, QStringLiteral("settings: hub_url: not a hub address (it must start with tessera://, https:// or http://): 'hub.example:8080'; give the run's tessera:// link or an https:// URL"));
    QCOMPARE(rejected.at(0).at(0).toString(), node_says);
    QCOMPARE(message->text(), QStringLiteral("Not saved: %1").arg(node_says));
    QVERIFY(settings.values().hub_url.empty());
    QCOMPARE(hub_changed.count(), 0);
    QTest::qWait(100);
    QVERIFY(!QFile::exists(settings.file()));
    // A good URL is kept, and the node follows it.
    hub->setText(QStringLiteral("https://hub.example:8080"));
    Q_EMIT hub->editingFinished();
    QTRY_COMPARE_WITH_TIMEOUT(hub_changed.count(), 1, 5000);
    QCOMPARE(hub_changed.at(0).at(0).toString(), QStringLiteral("https://hub.example:8080"));
    QCOMPARE(QString::fromStdString(settings.values().hub_url), QStringLiteral("https://hub.example:8080"));
    QCOMPARE(message->text(), QStringLiteral("Saved."));
    QTRY_VERIFY_WITH_TIMEOUT(NodeSettings(nullptr, dir.path()).values().hub_url == "https://hub.example:8080", 5000);
  }

  void profileReachesTheSettingsFile() {
    QTemporaryDir dir;
    ShownWindow shown(dir.path());
    auto& window = shown.window;
    auto& settings = shown.settings;
    auto* light = window.homePage()->findChild<QPushButton*>(QStringLiteral("profile_light"));
    QVERIFY(light != nullptr && !light->isChecked());
    QTest::mouseClick(light, Qt::LeftButton);
    QVERIFY(light->isChecked());
    QVERIFY(settings.values().profile == PowerProfile::Light);
    QTRY_VERIFY_WITH_TIMEOUT(NodeSettings(nullptr, dir.path()).values().profile == PowerProfile::Light, 5000);
  }

  void settingsPageAppliesAtOnce() {
    QTemporaryDir dir;
    ShownWindow shown(dir.path());
    auto& window = shown.window;
    auto& settings = shown.settings;
    window.showPage(MainWindow::Settings);
    auto* idle = window.findChild<QCheckBox*>(QStringLiteral("onlyWhenIdle"));
    auto* minutes = window.findChild<QSpinBox*>(QStringLiteral("idleMinutes"));
    auto* temperature = window.findChild<QSpinBox*>(QStringLiteral("temperatureCap"));
    QVERIFY(idle && minutes && temperature);
    idle->setChecked(true);
    minutes->setValue(12);
    temperature->setValue(75);
    QTRY_VERIFY_WITH_TIMEOUT(settings.values().only_when_idle, 5000);
    QCOMPARE(settings.values().idle_minutes, 12);
    QCOMPARE(settings.values().max_temperature_c, 75.0);
    // A fresh reader (the node at its next start) sees the same.
    QTRY_VERIFY_WITH_TIMEOUT(NodeSettings(nullptr, dir.path()).values().max_temperature_c == 75.0, 5000);
    QVERIFY(NodeSettings(nullptr, dir.path()).values().only_when_idle);
  }

  // The "Start at login" box writes the XDG autostart entry off the GUI thread and removes it
  // again; when the entry cannot be written it says why and shows the box unticked.
  void settingsPageStartAtLogin() {
    QTemporaryDir dir, config;
    const QByteArray saved = qgetenv("XDG_CONFIG_HOME");
    const auto restore = qScopeGuard([&] {
      if (saved.isNull())
        qunsetenv("XDG_CONFIG_HOME");
      else
        qputenv("XDG_CONFIG_HOME", saved);
    });
    qputenv("XDG_CONFIG_HOME", QFile::encodeName(config.path()));
    const QString entry = config.filePath(QStringLiteral("autostart/tessera.desktop"));
    {
      ShownWindow shown(dir.path());
      auto& window = shown.window;
      window.showPage(MainWindow::Settings);
      auto* login = window.findChild<QCheckBox*>(QStringLiteral("startAtLogin"));
      QVERIFY(login != nullptr);
      QVERIFY(!login->isChecked());
      login->setChecked(true);
      QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(entry), 5000);
      QVERIFY(QFile(entry).open(QIODevice::ReadOnly));
      login->setChecked(false);
      QTRY_VERIFY_WITH_TIMEOUT(!QFile::exists(entry), 5000);
    }
    // A config home that is a file: the folder cannot be made.
    const QString blocked = dir.filePath(QStringLiteral("not-a-folder"));
    QFile file(blocked);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.close();
    qputenv("XDG_CONFIG_HOME", QFile::encodeName(blocked));
    ShownWindow shown(dir.path());
    auto& window = shown.window;
    window.showPage(MainWindow::Settings);
    auto* login = window.findChild<QCheckBox*>(QStringLiteral("startAtLogin"));
    auto* message = window.findChild<QLabel*>(QStringLiteral("settingsMessage"));
    QVERIFY(login && message);
    login->setChecked(true);
    QTRY_VERIFY_WITH_TIMEOUT(message->text().startsWith(QStringLiteral("Start at login: could not")), 5000);
    QVERIFY2(message->text().contains(blocked), qPrintable(message->text()));
    QVERIFY(!login->isChecked());
  }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
