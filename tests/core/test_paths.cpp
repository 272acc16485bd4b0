// Data-folder resolution: XDG rules, the --data-dir override, creation with owner-only access.
#include <QtTest>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/sys/paths.h"

namespace fs = std::filesystem;
using namespace tessera::sys;

class TestPaths : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir temp_;
  fs::path root() const { return fs::path(temp_.path().toStdString()); }

 private Q_SLOTS:
  void init() {
    qunsetenv("XDG_DATA_HOME");
    qputenv("HOME", QByteArray::fromStdString(root().string()));
  }

  void xdgDataHomeWins() {
    qputenv("XDG_DATA_HOME", QByteArray::fromStdString((root() / "xdg").string()));
#if defined(__linux__)
    QCOMPARE(QString::fromStdString(default_data_dir().string()),
             QString::fromStdString((root() / "xdg" / "tessera").string()));
#endif
  }

  void fallsBackToHome() {
#if defined(__linux__)
    QCOMPARE(QString::fromStdString(default_data_dir().string()),
             QString::fromStdString((root() / ".local" / "share" / "tessera").string()));
#endif
  }

  void relativeXdgIsIgnored() {
    qputenv("XDG_DATA_HOME", "relative/path");
#if defined(__linux__)
    QCOMPARE(default_data_dir(), root() / ".local" / "share" / "tessera");
#endif
  }

  void missingHomeIsAClearError() {
    qunsetenv("HOME");
    bool threw = false;
    try {
      default_data_dir();
    } catch (const std::runtime_error& error) {
      threw = true;
      QVERIFY(QString::fromUtf8(error.what()).contains("--data-dir"));
    }
    QVERIFY(threw);
  }

  void overrideIsMadeAbsolute() {
    const auto resolved = resolve_data_dir(fs::path("some/where/../dir"));
    QVERIFY(resolved.is_absolute());
    QCOMPARE(resolved, (fs::current_path() / "some" / "dir").lexically_normal());
    QCOMPARE(resolve_data_dir(std::nullopt), default_data_dir());
  }

  void ensureCreatesOwnerOnlyFolder() {
    const auto dir = root() / "a" / "b" / "tessera";
    ensure_data_dir(dir);
    QVERIFY(fs::is_directory(dir));
    QCOMPARE(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
    ensure_data_dir(dir);  // idempotent
  }

  void ensureRefusesAFile() {
    const auto file = root() / "not-a-folder";
    std::ofstream(file) << "x";
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, ensure_data_dir(file));
  }

  void nearestExistingWalksUp() {
    QCOMPARE(nearest_existing(root() / "no" / "such" / "dir"), root());
  }
};

QTEST_APPLESS_MAIN(TestPaths)
#include "test_paths.moc"
