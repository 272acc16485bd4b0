// Data credit (docs/hub.md "Data credit"): each committed step's trained tokens of a shard go to
// its contributor; at each close an owner earns floor(tokens x rate / 1000) data units and the
// fraction is carried exactly, across closes and restarts; the publisher's own shards earn
// nothing; data units earn revenue shares; a database of a hub before data credit opens with its
// statements; past 2^64 - 1 they are withheld like compute. Then a
// real HubService whose manifest names a contributor: steps posted as the driver posts them, the
// epoch closed, and the contributor's signed leaf holds exactly the data units its tokens earn.
#include <QtTest>

#include <limits>

#include <httplib.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "core/client/hub_client.h"
#include "core/hub/data_credit.h"
#include "core/hub/hub_service.h"
#include "core/hub/hub_store.h"
#include "core/hub/settlement_book.h"
#include "core/model/corpus_layout.h"
#include "core/protocol/statement.h"
#include "core/wallet/encoding.h"
#include "tests/support/step_records.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using nlohmann::json;

namespace {

// Shards: alice's, the publisher's own, bob's, alice's again. Step s trains 10s + 3, 100, 33 and 1
// tokens of them (a stand-in attribution, so the arithmetic is the test's own).
std::vector<std::uint64_t> fake_tokens(std::uint64_t step) { return {10 * step + 3, 100, 33, 1}; }
const std::vector<std::string> kContributors = {"alice", "", "bob", "alice"};

void commit_step(hub::HubStore& store, hub::DataCredit& credit, std::uint64_t step) {
  protocol::StepRecord record;
  record.run_id = "run-1";
  record.step = step;
  auto transaction = store.begin();
  credit.step_committed(transaction, record);
  transaction.commit();
}

std::uint64_t leaf_data_units(const hub::SettlementBook& book, const std::string& owner) {
  const auto proof = book.latest()->proof_for(owner);
  return proof ? proof->leaf.data_units : 0;
}

}  // namespace

