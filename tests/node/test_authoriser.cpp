// Who may send what (core/node/swarm/authoriser.h), without a network: requests are built as the
// stage server hands them over, with the sender's authenticated curve key. Driver messages only
// from the driver the hub names; a Forward only from the node before this one on the route of a
// step ticket the driver signed (for this run, step and attempt, not older than its newest), with
// that ticket's queue and route; a replica's request only with a current hub-signed assignment to
// this stage (or, when the hub signs none, a listing at this stage); an Infer only with a current
// hub ticket for its tokens and route, from the ticket's previous node, once; a CheckFetch only
// from the checker a current hub-signed check ticket names, for this node's work.
#include <QtTest>

#include <cstring>

#include "core/node/swarm/authoriser.h"
#include "core/node/swarm/local_stage.h"
#include "core/node/swarm/peer_roles.h"
#include "core/node/swarm/run_context.h"
#include "core/protocol/assignment.h"
#include "core/protocol/spot_check.h"
#include "core/protocol/unix_time.h"
#include "tests/node/hub_ticket.h"

using namespace tessera;
using namespace tessera::node::swarm;

class TestAuthoriser : public QObject {
  Q_OBJECT

  wallet::KeyPair hub_ = wallet::KeyPair::generate();
  wallet::KeyPair self_ = wallet::KeyPair::generate();
  wallet::KeyPair driver_ = wallet::KeyPair::generate();
  wallet::KeyPair stranger_ = wallet::KeyPair::generate();  // a member of stage 0, not the driver
  wallet::KeyPair replica_ = wallet::KeyPair::generate();   // another member of this node's stage 1
  node::SwarmNodeOptions options_;
  std::unique_ptr<RunContext> run_;
  PeerRoles roles_;
  LocalStage local_;
  std::unique_ptr<Authoriser> auth_;

  // A peer-list entry (ready order 0: joined, not ready).
  static protocol::PeerInfo listed(const wallet::KeyPair& key, int stage, std::uint64_t ready_order) {
    protocol::PeerInfo peer;
    peer.node_key = key.public_key();
    peer.endpoint = "tcp://127.0.0.1:1";
    peer.stage = stage;
    peer.ready_order = ready_order;
    return peer;
  }

  std::vector<protocol::PeerInfo> peers() const {
    return {listed(driver_, 0, 1), listed(self_, 1, 2), listed(stranger_, 0, 0), listed(replica_, 1, 0)};
  }

  static net::Incoming from(const wallet::KeyPair& sender, net::MessageKind kind, std::uint64_t step = 0,
                            std::uint32_t micro_batch = 0, int stage = 1) {
    net::Incoming in;
    in.peer = net::curve_public_from(sender.public_key());
    in.message.header.kind = kind;
    in.message.header.run_id = "run";
    in.message.header.step = step;
    in.message.header.micro_batch = micro_batch;
    in.message.header.stage = static_cast<std::uint16_t>(stage);
    return in;
  }

  // As the stage server has it: through the wire.
  static net::Envelope wire(const net::Envelope& envelope) { return *net::unpack(net::pack(envelope.meta, envelope.blob)); }

  bool admits(Sender role, const net::Incoming& in, const net::Envelope& envelope) {
    try {
      auth_->admit(role, in, wire(envelope));
      return true;
    } catch (const Unauthorised&) {
      return false;
    }
  }

  std::string refusal(Sender role, const net::Incoming& in, const net::Envelope& envelope) {
    try {
      auth_->admit(role, in, wire(envelope));
    } catch (const Unauthorised& refused) {
      return refused.what();
    }
    return "admitted";
  }

  protocol::StepTicket ticket(std::uint64_t attempt, std::uint64_t step = 0) const {
    return {"run", step, attempt, driver_.public_key(), 2, 0,
            {{{driver_.public_key(), "tcp://d:1"}}, {{self_.public_key(), "tcp://s:1"}}}};
  }

  net::Envelope forward(std::uint64_t attempt, const wallet::KeyPair& sender, const std::string& ticket_hex,
                        int queue = 0) const {
    net::ForwardRequest request;
    request.attempt = attempt;
    request.from = sender.public_key();
    request.queue = queue;
    request.ticket = ticket_hex;
    request.input.batch = 1;
    request.input.sequence = 1;
    request.input.tokens = {1, 2};
    return request.encode();
  }

