// A killed hub credits nothing twice and loses nothing it acknowledged (DESIGN.md "Trust model"):
// the real tessera-hub runs on a state folder while nodes (real HubClients, four threads) report
// signed receipt batches, and is SIGKILLed at random moments, many rounds, and restarted; a batch
// left without an answer is sent again, as a node's outbox does; every receipt claims a slot of a
// step the test's driver committed first. At the end every receipt is in
// the hub's store exactly once and credited exactly once, repeats are counted as duplicates, and
// nothing was rejected.
//   receiptsSurviveKills       kills while batches are reported (epochs of an hour: no close)
//   epochClosesSurviveKills    epochs of 1 s and kills aimed at the closes; then every statement
//                              verifies with the hub key, balances only grow, and each owner's
//                              units are its credited work in MFLOPs
// TESSERA_CRASH_ROUNDS sets the number of rounds (25 by default).
#include <QtTest>

#include <httplib.h>

#include "core/protocol/hub_api.h"
#include "core/protocol/statement.h"
#include "hub_crash_support.h"

using namespace tessera;
using namespace hub_crash;

namespace {

nlohmann::json get_json(const std::string& url, const std::string& path) {
  httplib::Client client(url);
  client.set_read_timeout(std::chrono::seconds(30));
  const auto result = client.Get(path);
  if (!result) throw std::runtime_error("GET " + path + " got no answer");
  if (result->status != 200) throw std::runtime_error("GET " + path + ": HTTP " + std::to_string(result->status));
  return nlohmann::json::parse(result->body);
}

// Every verified receipt the hub serves, page by page: id → how many times it is listed.
std::map<std::string, int> stored_receipts(const std::string& url) {
  std::map<std::string, int> ids;
  for (std::size_t offset = 0;;) {
    const auto page = get_json(url, std::string(protocol::hub_api::kReceipts) + "?offset=" + std::to_string(offset) +
                                        "&limit=10000");
    for (const auto& item : page["receipts"]) ++ids[protocol::signed_receipt_from_json(item).id()];
    if (page["receipts"].empty()) return ids;
    offset += page["receipts"].size();
  }
}

struct Swarm {
  QTemporaryDir dir;
  wallet::KeyPair publisher = wallet::KeyPair::generate();
  protocol::RunManifest manifest;
  std::vector<Node> nodes;
  std::vector<Reporter> reporters;

