// One hub serving two runs (issue 21), in process over HTTP on loopback: the catalog lists both
// with their fields; nodes join each through the real HubClient at the run's URL (/runs/<run>);
// credit, settlement and statements stay per run (closing run A's epoch touches nothing of B);
// the gateway lists both models and serves each by "model", refusing an unknown one; a request
// signed for run A and sent to run B's path is refused; a retired run refuses joins with 410 and
// still serves its manifest; the admin API adds and retires runs and refuses another hub key;
// a restarted host serves the registered runs again.
#include <QtTest>

#include <fstream>
#include <set>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/hub/hub_host.h"
#include "core/hub/hub_service.h"
#include "core/hub/settlement_book.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/run_catalog.h"
#include "core/protocol/run_paths.h"
#include "core/wallet/encoding.h"
#include "tests/support/gateway_server.h"
#include "tests/support/step_records.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using nlohmann::json;
using protocol::Direction;
namespace api = protocol::hub_api;

namespace {

struct Member {
  wallet::KeyPair key = wallet::KeyPair::generate();
  int stage = -1;
};

protocol::RunManifest run_manifest(const std::string& run, const wallet::KeyPair& publisher,
                                   const wallet::PublicKey& hub_key, std::uint64_t price, std::uint64_t revision = 0) {
  auto manifest = test::tiny_two_stage_manifest(run);
  manifest.hub_key = hub_key;
  manifest.price_per_1k_tokens = price;
  manifest.revision = revision;
  manifest.epoch_seconds = 3600;
  protocol::sign_manifest(manifest, publisher);
  return manifest;
}

struct Hub {
  wallet::KeyPair hub_key = wallet::KeyPair::generate();
  wallet::KeyPair alice = wallet::KeyPair::generate();  // publishes run-a
  wallet::KeyPair bob = wallet::KeyPair::generate();    // publishes run-b
  wallet::KeyPair owner = wallet::KeyPair::generate();
  test::CountingSource source;
  std::filesystem::path state;
  std::unique_ptr<hub::HubHost> host;

  explicit Hub(std::filesystem::path dir) : state(std::move(dir)) {}

  void start(bool add_runs) {
    hub::HubOptions options;
    options.hub_key = &hub_key;
    options.state_dir = state;
    options.admin_access_file = state / "admin.json";
    options.open_gateway = true;
    options.inference_source = &source;
    options.max_concurrent_completions = 2;
    options.gateway_server.threads = 4;
    options.membership.joins_per_owner = {1000, 1000};
    options.membership.joins_per_address = {1000, 1000};
    host = std::make_unique<hub::HubHost>(options);
    if (add_runs) {
      host->put(run_manifest("run-a", alice, hub_key.public_key(), 1000), true);
      host->put(run_manifest("run-b", bob, hub_key.public_key(), 2000));
    }
    host->start();
  }
  std::string url() const { return host->url(); }
  std::string run_url(const std::string& run) const { return url() + protocol::run_path_prefix(run); }

