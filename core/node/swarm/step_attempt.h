// One step attempt as the driver runs it: who takes part (the replicas of each stage that answered
// the ping at this step), what the micro-batches brought back, the stages' norms and who commits.
// Filled in by the driver's phases in order: ping, micro-batches, reduce, shared gradient, commit;
// what it holds at the commit is the step record the driver signs (step_record_builder.h).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/net/swarm_messages.h"
#include "core/protocol/payload_digest.h"

namespace tessera::node::swarm {

struct StepAttempt {
  std::uint64_t step = 0;
  std::uint64_t id = 0;
  std::chrono::steady_clock::time_point started, pinged, micro_batches_done, reduced;

  std::vector<std::vector<net::Hop>> replicas;  // per stage, in route order (RouteOrder)
  std::array<std::uint8_t, 32> route_seed{};    // the hub's seed the order was drawn from; zeros: key order
  std::vector<net::Hop> participants;           // every replica above, stage by stage
  int queue = 0;  // micro-batches that may be ahead of one at a later stage
  std::string ticket;  // hex of the signed protocol::SignedStepTicket every Forward carries

  std::vector<protocol::PayloadDigest> tokens_hashes;  // per micro-batch: protocol::tokens_digest of its token ids

  // What the micro-batches' answers brought back.
  double loss_sum = 0, forward_bytes = 0, tokens = 0;
  std::map<wallet::PublicKey, std::vector<std::string>> receipts_for;  // Backward receipts to hand to their senders

  // Reduce and the shared gradient.
  std::vector<double> norms;  // squared, per stage
  std::vector<net::Hop> committers;
  std::vector<int> committer_stages;
  double shared_bytes = 0;  // shared embedding gradient bytes on the wire

  bool participates(const wallet::PublicKey& key) const {
    for (const auto& hop : participants)
      if (hop.key == key) return true;
    return false;
  }

  // Micro-batch m goes through replica m mod R of every stage after the first.
  std::vector<net::Hop> route_of(int m) const {
    std::vector<net::Hop> route;
    for (std::size_t k = 1; k < replicas.size(); ++k) route.push_back(replicas[k][static_cast<std::size_t>(m) % replicas[k].size()]);
    return route;
  }
};

}  // namespace tessera::node::swarm
