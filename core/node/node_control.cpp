// Settings persistence, and the status/pause/snooze plumbing to the SwarmNode.
#include "core/node/node_control.h"

#include <spdlog/spdlog.h>

#include "core/wallet/secure_file.h"

namespace tessera::node {

NodeControl::NodeControl(SwarmNode& node, std::filesystem::path data_dir, std::string network)
    : node_(node), file_(data_dir / "settings.json"), network_(std::move(network)) {
  if (std::filesystem::exists(file_)) {
    try {
      settings_ = control::NodeSettings::from_json(nlohmann::json::parse(wallet::read_file_text(file_, 1 << 20)));
    } catch (const std::exception& error) {
      spdlog::warn("{} is not valid, using the defaults: {}", file_.string(), error.what());
    }
  }
  node_.set_memory_limit(settings_.memory_limit_mib << 20);
}

control::NodeStatus NodeControl::status() {
  auto out = node_.status();
  out.network = network_;
  return out;
}

void NodeControl::start() { node_.set_paused(false); }
void NodeControl::pause(bool) { node_.set_paused(true, "paused by the user"); }
void NodeControl::snooze(std::chrono::seconds duration) { node_.snooze(duration); }

control::NodeSettings NodeControl::settings() {
  std::lock_guard lock(mutex_);
  return settings_;
}

control::NodeSettings NodeControl::update_settings(const nlohmann::json& patch) {
  std::lock_guard lock(mutex_);
  auto merged = settings_.merged(patch);
  const auto text = merged.to_json().dump(2) + "\n";
  wallet::write_file_atomic(file_, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), {},
                            wallet::IfExists::Replace);
  settings_ = std::move(merged);
  node_.set_threads(settings_.threads);
  node_.set_memory_limit(settings_.memory_limit_mib << 20);
  return settings_;
}

}  // namespace tessera::node
