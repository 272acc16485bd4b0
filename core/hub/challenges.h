// Join challenges: the hub hands out random nonces; a node joins with a signed request whose body
// carries one (protocol::JoinBody), which proves the request is fresh. Each nonce is single-use and
// expires. Bounded under a flood: at `capacity` the oldest outstanding nonce is dropped, so an
// honest node, which answers within a second, keeps its nonce unless a flood outruns `capacity`
// nonces within that second (and POST /api/challenge is rate limited per address).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <set>
#include <utility>

#include "core/protocol/hub_api.h"

namespace tessera::hub {

class ChallengeBook {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ChallengeBook(Clock::duration lifetime = std::chrono::seconds(60), std::size_t capacity = 10000)
      : lifetime_(lifetime), capacity_(capacity) {}

  protocol::Nonce issue(Clock::time_point now = Clock::now());
  // True once per nonce: it was issued and has not expired. The nonce is spent either way.
  bool redeem(const protocol::Nonce& nonce, Clock::time_point now = Clock::now());
  std::size_t outstanding() const;

 private:
  void forget_expired(Clock::time_point now);

  Clock::duration lifetime_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::set<protocol::Nonce> issued_;
  std::deque<std::pair<Clock::time_point, protocol::Nonce>> by_age_;  // expiry order = issue order
};

}  // namespace tessera::hub
