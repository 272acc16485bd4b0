// Credit follows commits and the hub chooses neighbours (docs/swarm.md "Step records and route
// seeds"), as a real driver does them: three nodes in this process train a two-stage run (A and C
// on stage 0, B on stage 1) through a hub front (tests/node/steps_tap.h) that keeps every step
// record the driver posts and answers it with the next step's route seed. Every committed step
// gets one record, signed by the driver, naming the micro-batches' token digests, the manifest's
// tokens, who committed, and each stage's replicas in the order the hub's seed gives them (the
// tap picks seeds that put stage 0 out of key order); a seed signed by another key is ignored
// and the steps after go in key order with a zero seed.
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "core/hub/hub_service.h"
#include "core/model/data.h"
#include "core/node/swarm_node.h"
#include "core/protocol/payload_digest.h"
#include "tests/node/steps_tap.h"
#include "tests/support/running_node.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using test::RunningNode;
using test::wait_until;
using namespace std::chrono_literals;
using test::StepsTap;

namespace {

constexpr char kRun[] = "step-records-test";

}  // namespace

class TestSwarmStepRecords : public QObject {
  Q_OBJECT

  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair hub_key_ = wallet::KeyPair::generate();  // the manifest's hub key: signs route seeds
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  wallet::KeyPair forger_ = wallet::KeyPair::generate();  // not the hub's key
  QTemporaryDir dir_;
  protocol::RunManifest manifest_;
  std::unique_ptr<hub::HubService> hub_;
  std::unique_ptr<StepsTap> tap_;
  RunningNode a_, b_, c_;
  std::mt19937_64 random_{20261206};

  void start(RunningNode& running, const std::string& name) {
    node::SwarmNodeOptions options;
    options.hub_url = tap_->url();
    options.data_dir = dir_.filePath(QString::fromStdString(name)).toStdString();
    options.threads = 1;
    options.heartbeat_every = 200ms;
    options.hop_timeout = 4000ms;
    options.suspect_for = 2000ms;
    running.launch(owner_, options);
  }

  bool ready(const RunningNode& running) const { return running.ready(); }

