// Relay credit: both sides' byte counts, the smaller credited once.
#include "core/hub/relay_credits.h"

#include <algorithm>

#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

constexpr std::size_t kMaxServedEntries = 64;

std::optional<std::pair<wallet::PublicKey, std::uint64_t>> entry(const nlohmann::json& item, const char* who) {
  if (!item.is_object()) return std::nullopt;
  const auto key = item.find(who);
  const auto bytes = item.find("bytes");
  if (key == item.end() || !key->is_string() || bytes == item.end() || !bytes->is_number_unsigned()) return std::nullopt;
  const auto parsed = wallet::fixed_from_hex<32>(key->get_ref<const std::string&>());
  if (!parsed) return std::nullopt;
  return std::pair{*parsed, bytes->get<std::uint64_t>()};
}

}  // namespace

RelayCredits::RelayCredits(double flops_per_byte, OwnerOf owner_of, Credit credit)
    : flops_per_byte_(flops_per_byte), owner_of_(std::move(owner_of)), credit_(std::move(credit)) {}

void RelayCredits::heartbeat(const wallet::PublicKey& member, const nlohmann::json& body, Clock::time_point now) {
  if (!body.is_object()) return;
  if (const auto served = body.find("relay_served"); served != body.end() && served->is_array()) {
    std::size_t read = 0;
    for (const auto& item : *served) {
      if (++read > kMaxServedEntries) break;
      if (const auto claim_of = entry(item, "client"); claim_of && claim_of->first != member)
        claim({member, claim_of->first}, true, claim_of->second, now);
    }
  }
  if (const auto relayed = body.find("relayed"); relayed != body.end())
    if (const auto claim_of = entry(*relayed, "via"); claim_of && claim_of->first != member)
      claim({claim_of->first, member}, false, claim_of->second, now);
}

void RelayCredits::claim(const Key& key, bool from_relay, std::uint64_t bytes, Clock::time_point now) {
  const auto relay_owner = owner_of_(key.first);
  if (!relay_owner || relay_owner == owner_of_(key.second)) return;  // nobody earns for relaying their own
  std::uint64_t earned = 0;
  {
    std::lock_guard lock(mutex_);
    auto found = pairs_.find(key);
    if (found == pairs_.end()) {
      if (pairs_.size() >= kMaxPairs) return;
      found = pairs_.emplace(key, Pair{0, 0, 0, now}).first;
    }
    auto& pair = found->second;
    (from_relay ? pair.relay_says : pair.client_says) = bytes;
    const double seconds = std::chrono::duration<double>(now - pair.first).count();
    const auto ceiling = static_cast<std::uint64_t>(kBurstBytes + kMaxBytesPerSecond * std::max(seconds, 0.0));
    const auto agreed = std::min({pair.relay_says, pair.client_says, ceiling});
    if (agreed <= pair.credited) return;
    earned = agreed - pair.credited;
    pair.credited = agreed;
  }
  credit_(*relay_owner, static_cast<double>(earned) * flops_per_byte_);
}

std::uint64_t RelayCredits::credited(const wallet::PublicKey& relay, const wallet::PublicKey& client) const {
  std::lock_guard lock(mutex_);
  const auto found = pairs_.find({relay, client});
  return found == pairs_.end() ? 0 : found->second.credited;
}

}  // namespace tessera::hub
