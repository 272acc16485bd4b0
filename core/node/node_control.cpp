// Settings persistence, and the status/pause/snooze plumbing to the current SwarmNode.
#include "core/node/node_control.h"

#include <spdlog/spdlog.h>

#include "core/wallet/secure_file.h"

namespace tessera::node {

NodeControl::NodeControl(RunSwitcher& switcher, NodeRuns& runs, std::filesystem::path data_dir, std::string launch_url,
                         std::string launch_network, std::string device)
    : switcher_(switcher),
      runs_(runs),
      file_(data_dir / "settings.json"),
      launch_url_(std::move(launch_url)),
      launch_network_(std::move(launch_network)),
      device_(std::move(device)) {
  if (std::filesystem::exists(file_)) {
    try {
      settings_ = control::NodeSettings::from_json(nlohmann::json::parse(wallet::read_file_text(file_, 1 << 20)));
    } catch (const std::exception& error) {
      spdlog::warn("{} is not valid, using the defaults: {}", file_.string(), error.what());
    }
  }
}

void NodeControl::configure(SwarmNode& node) {
  std::lock_guard lock(mutex_);
  node.set_memory_limit(settings_.memory_limit_mib << 20);
  if (settings_.threads > 0) node.set_threads(settings_.threads);
  if (paused_) node.set_paused(true, pause_reason_);
}

control::NodeStatus NodeControl::status() {
  const auto state = switcher_.state();
  const auto node = switcher_.node();
  control::NodeStatus out;
  if (node) {
    out = node->status();
  } else {
    out.device = device_;
    out.state = state.phase == RunSwitcher::Phase::idle ? "idle" : state.phase == RunSwitcher::Phase::joining ? "joining" : "waiting";
    out.reason = NodeRuns::activity(state, std::nullopt);
    if (state.phase == RunSwitcher::Phase::idle)
      out.reason = state.error.empty() ? "in no run: add a run's link and join it (tessera-node runs)"
                                       : "in no run: " + state.error;
  }
  if (state.phase != RunSwitcher::Phase::idle)
    out.network = state.hub_url == launch_url_ && !launch_network_.empty() ? launch_network_ : state.hub_url;
  return out;
}

void NodeControl::start() {
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
  }
  if (const auto node = switcher_.node()) node->set_paused(false);
}

void NodeControl::pause(bool) {
  {
    std::lock_guard lock(mutex_);
    paused_ = true;
    pause_reason_ = "paused by the user";
  }
  if (const auto node = switcher_.node()) node->set_paused(true, "paused by the user");
}

void NodeControl::snooze(std::chrono::seconds duration) {
  const auto node = switcher_.node();
  if (!node) throw std::invalid_argument("the node is in no run: there is nothing to snooze");
  node->snooze(duration);
}

control::NodeSettings NodeControl::settings() {
  std::lock_guard lock(mutex_);
  return settings_;
}

control::NodeSettings NodeControl::update_settings(const nlohmann::json& patch) {
  control::NodeSettings updated;
  {
    std::lock_guard lock(mutex_);
    auto merged = settings_.merged(patch);
    const auto text = merged.to_json().dump(2) + "\n";
    wallet::write_file_atomic(file_, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), {},
                              wallet::IfExists::Replace);
    settings_ = std::move(merged);
    updated = settings_;
  }
  // Outside mutex_: the switcher builds a node under its own lock and configures it through this
  // handler (which takes mutex_), so holding both here in the other order could deadlock.
  if (const auto node = switcher_.node()) {
    node->set_threads(updated.threads);
    node->set_memory_limit(updated.memory_limit_mib << 20);
  }
  return updated;
}

control::RunsReport NodeControl::runs() { return runs_.report(); }
control::RunsReport NodeControl::add_run(const std::string& link) { return runs_.add(link); }
control::RunsReport NodeControl::remove_run(const std::string& run) { return runs_.remove(run); }
control::RunsReport NodeControl::join_run(const std::string& run) { return runs_.join(run); }
control::RunsReport NodeControl::leave_run() { return runs_.leave(); }

}  // namespace tessera::node
