// The hub's view of the run's roles, kept by curve key.
#include "core/node/swarm/peer_roles.h"

namespace tessera::node::swarm {
namespace {

std::optional<net::CurvePublicKey> curve_of(const wallet::PublicKey& key) {
  try {
    return net::curve_public_from(key);
  } catch (const std::exception&) {  // not a point: nobody can connect with it
    return std::nullopt;
  }
}

}  // namespace

std::optional<wallet::PublicKey> PeerRoles::step_driver(const std::vector<protocol::PeerInfo>& peers,
                                                        const client::HubNamed& named) {
  if (named.names_driver) return named.driver;
  for (const auto& peer : peers)  // ready order, oldest first
    if (peer.ready() && peer.stage == 0) return peer.node_key;
  return std::nullopt;
}

void PeerRoles::set_hub(const wallet::PublicKey& hub_key) {
  const auto curve = curve_of(hub_key);
  std::lock_guard lock(mutex_);
  hub_curve_ = curve;
}

std::set<net::CurvePublicKey> PeerRoles::update(const std::vector<protocol::PeerInfo>& peers, const client::HubNamed& named) {
  std::map<wallet::PublicKey, std::optional<net::CurvePublicKey>> curves;
  {
    std::lock_guard lock(mutex_);
    for (const auto& peer : peers)
      if (const auto known = curves_.find(peer.node_key); known != curves_.end()) curves.insert(*known);
  }
  const auto curve = [&](const wallet::PublicKey& key) {
    const auto found = curves.find(key);
    return found != curves.end() ? found->second : curves.emplace(key, curve_of(key)).first->second;
  };
  std::map<net::CurvePublicKey, Listed> listed;
  std::set<net::CurvePublicKey> keys;
  for (const auto& peer : peers)
    if (const auto c = curve(peer.node_key)) {
      listed[*c] = {peer.node_key, peer.stage, peer.ready()};
      keys.insert(*c);
    }
  const auto driver = step_driver(peers, named);
  const auto driver_curve = driver ? curve(*driver) : std::nullopt;
  std::lock_guard lock(mutex_);
  listed_ = std::move(listed);
  curves_ = std::move(curves);
  driver_ = driver;
  driver_curve_ = driver_curve;
  assignment_ = named.assignment;
  return keys;
}

std::optional<wallet::PublicKey> PeerRoles::driver() const {
  std::lock_guard lock(mutex_);
  return driver_;
}

bool PeerRoles::is_driver(const net::CurvePublicKey& peer) const {
  std::lock_guard lock(mutex_);
  return driver_curve_ && *driver_curve_ == peer;
}

bool PeerRoles::is_hub(const net::CurvePublicKey& peer) const {
  std::lock_guard lock(mutex_);
  return hub_curve_ && *hub_curve_ == peer;
}

std::optional<PeerRoles::Listed> PeerRoles::listed(const net::CurvePublicKey& peer) const {
  std::lock_guard lock(mutex_);
  const auto found = listed_.find(peer);
  if (found == listed_.end()) return std::nullopt;
  return found->second;
}

std::string PeerRoles::assignment() const {
  std::lock_guard lock(mutex_);
  return assignment_;
}

}  // namespace tessera::node::swarm
