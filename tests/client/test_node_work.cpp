// What a hub counts of a node's work (GET /api/work), as the node reads it: the hub's own form
// (hub::to_json(NodeEpochTally), so the counter names agree) parsed into client::EpochWork, the log
// line, bad replies refused with a message, HubClient::work against a small hub on 127.0.0.1, a 403
// "excluded from this run" thrown as HubExcluded, and the node status carrying the figures.
#include <QtTest>

#include <thread>

#include <httplib.h>

#include "core/client/hub_client.h"
#include "core/client/node_work.h"
#include "core/control/node_status.h"
#include "core/hub/node_tally.h"
#include "core/wallet/encoding.h"
#include "tests/support/local_http_server.h"

using namespace tessera;
using test::LocalServer;

namespace {

// Epoch 3 as the hub's tally prints it (its counters are doubles: 412 prints as 412.0).
hub::NodeEpochTally sampleTally() {
  hub::NodeEpochTally tally;
  tally.epoch = 3;
  tally.owner = "Owner1111111111111111111111111111111111111";
  tally.counters = {{hub::kCreditedReceipts, 412},     {hub::kCreditedFlops, 1.234e9}, {"rejected:tokens", 2},
                    {"rejected:not-committed", 1},     {hub::kChecksPassed, 3},        {hub::kChecksFailed, 0},
                    {hub::kVerifyFlops, 2.0e7},        {hub::kForfeitedFlops, 0}};
  return tally;
}

nlohmann::json counters(nlohmann::json extra) {
  nlohmann::json epoch{{"epoch", 1}, {"owner", "x"}, {"counters", {{"credited_receipts", 1}}}};
  for (const auto& [key, value] : extra.items()) epoch["counters"][key] = value;
  return epoch;
}

}  // namespace

