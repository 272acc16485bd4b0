// The hub's store (core/hub/hub_store.h) and what keeps its memory bounded: receipts unique by id
// across a reopened database, the tally and pages of receipts; members found in the store once
// they left memory, and the roster's memory bound; the window of reported steps; a rolled-back
// transaction leaves nothing; a database of another run or a newer schema is refused untouched.
#include <QtTest>

#include <sqlite3.h>

#include "core/hub/hub_schema.h"
#include "core/hub/hub_store.h"
#include "core/hub/receipt_log.h"
#include "core/hub/run_roster.h"
#include "core/hub/step_progress.h"

using namespace tessera;

namespace {

hub::ReceiptCredit credit(const wallet::KeyPair& sender, const wallet::KeyPair& receiver, std::uint64_t step) {
  protocol::Receipt r;
  r.run_id = "run-1";
  r.step = step;
  r.sender = sender.public_key();
  r.receiver = receiver.public_key();
  r.tokens = 16;
  return {protocol::sign_receipt(r, receiver), "owner-a", 1000.0};
}

std::filesystem::path file_in(const QTemporaryDir& dir, const char* name) {
  return std::filesystem::path(dir.path().toStdString()) / name;
}

}  // namespace

class TestHubStore : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void receiptsAreUniqueAcrossAReopen() {
    QTemporaryDir dir;
    const auto file = file_in(dir, "hub-run-1.db");
    const auto sender = wallet::KeyPair::generate();
    const auto receiver = wallet::KeyPair::generate();
    {
      hub::HubStore store(file, "run-1");
      hub::ReceiptLog log(store);
      auto transaction = store.begin();
      // The same receipt twice in one batch: recorded once.
      const auto fresh = log.record(transaction, {credit(sender, receiver, 1), credit(sender, receiver, 2),
                                                  credit(sender, receiver, 1)}, 3);
      QCOMPARE(fresh, (std::vector<bool>{true, true, false}));
      transaction.commit();
    }
    hub::HubStore store(file, "run-1");
    hub::ReceiptLog log(store);
    {
      auto transaction = store.begin();
      QCOMPARE(log.record(transaction, {credit(sender, receiver, 2), credit(sender, receiver, 3)}, 0),
               (std::vector<bool>{false, true}));
      transaction.commit();
    }
    const auto tally = log.tally();
    QCOMPARE(tally.verified, std::uint64_t(3));
    QCOMPARE(tally.duplicates, std::uint64_t(2));
    QCOMPARE(tally.rejected, std::uint64_t(3));
    const auto page = log.page(1, 10);
    QCOMPARE(page.size(), std::size_t(2));
    QCOMPARE(page.front().receipt.step, std::uint64_t(2));
    QVERIFY(protocol::verify_receipt(page.back()));
    QCOMPARE(log.page(3, 10).size(), std::size_t(0));
  }

  void aTransactionNotCommittedLeavesNothing() {
    hub::HubStore store({}, "run-1");
    hub::ReceiptLog log(store);
    const auto sender = wallet::KeyPair::generate();
    const auto receiver = wallet::KeyPair::generate();
    {
      auto transaction = store.begin();
      log.record(transaction, {credit(sender, receiver, 1)}, 0);
    }  // an exception before commit() ends here too
    QCOMPARE(log.tally().verified, std::uint64_t(0));
    QCOMPARE(log.page(0, 10).size(), std::size_t(0));
  }

  void membersOutliveMemoryAndRestarts() {
    QTemporaryDir dir;
    const auto file = file_in(dir, "hub-run-1.db");
    std::vector<wallet::KeyPair> nodes;
    for (int i = 0; i < 5; ++i) nodes.push_back(wallet::KeyPair::generate());
    {
      hub::HubStore store(file, "run-1");
      hub::RunRoster roster(store, 3);
      for (int i = 0; i < 5; ++i) roster.admit(nodes[i].public_key(), i % 2, "owner-" + std::to_string(i));
      QVERIFY(roster.cached() <= 3);  // the bound holds; the rest are in the store
      roster.mark_ready(nodes[4].public_key());
      roster.unready(nodes[4].public_key());
      QCOMPARE(roster.ready_orders().size(), std::size_t(0));
      for (int i = 0; i < 5; ++i) {
        QCOMPARE(roster.stage_of(nodes[i].public_key()).value(), i % 2);
        QCOMPARE(roster.owner_of(nodes[i].public_key()).value(), "owner-" + std::to_string(i));
      }
      roster.admit(nodes[0].public_key(), 1, "owner-0");  // a rejoin on another stage replaces it
    }
    hub::HubStore store(file, "run-1");
    hub::RunRoster roster(store);
    QCOMPARE(roster.cached(), std::size_t(0));
    QCOMPARE(roster.stage_of(nodes[0].public_key()).value(), 1);
    QCOMPARE(roster.owner_of(nodes[3].public_key()).value(), std::string("owner-3"));
    QVERIFY(!roster.member(wallet::KeyPair::generate().public_key()));
  }

  void stepsAreAWindowWithTheirCount() {
    hub::StepProgress progress(3);
    for (int step = 0; step < 5; ++step) progress.add({{"step", step}});
    const auto all = progress.since(0, 100);
    QCOMPARE(all.total, std::uint64_t(5));
    QCOMPARE(all.first, std::uint64_t(2));  // steps 0 and 1 have left the window
    QCOMPARE(all.steps.size(), std::size_t(3));
    QCOMPARE(all.steps.front()["step"].get<int>(), 2);
    const auto last = progress.since(4, 100);
    QCOMPARE(last.steps.size(), std::size_t(1));
    QCOMPARE(progress.since(9, 100).steps.size(), std::size_t(0));
    QCOMPARE(progress.since(0, 2).steps.size(), std::size_t(2));
    QCOMPARE(progress.kept().size(), std::size_t(3));
  }

  void foreignOrNewerDatabasesAreRefusedUntouched() {
    QTemporaryDir dir;
    const auto file = file_in(dir, "hub.db");
    { hub::HubStore store(file, "run-1"); }
    try {
      hub::HubStore other(file, "run-2");
      QFAIL("a database of run-1 was opened for run-2");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find("belongs to run run-1") != std::string::npos, error.what());
    }
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(file.string().c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, ("PRAGMA user_version = " + std::to_string(hub::kHubSchemaVersion + 1)).c_str(), nullptr,
                 nullptr, nullptr);
    sqlite3_close(db);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, hub::HubStore(file, "run-1"));
    const auto plain = file_in(dir, "plain.db");
    QCOMPARE(sqlite3_open(plain.string().c_str(), &db), SQLITE_OK);
    sqlite3_exec(db, "CREATE TABLE notes (text TEXT)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    try {
      hub::HubStore store(plain, "run-1");
      QFAIL("a database that is not a hub's was opened");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find("not a Tessera hub") != std::string::npos, error.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestHubStore)
#include "test_hub_store.moc"
