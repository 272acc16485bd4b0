// A spot checker's work on one slot once it holds the worker's evidence: check the evidence
// against the ticket (the weights digest the worker reported, the token digest of the step record,
// the input digests the worker signed for as receiver), then recompute the stage's forward and
// backward on a scratch engine::Stage on the CPU (built from the run manifest as a replica of
// that stage would be; never this node's own stage) and report the digests of what it computed.
// Bit-exact only without dropout: with dropout > 0 the report is Unavailable, saying so.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/engine/stage.h"
#include "core/net/check_evidence.h"
#include "core/protocol/manifest.h"
#include "core/protocol/spot_check.h"

namespace tessera::node::swarm {

// Nothing when `evidence` is what `ticket` names; else the first thing that differs.
std::optional<std::string> evidence_mismatch(const protocol::CheckTicket& ticket, const net::CheckEvidence& evidence);

class CheckRecompute {
 public:
  explicit CheckRecompute(protocol::RunManifest manifest) : manifest_(std::move(manifest)) {}

  // Computed (with the digests), EvidenceMismatch or Unavailable; check_id is the ticket's.
  protocol::CheckReport check(const protocol::CheckTicket& ticket, const net::CheckEvidence& evidence);

 private:
  // The scratch stage for `index` (kept while checks are of the same stage).
  engine::Stage& scratch(int index);
  protocol::CheckReport recompute(const protocol::CheckTicket& ticket, const net::CheckEvidence& evidence);

  protocol::RunManifest manifest_;
  std::unique_ptr<engine::Stage> stage_;
  int stage_index_ = -1;
};

// A report that says why nothing was computed.
protocol::CheckReport failed_check(std::uint64_t check_id, protocol::CheckStatus status, std::string reason);

}  // namespace tessera::node::swarm
