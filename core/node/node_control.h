// The control API's handler for the node daemon: status, start, pause, snooze and settings
// persisted in <data-dir>/settings.json (checked and merged by control::NodeSettings, applied at
// once where possible) for whichever SwarmNode is current (RunSwitcher), and the runs commands
// (NodeRuns). With no run the node is "idle". Pauses and resumes are logged by the node as events
// with their reason; a pause outlasts a switch (the next run's node starts paused too).
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "core/control/control_api.h"
#include "core/control/node_settings.h"
#include "core/node/node_runs.h"
#include "core/node/run_switcher.h"

namespace tessera::node {

class NodeControl : public control::ControlHandler {
 public:
  // `launch_url` and `launch_network`: the run the node was started in (tessera-node run --hub or
  // the local network) and how status names its network ("local" or the hub URL); empty when it
  // was started idle. `device`: what an idle node reports.
  NodeControl(RunSwitcher& switcher, NodeRuns& runs, std::filesystem::path data_dir, std::string launch_url,
              std::string launch_network, std::string device);

  // Applies the settings and the user's pause to a node the switcher is about to run.
  void configure(SwarmNode& node);

  control::NodeStatus status() override;
  void start() override;
  void pause(bool finish_step) override;
  void snooze(std::chrono::seconds duration) override;
  control::NodeSettings settings() override;
  control::NodeSettings update_settings(const nlohmann::json& patch) override;

  control::RunsReport runs() override;
  control::RunsReport add_run(const std::string& link) override;
  control::RunsReport remove_run(const std::string& run) override;
  control::RunsReport join_run(const std::string& run) override;
  control::RunsReport leave_run() override;

 private:
  RunSwitcher& switcher_;
  NodeRuns& runs_;
  std::filesystem::path file_;
  std::string launch_url_;
  std::string launch_network_;
  std::string device_;
  std::mutex mutex_;
  control::NodeSettings settings_;
  bool paused_ = false;  // by the user, through the API (or --paused)
  std::string pause_reason_;
};

}  // namespace tessera::node
