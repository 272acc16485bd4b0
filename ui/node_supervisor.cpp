// The node's child process and its control API client (see node_supervisor.h).
#include "ui/node_supervisor.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QMetaObject>

#include <stdexcept>

#ifdef Q_OS_LINUX
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>
#endif

#include "core/control/control_api.h"
#include "core/control/control_file.h"

namespace tessera::ui {

namespace {

constexpr int kMaxLogLines = 40;
constexpr int kMaxBackoffMs = 60'000;
constexpr int kStableRunMs = 120'000;  // a run this long resets the back-off
constexpr int kConnectTries = 150;     // × 200 ms: 30 s for the node to write control.json
constexpr int kAttachedPollFailures = 3;  // status polls in a row an attached node may miss

QString errorText(const std::exception& error) { return QString::fromUtf8(error.what()); }

}  // namespace

NodeClientWorker::NodeClientWorker(QString control_file) : control_file_(std::move(control_file)) {}
NodeClientWorker::~NodeClientWorker() = default;

template <typename Call>
bool NodeClientWorker::guarded(const QString& what, Call&& call) {
  if (!client_) {
    Q_EMIT failed(what, tr("the node is not running"));
    return false;
  }
  try {
    call();
    return true;
  } catch (const std::exception& error) {
    Q_EMIT failed(what, errorText(error));
    return false;
  }
}

void NodeClientWorker::connectToNode() {
  client_.reset();
  try {
    auto endpoint = control::read_control_file(control_file_.toStdString());
    client_ = std::make_unique<control::ControlClient>(endpoint.port, endpoint.token, std::chrono::milliseconds(5000));
    client_->status();  // proves the port and token
    Q_EMIT connected(endpoint.pid);
  } catch (const std::exception& error) {
    client_.reset();
    Q_EMIT connectFailed(errorText(error));
  }
}

void NodeClientWorker::disconnectFromNode() { client_.reset(); }

void NodeClientWorker::poll() {
  if (!client_) return;
  try {
    Q_EMIT status(client_->status());
  } catch (const std::exception& error) {
    Q_EMIT failed(tr("Status"), errorText(error));
  }
}

void NodeClientWorker::start() {
  guarded(tr("Start"), [&] { client_->start(); });
  poll();
}

void NodeClientWorker::pause(bool finish_step) {
  guarded(tr("Pause"), [&] { client_->pause(finish_step); });
  poll();
}

void NodeClientWorker::snooze(qint64 seconds) {
  guarded(tr("Pause for a while"), [&] { client_->snooze(std::chrono::seconds(seconds)); });
  poll();
}

void NodeClientWorker::fetchSettings() {
  guarded(tr("Settings"), [&] { Q_EMIT settings(client_->settings()); });
}

void NodeClientWorker::updateSettings(const nlohmann::json& patch) {
  guarded(tr("Settings"), [&] { Q_EMIT settings(client_->update_settings(patch)); });
}

QString describeExit(int exit_code, QProcess::ExitStatus status, QProcess::ProcessError error) {
  if (error == QProcess::FailedToStart)
    return QObject::tr("tessera-node could not be started (missing or not executable)");
  if (status == QProcess::CrashExit) return QObject::tr("tessera-node crashed");
  return QObject::tr("tessera-node stopped with exit code %1").arg(exit_code);
}

NodeSupervisor::NodeSupervisor(QString node_program, QString data_dir, QObject* parent)
    : QObject(parent), node_program_(std::move(node_program)), data_dir_(std::move(data_dir)) {
  worker_ = new NodeClientWorker(QDir(data_dir_).filePath(QString::fromLatin1(control::kControlFileName)));
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName(QStringLiteral("node-client"));
  thread_.start();

  connect(worker_, &NodeClientWorker::connected, this, &NodeSupervisor::onConnected);
  connect(worker_, &NodeClientWorker::connectFailed, this, [this](const QString& why) {
    if (probing_) {  // no node serves the folder: start this app's own
      probing_ = false;
      if (!user_stopped_) spawn();
      return;
    }
    if (phase_ != Phase::Launching) return;
    if (++connect_attempts_ >= kConnectTries) {
      connect_timer_.stop();
      Q_EMIT callFailed(tr("Connect"), tr("the node did not open its control API: %1").arg(why));
    }
  });
  connect(worker_, &NodeClientWorker::status, this, [this](const control::NodeStatus& status) {
    poll_pending_ = false;
    failed_polls_ = 0;
    last_status_ = status;
    Q_EMIT statusChanged(status);
  });
  connect(worker_, &NodeClientWorker::settings, this, [this](const control::NodeSettings& settings) {
    last_settings_ = settings;
    Q_EMIT settingsChanged(settings);
  });
  connect(worker_, &NodeClientWorker::failed, this, [this](const QString& what, const QString& why) {
    if (what == NodeClientWorker::tr("Status")) {
      poll_pending_ = false;
      if (attached_ && ++failed_polls_ >= kAttachedPollFailures) return lostAttachedNode();
    }
    Q_EMIT callFailed(what, why);
  });

  poll_timer_.setInterval(1000);
  connect(&poll_timer_, &QTimer::timeout, this, [this] {
    // One poll in flight at most: a hung node (5 s timeout per call) must not pile up requests.
    if (poll_pending_) return;
    poll_pending_ = true;
    QMetaObject::invokeMethod(worker_, &NodeClientWorker::poll, Qt::QueuedConnection);
  });
  connect_timer_.setInterval(200);
  connect(&connect_timer_, &QTimer::timeout, this, &NodeSupervisor::tryConnect);
  restart_timer_.setSingleShot(true);
  connect(&restart_timer_, &QTimer::timeout, this, [this] { launch(launched_paused_); });
}

NodeSupervisor::~NodeSupervisor() {
  user_stopped_ = true;
  restart_timer_.stop();
  poll_timer_.stop();
  connect_timer_.stop();
  if (process_ != nullptr && process_->state() != QProcess::NotRunning) {
    process_->disconnect(this);
    process_->terminate();
    if (!process_->waitForFinished(10'000)) {
      process_->kill();
      process_->waitForFinished(2000);
    }
  }
  thread_.quit();
  thread_.wait();
}

QString NodeSupervisor::defaultNodeProgram() {
  QString name = QStringLiteral("tessera-node");
#ifdef Q_OS_WIN
  name += QStringLiteral(".exe");
#endif
  return QDir(QCoreApplication::applicationDirPath()).filePath(name);
}

bool NodeSupervisor::isRunning() const { return process_ != nullptr && process_->state() != QProcess::NotRunning; }

void NodeSupervisor::setHubUrl(const QString& url) {
  if (url == hub_url_) return;
  hub_url_ = url;
  if (attached_) {
    Q_EMIT callFailed(tr("Network"), tr("the running node (process %1) was not started by Tessera: it keeps its "
                                        "network until it is restarted")
                                         .arg(node_pid_));
    return;
  }
  if (isRunning()) {
    const bool paused = last_status_.state == "paused";
    stop();
    launch(paused);
  }
}

void NodeSupervisor::setPhase(Phase phase) {
  if (phase == phase_) return;
  phase_ = phase;
  Q_EMIT phaseChanged(phase);
}

void NodeSupervisor::launch(bool paused) {
  if (isRunning() || attached_ || probing_) return;
  restart_timer_.stop();
  user_stopped_ = false;
  launched_paused_ = paused;
  connect_attempts_ = 0;
  setPhase(Phase::Launching);
  // A node that answers at the folder's control.json is the folder's node: attach (onConnected).
  probing_ = true;
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::connectToNode, Qt::QueuedConnection);
}

void NodeSupervisor::onConnected(qint64 pid) {
  if (probing_) {
    probing_ = false;
    if (user_stopped_) {
      QMetaObject::invokeMethod(worker_, &NodeClientWorker::disconnectFromNode, Qt::QueuedConnection);
      return;
    }
    attached_ = true;
    failed_polls_ = 0;
    qInfo("attached to the node already running in %s (process %lld)", qPrintable(data_dir_),
          static_cast<long long>(pid));
  } else if (!isRunning()) {
    return;  // a late answer from a node that has stopped since
  }
  node_pid_ = pid;
  connect_timer_.stop();
  poll_pending_ = false;
  setPhase(Phase::Connected);
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::fetchSettings, Qt::QueuedConnection);
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::poll, Qt::QueuedConnection);
  poll_timer_.start();
  if (start_when_connected_) {
    start_when_connected_ = false;
    QMetaObject::invokeMethod(worker_, &NodeClientWorker::start, Qt::QueuedConnection);
  }
}

