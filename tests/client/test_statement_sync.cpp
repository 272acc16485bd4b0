// Statement sync across node restarts: each start opens the log and a new StatementSync, as a
// restarted node does. It resumes after the newest epoch the log has verified (not from epoch 1),
// and whatever the number of starts each epoch's accrued revenue and statement are recorded once.
// A version 3 statement's leaf is accepted and its data units recorded apart from compute.
#include <QtTest>

#include <thread>

#include <httplib.h>

#include "core/client/statement_sync.h"
#include "core/hub/hub_store.h"
#include "core/hub/settlement_book.h"
#include "core/hub/route_table.h"
#include "core/hub/statements_controller.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"
#include "core/protocol/hub_api.h"
#include "core/wallet/encoding.h"
#include "tests/support/local_http_server.h"

using namespace tessera;
using test::LocalServer;
using Outcome = client::StatementCheck::Outcome;

class TestStatementSync : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void restartsResumeAndRecordEachEpochOnce() {
    QTemporaryDir dir;
    const auto hub_key = wallet::KeyPair::generate();
    const auto node_key = wallet::KeyPair::generate();
    const auto owner = wallet::base58_encode(wallet::KeyPair::generate().public_key());
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    LocalServer server;
    hub::serve_controller(server.server, hub::StatementsController(book));
    server.start();
    const auto log = std::filesystem::path(dir.path().toStdString()) / "contributions.db";
    // One start of the node: a fresh writer and sync over the same log, polled until nothing is new.
    const auto start = [&](std::uint64_t resumes_after) {
      ledger::LedgerWriter writer(log, node_key);
      client::StatementSync sync(server.url(), "run-1", hub_key.public_key(), owner, writer);
      QCOMPARE(sync.last_verified_epoch(), resumes_after);
      while (sync.poll().outcome == Outcome::Verified) {
      }
    };

    book.credit_work(owner, 2e6);
    book.credit_work("someone-else", 2e6);
    book.close_epoch();
    for (int epoch = 2; epoch <= 3; ++epoch) {
      book.credit_paid(2000, 2000);  // 1,000 micro-units to the owner (half the units) each epoch
      book.close_epoch();
    }
    start(0);
    start(3);
    start(3);
    book.credit_paid(2000, 2000);
    book.close_epoch();
    start(3);
    start(4);

    ledger::LedgerReader reader(log);
    QCOMPARE(reader.row_count(ledger::Table::Statements), std::int64_t(4));
    QCOMPARE(reader.row_count(ledger::Table::Revenue), std::int64_t(3));
    const auto revenue = reader.revenue_per_epoch();
    QCOMPARE(revenue.size(), std::size_t(4));
    for (const auto& epoch : revenue) {  // epoch 1 earned nothing: no shares to split it by yet
      QCOMPARE(epoch.accrued, std::int64_t(epoch.epoch == 1 ? 0 : 1000));
      QCOMPARE(epoch.verified, std::optional<std::int64_t>(epoch.epoch == 1 ? 0 : 1000));
    }
    QVERIFY(reader.verify(node_key.public_key()).intact);
  }

  void dataUnitsOfAVersionThreeLeafAreRecorded() {
    QTemporaryDir dir;
    const auto hub_key = wallet::KeyPair::generate();
    const auto node_key = wallet::KeyPair::generate();
    const auto owner = wallet::base58_encode(wallet::KeyPair::generate().public_key());
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    LocalServer server;
    hub::serve_controller(server.server, hub::StatementsController(book));
    server.start();
    // 5e6 FLOPs of compute (5 units) and 2,500 trained tokens of the owner's data at 1,200 units
    // per 1,000 tokens (3,000 data units) in epoch 1; 10 more tokens in epoch 2 (12 units).
    book.credit_work(owner, 5e6);
    const auto credit_data = [&](std::uint64_t tokens) {
      auto transaction = store.begin();
      book.credit_data(transaction, owner, tokens, 1200);
      transaction.commit();
    };
    credit_data(2500);
    book.close_epoch();
    credit_data(10);
    book.close_epoch();
    const auto log = std::filesystem::path(dir.path().toStdString()) / "contributions.db";
    {
      ledger::LedgerWriter writer(log, node_key);
      client::StatementSync sync(server.url(), "run-1", hub_key.public_key(), owner, writer);
      auto check = sync.poll();
      QCOMPARE(check.outcome, Outcome::Verified);
      QVERIFY2(check.message.find("3012 of them for data") != std::string::npos, check.message.c_str());
      QCOMPARE(sync.last_verified_epoch(), std::uint64_t(2));
    }
    ledger::LedgerReader reader(log);
    const auto ownership = reader.ownership_series();
    QCOMPARE(ownership.size(), std::size_t(2));
    QCOMPARE(ownership[0].data_units, std::int64_t(3000));
    QCOMPARE(ownership[0].units, 3005e6);  // data units are ownership units, counted in the same FLOPs
    QCOMPARE(ownership[1].data_units, std::int64_t(3012));
    QVERIFY(ownership[1].verified);
    QVERIFY(reader.verify(node_key.public_key()).intact);
  }

  // A hub's latest epoch is a whole number in range or unreadable: 1e300, -3, 2.5 and "7" are
  // refused, never turned into some epoch (a double out of range is undefined behaviour).
  void theLatestEpochIsReadOnlyAsAnInteger() {
    LocalServer server;
    std::string body;
    server.server.Get(protocol::hub_api::kLatestStatement, [&](const httplib::Request&, httplib::Response& response) {
      response.set_content(body, "application/json");
    });
    server.start();
    const client::StatementFetcher fetcher(server.url(), "run-1", wallet::KeyPair::generate().public_key(),
                                           std::chrono::milliseconds(3000));
    for (const char* bad : {R"({"epoch": 1e300})", R"({"epoch": -3})", R"({"epoch": 2.5})", R"({"epoch": "7"})", "[]"}) {
      body = bad;
      QVERIFY2(fetcher.latest_epoch().outcome == Outcome::Rejected, bad);
    }
    body = R"({"epoch": 7})";
    const auto latest = fetcher.latest_epoch();
    QVERIFY(latest.outcome == Outcome::Verified);
    QCOMPARE(latest.epoch, std::uint64_t(7));
  }
};

QTEST_APPLESS_MAIN(TestStatementSync)
#include "test_statement_sync.moc"
