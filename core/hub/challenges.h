// Join challenges: the hub hands out random nonces; a node proves its node key by signing one
// (domain tessera/challenge/v1, bound to the run: protocol::challenge_message). Each nonce is
// single-use and expires.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/protocol/hub_api.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

class ChallengeBook {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ChallengeBook(Clock::duration lifetime = std::chrono::seconds(60), std::size_t capacity = 10000)
      : lifetime_(lifetime), capacity_(capacity) {}

  protocol::Nonce issue(Clock::time_point now = Clock::now());
  // True once per nonce: it was issued, has not expired, and `signature` is `node_key`'s over
  // (run id, nonce). The nonce is spent either way.
  bool redeem(const protocol::Nonce& nonce, const std::string& run_id, const wallet::PublicKey& node_key,
              const wallet::Signature& signature, Clock::time_point now = Clock::now());

 private:
  Clock::duration lifetime_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::map<protocol::Nonce, Clock::time_point> issued_;  // nonce → expiry
};

}  // namespace tessera::hub