  Member join(const std::string& run) {
    Member member;
    client::HubClient client(run_url(run));
    const protocol::JoinRequest request{
        wallet::sign_delegation(owner, member.key.public_key(), wallet::kAnyRun, 4102444800), "tcp://127.0.0.1:1",
        {"cpu", 1ull << 34, 1000}};
    member.stage = client.join(member.key, request);
    client.ready(member.key);
    return member;
  }
  httplib::Result get(const std::string& path) const {
    httplib::Client client(url());
    return client.Get(path);
  }
  httplib::Result admin(const std::string& method, const std::string& path, const json& body = {}) const {
    const auto access = protocol::admin_access_from_json(json::parse(std::ifstream(state / "admin.json")));
    httplib::Client client(access.url);
    client.set_read_timeout(std::chrono::seconds(30));
    const httplib::Headers headers{{protocol::hub_admin_api::kTokenHeader, access.token}};
    if (method == "GET") return client.Get(path, headers);
    return client.Post(path, headers, body.dump(), "application/json");
  }
  httplib::Result complete(const std::string& model) const {
    httplib::Client client("127.0.0.1", host->gateway_port());
    client.set_read_timeout(std::chrono::seconds(30));
    json body{{"prompt", "12"}, {"max_tokens", 2}};
    if (!model.empty()) body["model"] = model;
    return client.Post(api::kCompletions, body.dump(), "application/json");
  }
};

// Commits step 1 of `run` with the pair as its route and reports both receipts of it: credited
// work for the owner in that run.
void train_one_step(Hub& hub, const std::string& run, const protocol::RunManifest& manifest, const Member& first,
                    const Member& second) {
  const auto& a = first.stage == 0 ? first : second;
  const auto& b = first.stage == 0 ? second : first;
  const auto prefix = protocol::run_path_prefix(run);
  const auto peers = test::signed_hub_request(hub.url(), run, "GET", prefix + api::kPeers, a.key, "");
  QVERIFY(peers && peers->status == 200);
  const auto seed = protocol::SignedRouteSeed::from_hex(protocol::peer_list_from_json(json::parse(peers->body)).route_seed);
  QVERIFY(seed);
  const auto record = test::step_record(manifest, 1, a.key.public_key(), {{a.key.public_key()}, {b.key.public_key()}}, seed);
  const auto signed_record = protocol::sign_step_record(record, a.key);
  const json body{{"record", signed_record.to_hex()}, {"progress", {{"step", 1}, {"loss", 2.5}, {"tokens", 16}}}};
  const auto posted = test::signed_hub_request(hub.url(), run, "POST", prefix + api::kSteps, a.key, body.dump());
  QVERIFY2(posted && posted->status == 200, posted ? posted->body.c_str() : "no answer");
  client::HubClient client(hub.run_url(run));
  const auto forward = test::slot_receipt(record, 0, Direction::Forward, 0, a.key.public_key(), b.key);
  const auto backward = test::slot_receipt(record, 0, Direction::Backward, 1, b.key.public_key(), a.key);
  QCOMPARE(client.report_receipts(a.key, {forward})["accepted"].get<int>(), 1);
  QCOMPARE(client.report_receipts(b.key, {backward})["accepted"].get<int>(), 1);
}

}  // namespace

class TestMultiRunHub : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void twoRunsAreServedApart() {
    QTemporaryDir dir;
    Hub hub(dir.path().toStdString());
    hub.start(true);
    const auto manifest_a = run_manifest("run-a", hub.alice, hub.hub_key.public_key(), 1000);

    // The catalog lists both, in the order they were added.
    auto reply = hub.get(protocol::kRunCatalogPath);
    QVERIFY(reply && reply->status == 200);
    auto catalog = protocol::parse_run_catalog(reply->body);
    QCOMPARE(catalog.runs.size(), std::size_t(2));
    QCOMPARE(catalog.runs[0].run, std::string("run-a"));
    QCOMPARE(catalog.runs[1].run, std::string("run-b"));
    QCOMPARE(catalog.runs[0].publisher, wallet::base58_encode(hub.alice.public_key()));
    QCOMPARE(catalog.runs[1].publisher, wallet::base58_encode(hub.bob.public_key()));
    QCOMPARE(catalog.runs[1].url, hub.run_url("run-b"));
    QCOMPARE(catalog.runs[1].link, std::string());  // plain HTTP: no run link
    QCOMPARE(catalog.runs[1].price_per_1k_tokens, std::uint64_t(2000));
    QCOMPARE(catalog.runs[0].stages, 2);
    QCOMPARE(catalog.runs[0].model.width, 32);
    QCOMPARE(catalog.runs[0].tokens_per_step, std::uint64_t(16));
    QCOMPARE(catalog.runs[0].stage_needs.size(), std::size_t(2));
    QVERIFY(catalog.runs[0].stage_needs[0].memory_bytes > 0 && catalog.runs[0].stage_needs[1].flops_per_token > 0);
    QVERIFY(catalog.runs[0].parameters > 0);
    QVERIFY(!catalog.runs[0].loss && catalog.runs[0].steps == 0 && !catalog.runs[0].retired);

