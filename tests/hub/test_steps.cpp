// Credit follows commits (docs/hub.md), through a real HubService on loopback: the driver's step
// records are refused unless they are the named driver's, signed, this run's shape, above the last
// step, of members at their stages and in the hub's route order; receipts are credited only for a
// slot of a committed step, once per slot and direction, with the manifest's tokens; receipts
// ahead of their step's record wait and are credited when it comes, or rejected when it never
// does; every rejection is counted per node under GET /api/work; observers see what committed.
#include <QtTest>

#include <algorithm>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/hub/hub_service.h"
#include "core/hub/node_tally.h"
#include "core/hub/pending_receipts.h"
#include "core/hub/work_observer.h"
#include "core/wallet/encoding.h"
#include "tests/support/step_records.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using nlohmann::json;
using protocol::Direction;
namespace api = protocol::hub_api;

namespace {

struct CountingObserver : hub::WorkObserver {
  int steps = 0;
  int receipts = 0;
  double flops = 0;
  void step_committed(hub::HubStore::Transaction&, const protocol::StepRecord&) override { ++steps; }
  void receipt_credited(hub::HubStore::Transaction&, const protocol::SignedReceipt&, double credited) override {
    ++receipts;
    flops += credited;
  }
};

struct Member {
  wallet::KeyPair key = wallet::KeyPair::generate();
  int stage = -1;
  const wallet::PublicKey& id() const { return key.public_key(); }
};

// A hub of a two-stage run with four micro-batches a step, and its members.
struct TestHub {
  wallet::KeyPair publisher = wallet::KeyPair::generate();
  wallet::KeyPair owner = wallet::KeyPair::generate();
  protocol::RunManifest manifest;
  CountingObserver observer;
  std::unique_ptr<hub::HubService> service;

  explicit TestHub(bool with_hub_key = true, const std::filesystem::path& state_dir = {},
                   const wallet::KeyPair* same_run_publisher = nullptr) {
    if (same_run_publisher) publisher = wallet::KeyPair::from_seed(same_run_publisher->seed());
    manifest = test::tiny_two_stage_manifest("steps");
    manifest.train.micro_batches = 4;
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    hub::HubOptions options;
    options.membership.joins_per_owner = {1000, 1000};
    options.membership.joins_per_address = {1000, 1000};
    if (with_hub_key) options.hub_key = &publisher;
    options.state_dir = state_dir;
    service = std::make_unique<hub::HubService>(manifest, options);
    service->add_work_observer(observer);
    service->start();
  }
  std::string url() const { return service->url(); }

  Member join(double tokens_per_s = 1000) {
    Member member;
    client::HubClient client(url());
    const protocol::JoinRequest request{
        wallet::sign_delegation(owner, member.id(), wallet::kAnyRun, 4102444800), "tcp://127.0.0.1:1",
        {"cpu", 1ull << 34, tokens_per_s}};
    member.stage = client.join(member.key, request);
    return member;
  }
  void ready(const Member& member) { client::HubClient(url()).ready(member.key); }
  std::optional<protocol::SignedRouteSeed> seed(const Member& asking) {
    return test::next_route_seed(url(), manifest.run_id, asking.key);
  }
  int post(const protocol::StepRecord& record, const Member& sender, std::string* body = nullptr) {
    const auto reply = test::post_step(url(), record, sender.key);
    if (body) *body = reply ? reply->body : "";
    return reply ? reply->status : 0;
  }
  json report(const Member& sender, const std::vector<protocol::SignedReceipt>& receipts) {
    return client::HubClient(url()).report_receipts(sender.key, receipts);
  }
  json work(const std::string& node_hex) {
    httplib::Client client(url());
    const auto reply = client.Get(std::string(api::kWork) + "?node=" + node_hex);
    return reply ? json{{"status", reply->status}, {"body", json::parse(reply->body, nullptr, false)}} : json();
  }
  double counter(const Member& member, const std::string& name) {
    const auto answer = work(wallet::to_hex(member.id()));
    const auto& epochs = answer["body"]["epochs"];
    if (epochs.empty()) return 0;
    return epochs[0]["counters"].value(name, 0.0);
  }
};

bool has_reason(const json& answer, const std::string& code) {
  for (const auto& reason : answer["rejected"])
    if (reason.get<std::string>().rfind(code + ":", 0) == 0) return true;
  return false;
}

}  // namespace

