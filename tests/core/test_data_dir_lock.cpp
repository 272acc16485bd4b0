// The data folder's lock: one holder at a time, whether the other is this process or another; the
// refusal names the holder's process id; the lock goes with its process, however it ends, and is
// never passed on to the programs a node starts.
#include <QtTest>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "core/sys/data_dir_lock.h"

using tessera::sys::DataDirInUse;
using tessera::sys::DataDirLock;

namespace {

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The lock's refusal, or nothing when the lock was free (it is released again at once).
std::optional<DataDirInUse> refusal(const std::filesystem::path& dir) {
  try {
    DataDirLock lock(dir, "the test");
    return std::nullopt;
  } catch (const DataDirInUse& error) {
    return error;
  }
}

// A child process that takes the lock, says so through a pipe and waits to be killed.
pid_t child_holding(const std::filesystem::path& dir) {
  int ready[2];
  if (::pipe(ready) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(ready[0]);
    try {
      DataDirLock lock(dir, "the child");
      [[maybe_unused]] const auto n = ::write(ready[1], "1", 1);
      for (;;) ::pause();
    } catch (...) {
      ::_exit(3);
    }
  }
  ::close(ready[1]);
  char byte = 0;
  const auto got = ::read(ready[0], &byte, 1);
  ::close(ready[0]);
  return got == 1 ? pid : -1;
}

}  // namespace

class TestDataDirLock : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void holderWritesWhoItIs() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    {
      DataDirLock lock(folder, "tessera-node run");
      QCOMPARE(lock.file(), folder / "node.lock");
      QCOMPARE(read_file(lock.file()), std::to_string(::getpid()) + "\ntessera-node run\n");
    }
    QCOMPARE(read_file(folder / "node.lock"), std::string());  // emptied on release
  }

  void secondHolderInThisProcessIsRefused() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    DataDirLock lock(folder, "tessera-node run");
    const auto error = refusal(folder);
    QVERIFY(error.has_value());
    QCOMPARE(error->holder_pid(), std::optional<std::int64_t>(::getpid()));
    const QString message = QString::fromUtf8(error->what());
    QVERIFY2(message.contains(QStringLiteral("tessera-node run (process %1)").arg(::getpid())), qPrintable(message));
    QVERIFY2(message.contains(dir.path()), qPrintable(message));
  }

  void releasedLockCanBeTakenAgain() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    { DataDirLock first(folder, "first"); }
    QVERIFY(!refusal(folder).has_value());
    DataDirLock moved_from(folder, "second");
    const DataDirLock owner(std::move(moved_from));
    QVERIFY(refusal(folder).has_value());  // the moved-to object holds it
  }

  void anotherProcessIsNamedAndItsDeathFreesTheFolder() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    const pid_t child = child_holding(folder);
    QVERIFY(child > 0);
    const auto error = refusal(folder);
    QVERIFY(error.has_value());
    QCOMPARE(error->holder_pid(), std::optional<std::int64_t>(child));
    QVERIFY(QString::fromUtf8(error->what()).contains(QStringLiteral("the child (process %1)").arg(child)));
    // SIGKILL: no destructor runs, the file keeps the dead process's id, and yet the folder is free.
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    QCOMPARE(read_file(folder / "node.lock"), std::to_string(child) + "\nthe child\n");
    DataDirLock next(folder, "next");
    QCOMPARE(read_file(next.file()), std::to_string(::getpid()) + "\nnext\n");
  }

  void programsStartedByTheHolderDoNotKeepTheLock() {
    QTemporaryDir dir;
    const std::filesystem::path folder = dir.path().toStdString();
    pid_t sleeper = -1;
    {
      DataDirLock lock(folder, "parent");
      int execed[2];  // close-on-exec: the read sees the end of the file once the child has exec'd
      QCOMPARE(::pipe2(execed, O_CLOEXEC), 0);
      sleeper = ::fork();
      if (sleeper == 0) {
        ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
        ::_exit(127);
      }
      ::close(execed[1]);
      char byte = 0;
      QCOMPARE(::read(execed[0], &byte, 1), ssize_t(0));
      ::close(execed[0]);
      QVERIFY(sleeper > 0);
    }
    const bool free_while_child_lives = !refusal(folder).has_value();
    ::kill(sleeper, SIGKILL);
    ::waitpid(sleeper, nullptr, 0);
    QVERIFY(free_while_child_lives);
  }

  void missingFolderIsNamed() {
    QTemporaryDir dir;
    const std::filesystem::path folder = std::filesystem::path(dir.path().toStdString()) / "missing";
    try {
      DataDirLock lock(folder, "x");
      QFAIL("locked a folder that does not exist");
    } catch (const DataDirInUse&) {
      QFAIL("a missing folder is not in use");
    } catch (const std::runtime_error& error) {
      QVERIFY2(QString::fromUtf8(error.what()).contains(QStringLiteral("node.lock")), error.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestDataDirLock)
#include "test_data_dir_lock.moc"
