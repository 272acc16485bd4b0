// The stage server thread: takes requests from peers on the CurveZMQ server and answers them. A
// Forward to a stage that has a next stage is passed on without waiting for its answer: the server
// takes the next request meanwhile (the driver keeps every micro-batch of the step in flight), so
// this stage's work overlaps the next stage's. Answers are landed strictly in the order the
// Forwards came in, so every stage runs its backwards in the order of its forwards; with one replica
// per stage that is micro-batch order, and the gradients are the in-process pipeline's. Everything
// else is answered at once through Handlers::dispatch.
#pragma once

#include <atomic>
#include <deque>
#include <optional>

#include "core/node/swarm/handlers.h"

namespace tessera::node::swarm {

class StageServer {
 public:
  StageServer(const RunContext& run, LocalStage& local, PeerCalls& calls, Handlers& handlers, net::Server& server)
      : run_(run), local_(local), handlers_(handlers), server_(server), links_(calls) {}

  // Serves until `serving` turns false (checked at least every 200 ms).
  void serve(const std::atomic<bool>& serving);

 private:
  // A Forward passed on to the next stage and not yet answered.
  struct Passed {
    net::Incoming in;  // the routing id and header the answer goes back with (payload dropped)
    std::optional<nlohmann::json> request;
    ForwardJob job;
    Sent sent;
    std::uint64_t downstream_request = 0;
    PeerCalls::Links::Link* link = nullptr;
    net::Timeout timeout{0};
    Clock::time_point deadline;
  };

  void serve_once();
  void take(net::Incoming in);
  void answer(const net::Incoming& in, Out out);
  // Answers (with an error) and forgets the passed Forwards `which` selects.
  template <typename Which>
  void fail_passed(const Which& which, const std::string& message, const wallet::PublicKey* failed);
  // A Forward to a stage that has a next stage: forward, pass it on, answer later (land_passed).
  void begin_passed(net::Incoming in);
  // Lands the oldest passed Forwards whose answers are in, in order; fails the oldest when its
  // next stage is past the deadline.
  void land_passed();
  Out land_one(Passed& front);

  const RunContext& run_;
  LocalStage& local_;
  Handlers& handlers_;
  net::Server& server_;
  PeerCalls::Links links_;  // to the next stage's replicas
  std::deque<Passed> passed_;
};

}  // namespace tessera::node::swarm
