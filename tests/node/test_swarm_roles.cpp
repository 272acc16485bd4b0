// Authorise by role against a training swarm (docs/swarm.md "Who may send what"): a hub that signs
// (assignments, inference tickets), the step driver (stage 0) and a stage-1 node as real
// in-process SwarmNodes, and two members the test plays: one of stage 0 that is not the driver and
// one of stage 1 that is ready and answers every Ping with an absurd step. While they try, the
// driver keeps committing steps: Pings with step 2^64-1 and Pongs claiming it do not stop it; a
// Step from a peer that is not the driver is refused; the stage's state goes only to the member
// whose hub-signed assignment names that stage; Infer without the hub's ticket gets no logits,
// while the hub's own inference gets them.
#include <QtTest>

#include <atomic>
#include <thread>

#include "core/hub/hub_service.h"
#include "core/hub/swarm_inference.h"
#include "core/node/swarm_node.h"
#include "core/protocol/inference_ticket.h"
#include "core/protocol/unix_time.h"
#include "tests/node/fake_peer.h"
#include "tests/node/hub_ticket.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using namespace std::chrono_literals;
using test::FakePeer;

namespace {

constexpr char kRun[] = "roles-test";

// Waits until `done` holds, at most `limit`.
template <typename Done>
bool eventually(const Done& done, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

}  // namespace

class TestSwarmRoles : public QObject {
  Q_OBJECT

  wallet::KeyPair hub_key_ = wallet::KeyPair::generate();  // publishes the run and is its hub key
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  wallet::KeyPair driver_key_ = wallet::KeyPair::generate();
  wallet::KeyPair stage1_key_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  protocol::RunManifest manifest_;
  std::unique_ptr<hub::HubService> hub_;
  std::unique_ptr<node::SwarmNode> driver_, stage1_;
  std::atomic<bool> stop_{false};
  std::thread driver_thread_, stage1_thread_;
  std::unique_ptr<FakePeer> other0_;  // stage 0, not the driver, never ready
  std::unique_ptr<FakePeer> other1_;  // stage 1, ready, absurd Pongs

  std::unique_ptr<node::SwarmNode> start_node(const wallet::KeyPair& key, const char* name, std::thread& thread) {
    node::SwarmNodeOptions options;
    options.hub_url = hub_->url();
    options.data_dir = dir_.filePath(name).toStdString();
    options.threads = 1;
    options.heartbeat_every = 200ms;
    auto node = std::make_unique<node::SwarmNode>(key, wallet::sign_delegation(owner_, key.public_key(), wallet::kAnyRun, 4102444800),
                                                  options);
    thread = std::thread([this, n = node.get()] { n->run(stop_); });
    return node;
  }

  net::MessageHeader header(net::MessageKind kind, int stage, std::uint64_t step = 0) const {
    return test::answer_header(kRun, kind, step, stage);
  }

  std::uint64_t committed() const { return driver_->stats().committed_steps; }

 private Q_SLOTS:
  void initTestCase() {
    manifest_ = test::tiny_two_stage_manifest(kRun);
    manifest_.codec = "none";
    manifest_.train.total_steps = 1'000'000;
    manifest_.hub_key = hub_key_.public_key();
    protocol::sign_manifest(manifest_, hub_key_);
    hub::HubOptions options;
    options.hub_key = &hub_key_;
    hub_ = std::make_unique<hub::HubService>(manifest_, options);
    hub_->start();
    driver_ = start_node(driver_key_, "driver", driver_thread_);
    QVERIFY(eventually([&] { return driver_->stage() == 0; }, 20s));
    stage1_ = start_node(stage1_key_, "stage1", stage1_thread_);
    QVERIFY(eventually([&] { return committed() >= 2; }, 30s));

    other0_ = std::make_unique<FakePeer>(hub_->url(), owner_);
    QCOMPARE(other0_->join(nullptr), 0);
    other1_ = std::make_unique<FakePeer>(hub_->url(), owner_);
    other1_->admit(driver_key_.public_key());
    other1_->admit(stage1_key_.public_key());
    QCOMPARE(other1_->join([&](const net::Incoming& in, const net::Envelope&) -> std::optional<FakePeer::Answer> {
      if (in.message.header.kind != net::MessageKind::Ping) return FakePeer::Answer{header(net::MessageKind::Error, 1), net::ErrorReply{}.encode()};
      return FakePeer::Answer{header(net::MessageKind::Pong, 1, UINT64_MAX), net::PongReply{UINT64_MAX, false}.encode()};
    }), 1);
    other1_->ready();
    std::this_thread::sleep_for(1500ms);  // every node's allowlist and roles have them now
  }

  void cleanupTestCase() {
    stop_ = true;
    if (driver_thread_.joinable()) driver_thread_.join();
    if (stage1_thread_.joinable()) stage1_thread_.join();
    other0_.reset();
    other1_.reset();
    driver_.reset();
    stage1_.reset();
    hub_->stop();
  }

