// A node that the hub forgets and then puts on another stage carries on by itself: three nodes in
// this process train a two-stage run (A and C on stage 0, B on stage 1); the hub forgets A while
// stage 0 looks busier (a listed peer that never becomes ready), so A's rejoin lands on stage 1.
// A drops stage 0, takes stage 1's state from B, becomes ready and trains on with the others,
// logging its new stage's work, without a restart by hand.
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>

#include "core/hub/hub_service.h"
#include "core/ledger/reader.h"
#include "core/node/swarm_node.h"
#include "tests/support/running_node.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using test::RunningNode;
using test::wait_until;
using namespace std::chrono_literals;

class TestSwarmRejoin : public QObject {
  Q_OBJECT

 private:
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  std::unique_ptr<hub::HubService> hub_;

  void start(RunningNode& running, const std::string& name) {
    node::SwarmNodeOptions options;
    options.hub_url = hub_->url();
    options.data_dir = dir_.filePath(QString::fromStdString(name)).toStdString();
    options.threads = 1;
    options.heartbeat_every = 200ms;
    options.hop_timeout = 4000ms;
    options.suspect_for = 2000ms;
    running.launch(owner_, options);
  }

  bool ready(const RunningNode& running) const { return running.ready(); }

 private Q_SLOTS:
  void rejoinOnAnotherStageCarriesOn() {
    auto manifest = test::tiny_two_stage_manifest("rejoin-test");
    manifest.codec = "none";
    manifest.train.micro_batches = 2;  // both stage-1 replicas get micro-batches once A is one
    manifest.hub_key = publisher_.public_key();
    protocol::sign_manifest(manifest, publisher_);
    hub_ = std::make_unique<hub::HubService>(manifest);
    hub_->start();

    RunningNode a, b, c;
    start(a, "a");
    QVERIFY(wait_until([&] { return ready(a); }, 60s));
    QCOMPARE(a.node->stage(), 0);
    start(b, "b");
    QVERIFY(wait_until([&] { return ready(b); }, 60s));
    QCOMPARE(b.node->stage(), 1);
    start(c, "c");
    QVERIFY(wait_until([&] { return ready(c); }, 60s));
    QCOMPARE(c.node->stage(), 0);
    QVERIFY2(wait_until([&] { return c.node->stats().committed_steps >= 2; }, 90s), "the three nodes do not train");
    // What training cost on the wire, per token trained: in C's status and in the hub's reports.
    const auto traffic = c.node->status().traffic;
    QVERIFY(traffic.tokens > 0 && traffic.bytes_per_token().has_value());
    QVERIFY(traffic.bytes[net::TrafficKind::boundary_forward].sent > 0);
    QVERIFY(traffic.bytes[net::TrafficKind::replica_averaging].both() > 0);  // A and C average stage 0
    QVERIFY(wait_until([&] {
      const auto reports = hub_->traffic_reports();
      return std::any_of(reports.begin(), reports.end(), [](const auto& r) { return r.report.tokens > 0; });
    }, 10s));

    // The hub forgets A; stage 0 looks busier than stage 1 (C and a peer that never gets ready).
    hub::Peer busy;
    busy.node_key = wallet::KeyPair::generate().public_key();
    busy.owner = "nobody";
    busy.endpoint = "tcp://127.0.0.1:1";
    busy.stage = 0;
    busy.last_seen = hub::Clock::now();
    hub_->directory().upsert(busy);
    QVERIFY(hub_->directory().remove(a.key.public_key()));

    QVERIFY2(wait_until([&] { return a.node->stage() == 1; }, 30s), "A was not moved to stage 1");
    QVERIFY2(wait_until([&] { return ready(a) && a.node->status().state != "error"; }, 60s),
             a.node->status().reason.c_str());
    const auto moved_at = a.node->stats().committed_steps;
    const auto describe = [](const char* name, const RunningNode& n) {
      const auto status = n.node->status();
      return std::string(name) + ": stage " + std::to_string(n.node->stage()) + ", step " + std::to_string(status.step) +
             ", " + status.state + " (" + status.reason + "); ";
    };
    QVERIFY2(wait_until([&] { return a.node->stats().committed_steps >= moved_at + 3; }, 90s),
             ("A does not train on stage 1: " + describe("A", a) + describe("B", b) + describe("C", c)).c_str());
    const auto peer = hub_->directory().find(a.key.public_key());
    QVERIFY(peer.has_value());
    QCOMPARE(peer->stage, 1);

    const auto log_file = a.node->ledger_path();
    a.stop = true;
    a.thread.join();
    ledger::LedgerReader log(log_file);
    bool worked_on_stage_1 = false;
    for (const auto& row : log.page(ledger::Table::Work, 0, 50))
      worked_on_stage_1 = worked_on_stage_1 || std::get<ledger::WorkRecord>(row.record).stage == 1;
    QVERIFY2(worked_on_stage_1, "A's log has no work on stage 1");
    const auto report = log.verify(a.key.public_key());
    QVERIFY2(report.intact, report.to_text().c_str());
  }

  void cleanupTestCase() {
    if (hub_) hub_->stop();
  }
};

QTEST_APPLESS_MAIN(TestSwarmRejoin)
#include "test_swarm_rejoin.moc"
