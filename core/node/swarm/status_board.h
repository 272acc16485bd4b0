// What the node shows: its state and why, the step, loss and rates, the counters, and whether
// the user paused or snoozed it. Every thread writes here; status() and stats() read a copy.
// A change of state is published on the event bus and, for the states a person looks back on,
// logged in the contribution log. Exclusion from the run by its hub is final for the run: the
// state stays "excluded" whatever else is set.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "core/net/swarm_messages.h"
#include "core/control/event_bus.h"
#include "core/control/node_status.h"
#include "core/node/swarm_node.h"

namespace tessera::ledger {
class LedgerWriter;
}

namespace tessera::node::swarm {

class StatusBoard {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StatusBoard(control::EventBus* events) : events_(events) {}

  // Once joined: where state changes are logged.
  void attach_log(ledger::LedgerWriter* ledger, std::string run_id);

  void set_state(const std::string& state, const std::string& why = {});
  // The hub excluded this node from the run (client::HubExcluded): state "excluded" with the hub's
  // reason, an "error" event, an error line in the node's log and an event in the contribution
  // log, the first time only. False when it was already excluded.
  bool set_excluded(const std::string& reason);
  bool excluded() const;
  bool paused_or_snoozed() const;
  // Why training should not run now (the user, a snooze, the pause hook), or nothing.
  std::optional<std::string> pause_cause() const;
  bool snoozed() const;

  void set_pause_hook(std::function<std::optional<std::string>()> hook);
  void set_paused(bool paused, std::string reason);
  void snooze(std::chrono::seconds duration);

  void count_rejected();
  void count_unauthorised();
  void count_aborted();
  void count_logged(std::uint64_t receipts);
  void count_reported(std::uint64_t receipts);
  // A committed step: the step counter, loss, rates, and a "step" event at most every 500 ms.
  void record_commit(std::uint64_t step, const net::StepRequest& commit);
  void set_step(std::int64_t step);
  Clock::time_point last_commit() const;

  SwarmStats counters() const;
  // The status fields this board owns (state, reason, step, loss, rates).
  void fill(control::NodeStatus& out) const;

 private:
  control::EventBus* events_;
  ledger::LedgerWriter* ledger_ = nullptr;
  std::string run_id_;
  mutable std::mutex mutex_;
  std::string state_ = "starting", reason_;
  std::int64_t step_ = 0;
  double loss_ = std::nan(""), step_rate_ = 0, tokens_per_s_ = 0, bytes_per_token_ = 0;
  Clock::time_point last_commit_{};
  Clock::time_point last_step_event_{};
  bool paused_ = false;
  bool excluded_ = false;
  Clock::time_point snoozed_until_{};
  std::function<std::optional<std::string>()> pause_hook_;
  SwarmStats counters_;
};

}  // namespace tessera::node::swarm
