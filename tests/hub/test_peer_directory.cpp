// Stage assignment, heartbeats, expiry and the bound of the hub's peer directory (join challenges:
// test_hub_requests).
#include <QtTest>

#include "core/model/model_config.h"
#include "core/hub/hub_service.h"
#include "core/hub/peer_directory.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_api.h"

using namespace tessera;
using namespace std::chrono_literals;

namespace {

hub::Peer peer(const wallet::KeyPair& key, int stage, hub::Clock::time_point seen) {
  hub::Peer p;
  p.node_key = key.public_key();
  p.owner = "owner";
  p.endpoint = "tcp://127.0.0.1:1";
  p.stage = stage;
  p.last_seen = seen;
  return p;
}

}  // namespace

class TestPeerDirectory : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  // The swarm keeps every micro-batch of a step in flight, so a stage's memory need (what the hub
  // fits peers against) counts all of their activations, not one micro-batch's.
  void stageMemoryCountsEveryMicroBatchInFlight() {
    protocol::RunManifest manifest;
    manifest.stages = 3;
    manifest.train.micro_batches = 4;
    const auto needs = hub::stage_memory_requirements(manifest);
    QCOMPARE(needs.size(), std::size_t{3});
    for (int k = 0; k < 3; ++k) {
      const auto plan = model::plan_stage(manifest.model, 3, k);
      const auto four = model::estimate_stage_memory(manifest.model, plan, manifest.train.micro_batch_size, 4);
      const auto one = model::estimate_stage_memory(manifest.model, plan, manifest.train.micro_batch_size, 1);
      QCOMPARE(needs[static_cast<std::size_t>(k)], static_cast<std::uint64_t>(four.total()));
      QVERIFY(four.total() > one.total());
    }
    manifest.train.micro_batches = 8;
    QVERIFY(hub::stage_memory_requirements(manifest)[0] > needs[0]);
  }

  void assignsLeastServedStageThatFits() {
    hub::PeerDirectory directory({100, 300, 100});
    const auto now = hub::Clock::now();
    QCOMPARE(directory.choose_stage(1000).value(), 0);
    directory.upsert(peer(wallet::KeyPair::generate(), 0, now));
    QCOMPARE(directory.choose_stage(1000).value(), 1);
    QCOMPARE(directory.choose_stage(200).value(), 2);  // stage 1 needs 300
    directory.upsert(peer(wallet::KeyPair::generate(), 2, now));
    QCOMPARE(directory.choose_stage(200).value(), 0);  // 0 and 2 tie at one replica: lowest index
    QVERIFY(!directory.choose_stage(50).has_value());
    QVERIFY(!directory.complete());
    directory.upsert(peer(wallet::KeyPair::generate(), 1, now));
    QVERIFY(directory.complete());
    QCOMPARE(directory.replica_counts(), (std::vector<int>{1, 1, 1}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, directory.upsert(peer(wallet::KeyPair::generate(), 3, now)));
  }

  void heartbeatsKeepPeersAndSilenceDropsThem() {
    hub::PeerDirectory directory({1, 1});
    const auto start = hub::Clock::now();
    const auto a = wallet::KeyPair::generate();
    const auto b = wallet::KeyPair::generate();
    directory.upsert(peer(a, 0, start));
    directory.upsert(peer(b, 1, start));
    QVERIFY(directory.heartbeat(a.public_key(), start + 8s));
    const auto dropped = directory.expire(start + 12s, 10s);
    QCOMPARE(dropped.size(), size_t(1));
    QVERIFY(dropped.front().node_key == b.public_key());
    QVERIFY(directory.find(a.public_key()).has_value());
    QVERIFY(!directory.heartbeat(b.public_key(), start + 13s));  // must join again
    directory.upsert(peer(b, 1, start + 14s));                  // a returning peer rejoins
    QCOMPARE(directory.replicas(1).size(), size_t(1));
    QVERIFY(directory.remove(b.public_key()));
    QVERIFY(!directory.remove(b.public_key()));
  }

  // A flood of joins cannot grow the directory: past its bound a new node is refused (503) until
  // one leaves; a known node still rejoins.
  void aFullDirectoryRefusesNewPeers() {
    hub::PeerDirectory directory({1, 1}, 2);
    const auto now = hub::Clock::now();
    const auto a = wallet::KeyPair::generate();
    directory.upsert(peer(a, 0, now));
    directory.upsert(peer(wallet::KeyPair::generate(), 1, now));
    try {
      directory.upsert(peer(wallet::KeyPair::generate(), 0, now));
      QFAIL("a third peer was admitted to a directory of two");
    } catch (const net::HttpError& error) {
      QCOMPARE(error.status, 503);
      QVERIFY(std::string(error.what()).find("the run is full") != std::string::npos);
    }
    directory.upsert(peer(a, 1, now));  // a member rejoins in place
    QVERIFY(directory.remove(a.public_key()));
    directory.upsert(peer(wallet::KeyPair::generate(), 0, now));
    QCOMPARE(directory.peers().size(), std::size_t(2));
  }
};

QTEST_APPLESS_MAIN(TestPeerDirectory)
#include "test_peer_directory.moc"
