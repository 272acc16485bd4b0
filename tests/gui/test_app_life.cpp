// The desktop app's life as real processes, the way a session treats it: `tessera` (offscreen)
// starts its node (`tessera-node run --local`, which starts the local network's peers); a SIGTERM
// (a logout) quits the app cleanly and stops the node and its peers; a SIGKILL of the app stops
// them too (the node is told by the kernel); and an app started on a folder whose node is already
// running attaches to it instead of starting another, and leaves it running when it quits.
// Who is alive is read from the data folders' locks (core/sys/data_dir_lock.h): each node holds
// its folder's lock for its whole life and writes its process id in it.
#include <QtTest>

#include <signal.h>

#include <QProcess>
#include <QProcessEnvironment>
#include <QTemporaryDir>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "core/control/control_file.h"
#include "core/sys/data_dir_lock.h"
#include "core/wallet/keystore.h"

using namespace tessera;
namespace fs = std::filesystem;

namespace {

// The process id a node wrote into its folder's lock file (nothing yet: not started, or stopped).
std::optional<qint64> pid_in_lock_file(const fs::path& folder) {
  std::ifstream in(folder / sys::kDataDirLockName);
  qint64 pid = 0;
  if (in >> pid && pid > 0) return pid;
  return std::nullopt;
}

// True when no process holds the folder (its lock is taken and released at once; only called when
// no node should be starting there, since a node starting meanwhile would be refused).
bool folder_free(const fs::path& folder) {
  try {
    sys::DataDirLock probe(folder, "test_app_life");
    return true;
  } catch (const sys::DataDirInUse&) {
    return false;
  }
}

// The parent process of `pid` (Linux: the fourth field of /proc/PID/stat).
qint64 parent_of(qint64 pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto after_name = line.rfind(')');
  if (after_name == std::string::npos) return 0;
  std::istringstream fields(line.substr(after_name + 2));
  std::string state;
  qint64 parent = 0;
  fields >> state >> parent;
  return parent;
}

template <typename Condition>
bool wait_until(Condition&& condition, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (!condition()) {
    if (timer.elapsed() > timeout_ms) return false;
    QTest::qWait(100);
  }
  return true;
}

class Folder {
 public:
  Folder() {
    // Not a first run: a wallet exists, so the app starts its node at once.
    const auto password = std::string("password");
    wallet::Keystore::create_from_keypair(path() / wallet::Keystore::kFileName, wallet::KeyPair::generate(),
                                          {reinterpret_cast<const std::uint8_t*>(password.data()), password.size()},
                                          wallet::KdfLimits::insecure_for_tests_only());
  }
  fs::path path() const { return dir_.path().toStdString(); }
  QString qpath() const { return dir_.path(); }
  // The local network's peers the node starts live in <data-dir>/local/peer-K.
  std::vector<fs::path> peer_folders() const { return {path() / "local" / "peer-0", path() / "local" / "peer-1"}; }
  QProcessEnvironment environment() const {
    auto env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.insert(QStringLiteral("XDG_CONFIG_HOME"), config_.path());  // the app's preferences stay here
    env.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("default.info=true"));
    return env;
  }

 private:
  QTemporaryDir dir_;
  QTemporaryDir config_;
};

void start_app(QProcess& app, const Folder& folder) {
  app.setProcessEnvironment(folder.environment());
  app.setProcessChannelMode(QProcess::MergedChannels);
  app.start(QStringLiteral(TESSERA_APP_BIN), {QStringLiteral("--data-dir"), folder.qpath()});
}

// The node and both local peers are up: each holds its folder and has written its process id.
bool network_up(const Folder& folder, int timeout_ms) {
  return wait_until(
      [&] {
        if (!pid_in_lock_file(folder.path()) || !fs::exists(folder.path() / control::kControlFileName)) return false;
        for (const auto& peer : folder.peer_folders())
          if (!pid_in_lock_file(peer)) return false;
        return true;
      },
      timeout_ms);
}

bool everything_stopped(const Folder& folder, int timeout_ms) {
  return wait_until(
      [&] {
        if (!folder_free(folder.path())) return false;
        for (const auto& peer : folder.peer_folders())
          if (!folder_free(peer)) return false;
        return true;
      },
      timeout_ms);
}

QString output_of(QProcess& process) { return QString::fromUtf8(process.readAll()); }

}  // namespace

class TestAppLife : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void sigtermQuitsAndStopsWhatTheAppStarted() {
    Folder folder;
    QProcess app;
    start_app(app, folder);
    QVERIFY(app.waitForStarted());
    QVERIFY2(network_up(folder, 180000), qPrintable(output_of(app)));
    QCOMPARE(parent_of(*pid_in_lock_file(folder.path())), app.processId());  // the app's own node