  std::string assignment(const wallet::KeyPair& node, int stage, const wallet::KeyPair& signer,
                         std::int64_t issued = protocol::unix_now_ms()) const {
    return protocol::sign_assignment({"run", node.public_key(), static_cast<std::uint16_t>(stage), issued,
                                      issued + protocol::kAssignmentLifetimeMs},
                                     signer)
        .to_hex();
  }

  net::Envelope infer(const std::string& ticket_hex, std::vector<std::int32_t> tokens = {7, 8, 0},
                      std::vector<net::Hop> route = {}) const {
    net::InferRequest request;
    request.ticket = ticket_hex;
    request.input.batch = 1;
    request.input.sequence = 2;
    request.input.route = std::move(route);
    request.input.tokens = std::move(tokens);
    return request.encode();
  }

  std::string inference_ticket(std::vector<std::int32_t> tokens = {7, 8, 0}, std::uint8_t nonce = 1,
                               const wallet::KeyPair* signer = nullptr) const {
    protocol::InferenceTicket t;
    t.run_id = "run";
    t.nonce[0] = nonce;
    t.issued_ms = protocol::unix_now_ms();
    t.expires_ms = t.issued_ms + 5000;
    t.batch = 1;
    t.sequence = 2;
    t.tokens_hash = protocol::inference_tokens_hash(tokens);
    t.route = {driver_.public_key(), self_.public_key()};
    return test::hub_ticket(t, signer ? *signer : hub_);
  }

 private Q_SLOTS:
  void init() {
    run_ = std::make_unique<RunContext>(self_, options_);
    run_->manifest.run_id = "run";
    run_->manifest.stages = 2;
    run_->manifest.train.micro_batches = 2;
    run_->manifest.hub_key = hub_.public_key();
    run_->curve = net::curve_keys_from(self_);
    roles_.set_hub(hub_.public_key());
    roles_.update(peers(), {});
    local_.index = 1;
    auth_ = std::make_unique<Authoriser>(*run_, roles_, local_);
  }

  void driverMessagesOnlyFromTheDriver() {
    const net::Envelope abort = net::AttemptRequest{5}.encode();
    QVERIFY(admits(Sender::Driver, from(driver_, net::MessageKind::Abort), abort));
    QCOMPARE(refusal(Sender::Driver, from(stranger_, net::MessageKind::Abort), abort), std::string("only the step driver sends this"));
    QVERIFY(!admits(Sender::Driver, from(replica_, net::MessageKind::Step), abort));
    // The hub's choice wins over the list's order; a hub that names nobody leaves no driver.
    roles_.update(peers(), {"", true, stranger_.public_key()});
    QVERIFY(admits(Sender::Driver, from(stranger_, net::MessageKind::Ping), abort));
    QVERIFY(!admits(Sender::Driver, from(driver_, net::MessageKind::Ping), abort));
    roles_.update(peers(), {"", true, std::nullopt});
    QVERIFY(!admits(Sender::Driver, from(driver_, net::MessageKind::Ping), abort));
    QVERIFY(!PeerRoles::step_driver(peers(), {"", true, std::nullopt}));
    QVERIFY(*PeerRoles::step_driver(peers(), {}) == driver_.public_key());
  }

