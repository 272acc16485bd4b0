// Smoke test: the main window opens on the offscreen platform and says what it is.
#include <QtTest>

#include <QApplication>
#include <QLabel>

#include "tessera/version.h"
#include "ui/main_window.h"

class TestMainWindow : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void opensWithTitle() {
    tessera::ui::MainWindow window;
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QCOMPARE(window.windowTitle(), QStringLiteral("Tessera"));
    auto* heading = window.findChild<QLabel*>(QStringLiteral("heading"));
    QVERIFY(heading != nullptr);
    QVERIFY(heading->isVisible());
    const QImage image = window.grab().toImage();
    QVERIFY(!image.isNull());
    QCOMPARE(image.size(), window.size() * window.devicePixelRatio());
  }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