  // Stage k's replicas of `record` weighted as the hub lists them.
  std::vector<protocol::WeightedReplica> weighted(const protocol::StepRecord& record, std::size_t k) {
    std::vector<protocol::WeightedReplica> out;
    const auto list = hub_->peer_list();
    for (const auto& key : record.replicas[k]) {
      double weight = 0;
      for (const auto& peer : list.peers)
        if (peer.node_key == key) weight = peer.tokens_per_s;
      out.push_back({key, weight});
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.key < y.key; });
    return out;
  }

  // A seed for the step after `record`'s, signed by `signer`, that puts stage 0 out of key order
  // when the next step has both of its replicas (whether or not `record` had both: one may lag).
  protocol::SignedRouteSeed unsorting_seed(const protocol::StepRecord& record, const wallet::KeyPair& signer) {
    protocol::RouteSeed seed{kRun, record.step + 1, {}};
    protocol::StepRecord both = record;
    both.replicas[0].clear();
    for (const auto& peer : hub_->peer_list().peers)
      if (peer.stage == 0 && peer.ready()) both.replicas[0].push_back(peer.node_key);
    const auto replicas = weighted(both, 0);
    for (int tries = 0; tries < 1000; ++tries) {
      for (auto& byte : seed.seed) byte = static_cast<std::uint8_t>(random_());
      const auto order = protocol::order_replicas(seed.seed, 0, replicas);
      if (replicas.size() < 2 || !std::is_sorted(order.begin(), order.end())) break;
    }
    return protocol::sign_route_seed(seed, signer);
  }

  void checkRecord(const protocol::SignedStepRecord& signed_record, const nlohmann::json& progress) {
    const auto& r = signed_record.record;
    QVERIFY(signed_record.verify());
    QVERIFY(r.driver == a_.key.public_key());
    QCOMPARE(QString::fromStdString(r.run_id), QString(kRun));
    QCOMPARE(r.micro_batches, std::uint32_t(manifest_.train.micro_batches));
    QCOMPARE(r.tokens_per_micro_batch, std::uint32_t(manifest_.train.micro_batch_size * manifest_.model.context));
    QCOMPARE(r.replicas.size(), std::size_t{2});
    QCOMPARE(r.committers.size(), std::size_t{2});
    for (std::size_t k = 0; k < 2; ++k) {
      auto replicas = r.replicas[k], committers = r.committers[k];
      std::sort(replicas.begin(), replicas.end());
      std::sort(committers.begin(), committers.end());
      QVERIFY2(std::includes(committers.begin(), committers.end(), replicas.begin(), replicas.end()),
               "every replica that served a stage committed it");
    }
    const auto data = model::DataSource::from_spec("arithmetic", manifest_.model.context, manifest_.model.seed);
    QCOMPARE(r.tokens_hashes.size(), std::size_t(manifest_.train.micro_batches));
    for (int m = 0; m < manifest_.train.micro_batches; ++m) {
      const auto ids = data.micro_batch(static_cast<std::int64_t>(r.step), m, manifest_.train.micro_batches,
                                        manifest_.train.micro_batch_size);
      QVERIFY(r.tokens_hashes[static_cast<std::size_t>(m)] == protocol::tokens_digest(ids));
    }
    QCOMPARE(progress.value("step", std::uint64_t{0}), r.step + 1);
    QCOMPARE(progress.value("tokens", 0.0), double(manifest_.train.micro_batches * r.tokens_per_micro_batch));
  }

  // The seed the tap answered for `step`, if it answered one before `upto`.
  static std::optional<protocol::SignedRouteSeed> answered_for(const std::vector<StepsTap::Posted>& posted, std::size_t upto,
                                                               std::uint64_t step) {
    std::optional<protocol::SignedRouteSeed> found;
    for (std::size_t i = 0; i < upto; ++i)
      if (posted[i].answered && posted[i].answered->seed.step == step) found = posted[i].answered;
    return found;
  }

 private Q_SLOTS:
  void initTestCase() {
    manifest_ = test::tiny_two_stage_manifest(kRun);
    manifest_.codec = "none";
    manifest_.train.micro_batches = 2;  // both stage-0 replicas run one
    manifest_.hub_key = hub_key_.public_key();
    protocol::sign_manifest(manifest_, publisher_);
    hub_ = std::make_unique<hub::HubService>(manifest_);
    hub_->start();
    tap_ = std::make_unique<StepsTap>(hub_->url());
    tap_->answer_with([this](const protocol::SignedStepRecord& posted) { return unsorting_seed(posted.record, hub_key_); });
    start(a_, "a");
    QVERIFY(wait_until([&] { return ready(a_); }, 60s));
    QCOMPARE(a_.node->stage(), 0);
    start(b_, "b");
    QVERIFY(wait_until([&] { return ready(b_); }, 60s));
    QCOMPARE(b_.node->stage(), 1);
    start(c_, "c");
    QVERIFY(wait_until([&] { return ready(c_); }, 60s));
    QCOMPARE(c_.node->stage(), 0);
  }

  void cleanupTestCase() {
    for (auto* running : {&a_, &b_, &c_}) {
      running->stop = true;
      if (running->thread.joinable()) running->thread.join();
    }
    tap_.reset();
    if (hub_) hub_->stop();
  }

  void everyCommittedStepIsRecordedInTheHubsRouteOrder() {
    // Six steps routed through both stage-0 replicas, each after a seed the tap answered.
    const auto seeded_with_both = [&] {
      const auto posted = tap_->posted();
      int count = 0;
      for (std::size_t i = 0; i < posted.size(); ++i)
        count += posted[i].record.record.replicas[0].size() == 2 && answered_for(posted, i, posted[i].record.record.step);
      return count;
    };
    QVERIFY2(wait_until([&] { return seeded_with_both() >= 6; }, 120s), "the driver does not report steps routed by the seeds");
    QCOMPARE(tap_->malformed(), std::size_t{0});
    const auto posted = tap_->posted();
    std::set<std::uint64_t> steps;
    int unsorted = 0;
    for (std::size_t i = 0; i < posted.size(); ++i) {
      const auto& r = posted[i].record.record;
      checkRecord(posted[i].record, posted[i].progress);
      QVERIFY2(steps.insert(r.step).second, "one record per committed step");
      const auto seed = answered_for(posted, i, r.step);
      if (!seed) continue;  // the first step: no seed yet
      QVERIFY2(r.route_seed == seed->seed.seed, ("step " + std::to_string(r.step) + " is not routed by its seed").c_str());
      for (std::size_t k = 0; k < r.replicas.size(); ++k)
        QVERIFY(r.replicas[k] == protocol::order_replicas(seed->seed.seed, static_cast<std::uint16_t>(k), weighted(r, k)));
      unsorted += r.replicas[0].size() == 2 && !std::is_sorted(r.replicas[0].begin(), r.replicas[0].end());
    }
    QVERIFY2(unsorted >= 6, "the driver kept key order where the seed said otherwise");
  }

  void aSeedSignedByAnotherKeyIsIgnored() {
    const auto honest = tap_->posted().size();
    tap_->answer_with([this](const protocol::SignedStepRecord& posted) { return unsorting_seed(posted.record, forger_); });
    QVERIFY2(wait_until([&] { return tap_->posted().size() >= honest + 6; }, 120s), "the driver stopped reporting steps");
    const auto posted = tap_->posted();
    std::size_t first_forged = posted.size();
    for (std::size_t i = honest; i < posted.size(); ++i)
      if (posted[i].answered && !posted[i].answered->verify(hub_key_.public_key())) {
        first_forged = i;
        break;
      }
    QVERIFY(first_forged + 3 < posted.size());
    std::set<protocol::Digest> forged;
    for (std::size_t i = first_forged; i < posted.size(); ++i)
      if (posted[i].answered) forged.insert(posted[i].answered->seed.seed);
    // Every later record is routed by no seed (key order) or by the hub's own newest one (the
    // driver's last verified seed, or the peer list's), never by a forged one.
    for (std::size_t i = first_forged + 1; i < posted.size(); ++i) {
      const auto& r = posted[i].record.record;
      checkRecord(posted[i].record, posted[i].progress);
      QVERIFY2(!forged.contains(r.route_seed), "a forged seed was used");
      for (std::size_t k = 0; k < r.replicas.size(); ++k)
        if (r.route_seed == protocol::Digest{})
          QVERIFY(std::is_sorted(r.replicas[k].begin(), r.replicas[k].end()));
        else
          QVERIFY(r.replicas[k] == protocol::order_replicas(r.route_seed, static_cast<std::uint16_t>(k), weighted(r, k)));
    }
  }
};

QTEST_APPLESS_MAIN(TestSwarmStepRecords)
#include "test_swarm_step_records.moc"
