// The control API's handler for a running SwarmNode: status, start, pause, snooze, and settings
// persisted in <data-dir>/settings.json (checked and merged by control::NodeSettings, applied at
// once where possible). Pauses and resumes are logged by the node as events with their reason.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "core/control/control_api.h"
#include "core/control/node_settings.h"
#include "core/node/swarm_node.h"

namespace tessera::node {

class NodeControl : public control::ControlHandler {
 public:
  // `network` is "local" or the hub URL, as status() reports it.
  NodeControl(SwarmNode& node, std::filesystem::path data_dir, std::string network);

  control::NodeStatus status() override;
  void start() override;
  void pause(bool finish_step) override;
  void snooze(std::chrono::seconds duration) override;
  control::NodeSettings settings() override;
  control::NodeSettings update_settings(const nlohmann::json& patch) override;

 private:
  SwarmNode& node_;
  std::filesystem::path file_;
  std::string network_;
  std::mutex mutex_;
  control::NodeSettings settings_;
};

}  // namespace tessera::node
