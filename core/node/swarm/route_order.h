// The order in which a step routes each stage's replicas (micro-batch m through replica m mod R):
// the hub's, not the driver's. It keeps the latest route seed the hub signed (from its answer to
// the last step record, or from its peer list), only once it verifies against the run's hub key
// and names this run, and orders each stage's live replicas by it (protocol::order_replicas,
// weighted by the throughput the peer list gives each node). Without a seed for the step or an
// earlier one (the first step, a hub without a hub key, a forged seed) the replicas go in node-key order
// and the step record says the seed is zeros. Used by the step driver's thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/net/swarm_messages.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/route_seed.h"

namespace tessera::node::swarm {

using RouteSeedBytes = std::array<std::uint8_t, 32>;

class RouteOrder {
 public:
  RouteOrder(std::string run_id, const wallet::PublicKey& hub_key) : run_id_(std::move(run_id)), hub_key_(hub_key) {}

  // Keeps the seed `hex` names when the hub signed it for this run and no newer step's is kept (it
  // replaces the one kept); false, and nothing changes, for anything else (empty, malformed,
  // forged, another run's, an older step's).
  bool offer(const std::string& hex);
  // The kept seed when it is for `step` or an earlier one: the hub's newest seed orders every step
  // from the one it was issued for (a driver that caught up by skipping steps uses it too).
  std::optional<RouteSeedBytes> seed_for(std::uint64_t step) const;
  // `replicas` of `stage` in route order: by `seed` when there is one, else by node key.
  // Weights: each node's tokens_per_s in `peers` (none listed: 1).
  static std::vector<net::Hop> order(const std::optional<RouteSeedBytes>& seed, int stage, std::vector<net::Hop> replicas,
                                     const std::vector<protocol::PeerInfo>& peers);

 private:
  std::string run_id_;
  wallet::PublicKey hub_key_;
  std::optional<protocol::RouteSeed> kept_;
  std::string last_offered_;  // the hex last looked at, so the same one is not verified twice
};

}  // namespace tessera::node::swarm