class TestNodeWork : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void readsTheHubsForm() {
    const auto work = client::epoch_work_from_json(hub::to_json(sampleTally()));
    QCOMPARE(work.epoch, 3u);
    QCOMPARE(work.credited_receipts, 412u);
    QCOMPARE(work.credited_flops, 1.234e9);
    QCOMPARE(work.rejected.at("tokens"), 2u);
    QCOMPARE(work.rejected.at("not-committed"), 1u);
    QCOMPARE(work.rejected_total(), 3u);
    QCOMPARE(work.checks_passed, 3u);
    QCOMPARE(work.verification_flops, 2.0e7);
    QCOMPARE(client::epoch_work_from_json(client::to_json(work)), work);  // the status carries the same form
    QCOMPARE(QString::fromStdString(client::describe(work)),
             QStringLiteral("epoch 3 so far (hub's count): credited 412 receipts, 1,234 MFLOP; rejected 3 "
                            "(not-committed: 1, tokens: 2); spot checks 3 passed, 0 failed; verification 20 MFLOP"));
  }

  void refusesWhatIsNotACount_data() {
    QTest::addColumn<QString>("epoch");
    const auto add = [](const char* name, const nlohmann::json& epoch) { QTest::newRow(name) << QString::fromStdString(epoch.dump()); };
    add("negative count", counters({{"checks_passed", -1}}));
    add("fractional count", counters({{"rejected:tokens", 2.5}}));
    add("count past 2^53", counters({{"credited_receipts", 1e300}}));
    add("count as text", counters({{"checks_failed", "3"}}));
    add("negative FLOPs", counters({{"credited_flops", -5.0}}));
    add("FLOPs as text", counters({{"verification_flops", "1e9"}}));
    add("epoch negative", nlohmann::json{{"epoch", -1}, {"counters", nlohmann::json::object()}});
    add("epoch fractional", nlohmann::json{{"epoch", 1.5}, {"counters", nlohmann::json::object()}});
    add("no epoch", nlohmann::json{{"counters", nlohmann::json::object()}});
    add("counters a list", nlohmann::json{{"epoch", 1}, {"counters", nlohmann::json::array()}});
    add("owner a number", nlohmann::json{{"epoch", 1}, {"owner", 5}, {"counters", nlohmann::json::object()}});
    add("owner too long", nlohmann::json{{"epoch", 1}, {"owner", std::string(500, 'a')}, {"counters", nlohmann::json::object()}});
    add("name too long", counters({{"rejected:" + std::string(200, 'x'), 1}}));
    nlohmann::json many = nlohmann::json::object();
    for (std::size_t i = 0; i <= client::kMaxWorkCounters; ++i) many["rejected:r" + std::to_string(i)] = 1;
    add("too many counters", nlohmann::json{{"epoch", 1}, {"counters", many}});
    add("not an object", nlohmann::json::array({1, 2}));
  }
  void refusesWhatIsNotACount() {
    QFETCH(QString, epoch);
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument,
                             client::epoch_work_from_json(nlohmann::json::parse(epoch.toStdString())));
  }

  void refusesTooManyEpochs() {
    auto epochs = nlohmann::json::array();
    for (std::size_t i = 0; i <= client::kMaxWorkEpochs; ++i) epochs.push_back(counters(nlohmann::json::object()));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, client::node_work_from_json(epochs));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, client::node_work_from_json(nlohmann::json::object()));
    epochs.erase(epochs.begin() + 1, epochs.end());
    QCOMPARE(client::node_work_from_json(epochs).size(), 1u);
  }

  void asksTheHub() {
    const auto node = wallet::KeyPair::generate().public_key();
    LocalServer hub;
    std::string reply;
    hub.server.Get("/api/work", [&](const httplib::Request& request, httplib::Response& response) {
      QCOMPARE(request.get_param_value("node"), wallet::to_hex(node));
      response.set_content(reply, "application/json");
    });
    hub.start();
    client::HubClient client(hub.url());
    reply = nlohmann::json{{"node", wallet::to_hex(node)}, {"epochs", {hub::to_json(sampleTally())}}}.dump();
    const auto work = client.work(node);
    QCOMPARE(work.size(), 1u);
    QCOMPARE(work.front().credited_receipts, 412u);

    const auto refused = [&](const std::string& body, const char* says) {
      reply = body;
      try {
        client.work(node);
        QFAIL("a bad reply was accepted");
      } catch (const std::runtime_error& error) {
        QVERIFY2(std::string(error.what()).find(says) != std::string::npos, error.what());
      }
    };
    refused(nlohmann::json{{"node", std::string(64, '0')}, {"epochs", nlohmann::json::array()}}.dump(), "another node");
    refused(nlohmann::json{{"node", wallet::to_hex(node)}}.dump(), "malformed");
    refused(std::string(client::kMaxWorkReplyBytes + 1, ' '), "at most");
    refused(std::string(40, '[') + std::string(40, ']'), "not JSON");
  }

  void excludedIsItsOwnError() {
    LocalServer hub;
    hub.server.Post("/api/challenge", [](const httplib::Request&, httplib::Response& response) {
      response.status = 403;
      response.set_content(R"({"error": {"message": "excluded from this run: its work failed a spot check at step 7"}})",
                           "application/json");
    });
    hub.start();
    client::HubClient client(hub.url());
    try {
      client.join(wallet::KeyPair::generate(), {});
      QFAIL("the join was not refused");
    } catch (const client::HubExcluded& excluded) {
      QCOMPARE(QString::fromStdString(excluded.reason), QStringLiteral("its work failed a spot check at step 7"));
      QVERIFY(std::string(excluded.what()).find("/api/challenge") != std::string::npos);
    }
  }

  void statusCarriesTheHubsCount() {
    control::NodeStatus status;
    status.state = "excluded";
    status.reason = "its work failed a spot check at step 7";
    status.verification = {client::epoch_work_from_json(hub::to_json(sampleTally()))};
    const auto json = status.to_json();
    QVERIFY(json.at("verification").at("epochs").is_array());
    QCOMPARE(control::NodeStatus::from_json(json), status);
    auto bad = json;
    bad["verification"]["epochs"][0]["counters"]["checks_failed"] = -2;
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, control::NodeStatus::from_json(bad));
    QCOMPARE(control::NodeStatus::from_json(nlohmann::json{{"state", "running"}}).verification.size(), 0u);
  }
};

QTEST_APPLESS_MAIN(TestNodeWork)
#include "test_node_work.moc"
