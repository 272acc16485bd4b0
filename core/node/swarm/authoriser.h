// Who may send which request (DESIGN.md "Trust model"; docs/swarm.md "Who may send what"). Every
// request kind names a sender role in Handlers' table, and admit() checks that role against the
// key the request's CurveZMQ connection authenticated, and against the credential the request
// presents, before any handler runs; a refusal throws Unauthorised. Called with the LocalStage
// mutex held, which also guards what is remembered here, each with a limit: the newest step
// ticket (verified once per attempt), assignments verified recently, and the inference tickets
// served (so none is served twice): the newest ones, and for the rest a floor on their issue time
// below which a ticket is refused (the hub issues them in time order).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"
#include "core/node/swarm/bounded.h"
#include "core/protocol/inference_ticket.h"
#include "core/protocol/step_ticket.h"

namespace tessera::node::swarm {

struct LocalStage;
struct RunContext;
class PeerRoles;

enum class Sender {
  Driver,        // the step driver the hub names, or the driver of the attempt this replica is in
  TicketedHop,   // the node before this one on the micro-batch's route in the driver's step ticket
  StageReplica,  // a replica of this node's stage, by its hub-signed assignment
  HubTicket,     // the node before this one on the route of the hub's ticket for these tokens
  Checker,       // the spot checker the hub's check ticket names, for this node's work
};

const char* describe(Sender sender);

struct Unauthorised : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

class Authoriser {
 public:
  static constexpr std::size_t kAssignmentCache = 256;
  static constexpr std::size_t kServedInferenceTickets = 16384;

  Authoriser(const RunContext& run, const PeerRoles& roles, LocalStage& local) : run_(run), roles_(roles), local_(local) {}

  // Throws Unauthorised unless the sender of `in` may send it as `role`.
  void admit(Sender role, const net::Incoming& in, const net::Envelope& envelope);

 private:
  struct VerifiedTicket {
    std::string hex;
    protocol::StepTicket ticket;
    std::vector<std::vector<net::CurvePublicKey>> curves;  // the replicas' curve keys, as in the ticket
  };
  struct VerifiedAssignment {
    net::CurvePublicKey requester{};
    int stage = 0;
    std::int64_t issued_ms = 0, expires_ms = 0;
  };

  void admit_driver(const net::Incoming& in) const;
  void admit_forward(const net::Incoming& in, const net::Envelope& envelope);
  void admit_replica(const net::Incoming& in, const net::Envelope& envelope);
  void admit_inference(const net::Incoming& in, const net::Envelope& envelope);
  void admit_checker(const net::Incoming& in, const net::Envelope& envelope) const;
  // The attempt's ticket, verified when it is new: signed by `driver`, for this run and step, and
  // newer than any attempt of that driver admitted before.
  const VerifiedTicket& step_ticket(const net::ForwardRequest& head, const net::MessageHeader& h,
                                    const wallet::PublicKey& driver);
  const VerifiedAssignment& assignment(const std::string& hex, const net::CurvePublicKey& requester);
  // Remembers a served inference ticket; refuses one served before, or issued no later than one
  // this node has forgotten.
  void use_once(const protocol::InferenceTicket& ticket);
  // The key this node shares with the hub for inference tickets (computed once).
  const wallet::SecureBytes& ticket_key();

  const RunContext& run_;
  const PeerRoles& roles_;
  LocalStage& local_;
  std::optional<VerifiedTicket> ticket_;  // the newest attempt's
  BoundedMap<std::string, VerifiedAssignment> assignments_{kAssignmentCache};
  BoundedMap<protocol::TicketNonce, std::int64_t> served_{kServedInferenceTickets};  // nonce → issued
  std::int64_t forgotten_until_ms_ = 0;  // the latest issue time among the tickets dropped from served_
  std::optional<wallet::SecureBytes> ticket_key_;
};

}  // namespace tessera::node::swarm
