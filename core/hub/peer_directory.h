// The hub's peer directory for one run: who serves which stage, where to reach them, and when
// they last answered. Assigns a joining node the least-served stage that fits its memory and
// forgets peers whose heartbeats stop. Holds at most `max_peers` live peers: beyond that a new
// node is refused (HTTP 503, "the run is full") until one leaves or goes silent, so a flood of
// joins cannot grow the hub's memory. Thread-safe; time is passed in so tests control it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/hub_api.h"
#include "core/protocol/node_address.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

using Clock = std::chrono::steady_clock;

struct Peer {
  wallet::PublicKey node_key{};
  std::string owner;      // owner address the node works for (from its delegation)
  std::string endpoint;   // where its stage server is reached, e.g. tcp://192.0.2.7:5555
  int stage = 0;
  std::string relay;      // the relay it offers (its control port), empty: none
  std::optional<wallet::PublicKey> relayed_by{};  // the relay its endpoint goes through
  protocol::DeviceReport device;
  Clock::time_point last_seen{};
};

class PeerDirectory {
 public:
  static constexpr std::size_t kDefaultMaxPeers = 10000;

  // `stage_memory_bytes[s]` is what serving stage s needs.
  explicit PeerDirectory(std::vector<std::uint64_t> stage_memory_bytes, std::size_t max_peers = kDefaultMaxPeers);

  // The stage a node with `device_memory` bytes should serve: the one with the fewest live
  // replicas among those that fit (ties: the lowest index). Nothing when no stage fits.
  std::optional<int> choose_stage(std::uint64_t device_memory) const;

  // Adds or replaces the peer (a returning node rejoins under its key). Throws net::HttpError 503
  // for a new peer when `max_peers` are live.
  void upsert(Peer peer);
  // Refreshes a peer; false when the hub does not know it (it must join again).
  bool heartbeat(const wallet::PublicKey& node_key, Clock::time_point now);
  // Drops peers not seen for longer than `timeout`; returns them.
  std::vector<Peer> expire(Clock::time_point now, Clock::duration timeout);
  bool remove(const wallet::PublicKey& node_key);
  // A member reached elsewhere now (another relay, another mapped port); false when unknown.
  bool set_endpoint(const wallet::PublicKey& node_key, std::string endpoint,
                    std::optional<wallet::PublicKey> relayed_by);
  // The live members that offer to relay, those with the fewest members relayed through them first.
  std::vector<protocol::RelayInfo> relays() const;

  std::optional<Peer> find(const wallet::PublicKey& node_key) const;
  std::vector<Peer> peers() const;
  std::vector<Peer> replicas(int stage) const;
  std::vector<int> replica_counts() const;
  int stage_count() const { return static_cast<int>(stage_memory_.size()); }
  bool complete() const;  // every stage has at least one live replica

 private:
  std::vector<std::uint64_t> stage_memory_;
  std::size_t max_peers_;
  mutable std::mutex mutex_;
  std::map<wallet::PublicKey, Peer> peers_;
};

}  // namespace tessera::hub
