// The credentials swarm requests carry (core/protocol): the driver's step ticket, the hub's
// inference ticket and stage assignment. Each survives encode → decode exactly, refuses every
// truncation and trailing byte, has every field covered by its signature (in its own domain) or the
// hub's tags, and its check names why a ticket or assignment that is not for this run, node,
// request or time is refused.
#include <QtTest>

#include "core/net/curve.h"
#include "core/protocol/assignment.h"
#include "core/protocol/inference_ticket.h"
#include "core/protocol/step_ticket.h"
#include "core/protocol/unix_time.h"

using namespace tessera;
using namespace tessera::protocol;

namespace {

template <typename Signed>
void refuses_every_truncation(const Signed& signed_value) {
  const auto bytes = signed_value.encode();
  for (std::size_t n = 0; n < bytes.size(); ++n)
    QVERIFY2(!Signed::decode(std::span(bytes).first(n)), qPrintable(QString("a prefix of %1 bytes decoded").arg(n)));
  auto longer = bytes;
  longer.push_back(0);
  QVERIFY(!Signed::decode(longer));
  const auto back = Signed::decode(bytes);
  QVERIFY(back.has_value());
  QVERIFY(back->encode() == bytes);
  QVERIFY(Signed::from_hex(signed_value.to_hex()).has_value());
  QVERIFY(!Signed::from_hex("zz"));
}

}  // namespace

class TestSwarmCredentials : public QObject {
  Q_OBJECT

  wallet::KeyPair hub_ = wallet::KeyPair::generate();
  wallet::KeyPair driver_ = wallet::KeyPair::generate();
  wallet::KeyPair node_ = wallet::KeyPair::generate();

  StepTicket step_ticket() const {
    const auto other = wallet::KeyPair::generate().public_key();
    return {"run-1", 5, 9000, driver_.public_key(), 4, 1,
            {{{driver_.public_key(), "tcp://10.0.0.1:7000"}}, {{node_.public_key(), "tcp://10.0.0.2:7000"}, {other, "tcp://10.0.0.3:7000"}}}};
  }

  InferenceTicket inference_ticket(std::int64_t now) const {
    InferenceTicket t;
    t.run_id = "run-1";
    t.nonce = {1, 2, 3};
    t.issued_ms = now;
    t.expires_ms = now + 10'000;
    t.batch = 1;
    t.sequence = 3;
    const std::vector<std::int32_t> tokens{5, 6, 7, 0};
    t.tokens_hash = inference_tokens_hash(tokens);
    t.route = {node_.public_key(), driver_.public_key()};
    return t;
  }

  InferenceExpectation inference_expectation(std::int64_t now) const {
    const std::vector<std::int32_t> tokens{5, 6, 7, 0};
    return {"run-1", nullptr, node_.public_key(), 0, 2, 1, 3, inference_tokens_hash(tokens), now};
  }