class TestDataCredit : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void fractionsAreCarriedExactly() {
    const auto hub_key = wallet::KeyPair::generate();
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    const std::uint64_t rate = 7;  // data units per 1,000 tokens: almost every close leaves a fraction
    hub::DataCredit credit(kContributors, rate, fake_tokens, book);
    std::uint64_t alice_tokens = 0, bob_tokens = 0, step = 0;
    for (int epoch = 1; epoch <= 6; ++epoch) {
      for (int i = 0; i < epoch; ++i) {  // 1, 2, ... 6 steps an epoch
        ++step;
        commit_step(store, credit, step);
        const auto tokens = fake_tokens(step);
        alice_tokens += tokens[0] + tokens[3];
        bob_tokens += tokens[2];
      }
      const auto open = book.open_epoch_json();
      QVERIFY(open["data_tokens"].get<std::uint64_t>() > 0);
      QCOMPARE(open["data_contributors"].get<std::uint64_t>(), std::uint64_t(2));
      QCOMPARE(book.close_epoch(), std::uint64_t(epoch));
      // Cumulative: exactly floor(all tokens x rate / 1000), nothing created or lost by the closes.
      QCOMPARE(leaf_data_units(book, "alice"), alice_tokens * rate / 1000);
      QCOMPARE(leaf_data_units(book, "bob"), bob_tokens * rate / 1000);
      QCOMPARE(book.latest_statement()->version, std::uint8_t(3));
      QCOMPARE(book.latest_statement()->total_data_units, alice_tokens * rate / 1000 + bob_tokens * rate / 1000);
    }
    QVERIFY(bob_tokens * rate % 1000 != 0);  // the test did carry a fraction
    QVERIFY(!book.latest()->proof_for(""));  // the publisher's own shard credits no one
    QCOMPARE(book.open_epoch_json()["data_tokens"].get<std::uint64_t>(), std::uint64_t(0));
  }

  void dataUnitsEarnRevenueShares() {
    const auto hub_key = wallet::KeyPair::generate();
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    hub::DataCredit credit({"carol"}, 1000, [](std::uint64_t) { return std::vector<std::uint64_t>{3000}; }, book);
    book.credit_work("dave", 1e9);  // 1,000 compute units
    commit_step(store, credit, 1);  // 3,000 data units
    book.close_epoch();
    book.credit_paid(4000, 4000);
    book.close_epoch();
    QCOMPARE(book.revenue_part(2, "carol"), std::uint64_t(3000));
    QCOMPARE(book.revenue_part(2, "dave"), std::uint64_t(1000));
    const auto proof = *book.latest()->proof_for("carol");
    QCOMPARE(proof.leaf.units, std::uint64_t(3000));
    QCOMPARE(proof.leaf.data_units, std::uint64_t(3000));
    QVERIFY(protocol::verify_leaf(*book.latest_statement(), proof));
    QCOMPARE(book.latest()->proof_for("dave")->leaf.data_units, std::uint64_t(0));
  }

  void aRestartKeepsTheCarriedFraction() {
    QTemporaryDir dir;
    const auto file = std::filesystem::path(dir.path().toStdString()) / "hub-run-1.db";
    const auto hub_key = wallet::KeyPair::generate();
    const auto one_token = [](std::uint64_t) { return std::vector<std::uint64_t>{1}; };
    // Three epochs of 1 token at 400 units per 1,000: 0.4, 0.8, 1.2 → 0, 0, 1 unit in all.
    for (std::uint64_t epoch = 1; epoch <= 3; ++epoch) {
      hub::HubStore store(file, "run-1");
      hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
      hub::DataCredit credit({"erin"}, 400, one_token, book);
      commit_step(store, credit, epoch);
      QCOMPARE(book.close_epoch(), epoch);
      QCOMPARE(leaf_data_units(book, "erin"), epoch == 3 ? std::uint64_t(1) : std::uint64_t(0));
    }
    hub::HubStore store(file, "run-1");  // and a statement rebuilt from the store still verifies
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    const auto rebuilt = book.epoch(3);
    QVERIFY(rebuilt && protocol::verify_leaf(rebuilt->statement(), *rebuilt->proof_for("erin")));
  }

  void aSchemaTwoDatabaseOpensAndKeepsItsStatements() {
    QTemporaryDir dir;
    const auto file = std::filesystem::path(dir.path().toStdString()) / "hub-run-1.db";
    const auto hub_key = wallet::KeyPair::generate();
    protocol::Statement before;
    {
      hub::HubStore store(file, "run-1");
      hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
      book.credit_work("grace", 7e6);
      book.close_epoch();
      before = *book.latest_statement();
    }
    // The file as a hub before data credit left it (schema 2).
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(file.string().c_str(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db,
                          "DROP TABLE open_data; ALTER TABLE balance_history DROP COLUMN data_units; "
                          "ALTER TABLE statements DROP COLUMN total_data_units; PRAGMA user_version = 2",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(db);
    hub::HubStore store(file, "run-1");  // migrates to schema 3
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    QCOMPARE(book.latest_statement()->signature, before.signature);
    const auto published = book.epoch(1);
    QVERIFY(published && protocol::verify_leaf(published->statement(), *published->proof_for("grace")));
    hub::DataCredit credit({"grace"}, 1000, [](std::uint64_t) { return std::vector<std::uint64_t>{2}; }, book);
    commit_step(store, credit, 1);
    book.close_epoch();
    QCOMPARE(book.latest()->proof_for("grace")->leaf.units, std::uint64_t(9));
    QCOMPARE(leaf_data_units(book, "grace"), std::uint64_t(2));
  }

  void unitsPastTheCapAreWithheld() {
    const auto hub_key = wallet::KeyPair::generate();
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    const auto max = std::numeric_limits<std::uint64_t>::max();
    hub::DataCredit credit({"frank"}, max, [](std::uint64_t) { return std::vector<std::uint64_t>{5000}; }, book);
    commit_step(store, credit, 1);  // 5,000 x (2^64 - 1) thousandths: saturates
    commit_step(store, credit, 2);
    book.close_epoch();
    QCOMPARE(leaf_data_units(book, "frank"), max / 1000);
    const auto open = book.open_epoch_json();
    QVERIFY(open["overflowed"].get<bool>());
    QVERIFY(open["overflow"]["units_withheld"].get<std::uint64_t>() > 0);
  }

  void aContributorIsCreditedForCommittedSteps() {
    const auto publisher = wallet::KeyPair::generate();
    const auto owner = wallet::KeyPair::generate();
    const auto contributor = wallet::base58_encode(wallet::KeyPair::generate().public_key());
    auto manifest = test::tiny_two_stage_manifest("data-credit");
    manifest.train.micro_batches = 2;
    manifest.shards = {{std::string(64, 'a'), 900, contributor}, {std::string(64, 'b'), 700, ""},
                       {std::string(64, 'c'), 400, contributor}};
    manifest.dataset = {manifest.shards[0].hash, manifest.shards[1].hash, manifest.shards[2].hash};
    manifest.data_units_per_1k_tokens = 1500;
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    hub::HubOptions options;
    options.hub_key = &publisher;
    options.membership.joins_per_owner = {1000, 1000};
    options.membership.joins_per_address = {1000, 1000};
    hub::HubService service(manifest, options);
    service.start();

    struct Member {
      wallet::KeyPair key = wallet::KeyPair::generate();
    } driver, last;
    for (auto* member : {&driver, &last}) {
      client::HubClient client(service.url());
      const protocol::JoinRequest request{
          wallet::sign_delegation(owner, member->key.public_key(), wallet::kAnyRun, 4102444800),
          "tcp://127.0.0.1:1", {"cpu", 1ull << 34, 1000}};
      client.join(member->key, request);
      client.ready(member->key);
    }
    const model::ShardAttribution attribution({900, 700, 400}, manifest.model.context, manifest.model.seed);
    std::uint64_t tokens = 0, publisher_tokens = 0;
    for (std::uint64_t step = 1; step <= 6; ++step) {
      const auto seed = test::next_route_seed(service.url(), manifest.run_id, driver.key);
      QVERIFY(seed);
      const auto record = test::step_record(manifest, step, driver.key.public_key(),
                                            {{driver.key.public_key()}, {last.key.public_key()}}, seed);
      const auto reply = test::post_step(service.url(), record, driver.key);
      QVERIFY(reply);
      QVERIFY2(reply->status == 200, reply->body.c_str());
      const auto trained =
          attribution.step_tokens(static_cast<std::int64_t>(step), manifest.train.micro_batches,
                                  manifest.train.micro_batch_size);
      tokens += trained[0] + trained[2];
      publisher_tokens += trained[1];
    }
    QCOMPARE(tokens + publisher_tokens, std::uint64_t(6 * 2 * 2 * 8));  // every trained token is some shard's
    QVERIFY(tokens > 0);
    QCOMPARE(service.settlement()->open_epoch_json()["data_tokens"].get<std::uint64_t>(), tokens);
    // A driver that skips step numbers (to pick the steps that train its own shards) is committed,
    // but that step earns no data credit.
    const auto seed = test::next_route_seed(service.url(), manifest.run_id, driver.key);
    const auto skipping = test::step_record(manifest, 9, driver.key.public_key(),
                                            {{driver.key.public_key()}, {last.key.public_key()}}, seed);
    const auto skipped = test::post_step(service.url(), skipping, driver.key);
    QVERIFY(skipped);
    QVERIFY2(skipped->status == 200, skipped->body.c_str());
    QCOMPARE(service.settlement()->open_epoch_json()["data_tokens"].get<std::uint64_t>(), tokens);
    QCOMPARE(service.close_epoch(), std::uint64_t(1));

    httplib::Client http(service.url());
    const auto statement_reply = http.Get(protocol::hub_api::statement_path(1));
    const auto proof_reply = http.Get(protocol::hub_api::proof_path(1, contributor));
    QVERIFY(statement_reply && proof_reply);
    QCOMPARE(proof_reply->status, 200);
    const auto statement = protocol::statement_from_json(json::parse(statement_reply->body));
    const auto proof = protocol::leaf_proof_from_json(json::parse(proof_reply->body));
    QVERIFY(protocol::verify_statement(statement, publisher.public_key()));
    QVERIFY(protocol::verify_leaf(statement, proof));
    QCOMPARE(proof.leaf.data_units, tokens * 1500 / 1000);
    QCOMPARE(proof.leaf.units, proof.leaf.data_units);  // the contributor computed nothing
    QCOMPARE(statement.total_data_units, proof.leaf.data_units);
    service.stop();
  }
};

QTEST_APPLESS_MAIN(TestDataCredit)
#include "test_data_credit.moc"
