// The control API's handler for a running SwarmNode (DESIGN.md "Control API"): status, start,
// pause, snooze, and settings persisted in <data-dir>/settings.json (validated, merged, applied
// at once where possible). Pauses and resumes are logged by the node as events with their reason.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/node/control_api.h"
#include "core/node/swarm_node.h"

namespace tessera::node {

// The settings with their defaults.
nlohmann::json default_settings();
// Merges `patch` into `current` and validates the result; throws std::invalid_argument naming the
// bad key and the allowed values.
nlohmann::json merge_settings(const nlohmann::json& current, const nlohmann::json& patch);

class NodeControl : public ControlHandler {
 public:
  // `network` is "local" or the hub URL, as status() reports it.
  NodeControl(SwarmNode& node, std::filesystem::path data_dir, std::string network);

  nlohmann::json status() override;
  void start() override;
  void pause(bool finish_step) override;
  void snooze(std::chrono::seconds duration) override;
  nlohmann::json settings() override;
  nlohmann::json update_settings(const nlohmann::json& patch) override;

 private:
  SwarmNode& node_;
  std::filesystem::path file_;
  std::string network_;
  std::mutex mutex_;
  nlohmann::json settings_;
};

}  // namespace tessera::node
