// The pieces of a hub serving several runs, without a server (issue 21): route tables dispatch by
// the run-relative path with the pattern's groups in request.matches; run paths split and bound
// bodies by their run-relative part; the catalog's JSON round-trips and its parser refuses what a
// hostile hub could send; the run registry keeps one hub key, one publisher per run, rising
// revisions and retirements, across a reload from its folder.
#include <QtTest>

#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "core/hub/route_table.h"
#include "core/hub/run_registry.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/run_catalog.h"
#include "core/protocol/run_paths.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
namespace api = protocol::hub_api;

namespace {

httplib::Request request(const std::string& method, const std::string& path) {
  httplib::Request out;
  out.method = method;
  out.path = path;
  return out;
}

protocol::RunCatalogEntry entry(const std::string& run) {
  protocol::RunCatalogEntry out;
  out.run = run;
  out.url = "https://hub.example:8800/runs/" + run;
  out.publisher = "11111111111111111111111111111111";
  out.model = {2, 32, 2, 8, 256, 0};
  out.stages = 2;
  out.peers_per_stage = {3, 1};
  out.ready_per_stage = {2, 1};
  out.loss = 2.25;
  out.currency = "USDC";
  out.stage_needs = {{0, 1000, 10, 5.5, 64}, {1, 2000, 20, 6.5, 32}};
  return out;
}

protocol::RunManifest signed_run(const std::string& run, const wallet::KeyPair& publisher,
                                 const wallet::PublicKey& hub_key, int epoch_seconds = 3600, std::uint64_t revision = 0) {
  auto manifest = test::tiny_two_stage_manifest(run);
  manifest.hub_key = hub_key;
  manifest.revision = revision;
  manifest.epoch_seconds = epoch_seconds;
  protocol::sign_manifest(manifest, publisher);
  return manifest;
}

}  // namespace