class TestSteps : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void recordsAreRefusedUnlessTheDriversAndTheRuns() {
    TestHub hub;
    const auto a = hub.join(), b = hub.join();
    QCOMPARE(a.stage, 0);
    QCOMPARE(b.stage, 1);
    hub.ready(a);
    hub.ready(b);
    const auto seed = hub.seed(a);
    QVERIFY(seed && seed->verify(hub.publisher.public_key()));
    QCOMPARE(seed->seed.step, std::uint64_t(1));
    auto honest = test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}, seed);
    std::string body;

    // Not the driver the hub names (b is ready, but stage 1), even with a record naming itself.
    QCOMPARE(hub.post(test::step_record(hub.manifest, 1, b.id(), {{a.id()}, {b.id()}}, seed), b, &body), 403);
    QVERIFY2(body.find("not the driver") != std::string::npos, body.c_str());
    // The driver's record with a signature that is not its own.
    auto tampered = protocol::sign_step_record(honest, a.key);
    tampered.signature[0] ^= 1;
    auto forged = test::post_step(hub.url(), tampered, a.key);
    QCOMPARE(forged->status, 403);
    QVERIFY2(forged->body.find("signature") != std::string::npos, forged->body.c_str());
    // The run's shape: tokens, micro-batches, stages, another run.
    auto wrong = honest;
    wrong.tokens_per_micro_batch = 800;
    QCOMPARE(hub.post(wrong, a, &body), 403);
    QVERIFY2(body.find("tokens") != std::string::npos, body.c_str());
    wrong = honest;
    wrong.micro_batches = 5;
    wrong.tokens_hashes.resize(5);
    QCOMPARE(hub.post(wrong, a), 403);
    wrong = honest;
    wrong.replicas.pop_back();
    wrong.committers.pop_back();
    QCOMPARE(hub.post(wrong, a), 403);
    wrong = honest;
    wrong.run_id = "another";
    QCOMPARE(hub.post(wrong, a), 403);
    // Replicas and committers must be members at their stage.
    wrong = test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {wallet::KeyPair::generate().public_key()}}, seed);
    QCOMPARE(hub.post(wrong, a, &body), 403);
    QVERIFY2(body.find("not a member") != std::string::npos, body.c_str());
    wrong = test::step_record(hub.manifest, 1, a.id(), {{b.id()}, {a.id()}}, seed);
    QCOMPARE(hub.post(wrong, a), 403);
    wrong = honest;
    wrong.committers[1] = {a.id()};
    QCOMPARE(hub.post(wrong, a), 403);
    QCOMPARE(hub.observer.steps, 0);

    // The honest record is stored and answered with the next step's seed, signed by the hub.
    QCOMPARE(hub.post(honest, a, &body), 200);
    const auto next = protocol::SignedRouteSeed::from_hex(json::parse(body)["route_seed"].get<std::string>());
    QVERIFY(next && next->verify(hub.publisher.public_key()));
    QCOMPARE(next->seed.step, std::uint64_t(2));
    QVERIFY(next->seed.seed != seed->seed.seed);
    QVERIFY(hub.seed(b)->seed == next->seed);  // the peer list names the same seed
    QCOMPARE(hub.observer.steps, 1);
    QCOMPARE(hub.service->progress().back()["loss"].get<double>(), 2.5);
    // Steps only go up.
    QCOMPARE(hub.post(honest, a, &body), 409);
    QCOMPARE(hub.post(test::step_record(hub.manifest, 0, a.id(), {{a.id()}, {b.id()}}), a), 409);
    QCOMPARE(hub.post(test::step_record(hub.manifest, 2, a.id(), {{a.id()}, {b.id()}}, next), a), 200);
  }

  void theRouteMustBeTheHubsOrder() {
    TestHub hub;
    std::vector<Member> members;
    for (double speed : {100.0, 900.0, 300.0, 5000.0, 50.0, 700.0}) members.push_back(hub.join(speed));
    std::vector<protocol::WeightedReplica> stage0, stage1;
    const double speeds[] = {100.0, 900.0, 300.0, 5000.0, 50.0, 700.0};
    for (std::size_t i = 0; i < members.size(); ++i)
      (members[i].stage == 0 ? stage0 : stage1).push_back({members[i].id(), speeds[i]});
    QCOMPARE(stage0.size(), std::size_t(3));
    const auto& driver = members[0];
    QCOMPARE(driver.stage, 0);
    hub.ready(driver);
    const auto seed = hub.seed(driver);
    QVERIFY(seed);
    const auto order0 = protocol::order_replicas(seed->seed.seed, 0, stage0);
    const auto order1 = protocol::order_replicas(seed->seed.seed, 1, stage1);
    std::string body;
    // Another order of stage 1's replicas (a Sybil choosing its neighbour).
    auto swapped = order1;
    std::swap(swapped[0], swapped[1]);
    QCOMPARE(hub.post(test::step_record(hub.manifest, 1, driver.id(), {order0, swapped}, seed), driver, &body), 403);
    QVERIFY2(body.find("the route is not the hub's") != std::string::npos, body.c_str());
    // Another seed.
    auto reseeded = test::step_record(hub.manifest, 1, driver.id(), {order0, order1}, seed);
    reseeded.route_seed[0] ^= 1;
    QCOMPARE(hub.post(reseeded, driver, &body), 403);
    QVERIFY2(body.find("the route is not the hub's") != std::string::npos, body.c_str());
    // A stage with a suspect left out, its other replicas ordered by the seed, is the hub's route.
    auto trusted = stage1;
    trusted.erase(trusted.begin() + 1);
    const auto subset = protocol::order_replicas(seed->seed.seed, 1, trusted);
    QCOMPARE(hub.post(test::step_record(hub.manifest, 1, driver.id(), {order0, subset}, seed), driver, &body), 200);

    // A driver that skips step numbers is held to the newest seed (step 2's) all the same.
    const auto newest = hub.seed(driver);
    QVERIFY(newest && newest->seed.step == 2);
    const auto newest1 = protocol::order_replicas(newest->seed.seed, 1, stage1);
    const auto newest0 = protocol::order_replicas(newest->seed.seed, 0, stage0);
    auto own1 = newest1;
    std::swap(own1[0], own1[1]);
    QCOMPARE(hub.post(test::step_record(hub.manifest, 5, driver.id(), {newest0, own1}, newest), driver, &body), 403);
    QVERIFY2(body.find("the route is not the hub's") != std::string::npos, body.c_str());
    auto zeros = test::step_record(hub.manifest, 5, driver.id(), {newest0, newest1});  // "no seed"
    QCOMPARE(hub.post(zeros, driver, &body), 403);
    QCOMPARE(hub.post(test::step_record(hub.manifest, 5, driver.id(), {newest0, newest1}, newest), driver, &body), 200);
  }

  void receiptsAreCreditedOnlyForCommittedSlots() {
    TestHub hub;
    const auto a = hub.join(), b = hub.join(), c = hub.join();
    QCOMPARE(c.stage, 0);
    hub.ready(a);
    const auto record = test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}, hub.seed(a));
    QCOMPARE(hub.post(record, a), 200);

    // a's forward work on every micro-batch, receipted by b: credited once.
    std::vector<protocol::SignedReceipt> forward;
    for (std::uint32_t m = 0; m < 4; ++m) forward.push_back(test::slot_receipt(record, m, Direction::Forward, 0, a.id(), b.key));
    auto answer = hub.report(a, forward);
    QCOMPARE(answer["accepted"].get<int>(), 4);
    QCOMPARE(hub.observer.receipts, 4);
    answer = hub.report(a, forward);  // the same receipts again: duplicates, no credit
    QCOMPARE(answer["duplicates"].get<int>(), 4);
    QCOMPARE(answer["accepted"].get<int>(), 0);
    // Another receipt for a slot already credited; wrong tokens; a micro-batch the step lacks.
    answer = hub.report(a, {test::slot_receipt(record, 0, Direction::Forward, 0, a.id(), b.key, std::nullopt, 7),
                            test::slot_receipt(record, 1, Direction::Forward, 0, a.id(), b.key, 800, 8),
                            test::slot_receipt(record, 4, Direction::Forward, 0, a.id(), b.key)});
    QCOMPARE(answer["accepted"].get<int>(), 0);
    QVERIFY2(has_reason(answer, "duplicate-slot"), answer.dump().c_str());
    QVERIFY2(has_reason(answer, "tokens"), answer.dump().c_str());
    QVERIFY2(has_reason(answer, "not-the-slot"), answer.dump().c_str());
    // The other direction of a slot is its own credit: b's backward work, receipted by a.
    answer = hub.report(b, {test::slot_receipt(record, 0, Direction::Backward, 1, b.id(), a.key)});
    QCOMPARE(answer["accepted"].get<int>(), 1);
    // c is a member at stage 0 but served no slot of step 1; b signs for it anyway.
    answer = hub.report(c, {test::slot_receipt(record, 2, Direction::Forward, 0, c.id(), b.key)});
    QVERIFY2(has_reason(answer, "not-the-slot"), answer.dump().c_str());
    // A step at or below the last committed one without a record.
    auto uncommitted = record;
    uncommitted.step = 0;
    answer = hub.report(a, {test::slot_receipt(uncommitted, 0, Direction::Forward, 0, a.id(), b.key)});
    QVERIFY2(has_reason(answer, "not-committed"), answer.dump().c_str());

    // Tallies per node: credited receipts and FLOPs, rejections by code; a bad key is a 400.
    QCOMPARE(hub.counter(a, hub::kCreditedReceipts), 4.0);
    QVERIFY(hub.counter(a, hub::kCreditedFlops) > 0);
    QCOMPARE(hub.counter(a, "rejected:duplicate-slot"), 1.0);
    QCOMPARE(hub.counter(a, "rejected:tokens"), 1.0);
    QCOMPARE(hub.counter(a, "rejected:not-committed"), 1.0);
    QCOMPARE(hub.counter(c, "rejected:not-the-slot"), 1.0);
    QCOMPARE(hub.counter(b, hub::kCreditedReceipts), 1.0);
    QCOMPARE(hub.work("zz")["status"].get<int>(), 400);
    QCOMPARE(hub.work(wallet::to_hex(a.id()))["body"]["node"].get<std::string>(), wallet::to_hex(a.id()));
    QCOMPARE(hub.service->tally().verified, std::uint64_t(5));
  }

  void receiptsAheadOfTheirRecordWait() {
    TestHub hub;
    const auto a = hub.join(), b = hub.join();
    hub.ready(a);
    auto seed = hub.seed(a);
    auto step1 = test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}, seed);
    auto step2 = test::step_record(hub.manifest, 2, a.id(), {{a.id()}, {b.id()}});
    auto step3 = test::step_record(hub.manifest, 3, a.id(), {{a.id()}, {b.id()}});
    // Receipts for steps 1, 2 and 3 arrive before any record: they wait.
    const auto early1 = test::slot_receipt(step1, 0, Direction::Forward, 0, a.id(), b.key);
    const auto early1_wrong = test::slot_receipt(step1, 1, Direction::Forward, 0, a.id(), b.key, 15);
    const auto early2 = test::slot_receipt(step2, 0, Direction::Forward, 0, a.id(), b.key);
    const auto early3 = test::slot_receipt(step3, 0, Direction::Forward, 0, a.id(), b.key);
    auto answer = hub.report(a, {early1, early1_wrong, early2, early3});
    QCOMPARE(answer["pending"].get<int>(), 4);
    QCOMPARE(answer["accepted"].get<int>(), 0);
    QCOMPARE(hub.report(a, {early1})["duplicates"].get<int>(), 1);  // still one pending receipt
    // Step 1's record credits the one that matches and rejects the one with the wrong tokens.
    std::string body;
    QCOMPARE(hub.post(step1, a, &body), 200);
    QCOMPARE(hub.observer.receipts, 1);
    QCOMPARE(hub.counter(a, "rejected:tokens"), 1.0);
    // Step 3 commits before step 2 ever does (routed by the newest seed, step 2's): step 2's
    // receipt is rejected, step 3's credited.
    step3.route_seed = hub.seed(a)->seed.seed;
    QCOMPARE(hub.post(step3, a, &body), 200);
    QCOMPARE(hub.observer.receipts, 2);
    QCOMPARE(hub.counter(a, "rejected:not-committed"), 1.0);
    QCOMPARE(hub.counter(a, hub::kCreditedReceipts), 2.0);
    QCOMPARE(hub.report(a, {early1})["duplicates"].get<int>(), 1);  // credited: a duplicate now
  }

  // A receipt that waited for its step is credited in the transaction that stores the record; by
  // then its sender may have been excluded (a failed spot check): it earns nothing.
  void pendingReceiptsOfAnExcludedSenderAreRejected() {
    TestHub hub;
    const auto a = hub.join(), b = hub.join();
    hub.ready(a);
    auto step1 = test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}, hub.seed(a));
    QCOMPARE(hub.report(a, {test::slot_receipt(step1, 0, Direction::Forward, 0, a.id(), b.key)})["pending"].get<int>(), 1);
    {  // as CheckPenalties::failed stores it (the request paths' in-memory bar is not needed here)
      auto transaction = hub.service->store().begin();
      auto insert = transaction.db().prepare(
          "INSERT INTO exclusions (node_key, owner, reason, step, epoch, excluded_ms) VALUES (?, ?, 'test', 1, 1, 0)");
      insert.bind_blob(1, a.id());
      insert.bind(2, wallet::sign_delegation(hub.owner, a.id(), wallet::kAnyRun, 4102444800).owner_address);
      insert.run();
      transaction.commit();
    }
    std::string body;
    QCOMPARE(hub.post(step1, a, &body), 200);
    QCOMPARE(hub.observer.receipts, 0);
    QCOMPARE(hub.counter(a, "rejected:excluded"), 1.0);
    QCOMPARE(hub.counter(a, hub::kCreditedReceipts), 0.0);
  }

  void pendingReceiptsAreBounded() {
    TestHub hub;
    const auto a = hub.join(), b = hub.join();
    auto ahead = test::step_record(hub.manifest, 10, a.id(), {{a.id()}, {b.id()}});
    std::uint64_t pending = 0;
    json answer;
    for (std::size_t sent = 0; sent < hub::kPendingPerSender + 1;) {
      std::vector<protocol::SignedReceipt> batch;
      for (; batch.size() < api::kMaxReceiptsPerBatch && sent < hub::kPendingPerSender + 1; ++sent) {
        ahead.step = 10 + sent;
        batch.push_back(test::slot_receipt(ahead, 0, Direction::Forward, 0, a.id(), b.key));
      }
      answer = hub.report(a, batch);
      pending += answer["pending"].get<std::uint64_t>();
    }
    QCOMPARE(pending, std::uint64_t(hub::kPendingPerSender));
    QVERIFY2(has_reason(answer, "pending-full"), answer.dump().c_str());
    QCOMPARE(hub.counter(a, "rejected:pending-full"), 1.0);
  }

  void pendingReceiptsAndSeedsSurviveARestart() {
    QTemporaryDir dir;
    wallet::KeyPair publisher = wallet::KeyPair::generate();
    Member a, b;
    protocol::SignedRouteSeed seed;
    {
      TestHub hub(true, dir.path().toStdString(), &publisher);
      a = hub.join();
      b = hub.join();
      hub.ready(a);
      seed = *hub.seed(a);
      const auto record = test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}, seed);
      QCOMPARE(hub.report(a, {test::slot_receipt(record, 0, Direction::Forward, 0, a.id(), b.key)})["pending"].get<int>(), 1);
    }
    TestHub hub(true, dir.path().toStdString(), &publisher);
    client::HubClient client(hub.url());
    const protocol::JoinRequest again{wallet::sign_delegation(hub.owner, a.id(), wallet::kAnyRun, 4102444800),
                                      "tcp://127.0.0.1:1", {"cpu", 1ull << 34, 1000}};
    QCOMPARE(client.join(a.key, again), 0);
    hub.ready(a);
    QVERIFY(hub.seed(a)->seed == seed.seed);  // issued once, kept
    QCOMPARE(hub.post(test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}, seed), a), 200);
    QCOMPARE(hub.observer.receipts, 1);
    QCOMPARE(hub.service->tally().verified, std::uint64_t(1));
  }

  void aHubWithoutItsKeyStoresRecordsWithoutSeeds() {
    TestHub hub(false);
    const auto a = hub.join(), b = hub.join();
    hub.ready(a);
    QVERIFY(!hub.seed(a));
    std::string body;
    QCOMPARE(hub.post(test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}), a, &body), 200);
    QVERIFY2(!json::parse(body).contains("route_seed"), body.c_str());
    QCOMPARE(hub.report(a, {test::slot_receipt(test::step_record(hub.manifest, 1, a.id(), {{a.id()}, {b.id()}}), 0,
                                               Direction::Forward, 0, a.id(), b.key)})["accepted"].get<int>(),
             1);
  }
};

QTEST_APPLESS_MAIN(TestSteps)
#include "test_steps.moc"
