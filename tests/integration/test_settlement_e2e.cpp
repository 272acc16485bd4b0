// Settlement end to end on loopback: `tessera-node demo --serve` trains a 3-stage swarm with
// short epochs; a completion without a key is demo usage that earns nothing; an API key is made
// with `tessera-hub keys add` against the demo's running hub, a completion is bought with it
// through the OpenAI-compatible gateway, the key is debited exactly its price, and every owner's
// node records verified statements whose revenue adds up exactly to that debit; every log still
// verifies.
#include <QtTest>

#include <signal.h>

#include <QProcess>
#include <QRegularExpression>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/ledger/reader.h"
#include "tests/support/run_process.h"

using namespace tessera;

namespace {

// Reads the process's stderr until a line matches; returns the first capture.
QString wait_for_line(QProcess& process, QString& buffer, const QRegularExpression& pattern, int timeout_ms) {
  QElapsedTimer timer;
  timer.start();
  while (timer.elapsed() < timeout_ms && process.state() == QProcess::Running) {
    process.waitForReadyRead(200);
    buffer += QString::fromUtf8(process.readAllStandardError());
    const auto match = pattern.match(buffer);
    if (match.hasMatch()) return match.captured(1);
  }
  return {};
}

// Sum over the logs of the revenue that verified statements confirm.
std::int64_t verified_revenue(const std::vector<std::filesystem::path>& logs, int* statements = nullptr) {
  std::int64_t total = 0;
  for (const auto& file : logs) {
    if (!std::filesystem::exists(file)) continue;
    try {
      ledger::LedgerReader reader(file);
      for (const auto& epoch : reader.revenue_per_epoch()) total += epoch.verified.value_or(0);
      if (statements) *statements += static_cast<int>(reader.row_count(ledger::Table::Statements));
    } catch (const std::exception&) {
    }
  }
  return total;
}

}  // namespace

class TestSettlementEndToEnd : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void completionRevenueIsVerifiedInEveryOwnersLog() {
    QTemporaryDir dir;
    QProcess demo;
    demo.start(QStringLiteral(TESSERA_NODE_BIN),
               {"--data-dir", dir.path(), "demo", "--json", "--steps", "4", "--stages", "3", "--epoch-seconds", "2",
                "--price", "1000", "--serve"});
    QVERIFY(demo.waitForStarted());
    QString err;
    const auto gateway = wait_for_line(demo, err, QRegularExpression("gateway: (http://127\\.0\\.0\\.1:\\d+/v1)"), 60000);
    QVERIFY2(!gateway.isEmpty(), qPrintable(err.right(3000)));
    // Training done: the summary is on stdout, then the network keeps serving.
    QString out;
    QElapsedTimer timer;
    timer.start();
    while (!out.contains('\n') && timer.elapsed() < 240000 && demo.state() == QProcess::Running) {
      demo.waitForReadyRead(500);
      out += QString::fromUtf8(demo.readAllStandardOutput());
      err += QString::fromUtf8(demo.readAllStandardError());
    }
    QVERIFY2(out.contains('\n'), qPrintable(err.right(3000)));
    const auto summary = nlohmann::json::parse(out.toStdString());
    QVERIFY(summary["loss_last"].get<double>() < summary["loss_first"].get<double>());

