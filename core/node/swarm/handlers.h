// What this node answers, one request at a time under the LocalStage mutex: dispatch() checks a
// request is for this run and hands it to the handler of its kind (Forward, Reduce, GradFetch,
// SharedGradient, Step, Abort, Ping, StateRequest, Infer); any failure becomes an Error reply
// (naming the failed peer when it is not this node). The stage server calls it for requests from
// peers, the driver (through PeerCalls' local handler) for its own stage.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "core/node/swarm/forward_work.h"
#include "core/node/swarm/reduce_work.h"
#include "core/node/swarm/state_transfer.h"

namespace tessera::node::swarm {

class StatusBoard;
class WorkLog;

class Handlers {
 public:
  Handlers(const RunContext& run, LocalStage& local, PeerCalls& calls, StatusBoard& board, WorkLog& log,
           StateTransfer& state)
      : run_(run), local_(local), calls_(calls), board_(board), log_(log), state_(state), forward_(run, local),
        reduce_(run, local, calls) {}

  ForwardWork& forward() { return forward_; }

  // Runs one request and always produces a reply (an Error on any failure), with its request id.
  Out dispatch(const net::Incoming& in);
  // A request's envelope, checked to be for this run; `request` gets its id as soon as it is known,
  // so that even a refusal is answered to the right request.
  net::Envelope open_request(const net::Incoming& in, std::optional<nlohmann::json>& request) const;
  Out error_out(const net::MessageHeader& h, const std::string& message, const wallet::PublicKey* failed,
                const std::optional<nlohmann::json>& request) const;
  // A refusal: counted, logged (as `what`, else as a refused request of h's kind), answered with an Error.
  Out refuse(const net::MessageHeader& h, const std::exception& error, const std::optional<nlohmann::json>& request,
             const char* what = nullptr);
  // The driver's own stage, served by a direct call exactly as a remote request would be.
  Reply local(net::MessageHeader h, const net::Envelope& message);

 private:
  Out handle(const net::Incoming& in, const net::Envelope& envelope);
  Out forward_in_a_row(const net::Incoming& in, const net::Envelope& envelope);
  Out step(const net::Incoming& in, const net::Envelope& envelope);
  Out abort(const net::Incoming& in, const net::Envelope& envelope);
  Out ping(const net::Incoming& in);
  Out infer(const net::Incoming& in, const net::Envelope& envelope);

  const RunContext& run_;
  LocalStage& local_;
  PeerCalls& calls_;
  StatusBoard& board_;
  WorkLog& log_;
  StateTransfer& state_;
  ForwardWork forward_;
  ReduceWork reduce_;
};

}  // namespace tessera::node::swarm
