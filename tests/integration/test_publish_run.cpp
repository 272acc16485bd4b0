// Publishing runs end to end with the real binaries, no hand-written JSON (issue 21): `tessera-hub
// init` writes two signed manifests (a publisher's key, the hub's key); `tessera-hub` serves the
// first (--manifest) and `tessera-hub runs add` adds the second while it serves; the catalog
// (GET /api/runs) lists both; a real `tessera-node run` joins the second through its catalog URL
// (http://127.0.0.1:P/runs/<run>) and trains committed steps there, while the first run (the hub's
// default) records none and has no member.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/run_catalog.h"
#include "core/protocol/run_paths.h"
#include "core/wallet/encoding.h"
#include "tests/integration/hub_and_node.h"

using namespace tessera;
using test::q;
namespace fs = std::filesystem;
namespace api = protocol::hub_api;

namespace {

constexpr char kFirst[] = "publish-first";
constexpr char kSecond[] = "publish-second";

protocol::RunManifest read_manifest(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return protocol::manifest_from_json(nlohmann::json::parse(text.str()));
}

std::uint64_t progress_total(int port, const std::string& path) {
  const auto reply = test::hub_get(port, path);
  return reply.status == 200 ? reply.body.value("total", std::uint64_t{0}) : 0;
}

}  // namespace

class TestPublishRun : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  fs::path root_;
  wallet::KeyPair publisher_ = wallet::KeyPair::generate(), hub_key_ = wallet::KeyPair::generate();

  // `tessera-hub init` of a small one-stage arithmetic run.
  test::ProcessResult init(const std::string& run, const fs::path& out) const {
    return test::run_process(QStringLiteral(TESSERA_HUB_BIN),
                             {"init", "--run", QString::fromStdString(run), "--layers", "2", "--width", "64",
                              "--context", "32", "--stages", "1", "--codec", "none", "--dataset", "arithmetic",
                              "--publisher-key", q(root_ / "publisher.json"), "--hub-key", q(root_ / "hub.json"),
                              "--out", q(out)},
                             {}, 30000);
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    root_ = dir_.path().toStdString();
    wallet::write_solana_keypair_file(root_ / "publisher.json", publisher_);
    wallet::write_solana_keypair_file(root_ / "hub.json", hub_key_);
  }

  void publishesTwoRunsAndANodeTrainsTheSecond() {
    for (const auto* run : {kFirst, kSecond}) {
      const auto written = init(run, root_ / (std::string(run) + ".json"));
      QVERIFY2(written.exit_code == 0, qPrintable(written.err));
      const auto manifest = read_manifest(root_ / (std::string(run) + ".json"));
      QVERIFY(protocol::verify_manifest(manifest, publisher_.public_key()));
      QVERIFY(manifest.hub_key == hub_key_.public_key());
      QCOMPARE(manifest.run_id, std::string(run));
    }

    const auto data = root_ / "hub-data";
    test::HubProcess hub(data, {"--manifest", q(root_ / "publish-first.json"), "--hub-key", q(root_ / "hub.json")});
    const int port = hub.wait_port();
    QVERIFY2(port > 0, qPrintable(hub.output()));
    const auto added = test::hub_command(data, {"runs", "add", q(root_ / "publish-second.json")});
    QVERIFY2(added.exit_code == 0, qPrintable(added.err + added.out));

    const auto listed = test::hub_get(port, protocol::kRunCatalogPath);
    QCOMPARE(listed.status, 200);
    auto catalog = protocol::run_catalog_from_json(listed.body);
    QCOMPARE(catalog.runs.size(), std::size_t(2));
    QCOMPARE(catalog.runs[0].run, std::string(kFirst));
    QCOMPARE(catalog.runs[1].run, std::string(kSecond));
    const auto second = catalog.runs[1];
    QCOMPARE(second.url, hub.url() + protocol::run_path_prefix(kSecond));
    QCOMPARE(second.publisher, wallet::base58_encode(publisher_.public_key()));
    QVERIFY(!second.retired);
    QCOMPARE(second.model.width, 64);
    QCOMPARE(second.model.context, 32);
    QCOMPARE(second.stages, 1);
    QCOMPARE(second.steps, std::uint64_t(0));

    // A contributor's node joins the second run by the URL the catalog gives, and trains there.
    test::NodeMachine machine(root_ / "node");
    test::NodeProcess node(machine, second.url);
    const auto second_progress = protocol::run_path_prefix(kSecond) + api::kProgress;
    QVERIFY2(test::wait_for([&] { return !node.running() || progress_total(port, second_progress) >= 2; }, 45000) &&
                 node.running(),
             node.output().constData());
    catalog = protocol::run_catalog_from_json(test::hub_get(port, protocol::kRunCatalogPath).body);
    QVERIFY(catalog.runs[1].steps >= 2);  // the steps the run has committed
    QCOMPARE(catalog.runs[1].peers_per_stage, std::vector<std::uint64_t>{1});
    QVERIFY(catalog.runs[1].loss.has_value());
    // The first run, the hub's default, trained nothing and has no member: under its path and the
    // unprefixed one.
    QCOMPARE(catalog.runs[0].steps, std::uint64_t(0));
    QCOMPARE(catalog.runs[0].peers_per_stage, std::vector<std::uint64_t>{0});
    QCOMPARE(progress_total(port, protocol::run_path_prefix(kFirst) + api::kProgress), std::uint64_t(0));
    QCOMPARE(progress_total(port, api::kProgress), std::uint64_t(0));
    const auto first_progress = test::hub_get(port, protocol::run_path_prefix(kFirst) + api::kProgress);
    QCOMPARE(first_progress.status, 200);
    QVERIFY(first_progress.body["steps"].empty());
    // The steps it reports are the second run's, numbered from 1.
    const auto steps = test::hub_get(port, second_progress).body["steps"];
    QVERIFY(steps.size() >= 2);
    QCOMPARE(steps[0]["step"].get<std::uint64_t>(), std::uint64_t(1));

    QCOMPARE(node.stop(), 0);
    // It left the run when it stopped.
    QVERIFY(test::wait_for(
        [&] {
          return protocol::run_catalog_from_json(test::hub_get(port, protocol::kRunCatalogPath).body)
                     .runs[1]
                     .peers_per_stage == std::vector<std::uint64_t>{0};
        },
        10000));
  }
};

QTEST_GUILESS_MAIN(TestPublishRun)
#include "test_publish_run.moc"
