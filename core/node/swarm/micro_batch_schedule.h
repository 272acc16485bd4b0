// The step's micro-batches as a pipeline schedule with every micro-batch of the step in flight.
// Micro-batch m goes to stage 0's replica m mod R. The driver first sends the others' micro-batches
// to their stage-0 replicas, whose stage servers pass each on at once, then runs its own forwards
// one after another and passes each on as soon as it is computed. So the later stages always have
// their next micro-batch queued and stage 0 never waits on a round trip while there is forward work
// left (F0 F1 F2 F3 B0 B1 B2 B3 with one replica per stage). A stage holds at most the step's
// micro-batches at once, which is what a Stage budgets its memory for (StageOptions::in_flight 0)
// and what the hub's memory fit counts. Every stage runs its forwards and its backwards in the order
// the forwards reach it (requests on one connection arrive in order, and stage servers land answers
// in that order): with one replica per stage that is micro-batch order, so the gradients are the
// in-process pipeline's. With several replicas of a stage before the last, a later stage can take
// micro-batches out of order, so a micro-batch may wait there for up to `queue` others: each of
// its hops gets that many more hop times. The answers are absorbed in micro-batch order.
#pragma once

#include <optional>
#include <vector>

#include "core/model/data.h"
#include "core/node/swarm/forward_work.h"
#include "core/node/swarm/step_attempt.h"

namespace tessera::node::swarm {

class MicroBatchSchedule {
 public:
  MicroBatchSchedule(const RunContext& run, LocalStage& local, ForwardWork& forward, PeerCalls& calls,
                     model::DataSource& data, StepAttempt& attempt);

  // Runs every micro-batch and absorbs the answers into the attempt; throws PeerFailure naming the
  // peer that failed (this node when its own stage refused its work).
  void run();

 private:
  struct Flight {
    bool here = false;  // this node's stage 0 runs the forward (job); else a stage-0 replica does
    ForwardJob job;
    std::optional<net::BackwardReply> answered;  // a one-stage run: this node's job is done at once
    Sent sent;
    std::uint64_t request = 0;
    PeerCalls::Links::Link* link = nullptr;
  };

  void launch(int m, bool here);
  void launch_remote(int m, const Hop& first, const std::vector<std::int32_t>& ids);
  void launch_here(int m, std::vector<std::int32_t> ids);
  void land(int m);
  // What a micro-batch's answer brings back: its loss, boundary bytes and the Backward receipts
  // signed along its route, which go to their senders with Reduce.
  void absorb(int m, const net::BackwardReply& answer);

  const RunContext& run_;
  LocalStage& local_;
  ForwardWork& forward_;
  model::DataSource& data_;
  StepAttempt& attempt_;
  PeerCalls::Links links_;
  std::vector<Flight> flights_;
};

}  // namespace tessera::node::swarm
