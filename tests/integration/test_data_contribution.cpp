// A data contribution end to end with the real binaries (issue 21, docs/data.md): `tessera-hub
// init --dataset own.txt --data-rate 333` publishes a run on the publisher's own text; `tessera-hub`
// serves it; a contributor's machine proposes its text with `tessera-node data propose` (through
// the run's URL http://127.0.0.1:P/runs/<run>), and the same bytes under a hash they do not have
// are refused with 400; `tessera-hub data list` shows the good proposal, `tessera-hub data accept
// ... --publisher-key` makes revision 1 naming it; a trainer's `tessera-node run` trains steps on
// that revision; the hub closes epochs on its own (--epoch-seconds 2), and the contributor's signed
// leaf holds exactly floor(tokens of its shard trained x 333 / 1000) data units, the tokens
// computed here with model::ShardAttribution from the committed steps (GET progress).
#include <QtTest>

#include <QDateTime>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/model/corpus_layout.h"
#include "core/protocol/data_shard.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/run_catalog.h"
#include "core/protocol/run_paths.h"
#include "core/protocol/statement.h"
#include "tests/integration/hub_and_node.h"

using namespace tessera;
using test::q;
namespace fs = std::filesystem;
namespace api = protocol::hub_api;

namespace {

constexpr char kRun[] = "data-e2e";
constexpr std::uint64_t kRate = 333;  // data units per 1,000 trained tokens: most totals leave a fraction

std::string text_of(std::size_t bytes, const std::string& alphabet) {
  std::string text;
  for (std::size_t i = 0; i < bytes; ++i) text += alphabet[(i * 7 + i / 5) % alphabet.size()];
  return text;
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string run_api(const std::string& path) { return protocol::run_path_prefix(kRun) + path; }

protocol::RunCatalogEntry catalog_entry(int port) {
  const auto catalog = protocol::run_catalog_from_json(test::hub_get(port, protocol::kRunCatalogPath).body);
  if (catalog.runs.size() != 1) throw std::runtime_error("the hub does not list its one run");
  return catalog.runs[0];
}

// The latest settled epoch, 0 before the first.
std::uint64_t latest_epoch(int port) {
  const auto reply = test::hub_get(port, run_api(api::kLatestStatement));
  return reply.status == 200 ? protocol::statement_from_json(reply.body).epoch : 0;
}

}  // namespace

class TestDataContribution : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  fs::path root_;
  wallet::KeyPair publisher_ = wallet::KeyPair::generate(), hub_key_ = wallet::KeyPair::generate();
  std::string own_ = text_of(2000, "abcdefghij\n"), contributed_ = text_of(3000, "KLMNOPQRST .");

  // The contributor's bytes sent under a hash that is not theirs, signed and delegated as a node
  // would: the hub must refuse them.
  httplib::Result tampered_proposal(int port, const test::NodeMachine& contributor) const {
    const auto path = run_api(api::kShards);
    const auto signature = protocol::to_headers(protocol::sign_hub_request(
        kRun, "POST", path, contributed_, QDateTime::currentMSecsSinceEpoch(), contributor.key));
    const httplib::Headers headers{{protocol::kNodeKeyHeader, signature.node_key},
                                   {protocol::kTimeHeader, signature.time_ms},
                                   {protocol::kSignatureHeader, signature.signature},
                                   {protocol::kShardHashHeader, protocol::shard_hash(contributed_ + "!")},
                                   {protocol::kDelegationHeader, contributor.delegation().to_json().dump()}};
    httplib::Client http("127.0.0.1", port);
    return http.Post(path, headers, contributed_, "application/octet-stream");
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    root_ = dir_.path().toStdString();
    wallet::write_solana_keypair_file(root_ / "publisher.json", publisher_);
    wallet::write_solana_keypair_file(root_ / "hub.json", hub_key_);
    std::ofstream(root_ / "own.txt", std::ios::binary) << own_;
    std::ofstream(root_ / "contributed.txt", std::ios::binary) << contributed_;
  }