  void forwardOnlyFromTheTicketsPreviousNode() {
    const auto good = protocol::sign_step_ticket(ticket(100), driver_).to_hex();
    QVERIFY(admits(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 0), forward(100, driver_, good)));
    QVERIFY(admits(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 1), forward(100, driver_, good)));
    // The same ticket from anyone else, or claiming another sender.
    QCOMPARE(refusal(Sender::TicketedHop, from(stranger_, net::MessageKind::Forward), forward(100, stranger_, good)),
             std::string("the step ticket does not send this micro-batch through the sender"));
    QVERIFY(!admits(Sender::TicketedHop, from(stranger_, net::MessageKind::Forward), forward(100, driver_, good)));
    // No ticket, a ticket its signer made for itself, a forged one.
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward), forward(101, driver_, "")),
             std::string("a forward without a valid step ticket"));
    auto own = ticket(101);
    own.driver = stranger_.public_key();
    QCOMPARE(refusal(Sender::TicketedHop, from(stranger_, net::MessageKind::Forward),
                     forward(101, stranger_, protocol::sign_step_ticket(own, stranger_).to_hex())),
             std::string("a step ticket that the step driver did not sign"));
    auto forged = protocol::sign_step_ticket(ticket(101), driver_);
    forged.ticket.queue = 1;
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward), forward(101, driver_, forged.to_hex(), 1)),
             std::string("a step ticket whose signature does not verify"));
    // A ticket for another attempt or step, a micro-batch or queue it does not have.
    QVERIFY(!admits(Sender::TicketedHop, from(driver_, net::MessageKind::Forward), forward(102, driver_, good)));
    const auto later_step = protocol::sign_step_ticket(ticket(103, 7), driver_).to_hex();
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0), forward(103, driver_, later_step)),
             std::string("a step ticket for another attempt"));
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 2), forward(100, driver_, good)),
             std::string("a micro-batch the step ticket does not have"));
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward), forward(100, driver_, good, 1)),
             std::string("a queue the step ticket does not say"));
  }

  // A copied ticket of an attempt the driver has moved on from starts nothing.
  void olderAttemptsAreRefused() {
    const auto first = protocol::sign_step_ticket(ticket(200), driver_).to_hex();
    const auto second = protocol::sign_step_ticket(ticket(201), driver_).to_hex();
    QVERIFY(admits(Sender::TicketedHop, from(driver_, net::MessageKind::Forward), forward(200, driver_, first)));
    QVERIFY(admits(Sender::TicketedHop, from(driver_, net::MessageKind::Forward), forward(201, driver_, second)));
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 1), forward(200, driver_, first)),
             std::string("a step ticket older than the driver's newest attempt"));
  }

  void routeMustBeTheTickets() {
    local_.index = 0;  // stage 0 of three: the driver sends, the route names stages 1 and 2
    run_->manifest.stages = 3;
    auto t = ticket(300);
    t.replicas = {{{self_.public_key(), "tcp://s:1"}}, {{replica_.public_key(), "tcp://r:1"}}, {{stranger_.public_key(), "tcp://x:1"}}};
    const auto hex = protocol::sign_step_ticket(t, driver_).to_hex();
    auto envelope = forward(300, driver_, hex);
    net::ForwardRequest request = net::ForwardRequest::decode(wire(envelope));
    request.input.route = {{replica_.public_key(), "tcp://r:1"}, {stranger_.public_key(), "tcp://x:1"}};
    QVERIFY(admits(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 0, 0), request.encode()));
    request.input.route = {{replica_.public_key(), "tcp://r:1"}, {driver_.public_key(), "tcp://d:1"}};
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 1, 0), request.encode()),
             std::string("a route the step ticket does not say"));
    request.input.route.pop_back();
    QVERIFY(!admits(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 1, 0), request.encode()));
    // The ticket's keys at another endpoint: sent there, the next stage could only be reported silent.
    request.input.route = {{replica_.public_key(), "tcp://r:1"}, {stranger_.public_key(), "tcp://elsewhere:1"}};
    QCOMPARE(refusal(Sender::TicketedHop, from(driver_, net::MessageKind::Forward, 0, 1, 0), request.encode()),
             std::string("a route the step ticket does not say"));
    // At stage 0 only the driver itself sends.
    request.input.route = {{replica_.public_key(), "tcp://r:1"}, {stranger_.public_key(), "tcp://x:1"}};
    request.from = stranger_.public_key();
    QVERIFY(!admits(Sender::TicketedHop, from(stranger_, net::MessageKind::Forward, 0, 1, 0), request.encode()));
  }

  // A node remembers the last 16,384 inference tickets it served; one it had to forget cannot come
  // back, as the hub issues them in time order.
  void forgottenInferenceTicketsStayRefused() {
    const auto hub = net::curve_keys_from(hub_);
    const auto key0 = protocol::hub_ticket_key(hub.public_key, hub.secret_key, net::curve_public_from(driver_.public_key()));
    const auto key1 = protocol::hub_ticket_key(hub.public_key, hub.secret_key, net::curve_public_from(self_.public_key()));
    const std::vector<std::int32_t> tokens{7, 8, 0};
    protocol::InferenceTicket t;
    t.run_id = "run";
    t.issued_ms = protocol::unix_now_ms() - 1000;
    t.batch = 1;
    t.sequence = 2;
    t.tokens_hash = protocol::inference_tokens_hash(tokens);
    t.route = {driver_.public_key(), self_.public_key()};
    const auto issue = [&](std::uint32_t n) {
      std::memcpy(t.nonce.data(), &n, sizeof n);
      t.issued_ms += 1;
      t.expires_ms = t.issued_ms + 60'000;
      return protocol::authenticate_inference_ticket(t, {&key0, &key1}).to_hex();
    };
    const auto first = issue(0);
    QVERIFY(admits(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(first, tokens)));
    for (std::uint32_t n = 1; n <= Authoriser::kServedInferenceTickets; ++n)
      QVERIFY(admits(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(issue(n), tokens)));
    QCOMPARE(refusal(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(first, tokens)),
             std::string("an inference ticket older than those this node remembers"));
    const auto newer = issue(Authoriser::kServedInferenceTickets + 1);
    QVERIFY(admits(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(newer, tokens)));
    QCOMPARE(refusal(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(newer, tokens)),
             std::string("an inference ticket that was used before"));
  }

  // A hub that signs no assignments: its list decides (docs/swarm.md).
  void replicasByTheListWithoutAssignments() {
    const net::Envelope state = net::StateRequest{0, 0, ""}.encode();
    QVERIFY(admits(Sender::StageReplica, from(replica_, net::MessageKind::StateRequest), state));
    QCOMPARE(refusal(Sender::StageReplica, from(stranger_, net::MessageKind::StateRequest), state),
             std::string("the hub does not list the sender at stage 1"));
    QVERIFY(!admits(Sender::StageReplica, from(wallet::KeyPair::generate(), net::MessageKind::GradFetch), state));
    // A presented assignment is still checked against the hub key.
    const auto forged = net::GradFetchRequest{1, assignment(stranger_, 1, stranger_)}.encode();
    QCOMPARE(refusal(Sender::StageReplica, from(stranger_, net::MessageKind::GradFetch), forged),
             std::string("an assignment the hub did not sign"));
  }

  void replicasByTheirAssignment() {
    roles_.update(peers(), {assignment(self_, 1, hub_), false, std::nullopt});  // this hub signs
    QVERIFY(admits(Sender::StageReplica, from(replica_, net::MessageKind::StateRequest),
                   net::StateRequest{0, 0, assignment(replica_, 1, hub_)}.encode()));
    QCOMPARE(refusal(Sender::StageReplica, from(replica_, net::MessageKind::StateRequest), net::StateRequest{}.encode()),
             std::string("a replica's request without its stage assignment"));
    QCOMPARE(refusal(Sender::StageReplica, from(stranger_, net::MessageKind::StateRequest),
                     net::StateRequest{0, 0, assignment(stranger_, 0, hub_)}.encode()),
             std::string("an assignment to stage 0"));
    QCOMPARE(refusal(Sender::StageReplica, from(stranger_, net::MessageKind::GradFetch),
                     net::GradFetchRequest{1, assignment(replica_, 1, hub_)}.encode()),
             std::string("an assignment for another node"));
    const auto old = protocol::unix_now_ms() - protocol::kAssignmentLifetimeMs - protocol::kClockSkewMs - 1000;
    QCOMPARE(refusal(Sender::StageReplica, from(replica_, net::MessageKind::GradFetch),
                     net::GradFetchRequest{1, assignment(replica_, 1, hub_, old)}.encode()),
             std::string("an expired assignment"));
    QVERIFY(!admits(Sender::StageReplica, from(replica_, net::MessageKind::GradFetch),
                    net::GradFetchRequest{1, "not hex"}.encode()));
  }

  void inferenceOnlyWithTheHubsTicketOnce() {
    const auto hex = inference_ticket();
    QCOMPARE(refusal(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer("")),
             std::string("an inference request without the hub's ticket"));
    QCOMPARE(refusal(Sender::HubTicket, from(stranger_, net::MessageKind::Infer), infer(hex)),
             std::string("the inference ticket does not route through the sender"));
    QCOMPARE(refusal(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(hex, {7, 9, 0})),
             std::string("a ticket for other tokens"));
    QCOMPARE(refusal(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(inference_ticket({7, 8, 0}, 2, &driver_))),
             std::string("a ticket the hub did not issue"));
    QVERIFY(admits(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(hex)));
    QCOMPARE(refusal(Sender::HubTicket, from(driver_, net::MessageKind::Infer), infer(hex)),
             std::string("an inference ticket that was used before"));
    // Stage 0 takes it from the hub only.
    local_.index = 0;
    roles_.update({listed(self_, 0, 1), listed(driver_, 1, 2)}, {});
    protocol::InferenceTicket t;
    t.run_id = "run";
    t.issued_ms = protocol::unix_now_ms();
    t.expires_ms = t.issued_ms + 5000;
    t.batch = 1;
    t.sequence = 2;
    const std::vector<std::int32_t> tokens{7, 8, 0};
    t.tokens_hash = protocol::inference_tokens_hash(tokens);
    t.route = {self_.public_key(), driver_.public_key()};
    const auto first = test::hub_ticket(t, hub_);
    const std::vector<net::Hop> route{{driver_.public_key(), "tcp://d:1"}};
    QVERIFY(!admits(Sender::HubTicket, from(driver_, net::MessageKind::Infer, 0, 0, 0), infer(first, tokens, route)));
    QVERIFY(admits(Sender::HubTicket, from(hub_, net::MessageKind::Infer, 0, 0, 0), infer(first, tokens, route)));
    t.nonce[0] = 9;
    const auto second = test::hub_ticket(t, hub_);
    QCOMPARE(refusal(Sender::HubTicket, from(hub_, net::MessageKind::Infer, 0, 0, 0),
                     infer(second, tokens, {{stranger_.public_key(), "tcp://x:1"}})),
             std::string("a route the inference ticket does not say"));
  }

  // Evidence only for the checker the hub's current check ticket names, for this node's work.
  void evidenceOnlyForTheTicketsChecker() {
    protocol::CheckTicket t;
    t.run_id = "run";
    t.check_id = 1;
    t.micro_batches = 2;
    t.stage = 1;
    t.worker = self_.public_key();
    t.checker = stranger_.public_key();
    t.issued_ms = protocol::unix_now_ms();
    t.expires_ms = t.issued_ms + protocol::kCheckLifetimeMs;
    const auto fetch = [](const protocol::CheckTicket& ticket, const wallet::KeyPair& signer) {
      return net::CheckFetchRequest{protocol::sign_check_ticket(ticket, signer).to_hex(), 0}.encode();
    };
    QVERIFY(admits(Sender::Checker, from(stranger_, net::MessageKind::CheckFetch), fetch(t, hub_)));
    QCOMPARE(refusal(Sender::Checker, from(replica_, net::MessageKind::CheckFetch), fetch(t, hub_)),
             std::string("a check ticket for another checker"));
    QVERIFY(!admits(Sender::Checker, from(stranger_, net::MessageKind::CheckFetch), fetch(t, stranger_)));  // not the hub's
    QCOMPARE(refusal(Sender::Checker, from(stranger_, net::MessageKind::CheckFetch), net::CheckFetchRequest{"", 0}.encode()),
             std::string("an evidence request without the hub's check ticket"));
    auto other = t;
    other.worker = replica_.public_key();  // someone else's work
    QVERIFY(!admits(Sender::Checker, from(stranger_, net::MessageKind::CheckFetch), fetch(other, hub_)));
    other = t;
    other.run_id = "another-run";
    QVERIFY(!admits(Sender::Checker, from(stranger_, net::MessageKind::CheckFetch), fetch(other, hub_)));
    other = t;
    other.issued_ms -= 3 * protocol::kCheckLifetimeMs;
    other.expires_ms -= 3 * protocol::kCheckLifetimeMs;
    QVERIFY(!admits(Sender::Checker, from(stranger_, net::MessageKind::CheckFetch), fetch(other, hub_)));
  }
};

QTEST_APPLESS_MAIN(TestAuthoriser)
#include "test_authoriser.moc"
