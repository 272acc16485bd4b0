// Credit for relaying (issue 18: "relaying bandwidth is metered and credited like work"). A relay's
// heartbeat says how many bytes it carried for each client ("relay_served": [{"client", "bytes"}]),
// and a relayed member's how many its link to its relay carried ("relayed": {"via", "bytes"}),
// both counted since they started. The hub credits the smaller of the two claims for each pair, so
// neither side alone can inflate it; new agreed bytes are credited to the relay's owner in the open
// epoch as work of `flops_per_byte` FLOPs each. A restarted side counts from zero again: its pair
// earns nothing until its count passes what was already credited (never credited twice).
// Two nodes that lie together (one owner's, or two colluding owners') could agree on any count, so
// a relay is credited nothing for a client of its own owner, and a pair at most kMaxBytesPerSecond
// (a 100 Mbit/s link) since its first claim plus kBurstBytes: at 1,000 FLOPs a byte that ceiling
// is about 1e10 FLOP/s, a ten-thousandth of one GPU's training credit.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/wallet/signing.h"

namespace tessera::hub {

class RelayCredits {
 public:
  using OwnerOf = std::function<std::optional<std::string>(const wallet::PublicKey&)>;
  using Credit = std::function<void(const std::string& owner, double flops)>;
  static constexpr double kDefaultFlopsPerByte = 1000.0;
  static constexpr std::size_t kMaxPairs = 100000;  // beyond: new pairs are not tracked
  static constexpr double kMaxBytesPerSecond = 12.5e6;
  static constexpr double kBurstBytes = 64.0 * 1024 * 1024;
  using Clock = std::chrono::steady_clock;

  RelayCredits(double flops_per_byte, OwnerOf owner_of, Credit credit);

  // Reads a member's heartbeat body (what it served as a relay, what it had relayed); malformed or
  // oversized entries are ignored. Credits what both sides now agree on beyond what was credited.
  void heartbeat(const wallet::PublicKey& member, const nlohmann::json& body, Clock::time_point now = Clock::now());
  // Bytes credited so far for relay → client.
  std::uint64_t credited(const wallet::PublicKey& relay, const wallet::PublicKey& client) const;

 private:
  struct Pair {
    std::uint64_t relay_says = 0;
    std::uint64_t client_says = 0;
    std::uint64_t credited = 0;
    Clock::time_point first{};
  };
  using Key = std::pair<wallet::PublicKey, wallet::PublicKey>;  // relay, client
  // The claim of one side; the pair credited when both sides agree on more than before.
  void claim(const Key& key, bool from_relay, std::uint64_t bytes, Clock::time_point now);

  double flops_per_byte_;
  OwnerOf owner_of_;
  Credit credit_;
  mutable std::mutex mutex_;
  std::map<Key, Pair> pairs_;
};

}  // namespace tessera::hub