 private Q_SLOTS:
  void stepTicketRoundTripsAndVerifies() {
    const auto signed_ticket = sign_step_ticket(step_ticket(), driver_);
    refuses_every_truncation(signed_ticket);
    const auto back = SignedStepTicket::decode(signed_ticket.encode());
    QVERIFY(back->ticket == signed_ticket.ticket);
    QVERIFY(back->verify());
    QVERIFY(back->ticket.replica_for(1, 0).key == node_.public_key());
    QCOMPARE(back->ticket.replica_for(1, 0).endpoint, std::string("tcp://10.0.0.2:7000"));
    QVERIFY(back->ticket.replica_for(1, 3).key != node_.public_key());  // 3 mod 2 = 1: the other replica
    auto no_endpoint = step_ticket();
    no_endpoint.replicas[0][0].endpoint.clear();
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, sign_step_ticket(no_endpoint, driver_));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, sign_step_ticket(step_ticket(), node_));  // only its driver signs it
  }

  // Changing any field after signing breaks the signature; so does another domain's signature.
  void stepTicketSignatureCoversEveryField() {
    const auto good = sign_step_ticket(step_ticket(), driver_);
    const std::vector<std::function<void(StepTicket&)>> changes{
        [](StepTicket& t) { t.run_id = "run-2"; },       [](StepTicket& t) { t.step += 1; },
        [](StepTicket& t) { t.attempt += 1; },           [](StepTicket& t) { t.micro_batches += 1; },
        [](StepTicket& t) { t.queue += 1; },             [](StepTicket& t) { std::swap(t.replicas[1][0], t.replicas[1][1]); },
        [](StepTicket& t) { t.replicas[1].pop_back(); }, [&](StepTicket& t) { t.replicas[0][0].key = node_.public_key(); },
        [](StepTicket& t) { t.replicas[1][0].endpoint = "tcp://10.9.9.9:1"; },
    };
    for (const auto& change : changes) {
      auto forged = good;
      change(forged.ticket);
      QVERIFY(!forged.verify());
    }
    auto other_domain = good;
    other_domain.signature = driver_.sign(wallet::SignatureDomain::Receipt, good.ticket.canonical_bytes());
    QVERIFY(!other_domain.verify());
  }

  void assignmentChecksRunNodeStageTimeAndSigner() {
    const auto now = unix_now_ms();
    const StageAssignment assignment{"run-1", node_.public_key(), 1, now, now + kAssignmentLifetimeMs};
    const auto signed_assignment = sign_assignment(assignment, hub_);
    refuses_every_truncation(signed_assignment);
    const AssignmentExpectation expected{"run-1", hub_.public_key(), node_.public_key(), 1, now};
    QVERIFY(!check_assignment(signed_assignment, expected));
    auto other = expected;
    other.run_id = "run-2";
    QCOMPARE(*check_assignment(signed_assignment, other), std::string("an assignment for another run"));
    other = expected;
    other.node_key = driver_.public_key();
    QCOMPARE(*check_assignment(signed_assignment, other), std::string("an assignment for another node"));
    other = expected;
    other.stage = 0;
    QCOMPARE(*check_assignment(signed_assignment, other), std::string("an assignment to stage 1"));
    other = expected;
    other.now_ms = now + kAssignmentLifetimeMs + kClockSkewMs + 1;
    QCOMPARE(*check_assignment(signed_assignment, other), std::string("an expired assignment"));
    other.now_ms = now - kClockSkewMs - 1;  // from the future
    QCOMPARE(*check_assignment(signed_assignment, other), std::string("an expired assignment"));
    other = expected;
    other.hub_key = driver_.public_key();
    QCOMPARE(*check_assignment(signed_assignment, other), std::string("an assignment the hub did not sign"));
    auto forged = signed_assignment;
    forged.assignment.expires_ms += 1000;
    QCOMPARE(*check_assignment(forged, expected), std::string("an assignment the hub did not sign"));
    const auto forever = sign_assignment({"run-1", node_.public_key(), 1, now, now + 3'600'000}, hub_);
    QCOMPARE(*check_assignment(forever, expected), std::string("an assignment with an impossible lifetime"));
  }

  // The hub's side and a node's side of the ticket key agree; no other pair of keys gives it.
  void ticketKeysAgreeOnlyBetweenTheHubAndTheNode() {
    const auto hub = net::curve_keys_from(hub_);
    const auto node = net::curve_keys_from(node_);
    const auto other = net::curve_keys_from(driver_);
    const auto hub_side = hub_ticket_key(hub.public_key, hub.secret_key, node.public_key);
    QVERIFY(hub_side.equals(node_ticket_key(node.public_key, node.secret_key, hub.public_key).span()));
    QVERIFY(!hub_side.equals(node_ticket_key(other.public_key, other.secret_key, hub.public_key).span()));
    QVERIFY(!hub_side.equals(hub_ticket_key(hub.public_key, hub.secret_key, other.public_key).span()));
    // The node's transmit key is not the hub's: a node cannot pose as the hub towards itself either way.
    QVERIFY(!hub_side.equals(hub_ticket_key(node.public_key, node.secret_key, hub.public_key).span()));
  }

  void inferenceTicketChecksRequestNodeTimeAndIssuer() {
    const auto now = unix_now_ms();
    const auto hub = net::curve_keys_from(hub_);
    const auto node = net::curve_keys_from(node_);
    const auto for_node = hub_ticket_key(hub.public_key, hub.secret_key, node.public_key);
    const auto for_driver = hub_ticket_key(hub.public_key, hub.secret_key, net::curve_public_from(driver_.public_key()));
    const auto ticket = authenticate_inference_ticket(inference_ticket(now), {&for_node, &for_driver});
    refuses_every_truncation(ticket);
    const auto node_key = node_ticket_key(node.public_key, node.secret_key, hub.public_key);
    auto expected = inference_expectation(now);
    expected.key = &node_key;
    QVERIFY(!check_inference_ticket(ticket, expected));
    auto other = expected;
    other.self = driver_.public_key();  // stage 0 is another node
    QCOMPARE(*check_inference_ticket(ticket, other), std::string("a ticket for another node"));
    other = expected;
    const std::vector<std::int32_t> other_tokens{5, 6, 8, 0};
    other.tokens_hash = inference_tokens_hash(other_tokens);
    QCOMPARE(*check_inference_ticket(ticket, other), std::string("a ticket for other tokens"));
    other = expected;
    other.sequence = 2;
    QCOMPARE(*check_inference_ticket(ticket, other), std::string("a ticket for other tokens"));
    other = expected;
    other.stages = 3;
    QCOMPARE(*check_inference_ticket(ticket, other), std::string("a ticket whose route does not cover the run's stages"));
    other = expected;
    other.now_ms = now + 10'000 + kClockSkewMs + 1;
    QCOMPARE(*check_inference_ticket(ticket, other), std::string("an expired ticket"));
    // A node's own key makes its own tag and no other: the next stage's tag is not its to forge.
    auto forged = ticket;
    forged.ticket.nonce[0] ^= 1;  // a fresh nonce to replay under
    QCOMPARE(*check_inference_ticket(forged, expected), std::string("a ticket the hub did not issue"));
    const auto someone = net::curve_keys_from(wallet::KeyPair::generate());
    const auto not_the_hubs = node_ticket_key(node.public_key, node.secret_key, someone.public_key);
    other = expected;
    other.key = &not_the_hubs;
    QCOMPARE(*check_inference_ticket(ticket, other), std::string("a ticket the hub did not issue"));
    auto swapped = ticket;
    std::swap(swapped.tags[0], swapped.tags[1]);
    QCOMPARE(*check_inference_ticket(swapped, expected), std::string("a ticket the hub did not issue"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, authenticate_inference_ticket(inference_ticket(now), {&for_node}));
  }

  // The hash binds the token ids in order, as they travel.
  void tokensHashBindsEveryToken() {
    const std::vector<std::int32_t> a{1, 2, 3}, b{1, 3, 2}, c{1, 2, 3, 0};
    QVERIFY(inference_tokens_hash(a) == inference_tokens_hash(a));
    QVERIFY(inference_tokens_hash(a) != inference_tokens_hash(b));
    QVERIFY(inference_tokens_hash(a) != inference_tokens_hash(c));
    const std::vector<std::uint8_t> layout{7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0};
    QVERIFY(inference_tokens_hash(a, layout) != inference_tokens_hash(a));  // a batched request's sequences are bound
    QVERIFY(inference_tokens_hash(a, {}) == inference_tokens_hash(a));
  }
};

QTEST_APPLESS_MAIN(TestSwarmCredentials)
#include "test_swarm_credentials.moc"