  void absurdPingsAndPongsDoNotStopTheDriver() {
    auto to_driver = other0_->connect(driver_key_.public_key(), driver_->endpoint());
    auto to_stage1 = other0_->connect(stage1_key_.public_key(), stage1_->endpoint());
    const auto unauthorised = driver_->stats().unauthorised;
    const auto before = committed();
    for (int i = 0; i < 10; ++i) {
      QCOMPARE(FakePeer::ask(*to_driver, header(net::MessageKind::Ping, 0, UINT64_MAX), {}), net::MessageKind::Error);
      QCOMPARE(FakePeer::ask(*to_stage1, header(net::MessageKind::Ping, 1, UINT64_MAX), {}), net::MessageKind::Error);
    }
    QCOMPARE(driver_->stats().unauthorised, unauthorised + 10);
    QVERIFY2(eventually([&] { return committed() >= before + 5; }, 30s), "the driver stopped driving");
    QVERIFY(other1_->requests_of(net::MessageKind::Ping) > 0);  // the absurd Pongs were asked for
    QCOMPARE(driver_->status().stage, 0);
  }

  void stepFromAPeerThatIsNotTheDriverIsRefused() {
    auto to_stage1 = other0_->connect(stage1_key_.public_key(), stage1_->endpoint());
    const auto unauthorised = stage1_->stats().unauthorised;
    for (const double norm : {1e-12, 1e12, -1.0})
      QCOMPARE(FakePeer::ask(*to_stage1, header(net::MessageKind::Step, 1), net::StepRequest{1, norm, 0.0, 0.0, 16}.encode()),
               net::MessageKind::Error);
    QCOMPARE(stage1_->stats().unauthorised, unauthorised + 3);
    const auto before = committed();
    QVERIFY(eventually([&] { return committed() >= before + 2; }, 30s));
  }

  // A member of stage 1 with the hub's assignment gets stage 1's state; a member of stage 0 gets
  // none, whatever assignment it shows, and stage 1's member gets none of stage 0's.
  void stateOnlyForTheSameStage() {
    QVERIFY(!other0_->assignment().empty() && !other1_->assignment().empty());
    auto to_stage1 = other0_->connect(stage1_key_.public_key(), stage1_->endpoint());
    const auto unauthorised = stage1_->stats().unauthorised;
    net::Envelope answer;
    for (const auto& shown : {other0_->assignment(), other1_->assignment(), std::string()}) {
      QCOMPARE(FakePeer::ask(*to_stage1, header(net::MessageKind::StateRequest, 1), net::StateRequest{0, 0, shown}.encode(), &answer),
               net::MessageKind::Error);
      QVERIFY(answer.blob.empty());
    }
    QCOMPARE(FakePeer::ask(*to_stage1, header(net::MessageKind::GradFetch, 1),
                           net::GradFetchRequest{1, other0_->assignment()}.encode(), &answer),
             net::MessageKind::Error);
    QCOMPARE(stage1_->stats().unauthorised, unauthorised + 4);
    auto as_replica = other1_->connect(stage1_key_.public_key(), stage1_->endpoint());
    QCOMPARE(FakePeer::ask(*as_replica, header(net::MessageKind::StateRequest, 1),
                           net::StateRequest{0, 0, other1_->assignment()}.encode(), &answer),
             net::MessageKind::StateChunk);
    QVERIFY(net::StateChunk::decode(answer).total > 0);
    auto replica_to_driver = other1_->connect(driver_key_.public_key(), driver_->endpoint());
    QCOMPARE(FakePeer::ask(*replica_to_driver, header(net::MessageKind::StateRequest, 0),
                           net::StateRequest{0, 0, other1_->assignment()}.encode(), &answer),
             net::MessageKind::Error);
  }

  // Stage 0 serves Infer only with the hub's ticket, from the hub; the hub's inference works.
  void inferenceOnlyWithTheHubsTicket() {
    auto to_driver = other0_->connect(driver_key_.public_key(), driver_->endpoint());
    net::InferRequest request;
    request.input.batch = 1;
    request.input.sequence = 3;
    request.input.tokens = {1, 2, 3, 0};
    request.input.route = {{stage1_key_.public_key(), stage1_->endpoint()}};
    net::Envelope answer;
    QCOMPARE(FakePeer::ask(*to_driver, header(net::MessageKind::Infer, 0), request.encode(), &answer), net::MessageKind::Error);
    protocol::InferenceTicket own;
    own.run_id = kRun;
    own.issued_ms = protocol::unix_now_ms();
    own.expires_ms = own.issued_ms + 10'000;
    own.batch = 1;
    own.sequence = 3;
    own.tokens_hash = protocol::inference_tokens_hash(request.input.tokens);
    own.route = {driver_key_.public_key(), stage1_key_.public_key()};
    request.ticket = test::hub_ticket(own, other0_->key);
    QCOMPARE(FakePeer::ask(*to_driver, header(net::MessageKind::Infer, 0), request.encode(), &answer), net::MessageKind::Error);
    QVERIFY(answer.blob.empty());
    // The hub's own ticket, sent by a member: stage 0 takes Infer from the hub only.
    request.ticket = test::hub_ticket(own, hub_key_);
    QCOMPARE(FakePeer::ask(*to_driver, header(net::MessageKind::Infer, 0), request.encode(), &answer), net::MessageKind::Error);
    QVERIFY(answer.blob.empty());

    // The hub's own inference, once the members that serve nothing have left its directory.
    other0_->leave();
    other1_->leave();
    std::this_thread::sleep_for(300ms);
    hub::SwarmInference inference(hub_->directory(), manifest_, hub_key_);
    const auto logits = inference.next_token_logits({1, 2, 3}, 10s);
    QCOMPARE(logits.size(), static_cast<std::size_t>(manifest_.model.vocab));
  }
};

QTEST_APPLESS_MAIN(TestSwarmRoles)
#include "test_swarm_roles.moc"
