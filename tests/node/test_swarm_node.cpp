// One swarm node in this process, with the test playing its stage-0 neighbour over CurveZMQ: a
// key the hub does not list cannot even connect; garbage frames, an oversized header and NaN
// activations are dropped or refused while the node keeps serving; a good forward payload is
// answered with the gradient and a receipt signed by the node.
#include <QtTest>

#include <atomic>
#include <cstring>
#include <thread>

#include <zmq.hpp>

#include "core/client/hub_client.h"
#include "core/engine/stage.h"
#include "core/hub/hub_service.h"
#include "core/net/endpoint.h"
#include "core/net/swarm_messages.h"
#include "core/node/swarm_node.h"
#include "core/protocol/receipt.h"
#include "core/wallet/encoding.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

protocol::RunManifest two_stage_manifest(const wallet::KeyPair& publisher) {
  auto manifest = test::tiny_two_stage_manifest("node-test");
  manifest.codec = "none";
  manifest.hub_key = publisher.public_key();
  protocol::sign_manifest(manifest, publisher);
  return manifest;
}

wallet::Delegation delegation_for(const wallet::KeyPair& owner, const wallet::KeyPair& node) {
  return wallet::sign_delegation(owner, node.public_key(), wallet::kAnyRun, 4102444800);
}

}  // namespace

class TestSwarmNode : public QObject {
  Q_OBJECT

 private:
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  wallet::KeyPair neighbour_ = wallet::KeyPair::generate();  // the test, as stage 0
  wallet::KeyPair node_key_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  std::unique_ptr<hub::HubService> hub_;
  std::unique_ptr<node::SwarmNode> node_;
  std::atomic<bool> stop_{false};
  std::thread runner_;
  zmq::context_t context_;
  std::unique_ptr<net::Client> client_;
  std::unique_ptr<engine::Stage> stage0_;

  net::MessageHeader forward_header(const model::Payload& activations) const {
    net::MessageHeader h;
    h.kind = net::MessageKind::Forward;
    h.run_id = "node-test";
    h.step = 0;
    h.micro_batch = 0;
    h.stage = 1;
    h.codec = 0;
    for (auto d : activations.shape) h.shape.push_back(static_cast<std::uint64_t>(d));
    return h;
  }

  std::vector<std::uint8_t> forward_payload(const engine::ForwardMessage& message, std::uint64_t request,
                                            const nlohmann::json& extra = nlohmann::json::object()) const {
    net::ForwardRequest forward;
    forward.attempt = 77;
    forward.from = neighbour_.public_key();
    forward.input.batch = message.batch;
    forward.input.sequence = message.sequence;
    forward.input.activations = message.activations.bytes;
    forward.input.tokens = message.tokens;
    auto envelope = forward.encode();
    envelope.meta["request"] = request;
    envelope.meta.update(extra);
    return net::pack(envelope.meta, envelope.blob);
  }

  engine::ForwardMessage stage0_output() {
    engine::ForwardMessage input;
    input.micro_batch = 0;
    input.batch = 2;
    input.sequence = 8;
    for (int i = 0; i < 18; ++i) input.tokens.push_back(40 + i);
    auto result = stage0_->forward(input).output;
    stage0_->discard_step();
    return result;
  }

 private Q_SLOTS:
  void initTestCase() {
    const auto manifest = two_stage_manifest(publisher_);
    hub_ = std::make_unique<hub::HubService>(manifest);
    hub_->start();
    // The test joins first (stage 0), so the node under test serves stage 1.
    client::HubClient as_neighbour(hub_->url());
    protocol::JoinRequest join{delegation_for(owner_, neighbour_), "tcp://127.0.0.1:1", {"cpu", 1ull << 34, 0}};
    QCOMPARE(as_neighbour.join(neighbour_, join), 0);
    as_neighbour.ready(neighbour_);

    node::SwarmNodeOptions options;
    options.hub_url = hub_->url();
    options.data_dir = dir_.filePath("node").toStdString();
    options.threads = 1;
    options.heartbeat_every = 200ms;
    node_ = std::make_unique<node::SwarmNode>(node_key_, delegation_for(owner_, node_key_), options);
    runner_ = std::thread([this] { node_->run(stop_); });
    for (int i = 0; i < 200 && (node_->stage() < 0 || node_->endpoint().empty()); ++i) std::this_thread::sleep_for(50ms);
    QCOMPARE(node_->stage(), 1);
    std::this_thread::sleep_for(1500ms);  // its allowlist has the test's key by now

    engine::StageOptions stage_options;
    stage_options.model = manifest.model;
    stage_options.train = manifest.train;
    stage_options.stage_count = 2;
    stage_options.stage_index = 0;
    stage_options.threads = 1;
    stage0_ = std::make_unique<engine::Stage>(stage_options);
    client_ = std::make_unique<net::Client>(context_, net::curve_keys_from(neighbour_),
                                            net::curve_public_from(node_key_.public_key()), node_->endpoint());
  }

  void cleanupTestCase() {
    stop_ = true;
    if (runner_.joinable()) runner_.join();
    client_.reset();
    node_.reset();
    hub_->stop();
  }

