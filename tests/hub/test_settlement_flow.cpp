// Settlement from work and revenue to the node's log: receipts credit each stage's training work
// exactly once; the hub's book settles epochs, splits metered revenue exactly, carries fractions
// and survives a restart; the node fetches, verifies and records statements over HTTP, and a
// forged or altered statement is rejected, logged as an event, and never recorded as earned.
#include <QtTest>

#include <fstream>
#include <limits>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/client/statement_sync.h"
#include "core/model/model_config.h"
#include "core/hub/hub_store.h"
#include "core/hub/settlement_book.h"
#include "core/hub/settlement_import.h"
#include "core/hub/route_table.h"
#include "core/hub/statements_controller.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"
#include "core/protocol/receipt.h"
#include "core/protocol/work_units.h"
#include "core/wallet/encoding.h"
#include "tests/support/local_http_server.h"

using namespace tessera;
using test::LocalServer;

namespace {

std::string address_of(const wallet::KeyPair& key) { return wallet::base58_encode(key.public_key()); }

}  // namespace

class TestSettlementFlow : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void receiptsCreditEachStagesWorkOnce() {
    model::ModelConfig model;
    model.layers = 6;
    model.width = 64;
    model.heads = 4;
    model.context = 32;
    for (int stages : {2, 3, 4}) {
      const std::uint64_t tokens = 256;
      // One micro-batch: forward receipts from stages 0..S-2, backward receipts from 1..S-1.
      double credited = 0;
      for (int s = 0; s + 1 < stages; ++s)
        credited += protocol::receipt_flops(model, stages, protocol::Direction::Forward, s, tokens);
      for (int s = 1; s < stages; ++s)
        credited += protocol::receipt_flops(model, stages, protocol::Direction::Backward, s, tokens);
      double expected = 0;
      for (int s = 0; s < stages; ++s)
        expected += model::stage_training_flops_per_token(model, model::plan_stage(model, stages, s)) * tokens;
      QVERIFY(std::abs(credited - expected) <= 1e-9 * expected);
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                               protocol::receipt_flops(model, stages, protocol::Direction::Backward, 0, tokens));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                               protocol::receipt_flops(model, stages, protocol::Direction::Forward, stages - 1, tokens));
      QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                               protocol::receipt_flops(model, stages, protocol::Direction::Forward, stages, tokens));
    }
  }

  void revenueIsSplitExactlyByPreviousShares() {
    const auto hub = wallet::KeyPair::generate();
    const auto a = address_of(wallet::KeyPair::generate());
    const auto b = address_of(wallet::KeyPair::generate());
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub, /*price per 1k tokens*/ 2000, "USDC");
    // Epoch 1: revenue before anyone owns units is carried, not lost.
    book.credit_paid(500, 1000);  // 500 tokens debited 1,000 micro-units
    book.credit_work(a, 3e9);
    book.credit_work(b, 1e9 + 0.5e6);  // half a unit is carried to the next epoch
    QCOMPARE(book.close_epoch(), std::uint64_t(1));
    auto statement = book.latest()->statement();
    QCOMPARE(statement.total_units, std::uint64_t(4000));
    QCOMPARE(statement.carried_revenue, std::uint64_t(1000));
    QCOMPARE(statement.total_revenue, std::uint64_t(0));
    // Epoch 2: debits of 2,474 micro-units, plus the 1,000 carried, split 3:1.
    book.credit_paid(1237, 2474);
    book.credit_work(b, 0.5e6);
    book.close_epoch();
    statement = book.latest()->statement();
    QCOMPARE(statement.epoch, std::uint64_t(2));
    QCOMPARE(statement.total_units, std::uint64_t(4001));
    QCOMPARE(statement.total_revenue, std::uint64_t(3474));
    QCOMPARE(book.revenue_part(2, a) + book.revenue_part(2, b), std::uint64_t(3474));
    // 3474 × 3/4 = 2605.5 and 3474 × 1/4 = 868.5: the one remainder micro-unit goes to the smaller address.
    QCOMPARE(book.revenue_part(2, a), std::uint64_t(a < b ? 2606 : 2605));
    QCOMPARE(book.latest()->proof_for(b)->leaf.units, std::uint64_t(1001));
    // Demo usage (an open gateway without a key) is shown and earns nothing.
    hub::HubStore demo_store({}, "run-2");
    hub::SettlementBook demo(demo_store, "run-2", hub, 1000, "USDC");
    demo.credit_work(a, 1e6);
    demo.close_epoch();
    demo.credit_demo(333);
    demo.credit_demo(1);
    QCOMPARE(demo.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(334));
    QCOMPARE(demo.open_epoch_json()["tokens"].get<std::uint64_t>(), std::uint64_t(0));
    demo.close_epoch();
    QCOMPARE(demo.latest()->statement().total_revenue, std::uint64_t(0));
    QCOMPARE(demo.latest()->statement().carried_revenue, std::uint64_t(0));
    QCOMPARE(demo.open_epoch_json()["demo_tokens"].get<std::uint64_t>(), std::uint64_t(0));
  }

  void bookSurvivesARestart() {
    QTemporaryDir dir;
    const auto file = std::filesystem::path(dir.path().toStdString()) / "hub-run-1.db";
    const auto hub = wallet::KeyPair::generate();
    const auto a = address_of(wallet::KeyPair::generate());
    protocol::Statement before;
    {
      hub::HubStore store(file, "run-1");
      hub::SettlementBook book(store, "run-1", hub, 1000, "USDC");
      book.credit_work(a, 7e6);
      book.close_epoch();
      book.credit_paid(10, 10);
      book.close_epoch();
      before = book.latest()->statement();
      book.credit_work(a, 2.5e6);  // the open epoch's credit is kept too
      book.credit_paid(3, 3);
    }
    hub::HubStore store(file, "run-1");
    hub::SettlementBook again(store, "run-1", hub, 1000, "USDC");
    QCOMPARE(again.open_epoch(), std::uint64_t(3));
    QCOMPARE(again.latest()->statement().signature, before.signature);
    QCOMPARE(again.latest()->statement().root, before.root);
    QCOMPARE(again.open_epoch_json()["flops"].get<double>(), 2.5e6);
    QCOMPARE(again.open_epoch_json()["tokens"].get<std::uint64_t>(), std::uint64_t(3));
    again.close_epoch();
    QCOMPARE(again.latest()->proof_for(a)->leaf.units, std::uint64_t(9));  // 0.5 units carried
    QCOMPARE(again.latest()->proof_for(a)->leaf.revenue, std::uint64_t(13));  // 10, and the 3 kept open
    // Every published epoch is still served, rebuilt from the store, with its signature.
    QCOMPARE(again.epoch(1)->proof_for(a)->leaf.units, std::uint64_t(7));
    QVERIFY(protocol::verify_statement(again.epoch(1)->statement(), hub.public_key()));
    QCOMPARE(again.revenue_part(2, a), std::uint64_t(10));
    QVERIFY(!again.epoch(4));
    // One hub per database, and a database belongs to its run.
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, hub::HubStore(file, "run-1"));
    { hub::HubStore other(file.parent_path() / "other.db", "run-1"); }
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, hub::HubStore(file.parent_path() / "other.db", "run-2"));
  }

  // A hub of an earlier version kept settlement-<run>.json: the first start imports it (the same
  // statement, signature and carried fractions) and renames it.
  void legacyStateFileIsImported() {
    QTemporaryDir dir;
    const auto folder = std::filesystem::path(dir.path().toStdString());
    const auto hub = wallet::KeyPair::generate();
    const auto a = address_of(wallet::KeyPair::generate());
    const auto b = address_of(wallet::KeyPair::generate());
    protocol::SettlementState state;
    state.epoch = 4;
    state.owners[a] = {30, 700};
    state.owners[b] = {10, 300};
    protocol::EpochSettlement settlement{state, {{a, 75}, {b, 25}}, 100, 100};
    const protocol::PublishedEpoch old("run-1", settlement, hub, {}, 1);  // statement version 1, as that hub signed
    const nlohmann::json legacy{{"run", "run-1"},
                                {"epoch", 4},
                                {"owners", {{a, {30, 700}}, {b, {10, 300}}}},
                                {"carried_revenue", 0},
                                {"revenue_milli_remainder", 999},
                                {"flops_remainder", {{a, 0.75e6}}},
                                {"last_epoch_revenue", 100},
                                {"last_revenue_parts", {{a, 75}, {b, 25}}}};
    const auto file = hub::legacy_settlement_file(folder, "run-1");
    {
      std::ofstream out(file);
      out << legacy.dump();
    }
    hub::HubStore store(folder / "hub-run-1.db", "run-1");
    QVERIFY(hub::import_legacy_settlement(store, file, "run-1", hub));
    QVERIFY(!std::filesystem::exists(file));
    QVERIFY(std::filesystem::exists(file.string() + ".imported"));
    hub::SettlementBook book(store, "run-1", hub, 1000, "USDC");
    QCOMPARE(book.open_epoch(), std::uint64_t(5));
    QCOMPARE(book.latest()->statement().signature, old.statement().signature);
    QCOMPARE(book.revenue_part(4, a), std::uint64_t(75));
    book.credit_work(a, 0.25e6);  // with the carried 0.75e6: one more unit
    book.credit_paid(1, 1);        // a debit of 1 micro-unit, plus 0.999 carried by the old hub
    book.close_epoch();
    QCOMPARE(book.latest()->proof_for(a)->leaf.units, std::uint64_t(31));
    QCOMPARE(book.latest()->statement().epoch_revenue, std::uint64_t(1));
    QCOMPARE(book.open_epoch_json()["revenue"].get<std::uint64_t>(), std::uint64_t(0));
  }

  // Totals near 2^64: settling withholds what does not fit, flags it in /api/epoch's JSON, and the
  // next epochs settle (before, close_epoch threw on every try and the run stopped settling).
  void overflowIsReportedAndLaterEpochsSettle() {
    const auto hub = wallet::KeyPair::generate();
    const auto a = address_of(wallet::KeyPair::generate());
    const auto b = address_of(wallet::KeyPair::generate());
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub, 1000, "USDC");
    QCOMPARE(book.open_epoch_json()["overflowed"].get<bool>(), false);
    book.credit_work(a, 1.8e25);  // 1.8e19 units: just below 2^64 (1.845e19)
    QCOMPARE(book.close_epoch(), std::uint64_t(1));
    QCOMPARE(book.open_epoch_json()["overflowed"].get<bool>(), false);
    book.credit_work(a, 1e24);  // 1e18 more units: past 2^64
    book.credit_work(b, 1e24);
    QCOMPARE(book.close_epoch(), std::uint64_t(2));
    const auto statement = book.latest()->statement();
    QCOMPARE(statement.total_units, std::numeric_limits<std::uint64_t>::max());
    QVERIFY(protocol::verify_statement(statement, hub.public_key()));
    auto open = book.open_epoch_json();
    QCOMPARE(open["overflowed"].get<bool>(), true);
    QCOMPARE(open["overflow"]["epoch"].get<std::uint64_t>(), std::uint64_t(2));
    QVERIFY(open["overflow"]["units_withheld"].get<std::uint64_t>() > 1'000'000'000'000'000'000ull);
    // Later epochs settle; revenue is still paid by shares; an owner's units past 2^64 are withheld too.
    book.credit_paid(5000, 5000);
    book.credit_work(b, 1e40);
    QCOMPARE(book.close_epoch(), std::uint64_t(3));
    book.credit_paid(2000, 2000);
    QCOMPARE(book.close_epoch(), std::uint64_t(4));
    QCOMPARE(book.latest()->statement().total_revenue, std::uint64_t(7000));
    QCOMPARE(book.open_epoch_json()["overflow"]["epochs"].get<std::uint64_t>(), std::uint64_t(2));
    QCOMPARE(book.open_epoch_json()["overflow"]["epoch"].get<std::uint64_t>(), std::uint64_t(3));
  }

  void nodeVerifiesAndRecordsStatements() {
    QTemporaryDir dir;
    const auto hub_key = wallet::KeyPair::generate();
    const auto node_key = wallet::KeyPair::generate();
    const auto owner = address_of(wallet::KeyPair::generate());
    const auto other = address_of(wallet::KeyPair::generate());
    hub::HubStore store({}, "run-1");
    hub::SettlementBook book(store, "run-1", hub_key, 1000, "USDC");
    LocalServer server;
    hub::serve_controller(server.server, hub::StatementsController(book));
    server.start();
    const auto log = std::filesystem::path(dir.path().toStdString()) / "contributions.db";
    {
      ledger::LedgerWriter writer(log, node_key);
      client::StatementSync sync(server.url(), "run-1", hub_key.public_key(), owner, writer);
      QCOMPARE(sync.poll().outcome, client::StatementCheck::Outcome::NothingNew);
      book.credit_work(owner, 2e6);
      book.credit_work(other, 6e6);
      book.close_epoch();
      QCOMPARE(sync.poll().outcome, client::StatementCheck::Outcome::Verified);
      book.credit_paid(4000, 4000);  // 4,000 micro-units: 1,000 to owner (1/4), 3,000 to other
      book.close_epoch();
      const auto check = sync.poll();
      QCOMPARE(check.outcome, client::StatementCheck::Outcome::Verified);
      QCOMPARE(check.epoch, std::uint64_t(2));
      QCOMPARE(sync.poll().outcome, client::StatementCheck::Outcome::NothingNew);
    }
    ledger::LedgerReader reader(log);
    QCOMPARE(reader.row_count(ledger::Table::Statements), std::int64_t(2));
    const auto ownership = reader.ownership_series();
    QCOMPARE(ownership.size(), std::size_t(2));
    QVERIFY(ownership.back().verified);
    QCOMPARE(ownership.back().share(), 0.25);
    const auto revenue = reader.revenue_per_epoch();
    bool found = false;
    for (const auto& epoch : revenue)
      if (epoch.epoch == 2) {
        found = true;
        QCOMPARE(epoch.accrued, std::int64_t(1000));
        QVERIFY(epoch.verified.has_value());
        QCOMPARE(*epoch.verified, std::int64_t(1000));
      }
    QVERIFY(found);
    QVERIFY(reader.verify(node_key.public_key()).intact);
  }

  void forgedOrAlteredStatementsAreRejected() {
    const auto hub_key = wallet::KeyPair::generate();
    const auto impostor = wallet::KeyPair::generate();
    const auto node_key = wallet::KeyPair::generate();
    const auto owner = address_of(wallet::KeyPair::generate());
    hub::HubStore real_store({}, "run-1"), forged_store({}, "run-1");
    hub::SettlementBook real(real_store, "run-1", hub_key, 1000, "USDC");
    hub::SettlementBook forged(forged_store, "run-1", impostor, 1000, "USDC");
    for (auto* book : {&real, &forged}) {
      book->credit_work(owner, 5e6);
      book->close_epoch();
    }
    struct Case {
      const char* name;
      std::function<void(httplib::Server&)> mount;
    };
    const auto alter = [&](const char* field) {
      return [&real, owner, field](httplib::Server& server) {
        server.Get("/api/statements/latest", [&real](const httplib::Request&, httplib::Response& response) {
          response.set_content(protocol::to_json(real.latest()->statement()).dump(), "application/json");
        });
        server.Get("/api/statements/1", [&real, field](const httplib::Request&, httplib::Response& response) {
          auto body = protocol::to_json(real.latest()->statement());
          if (std::string(field) == "total_units") body["total_units"] = body["total_units"].get<std::uint64_t>() + 1;
          response.set_content(body.dump(), "application/json");
        });
        server.Get(R"(/api/statements/1/proof/(.+))", [&real, owner, field](const httplib::Request&, httplib::Response& response) {
          auto body = protocol::to_json(*real.latest()->proof_for(owner));
          if (std::string(field) == "units") body["units"] = 50;
          response.set_content(body.dump(), "application/json");
        });
      };
    };
    const std::vector<Case> cases{
        {"signed by another key", [&](httplib::Server& server) { hub::serve_controller(server, hub::StatementsController(forged)); }},
        {"leaf units raised", alter("units")},
        {"statement totals changed", alter("total_units")},
    };
    for (const auto& c : cases) {
      QTemporaryDir dir;
      LocalServer server;
      c.mount(server.server);
      server.start();
      const auto log = std::filesystem::path(dir.path().toStdString()) / "contributions.db";
      {
        ledger::LedgerWriter writer(log, node_key);
        client::StatementSync sync(server.url(), "run-1", hub_key.public_key(), owner, writer);
        const auto check = sync.poll();
        QVERIFY2(check.outcome == client::StatementCheck::Outcome::Rejected, (std::string(c.name) + ": " + check.message).c_str());
        QVERIFY2(check.message.find("rejected") != std::string::npos, check.message.c_str());
      }
      ledger::LedgerReader reader(log);
      QVERIFY2(reader.row_count(ledger::Table::Statements) == 0, c.name);
      QVERIFY2(reader.row_count(ledger::Table::Events) == 1, c.name);
    }
    // An unreachable hub is reported as such, not as a rejection.
    QTemporaryDir dir;
    ledger::LedgerWriter writer(std::filesystem::path(dir.path().toStdString()) / "c.db", node_key);
    client::StatementSync sync("http://127.0.0.1:1", "run-1", hub_key.public_key(), owner, writer,
                             std::chrono::milliseconds(500));
    QCOMPARE(sync.poll().outcome, client::StatementCheck::Outcome::Unreachable);
  }
};

QTEST_APPLESS_MAIN(TestSettlementFlow)
#include "test_settlement_flow.moc"
