// A stage's state moving between replicas of the same stage (never from the hub, never to another
// stage): serve() answers StateRequests in chunks from one saved copy per transfer; fetch()
// downloads this stage's state from a live replica and loads it.
#pragma once

#include <atomic>
#include <cstdint>
#include <stdexcept>
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
  enum class Fetch {
    Loaded,     // a replica among the peers gave this node its stage's state
    NoneAhead,  // with only_ahead: every replica listed answered, none at a later step than this node
    Failed,     // no state: a replica failed, or the node is stopping
  };
  // With `only_ahead`, only a replica at a later step than this node's counts (one at the same
  // step has nothing newer).
  Fetch fetch(const std::vector<protocol::PeerInfo>& peers, const std::atomic<bool>& stop, bool only_ahead = false);

 private:
  struct NotAhead : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  // Throws NotAhead when the replica's step is below `at_least` (its first request says it in the
  // header's step, so such a replica answers without saving its state), before more than a chunk moves.
  std::vector<std::uint8_t> download(const Hop& replica, std::uint64_t at_least);
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
