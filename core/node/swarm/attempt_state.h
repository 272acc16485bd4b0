// One step attempt as this replica sees it: which attempt and step it is in, the micro-batches it
// took, the receipts it collected and is owed, the work it did, its gradient snapshot, and the
// attempts the driver told it to abandon (the last kAbandoned of them). Guarded by the LocalStage
// mutex, like the Stage whose uncommitted work it tracks.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "core/node/swarm/bounded.h"
#include "core/protocol/receipt.h"

namespace tessera::node::swarm {

struct WorkTally {
  std::int64_t micro_batches = 0;
  double tokens = 0, flops = 0, device_seconds = 0;
  std::int64_t bytes_sent = 0, bytes_received = 0;
};

// A receipt this replica is owed for a gradient it sent: who got it, and the content digest of
// what was sent (protocol::backward_digest), which the receipt must sign.
struct OwedReceipt {
  wallet::PublicKey receiver{};
  std::array<std::uint8_t, 32> payload{};
};

// A PowerSGD round this replica took part in (core/model/power_sgd.h), kept until the step
// commits: the basis, this replica's own second part (empty when it contributed none) and the sum.
struct AveragingRound {
  std::vector<float> basis, own_second, q_sum;
};

struct AttemptState {
  static constexpr std::size_t kAbandoned = 1024;

  std::uint64_t active = 0;  // 0: none
  std::uint64_t step = 0;
  BoundedSet<std::uint64_t> aborted{kAbandoned};
  std::set<std::uint32_t> micro_batches;                       // taken this attempt (each once, < the run's count)
  std::vector<protocol::SignedReceipt> pending;                // for this node's work, to log on commit
  std::map<std::uint32_t, OwedReceipt> owed_receipts;          // micro-batch → who got our gradient, and what
  WorkTally work;
  std::optional<std::vector<float>> snapshot;                  // this replica's gradient, before any sum
  std::optional<AveragingRound> averaging_round;               // under PowerSGD, once this replica reduced
  std::optional<std::pair<std::vector<float>, std::vector<float>>> served_second;  // PowerSGD: basis → this replica's second part
  std::vector<float> shared_second;                            // PowerSGD: this stage's part of the shared sync, as answered
  std::optional<AveragingRound> shared_round;                  // PowerSGD: the shared embeddings' round, once installed

  // Forgets the attempt's receipts, work and snapshot; no attempt is active. The caller discards
  // the Stage's uncommitted work with it.
  void reset() {
    micro_batches.clear();
    pending.clear();
    owed_receipts.clear();
    work = {};
    snapshot.reset();
    averaging_round.reset();
    served_second.reset();
    shared_second.clear();
    shared_round.reset();
    active = 0;
  }

  // reset(), then `attempt` at `step_number` is the active one.
  void begin(std::uint64_t attempt, std::uint64_t step_number) {
    reset();
    active = attempt;
    step = step_number;
  }

  // Remembers an abandoned attempt, so its late requests are refused.
  void abandon(std::uint64_t attempt) { aborted.insert(attempt); }
};

}  // namespace tessera::node::swarm
