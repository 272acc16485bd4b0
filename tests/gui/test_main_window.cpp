// The main window on the offscreen platform: five pages behind the navigation, each shown at
// 1280×800 without a node, and the status line saying there is none.
#include <QtTest>

#include <QApplication>
#include <QLabel>
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
#include "ui/wallet_service.h"

using namespace tessera::ui;

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

  void settingsPersistWithoutANode() {
    QTemporaryDir dir;
    NodeSettings settings(nullptr, dir.path());
    QSignalSpy rejected(&settings, &NodeSettings::rejected);
    settings.apply({{QStringLiteral("idle_minutes"), 0}});
    QCOMPARE(rejected.count(), 1);
    QVERIFY(rejected.at(0).at(0).toString().contains(QStringLiteral("idle_minutes")));
    settings.apply({{QStringLiteral("power_profile"), QStringLiteral("full")},
                    {QStringLiteral("schedule"), QVariantMap{{QStringLiteral("enabled"), true}}}});
    QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(settings.file()), 5000);
    QTRY_VERIFY_WITH_TIMEOUT(NodeSettings(nullptr, dir.path()).values().value(QStringLiteral("power_profile")) ==
                                 QStringLiteral("full"),
                             5000);
    const auto reread = NodeSettings(nullptr, dir.path()).values();
    QCOMPARE(reread.value(QStringLiteral("schedule")).toMap().value(QStringLiteral("enabled")).toBool(), true);
    QCOMPARE(reread.value(QStringLiteral("schedule")).toMap().value(QStringLiteral("start")).toString(),
             QStringLiteral("22:00"));  // the nested default survives a partial patch
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
    QCOMPARE(settings.values().value(QStringLiteral("power_profile")).toString(), QStringLiteral("light"));
    QTRY_VERIFY_WITH_TIMEOUT(NodeSettings(nullptr, dir.path()).values().value(QStringLiteral("power_profile")) ==
                                 QStringLiteral("light"),
                             5000);
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
    QTRY_VERIFY_WITH_TIMEOUT(settings.values().value(QStringLiteral("only_when_idle")).toBool(), 5000);
    QCOMPARE(settings.values().value(QStringLiteral("idle_minutes")).toInt(), 12);
    QCOMPARE(settings.values().value(QStringLiteral("max_temperature_c")).toDouble(), 75.0);
    // A fresh reader (the node at its next start) sees the same.
    QTRY_VERIFY_WITH_TIMEOUT(
        NodeSettings(nullptr, dir.path()).values().value(QStringLiteral("max_temperature_c")).toDouble() == 75.0, 5000);
    QVERIFY(NodeSettings(nullptr, dir.path()).values().value(QStringLiteral("only_when_idle")).toBool());
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
