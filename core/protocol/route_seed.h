// Route seeds: the hub, not the driver and not the nodes, decides which replica of a stage serves
// which micro-batch, so a Sybil cannot choose its neighbour by re-joining or by grinding node keys.
// When the hub stores step S's record it draws a fresh random seed for step S + 1 and signs it
// (returned in the reply to POST /api/steps, and in /api/peers for a driver that has none yet).
// Nobody knows a step's seed before the step before it committed. The driver orders each stage's
// live replicas with order_replicas(seed, …) and routes micro-batch m through replica m mod R; the
// hub checks the step record's order against the same function and refuses a record that differs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/wallet/signing.h"

namespace tessera::protocol {

struct RouteSeed {
  std::string run_id;
  std::uint64_t step = 0;
  std::array<std::uint8_t, 32> seed{};

  // "TSRS" | version u8 | step u64 | seed[32] | run (u8 length ‖ bytes): the signed bytes.
  std::vector<std::uint8_t> canonical_bytes() const;
  bool operator==(const RouteSeed&) const = default;
};

struct SignedRouteSeed {
  RouteSeed seed;
  wallet::Signature signature{};

  std::vector<std::uint8_t> encode() const;
  std::string to_hex() const;
  static std::optional<SignedRouteSeed> decode(std::span<const std::uint8_t> bytes);
  static std::optional<SignedRouteSeed> from_hex(std::string_view text);
  bool verify(const wallet::PublicKey& hub_key) const;
};

SignedRouteSeed sign_route_seed(const RouteSeed& seed, const wallet::KeyPair& hub_key);

struct WeightedReplica {
  wallet::PublicKey key{};
  double weight = 1.0;  // measured throughput (tokens/s); rounded, and clamped to 1 … 10^9 (not finite: 1)
};

// A weighted random order of one stage's replicas drawn from the seed, in integers only so that
// every machine gets the same order: the replicas sorted by key, then position i is drawn with
// r = u64 of BLAKE2b(seed ‖ stage ‖ i) mod (the remaining weights' sum) among the replicas not
// yet placed, each holding an interval as wide as its weight. Faster replicas tend to come first.
std::vector<wallet::PublicKey> order_replicas(const std::array<std::uint8_t, 32>& seed, std::uint16_t stage,
                                              const std::vector<WeightedReplica>& replicas);

}  // namespace tessera::protocol