// The node someone else started stopped answering: this app starts its own (after the back-off).
void NodeSupervisor::lostAttachedNode() {
  attached_ = false;
  poll_timer_.stop();
  poll_pending_ = false;
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::disconnectFromNode, Qt::QueuedConnection);
  const QString reason = tr("the node this app was attached to (process %1) stopped answering").arg(node_pid_);
  node_pid_ = 0;
  setPhase(Phase::Crashed);
  Q_EMIT crashed(reason, log_lines_, backoff_ms_);
  restart_timer_.start(backoff_ms_);
  backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
}

void NodeSupervisor::spawn() {
  if (process_ != nullptr) process_->deleteLater();
  process_ = new QProcess(this);
  process_->setProcessChannelMode(QProcess::MergedChannels);
  connect(process_, &QProcess::readyReadStandardOutput, this, &NodeSupervisor::onOutput);
  connect(process_, &QProcess::finished, this, &NodeSupervisor::onFinished);
  connect(process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError error) {
    if (error == QProcess::FailedToStart) onFinished(-1, QProcess::CrashExit);
  });
  QStringList arguments{QStringLiteral("--data-dir"), data_dir_, QStringLiteral("run")};  // --data-dir is a global option
  if (hub_url_.isEmpty())
    arguments << QStringLiteral("--local");
  else
    arguments << QStringLiteral("--hub") << hub_url_;
  if (launched_paused_) arguments << QStringLiteral("--paused");
