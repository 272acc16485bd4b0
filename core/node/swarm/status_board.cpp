// The node's status board.
#include "core/node/swarm/status_board.h"

#include <spdlog/spdlog.h>

#include "core/ledger/ledger.h"

namespace tessera::node::swarm {

using namespace std::chrono_literals;

void StatusBoard::attach_log(ledger::LedgerWriter* ledger, std::string run_id) {
  std::lock_guard lock(mutex_);
  ledger_ = ledger;
  run_id_ = std::move(run_id);
}

void StatusBoard::set_state(const std::string& state, const std::string& why) {
  bool changed = false;
  ledger::LedgerWriter* ledger = nullptr;
  std::string run;
  {
    std::lock_guard lock(mutex_);
    if (excluded_ && state != "excluded") return;
    changed = state_ != state || reason_ != why;
    state_ = state;
    reason_ = why;
    ledger = ledger_;
    run = run_id_;
  }
  if (changed && events_) events_->publish("state", {{"state", state}, {"reason", why}});
  if (changed && ledger &&
      (state == "paused" || state == "waiting" || state == "running" || state == "error" || state == "excluded"))
    try {
      ledger->append(ledger::EventRecord{0, state, run, why.empty() ? state : why, ""});
    } catch (const std::exception& error) {
      spdlog::warn("could not log the state change: {}", error.what());
    }
}

bool StatusBoard::set_excluded(const std::string& reason) {
  std::string run;
  {
    std::lock_guard lock(mutex_);
    if (excluded_) return false;
    excluded_ = true;
    run = run_id_;
  }
  set_state("excluded", reason);
  const auto message = "the hub excluded this node from run " + (run.empty() ? std::string("(not joined yet)") : run) +
                       ": " + reason + ". It stops training and will not try to join this run again; it keeps "
                       "running and can join another run (another hub URL)";
  spdlog::error("{}", message);
  if (events_) events_->publish("error", {{"message", message}, {"excluded", true}, {"reason", reason}});
  return true;
}

bool StatusBoard::excluded() const {
  std::lock_guard lock(mutex_);
  return excluded_;
}

bool StatusBoard::paused_or_snoozed() const {
  std::lock_guard lock(mutex_);
  return state_ == "paused" || state_ == "snoozed";
}

std::optional<std::string> StatusBoard::pause_cause() const {
  std::function<std::optional<std::string>()> hook;
  {
    std::lock_guard lock(mutex_);
    if (paused_) return reason_.empty() ? std::string("paused by the user") : reason_;
    if (Clock::now() < snoozed_until_) return std::string("snoozed");
    hook = pause_hook_;
  }
  if (hook) return hook();
  return std::nullopt;
}

bool StatusBoard::snoozed() const {
  std::lock_guard lock(mutex_);
  return Clock::now() < snoozed_until_;
}

void StatusBoard::set_pause_hook(std::function<std::optional<std::string>()> hook) {
  std::lock_guard lock(mutex_);
  pause_hook_ = std::move(hook);
}

void StatusBoard::set_paused(bool paused, std::string reason) {
  std::lock_guard lock(mutex_);
  paused_ = paused;
  if (!paused) snoozed_until_ = {};
  if (paused) reason_ = std::move(reason);
}

void StatusBoard::snooze(std::chrono::seconds duration) {
  std::lock_guard lock(mutex_);
  snoozed_until_ = Clock::now() + duration;
}

void StatusBoard::count_rejected() {
  std::lock_guard lock(mutex_);
  ++counters_.rejected;
}

void StatusBoard::count_unauthorised() {
  std::lock_guard lock(mutex_);
  ++counters_.unauthorised;
}

void StatusBoard::count_aborted() {
  std::lock_guard lock(mutex_);
  ++counters_.aborted_steps;
}

void StatusBoard::count_logged(std::uint64_t receipts) {
  std::lock_guard lock(mutex_);
  counters_.receipts_logged += receipts;
}

void StatusBoard::count_reported(std::uint64_t receipts) {
  std::lock_guard lock(mutex_);
  counters_.receipts_reported += receipts;
}

void StatusBoard::record_commit(std::uint64_t step, const net::StepRequest& commit) {
  const auto now = Clock::now();
  bool publish = false;
  {
    std::lock_guard lock(mutex_);
    ++counters_.committed_steps;
    step_ = static_cast<std::int64_t>(step) + 1;
    if (commit.loss) loss_ = *commit.loss;
    if (commit.bytes_per_token) bytes_per_token_ = *commit.bytes_per_token;
    if (last_commit_ != Clock::time_point{}) {
      const double seconds = std::chrono::duration<double>(now - last_commit_).count();
      if (seconds > 0) step_rate_ = step_rate_ == 0 ? 1.0 / seconds : 0.7 * step_rate_ + 0.3 / seconds;
      tokens_per_s_ = step_rate_ * commit.step_tokens;
    }
    last_commit_ = now;
    if (events_ && now - last_step_event_ > 500ms) {
      last_step_event_ = now;
      publish = true;
    }
  }
  if (publish) events_->publish("step", {{"step", step + 1}, {"loss", commit.loss.value_or(0.0)}});
}

void StatusBoard::set_step(std::int64_t step) {
  std::lock_guard lock(mutex_);
  step_ = step;
}

StatusBoard::Clock::time_point StatusBoard::last_commit() const {
  std::lock_guard lock(mutex_);
  return last_commit_;
}

SwarmStats StatusBoard::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

void StatusBoard::fill(control::NodeStatus& out) const {
  std::lock_guard lock(mutex_);
  out.state = state_;
  out.reason = reason_;
  out.step = step_;
  out.step_rate = step_rate_;
  if (!std::isnan(loss_)) out.loss = loss_;
  out.tokens_per_s = tokens_per_s_;
  out.bytes_per_token = bytes_per_token_;
}

}  // namespace tessera::node::swarm
