// The hub's count of this node's work, logged and kept for the status (see work_watch.h).
#include "core/node/swarm/work_watch.h"

#include <spdlog/spdlog.h>

namespace tessera::node::swarm {

bool WorkWatch::poll(client::HubClient& hub, const wallet::PublicKey& node) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) return false;
  next_ = now + every_;
  try {
    take(hub.work(node));
    failing_ = false;
  } catch (const std::exception& error) {
    if (!failing_) spdlog::warn("the hub's count of this node's work: {}", error.what());
    else spdlog::debug("the hub's count of this node's work: {}", error.what());
    failing_ = true;
  }
  return true;
}

void WorkWatch::take(client::NodeWork work) {
  if (work.size() > kStatusEpochs) work.resize(kStatusEpochs);
  std::map<std::uint64_t, client::EpochWork> seen;
  for (auto it = work.rbegin(); it != work.rend(); ++it) {  // oldest first, as a log reads
    const auto last = logged_.find(it->epoch);
    if (last == logged_.end() || !(last->second == *it)) spdlog::info("{}", client::describe(*it));
    seen.emplace(it->epoch, *it);
  }
  logged_ = std::move(seen);  // epochs the hub no longer lists are forgotten
  {
    std::lock_guard lock(mutex_);
    if (latest_ == work) return;
    latest_ = work;
  }
  if (events_) events_->publish("verification", {{"epochs", client::to_json(work)}});
}

client::NodeWork WorkWatch::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

}  // namespace tessera::node::swarm