#ifdef Q_OS_LINUX
  // The node (and through it the local network's peers) stops when this app dies, even by SIGKILL.
  const pid_t app = ::getpid();
  process_->setChildProcessModifier([app] {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != app) ::_exit(1);  // the app died before the line above took effect
  });
#endif
  // A stale control file from a node that did not exit cleanly must not be mistaken for this one.
  QFile::remove(QDir(data_dir_).filePath(QString::fromLatin1(control::kControlFileName)));
  running_since_.start();
  process_->start(node_program_, arguments);
  connect_timer_.start();
}

void NodeSupervisor::tryConnect() {
  if (!isRunning()) return;
  if (!QFileInfo::exists(QDir(data_dir_).filePath(QString::fromLatin1(control::kControlFileName)))) {
    if (++connect_attempts_ >= kConnectTries) {
      connect_timer_.stop();
      Q_EMIT callFailed(tr("Connect"), tr("the node has not opened its control API after 30 s"));
    }
    return;
  }
  connect_timer_.stop();
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::connectToNode, Qt::QueuedConnection);
  // If that attempt fails, try again shortly.
  QTimer::singleShot(500, this, [this] {
    if (phase_ == Phase::Launching && isRunning() && connect_attempts_ < kConnectTries) connect_timer_.start();
  });
}

void NodeSupervisor::stop() {
  user_stopped_ = true;
  probing_ = false;
  attached_ = false;  // a node this app did not start is let go, not stopped
  node_pid_ = 0;
  restart_timer_.stop();
  connect_timer_.stop();
  poll_timer_.stop();
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::disconnectFromNode, Qt::QueuedConnection);
  if (isRunning()) {
    process_->terminate();
    if (!process_->waitForFinished(10'000)) process_->kill();
  }
  setPhase(Phase::Stopped);
}

void NodeSupervisor::restartNow() {
  backoff_ms_ = 1000;
  if (isRunning()) stop();
  launch(launched_paused_);
}

void NodeSupervisor::startContribution() {
  if (!isRunning() && !attached_ && !probing_) {
    start_when_connected_ = false;
    launch(/*paused=*/false);
    return;
  }
  if (phase_ != Phase::Connected) {
    start_when_connected_ = true;
    return;
  }
  launched_paused_ = false;
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::start, Qt::QueuedConnection);
}

void NodeSupervisor::pauseContribution(bool finish_step) {
  start_when_connected_ = false;
  launched_paused_ = true;
  QMetaObject::invokeMethod(worker_, "pause", Qt::QueuedConnection, Q_ARG(bool, finish_step));
}

void NodeSupervisor::snooze(qint64 seconds) {
  QMetaObject::invokeMethod(worker_, "snooze", Qt::QueuedConnection, Q_ARG(qint64, seconds));
}

void NodeSupervisor::updateSettings(const nlohmann::json& patch) {
  QMetaObject::invokeMethod(worker_, [worker = worker_, patch] { worker->updateSettings(patch); }, Qt::QueuedConnection);
}

void NodeSupervisor::onOutput() {
  if (process_ == nullptr) return;
  while (process_->canReadLine()) {
    const QString line = QString::fromUtf8(process_->readLine()).trimmed();
    if (line.isEmpty()) continue;
    log_lines_.push_back(line);
    while (log_lines_.size() > kMaxLogLines) log_lines_.pop_front();
    Q_EMIT logLine(line);
  }
}

void NodeSupervisor::onFinished(int exit_code, QProcess::ExitStatus status) {
  onOutput();
  if (process_ != nullptr) {
    const QByteArray rest = process_->readAll().trimmed();
    if (!rest.isEmpty()) log_lines_.push_back(QString::fromUtf8(rest));
  }
  poll_timer_.stop();
  connect_timer_.stop();
  QMetaObject::invokeMethod(worker_, &NodeClientWorker::disconnectFromNode, Qt::QueuedConnection);
  poll_pending_ = false;
  node_pid_ = 0;
  if (user_stopped_) {
    setPhase(Phase::Stopped);
    return;
  }
  const auto error = process_ != nullptr ? process_->error() : QProcess::UnknownError;
  const QString reason = describeExit(exit_code, status, error);
  if (running_since_.isValid() && running_since_.elapsed() > kStableRunMs) backoff_ms_ = 1000;
  const int delay = error == QProcess::FailedToStart ? -1 : backoff_ms_;
  setPhase(Phase::Crashed);
  Q_EMIT crashed(reason, log_lines_, delay);
  if (delay >= 0) {
    restart_timer_.start(delay);
    backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
  }
}

}  // namespace tessera::ui
