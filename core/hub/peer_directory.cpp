// Peer directory: stage assignment and heartbeat expiry.
#include "core/hub/peer_directory.h"

#include <algorithm>
#include <stdexcept>

#include "core/net/http_json.h"

namespace tessera::hub {

PeerDirectory::PeerDirectory(std::vector<std::uint64_t> stage_memory_bytes, std::size_t max_peers)
    : stage_memory_(std::move(stage_memory_bytes)), max_peers_(max_peers) {
  if (stage_memory_.empty()) throw std::invalid_argument("a run has at least one stage");
}

std::optional<int> PeerDirectory::choose_stage(std::uint64_t device_memory) const {
  const auto counts = replica_counts();
  std::optional<int> best;
  for (int stage = 0; stage < stage_count(); ++stage) {
    if (stage_memory_[stage] > device_memory) continue;
    if (!best || counts[stage] < counts[*best]) best = stage;
  }
  return best;
}

void PeerDirectory::upsert(Peer peer) {
  if (peer.stage < 0 || peer.stage >= stage_count())
    throw std::invalid_argument("no stage " + std::to_string(peer.stage) + " in this run");
  std::lock_guard lock(mutex_);
  if (peers_.size() >= max_peers_ && !peers_.count(peer.node_key))
    throw net::HttpError(503, "the run is full (" + std::to_string(max_peers_) + " live peers): try again later");
  peers_[peer.node_key] = std::move(peer);
}

bool PeerDirectory::heartbeat(const wallet::PublicKey& node_key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const auto found = peers_.find(node_key);
  if (found == peers_.end()) return false;
  found->second.last_seen = now;
  return true;
}

std::vector<Peer> PeerDirectory::expire(Clock::time_point now, Clock::duration timeout) {
  std::lock_guard lock(mutex_);
  std::vector<Peer> dropped;
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (now - it->second.last_seen > timeout) {
      dropped.push_back(std::move(it->second));
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

bool PeerDirectory::remove(const wallet::PublicKey& node_key) {
  std::lock_guard lock(mutex_);
  return peers_.erase(node_key) != 0;
}

bool PeerDirectory::set_endpoint(const wallet::PublicKey& node_key, std::string endpoint,
                                 std::optional<wallet::PublicKey> relayed_by) {
  std::lock_guard lock(mutex_);
  const auto found = peers_.find(node_key);
  if (found == peers_.end()) return false;
  found->second.endpoint = std::move(endpoint);
  found->second.relayed_by = relayed_by;
  return true;
}

std::vector<protocol::RelayInfo> PeerDirectory::relays() const {
  std::lock_guard lock(mutex_);
  std::map<wallet::PublicKey, std::uint64_t> clients;
  for (const auto& [key, peer] : peers_)
    if (peer.relayed_by) ++clients[*peer.relayed_by];
  std::vector<protocol::RelayInfo> out;
  for (const auto& [key, peer] : peers_)
    if (!peer.relay.empty()) out.push_back({key, peer.relay, clients[key]});
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.clients < b.clients; });
  if (out.size() > protocol::kMaxRelaysListed) out.resize(protocol::kMaxRelaysListed);
  return out;
}

std::optional<Peer> PeerDirectory::find(const wallet::PublicKey& node_key) const {
  std::lock_guard lock(mutex_);
  const auto found = peers_.find(node_key);
  if (found == peers_.end()) return std::nullopt;
  return found->second;
}

std::vector<Peer> PeerDirectory::peers() const {
  std::lock_guard lock(mutex_);
  std::vector<Peer> all;
  for (const auto& [key, peer] : peers_) all.push_back(peer);
  return all;
}

std::vector<Peer> PeerDirectory::replicas(int stage) const {
  std::lock_guard lock(mutex_);
  std::vector<Peer> serving;
  for (const auto& [key, peer] : peers_)
    if (peer.stage == stage) serving.push_back(peer);
  return serving;
}

std::vector<int> PeerDirectory::replica_counts() const {
  std::lock_guard lock(mutex_);
  std::vector<int> counts(stage_memory_.size(), 0);
  for (const auto& [key, peer] : peers_) ++counts[peer.stage];
  return counts;
}

bool PeerDirectory::complete() const {
  const auto counts = replica_counts();
  return std::all_of(counts.begin(), counts.end(), [](int count) { return count > 0; });
}

}  // namespace tessera::hub
