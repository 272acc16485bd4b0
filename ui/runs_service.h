// The Runs page's service: the node's runs (NodeRuns) fetched and changed through RunsControl on a
// worker thread, so no HTTP call blocks the window. Every command (add, remove, join, leave)
// answers the node's runs after it; while polling (the page is shown) the list is fetched every few
// seconds. One call runs at a time; the service says when it is busy so the page can hold its
// buttons. A failed call drops the connection, so the next one reads control.json again (a node
// restarted on another port).
#pragma once

#include <QObject>
#include <QString>
#include <QThread>
#include <QTimer>

#include <functional>
#include <memory>

#include "ui/node_runs.h"
#include "ui/runs_control.h"

namespace tessera::ui {

using RunsControlFactory = std::function<std::unique_ptr<RunsControl>()>;

// Lives on the service's thread; each slot may block on the node.
class RunsWorker : public QObject {
  Q_OBJECT

 public:
  enum class Command { Refresh, Add, Remove, Join, Leave };
  Q_ENUM(Command)

  explicit RunsWorker(RunsControlFactory factory);
  ~RunsWorker() override;

  // `argument`: the link (Add) or the run id (Remove, Join); unused otherwise.
  void perform(tessera::ui::RunsWorker::Command command, const QString& argument);

 Q_SIGNALS:
  void listed(const tessera::ui::NodeRuns& runs);
  // A command the node refused or did not answer; `refused`: the node said the request is wrong
  // (400: a malformed link, a manifest that does not verify), not that it is unreachable.
  void failed(tessera::ui::RunsWorker::Command command, const QString& why, bool refused);
  // After every command, `ok` when the node did it.
  void finished(tessera::ui::RunsWorker::Command command, bool ok);

 private:
  bool run(Command command, const std::string& argument);

  RunsControlFactory factory_;
  std::unique_ptr<RunsControl> control_;
};

class RunsService : public QObject {
  Q_OBJECT

 public:
  static constexpr int kPollMs = 10'000;  // each list may ask the runs' hubs (cached 5 s by the node)

  // Over the node serving `control_file` (the data folder's control.json).
  explicit RunsService(const QString& control_file, QObject* parent = nullptr);
  // Over any RunsControl (tests); `factory` is called on the worker thread.
  explicit RunsService(RunsControlFactory factory, QObject* parent = nullptr);
  ~RunsService() override;  // quits and waits for the worker

  const NodeRuns& runs() const { return runs_; }
  bool isBusy() const { return commands_ > 0; }  // a command (not a refresh) is in flight
  bool hasAnswered() const { return answered_; }  // the node listed its runs at least once

  void refresh();
  void addRun(const QString& link);
  void removeRun(const QString& run);
  void joinRun(const QString& run);  // switches when another run is current
  void leaveRun();
  // Fetches the list every kPollMs while on (the page is shown), once at once.
  void setPolling(bool on);
  // Shows `runs` as if the node had listed them (the screenshots' fixed state).
  void showSample(const NodeRuns& runs);

 Q_SIGNALS:
  void runsChanged(const tessera::ui::NodeRuns& runs);
  void busyChanged(bool busy);  // commands only: a poll does not hold the page's buttons
  // What failed ("Add", "Join", …), why, and whether the node refused the request as wrong.
  void failed(tessera::ui::RunsWorker::Command command, const QString& why, bool refused);
  // The node could not be asked for its runs (not running, not answering).
  void unreachable(const QString& why);
  void finished(tessera::ui::RunsWorker::Command command, bool ok);

 private:
  void send(RunsWorker::Command command, const QString& argument = {});

  QThread thread_;
  RunsWorker* worker_ = nullptr;
  QTimer poll_timer_;
  NodeRuns runs_;
  int pending_ = 0;   // calls in flight, refreshes included
  int commands_ = 0;  // commands in flight
  bool answered_ = false;
};

// The command in words, for messages ("Join", "Add", …).
QString describeCommand(RunsWorker::Command command);

}  // namespace tessera::ui
