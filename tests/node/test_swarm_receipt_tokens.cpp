// Nodes check the tokens of every receipt they accept (docs/swarm.md "Receipts and credit"): a
// neighbour that signs for fewer tokens than the run's micro_batch_size × context (here 0, which
// would deny the sender its credit) fails the attempt like any wrong receipt, and the driver
// leaves that neighbour out, naming it and the reason. The driver is a real SwarmNode (stage 0 of
// 2); stage 1 is a member the test plays, which answers every Forward with a receipt for 0 tokens
// that is right in every other field.
#include <QtTest>

#include <thread>

#include "core/hub/hub_service.h"
#include "core/node/swarm_node.h"
#include "core/protocol/receipt.h"
#include "core/wallet/encoding.h"
#include "tests/node/fake_peer.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using namespace std::chrono_literals;
using test::FakePeer;

namespace {

constexpr char kRun[] = "receipt-tokens-test";

}  // namespace

class TestSwarmReceiptTokens : public QObject {
  Q_OBJECT

  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  wallet::KeyPair driver_key_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  std::unique_ptr<hub::HubService> hub_;
  control::EventBus events_;
  std::shared_ptr<control::EventBus::Subscription> watch_;
  std::unique_ptr<node::SwarmNode> driver_;
  std::atomic<bool> stop_{false};
  std::thread driver_thread_;
  std::unique_ptr<FakePeer> stingy_;  // stage 1
  std::atomic<std::uint32_t> signs_tokens_{0};

  static net::MessageHeader header(net::MessageKind kind, std::uint64_t step, std::uint32_t micro_batch) {
    auto h = test::answer_header(kRun, kind, step, 1);
    h.micro_batch = micro_batch;
    return h;
  }

  // A Backward answer whose receipt is right but for `signs_tokens_` tokens (and no gradient: the
  // driver checks the receipt before it reads the gradient).
  std::optional<FakePeer::Answer> answer_forward(const net::Incoming& in, const net::Envelope& envelope) {
    const auto& h = in.message.header;
    protocol::Receipt r;
    r.run_id = kRun;
    r.step = h.step;
    r.micro_batch = h.micro_batch;
    r.direction = protocol::Direction::Forward;
    r.sender = driver_key_.public_key();
    r.receiver = stingy_->key.public_key();
    r.stage = 0;
    r.tokens = signs_tokens_;
    r.payload_hash = h.payload_hash;
    net::BackwardReply reply;
    reply.attempt = net::ForwardRequest::decode_head(envelope).attempt;
    reply.receipt = wallet::to_hex(protocol::sign_receipt(r, stingy_->key).encode());
    return FakePeer::Answer{header(net::MessageKind::Backward, h.step, h.micro_batch), reply.encode()};
  }

  FakePeer::Answering member() {
    return [this](const net::Incoming& in, const net::Envelope& envelope) -> std::optional<FakePeer::Answer> {
      const auto step = in.message.header.step;
      switch (in.message.header.kind) {
        case net::MessageKind::Ping: return FakePeer::Answer{header(net::MessageKind::Pong, step, 0), net::PongReply{step, false}.encode()};
        case net::MessageKind::Abort: return FakePeer::Answer{header(net::MessageKind::Ack, step, 0), net::AckReply{}.encode()};
        case net::MessageKind::Forward: return answer_forward(in, envelope);
        default: return FakePeer::Answer{header(net::MessageKind::Error, step, 0), net::ErrorReply{}.encode()};
      }
    };
  }

  // The reason the driver gave for leaving `peer` out that says `why` (else the last reason it gave
  // for `peer`, or nothing) within `limit`.
  std::optional<std::string> left_out(const wallet::PublicKey& peer, const std::string& why, std::chrono::milliseconds limit) {
    std::optional<std::string> last;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      const auto event = watch_->next(200ms);
      if (!event || event->type != "peer" || event->data.value("event", "") != "failed") continue;
      if (event->data.value("peer", "") != wallet::to_hex(peer)) continue;
      last = event->data.value("reason", "");
      if (last->find(why) != std::string::npos) break;
    }
    return last;
  }

 private Q_SLOTS:
  void initTestCase() {
    auto manifest = test::tiny_two_stage_manifest(kRun);
    manifest.codec = "none";
    manifest.hub_key = publisher_.public_key();
    protocol::sign_manifest(manifest, publisher_);
    hub_ = std::make_unique<hub::HubService>(manifest);
    hub_->start();
    watch_ = events_.subscribe();
    node::SwarmNodeOptions options;
    options.hub_url = hub_->url();
    options.data_dir = dir_.filePath("driver").toStdString();
    options.threads = 1;
    options.heartbeat_every = 200ms;
    options.hop_timeout = 3000ms;
    options.suspect_for = 1000ms;
    driver_ = std::make_unique<node::SwarmNode>(
        driver_key_, wallet::sign_delegation(owner_, driver_key_.public_key(), wallet::kAnyRun, 4102444800), options, &events_);
    driver_thread_ = std::thread([this] { driver_->run(stop_); });
    for (int i = 0; i < 400 && driver_->stage() < 0; ++i) std::this_thread::sleep_for(50ms);
    QCOMPARE(driver_->stage(), 0);
    stingy_ = std::make_unique<FakePeer>(hub_->url(), owner_);
    stingy_->admit(driver_key_.public_key());
    QCOMPARE(stingy_->join(member()), 1);
  }

  void cleanupTestCase() {
    stop_ = true;
    if (driver_thread_.joinable()) driver_thread_.join();
    stingy_.reset();
    driver_.reset();
    hub_->stop();
  }

  void aReceiptForZeroTokensFailsTheAttemptNamingItsSigner() {
    stingy_->ready();
    const auto reason = left_out(stingy_->key.public_key(), "tokens 0 where the run allows 16", 30s);
    QVERIFY2(reason.has_value(), "the driver did not leave out the neighbour that signed for 0 tokens");
    QVERIFY2(reason->find("tokens 0 where the run allows 16") != std::string::npos, reason->c_str());
    QVERIFY(stingy_->requests_of(net::MessageKind::Forward) > 0);
    QCOMPARE(driver_->stats().committed_steps, std::uint64_t{0});  // no step commits on such a receipt
  }

  void aReceiptForMoreTokensThanTheRunAllowsFailsToo() {
    signs_tokens_ = 800;  // what an honest node once signed for a 50× batch
    const auto reason = left_out(stingy_->key.public_key(), "tokens 800 where the run allows 16", 30s);
    QVERIFY2(reason.has_value(), "the driver did not leave out the neighbour that signed for 800 tokens");
    QVERIFY2(reason->find("tokens 800 where the run allows 16") != std::string::npos, reason->c_str());
  }
};

QTEST_APPLESS_MAIN(TestSwarmReceiptTokens)
#include "test_swarm_receipt_tokens.moc"