  void aContributedShardIsAcceptedTrainedAndCredited() {
    // The run, written into the hub's state folder so that its own shard is served from there.
    const auto data = root_ / "hub-data";
    fs::create_directories(data / "hub");
    const auto manifest_file = data / "hub" / "data-e2e.json";
    const auto written = test::run_process(
        QStringLiteral(TESSERA_HUB_BIN),
        {"init", "--run", kRun, "--layers", "2", "--width", "64", "--context", "32", "--stages", "1", "--dataset",
         q(root_ / "own.txt"), "--epoch-seconds", "2", "--data-rate", QString::number(kRate), "--publisher-key",
         q(root_ / "publisher.json"), "--hub-key", q(root_ / "hub.json"), "--out", q(manifest_file)},
        {}, 30000);
    QVERIFY2(written.exit_code == 0, qPrintable(written.err));
    const auto first = protocol::manifest_from_json(nlohmann::json::parse(read_text(manifest_file)));
    QCOMPARE(first.shards.size(), std::size_t(1));
    QCOMPARE(first.shards[0].hash, protocol::shard_hash(own_));
    QCOMPARE(first.data_units_per_1k_tokens, kRate);

    test::HubProcess hub(data, {"--manifest", q(manifest_file), "--hub-key", q(root_ / "hub.json")});
    const int port = hub.wait_port();
    QVERIFY2(port > 0, qPrintable(hub.output()));
    QCOMPARE(catalog_entry(port).revision, std::uint64_t(0));
    const auto run_url = hub.url() + protocol::run_path_prefix(kRun);

    // The contributor proposes its text; the same bytes under another hash are refused.
    test::NodeMachine contributor(root_ / "contributor");
    const auto refused = tampered_proposal(port, contributor);
    QVERIFY(refused);
    QCOMPARE(refused->status, 400);
    QVERIFY2(refused->body.find("hash to " + protocol::shard_hash(contributed_)) != std::string::npos,
             refused->body.c_str());
    const auto proposed = test::node_command(contributor.data_dir, {"data", "propose", QString::fromStdString(run_url),
                                                                    q(root_ / "contributed.txt")});
    QVERIFY2(proposed.exit_code == 0, qPrintable(proposed.err + proposed.out));
    const auto hash = protocol::shard_hash(contributed_);
    QVERIFY2(proposed.out.startsWith(QString::fromStdString(hash) + "\n"), qPrintable(proposed.out));
    QVERIFY(proposed.out.contains("pending review"));

    const auto listed = test::hub_command(data, {"data", "list"});
    QVERIFY2(listed.exit_code == 0, qPrintable(listed.err));
    QVERIFY2(listed.out.contains(QString::fromStdString(hash)), qPrintable(listed.out));
    QVERIFY(listed.out.contains(QString::fromStdString(contributor.owner_address)));
    QVERIFY(!listed.out.contains(QString::fromStdString(protocol::shard_hash(contributed_ + "!"))));

    // The publisher accepts it: revision 1, the shards in manifest order, the contributor named.
    const auto accepted = test::hub_command(
        data, {"data", "accept", kRun, QString::fromStdString(hash), "--publisher-key", q(root_ / "publisher.json")});
    QVERIFY2(accepted.exit_code == 0, qPrintable(accepted.err + accepted.out));
    QVERIFY(test::wait_for([&] { return catalog_entry(port).revision == 1; }, 10000));
    const auto entry = catalog_entry(port);
    QCOMPARE(entry.dataset, (std::vector<std::string>{protocol::shard_hash(own_), hash}));
    QCOMPARE(entry.data_units_per_1k_tokens, kRate);
    const auto served = test::hub_get(port, run_api(api::kManifest));
    QCOMPARE(served.status, 200);
    const auto manifest = protocol::manifest_from_json(served.body);
    QVERIFY(protocol::verify_manifest(manifest, publisher_.public_key()));
    QCOMPARE(manifest.revision, std::uint64_t(1));
    QCOMPARE(manifest.shards.size(), std::size_t(2));
    QCOMPARE(manifest.shards[1].contributor, contributor.owner_address);
    QCOMPARE(manifest.shards[1].bytes, std::uint64_t(contributed_.size()));

    // A trainer (another owner) trains the new revision a few steps, then stops.
    test::NodeMachine trainer(root_ / "trainer");
    {
      test::NodeProcess node(trainer, run_url);
      QVERIFY2(test::wait_for(
                   [&] {
                     const auto progress = test::hub_get(port, run_api(api::kProgress));
                     return !node.running() || (progress.status == 200 && progress.body["total"].get<int>() >= 3);
                   },
                   45000) &&
                   node.running(),
               node.output().constData());
      QVERIFY(fs::exists(trainer.data_dir / "shards" / hash));  // it fetched the contributed shard
      QCOMPARE(node.stop(), 0);
    }

    // The tokens of the contributed shard in every committed step, as the hub must count them. The
    // driver's records number the steps from 0 (the model's step before it, what its data is cut
    // by); progress shows each as that number + 1.
    const auto progress = test::hub_get(port, run_api(std::string(api::kProgress) + "?since=0")).body;
    const auto steps = progress["steps"];
    QCOMPARE(steps.size(), progress["total"].get<std::size_t>());
    QVERIFY(steps.size() >= 3);
    const model::ShardAttribution attribution({own_.size(), contributed_.size()}, manifest.model.context,
                                              manifest.model.seed);
    std::set<std::uint64_t> numbers;
    std::uint64_t tokens = 0, all_tokens = 0;
    for (const auto& step : steps) {
      const auto number = step["step"].get<std::uint64_t>() - 1;
      QVERIFY(numbers.insert(number).second);
      const auto trained = attribution.step_tokens(static_cast<std::int64_t>(number), manifest.train.micro_batches,
                                                   manifest.train.micro_batch_size);
      tokens += trained[1];
      all_tokens += trained[0] + trained[1];
    }
    QCOMPARE(catalog_entry(port).steps, std::uint64_t(numbers.size()));  // the steps the run committed
    QCOMPARE(std::size_t(*numbers.rbegin() + 1), numbers.size());  // every one of them, from 0
    QCOMPARE(all_tokens, std::uint64_t(steps.size()) * entry.tokens_per_step);
    QVERIFY(tokens > 0 && tokens < all_tokens);

    // An epoch closed after the last commit: the contributor's leaf, signed by the hub key.
    const auto before = latest_epoch(port);
    QVERIFY(test::wait_for([&] { return latest_epoch(port) > before; }, 10000));
    const auto epoch = latest_epoch(port);
    const auto statement_reply = test::hub_get(port, run_api(api::statement_path(epoch)));
    const auto proof_reply = test::hub_get(port, run_api(api::proof_path(epoch, contributor.owner_address)));
    QCOMPARE(statement_reply.status, 200);
    QCOMPARE(proof_reply.status, 200);
    const auto statement = protocol::statement_from_json(statement_reply.body);
    const auto proof = protocol::leaf_proof_from_json(proof_reply.body);
    QVERIFY(protocol::verify_statement(statement, hub_key_.public_key()));
    QVERIFY(protocol::verify_leaf(statement, proof));
    qInfo("%zu steps trained %llu tokens of the contributed shard: %llu data units at %llu per 1,000", steps.size(),
          static_cast<unsigned long long>(tokens), static_cast<unsigned long long>(proof.leaf.data_units),
          static_cast<unsigned long long>(kRate));
    QCOMPARE(proof.leaf.data_units, tokens * kRate / 1000);
    QCOMPARE(proof.leaf.units, proof.leaf.data_units);  // the contributor computed nothing
    QCOMPARE(statement.total_data_units, proof.leaf.data_units);  // the publisher's own shard credits no one
    // The trainer, when its work is credited by then, has compute units and no data units.
    const auto trainer_proof = test::hub_get(port, run_api(api::proof_path(epoch, trainer.owner_address)));
    if (trainer_proof.status == 200)
      QCOMPARE(protocol::leaf_proof_from_json(trainer_proof.body).leaf.data_units, std::uint64_t(0));
  }
};

QTEST_GUILESS_MAIN(TestDataContribution)
#include "test_data_contribution.moc"
