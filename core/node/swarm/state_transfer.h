// A stage's state moving between replicas of the same stage (never from the hub, never to another
// stage): serve() answers StateRequests in chunks from one saved copy per transfer; fetch()
// downloads this stage's state from a live replica and loads it.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/client/hub_client.h"
#include "core/node/swarm/forward_work.h"

namespace tessera::node::swarm {

class PeerRoles;
class StatusBoard;

class StateTransfer {
 public:
  // `roles` gives this node's stage assignment, which its StateRequests present.
  StateTransfer(const RunContext& run, LocalStage& local, PeerCalls& calls, const PeerRoles& roles, StatusBoard& board)
      : run_(run), local_(local), calls_(calls), roles_(roles), board_(board) {}

  // LocalStage mutex held.
  Out serve(const net::Incoming& in, const net::Envelope& envelope);
  // True when a replica among `peers` gave this node its stage's state.
  bool fetch(const std::vector<protocol::PeerInfo>& peers, const std::atomic<bool>& stop);

 private:
  std::vector<std::uint8_t> download(const Hop& replica);
  void install(const std::vector<std::uint8_t>& bytes);

  const RunContext& run_;
  LocalStage& local_;
  PeerCalls& calls_;
  const PeerRoles& roles_;
  StatusBoard& board_;
  std::uint64_t transfer_id_ = 0;  // serving side, under the LocalStage mutex
  std::vector<std::uint8_t> transfer_bytes_;
};

}  // namespace tessera::node::swarm
