// Spot checks against the real tessera-hub (--check-rate 1, a state folder): three replicas of a
// stage report their weights digests and the one that loses 2 to 1 is excluded: its heartbeat and
// its join answer 403 with the reason, the next epoch's statement (signed by the hub key, checked
// here) names it, and a restarted hub still refuses it. GET /api/checks/summary says the rate.
#include <QtTest>

#include <QTemporaryDir>

#include <fstream>
#include <thread>

#include "core/client/hub_client.h"
#include "core/protocol/payload_digest.h"
#include "core/protocol/statement.h"
#include "core/wallet/encoding.h"
#include "tests/hub/hub_crash_support.h"
#include "tests/hub/signed_http.h"

using namespace tessera;
using hub_crash::HubProcess;
using hub_crash::Node;
namespace api = protocol::hub_api;
using nlohmann::json;

namespace {

struct Url {
  std::string host = "127.0.0.1";
  int port = 0;
  explicit Url(const std::string& url) : port(std::stoi(url.substr(url.rfind(':') + 1))) {}
};

protocol::PayloadDigest weights(char fill) {
  protocol::PayloadDigest digest{};
  digest.fill(static_cast<std::uint8_t>(fill));
  return digest;
}

}  // namespace

class TestExclusionProcess : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void aReplicaWhoseWeightsDifferIsExcludedAndStaysExcluded() {
    QTemporaryDir dir;
    const std::filesystem::path root = dir.path().toStdString();
    const auto publisher = wallet::KeyPair::generate();
    auto manifest = test::tiny_two_stage_manifest("exclusion-run");
    manifest.stages = 3;
    manifest.model.layers = 3;
    manifest.epoch_seconds = 1;
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    std::ofstream(root / "manifest.json") << protocol::to_json(manifest).dump();
    wallet::write_solana_keypair_file(root / "publisher.json", publisher);
    const QStringList arguments{QStringLiteral("--check-rate"), QStringLiteral("1")};

    std::vector<Node> nodes(9);
    wallet::PublicKey excluded{};
    {
      HubProcess hub(dir.filePath("data"), dir.filePath("manifest.json"), dir.filePath("publisher.json"), arguments);
      const auto url_text = hub.wait_serving();
      QVERIFY2(!url_text.empty(), qPrintable(hub.output()));
      const Url url(url_text);
      QCOMPARE(test::get_json(url.host, url.port, api::kCheckSummary)["rate"].get<double>(), 1.0);

      client::HubClient client(url_text);
      std::vector<Node*> stage1;
      for (auto& node : nodes) {
        protocol::JoinRequest request{wallet::sign_delegation(node.owner, node.key.public_key(), manifest.run_id, 4102444800),
                                      "tcp://127.0.0.1:1", {"cpu", 1ull << 34, 0}};
        node.stage = client.join(node.key, request);
        if (node.stage == 1) stage1.push_back(&node);
      }
      QCOMPARE(stage1.size(), std::size_t(3));
      const auto report = [&](const Node& node, char fill) {
        return test::signed_post(url.host, url.port, manifest.run_id, api::kWeights, node.key,
                                 {{"step", 1}, {"stage", 1}, {"weights", wallet::to_hex(weights(fill))}})
            .status;
      };
      QCOMPARE(report(*stage1[0], 'a'), 200);
      QCOMPARE(report(*stage1[1], 'b'), 200);
      QCOMPARE(report(*stage1[2], 'a'), 200);
      excluded = stage1[1]->key.public_key();
      const auto heartbeat = test::signed_post(url.host, url.port, manifest.run_id, api::kHeartbeat, stage1[1]->key, json::object());
      QCOMPARE(heartbeat.status, 403);
      QVERIFY(heartbeat.body.dump().find("excluded from this run: weights differ from its replicas") != std::string::npos);
      QCOMPARE(test::signed_post(url.host, url.port, manifest.run_id, api::kHeartbeat, stage1[0]->key, json::object()).status,
               200);

      // The next statement names it, under the hub's signature.
      std::optional<protocol::Statement> statement;
      for (int wait = 0; wait < 100 && !statement; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        const auto latest = test::get_json(url.host, url.port, api::kLatestStatement);
        if (latest.is_object() && latest.contains("events") && !latest["events"].empty())
          statement = protocol::statement_from_json(latest);
      }
      QVERIFY2(statement, qPrintable(hub.output()));
      QVERIFY(protocol::verify_statement(*statement, publisher.public_key()));
      QCOMPARE(statement->events.size(), std::size_t(1));
      QCOMPARE(statement->events[0].node, excluded);
      QCOMPARE(statement->events[0].owner, stage1[1]->owner_address());
      QCOMPARE(statement->events[0].reason, std::string("weights differ from its replicas"));
      QCOMPARE(statement->events[0].step, std::uint64_t(1));
    }
    // A restarted hub keeps the exclusion: the node cannot join again.
    HubProcess hub(dir.filePath("data"), dir.filePath("manifest.json"), dir.filePath("publisher.json"), arguments);
    const auto url_text = hub.wait_serving();
    QVERIFY2(!url_text.empty(), qPrintable(hub.output()));
    for (const auto& node : nodes) {
      if (node.key.public_key() != excluded) continue;
      protocol::JoinRequest request{wallet::sign_delegation(node.owner, node.key.public_key(), manifest.run_id, 4102444800),
                                    "tcp://127.0.0.1:1", {"cpu", 1ull << 34, 0}};
      try {
        client::HubClient(url_text).join(node.key, request);
        QFAIL("an excluded node joined again");
      } catch (const std::runtime_error& error) {
        QVERIFY2(std::string(error.what()).find("excluded from this run") != std::string::npos, error.what());
      }
    }
  }
};

QTEST_GUILESS_MAIN(TestExclusionProcess)
#include "test_exclusion_process.moc"