class TestRunRouting : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void routesMatchTheRunRelativePath() {
    hub::RouteTable routes;
    std::string seen;
    routes.Get(api::proof_pattern(), [&](const httplib::Request& r, httplib::Response&) {
      seen = "proof " + std::string(r.matches[1]) + " " + std::string(r.matches[2]) + " " + r.path;
    });
    routes.Get(api::kManifest, [&](const httplib::Request&, httplib::Response&) { seen = "manifest"; });
    routes.Post(api::kJoin, [&](const httplib::Request& r, httplib::Response&) { seen = "join " + r.path; });
    httplib::Response response;
    const std::string owner = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin";
    auto proof = request("GET", "/runs/b/api/statements/12/proof/" + owner);
    QVERIFY(routes.dispatch(proof, response, protocol::hub_api::proof_path(12, owner)));
    // The groups come from the relative path; the request keeps the path as sent (signatures).
    QCOMPARE(seen, "proof 12 " + owner + " /runs/b/api/statements/12/proof/" + owner);
    QVERIFY(routes.dispatch(request("HEAD", "/api/manifest"), response, api::kManifest));
    QCOMPARE(seen, std::string("manifest"));
    QVERIFY(routes.dispatch(request("POST", "/runs/b/api/join"), response, api::kJoin));
    QCOMPARE(seen, std::string("join /runs/b/api/join"));
    seen.clear();
    QVERIFY(!routes.dispatch(request("GET", "/api/join"), response, api::kJoin));  // a POST route
    QVERIFY(!routes.dispatch(request("POST", "/api/manifest"), response, api::kManifest));
    QVERIFY(!routes.dispatch(request("DELETE", "/api/join"), response, api::kJoin));
    QVERIFY(!routes.dispatch(request("GET", "/api/manifest/x"), response, "/api/manifest/x"));  // whole path only
    QVERIFY(seen.empty());
  }

  void runPathsSplitAndBoundBodies() {
    const auto split = protocol::split_run_path("/runs/run-a.1/api/join");
    QVERIFY(split);
    QCOMPARE(std::string(split->run), std::string("run-a.1"));
    QCOMPARE(std::string(split->relative), std::string("/api/join"));
    const auto plain = protocol::split_run_path("/api/join");
    QVERIFY(plain && plain->run.empty() && plain->relative == "/api/join");
    for (const char* bad : {"/runs/", "/runs/a", "/runs/a/", "/runs//api/join", "/runs/a b/api/join",
                            "/runs/a%2f/api/join"})
      QVERIFY2(!protocol::split_run_path(bad), bad);
    QVERIFY(!protocol::split_run_path("/runs/" + std::string(65, 'a') + "/api/join"));
    QCOMPARE(api::body_limit("/runs/a/api/receipts"), api::kReceiptsBodyLimit);
    QCOMPARE(api::body_limit("/runs/a/api/join"), api::kJoinBodyLimit);
    QCOMPARE(api::body_limit("/runs/a/api/unknown"), api::kSmallBodyLimit);
    QCOMPARE(protocol::run_path_prefix("a") + api::kJoin, std::string("/runs/a/api/join"));
  }

  void catalogRoundTripsAndRefusesHostileReplies() {
    protocol::RunCatalog catalog{{entry("a"), entry("b")}};
    catalog.runs[1].loss.reset();
    catalog.runs[1].retired = true;
    const auto parsed = protocol::parse_run_catalog(protocol::to_json(catalog).dump());
    QCOMPARE(parsed.runs.size(), std::size_t(2));
    QCOMPARE(protocol::to_json(parsed), protocol::to_json(catalog));
    QVERIFY(parsed.runs[0].loss && *parsed.runs[0].loss == 2.25);
    QVERIFY(!parsed.runs[1].loss && parsed.runs[1].retired);
    QCOMPARE(parsed.runs[0].stage_needs[1].bytes_per_token, 32.0);

    const auto refused = [](nlohmann::json document) {
      try {
        protocol::run_catalog_from_json(document);
        return false;
      } catch (const std::invalid_argument&) {
        return true;
      }
    };
    const auto good = protocol::to_json(catalog);
    auto wrong_stages = good;
    wrong_stages["runs"][0]["peers_per_stage"] = {1, 2, 3};
    QVERIFY(refused(wrong_stages));
    auto negative = good;
    negative["runs"][0]["steps"] = -1;
    QVERIFY(refused(negative));
    auto bad_run = good;
    bad_run["runs"][0]["run"] = "../etc";
    QVERIFY(refused(bad_run));
    auto bad_key = good;
    bad_key["runs"][0]["publisher"] = "not a key";
    QVERIFY(refused(bad_key));
    auto long_text = good;
    long_text["runs"][0]["codec"] = std::string(protocol::kMaxCatalogString + 1, 'x');
    QVERIFY(refused(long_text));
    auto missing = good;
    missing["runs"][0].erase("stage_needs");
    QVERIFY(refused(missing));
    QVERIFY(refused(nlohmann::json{{"runs", nlohmann::json::array({1})}}));
    QVERIFY(refused(nlohmann::json::array()));
    bool deep_refused = false;
    try {
      protocol::parse_run_catalog(std::string(100, '[') + std::string(100, ']'));
    } catch (const std::invalid_argument&) {
      deep_refused = true;
    }
    QVERIFY(deep_refused);
  }

  void registryKeepsOneHubKeyAndItsPublishers() {
    QTemporaryDir dir;
    const std::filesystem::path state = dir.path().toStdString();
    const auto hub_key = wallet::KeyPair::generate(), other_hub = wallet::KeyPair::generate();
    const auto alice = wallet::KeyPair::generate(), bob = wallet::KeyPair::generate();
    hub::RunRegistry registry(state, hub_key.public_key());
    registry.load();
    QVERIFY(registry.runs().empty());
    QVERIFY(registry.put(signed_run("a", alice, hub_key.public_key()), 100) == hub::RunRegistry::Change::Added);
    QVERIFY(registry.put(signed_run("b", bob, hub_key.public_key()), 200) == hub::RunRegistry::Change::Added);
    QVERIFY(registry.put(signed_run("a", alice, hub_key.public_key()), 300) == hub::RunRegistry::Change::Unchanged);
    const auto message = [&](const protocol::RunManifest& manifest, bool same_revision = false) {
      try {
        registry.put(manifest, 400, same_revision);
      } catch (const std::invalid_argument& error) {
        return std::string(error.what());
      }
      return std::string();
    };
    QVERIFY(message(signed_run("c", alice, other_hub.public_key())).find("this hub's key is") != std::string::npos);
    QVERIFY(message(signed_run("a", bob, hub_key.public_key())).find("same publisher") != std::string::npos);
    // Another manifest of run a at the same revision: only the operator's --manifest replaces it.
    QVERIFY(message(signed_run("a", alice, hub_key.public_key(), 60)).find("higher revision") != std::string::npos);
    QVERIFY(message(signed_run("a", alice, hub_key.public_key(), 60), true).empty());
    QVERIFY(registry.put(signed_run("a", alice, hub_key.public_key(), 60, 2), 410) == hub::RunRegistry::Change::Updated);
    QVERIFY(message(signed_run("a", alice, hub_key.public_key(), 90, 1), true).find("higher revision") != std::string::npos);
    auto unsigned_run = signed_run("d", alice, hub_key.public_key());
    unsigned_run.epoch_seconds = 5;
    QVERIFY(message(unsigned_run).find("not signed") != std::string::npos);
    registry.retire("b", 500);
    QVERIFY(message(signed_run("b", bob, hub_key.public_key(), 60)).find("retired") != std::string::npos);
    bool unknown = false;
    try {
      registry.retire("zzz", 1);
    } catch (const std::out_of_range&) {
      unknown = true;
    }
    QVERIFY(unknown);

    hub::RunRegistry reloaded(state, std::nullopt);
    reloaded.load();
    QCOMPARE(reloaded.runs().size(), std::size_t(2));
    QCOMPARE(reloaded.runs()[0].manifest.run_id, std::string("a"));
    QCOMPARE(reloaded.runs()[0].manifest.epoch_seconds, std::int64_t(60));
    QCOMPARE(reloaded.runs()[0].added_ms, std::int64_t(100));
    QVERIFY(!reloaded.runs()[0].retired_ms);
    QCOMPARE(*reloaded.runs()[1].retired_ms, std::int64_t(500));
    QVERIFY(reloaded.hub_key() && *reloaded.hub_key() == hub_key.public_key());

    // A manifest altered on disk is refused at load, naming the file.
    const auto file = state / hub::kRunsFolderName / "a.json";
    auto text = nlohmann::json::parse(std::ifstream(file));
    text["epoch_seconds"] = 7;
    std::ofstream(file) << text.dump();
    hub::RunRegistry damaged(state, std::nullopt);
    bool refused = false;
    try {
      damaged.load();
    } catch (const std::runtime_error& error) {
      refused = std::string(error.what()).find("a.json") != std::string::npos;
    }
    QVERIFY(refused);
  }
};

QTEST_APPLESS_MAIN(TestRunRouting)
#include "test_run_routing.moc"
