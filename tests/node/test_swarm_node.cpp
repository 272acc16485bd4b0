// One swarm node in this process (stage 1 of 2), with the test playing its stage-0 neighbour, which
// is also the step driver, over CurveZMQ: a key the hub does not list cannot even connect; garbage
// frames, an oversized header and NaN activations are dropped or refused while the node keeps
// serving; a good forward payload is answered with the gradient and a receipt signed by the node.
// Two more members the hub lists play hostile peers (docs/swarm.md "Who may send what"): a stage-0
// member that is not the driver, whose Forwards, Aborts, Steps, Pings and Reduces start, stop and
// change nothing, and which gets no state, no gradient and no logits; and a member of the node's
// own stage, which does get the state and the gradient. This hub signs no assignments, so the
// node goes by the hub's peer list for its replicas (authoriser.h).
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
#include "core/node/swarm/slot_digests.h"
#include "core/node/swarm_node.h"
#include "core/protocol/assignment.h"
#include "core/protocol/inference_ticket.h"
#include "core/protocol/payload_digest.h"
#include "core/protocol/receipt.h"
#include "core/protocol/step_ticket.h"
#include "core/protocol/unix_time.h"
#include "core/wallet/encoding.h"
#include "tests/node/hub_ticket.h"
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
  wallet::KeyPair stranger_ = wallet::KeyPair::generate();  // a stage-0 member, not the driver
  wallet::KeyPair replica_ = wallet::KeyPair::generate();   // a member of the node's stage
  QTemporaryDir dir_;
  std::unique_ptr<hub::HubService> hub_;
  std::unique_ptr<node::SwarmNode> node_;
  std::atomic<bool> stop_{false};
  std::thread runner_;
  zmq::context_t context_;
  std::unique_ptr<net::Client> client_;           // the driver's
  std::unique_ptr<net::Client> stranger_client_;
  std::unique_ptr<net::Client> replica_client_;
  std::unique_ptr<engine::Stage> stage0_;

  static net::MessageHeader header(net::MessageKind kind, std::uint64_t step = 0) {
    net::MessageHeader h;
    h.kind = kind;
    h.run_id = "node-test";
    h.step = step;
    h.stage = 1;
    return h;
  }

  net::MessageHeader forward_header(const model::Payload& activations) const {
    auto h = header(net::MessageKind::Forward);
    for (auto d : activations.shape) h.shape.push_back(static_cast<std::uint64_t>(d));
    return h;
  }

  // The driver's ticket for `attempt` of step 0: micro-batches from it (stage 0) to the node.
  std::string ticket(std::uint64_t attempt, int queue = 0, const wallet::KeyPair* signer = nullptr) const {
    const auto& driver = signer ? *signer : neighbour_;
    protocol::StepTicket t{"node-test", 0, attempt, driver.public_key(),
                           static_cast<std::uint32_t>(two_stage_manifest(publisher_).train.micro_batches),
                           static_cast<std::uint32_t>(queue),
                           {{{driver.public_key(), "tcp://127.0.0.1:1"}}, {{node_key_.public_key(), node_->endpoint()}}}};
    return protocol::sign_step_ticket(t, driver).to_hex();
  }

  std::vector<std::uint8_t> forward_payload(const engine::ForwardMessage& message, std::uint64_t request,
                                            const nlohmann::json& extra = nlohmann::json::object(),
                                            std::uint64_t attempt = 77, const wallet::KeyPair* sender = nullptr) const {
    net::ForwardRequest forward;
    forward.attempt = attempt;
    forward.from = (sender ? *sender : neighbour_).public_key();
    forward.ticket = ticket(attempt);
    forward.input.batch = message.batch;
    forward.input.sequence = message.sequence;
    forward.input.activations = message.activations.bytes;
    forward.input.tokens = message.tokens;
    auto envelope = forward.encode();
    envelope.meta["request"] = request;
    if (extra.is_object()) envelope.meta.update(extra);
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

  static std::vector<std::uint8_t> request_payload(const net::Envelope& message, std::uint64_t request) {
    auto meta = message.meta;
    meta["request"] = request;
    return net::pack(meta, message.blob);
  }

  // One request as `client`; the answer's kind (its envelope in `answer`, if wanted).
  static net::MessageKind ask(net::Client& client, const net::MessageHeader& h, const net::Envelope& message,
                              net::Envelope* answer = nullptr) {
    static std::uint64_t request = 1000;
    const auto reply = client.request(h, request_payload(message, ++request), 10s);
    if (!reply) return net::MessageKind::Receipt;  // no answer: a kind no request is answered with
    if (answer) *answer = net::unpack(reply->payload).value_or(net::Envelope{});
    return reply->header.kind;
  }

  // The driver begins `attempt` with micro-batch 0: the node answers with its gradient.
  net::Message begin_attempt(std::uint64_t attempt) {
    const auto output = stage0_output();
    const auto reply = client_->request(forward_header(output.activations), forward_payload(output, attempt, {}, attempt), 10s);
    if (!reply || reply->header.kind != net::MessageKind::Backward) throw std::runtime_error("the driver's forward failed");
    return *reply;
  }

  void end_attempt(std::uint64_t attempt) {
    QCOMPARE(ask(*client_, header(net::MessageKind::Abort), net::AttemptRequest{attempt}.encode()), net::MessageKind::Ack);
  }

  std::unique_ptr<net::Client> client_as(const wallet::KeyPair& key) {
    return std::make_unique<net::Client>(context_, net::curve_keys_from(key), net::curve_public_from(node_key_.public_key()),
                                         node_->endpoint());
  }

 private Q_SLOTS:
  void initTestCase() {
    const auto manifest = two_stage_manifest(publisher_);
    hub::HubOptions hub_options;
    hub_options.heartbeat_timeout = 10min;  // the test's members do not heartbeat
    hub_ = std::make_unique<hub::HubService>(manifest, hub_options);
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
    // Two more members, who never get ready: the least-served stages are 0, then 1.
    QCOMPARE(client::HubClient(hub_->url()).join(stranger_, {delegation_for(owner_, stranger_), "tcp://127.0.0.1:2", {"cpu", 1ull << 34, 0}}), 0);
    QCOMPARE(client::HubClient(hub_->url()).join(replica_, {delegation_for(owner_, replica_), "tcp://127.0.0.1:3", {"cpu", 1ull << 34, 0}}), 1);
    std::this_thread::sleep_for(1500ms);  // its allowlist and peer list have the test's keys by now

    engine::StageOptions stage_options;
    stage_options.model = manifest.model;
    stage_options.train = manifest.train;
    stage_options.stage_count = 2;
    stage_options.stage_index = 0;
    stage_options.threads = 1;
    stage0_ = std::make_unique<engine::Stage>(stage_options);
    client_ = client_as(neighbour_);
    stranger_client_ = client_as(stranger_);
    replica_client_ = client_as(replica_);
  }

  void cleanupTestCase() {
    stop_ = true;
    if (runner_.joinable()) runner_.join();
    client_.reset();
    stranger_client_.reset();
    replica_client_.reset();
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
    const auto reply = client_->request(forward_header(output.activations), forward_payload(output, 11, {}, 101), 10s);
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
    std::uint64_t request = 20, attempt = 101;
    for (const nlohmann::json& queue : {nlohmann::json(micro_batches), nlohmann::json(-1), nlohmann::json("soon")}) {
      const auto before = node_->stats().rejected;
      // The ticket says the queue too: out of range, it is the node's range check that refuses it.
      nlohmann::json extra{{"queue", queue}};
      if (queue.is_number_integer() && queue.get<int>() >= 0) extra["ticket"] = ticket(++attempt, queue.get<int>());
      const auto reply = client_->request(forward_header(output.activations),
                                          forward_payload(output, ++request, extra, attempt), 10s);
      QVERIFY(reply.has_value());
      QCOMPARE(reply->header.kind, net::MessageKind::Error);
      QCOMPARE(node_->stats().rejected, before + 1);
    }
  }

  void goodForwardIsAnsweredWithGradientAndReceipt() {
    const auto output = stage0_output();
    const auto payload = forward_payload(output, 12, {}, 105);
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
    // The content digest of what was sent (protocol/payload_digest.h), not the frame's hash.
    QVERIFY(receipt->receipt.payload_hash == node::swarm::forward_digest_of(output.activations, output.tokens));
    QVERIFY(receipt->receipt.payload_hash != net::payload_hash(payload));
    QCOMPARE(receipt->receipt.tokens, 16u);
    end_attempt(105);
  }

  // A member that is not the driver cannot start, stop, commit or redirect an attempt: its
  // Forwards (without a ticket, with one it signed, with the driver's copied), Aborts, Step (any
  // norm), Reduce and a Ping with an absurd step are all refused, and the driver's attempt goes on
  // with its micro-batch's gradient intact.
  void nonDriverRequestsChangeNothing() {
    const auto begun = begin_attempt(110);
    const auto unauthorised = node_->stats().unauthorised;
    const auto output = stage0_output();
    const auto h = forward_header(output.activations);
    const std::vector<std::vector<std::uint8_t>> forwards{
        forward_payload(output, 1, {{"ticket", ""}}, 111, &stranger_),
        forward_payload(output, 2, {{"ticket", ticket(111, 0, &stranger_)}}, 111, &stranger_),
        forward_payload(output, 3, {{"ticket", ticket(110)}}, 110, &stranger_),
        forward_payload(output, 4, {{"ticket", ticket(110)}}, 110, &neighbour_)};  // claiming to be the driver
    for (const auto& payload : forwards) {
      const auto reply = stranger_client_->request(h, payload, 10s);
      QVERIFY(reply.has_value());
      QCOMPARE(reply->header.kind, net::MessageKind::Error);
    }
    auto& s = *stranger_client_;
    QCOMPARE(ask(s, header(net::MessageKind::Abort), net::AttemptRequest{110}.encode()), net::MessageKind::Error);
    QCOMPARE(ask(s, header(net::MessageKind::Abort), net::AttemptRequest{111}.encode()), net::MessageKind::Error);
    QCOMPARE(ask(s, header(net::MessageKind::Step), net::StepRequest{110, 1e-9, 1.0, 1.0, 16}.encode()), net::MessageKind::Error);
    QCOMPARE(ask(s, header(net::MessageKind::Ping, UINT64_MAX), net::Envelope{}), net::MessageKind::Error);
    const net::ReduceRequest stray_reduce{110, {{node_key_.public_key(), node_->endpoint()}}, false, {}};
    QCOMPARE(ask(s, header(net::MessageKind::Reduce), stray_reduce.encode()), net::MessageKind::Error);
    QCOMPARE(node_->stats().unauthorised, unauthorised + 9);

    // The driver's Reduce finds the attempt as it was: the micro-batch it owes a receipt for, and
    // a gradient (the norm of a discarded or stepped one would be 0, or the receipt not owed).
    protocol::Receipt r;
    r.run_id = "node-test";
    r.micro_batch = 0;
    r.direction = protocol::Direction::Backward;
    r.sender = node_key_.public_key();
    r.receiver = neighbour_.public_key();
    r.stage = 1;
    r.tokens = 16;
    const auto gradient = net::unpack(begun.payload).value_or(net::Envelope{}).blob;
    const std::vector<std::int64_t> shape(begun.header.shape.begin(), begun.header.shape.end());
    r.payload_hash = protocol::backward_digest(begun.header.codec, shape, gradient);  // what the node sent
    const net::ReduceRequest reduce{110, {{node_key_.public_key(), node_->endpoint()}}, false,
                                    {wallet::to_hex(protocol::sign_receipt(r, neighbour_).encode())}};
    net::Envelope norm;
    QCOMPARE(ask(*client_, header(net::MessageKind::Reduce), reduce.encode(), &norm), net::MessageKind::GradNorm);
    QVERIFY(net::GradNormReply::decode(norm).norm_squared > 0);
    net::Envelope pong;
    QCOMPARE(ask(*client_, header(net::MessageKind::Ping), net::Envelope{}, &pong), net::MessageKind::Pong);
    QCOMPARE(net::PongReply::decode(pong).step, std::uint64_t(0));  // no Step was taken
    end_attempt(110);
  }

  // Aborts a non-driver sends for attempts the driver has not started yet block nothing.
  void futureAbortsFromANonDriverBlockNothing() {
    for (std::uint64_t attempt = 120; attempt < 130; ++attempt)
      QCOMPARE(ask(*stranger_client_, header(net::MessageKind::Abort), net::AttemptRequest{attempt}.encode()),
               net::MessageKind::Error);
    begin_attempt(120);
    end_attempt(120);
  }

  // State and gradients go to a member of the node's stage only.
  void stateAndGradientsOnlyForTheStagesReplicas() {
    begin_attempt(130);
    const auto unauthorised = node_->stats().unauthorised;
    net::Envelope answer;
    QCOMPARE(ask(*stranger_client_, header(net::MessageKind::GradFetch), net::GradFetchRequest{130, ""}.encode(), &answer),
             net::MessageKind::Error);
    QVERIFY(answer.blob.empty());
    QCOMPARE(ask(*stranger_client_, header(net::MessageKind::StateRequest), net::StateRequest{}.encode(), &answer),
             net::MessageKind::Error);
    QVERIFY(answer.blob.empty());
    // An assignment to stage 1 it made itself: not the hub's.
    const auto forged = protocol::sign_assignment(
        {"node-test", stranger_.public_key(), 1, protocol::unix_now_ms(), protocol::unix_now_ms() + 30'000}, stranger_);
    QCOMPARE(ask(*stranger_client_, header(net::MessageKind::StateRequest), net::StateRequest{0, 0, forged.to_hex()}.encode()),
             net::MessageKind::Error);
    QCOMPARE(node_->stats().unauthorised, unauthorised + 3);

    QCOMPARE(ask(*replica_client_, header(net::MessageKind::GradFetch), net::GradFetchRequest{130, ""}.encode(), &answer),
             net::MessageKind::Gradient);
    QVERIFY(!answer.blob.empty() && answer.blob.size() % 4 == 0);
    QCOMPARE(ask(*replica_client_, header(net::MessageKind::StateRequest), net::StateRequest{}.encode(), &answer),
             net::MessageKind::StateChunk);
    QVERIFY(net::StateChunk::decode(answer).total > 0);
    end_attempt(130);
  }

  // Logits only for an Infer with the hub's ticket for these tokens and this route, from the
  // route's previous node, once.
  void inferenceOnlyWithTheHubsTicket() {
    const auto output = stage0_output();
    auto h = header(net::MessageKind::Infer);
    for (auto d : output.activations.shape) h.shape.push_back(static_cast<std::uint64_t>(d));
    net::InferRequest request;
    request.input.batch = output.batch;
    request.input.sequence = output.sequence;
    request.input.activations = output.activations.bytes;
    request.input.tokens = output.tokens;
    const auto signed_by = [&](const wallet::KeyPair& signer, std::uint8_t nonce) {
      protocol::InferenceTicket t;
      t.run_id = "node-test";
      t.nonce[0] = nonce;
      t.issued_ms = protocol::unix_now_ms();
      t.expires_ms = t.issued_ms + 10'000;
      t.batch = static_cast<std::uint32_t>(output.batch);
      t.sequence = static_cast<std::uint32_t>(output.sequence);
      t.tokens_hash = protocol::inference_tokens_hash(output.tokens);
      t.route = {neighbour_.public_key(), node_key_.public_key()};
      return test::hub_ticket(t, signer);
    };
    net::Envelope answer;
    QCOMPARE(ask(*client_, h, request.encode(), &answer), net::MessageKind::Error);  // no ticket
    request.ticket = signed_by(neighbour_, 1);
    QCOMPARE(ask(*client_, h, request.encode(), &answer), net::MessageKind::Error);  // not the hub's key
    QVERIFY(answer.blob.empty());
    request.ticket = signed_by(publisher_, 2);  // the run's hub key
    QCOMPARE(ask(*stranger_client_, h, request.encode(), &answer), net::MessageKind::Error);  // off its route
    QCOMPARE(ask(*client_, h, request.encode(), &answer), net::MessageKind::Logits);
    QVERIFY(!answer.blob.empty());
    QCOMPARE(ask(*client_, h, request.encode(), &answer), net::MessageKind::Error);  // once
    QVERIFY(answer.blob.empty());
  }

  // What the tests above exchanged with the node, in its status by kind, and in its heartbeats.
  void trafficIsCountedByKindAndReported() {
    using net::TrafficKind;
    const auto traffic = node_->status().traffic;
    QVERIFY(traffic.bytes[TrafficKind::boundary_forward].received > 0);
    QVERIFY(traffic.bytes[TrafficKind::boundary_backward].sent > 0);  // the gradients it answered with
    QVERIFY(traffic.bytes[TrafficKind::state_transfer].sent > 0);
    QVERIFY(traffic.bytes[TrafficKind::inference].received > 0);
    QVERIFY(traffic.bytes[TrafficKind::control].sent > 0);  // heartbeats and peer lists, over HTTP
    QVERIFY(traffic.bytes[TrafficKind::control].received > 0);
    QCOMPARE(traffic.tokens, std::uint64_t{0});  // no step was committed
    const auto json = node_->status().to_json();
    QVERIFY(json["traffic"]["bytes_per_token"].is_null());
    QVERIFY(json["traffic"]["bytes"]["total"]["received"].get<std::uint64_t>() > 0);
    const auto reported = [&] {
      for (const auto& report : hub_->traffic_reports())
        if (report.node == node_key_.public_key()) return report.report.bytes[TrafficKind::boundary_forward].received;
      return std::uint64_t{0};
    };
    QTRY_VERIFY_WITH_TIMEOUT(reported() > 0, 5000);
  }
};

QTEST_APPLESS_MAIN(TestSwarmNode)
#include "test_swarm_node.moc"
