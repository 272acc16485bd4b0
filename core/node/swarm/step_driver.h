// The step driver: on the oldest ready replica of stage 0, drives each step as named phases —
// ping (who is alive and at this step, each stage's replicas in the hub's route order:
// RouteOrder), micro-batches (MicroBatchSchedule), reduce and the shared gradient (ReduceRound),
// commit (every participant steps at once), report (the signed step record and the progress
// figures to the hub: StepReporter, off the critical path).
// A peer that fails is left out for a while, the attempt is aborted everywhere and retried. Only a
// failure the driver can prove leaves a peer out: one it saw itself, or one another peer reports
// and that the named peer confirms by not answering the driver either; a peer named by another
// that does answer was accused falsely, and its accuser is left out instead.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "core/model/data.h"
#include "core/client/hub_client.h"
#include "core/control/event_bus.h"
#include "core/node/swarm/bounded.h"
#include "core/node/swarm/peer_calls.h"
#include "core/node/swarm/route_order.h"
#include "core/node/swarm/step_attempt.h"
#include "core/node/swarm/step_reporter.h"

namespace tessera::node::swarm {

struct RunContext;
struct LocalStage;
class ForwardWork;
class HubLink;
class PeerRoles;
class StatusBoard;

class StepDriver {
 public:
  static constexpr std::size_t kMaxSuspects = 1024;

  StepDriver(const RunContext& run, LocalStage& local, ForwardWork& forward, PeerCalls& calls, HubLink& hub,
             const PeerRoles& roles, StatusBoard& board, control::EventBus* events);

  // True when this node drives: the driver the hub names (PeerRoles).
  bool is_driver() const;
  // One step attempt; true when committed.
  bool drive_step(const std::vector<protocol::PeerInfo>& peers, std::uint64_t step);

 private:
  // Who is alive and at this step, per stage; nothing when a stage has no live replica.
  bool ping(const std::vector<protocol::PeerInfo>& peers, StepAttempt& attempt);
  // The training data, before the first step (training_data.h); false, with the error published,
  // when it cannot be had yet.
  bool load_data();
  // Each stage's live replicas in route order: by the hub's seed for this step when the driver
  // has a valid one (the last report's answer, else the peer list's), else by node key.
  void order_routes(const std::vector<protocol::PeerInfo>& peers, StepAttempt& attempt);
  void run_micro_batches(StepAttempt& attempt);
  void reduce(StepAttempt& attempt);
  // The step's commit (global norm, mean loss, bytes per token) as sent to every committer.
  net::StepRequest commit(StepAttempt& attempt);
  void report(const StepAttempt& attempt, const net::StepRequest& committed);
  // Aborts the attempt on every participant at once; returns those that answered.
  std::set<wallet::PublicKey> abort(const StepAttempt& attempt);

  bool suspected(const wallet::PublicKey& peer);
  void suspect(const wallet::PublicKey& peer, const std::string& why);
  // Leaves out whoever `failure` proves failed (see the header comment). `answered`: the peers
  // known to answer the driver now (the attempt's Abort); without it a reported peer is pinged.
  void blame(const PeerFailure& failure, const StepAttempt& attempt, const std::set<wallet::PublicKey>* answered);
  bool answers_ping(const wallet::PublicKey& peer, std::uint64_t step);

  const RunContext& run_;
  LocalStage& local_;
  ForwardWork& forward_;
  PeerCalls& calls_;
  HubLink& hub_;
  const PeerRoles& roles_;
  StatusBoard& board_;
  control::EventBus* events_;
  BoundedMap<wallet::PublicKey, Clock::time_point> suspects_{kMaxSuspects};  // until when
  std::uint64_t next_attempt_;
  Clock::time_point last_step_end_{};  // when the last committed step was reported (reset by a failed one)
  std::optional<model::DataSource> data_;
  RouteOrder routes_;
  std::optional<StepReporter> reporter_;  // made on the first report (the hub's client exists by then)
};

}  // namespace tessera::node::swarm
