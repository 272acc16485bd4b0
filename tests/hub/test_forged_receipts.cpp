// The forging attack of issue 17 against the real tessera-hub: two fresh node keys of one fresh
// owner join a run beside an honest pair, re-join until they sit on neighbouring stages, and sign
// 2,000 receipts each for the other's "work" without ever serving a stage. The hub credits them
// nothing: receipts for committed steps are not their slots, receipts ahead of the last record
// wait and are rejected once a later step commits without them, and GET /api/work counts every
// rejection against the forger's key. The honest pair keeps exactly the credit of its slots, and
// a forger cannot commit steps of its own (it is not the driver the hub names).
#include <QtTest>

#include <httplib.h>

#include "core/hub/node_tally.h"
#include "core/protocol/hub_api.h"
#include "hub_crash_support.h"
#include "tests/support/step_records.h"

using namespace tessera;
using namespace hub_crash;
using protocol::Direction;
namespace api = protocol::hub_api;

namespace {

constexpr std::uint64_t kHonestSteps = 10;
constexpr std::uint64_t kForged = 2000;

nlohmann::json get_json(const std::string& url, const std::string& path) {
  httplib::Client client(url);
  client.set_read_timeout(std::chrono::seconds(30));
  const auto result = client.Get(path);
  if (!result || result->status != 200) throw std::runtime_error("GET " + path + " failed");
  return nlohmann::json::parse(result->body);
}

// The node's counters in the open epoch (GET /api/work), {} when it has none.
nlohmann::json work_of(const std::string& url, const wallet::PublicKey& node) {
  const auto reply = get_json(url, std::string(api::kWork) + "?node=" + wallet::to_hex(node));
  return reply["epochs"].empty() ? nlohmann::json::object() : reply["epochs"][0]["counters"];
}

// Joins `node` for `owner` (one owner for both forgers).
int join_for(const std::string& url, const std::string& run_id, const wallet::KeyPair& node,
             const wallet::KeyPair& owner) {
  client::HubClient hub(url);
  protocol::JoinRequest request;
  request.delegation = wallet::sign_delegation(owner, node.public_key(), run_id, 4102444800);
  request.endpoint = "tcp://127.0.0.1:1";
  request.device = {"cpu", 8ull << 30, 1000.0};
  return hub.join(node, request);
}

std::uint64_t report_all(const std::string& url, const wallet::KeyPair& sender,
                         const std::vector<protocol::SignedReceipt>& receipts, nlohmann::json& rejected) {
  client::HubClient hub(url, std::chrono::milliseconds(30000));
  std::uint64_t accepted = 0;
  for (std::size_t at = 0; at < receipts.size(); at += 500) {
    const std::vector<protocol::SignedReceipt> batch(receipts.begin() + static_cast<std::ptrdiff_t>(at),
                                                     receipts.begin() + static_cast<std::ptrdiff_t>(std::min(at + 500, receipts.size())));
    const auto answer = hub.report_receipts(sender, batch);
    accepted += answer["accepted"].get<std::uint64_t>();
    for (const auto& reason : answer["rejected"]) rejected.push_back(reason);
  }
  return accepted;
}

}  // namespace

class TestForgedReceipts : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void sybilNeighboursSigningForEachOtherEarnNothing() {
    QTemporaryDir dir;
    const auto publisher = wallet::KeyPair::generate();
    const auto manifest = write_run(dir.path().toStdString(), publisher, 3600);
    HubProcess process(dir.filePath(QStringLiteral("data")), dir.filePath(QStringLiteral("manifest.json")),
                       dir.filePath(QStringLiteral("publisher.json")));
    const auto url = process.wait_serving();
    QVERIFY2(!url.empty(), qPrintable(process.output()));

    // The honest pair: the driver at stage 0 and its neighbour at stage 1.
    Node driver, neighbour;
    join(url, manifest.run_id, driver);
    join(url, manifest.run_id, neighbour);
    QCOMPARE(driver.stage, 0);
    QCOMPARE(neighbour.stage, 1);
    client::HubClient(url).ready(driver.key);
    client::HubClient(url).ready(neighbour.key);

    // The forgers: one fresh owner, two fresh keys, re-joining until they are neighbours.
    const auto owner = wallet::KeyPair::generate();
    const auto a = wallet::KeyPair::generate(), b = wallet::KeyPair::generate();
    int stage_a = join_for(url, manifest.run_id, a, owner), stage_b = join_for(url, manifest.run_id, b, owner);
    for (int tries = 0; stage_a == stage_b && tries < 3; ++tries) stage_b = join_for(url, manifest.run_id, b, owner);
    QVERIFY(stage_a != stage_b);
    const auto& first = stage_a == 0 ? a : b;   // stage 0: forward work, receipted by the other
    const auto& second = stage_a == 0 ? b : a;  // stage 1: backward work, receipted by the other

