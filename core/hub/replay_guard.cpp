// Replayed signed requests, remembered within bounds (see replay_guard.h).
#include "core/hub/replay_guard.h"

namespace tessera::hub {

bool ReplayGuard::first_use(const wallet::Signature& signature, std::int64_t expires_ms, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const auto forget_first = [this] {
    seen_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  };
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now_ms) forget_first();
  if (seen_.contains(signature)) return false;
  while (!by_expiry_.empty() && by_expiry_.size() >= capacity_) forget_first();
  seen_.insert(signature);
  by_expiry_.emplace(expires_ms, signature);
  return true;
}

std::size_t ReplayGuard::size() const {
  std::lock_guard lock(mutex_);
  return seen_.size();
}

}  // namespace tessera::hub
