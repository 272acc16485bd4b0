// Admitted nodes, their stages, owners and ready order (see run_roster.h).
#include "core/hub/run_roster.h"

namespace tessera::hub {

void RunRoster::admit(const wallet::PublicKey& node, int stage, const std::string& owner) {
  std::lock_guard lock(mutex_);
  stages_[node] = stage;
  owners_[node] = owner;
}

void RunRoster::mark_ready(const wallet::PublicKey& node) {
  std::lock_guard lock(mutex_);
  if (!ready_.count(node)) ready_[node] = next_ready_++;
}

void RunRoster::unready(const wallet::PublicKey& node) {
  std::lock_guard lock(mutex_);
  ready_.erase(node);
}

std::map<wallet::PublicKey, std::uint64_t> RunRoster::ready_orders() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

std::optional<int> RunRoster::stage_of(const wallet::PublicKey& node) const {
  std::lock_guard lock(mutex_);
  const auto found = stages_.find(node);
  if (found == stages_.end()) return std::nullopt;
  return found->second;
}

std::optional<std::string> RunRoster::owner_of(const wallet::PublicKey& node) const {
  std::lock_guard lock(mutex_);
  const auto found = owners_.find(node);
  if (found == owners_.end()) return std::nullopt;
  return found->second;
}

}  // namespace tessera::hub
