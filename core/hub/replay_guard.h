// Signed requests the hub has already acted on, remembered until their time leaves the accepted
// clock window, so a captured join, ready, leave or progress request cannot be sent again while
// its time would still pass. Bounded: beyond `capacity` the entry closest to expiry is forgotten
// first (a flood can shorten how long old entries are remembered, never grow the hub).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>

#include "core/wallet/signing.h"

namespace tessera::hub {

class ReplayGuard {
 public:
  explicit ReplayGuard(std::size_t capacity = 65536) : capacity_(capacity) {}

  // True the first time `signature` is offered; false while it is remembered (a replay).
  // `expires_ms` is when it may be forgotten, `now_ms` the time now (Unix ms, the hub's clock).
  bool first_use(const wallet::Signature& signature, std::int64_t expires_ms, std::int64_t now_ms);
  std::size_t size() const;

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::set<wallet::Signature> seen_;
  std::multimap<std::int64_t, wallet::Signature> by_expiry_;
};

}  // namespace tessera::hub
