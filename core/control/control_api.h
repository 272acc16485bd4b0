// The node's control API: HTTP + JSON on 127.0.0.1 only, a random port, and a bearer token, for the
// desktop app and for scripts (curl). The server is generic over a ControlHandler, which the node
// implements; the client is what the app's node client uses. Both speak NodeStatus and
// NodeSettings, so neither end reads the JSON by key.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/control/event_bus.h"
#include "core/control/node_settings.h"
#include "core/control/node_status.h"
#include "core/control/run_views.h"
#include "core/wallet/secure_bytes.h"

namespace httplib {
class Server;
class Client;
}  // namespace httplib

namespace tessera::control {

// The runs routes (docs/control-api.md, docs/runs.md).
inline constexpr const char* kRunsPath = "/v1/runs";              // GET: the report; POST {"link"}: add
inline constexpr const char* kRunsRemovePath = "/v1/runs/remove";  // POST {"run"}
inline constexpr const char* kRunsJoinPath = "/v1/runs/join";      // POST {"run"}: join, or switch to it
inline constexpr const char* kRunsLeavePath = "/v1/runs/leave";    // POST {}

// What the API can ask of the node. Calls come from the server's threads; implementations are
// thread-safe. Throw std::invalid_argument for a request the user must correct (answered 400).
class ControlHandler {
 public:
  virtual ~ControlHandler() = default;
  virtual NodeStatus status() = 0;
  virtual void start() = 0;
  virtual void pause(bool finish_step) = 0;  // finish_step: end the current step first
  virtual void snooze(std::chrono::seconds duration) = 0;
  virtual NodeSettings settings() = 0;
  // `patch`: a JSON merge patch (NodeSettings::merged); returns the new settings.
  virtual NodeSettings update_settings(const nlohmann::json& patch) = 0;

  // The runs the user added (docs/runs.md). A handler that does not manage runs refuses them (400).
  // runs() fetches the hubs' catalogs (cached for a few seconds) and computes the fits.
  virtual RunsReport runs();
  // Adds a run by its link once the hub's manifest verifies under it; answers the report.
  virtual RunsReport add_run(const std::string& link);
  virtual RunsReport remove_run(const std::string& run);
  // Joins `run` (leaving the current one first: a switch); the join itself goes on after the answer.
  virtual RunsReport join_run(const std::string& run);
  virtual RunsReport leave_run();
};

class ControlServer {
 public:
  ControlServer(ControlHandler& handler, EventBus& events);
  ~ControlServer();  // stops
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds 127.0.0.1 on `port` (0: a free one) and serves on a thread. Throws std::runtime_error
  // when it cannot bind.
  void start(int port = 0);
  void stop();
  int port() const { return port_; }
  // 64 hex characters; goes to the 0600 control file and nowhere else.
  const wallet::SecureBytes& token() const { return token_; }

 private:
  ControlHandler& handler_;
  EventBus& events_;
  wallet::SecureBytes token_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

class ControlClient {
 public:
  ControlClient(int port, const wallet::SecureBytes& token,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~ControlClient();

  // Start, pause and snooze answer with the status after the command.
  NodeStatus status();
  NodeStatus start();
  NodeStatus pause(bool finish_step = false);
  NodeStatus snooze(std::chrono::seconds duration);
  NodeSettings settings();
  NodeSettings update_settings(const nlohmann::json& patch);
  // GET /v1/runs: may take seconds (the hubs' catalogs, and the first time the doctor's
  // measurement), so it waits up to 30 s whatever the client's timeout.
  RunsReport runs();
  RunsReport add_run(const std::string& link);
  RunsReport remove_run(const std::string& run);
  RunsReport join_run(const std::string& run);  // switches when another run is current
  RunsReport leave_run();
  // Streams events until `on_event` returns false or the connection ends.
  void watch_events(const std::function<bool(const Event&)>& on_event);

 private:
  nlohmann::json call(const char* method, const std::string& path, const nlohmann::json* body);
  nlohmann::json call(const char* method, const std::string& path, const nlohmann::json* body,
                      std::chrono::milliseconds timeout);

  int port_;
  std::string authorization_;  // "Bearer …": httplib wants a std::string header value
  std::chrono::milliseconds timeout_;
};

}  // namespace tessera::control
