// Replica averaging with PowerSGD across real nodes in this process: two stages of two replicas
// train with low-rank averaging (and, under the subspace codec, low-rank shared-embedding sync),
// and at every step both replicas of a stage reported the same weights digest to the hub, also
// the replica that joined mid-run and took its state from the other.
#include <QtTest>

#include <memory>

#include "core/hub/hub_service.h"
#include "core/hub/weight_reports.h"
#include "core/node/swarm_node.h"
#include "tests/support/running_node.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using test::RunningNode;
using test::wait_until;
using namespace std::chrono_literals;

class TestSwarmAveraging : public QObject {
  Q_OBJECT

 private:
  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  std::unique_ptr<QTemporaryDir> dir_;
  std::unique_ptr<hub::HubService> hub_;

  void start(RunningNode& running, const std::string& name) {
    node::SwarmNodeOptions options;
    options.hub_url = hub_->url();
    options.data_dir = dir_->filePath(QString::fromStdString(name)).toStdString();
    options.threads = 1;
    options.heartbeat_every = 200ms;
    options.hop_timeout = 4000ms;
    running.launch(owner_, options);
  }

  std::optional<protocol::PayloadDigest> digest(const RunningNode& running, std::uint64_t step) {
    return hub_->store().read(
        [&](hub::Database& db) { return hub::WeightReports::digest_of(db, running.key.public_key(), step); });
  }

  // At every step in [from, to) that both replicas reported (a node reports the steps its evidence
  // store still holds: not all of them when steps take milliseconds), the same digest; at least
  // `least` such steps.
  void requireIdentical(const RunningNode& a, const RunningNode& b, std::uint64_t from, std::uint64_t to, int least) {
    int compared = 0;
    for (auto step = from; step < to; ++step) {
      const auto da = digest(a, step), db = digest(b, step);
      if (!da || !db) continue;
      QVERIFY2(*da == *db, qPrintable(QString("replicas differ at step %1").arg(step)));
      ++compared;
    }
    QVERIFY2(compared >= least, qPrintable(QString("only %1 steps reported by both in [%2, %3)").arg(compared).arg(from).arg(to)));
  }

  void trainWithPowerSgd(const std::string& codec) {
    dir_ = std::make_unique<QTemporaryDir>();
    auto manifest = test::tiny_two_stage_manifest("averaging-" + codec);
    manifest.codec = codec;
    if (codec == "subspace") manifest.model.subspace_rank = 4;
    manifest.train.micro_batches = 2;  // each replica of a stage trains one
    manifest.averaging = {model::AveragingConfig::Scheme::powersgd, 2};
    manifest.hub_key = publisher_.public_key();
    protocol::sign_manifest(manifest, publisher_);
    hub::HubOptions options;
    options.hub_key = &publisher_;  // settlement and spot checks, which keep the weights digests
    hub_ = std::make_unique<hub::HubService>(manifest, options);
    hub_->start();

    RunningNode a, b, c, d;
    start(a, "a");
    QVERIFY(wait_until([&] { return a.ready(); }, 60s));
    start(b, "b");
    QVERIFY(wait_until([&] { return b.ready(); }, 60s));
    start(c, "c");
    QVERIFY(wait_until([&] { return c.ready(); }, 60s));
    const auto c_joined = static_cast<std::uint64_t>(c.node->status().step);
    QCOMPARE(a.node->stage(), 0);
    QCOMPARE(b.node->stage(), 1);
    QCOMPARE(c.node->stage(), 0);
    QVERIFY2(wait_until([&] { return c.node->stats().committed_steps >= 4; }, 90s), "stage 0's replicas do not train");
    // D joins stage 1 mid-run: it takes B's state and from then on averages with it.
    start(d, "d");
    QVERIFY(wait_until([&] { return d.ready(); }, 60s));
    QCOMPARE(d.node->stage(), 1);
    const auto joined = static_cast<std::uint64_t>(d.node->status().step);
    QVERIFY2(wait_until([&] { return d.node->stats().committed_steps >= 6; }, 90s), "the joined replica does not train");
    std::this_thread::sleep_for(1s);  // the last steps' digests reach the hub with the next heartbeats
    const auto last = static_cast<std::uint64_t>(d.node->status().step);
    requireIdentical(a, c, c_joined + 1, last, 5);
    requireIdentical(b, d, joined + 1, last, 5);
    // Their traffic reports show the exchanges moved less than raw float32 would have.
    for (const auto* running : {&a, &b, &c, &d}) {
      const auto compression = running->node->status().traffic.compression();
      QVERIFY2(compression && *compression > 1.5, running->node->status().traffic.summary().c_str());
    }
    QVERIFY(last > joined + 4);
  }

 private Q_SLOTS:
  void replicasStayIdenticalAtEveryStep() { trainWithPowerSgd("none"); }
  void replicasStayIdenticalUnderTheSubspaceCodec() { trainWithPowerSgd("subspace"); }

  void cleanup() {
    hub_.reset();
    dir_.reset();
  }
};

QTEST_GUILESS_MAIN(TestSwarmAveraging)
#include "test_swarm_averaging.moc"
