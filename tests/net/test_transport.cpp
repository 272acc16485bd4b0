// CurveZMQ links on loopback: listed peers exchange messages, unlisted peers are refused during
// the handshake, malformed frames are dropped while the receiver keeps serving, and every call
// returns within its timeout when the other side is silent or gone.
#include <QtTest>

#include <chrono>
#include <thread>

#include <zmq.hpp>

#include "core/net/endpoint.h"
#include "core/net/zap.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

net::MessageHeader header_for(net::MessageKind kind, std::uint32_t micro_batch) {
  net::MessageHeader header;
  header.kind = kind;
  header.run_id = "test-run";
  header.step = 1;
  header.micro_batch = micro_batch;
  header.dtype = model::DType::float32;
  header.shape = {2, 2};
  return header;
}

const std::vector<std::uint8_t> kPayload(16, 0xAB);

struct Node {
  wallet::KeyPair key = wallet::KeyPair::generate();
  net::CurveKeyPair curve = net::curve_keys_from(key);
};

}  // namespace

class TestTransport : public QObject {
  Q_OBJECT

 private:
  zmq::context_t context_;
  std::shared_ptr<net::PeerAllowlist> allowlist_ = std::make_shared<net::PeerAllowlist>();
  std::unique_ptr<net::ZapHandler> zap_;
  Node server_node_;
  Node listed_;
  Node stranger_;
  std::unique_ptr<net::Server> server_;

 private Q_SLOTS:
  void initTestCase() {
    zap_ = std::make_unique<net::ZapHandler>(context_, allowlist_);
    allowlist_->allow(listed_.curve.public_key);
    server_ = std::make_unique<net::Server>(context_, server_node_.curve, "tcp://127.0.0.1:0");
    QVERIFY(server_->endpoint().rfind("tcp://127.0.0.1:", 0) == 0);
    QVERIFY(server_->endpoint() != "tcp://127.0.0.1:0");
  }

  void cleanupTestCase() {
    server_.reset();
    zap_.reset();
  }

  void curveKeyIsTheNodeKeyConverted() {
    QCOMPARE(net::curve_public_from(listed_.key.public_key()), listed_.curve.public_key);
    QVERIFY(listed_.curve.secret_key.size() == 32);
  }

  void listedPeerExchangesMessages() {
    net::Client client(context_, listed_.curve, server_node_.curve.public_key, server_->endpoint());
    std::thread responder([&] {
      auto incoming = server_->receive(5s);
      if (!incoming) return;
      auto reply = incoming->message.header;
      reply.kind = net::MessageKind::Receipt;
      server_->reply(*incoming, reply, incoming->message.payload, 2s);
    });
    const auto reply = client.request(header_for(net::MessageKind::Forward, 3), kPayload, 5s);
    responder.join();
    QVERIFY(reply.has_value());
    QCOMPARE(reply->header.kind, net::MessageKind::Receipt);
    QCOMPARE(reply->header.micro_batch, 3u);
    QCOMPARE(reply->payload, kPayload);
  }

  void serverSeesWhoSent() {
    net::Client client(context_, listed_.curve, server_node_.curve.public_key, server_->endpoint());
    QVERIFY(client.send(header_for(net::MessageKind::Ping, 0), {}, 5s));
    const auto incoming = server_->receive(5s);
    QVERIFY(incoming.has_value());
    QCOMPARE(incoming->peer, listed_.curve.public_key);
  }

  void unlistedPeerIsRefusedBeforeAnyMessage() {
    const auto refused_before = zap_->refused();
    const auto received_before = server_->stats().received;
    net::Client client(context_, stranger_.curve, server_node_.curve.public_key, server_->endpoint());
    client.send(header_for(net::MessageKind::Forward, 1), kPayload, 500ms);  // never connects
    QVERIFY(!server_->receive(1s).has_value());
    QTRY_VERIFY_WITH_TIMEOUT(zap_->refused() > refused_before, 5000);
    QCOMPARE(server_->stats().received, received_before);
  }

  void malformedFramesAreDroppedAndCounted() {
    // A listed peer speaking garbage through a raw socket: the server drops it and keeps serving.
    zmq::socket_t raw(context_, zmq::socket_type::dealer);
    raw.set(zmq::sockopt::linger, 0);
    raw.set(zmq::sockopt::curve_publickey, zmq::const_buffer(listed_.curve.public_key.data(), 32));
    raw.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(listed_.curve.secret_key.data(), 32));
    raw.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(server_node_.curve.public_key.data(), 32));
    raw.connect(server_->endpoint());
    const auto malformed_before = server_->stats().malformed;
    raw.send(zmq::str_buffer("not a header"), zmq::send_flags::sndmore);
    raw.send(zmq::str_buffer("payload"), zmq::send_flags::none);
    raw.send(zmq::str_buffer("one frame only"), zmq::send_flags::none);
    auto frame = net::encode_header(header_for(net::MessageKind::Forward, 9), kPayload);
    raw.send(zmq::buffer(frame), zmq::send_flags::sndmore);
    raw.send(zmq::str_buffer("a different payload"), zmq::send_flags::none);  // hash mismatch
    raw.send(zmq::buffer(frame), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(kPayload), zmq::send_flags::none);  // finally a good one
    const auto incoming = server_->receive(5s);
    QVERIFY(incoming.has_value());
    QCOMPARE(incoming->message.header.micro_batch, 9u);
    QCOMPARE(server_->stats().malformed, malformed_before + 3);
  }

  void silentOrMissingPeersTimeOut() {
    // Nothing listens on this server key's endpoint any more once it is destroyed.
    Node gone;
    std::string endpoint;
    {
      net::Server temporary(context_, gone.curve, "tcp://127.0.0.1:0");
      endpoint = temporary.endpoint();
    }
    net::Client client(context_, listed_.curve, gone.curve.public_key, endpoint);
    const auto start = std::chrono::steady_clock::now();
    QVERIFY(!client.request(header_for(net::MessageKind::Ping, 0), {}, 300ms).has_value());
    QVERIFY(!server_->receive(200ms).has_value());
    QVERIFY(std::chrono::steady_clock::now() - start < 5s);  // bounded, not a hang
  }
};

QTEST_APPLESS_MAIN(TestTransport)
#include "test_transport.moc"
