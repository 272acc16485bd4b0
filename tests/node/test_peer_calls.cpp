// PeerCalls' pipelined links keep only replies to requests that are outstanding on the connection
// they were sent on: a peer answering request ids it was never asked (or answering twice, or after
// the request was given up) cannot grow the node's memory, and an Error naming another peer is a
// report by the answering peer, not this node's own finding.
#include <QtTest>

#include <zmq.hpp>

#include "core/net/endpoint.h"
#include "core/net/zap.h"
#include "core/node/swarm/peer_calls.h"

using namespace tessera;
using namespace tessera::node::swarm;
using namespace std::chrono_literals;

class TestPeerCalls : public QObject {
  Q_OBJECT

  wallet::KeyPair server_key_ = wallet::KeyPair::generate();
  wallet::KeyPair client_key_ = wallet::KeyPair::generate();
  zmq::context_t context_{1};
  std::shared_ptr<net::PeerAllowlist> allowlist_ = std::make_shared<net::PeerAllowlist>();
  std::unique_ptr<net::ZapHandler> zap_;
  net::CurveKeyPair server_curve_ = net::curve_keys_from(server_key_);
  net::CurveKeyPair client_curve_ = net::curve_keys_from(client_key_);
  std::unique_ptr<net::Server> server_;

  static net::MessageHeader header(net::MessageKind kind) {
    net::MessageHeader h;
    h.kind = kind;
    h.run_id = "run";
    return h;
  }

  void answer(const net::Incoming& in, const nlohmann::json& request_id, net::MessageKind kind = net::MessageKind::Ack) {
    QVERIFY(server_->reply(in, header(kind), net::pack({{"request", request_id}}), 2s));
  }

  // Waits until the link has collected what the server sent (at most a few seconds).
  static void collect_for(PeerCalls::Links& links, PeerCalls::Links::Link& link, std::chrono::milliseconds period) {
    const auto until = Clock::now() + period;
    while (Clock::now() < until) {
      links.collect(link);
      std::this_thread::sleep_for(20ms);
    }
  }

 private Q_SLOTS:
  void initTestCase() {
    allowlist_->allow(client_curve_.public_key);
    zap_ = std::make_unique<net::ZapHandler>(context_, allowlist_);
    server_ = std::make_unique<net::Server>(context_, server_curve_, "tcp://127.0.0.1:0");
  }

  void onlyOutstandingRepliesAreKept() {
    PeerCalls calls(context_, client_curve_, client_key_.public_key(), nullptr);
    PeerCalls::Links links(calls);
    auto& link = links.open({server_key_.public_key(), server_->endpoint()});
    Sent sent;
    const auto first = links.post(link, header(net::MessageKind::Ping), net::Envelope{}, 2s, sent);
    const auto second = links.post(link, header(net::MessageKind::Ping), net::Envelope{}, 2s, sent);
    QCOMPARE(link.outstanding.size(), std::size_t(2));
    for (int i = 0; i < 2; ++i) {
      const auto in = server_->receive(5s);
      QVERIFY(in.has_value());
      if (i == 0) {
        // Unasked ids, a non-numeric one, then the answers (the second one twice).
        for (std::uint64_t id = 1000; id < 1100; ++id) answer(*in, second + id);
        answer(*in, "x");
        answer(*in, 0);
        answer(*in, first);
      } else {
        answer(*in, second);
        answer(*in, second);
      }
    }
    collect_for(links, link, 1s);
    QCOMPARE(link.early.size(), std::size_t(2));
    QVERIFY(link.early.count(first) && link.early.count(second));
    const auto reply = links.await(link, first, Clock::now() + 1s, net::MessageKind::Ack);
    QCOMPARE(reply.header.kind, net::MessageKind::Ack);
    QCOMPARE(link.outstanding.size(), std::size_t(1));
    // Given up on: its answer, had it come late, is dropped.
    link.forget(second);
    QVERIFY(link.early.empty() && link.outstanding.empty());
    QVERIFY(!link.accept(second, Reply{}));
    QVERIFY(link.early.empty());
  }

  void anErrorNamingAnotherPeerIsAReport() {
    const net::Hop hop{server_key_.public_key(), "tcp://127.0.0.1:9"};
    const auto other = wallet::KeyPair::generate().public_key();
    Reply accusation{header(net::MessageKind::Error), net::ErrorReply{"peer failed", other}.encode()};
    try {
      expect(hop, accusation, net::MessageKind::Backward);
      QFAIL("an Error was taken as an answer");
    } catch (const PeerFailure& failure) {
      QVERIFY(failure.peer == other);
      QVERIFY(failure.reported_by && *failure.reported_by == hop.key);
    }
    Reply own{header(net::MessageKind::Error), net::ErrorReply{"refused", std::nullopt}.encode()};
    try {
      expect(hop, own, net::MessageKind::Backward);
      QFAIL("an Error was taken as an answer");
    } catch (const PeerFailure& failure) {
      QVERIFY(failure.peer == hop.key);
      QVERIFY(!failure.reported_by);
    }
    Reply wrong{header(net::MessageKind::Pong), net::PongReply{}.encode()};
    QVERIFY_THROWS_EXCEPTION(PeerFailure, expect(hop, wrong, net::MessageKind::Backward));
  }
};

QTEST_APPLESS_MAIN(TestPeerCalls)
#include "test_peer_calls.moc"