  void unlistedKeyCannotConnect() {
    const auto stranger = wallet::KeyPair::generate();
    net::Client client(context_, net::curve_keys_from(stranger), net::curve_public_from(node_key_.public_key()),
                       node_->endpoint());
    net::MessageHeader ping;
    ping.kind = net::MessageKind::Ping;
    ping.run_id = "node-test";
    const auto payload = net::pack({{"request", 1}});
    QVERIFY(!client.request(ping, payload, 1500ms).has_value());
  }

  void malformedAndOversizedFramesAreDropped() {
    const auto before = node_->stats().malformed;
    // Garbage in place of a header, straight over a CURVE socket with a listed key.
    zmq::socket_t raw(context_, zmq::socket_type::dealer);
    const auto curve = net::curve_keys_from(neighbour_);
    const auto server_key = net::curve_public_from(node_key_.public_key());
    raw.set(zmq::sockopt::linger, 0);
    raw.set(zmq::sockopt::curve_publickey, zmq::const_buffer(curve.public_key.data(), 32));
    raw.set(zmq::sockopt::curve_secretkey, zmq::const_buffer(curve.secret_key.data(), 32));
    raw.set(zmq::sockopt::curve_serverkey, zmq::const_buffer(server_key.data(), 32));
    raw.connect(node_->endpoint());
    raw.send(zmq::str_buffer("not a header"), zmq::send_flags::sndmore);
    raw.send(zmq::str_buffer("payload"), zmq::send_flags::none);
    // A header that claims a huge tensor: refused by the decoder before anything is allocated.
    net::MessageHeader huge;
    huge.kind = net::MessageKind::Forward;
    huge.run_id = "node-test";
    huge.stage = 1;
    huge.shape = {1ull << 40, 1ull << 40};
    const std::vector<std::uint8_t> small(8, 0);
    auto frame = net::encode_header(huge, small);
    raw.send(zmq::buffer(frame), zmq::send_flags::sndmore);
    raw.send(zmq::buffer(small), zmq::send_flags::none);
    for (int i = 0; i < 100 && node_->stats().malformed < before + 2; ++i) std::this_thread::sleep_for(20ms);
    QCOMPARE(node_->stats().malformed, before + 2);
  }

  void nanActivationsAreRefused() {
    auto output = stage0_output();
    const float nan = std::nanf("");
    std::memcpy(output.activations.bytes.data() + 4 * 5, &nan, 4);
    const auto before = node_->stats().rejected;
    const auto reply = client_->request(forward_header(output.activations), forward_payload(output, 11), 10s);
    QVERIFY(reply.has_value());
    QCOMPARE(reply->header.kind, net::MessageKind::Error);
    const auto envelope = net::unpack(reply->payload);
    QVERIFY(envelope.has_value());
    QVERIFY2(envelope->meta.value("message", std::string()).find("NaN") != std::string::npos,
             envelope->meta.dump().c_str());
    QCOMPARE(node_->stats().rejected, before + 1);
  }

  // The driver's "queue" (micro-batches that may be ahead of this one) stretches deadlines; a value
  // outside 0..micro_batches-1, or not a number, is refused before any work, and the node goes on.
  void forwardWithQueueOutOfRangeIsRefused() {
    const auto output = stage0_output();
    const auto micro_batches = two_stage_manifest(publisher_).train.micro_batches;
    std::uint64_t request = 20;
    for (const nlohmann::json& queue : {nlohmann::json(micro_batches), nlohmann::json(-1), nlohmann::json("soon")}) {
      const auto before = node_->stats().rejected;
      const auto reply =
          client_->request(forward_header(output.activations), forward_payload(output, ++request, {{"queue", queue}}), 10s);
      QVERIFY(reply.has_value());
      QCOMPARE(reply->header.kind, net::MessageKind::Error);
      QCOMPARE(node_->stats().rejected, before + 1);
    }
  }

  void goodForwardIsAnsweredWithGradientAndReceipt() {
    const auto output = stage0_output();
    const auto payload = forward_payload(output, 12);
    const auto reply = client_->request(forward_header(output.activations), payload, 10s);
    QVERIFY(reply.has_value());
    const auto envelope = net::unpack(reply->payload);
    QVERIFY(envelope.has_value());
    QCOMPARE(reply->header.kind, net::MessageKind::Backward);
    QCOMPARE(envelope->blob.size(), output.activations.bytes.size());  // d loss / d activations
    QVERIFY(envelope->meta.value("loss", 0.0) > 0.0);
    const auto raw = wallet::from_hex(envelope->meta.value("receipt", std::string()));
    QVERIFY(raw.has_value());
    const auto receipt = protocol::SignedReceipt::decode(*raw);
    QVERIFY(receipt.has_value());
    QVERIFY(protocol::verify_receipt(*receipt));
    QCOMPARE(receipt->receipt.receiver, node_key_.public_key());
    QCOMPARE(receipt->receipt.sender, neighbour_.public_key());
    QCOMPARE(receipt->receipt.direction, protocol::Direction::Forward);
    QVERIFY(receipt->receipt.payload_hash == net::payload_hash(payload));
    QCOMPARE(receipt->receipt.tokens, 16u);
  }
};

QTEST_APPLESS_MAIN(TestSwarmNode)
#include "test_swarm_node.moc"
