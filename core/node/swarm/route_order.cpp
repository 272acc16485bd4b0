// Route seeds kept and replicas ordered by them.
#include "core/node/swarm/route_order.h"

#include <algorithm>
#include <map>

namespace tessera::node::swarm {

bool RouteOrder::offer(const std::string& hex) {
  if (hex.empty() || hex == last_offered_) return false;
  last_offered_ = hex;
  const auto signed_seed = protocol::SignedRouteSeed::from_hex(hex);
  if (!signed_seed || signed_seed->seed.run_id != run_id_ || !signed_seed->verify(hub_key_)) return false;
  if (kept_ && signed_seed->seed.step < kept_->step) return false;  // an older one than the hub's newest
  kept_ = signed_seed->seed;
  return true;
}

std::optional<RouteSeedBytes> RouteOrder::seed_for(std::uint64_t step) const {
  if (!kept_ || kept_->step > step) return std::nullopt;
  return kept_->seed;
}

std::vector<net::Hop> RouteOrder::order(const std::optional<RouteSeedBytes>& seed, int stage, std::vector<net::Hop> replicas,
                                        const std::vector<protocol::PeerInfo>& peers) {
  if (!seed) {
    std::sort(replicas.begin(), replicas.end(), [](const net::Hop& a, const net::Hop& b) { return a.key < b.key; });
    return replicas;
  }
  std::map<wallet::PublicKey, double> throughput;
  for (const auto& peer : peers) throughput[peer.node_key] = peer.tokens_per_s;
  std::vector<protocol::WeightedReplica> weighted;
  std::map<wallet::PublicKey, net::Hop> by_key;
  for (const auto& hop : replicas) {
    const auto found = throughput.find(hop.key);
    weighted.push_back({hop.key, found != throughput.end() ? found->second : 1.0});
    by_key.emplace(hop.key, hop);
  }
  std::vector<net::Hop> ordered;
  for (const auto& key : protocol::order_replicas(*seed, static_cast<std::uint16_t>(stage), weighted))
    ordered.push_back(by_key.at(key));
  return ordered;
}

}  // namespace tessera::node::swarm