  Swarm(std::int64_t epoch_seconds, std::size_t node_count) : nodes(node_count) {
    manifest = write_run(path(), publisher, epoch_seconds);
  }
  std::filesystem::path path() const { return dir.path().toStdString(); }
  HubProcess start() {
    return HubProcess(dir.filePath(QStringLiteral("data")), dir.filePath(QStringLiteral("manifest.json")),
                      dir.filePath(QStringLiteral("publisher.json")));
  }
  // Joins every node (once: the hub keeps its members across restarts) and pairs each with a
  // neighbour that signs its receipts.
  void join_all(const std::string& url) {
    for (auto& node : nodes) join(url, manifest.run_id, node);
    const Node* first[2] = {nullptr, nullptr};
    for (const auto& node : nodes) first[node.stage] = first[node.stage] ? first[node.stage] : &node;
    QVERIFY(first[0] && first[1]);
    reporters.reserve(nodes.size());
    unsigned seed = QRandomGenerator::global()->generate();
    for (const auto& node : nodes) reporters.emplace_back(manifest, node, *first[1 - node.stage], seed++);
    commit_steps(url, *first[0], 16);
  }
  // The driver (a stage-0 node, made ready) commits `per_reporter` steps for each reporter with
  // the reporter and its receiver on the route, each with the hub's route seed: the slots its
  // receipts may claim.
  void commit_steps(const std::string& url, const Node& driver, int per_reporter) {
    client::HubClient hub(url);
    hub.ready(driver.key);
    auto seed = test::next_route_seed(url, manifest.run_id, driver.key);
    QVERIFY(seed);
    std::uint64_t step = 1;
    for (int k = 0; k < per_reporter; ++k, hub.heartbeat(driver.key))  // the driver stays listed
      for (auto& reporter : reporters) {
        const bool forward = reporter.sender().stage == 0;
        const auto& zero = forward ? reporter.sender() : reporter.receiver();
        const auto& one = forward ? reporter.receiver() : reporter.sender();
        const auto record = test::step_record(manifest, step, driver.key.public_key(),
                                              {{zero.key.public_key()}, {one.key.public_key()}}, seed);
        const auto reply = test::post_step(url, record, driver.key);
        QVERIFY(reply);
        QVERIFY2(reply->status == 200, reply->body.c_str());
        seed = protocol::SignedRouteSeed::from_hex(nlohmann::json::parse(reply->body)["route_seed"].get<std::string>());
        reporter.add_committed_step(step++);
      }
  }
  // After the last restart: every pending batch answered.
  void flush(const std::string& url) {
    for (auto& reporter : reporters)
      QVERIFY2(reporter.flush(url), reporter.last_error().c_str());
  }
  void check_answers() const {
    for (const auto& reporter : reporters)
      for (const auto& problem : reporter.problems()) QFAIL(problem.c_str());
  }
};

// Receipt ids stored exactly once, all of them, and the tally agreeing.
void check_receipts(const Swarm& swarm, const std::string& url) {
  std::map<std::string, double> made;
  std::uint64_t answered_duplicates = 0;
  for (const auto& reporter : swarm.reporters) {
    made.insert(reporter.made().begin(), reporter.made().end());
    answered_duplicates += reporter.answered_duplicates();
  }
  const auto stored = stored_receipts(url);
  QCOMPARE(stored.size(), made.size());
  for (const auto& [id, count] : stored) {
    QVERIFY2(count == 1,
             qPrintable(QStringLiteral("receipt %1 is stored %2 times").arg(QString::fromStdString(id)).arg(count)));
    QVERIFY2(made.count(id), "the hub holds a receipt no node reported");
  }
  const auto tally = client::HubClient(url).receipt_summary();
  QCOMPARE(tally["verified"].get<std::uint64_t>(), std::uint64_t(made.size()));
  QCOMPARE(tally["rejected"].get<std::uint64_t>(), std::uint64_t(0));
  QVERIFY(tally["duplicates"].get<std::uint64_t>() >= answered_duplicates);
  qInfo("%zu receipts stored once each; %llu duplicates answered, %llu counted", made.size(),
        static_cast<unsigned long long>(answered_duplicates),
        static_cast<unsigned long long>(tally["duplicates"].get<std::uint64_t>()));
}

}  // namespace

