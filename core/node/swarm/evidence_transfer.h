// Spot-check evidence between a worker and the checker the hub named (CheckFetch / CheckChunk):
// serve() answers a checker's requests in chunks from one encoded copy per check (the worker
// side, LocalStage mutex held, the Authoriser having checked the ticket); download_evidence()
// fetches and decodes it (the checker side, on its own thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/net/check_evidence.h"
#include "core/node/swarm/forward_work.h"
#include "core/protocol/spot_check.h"

namespace tessera::node::swarm {

class EvidenceTransfer {
 public:
  static constexpr std::size_t kChunk = 4 << 20;

  EvidenceTransfer(const RunContext& run, LocalStage& local) : run_(run), local_(local) {}

  // LocalStage mutex held. Throws std::invalid_argument (an Error reply) for a ticket of another
  // stage or evidence this node no longer holds.
  Out serve(const net::Incoming& in, const net::Envelope& envelope);

 private:
  const RunContext& run_;
  LocalStage& local_;
  std::string ticket_;  // the ticket (hex) whose evidence is encoded below
  std::vector<std::uint8_t> bytes_;
};

// The worker's encoded evidence for `ticket` (hex `ticket_hex`, presented as it came from the
// hub), for net::CheckEvidence::decode. Throws PeerFailure when the worker is silent or refuses,
// or its chunks do not add up.
std::vector<std::uint8_t> download_evidence(const RunContext& run, PeerCalls& calls, const Hop& worker,
                                     const protocol::CheckTicket& ticket, const std::string& ticket_hex);

}  // namespace tessera::node::swarm