    // Nodes join each run at its URL; the unprefixed paths are the default run's (run-a).
    const auto a0 = hub.join("run-a"), a1 = hub.join("run-a"), b0 = hub.join("run-b");
    QCOMPARE(a0.stage + a1.stage, 1);
    QCOMPARE(b0.stage, 0);
    reply = hub.get(api::kManifest);
    QCOMPARE(protocol::manifest_from_json(json::parse(reply->body)).run_id, std::string("run-a"));
    reply = hub.get(protocol::run_path_prefix("run-b") + api::kManifest);
    QCOMPARE(protocol::manifest_from_json(json::parse(reply->body)).run_id, std::string("run-b"));
    QCOMPARE(hub.get("/runs/nope/api/manifest")->status, 404);
    catalog = protocol::parse_run_catalog(hub.get(protocol::kRunCatalogPath)->body);
    QCOMPARE(catalog.runs[0].peers_per_stage, (std::vector<std::uint64_t>{1, 1}));
    QCOMPARE(catalog.runs[0].ready_per_stage, (std::vector<std::uint64_t>{1, 1}));
    QCOMPARE(catalog.runs[1].peers_per_stage, (std::vector<std::uint64_t>{1, 0}));

    // A request signed for run-a sent to run-b's path is refused (the signature binds the run).
    const auto crossed = test::signed_hub_request(hub.url(), "run-a", "POST",
                                                  protocol::run_path_prefix("run-b") + api::kHeartbeat, b0.key, "{}");
    QCOMPARE(crossed->status, 403);
    const auto honest = test::signed_hub_request(hub.url(), "run-b", "POST",
                                                 protocol::run_path_prefix("run-b") + api::kHeartbeat, b0.key, "{}");
    QCOMPARE(honest->status, 200);

    // Credit and settlement are per run: run-a trains and settles, run-b is untouched.
    train_one_step(hub, "run-a", manifest_a, a0, a1);
    catalog = protocol::parse_run_catalog(hub.get(protocol::kRunCatalogPath)->body);
    QCOMPARE(catalog.runs[0].steps, std::uint64_t(1));
    QVERIFY(catalog.runs[0].loss && *catalog.runs[0].loss == 2.5);
    QCOMPARE(hub.host->run("run-a")->close_epoch(), std::uint64_t(1));
    const auto a_statement = hub.host->run("run-a")->settlement()->latest_statement();
    QVERIFY(a_statement && a_statement->total_units > 0 && a_statement->run_id == "run-a");
    QVERIFY(!hub.host->run("run-b")->settlement()->latest_statement());
    QCOMPARE(hub.get(protocol::run_path_prefix("run-a") + api::kLatestStatement)->status, 200);
    QCOMPARE(hub.get(api::kLatestStatement)->status, 200);  // the default run's
    QCOMPARE(hub.get(protocol::run_path_prefix("run-b") + api::kLatestStatement)->status, 404);
    const auto b_epoch = json::parse(hub.get(protocol::run_path_prefix("run-b") + api::kEpoch)->body);
    QCOMPARE(b_epoch["epoch"].get<std::uint64_t>(), std::uint64_t(1));  // still its first, open epoch
    QCOMPARE(b_epoch["flops"].get<double>(), 0.0);
    QCOMPARE(json::parse(hub.get(api::kEpoch)->body)["epoch"].get<std::uint64_t>(), std::uint64_t(2));
    catalog = protocol::parse_run_catalog(hub.get(protocol::kRunCatalogPath)->body);
    QCOMPARE(catalog.runs[0].last_epoch, std::uint64_t(1));
    QCOMPARE(catalog.runs[0].total_units, a_statement->total_units);
    QCOMPARE(catalog.runs[1].last_epoch, std::uint64_t(0));
    QCOMPARE(catalog.runs[1].steps, std::uint64_t(0));