    // The honest steps, each with the hub's route seed, and their receipts.
    auto seed = test::next_route_seed(url, manifest.run_id, driver.key);
    QVERIFY(seed && seed->verify(publisher.public_key()));
    std::vector<protocol::SignedReceipt> honest_forward, honest_backward;
    for (std::uint64_t step = 1; step <= kHonestSteps; ++step) {
      const auto record = test::step_record(manifest, step, driver.key.public_key(),
                                            {{driver.key.public_key()}, {neighbour.key.public_key()}}, seed);
      const auto reply = test::post_step(url, record, driver.key);
      QVERIFY(reply);
      QVERIFY2(reply->status == 200, reply->body.c_str());
      seed = protocol::SignedRouteSeed::from_hex(nlohmann::json::parse(reply->body)["route_seed"].get<std::string>());
      QVERIFY(seed);
      honest_forward.push_back(test::slot_receipt(record, 0, Direction::Forward, 0, driver.key.public_key(), neighbour.key));
      honest_backward.push_back(test::slot_receipt(record, 0, Direction::Backward, 1, neighbour.key.public_key(), driver.key));
    }
    // A forger cannot commit a step naming itself: it is not the driver the hub names.
    const auto own_step = test::step_record(manifest, kHonestSteps + 1, first.public_key(),
                                            {{first.public_key()}, {second.public_key()}}, seed);
    QCOMPARE(test::post_step(url, own_step, first)->status, 403);

    // The attack: 2,000 receipts each, for steps 1 … 2,000, each signed by the other forger.
    std::vector<protocol::SignedReceipt> forged_first, forged_second;
    for (std::uint64_t step = 1; step <= kForged; ++step) {
      const auto record = test::step_record(manifest, step, first.public_key(), {{first.public_key()}, {second.public_key()}});
      forged_first.push_back(test::slot_receipt(record, 0, Direction::Forward, 0, first.public_key(), second));
      forged_second.push_back(test::slot_receipt(record, 0, Direction::Backward, 1, second.public_key(), first));
    }
    nlohmann::json rejected = nlohmann::json::array();
    QCOMPARE(report_all(url, first, forged_first, rejected), std::uint64_t(0));
    QCOMPARE(report_all(url, second, forged_second, rejected), std::uint64_t(0));
    QCOMPARE(rejected.size(), std::size_t(2 * kHonestSteps));  // the rest wait for their steps' records

    // The honest driver commits a later step (routed by the hub's newest seed, as any later step
    // must be): every forged receipt still waiting is rejected.
    const auto later = test::step_record(manifest, kForged + 1, driver.key.public_key(),
                                         {{driver.key.public_key()}, {neighbour.key.public_key()}}, seed);
    QCOMPARE(test::post_step(url, later, driver.key)->status, 200);

    // Honest credit is exact; the forgers' is nothing, and every forged receipt is counted.
    QCOMPARE(report_all(url, driver.key, honest_forward, rejected), kHonestSteps);
    QCOMPARE(report_all(url, neighbour.key, honest_backward, rejected), kHonestSteps);
    QCOMPARE(rejected.size(), std::size_t(2 * kHonestSteps));
    for (const auto* forger : {&first, &second}) {
      const auto counters = work_of(url, forger->public_key());
      QCOMPARE(counters.value(hub::kCreditedReceipts, 0.0), 0.0);
      QCOMPARE(counters.value("rejected:not-the-slot", 0.0), double(kHonestSteps));
      QCOMPARE(counters.value("rejected:not-committed", 0.0), double(kForged - kHonestSteps));
    }
    QCOMPARE(work_of(url, driver.key.public_key()).value(hub::kCreditedReceipts, 0.0), double(kHonestSteps));
    const auto summary = get_json(url, api::kReceiptSummary);
    QCOMPARE(summary["verified"].get<std::uint64_t>(), 2 * kHonestSteps);
    QCOMPARE(summary["rejected"].get<std::uint64_t>(), 2 * kForged);
    const auto epoch = get_json(url, api::kEpoch);
    QCOMPARE(epoch["owners_with_work"].get<std::uint64_t>(), std::uint64_t(2));  // the honest owners only
    const double honest_flops =
        kHonestSteps * (protocol::receipt_flops(manifest.model, manifest.stages, Direction::Forward, 0, 16) +
                        protocol::receipt_flops(manifest.model, manifest.stages, Direction::Backward, 1, 16));
    QCOMPARE(epoch["flops"].get<double>(), honest_flops);
  }
};

QTEST_APPLESS_MAIN(TestForgedReceipts)
#include "test_forged_receipts.moc"
