// Supervises the contributor daemon: starts `tessera-node run` as a child process, restarts it with
// back-off when it dies (keeping the reason and its last log lines for the user), finds its control
// API through <data-dir>/control.json and talks to it from a worker thread (NodeClientWorker), so
// no HTTP call ever blocks the window. Status is polled once a second: the view is throttled by
// construction.
//
// One node per data folder. Before starting one, the supervisor tries the folder's control.json:
// a node that answers there (started by hand, by a systemd unit, or by another window of the app)
// is attached to, not duplicated. Who started a node decides who stops it: a node this app started
// lives and dies with the app (stopped on quit, and on Linux told to stop by the kernel if the app
// is killed: PR_SET_PDEATHSIG), and with it the local network's peers the node started; a node the
// app attached to is left running when the app quits, and if it goes away the app starts its own.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QProcess>
#include <QStringList>
#include <QThread>
#include <QTimer>

#include <memory>

#include "core/control/node_settings.h"
#include "core/control/node_status.h"

namespace tessera::control {
class ControlClient;
}

namespace tessera::ui {

// Lives on the supervisor's worker thread; every call may block on HTTP (5 s timeout at most).
class NodeClientWorker : public QObject {
  Q_OBJECT

 public:
  explicit NodeClientWorker(QString control_file);
  ~NodeClientWorker() override;

 public Q_SLOTS:
  void connectToNode();  // (re)reads control.json; emits connected or connectFailed
  void disconnectFromNode();
  void poll();
  void start();
  void pause(bool finish_step);
  void snooze(qint64 seconds);
  void fetchSettings();
  void updateSettings(const nlohmann::json& patch);

 Q_SIGNALS:
  void connected(qint64 pid);
  void connectFailed(const QString& why);
  void status(const tessera::control::NodeStatus& status);
  void settings(const tessera::control::NodeSettings& settings);
  void failed(const QString& what, const QString& why);  // a call the node refused or did not answer

 private:
  template <typename Call>
  bool guarded(const QString& what, Call&& call);

  QString control_file_;
  std::unique_ptr<control::ControlClient> client_;
};

class NodeSupervisor : public QObject {
  Q_OBJECT

 public:
  enum class Phase { Stopped, Launching, Connected, Crashed };
  Q_ENUM(Phase)

  // `node_program`: the tessera-node binary; `data_dir`: passed as --data-dir; `hub_url` empty means
  // the local network (--local).
  NodeSupervisor(QString node_program, QString data_dir, QObject* parent = nullptr);
  ~NodeSupervisor() override;  // stops the node (SIGTERM, then kill after 10 s) and the worker

  static QString defaultNodeProgram();  // tessera-node next to this executable

  Phase phase() const { return phase_; }
  QString hubUrl() const { return hub_url_; }
  void setHubUrl(const QString& url);  // restarts a running node on the new network
  const control::NodeStatus& lastStatus() const { return last_status_; }
  const control::NodeSettings& lastSettings() const { return last_settings_; }
  QStringList lastLogLines() const { return log_lines_; }
  QString dataDir() const { return data_dir_; }
  bool isRunning() const;  // a node this supervisor started is running
  bool isAttached() const { return attached_; }  // connected to a node someone else started
  qint64 nodePid() const { return node_pid_; }   // the connected node's process id (0: none)

 public Q_SLOTS:
  // Attaches to the node already serving the data folder, or else starts the daemon (paused: it
  // joins but does no work until startContribution).
  void launch(bool paused = true);
  void stop();  // the user's choice: no restart (an attached node is only let go, never stopped)
  void restartNow();  // an attached node is reconnected to, not restarted
  void startContribution();  // launches the node if needed, then asks it to work
  void pauseContribution(bool finish_step = false);
  void snooze(qint64 seconds);
  // `patch`: a JSON merge patch of the settings (control::settings_patch).
  void updateSettings(const nlohmann::json& patch);

 Q_SIGNALS:
  void phaseChanged(tessera::ui::NodeSupervisor::Phase phase);
  void statusChanged(const tessera::control::NodeStatus& status);
  void settingsChanged(const tessera::control::NodeSettings& settings);
  // The node died unexpectedly; it is restarted in `restart_in_ms` (-1: gave up / not restarting).
  void crashed(const QString& reason, const QStringList& last_lines, int restart_in_ms);
  void callFailed(const QString& what, const QString& why);
  void logLine(const QString& line);

 private:
  void setPhase(Phase phase);
  void spawn();
  void onConnected(qint64 pid);
  void lostAttachedNode();
  void onFinished(int exit_code, QProcess::ExitStatus status);
  void onOutput();
  void tryConnect();

  QString node_program_;
  QString data_dir_;
  QString hub_url_;
  QProcess* process_ = nullptr;
  QThread thread_;
  NodeClientWorker* worker_ = nullptr;
  QTimer poll_timer_;
  QTimer connect_timer_;
  QTimer restart_timer_;
  QElapsedTimer running_since_;
  QStringList log_lines_;
  control::NodeStatus last_status_;
  control::NodeSettings last_settings_;
  Phase phase_ = Phase::Stopped;
  int backoff_ms_ = 1000;
  int connect_attempts_ = 0;
  bool user_stopped_ = false;
  bool poll_pending_ = false;
  bool start_when_connected_ = false;
  bool launched_paused_ = true;
  bool probing_ = false;   // asking control.json whether a node already serves the folder
  bool attached_ = false;  // connected to a node this supervisor did not start
  qint64 node_pid_ = 0;
  int failed_polls_ = 0;   // in a row, of an attached node
};

// Why a child process ended, in words.
QString describeExit(int exit_code, QProcess::ExitStatus status, QProcess::ProcessError error);

}  // namespace tessera::ui