    // The gateway: both models by id, each served by its run, an unknown one refused.
    httplib::Client gateway("127.0.0.1", hub.host->gateway_port());
    const auto models = json::parse(gateway.Get(api::kModels)->body);
    QCOMPARE(models["data"].size(), std::size_t(2));
    std::set<std::string> ids;
    for (const auto& model : models["data"]) ids.insert(model["id"].get<std::string>());
    QVERIFY(ids == (std::set<std::string>{"run-a", "run-b"}));
    for (const std::string model : {"run-a", "run-b"}) {
      const auto completed = hub.complete(model);
      QVERIFY2(completed && completed->status == 200, completed ? completed->body.c_str() : "no answer");
      QCOMPARE(json::parse(completed->body)["model"].get<std::string>(), model);
    }
    const auto unknown = hub.complete("run-c");
    QCOMPARE(unknown->status, 404);
    QCOMPARE(json::parse(unknown->body)["error"]["code"].get<std::string>(), std::string("model_not_found"));

    // Retired: joins are 410, the manifest is still served, the model is gone from the gateway.
    auto retired = hub.admin("POST", protocol::hub_admin_api::kRetireRun, {{"run", "run-b"}});
    QVERIFY2(retired && retired->status == 200, retired ? retired->body.c_str() : "no answer");
    try {
      hub.join("run-b");
      QFAIL("a retired run admitted a node");
    } catch (const client::HubRefused& refused) {
      QCOMPARE(refused.status, 410);
    }
    QCOMPARE(hub.get(protocol::run_path_prefix("run-b") + api::kManifest)->status, 200);
    catalog = protocol::parse_run_catalog(hub.get(protocol::kRunCatalogPath)->body);
    QVERIFY(catalog.runs[1].retired && !catalog.runs[0].retired);
    QCOMPARE(json::parse(gateway.Get(api::kModels)->body)["data"].size(), std::size_t(1));
    QCOMPARE(hub.complete("run-b")->status, 404);

    // The admin API: a third run added while serving; one naming another hub key refused.
    const auto carol = wallet::KeyPair::generate();
    auto added = hub.admin("POST", protocol::hub_admin_api::kRuns,
                           {{"manifest", protocol::to_json(run_manifest("run-c", carol, hub.hub_key.public_key(), 5))}});
    QVERIFY2(added && added->status == 200, added ? added->body.c_str() : "no answer");
    QCOMPARE(json::parse(added->body)["change"].get<std::string>(), std::string("added"));
    QCOMPARE(hub.join("run-c").stage, 0);
    const auto stranger = wallet::KeyPair::generate();
    const auto foreign = hub.admin("POST", protocol::hub_admin_api::kRuns,
                                   {{"manifest", protocol::to_json(run_manifest("run-d", carol, stranger.public_key(), 5))}});
    QCOMPARE(foreign->status, 400);
    QVERIFY2(foreign->body.find("this hub's key is") != std::string::npos, foreign->body.c_str());
    const auto listed = json::parse(hub.admin("GET", protocol::hub_admin_api::kRuns)->body)["runs"];
    QCOMPARE(listed.size(), std::size_t(3));
    QVERIFY(protocol::hub_run_info_from_json(listed[0]).is_default);
    QVERIFY(protocol::hub_run_info_from_json(listed[1]).retired_ms.has_value());
    QCOMPARE(hub.admin("GET", protocol::hub_admin_api::kRuns, {})->status, 200);