class TestHubCrash : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void receiptsSurviveKills() {
    Swarm swarm(3600, 4);
    std::mt19937 random(QRandomGenerator::global()->generate());
    const int rounds = crash_rounds(25);
    std::uint64_t resent = 0;
    for (int round = 0; round < rounds; ++round) {
      auto hub = swarm.start();
      const auto url = hub.wait_serving();
      QVERIFY2(!url.empty(), qPrintable(hub.output().right(3000)));
      if (round == 0) swarm.join_all(url);
      if (QTest::currentTestFailed()) return;
      std::atomic<bool> stop{false};
      std::thread reporting([&] { report_all(swarm.reporters, url, stop); });
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + random() % 550));
      hub.kill();
      stop = true;
      reporting.join();
    }
    for (const auto& reporter : swarm.reporters) resent += reporter.resent_batches();
    auto hub = swarm.start();
    const auto url = hub.wait_serving();
    QVERIFY2(!url.empty(), qPrintable(hub.output().right(3000)));
    swarm.flush(url);
    swarm.check_answers();
    check_receipts(swarm, url);
    if (QTest::currentTestFailed()) return;
    // The open epoch holds exactly the work of every receipt (whole FLOPs: the sums are exact).
    const auto epoch = get_json(url, protocol::hub_api::kEpoch);
    double made = 0;
    for (const auto& reporter : swarm.reporters) made += reporter.flops_made();
    QCOMPARE(epoch["flops"].get<double>(), made);
    QCOMPARE(epoch["owners_with_work"].get<std::uint64_t>(), std::uint64_t(swarm.nodes.size()));
    QCOMPARE(epoch["settled_epochs"].get<std::uint64_t>(), std::uint64_t(0));
    qInfo("%d kills, %llu batches sent again after a kill", rounds, static_cast<unsigned long long>(resent));
  }

  void epochClosesSurviveKills() {
    Swarm swarm(1, 8);
    std::mt19937 random(QRandomGenerator::global()->generate());
    const int rounds = crash_rounds(25);
    for (int round = 0; round < rounds; ++round) {
      auto hub = swarm.start();
      const auto url = hub.wait_serving();
      QVERIFY2(!url.empty(), qPrintable(hub.output().right(3000)));
      QElapsedTimer serving;
      serving.start();
      if (round == 0) swarm.join_all(url);
      if (QTest::currentTestFailed()) return;
      std::atomic<bool> stop{false};
      std::thread reporting([&] { report_all(swarm.reporters, url, stop); });
      // The hub closes an epoch every second from its start: kill around the first or second close.
      const auto at = 1000 * (1 + static_cast<int>(random() % 2)) - 20 + static_cast<int>(random() % 60);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::max<qint64>(0, at - serving.elapsed())));
      hub.kill();
      stop = true;
      reporting.join();
    }
    auto hub = swarm.start();
    const auto url = hub.wait_serving();
    QVERIFY2(!url.empty(), qPrintable(hub.output().right(3000)));
    swarm.flush(url);
    swarm.check_answers();
    check_receipts(swarm, url);
    if (QTest::currentTestFailed()) return;
    // Wait for a close that settles everything credited (nothing more comes).
    nlohmann::json epoch;
    for (int wait = 0; wait < 100; ++wait) {
      epoch = get_json(url, protocol::hub_api::kEpoch);
      if (epoch["flops"].get<double>() == 0.0 && epoch["owners_with_work"].get<std::uint64_t>() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    QCOMPARE(epoch["flops"].get<double>(), 0.0);
    check_statements(swarm, url, epoch["settled_epochs"].get<std::uint64_t>());
  }

 private:
  // Every epoch 1..last: signed by the hub key, its proofs verify and add up to its totals, and
  // no owner's units or revenue ever shrink; at the last, units = credited FLOPs / 10^6.
  void check_statements(const Swarm& swarm, const std::string& url, std::uint64_t last) {
    QVERIFY(last >= 1);
    std::map<std::string, protocol::OwnerLeaf> before;
    for (std::uint64_t n = 1; n <= last; ++n) {
      const auto statement = protocol::statement_from_json(get_json(url, protocol::hub_api::statement_path(n)));
      QCOMPARE(statement.epoch, n);
      QVERIFY2(protocol::verify_statement(statement, swarm.publisher.public_key()), qPrintable(QString::number(n)));
      std::uint64_t units = 0;
      for (const auto& node : swarm.nodes) {
        const auto owner = node.owner_address();
        httplib::Client client(url);
        const auto reply = client.Get(protocol::hub_api::proof_path(n, owner));
        QVERIFY(reply);
        if (reply->status == 404) {
          QVERIFY2(!before.count(owner), "an owner disappeared from a later statement");
          continue;
        }
        const auto proof = protocol::leaf_proof_from_json(nlohmann::json::parse(reply->body));
        QVERIFY(protocol::verify_leaf(statement, proof));
        if (before.count(owner)) {
          QVERIFY2(proof.leaf.units >= before[owner].units, "units shrank");
          QVERIFY2(proof.leaf.revenue >= before[owner].revenue, "revenue shrank");
        }
        before[owner] = proof.leaf;
        units += proof.leaf.units;
      }
      QCOMPARE(units, statement.total_units);
    }
    for (const auto& reporter : swarm.reporters) {
      const auto expected = static_cast<std::uint64_t>(std::floor(reporter.flops_made() / protocol::kFlopsPerUnit));
      QCOMPARE(before[reporter.sender().owner_address()].units, expected);
    }
    qInfo("%llu epochs settled across the kills, every statement consistent", static_cast<unsigned long long>(last));
  }
};

QTEST_GUILESS_MAIN(TestHubCrash)
#include "test_hub_crash.moc"