    const auto url = QUrl(gateway);
    httplib::Client client(url.host().toStdString(), url.port());
    client.set_read_timeout(std::chrono::seconds(60));
    const auto hub_url = QUrl(QString::fromStdString(summary["hub"].get<std::string>()));
    httplib::Client hub(hub_url.host().toStdString(), hub_url.port());  // the gateway has a server of its own
    // Revenue is split by the shares at the end of the epoch before the one it is earned in. Credit
    // follows commits: a receipt can wait for its step's record, so the summary can come before
    // every owner's work is settled (under load, after the epoch it was trained in). The purchase
    // waits for a statement in which all three owners hold units, then for the next epoch: every
    // owner's work is then in the shares that split it.
    const auto open_epoch = [&] {
      const auto reply = hub.Get("/api/epoch");
      return reply && reply->status == 200 ? nlohmann::json::parse(reply->body)["epoch"].get<std::int64_t>() : -1;
    };
    const auto owners_settled = [&] {
      const auto reply = hub.Get("/api/statements/latest");
      return reply && reply->status == 200 ? nlohmann::json::parse(reply->body)["owner_count"].get<std::int64_t>() : 0;
    };
    timer.restart();
    while (owners_settled() < 3 && timer.elapsed() < 60000) QTest::qWait(200);
    QCOMPARE(owners_settled(), std::int64_t(3));
    const auto trained_in = open_epoch();
    QVERIFY(trained_in >= 0);
    timer.restart();
    while (open_epoch() <= trained_in && timer.elapsed() < 30000) QTest::qWait(200);
    QVERIFY(open_epoch() > trained_in);
    auto models = client.Get("/v1/models");
    QVERIFY(models && models->status == 200);
    const auto model = nlohmann::json::parse(models->body)["data"][0]["id"].get<std::string>();
    const nlohmann::json request{{"model", model}, {"prompt", "12+34="}, {"max_tokens", 6}, {"temperature", 0}};
    // Without a key: demo usage, served and shown, earning nothing.
    auto demo_reply = client.Post("/v1/completions", request.dump(), "application/json");
    QVERIFY(demo_reply);
    QVERIFY2(demo_reply->status == 200, demo_reply->body.c_str());
    const auto epoch_now = nlohmann::json::parse(hub.Get("/api/epoch")->body);
    QVERIFY(epoch_now["demo_tokens"].get<std::int64_t>() >= 12 || epoch_now["epoch"].get<std::int64_t>() > trained_in + 1);
    QCOMPARE(epoch_now["revenue"].get<std::int64_t>(), std::int64_t(0));

    // With a key the demo's operator made on its running hub: paid.
    const auto demo_dir = dir.path() + "/demo";
    const auto added = test::run_process(QStringLiteral(TESSERA_HUB_BIN),
                                         {"--data-dir", demo_dir, "keys", "add", "--name", "e2e", "--balance", "1"});
    QVERIFY2(added.exit_code == 0, qPrintable(added.err));
    const auto key = added.out.trimmed().toStdString();
    client.set_bearer_token_auth(key);
    auto response = client.Post("/v1/completions", request.dump(), "application/json");
    QVERIFY(response);
    QVERIFY2(response->status == 200, response->body.c_str());
    const auto usage = nlohmann::json::parse(response->body)["usage"];
    // 1,000 micro-units per 1,000 tokens: the price of the request is its token count.
    const auto price = usage["total_tokens"].get<std::int64_t>();
    QCOMPARE(price, std::int64_t(6 + 6));
    const auto listed = test::run_process(QStringLiteral(TESSERA_HUB_BIN), {"--data-dir", demo_dir, "keys", "list", "--json"});
    QVERIFY2(listed.exit_code == 0, qPrintable(listed.err));
    const auto record = nlohmann::json::parse(listed.out.toStdString())["keys"][0];
    QCOMPARE(record["spent"].get<std::int64_t>(), price);
    QCOMPARE(record["balance"].get<std::int64_t>(), 1'000'000 - price);

    std::vector<std::filesystem::path> logs;
    for (int i = 0; i < 3; ++i)
      logs.push_back(std::filesystem::path(dir.path().toStdString()) / "demo" / ("peer-" + std::to_string(i)) /
                     "contributions.db");
    std::int64_t verified = 0;
    timer.restart();
    while (timer.elapsed() < 60000 && (verified = verified_revenue(logs)) < price) QTest::qWait(500);
    QCOMPARE(verified, price);

    ::kill(static_cast<pid_t>(demo.processId()), SIGINT);
    QVERIFY(demo.waitForFinished(30000));
    QCOMPARE(demo.exitCode(), 0);
    int statements = 0;
    QCOMPARE(verified_revenue(logs, &statements), price);  // nothing more, nothing twice
    QVERIFY(statements >= 3);
    int owners_paid = 0;
    for (const auto& file : logs) {
      ledger::LedgerReader reader(file);
      QVERIFY2(reader.verify().intact, file.c_str());
      std::int64_t mine = 0;
      for (const auto& epoch : reader.revenue_per_epoch()) mine += epoch.verified.value_or(0);
      owners_paid += mine > 0;
    }
    QVERIFY(owners_paid >= 2);  // split between the owners by their shares
  }
};

QTEST_GUILESS_MAIN(TestSettlementEndToEnd)
#include "test_settlement_e2e.moc"
