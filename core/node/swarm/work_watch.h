// What the hub counts of this node's work (GET /api/work, client::NodeWork), read by the hub
// thread about every 30 s: one info line in the node's log for each epoch whose figures changed
// ("epoch 3 so far (hub's count): credited …"), the latest epochs for the node's status, and a
// "verification" event when they change. The hub's counts are unsigned and shown as such; what is
// verified comes from the signed statements (client::StatementSync).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>

#include "core/client/hub_client.h"
#include "core/control/event_bus.h"

namespace tessera::node::swarm {

class WorkWatch {
 public:
  static constexpr std::size_t kStatusEpochs = 8;  // the newest epochs the status carries

  explicit WorkWatch(control::EventBus* events, std::chrono::milliseconds every = std::chrono::seconds(30))
      : events_(events), every_(every) {}

  // Asks the hub about `node` when due (the first call asks at once); false when it was not due.
  // Never throws: a hub that does not answer, or answers badly, is logged (a warning the first
  // time, then at debug level until it answers again).
  bool poll(client::HubClient& hub, const wallet::PublicKey& node);
  // The latest answer, newest epoch first, at most kStatusEpochs.
  client::NodeWork latest() const;
  // Logs and publishes what changed in `work` (poll() calls it with the hub's answer).
  void take(client::NodeWork work);

 private:
  control::EventBus* events_;
  std::chrono::milliseconds every_;
  std::chrono::steady_clock::time_point next_{};
  bool failing_ = false;  // the last ask failed (warned once)
  std::map<std::uint64_t, client::EpochWork> logged_;  // the figures last logged, per epoch
  mutable std::mutex mutex_;                           // guards latest_ (read by status())
  client::NodeWork latest_;
};

}  // namespace tessera::node::swarm
