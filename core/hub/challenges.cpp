// Single-use, expiring join challenges.
#include "core/hub/challenges.h"

#include <sodium.h>

#include "core/wallet/secure_bytes.h"

namespace tessera::hub {

protocol::Nonce ChallengeBook::issue(Clock::time_point now) {
  wallet::ensure_sodium();
  protocol::Nonce nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  std::lock_guard lock(mutex_);
  std::erase_if(issued_, [&](const auto& entry) { return entry.second < now; });
  if (issued_.size() >= capacity_) issued_.erase(issued_.begin());  // bounded under a flood
  issued_[nonce] = now + lifetime_;
  return nonce;
}

bool ChallengeBook::redeem(const protocol::Nonce& nonce, const std::string& run_id, const wallet::PublicKey& node_key,
                           const wallet::Signature& signature, Clock::time_point now) {
  {
    std::lock_guard lock(mutex_);
    const auto found = issued_.find(nonce);
    if (found == issued_.end()) return false;
    const bool fresh = found->second >= now;
    issued_.erase(found);
    if (!fresh) return false;
  }
  return wallet::verify(wallet::SignatureDomain::Challenge, protocol::challenge_message(run_id, nonce), signature, node_key);
}

}  // namespace tessera::hub
