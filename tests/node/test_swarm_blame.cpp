// The driver suspects only a peer it can prove failed (docs/swarm.md "Who may send what"): the
// step driver is a real SwarmNode (stage 0 of 3), stages 1 and 2 are members the test plays. When
// stage 1 answers "peer X failed" for the stage-2 member X, the driver does not take its word:
// X answers the driver's Abort, so stage 1 is left out, not X. When X really is silent to the
// driver too, X is left out and stage 1 is not. A report naming a peer outside the attempt
// proves nothing about anyone but its sender.
#include <QtTest>

#include <thread>

#include "core/hub/hub_service.h"
#include "core/node/swarm_node.h"
#include "core/wallet/encoding.h"
#include "tests/node/fake_peer.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using namespace std::chrono_literals;
using test::FakePeer;

namespace {

constexpr char kRun[] = "blame-test";

}  // namespace

class TestSwarmBlame : public QObject {
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
  std::unique_ptr<FakePeer> accuser_;  // stage 1
  std::unique_ptr<FakePeer> accused_;  // stage 2
  std::atomic<bool> accused_answers_aborts_{true};
  wallet::PublicKey named_{};  // whom the accuser names

  static net::MessageHeader header(net::MessageKind kind, int stage) { return test::answer_header(kRun, kind, 0, stage); }

  // A member at step 0 that answers Ping and Abort (Abort only while `aborts` says so), and every
  // Forward with `forward`.
  FakePeer::Answering member(int stage, std::atomic<bool>* aborts, std::function<std::optional<FakePeer::Answer>()> forward) {
    return [=](const net::Incoming& in, const net::Envelope&) -> std::optional<FakePeer::Answer> {
      switch (in.message.header.kind) {
        case net::MessageKind::Ping: return FakePeer::Answer{header(net::MessageKind::Pong, stage), net::PongReply{0, false}.encode()};
        case net::MessageKind::Abort:
          if (aborts && !*aborts) return std::nullopt;
          return FakePeer::Answer{header(net::MessageKind::Ack, stage), net::AckReply{}.encode()};
        case net::MessageKind::Forward: return forward();
        default: return FakePeer::Answer{header(net::MessageKind::Error, stage), net::ErrorReply{}.encode()};
      }
    };
  }

  // The peers the driver left out, in order, until `until` is reported or `limit` has passed.
  std::vector<wallet::PublicKey> suspected_until(const wallet::PublicKey& until, std::chrono::milliseconds limit) {
    std::vector<wallet::PublicKey> out;
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      const auto event = watch_->next(200ms);
      if (!event || event->type != "peer" || event->data.value("event", "") != "failed") continue;
      const auto key = wallet::fixed_from_hex<32>(event->data.value("peer", ""));
      if (!key) continue;
      out.push_back(*key);
      if (*key == until) break;
    }
    return out;
  }

 private Q_SLOTS:
  void initTestCase() {
    auto manifest = test::tiny_two_stage_manifest(kRun);
    manifest.model.layers = 3;
    manifest.stages = 3;
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
    options.suspect_for = 1500ms;
    driver_ = std::make_unique<node::SwarmNode>(
        driver_key_, wallet::sign_delegation(owner_, driver_key_.public_key(), wallet::kAnyRun, 4102444800), options, &events_);
    driver_thread_ = std::thread([this] { driver_->run(stop_); });
    for (int i = 0; i < 400 && driver_->stage() < 0; ++i) std::this_thread::sleep_for(50ms);
    QCOMPARE(driver_->stage(), 0);  // the only member of stage 0: the driver

    accused_ = std::make_unique<FakePeer>(hub_->url(), owner_);
    accuser_ = std::make_unique<FakePeer>(hub_->url(), owner_);
    named_ = accused_->key.public_key();
    accuser_->admit(driver_key_.public_key());
    accused_->admit(driver_key_.public_key());
    QCOMPARE(accuser_->join(member(1, nullptr, [this] {
               return FakePeer::Answer{header(net::MessageKind::Error, 1),
                                       net::ErrorReply{"peer " + wallet::to_hex(named_).substr(0, 12) + " did not answer", named_}.encode()};
             })), 1);
    QCOMPARE(accused_->join(member(2, &accused_answers_aborts_, [] { return std::nullopt; })), 2);
  }

  void cleanupTestCase() {
    stop_ = true;
    if (driver_thread_.joinable()) driver_thread_.join();
    accuser_.reset();
    accused_.reset();
    driver_.reset();
    hub_->stop();
  }

  void anAccusedPeerThatAnswersIsNotSuspected() {
    accuser_->ready();
    accused_->ready();
    const auto accuser = accuser_->key.public_key();
    const auto suspected = suspected_until(accuser, 30s);
    QVERIFY2(!suspected.empty() && suspected.back() == accuser, "the accuser was not left out");
    QVERIFY(std::find(suspected.begin(), suspected.end(), named_) == suspected.end());
    QVERIFY(accuser_->requests_of(net::MessageKind::Forward) > 0);
    QVERIFY(accused_->requests_of(net::MessageKind::Abort) > 0);  // the driver checked with it
  }

  void anAccusedPeerThatIsSilentIsSuspected() {
    accused_answers_aborts_ = false;
    const auto accuser = accuser_->key.public_key();
    const auto suspected = suspected_until(named_, 30s);
    QVERIFY2(!suspected.empty() && suspected.back() == named_, "the silent peer was not left out");
    QVERIFY(std::find(suspected.begin(), suspected.end(), accuser) == suspected.end());
  }

  void aReportNamingAStrangerBlamesItsSender() {
    accused_answers_aborts_ = true;
    named_ = wallet::KeyPair::generate().public_key();  // in no attempt, listed nowhere
    const auto accuser = accuser_->key.public_key();
    const auto suspected = suspected_until(accuser, 30s);
    QVERIFY2(!suspected.empty() && suspected.back() == accuser, "the accuser was not left out");
    QVERIFY(std::find(suspected.begin(), suspected.end(), accused_->key.public_key()) == suspected.end());
  }
};

QTEST_APPLESS_MAIN(TestSwarmBlame)
#include "test_swarm_blame.moc"
