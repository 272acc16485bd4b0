// Single-use, expiring join challenges, bounded oldest-first.
#include "core/hub/challenges.h"

#include <sodium.h>

#include "core/wallet/secure_bytes.h"

namespace tessera::hub {

void ChallengeBook::forget_expired(Clock::time_point now) {
  // Redeemed nonces leave issued_ at once and by_age_ here, when their time comes.
  while (!by_age_.empty() && (by_age_.front().first < now || by_age_.size() > issued_.size() + capacity_)) {
    issued_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
}

protocol::Nonce ChallengeBook::issue(Clock::time_point now) {
  wallet::ensure_sodium();
  protocol::Nonce nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  std::lock_guard lock(mutex_);
  forget_expired(now);
  while (issued_.size() >= capacity_ && !by_age_.empty()) {
    issued_.erase(by_age_.front().second);
    by_age_.pop_front();
  }
  issued_.insert(nonce);
  by_age_.emplace_back(now + lifetime_, nonce);
  return nonce;
}

bool ChallengeBook::redeem(const protocol::Nonce& nonce, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  forget_expired(now);
  return issued_.erase(nonce) == 1;
}

std::size_t ChallengeBook::outstanding() const {
  std::lock_guard lock(mutex_);
  return issued_.size();
}

}  // namespace tessera::hub
