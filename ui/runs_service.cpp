// The runs service and its worker (see runs_service.h).
#include "ui/runs_service.h"

#include <QMetaObject>

#include <stdexcept>

namespace tessera::ui {

RunsWorker::RunsWorker(RunsControlFactory factory) : factory_(std::move(factory)) {}
RunsWorker::~RunsWorker() = default;

void RunsWorker::perform(Command command, const QString& argument) {
  const bool ok = run(command, argument.toStdString());
  Q_EMIT finished(command, ok);
}

bool RunsWorker::run(Command command, const std::string& argument) {
  try {
    if (!control_) control_ = factory_();
    switch (command) {
      case Command::Refresh: Q_EMIT listed(control_->list()); break;
      case Command::Add: Q_EMIT listed(control_->add(argument)); break;
      case Command::Remove: Q_EMIT listed(control_->remove(argument)); break;
      case Command::Join: Q_EMIT listed(control_->join(argument)); break;
      case Command::Leave: Q_EMIT listed(control_->leave()); break;
    }
    return true;
  } catch (const std::invalid_argument& error) {
    Q_EMIT failed(command, QString::fromUtf8(error.what()), true);
    return false;
  } catch (const std::exception& error) {
    control_.reset();  // read control.json again next time
    Q_EMIT failed(command, QString::fromUtf8(error.what()), false);
    return false;
  }
}

RunsService::RunsService(const QString& control_file, QObject* parent)
    : RunsService(RunsControlFactory([control_file] { return connectToNodeRuns(control_file); }), parent) {}

RunsService::RunsService(RunsControlFactory factory, QObject* parent) : QObject(parent) {
  qRegisterMetaType<NodeRuns>();
  worker_ = new RunsWorker(std::move(factory));
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName(QStringLiteral("runs"));
  thread_.start();

  connect(worker_, &RunsWorker::listed, this, [this](const NodeRuns& runs) {
    answered_ = true;
    if (runs == runs_) return;
    runs_ = runs;
    Q_EMIT runsChanged(runs_);
  });
  connect(worker_, &RunsWorker::failed, this, [this](RunsWorker::Command command, const QString& why, bool refused) {
    if (command == RunsWorker::Command::Refresh)
      Q_EMIT unreachable(why);
    else
      Q_EMIT failed(command, why, refused);
  });
  connect(worker_, &RunsWorker::finished, this, [this](RunsWorker::Command command, bool ok) {
    --pending_;
    if (command != RunsWorker::Command::Refresh && --commands_ == 0) Q_EMIT busyChanged(false);
    Q_EMIT finished(command, ok);
  });
  poll_timer_.setInterval(kPollMs);
  connect(&poll_timer_, &QTimer::timeout, this, [this] {
    if (pending_ == 0) refresh();  // a slow node must not pile up requests
  });
}

RunsService::~RunsService() {
  poll_timer_.stop();
  thread_.quit();
  thread_.wait();
}

void RunsService::send(RunsWorker::Command command, const QString& argument) {
  ++pending_;
  if (command != RunsWorker::Command::Refresh && commands_++ == 0) Q_EMIT busyChanged(true);
  QMetaObject::invokeMethod(
      worker_, [worker = worker_, command, argument] { worker->perform(command, argument); }, Qt::QueuedConnection);
}

void RunsService::refresh() { send(RunsWorker::Command::Refresh); }
void RunsService::addRun(const QString& link) { send(RunsWorker::Command::Add, link); }
void RunsService::removeRun(const QString& run) { send(RunsWorker::Command::Remove, run); }
void RunsService::joinRun(const QString& run) { send(RunsWorker::Command::Join, run); }
void RunsService::leaveRun() { send(RunsWorker::Command::Leave); }

void RunsService::setPolling(bool on) {
  if (on == poll_timer_.isActive()) return;
  if (!on) return poll_timer_.stop();
  poll_timer_.start();
  refresh();
}

void RunsService::showSample(const NodeRuns& runs) {
  answered_ = true;
  runs_ = runs;
  Q_EMIT runsChanged(runs_);
}

QString describeCommand(RunsWorker::Command command) {
  switch (command) {
    case RunsWorker::Command::Refresh: return QObject::tr("Runs");
    case RunsWorker::Command::Add: return QObject::tr("Add");
    case RunsWorker::Command::Remove: return QObject::tr("Remove");
    case RunsWorker::Command::Join: return QObject::tr("Join");
    case RunsWorker::Command::Leave: return QObject::tr("Leave");
  }
  return {};
}

}  // namespace tessera::ui
