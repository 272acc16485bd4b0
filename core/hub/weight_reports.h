// Replicas' weights digests (POST /api/weights): every node reports the digest of the parameters
// it holds at the start of each step (protocol::weights_digest); replicas of a stage must agree.
// Kept per (step, stage, node) in the hub's store: a spot check's ticket names the worker's
// digest for the step it checks, and when one digest holds a strict majority of a stage's
// replicas at a step, every replica that reported another is a minority that failed ("weights
// differ from its replicas"). A first report per (step, stage, node) stands; a repeat is ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/hub/hub_store.h"
#include "core/protocol/payload_digest.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

struct WeightsReport {
  std::uint64_t step = 0;
  std::uint16_t stage = 0;
  wallet::PublicKey node{};
  protocol::PayloadDigest digest{};
};

class WeightReports {
 public:
  // Records `report` inside the caller's transaction. `replicas`: how many replicas the stage
  // has (the larger of the live ones and the reports so far is used). Returns the replicas now
  // in a strict minority against a majority digest (those reported before included, each time:
  // the caller excludes once).
  static std::vector<wallet::PublicKey> record(HubStore::Transaction& transaction, const WeightsReport& report,
                                               std::size_t replicas);
  // The digest `node` reported for the start of `step`.
  static std::optional<protocol::PayloadDigest> digest_of(Database& db, const wallet::PublicKey& node,
                                                          std::uint64_t step);
  // Forgets steps before `step` (the hub keeps what live checks may still ask for).
  static void forget_before(HubStore::Transaction& transaction, std::uint64_t step);
};

}  // namespace tessera::hub
