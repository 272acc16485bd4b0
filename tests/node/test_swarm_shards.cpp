// A run whose manifest names data shards (docs/data.md), trained by two nodes in this process
// through a hub front that keeps the driver's step records (tests/node/steps_tap.h): the driver
// fetches both shards from the hub into its cache before its first step, verified, and every
// committed step's token digests are those of the shards' corpus (DataSource::from_shards), not the
// arithmetic one; the stage-1 node fetches nothing.
#include <QtTest>

#include <fstream>
#include <memory>

#include "core/hub/hub_service.h"
#include "core/hub/shard_store.h"
#include "core/model/data.h"
#include "core/node/swarm_node.h"
#include "core/protocol/data_shard.h"
#include "core/protocol/payload_digest.h"
#include "core/wallet/slip10.h"
#include "tests/node/steps_tap.h"
#include "tests/support/running_node.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using test::RunningNode;
using test::StepsTap;
using test::wait_until;
using namespace std::chrono_literals;

namespace {

constexpr char kRun[] = "shards-swarm-test";

std::string text_of(std::size_t bytes, const std::string& alphabet) {
  std::string text;
  for (std::size_t i = 0; i < bytes; ++i) text += alphabet[(i * 7 + i / 5) % alphabet.size()];
  return text;
}

}  // namespace

class TestSwarmShards : public QObject {
  Q_OBJECT

  wallet::KeyPair publisher_ = wallet::KeyPair::generate();
  wallet::KeyPair owner_ = wallet::KeyPair::generate();
  QTemporaryDir dir_;
  std::vector<std::string> texts_;
  protocol::RunManifest manifest_;
  std::unique_ptr<hub::HubService> hub_;
  std::unique_ptr<StepsTap> tap_;
  RunningNode a_, b_;

  std::filesystem::path path(const std::string& name) const { return dir_.filePath(QString::fromStdString(name)).toStdString(); }

  void start(RunningNode& running, const std::string& name) {
    node::SwarmNodeOptions options;
    options.hub_url = tap_->url();
    options.data_dir = path(name);
    options.threads = 1;
    options.heartbeat_every = 200ms;
    options.hop_timeout = 4000ms;
    running.launch(owner_, options);
  }

 private Q_SLOTS:
  void initTestCase() {
    texts_ = {text_of(3000, "abcdefghij\n"), text_of(1500, "KLMNOPQRST ")};
    manifest_ = test::tiny_two_stage_manifest(kRun);
    manifest_.codec = "none";
    manifest_.hub_key = publisher_.public_key();
    hub::HubOptions options;
    options.state_dir = path("hub");
    hub::ShardStore store(options.state_dir / "shards");
    manifest_.dataset.clear();
    for (std::size_t i = 0; i < texts_.size(); ++i) {
      const auto file = path("shard" + std::to_string(i) + ".txt");
      std::ofstream(file, std::ios::binary) << texts_[i];
      const auto hash = store.add(file);
      manifest_.shards.push_back({hash, texts_[i].size(), i == 0 ? "" : wallet::address_of(owner_.public_key())});
      manifest_.dataset.push_back(hash);
    }
    protocol::sign_manifest(manifest_, publisher_);
    hub_ = std::make_unique<hub::HubService>(manifest_, options);
    hub_->start();
    tap_ = std::make_unique<StepsTap>(hub_->url());
    start(a_, "a");
    QVERIFY(wait_until([&] { return a_.ready(); }, 60s));
    QCOMPARE(a_.node->stage(), 0);
    start(b_, "b");
    QVERIFY(wait_until([&] { return b_.ready(); }, 60s));
    QCOMPARE(b_.node->stage(), 1);
  }

  void cleanupTestCase() {
    for (auto* running : {&a_, &b_}) {
      running->stop = true;
      if (running->thread.joinable()) running->thread.join();
    }
    tap_.reset();
    if (hub_) hub_->stop();
  }

  void theDriverTrainsOnTheFetchedShards() {
    QVERIFY2(wait_until([&] { return tap_->posted().size() >= 3; }, 120s), "the driver does not commit steps");
    for (const auto& shard : manifest_.shards) {
      const auto cached = path("a") / "shards" / shard.hash;
      QVERIFY2(std::filesystem::exists(cached), shard.hash.c_str());
      QCOMPARE(protocol::shard_file_hash(cached), shard.hash);
      QVERIFY(!std::filesystem::exists(path("b") / "shards" / shard.hash));
    }
    const auto corpus = model::DataSource::from_shards(texts_, manifest_.model.context, manifest_.model.seed, "shards");
    const auto arithmetic = model::DataSource::arithmetic(manifest_.model.context, manifest_.model.seed);
    for (const auto& posted : tap_->posted()) {
      const auto& record = posted.record.record;
      QCOMPARE(record.tokens_hashes.size(), std::size_t(manifest_.train.micro_batches));
      for (int m = 0; m < manifest_.train.micro_batches; ++m) {
        const auto step = static_cast<std::int64_t>(record.step);
        const auto& digest = record.tokens_hashes[static_cast<std::size_t>(m)];
        QVERIFY(digest == protocol::tokens_digest(corpus.micro_batch(step, m, manifest_.train.micro_batches,
                                                                     manifest_.train.micro_batch_size)));
        QVERIFY(digest != protocol::tokens_digest(arithmetic.micro_batch(step, m, manifest_.train.micro_batches,
                                                                         manifest_.train.micro_batch_size)));
      }
    }
  }
};

QTEST_APPLESS_MAIN(TestSwarmShards)
#include "test_swarm_shards.moc"
