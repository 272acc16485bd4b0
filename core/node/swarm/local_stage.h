// This node's stage and the step attempt it is in, under one mutex: every handler that touches
// the Stage holds it, and nothing that waits on another peer does.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "core/engine/stage.h"
#include "core/model/power_sgd.h"
#include "core/node/swarm/attempt_state.h"
#include "core/node/swarm/evidence_store.h"

namespace tessera::node::swarm {

struct LocalStage {
  mutable std::mutex mutex;
  std::unique_ptr<engine::Stage> stage;
  std::unique_ptr<model::PowerSgdReplica> averaging;  // under PowerSGD: error feedback and warm start
  std::unique_ptr<model::PowerSgdReplica> shared_averaging;  // the same for the shared embeddings (subspace runs)
  std::atomic<int> index{-1};
  AttemptState attempt;
  EvidenceStore evidence;  // its own lock: the hub thread reads it without this mutex
  std::atomic<bool> need_resync{false};  // a peer is at a later step: catch up (catch_up.h)
  std::atomic<std::uint64_t> asked_step{0};  // the latest step a driver asked of this stage since then

  // A driver asked this stage for `step`; when that is after the stage's own, it catches up.
  void asked_for(std::uint64_t step, std::uint64_t mine) {
    if (mine >= step) return;
    auto seen = asked_step.load();
    while (seen < step && !asked_step.compare_exchange_weak(seen, step)) {
    }
    need_resync = true;
  }

  // Mutex held. Joins `attempt` at `step` (a new attempt discards the last one's uncommitted work);
  // throws std::invalid_argument for an abandoned attempt or another step than this replica's.
  void enter_attempt(std::uint64_t attempt_id, std::uint64_t step) {
    if (attempt.aborted.contains(attempt_id)) throw std::invalid_argument("step attempt was abandoned");
    const auto mine = static_cast<std::uint64_t>(stage->step_count());
    if (mine != step) {
      asked_for(step, mine);
      throw std::invalid_argument("out of sync: this replica is at step " + std::to_string(mine) + ", asked for " +
                                  std::to_string(step));
    }
    if (attempt_id != attempt.active) {
      stage->discard_step();
      discard_averaging();
      attempt.begin(attempt_id, step);
      evidence.drop_attempt();
      if (!evidence.has_weights(step)) evidence.keep_weights(step, stage->parameter_vector());  // once per step
    }
  }

  // Mutex held. Takes micro-batch `micro_batch` of the active attempt: each once, and only one the
  // step has (a stage's stash holds one forward per micro-batch).
  void take_micro_batch(std::uint32_t micro_batch, int micro_batches) {
    if (micro_batch >= static_cast<std::uint32_t>(micro_batches) || !attempt.micro_batches.insert(micro_batch).second)
      throw std::invalid_argument("micro-batch " + std::to_string(micro_batch) + " is not one this attempt still needs");
  }

  // Mutex held. Drops the active attempt and the Stage's uncommitted work.
  void discard_attempt() {
    stage->discard_step();
    discard_averaging();
    attempt.reset();
    evidence.drop_attempt();
  }

  // Mutex held. The stage's weights are the start of the step it is at now (after a commit, a
  // load or a state fetch): kept as that step's evidence and reported to the hub.
  void keep_starting_weights() { evidence.keep_weights(static_cast<std::uint64_t>(stage->step_count()), stage->parameter_vector()); }

  // Mutex held. This replica's own gradient, taken once per attempt (before any replica sum).
  const std::vector<float>& gradient_snapshot() {
    if (!attempt.snapshot) attempt.snapshot = stage->gradient_vector();
    return *attempt.snapshot;
  }

  // Mutex held, under PowerSGD. This replica's first part of the attempt's round (begun once,
  // from the snapshot, so every replica that asks gets the same part).
  const std::vector<float>& averaging_first_part() {
    if (!averaging) throw std::invalid_argument("this run does not average replicas with PowerSGD");
    if (!averaging->active()) averaging->begin(gradient_snapshot());
    return averaging->first_part();
  }

  // Mutex held, under PowerSGD in a subspace run: this stage's first part of the shared
  // embeddings' sync, from its gradient after the replica sum.
  const std::vector<float>& shared_first_part() {
    if (!shared_averaging) throw std::invalid_argument("this stage does not sync shared embeddings with PowerSGD");
    if (!shared_averaging->active()) shared_averaging->begin(stage->shared_embedding_gradient());
    return shared_averaging->first_part();
  }

  // Mutex held, as the step commits: the rounds' error feedback and warm start (or nothing).
  void finish_averaging_round() {
    finish(averaging.get(), attempt.averaging_round);
    finish(shared_averaging.get(), attempt.shared_round);
  }

  void discard_averaging() {
    if (averaging) averaging->discard();
    if (shared_averaging) shared_averaging->discard();
  }

  // Mutex held, after the stage's state was replaced (state transfer, skip): error feedback left
  // from other weights is dropped.
  void reset_averaging() {
    if (averaging) averaging->reset();
    if (shared_averaging) shared_averaging->reset();
  }

 private:
  static void finish(model::PowerSgdReplica* replica, const std::optional<AveragingRound>& round) {
    if (!replica) return;
    if (round) replica->finish(round->basis, round->own_second, round->q_sum);
    else replica->discard();
  }
};

}  // namespace tessera::node::swarm
