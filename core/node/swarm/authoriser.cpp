// The role checks, one per sender role.
#include "core/node/swarm/authoriser.h"

#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/peer_roles.h"
#include "core/node/swarm/run_context.h"
#include "core/protocol/assignment.h"
#include "core/protocol/spot_check.h"
#include "core/protocol/unix_time.h"

namespace tessera::node::swarm {
namespace {

net::CurvePublicKey curve_of(const wallet::PublicKey& key) {
  try {
    return net::curve_public_from(key);
  } catch (const std::exception&) {
    throw Unauthorised("a credential names a key that is not a node key");
  }
}

}  // namespace

const char* describe(Sender sender) {
  switch (sender) {
    case Sender::Driver: return "the step driver";
    case Sender::TicketedHop: return "the previous stage on the driver's route";
    case Sender::StageReplica: return "a replica of this stage";
    case Sender::HubTicket: return "the previous stage on the hub's inference route";
    case Sender::Checker: return "the checker the hub's check ticket names";
  }
  return "nobody";
}

void Authoriser::admit(Sender role, const net::Incoming& in, const net::Envelope& envelope) {
  switch (role) {
    case Sender::Driver: return admit_driver(in);
    case Sender::TicketedHop: return admit_forward(in, envelope);
    case Sender::StageReplica: return admit_replica(in, envelope);
    case Sender::HubTicket: return admit_inference(in, envelope);
    case Sender::Checker: return admit_checker(in, envelope);
  }
  throw Unauthorised("no role admits this request");
}

// The hub's driver, or the one whose attempt this replica is in: a driver the hub stops naming
// between the micro-batches and the commit still finishes its attempt, so that no stage is left a
// step behind the others with no replica ahead to take the state from.
void Authoriser::admit_driver(const net::Incoming& in) const {
  if (roles_.is_driver(in.peer)) return;
  const bool attempt_driver = ticket_ && local_.attempt.active != 0 && ticket_->ticket.attempt == local_.attempt.active &&
                              curve_of(ticket_->ticket.driver) == in.peer;
  if (!attempt_driver) throw Unauthorised("only the step driver sends this");
}

const Authoriser::VerifiedTicket& Authoriser::step_ticket(const net::ForwardRequest& head, const net::MessageHeader& h,
                                                          const wallet::PublicKey& driver) {
  if (ticket_ && ticket_->ticket.driver == driver && ticket_->ticket.attempt == head.attempt) {
    if (ticket_->hex != head.ticket) throw Unauthorised("a second step ticket for the same attempt");
    return *ticket_;
  }
  const auto signed_ticket = protocol::SignedStepTicket::from_hex(head.ticket);
  if (!signed_ticket) throw Unauthorised("a forward without a valid step ticket");
  const auto& t = signed_ticket->ticket;
  if (t.driver != driver) throw Unauthorised("a step ticket that the step driver did not sign");
  if (t.attempt != head.attempt || t.step != h.step || t.run_id != run_.manifest.run_id)
    throw Unauthorised("a step ticket for another attempt");
  if (ticket_ && ticket_->ticket.driver == driver && t.attempt < ticket_->ticket.attempt)
    throw Unauthorised("a step ticket older than the driver's newest attempt");
  if (t.replicas.size() != static_cast<std::size_t>(run_.manifest.stages) ||
      t.micro_batches != static_cast<std::uint32_t>(run_.manifest.train.micro_batches))
    throw Unauthorised("a step ticket that does not fit the run");
  if (!signed_ticket->verify()) throw Unauthorised("a step ticket whose signature does not verify");
  VerifiedTicket verified{head.ticket, t, {}};
  for (const auto& stage : t.replicas) {
    auto& curves = verified.curves.emplace_back();
    for (const auto& hop : stage) curves.push_back(curve_of(hop.key));
  }
  ticket_ = std::move(verified);
  return *ticket_;
}

// Micro-batch m comes from replica m mod R of the stage before (the driver for stage 0), is for
// this node, and goes on through the ticket's replicas of the stages after, at the endpoints the
// ticket names (a stage that sent the next one elsewhere could get it reported as silent).
void Authoriser::admit_forward(const net::Incoming& in, const net::Envelope& envelope) {
  const auto& h = in.message.header;
  const auto head = net::ForwardRequest::decode_head(envelope);
  const auto driver = roles_.driver();
  if (!driver) throw Unauthorised("no step driver is known");
  const auto& verified = step_ticket(head, h, *driver);
  const auto& t = verified.ticket;
  const int k = local_.index;
  const auto m = h.micro_batch;
  if (m >= t.micro_batches || h.stage != k) throw Unauthorised("a micro-batch the step ticket does not have");
  if (t.replica_for(static_cast<std::size_t>(k), m).key != run_.self())
    throw Unauthorised("the step ticket sends this micro-batch to another replica");
  const bool from_driver = k == 0 && roles_.is_driver(in.peer) && head.from == *driver;
  const bool from_previous = k > 0 && head.from == t.replica_for(static_cast<std::size_t>(k - 1), m).key &&
                             in.peer == verified.curves[static_cast<std::size_t>(k - 1)][m % t.replicas[k - 1].size()];
  if (!from_driver && !from_previous) throw Unauthorised("the step ticket does not send this micro-batch through the sender");
  if (head.queue != static_cast<int>(t.queue)) throw Unauthorised("a queue the step ticket does not say");
  const auto& route = head.input.route;
  if (route.size() + static_cast<std::size_t>(k) + 1 != t.replicas.size())
    throw Unauthorised("a route the step ticket does not say");
  for (std::size_t j = 0; j < route.size(); ++j) {
    const auto& hop = t.replica_for(static_cast<std::size_t>(k) + 1 + j, m);
    if (route[j].key != hop.key || route[j].endpoint != hop.endpoint)
      throw Unauthorised("a route the step ticket does not say");
  }
}

const Authoriser::VerifiedAssignment& Authoriser::assignment(const std::string& hex, const net::CurvePublicKey& requester) {
  if (const auto* known = assignments_.find(hex); known && known->requester == requester) return *known;
  const auto signed_assignment = protocol::SignedStageAssignment::from_hex(hex);
  if (!signed_assignment) throw Unauthorised("a malformed stage assignment");
  const auto& a = signed_assignment->assignment;
  if (curve_of(a.node_key) != requester) throw Unauthorised("an assignment for another node");
  protocol::AssignmentExpectation expected{run_.manifest.run_id, run_.manifest.hub_key, a.node_key, local_.index,
                                           protocol::unix_now_ms()};
  if (const auto reason = protocol::check_assignment(*signed_assignment, expected)) throw Unauthorised(*reason);
  return assignments_.put(hex, {requester, a.stage, a.issued_ms, a.expires_ms});
}

// With a hub that signs assignments, only a current one for this stage admits; a node whose hub
// signs none (it got none itself) goes by the hub's peer list instead.
void Authoriser::admit_replica(const net::Incoming& in, const net::Envelope& envelope) {
  const auto presented = net::ReplicaCredentials::decode(envelope).assignment;
  const int k = local_.index;
  if (presented.empty()) {
    if (!roles_.assignment().empty()) throw Unauthorised("a replica's request without its stage assignment");
    const auto listed = roles_.listed(in.peer);
    if (!listed || listed->stage != k) throw Unauthorised("the hub does not list the sender at stage " + std::to_string(k));
    return;
  }
  const auto& verified = assignment(presented, in.peer);
  if (verified.stage != k) throw Unauthorised("an assignment to another stage");
  if (!protocol::within_lifetime(protocol::unix_now_ms(), verified.issued_ms, verified.expires_ms))
    throw Unauthorised("an expired assignment");
}

// The hub issues tickets in time order, so a node that has to forget one (at capacity, the
// oldest) refuses every ticket issued no later: a replay of what it forgot, or an honest ticket
// that took longer to arrive than 16,384 newer ones did (which has expired in any real run).
void Authoriser::use_once(const protocol::InferenceTicket& ticket) {
  if (served_.contains(ticket.nonce)) throw Unauthorised("an inference ticket that was used before");
  if (ticket.issued_ms <= forgotten_until_ms_) throw Unauthorised("an inference ticket older than those this node remembers");
  if (served_.size() >= served_.capacity())
    if (const auto oldest = served_.pop_oldest()) forgotten_until_ms_ = std::max(forgotten_until_ms_, oldest->second);
  served_.put(ticket.nonce, ticket.issued_ms);
}

const wallet::SecureBytes& Authoriser::ticket_key() {
  if (!ticket_key_)
    ticket_key_ = protocol::node_ticket_key(run_.curve.public_key, run_.curve.secret_key, curve_of(run_.manifest.hub_key));
  return *ticket_key_;
}

void Authoriser::admit_inference(const net::Incoming& in, const net::Envelope& envelope) {
  const int k = local_.index;
  const auto request = net::InferRequest::decode(envelope);
  const auto ticket = protocol::AuthenticatedInferenceTicket::from_hex(request.ticket);
  if (!ticket) throw Unauthorised("an inference request without the hub's ticket");
  const auto& t = ticket->ticket;
  protocol::InferenceExpectation expected{run_.manifest.run_id,
                                          &ticket_key(),
                                          run_.self(),
                                          k,
                                          run_.manifest.stages,
                                          static_cast<std::uint32_t>(request.input.batch),
                                          static_cast<std::uint32_t>(request.input.sequence),
                                          protocol::inference_tokens_hash(request.input.tokens, request.layout_bytes()),
                                          protocol::unix_now_ms()};
  if (const auto reason = protocol::check_inference_ticket(*ticket, expected)) throw Unauthorised(*reason);
  // The sender's node key by its curve key from the hub's list: no key conversion per token.
  const auto sender = k == 0 ? std::nullopt : roles_.listed(in.peer);
  const bool from_previous = k == 0 ? roles_.is_hub(in.peer) : sender && sender->node_key == t.route[static_cast<std::size_t>(k - 1)];
  if (!from_previous) throw Unauthorised("the inference ticket does not route through the sender");
  const auto& route = request.input.route;
  if (route.size() + static_cast<std::size_t>(k) + 1 != t.route.size())
    throw Unauthorised("a route the inference ticket does not say");
  for (std::size_t j = 0; j < route.size(); ++j)
    if (route[j].key != t.route[static_cast<std::size_t>(k) + 1 + j]) throw Unauthorised("a route the inference ticket does not say");
  use_once(t);
}

// The hub's check ticket is the checker's credential: signed by the hub, for this run, naming this
// node as the worker and the sender (by the key its connection authenticated) as the checker, current.
void Authoriser::admit_checker(const net::Incoming& in, const net::Envelope& envelope) const {
  const auto ticket = protocol::SignedCheckTicket::from_hex(net::CheckFetchRequest::decode(envelope).ticket);
  if (!ticket) throw Unauthorised("an evidence request without the hub's check ticket");
  if (curve_of(ticket->ticket.checker) != in.peer) throw Unauthorised("a check ticket for another checker");
  protocol::CheckExpectation expected{run_.manifest.run_id, run_.manifest.hub_key, run_.self(), ticket->ticket.checker,
                                      protocol::unix_now_ms()};
  if (const auto reason = protocol::check_check_ticket(*ticket, expected)) throw Unauthorised(*reason);
}

}  // namespace tessera::node::swarm
