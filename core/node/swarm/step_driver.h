// The step driver: on the oldest ready replica of stage 0, drives each step as named phases —
// ping (who is alive and at this step), micro-batches (MicroBatchSchedule), reduce and the shared
// gradient (ReduceRound), commit (every participant steps at once), report (progress to the hub).
// A peer that fails is left out for a while, the attempt is aborted everywhere and retried.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include "core/model/data.h"
#include "core/client/hub_client.h"
#include "core/control/event_bus.h"
#include "core/node/swarm/peer_calls.h"
#include "core/node/swarm/step_attempt.h"

namespace tessera::node::swarm {

struct RunContext;
struct LocalStage;
class ForwardWork;
class HubLink;
class StatusBoard;

class StepDriver {
 public:
  StepDriver(const RunContext& run, LocalStage& local, ForwardWork& forward, PeerCalls& calls, HubLink& hub,
             StatusBoard& board, control::EventBus* events);

  // True when this node drives: the oldest ready, unsuspected replica of stage 0.
  bool is_driver(const std::vector<protocol::PeerInfo>& peers);
  // One step attempt; true when committed.
  bool drive_step(const std::vector<protocol::PeerInfo>& peers, std::uint64_t step);

 private:
  // Who is alive and at this step, per stage; nothing when a stage has no live replica.
  bool ping(const std::vector<protocol::PeerInfo>& peers, StepAttempt& attempt);
  void run_micro_batches(StepAttempt& attempt);
  void reduce(StepAttempt& attempt);
  // The step's commit (global norm, mean loss, bytes per token) as sent to every committer.
  net::StepRequest commit(StepAttempt& attempt);
  void report(const StepAttempt& attempt, const net::StepRequest& committed);
  void abort(const StepAttempt& attempt);

  bool suspected(const wallet::PublicKey& peer);
  void suspect(const wallet::PublicKey& peer, const std::string& why);

  const RunContext& run_;
  LocalStage& local_;
  ForwardWork& forward_;
  PeerCalls& calls_;
  HubLink& hub_;
  StatusBoard& board_;
  control::EventBus* events_;
  std::map<wallet::PublicKey, Clock::time_point> suspects_;
  std::uint64_t next_attempt_;
  Clock::time_point last_step_end_{};  // when the last committed step was reported (reset by a failed one)
  std::optional<model::DataSource> data_;
};

}  // namespace tessera::node::swarm