    ::kill(static_cast<pid_t>(app.processId()), SIGTERM);
    QVERIFY2(app.waitForFinished(60000), "the app ignored SIGTERM");
    const auto output = output_of(app);
    QCOMPARE(app.exitStatus(), QProcess::NormalExit);
    QVERIFY2(app.exitCode() == 0, qPrintable(output));
    QVERIFY2(output.contains(QStringLiteral("signal 15: quitting")), qPrintable(output));
    // The app waited for its node, which stopped its peers and removed its control file.
    QVERIFY(everything_stopped(folder, 30000));
    QVERIFY(!fs::exists(folder.path() / control::kControlFileName));
  }

  void killingTheAppStopsItsNodeAndPeers() {
    Folder folder;
    QProcess app;
    start_app(app, folder);
    QVERIFY(app.waitForStarted());
    QVERIFY2(network_up(folder, 180000), qPrintable(output_of(app)));
    ::kill(static_cast<pid_t>(app.processId()), SIGKILL);
    QVERIFY(app.waitForFinished(10000));
    QVERIFY2(everything_stopped(folder, 60000), "the node or a local peer outlived the killed app");
    // Starting the app again finds the folder free: its new node runs, alone.
    QProcess again;
    start_app(again, folder);
    QVERIFY(again.waitForStarted());
    QVERIFY2(network_up(folder, 180000), qPrintable(output_of(again)));
    ::kill(static_cast<pid_t>(again.processId()), SIGTERM);
    QVERIFY(again.waitForFinished(60000));
    QVERIFY(everything_stopped(folder, 30000));
  }

  void attachesToARunningNodeAndLeavesItRunning() {
    Folder folder;
    QProcess node;  // started by hand, as a headless user would
    node.setProcessEnvironment(folder.environment());
    node.setProcessChannelMode(QProcess::MergedChannels);
    node.start(QStringLiteral(TESSERA_NODE_BIN),
               {QStringLiteral("--data-dir"), folder.qpath(), QStringLiteral("run"), QStringLiteral("--local"),
                QStringLiteral("--paused")});
    QVERIFY(node.waitForStarted());
    QVERIFY2(network_up(folder, 180000), qPrintable(output_of(node)));
    QCOMPARE(*pid_in_lock_file(folder.path()), node.processId());

    QProcess app;
    start_app(app, folder);
    QVERIFY(app.waitForStarted());
    QString output;
    const auto attached = QStringLiteral("attached to the node already running in %1 (process %2)")
                              .arg(folder.qpath())
                              .arg(node.processId());
    QVERIFY2(wait_until(
                 [&] {
                   output += output_of(app);
                   return output.contains(attached);
                 },
                 60000),
             qPrintable(output));
    ::kill(static_cast<pid_t>(app.processId()), SIGTERM);
    QVERIFY(app.waitForFinished(60000));
    QCOMPARE(app.exitCode(), 0);

    // The node is the one started by hand, still running and still the folder's only node.
    QCOMPARE(node.state(), QProcess::Running);
    QVERIFY(!folder_free(folder.path()));
    QCOMPARE(*pid_in_lock_file(folder.path()), node.processId());
    ::kill(static_cast<pid_t>(node.processId()), SIGTERM);
    QVERIFY(node.waitForFinished(60000));
    QCOMPARE(node.exitCode(), 0);
    QVERIFY(everything_stopped(folder, 30000));
  }

  void secondNodeOnAFolderIsRefusedWithTheHoldersPid() {
    Folder folder;
    QProcess first;
    first.setProcessChannelMode(QProcess::MergedChannels);
    first.start(QStringLiteral(TESSERA_NODE_BIN), {QStringLiteral("--data-dir"), folder.qpath(), QStringLiteral("run"),
                                                   QStringLiteral("--local"), QStringLiteral("--paused")});
    QVERIFY(first.waitForStarted());
    QVERIFY2(network_up(folder, 180000), qPrintable(output_of(first)));
    const auto first_pid = first.processId();
    for (const auto& command : {QStringList{QStringLiteral("run"), QStringLiteral("--local")},
                                QStringList{QStringLiteral("demo"), QStringLiteral("--steps"), QStringLiteral("1")}}) {
      QProcess second;
      second.start(QStringLiteral(TESSERA_NODE_BIN), QStringList{QStringLiteral("--data-dir"), folder.qpath()} + command);
      QVERIFY(second.waitForFinished(60000));
      const auto error = QString::fromUtf8(second.readAllStandardError());
      QVERIFY2(second.exitCode() != 0, qPrintable(error));
      QVERIFY2(error.contains(QStringLiteral("is in use by tessera-node run (process %1)").arg(first_pid)),
               qPrintable(error));
    }
    // SIGKILL: no clean exit, the lock file keeps the dead node's id, and yet the next start works.
    ::kill(static_cast<pid_t>(first_pid), SIGKILL);
    QVERIFY(first.waitForFinished(10000));
    QCOMPARE(*pid_in_lock_file(folder.path()), first_pid);
    QVERIFY(everything_stopped(folder, 60000));  // its peers follow it (PR_SET_PDEATHSIG)
    QProcess next;
    next.setProcessChannelMode(QProcess::MergedChannels);
    next.start(QStringLiteral(TESSERA_NODE_BIN), {QStringLiteral("--data-dir"), folder.qpath(), QStringLiteral("run"),
                                                  QStringLiteral("--local"), QStringLiteral("--paused")});
    QVERIFY(next.waitForStarted());
    QVERIFY2(wait_until([&] { return pid_in_lock_file(folder.path()) == next.processId(); }, 60000),
             qPrintable(output_of(next)));
    ::kill(static_cast<pid_t>(next.processId()), SIGTERM);
    QVERIFY(next.waitForFinished(60000));
    QCOMPARE(next.exitCode(), 0);
  }
};

QTEST_GUILESS_MAIN(TestAppLife)
#include "test_app_life.moc"