    // An update: a higher revision from the same publisher rebuilds run-a's service on its own
    // database (settled epochs kept, members join again); a lower one or another publisher's is refused.
    const auto post_manifest = [&](const protocol::RunManifest& manifest) {
      return hub.admin("POST", protocol::hub_admin_api::kRuns, {{"manifest", protocol::to_json(manifest)}});
    };
    auto updated = post_manifest(run_manifest("run-a", hub.alice, hub.hub_key.public_key(), 1500, 1));
    QVERIFY2(updated && updated->status == 200, updated ? updated->body.c_str() : "no answer");
    QCOMPARE(json::parse(updated->body)["change"].get<std::string>(), std::string("updated"));
    QCOMPARE(hub.host->run("run-a")->manifest().price_per_1k_tokens, std::uint64_t(1500));
    QCOMPARE(hub.get(protocol::run_path_prefix("run-a") + api::kLatestStatement)->status, 200);
    catalog = protocol::parse_run_catalog(hub.get(protocol::kRunCatalogPath)->body);
    QCOMPARE(catalog.runs[0].revision, std::uint64_t(1));
    QCOMPARE(catalog.runs[0].last_epoch, std::uint64_t(1));
    QCOMPARE(catalog.runs[0].peers_per_stage, (std::vector<std::uint64_t>{0, 0}));
    QCOMPARE(post_manifest(run_manifest("run-a", hub.alice, hub.hub_key.public_key(), 1, 1))->status, 400);
    QCOMPARE(post_manifest(run_manifest("run-a", hub.bob, hub.hub_key.public_key(), 1, 2))->status, 400);
    QCOMPARE(hub.join("run-a").stage, 0);
    httplib::Client no_token(protocol::admin_access_from_json(json::parse(std::ifstream(hub.state / "admin.json"))).url);
    QCOMPARE(no_token.Get(protocol::hub_admin_api::kRuns)->status, 401);

    // Restarted with nothing on its command line, the host serves the registered runs and their
    // settled state again.
    hub.host.reset();
    hub.start(false);
    catalog = protocol::parse_run_catalog(hub.get(protocol::kRunCatalogPath)->body);
    QCOMPARE(catalog.runs.size(), std::size_t(3));
    QVERIFY(catalog.runs[1].retired);
    QCOMPARE(catalog.runs[0].last_epoch, std::uint64_t(1));
    QCOMPARE(hub.host->default_run(), std::string("run-a"));
  }

  // A one-run hub (HubService alone, as the demo's) serves its run at both paths and a catalog of it.
  void aStandaloneHubServesItsRunBothWays() {
    const auto publisher = wallet::KeyPair::generate();
    hub::HubOptions options;
    options.hub_key = &publisher;
    hub::HubService service(run_manifest("solo", publisher, publisher.public_key(), 7), options);
    service.start();
    httplib::Client client(service.url());
    QCOMPARE(client.Get(api::kManifest)->status, 200);
    QCOMPARE(client.Get(protocol::run_path_prefix("solo") + api::kManifest)->status, 200);
    QCOMPARE(client.Get(protocol::run_path_prefix("other") + api::kManifest)->status, 404);
    const auto catalog = protocol::parse_run_catalog(client.Get(protocol::kRunCatalogPath)->body);
    QCOMPARE(catalog.runs.size(), std::size_t(1));
    QCOMPARE(catalog.runs[0].run, std::string("solo"));
    QCOMPARE(catalog.runs[0].url, service.url() + "/runs/solo");
    QCOMPARE(catalog.runs[0].price_per_1k_tokens, std::uint64_t(7));
    const auto member = wallet::KeyPair::generate();
    client::HubClient node(service.url() + "/runs/solo");
    const protocol::JoinRequest request{
        wallet::sign_delegation(publisher, member.public_key(), wallet::kAnyRun, 4102444800), "tcp://127.0.0.1:1",
        {"cpu", 1ull << 34, 1000}};
    QCOMPARE(node.join(member, request), 0);
  }
};

QTEST_APPLESS_MAIN(TestMultiRunHub)
#include "test_multi_run_hub.moc"
