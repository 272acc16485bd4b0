// What this node answers, one request at a time under the LocalStage mutex. Request kinds are
// registered in one table (handlers.cpp): each names who may send it (authoriser.h) and its
// handler; dispatch() checks a request is for this run, admits its sender, and hands it to the
// handler of its kind; any failure becomes an Error reply (naming the failed peer when it is not
// this node), and a kind not in the table is refused. The stage server calls it for requests from
// peers, the driver (through PeerCalls' local handler) for its own stage.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/node/swarm/authoriser.h"
#include "core/node/swarm/evidence_transfer.h"
#include "core/node/swarm/forward_work.h"
#include "core/node/swarm/inference_work.h"
#include "core/node/swarm/reduce_work.h"
#include "core/node/swarm/state_transfer.h"

namespace tessera::node::swarm {

class PeerRoles;
class StatusBoard;
class WorkLog;

class Handlers {
 public:
  Handlers(const RunContext& run, LocalStage& local, PeerCalls& calls, const PeerRoles& roles, StatusBoard& board,
           WorkLog& log, StateTransfer& state)
      : run_(run), local_(local), calls_(calls), board_(board), log_(log), state_(state), authoriser_(run, roles, local),
        forward_(run, local), inference_(run, local, calls, forward_), reduce_(run, local, calls, roles), evidence_(run, local) {}

  ForwardWork& forward() { return forward_; }

  // Runs one request and always produces a reply (an Error on any failure), with its request id.
  Out dispatch(const net::Incoming& in);
  // A request's envelope, checked to be for this run; `request` gets its id as soon as it is known,
  // so that even a refusal is answered to the right request.
  net::Envelope open_request(const net::Incoming& in, std::optional<nlohmann::json>& request) const;
  // LocalStage mutex held. Throws Unauthorised unless the request's kind is one this node takes
  // and its sender is who the table says may send it.
  void admit(const net::Incoming& in, const net::Envelope& envelope);
  Out error_out(const net::MessageHeader& h, const std::string& message, const wallet::PublicKey* failed,
                const std::optional<nlohmann::json>& request) const;
  // Inside a catch block: the Error reply for the exception in flight. A PeerFailure names its
  // peer; a refusal is counted and logged (as `what`, else as a refused request of h's kind, at
  // most one line a second).
  Out failed(const net::MessageHeader& h, const std::optional<nlohmann::json>& request, const char* what = nullptr);
  // The driver's own stage, served by a direct call exactly as a remote request would be.
  Reply local(net::MessageHeader h, const net::Envelope& message);

 private:
  struct Entry;
  static const Entry* entry_of(net::MessageKind kind);

  Out forward_in_a_row(const net::Incoming& in, const net::Envelope& envelope);
  Out step(const net::Incoming& in, const net::Envelope& envelope);
  Out abort(const net::Incoming& in, const net::Envelope& envelope);
  Out ping(const net::Incoming& in, const net::Envelope& envelope);
  // A refusal's log line, at most one a second (a peer can send refusable requests at will).
  void log_refusal(const std::string& line);

  const RunContext& run_;
  LocalStage& local_;
  PeerCalls& calls_;
  StatusBoard& board_;
  WorkLog& log_;
  StateTransfer& state_;
  Authoriser authoriser_;
  ForwardWork forward_;
  InferenceWork inference_;
  ReduceWork reduce_;
  EvidenceTransfer evidence_;
  std::mutex log_mutex_;
  Clock::time_point last_refusal_log_{};
  std::uint64_t unlogged_refusals_ = 0;
};

}  // namespace tessera::node::swarm
