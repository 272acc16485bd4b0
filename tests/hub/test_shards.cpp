// Data shards through a real HubService on loopback: a proposal signed by a node key with its
// owner's delegation waits for review with the owner recorded; bytes that do not hash to the claimed
// hash, a delegation for another run and a missing delegation are refused; the admin API lists,
// rejects and accepts proposals, and an accepted shard is served with HTTP Range. The node's
// ShardFetcher downloads into its cache, resumes a cut download from its .part file, refuses and
// deletes a corrupt one, and does not fetch a cached shard again. The store's per-owner bound.
#include <QtTest>

#include <fstream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/client/hub_client.h"
#include "core/client/shard_fetcher.h"
#include "core/hub/hub_service.h"
#include "core/hub/shard_store.h"
#include "core/protocol/data_shard.h"
#include "core/protocol/hub_admin_api.h"
#include "core/wallet/delegation.h"
#include "core/wallet/slip10.h"
#include "tests/support/tiny_manifest.h"

using namespace tessera;
using nlohmann::json;
namespace api = protocol::hub_api;
namespace admin_api = protocol::hub_admin_api;

namespace {

constexpr std::int64_t kFarFuture = 4102444800;  // 2100-01-01

std::string text_of(std::size_t bytes, char seed) {
  std::string text;
  for (std::size_t i = 0; i < bytes; ++i) text += static_cast<char>('a' + (i * 7 + static_cast<std::size_t>(seed)) % 26);
  return text;
}

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_all(const std::filesystem::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

struct ShardHub {
  QTemporaryDir folder;
  std::filesystem::path state;
  wallet::KeyPair publisher = wallet::KeyPair::generate();
  wallet::KeyPair owner = wallet::KeyPair::generate();
  wallet::KeyPair node = wallet::KeyPair::generate();
  protocol::RunManifest manifest;
  std::unique_ptr<hub::HubService> service;
  std::int64_t signed_at = 0;

  ShardHub() : state(folder.path().toStdString()) {
    manifest = test::tiny_two_stage_manifest("shards-run");
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    hub::HubOptions options;
    options.hub_key = &publisher;
    options.state_dir = state / "hub";
    options.admin_access_file = state / "hub" / admin_api::kAccessFileName;
    service = std::make_unique<hub::HubService>(manifest, options);
    service->start();
  }
  ~ShardHub() { service->stop(); }

  std::string url() const { return service->url(); }
  wallet::Delegation delegation(const std::string& run = "shards-run") const {
    return wallet::sign_delegation(owner, node.public_key(), run, kFarFuture);
  }
  // A proposal as a hostile client may send it: any claimed hash, any delegation header.
  httplib::Result raw_proposal(const std::string& bytes, const std::string& claimed, const std::string& delegation) {
    // A time of its own for each request: the same bytes signed in the same millisecond are a replay.
    signed_at = std::max<std::int64_t>(signed_at + 1, QDateTime::currentMSecsSinceEpoch());
    const auto signature =
        protocol::to_headers(protocol::sign_hub_request(manifest.run_id, "POST", api::kShards, bytes, signed_at, node));
    httplib::Headers headers{{protocol::kNodeKeyHeader, signature.node_key},
                             {protocol::kTimeHeader, signature.time_ms},
                             {protocol::kSignatureHeader, signature.signature},
                             {protocol::kShardHashHeader, claimed}};
    if (!delegation.empty()) headers.emplace(protocol::kDelegationHeader, delegation);
    httplib::Client http(url());
    return http.Post(api::kShards, headers, bytes, "application/octet-stream");
  }
  json admin(const std::string& method, const std::string& path, const json& body = {}) {
    const auto access = protocol::admin_access_from_json(json::parse(read_all(state / "hub" / admin_api::kAccessFileName)));
    httplib::Client http(access.url);
    http.set_default_headers({{admin_api::kTokenHeader, access.token}});
    const auto result = method == "GET" ? http.Get(path.c_str()) : http.Post(path.c_str(), body.dump(), "application/json");
    if (!result) throw std::runtime_error("the admin server did not answer");
    auto reply = json::parse(result->body);
    reply["status"] = result->status;
    return reply;
  }
};

std::string message_of(const httplib::Result& result) {
  return json::parse(result->body)["error"]["message"].get<std::string>();
}

}  // namespace

class TestShards : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void proposalWaitsForReviewWithItsOwner() {
    ShardHub hub;
    client::HubClient client(hub.url());
    const auto bytes = text_of(1000, 1);
    const auto reply = client.propose_shard(hub.node, hub.delegation(), bytes);
    QCOMPARE(reply["state"].get<std::string>(), std::string("pending"));
    QCOMPARE(reply["hash"].get<std::string>(), protocol::shard_hash(bytes));
    QCOMPARE(reply["contributor"].get<std::string>(), wallet::address_of(hub.owner.public_key()));
    const auto listed = hub.admin("GET", std::string(admin_api::kShards) + "?run=shards-run");
    QCOMPARE(listed["shards"].size(), std::size_t(1));
    const auto pending = protocol::pending_shard_from_json(listed["shards"][0]);
    QCOMPARE(pending.bytes, std::uint64_t(1000));
    QCOMPARE(pending.contributor, wallet::address_of(hub.owner.public_key()));
    // Not served before the publisher accepts it.
    httplib::Client http(hub.url());
    QCOMPARE(http.Get(api::shard_path(pending.hash).c_str())->status, 404);
    // The same bytes again: still the one proposal.
    QCOMPARE(client.propose_shard(hub.node, hub.delegation(), bytes)["state"].get<std::string>(), std::string("pending"));
    QCOMPARE(hub.service->shards()->pending().size(), std::size_t(1));
  }

  void bytesThatDoNotMatchTheirHashAreRefused() {
    ShardHub hub;
    const auto bytes = text_of(500, 2);
    const auto claimed = protocol::shard_hash(text_of(500, 3));
    const auto result = hub.raw_proposal(bytes, claimed, hub.delegation().to_json().dump());
    QVERIFY(result);
    QCOMPARE(result->status, 400);
    QCOMPARE(message_of(result), "the shard's bytes hash to " + protocol::shard_hash(bytes) + ", not " + claimed);
    QVERIFY(hub.service->shards()->pending().empty());
    // Another run's delegation, no delegation, a claimed hash that is not one.
    QCOMPARE(hub.raw_proposal(bytes, protocol::shard_hash(bytes), hub.delegation("other-run").to_json().dump())->status, 403);
    QCOMPARE(hub.raw_proposal(bytes, protocol::shard_hash(bytes), "")->status, 400);
    QCOMPARE(hub.raw_proposal(bytes, "../../etc/passwd", hub.delegation().to_json().dump())->status, 400);
    // Shorter than one sequence of the run (context 8: 9 bytes).
    QCOMPARE(hub.raw_proposal("tiny", protocol::shard_hash("tiny"), hub.delegation().to_json().dump())->status, 400);
    QVERIFY(hub.service->shards()->pending().empty());
  }

  void acceptedShardIsServedWithRanges() {
    ShardHub hub;
    client::HubClient client(hub.url());
    const auto bytes = text_of(3000, 4), other = text_of(700, 5);
    const auto hash = client.propose_shard(hub.node, hub.delegation(), bytes)["hash"].get<std::string>();
    const auto rejected = client.propose_shard(hub.node, hub.delegation(), other)["hash"].get<std::string>();
    const json decision{{"run", "shards-run"}, {"hash", rejected}};
    QCOMPARE(hub.admin("POST", admin_api::kRejectShard, decision)["status"].get<int>(), 200);
    QCOMPARE(hub.admin("POST", admin_api::kRejectShard, decision)["status"].get<int>(), 404);
    const auto accepted = hub.admin("POST", admin_api::kAcceptShard, {{"run", "shards-run"}, {"hash", hash}});
    QCOMPARE(accepted["status"].get<int>(), 200);
    QCOMPARE(accepted["contributor"].get<std::string>(), wallet::address_of(hub.owner.public_key()));
    QVERIFY(hub.admin("GET", admin_api::kShards)["shards"].empty());
    httplib::Client http(hub.url());
    QCOMPARE(http.Get(api::shard_path(rejected).c_str())->status, 404);
    const auto whole = http.Get(api::shard_path(hash).c_str());
    QCOMPARE(whole->status, 200);
    QCOMPARE(whole->body, bytes);
    const auto tail = http.Get(api::shard_path(hash).c_str(), {{"Range", "bytes=2990-"}});
    QCOMPARE(tail->status, 206);
    QCOMPARE(tail->body, bytes.substr(2990));
    QCOMPARE(tail->get_header_value("Content-Range"), std::string("bytes 2990-2999/3000"));
    const httplib::Headers past_the_end{{"Range", "bytes=3000-"}};
    QCOMPARE(http.Get(api::shard_path(hash).c_str(), past_the_end)->status, 416);
    // Without the admin token nothing is listed or decided.
    const auto access = protocol::admin_access_from_json(
        json::parse(read_all(hub.state / "hub" / admin_api::kAccessFileName)));
    QCOMPARE(httplib::Client(access.url).Get(admin_api::kShards)->status, 401);
  }

  void fetcherResumesVerifiesAndCaches() {
    ShardHub hub;
    const auto bytes = text_of(200000, 6);
    const auto source = hub.state / "source.txt";
    write_all(source, bytes);
    const auto hash = hub.service->shards()->add(source);
    QCOMPARE(hash, protocol::shard_hash(bytes));
    const auto cache = hub.state / "node" / "shards";
    std::filesystem::create_directories(cache);
    // What a download cut at byte 120,000 leaves behind.
    write_all(cache / (hash + ".part"), bytes.substr(0, 120000));
    client::HubClient client(hub.url());
    std::vector<client::ShardProgress> seen;
    client::ShardFetcher fetcher(client, cache, [&](const client::ShardProgress& progress) { seen.push_back(progress); });
    const auto files = fetcher.fetch({{hash, bytes.size()}});
    QCOMPARE(files.size(), std::size_t(1));
    QCOMPARE(read_all(files[0]), bytes);
    QVERIFY(!std::filesystem::exists(cache / (hash + ".part")));
    QCOMPARE(seen.front().state, std::string("downloading"));
    QCOMPARE(seen.front().done, std::uint64_t(120000));  // resumed where the cut left it
    QCOMPARE(seen.back().state, std::string("verified"));
    QCOMPARE(seen.back().done, std::uint64_t(bytes.size()));
    // Cached: the hub is not asked again (it no longer has the shard).
    std::filesystem::remove(*hub.service->shards()->accepted(hash));
    seen.clear();
    const auto again = fetcher.fetch({{hash, bytes.size()}});
    QCOMPARE(again, files);
    QCOMPARE(seen.size(), std::size_t(1));
    QCOMPARE(seen.front().state, std::string("cached"));
    // A shard the hub does not have is refused with the hub's 404.
    QVERIFY_THROWS_EXCEPTION(client::HubRefused, fetcher.fetch({{protocol::shard_hash("elsewhere"), 9}}));
  }

  void corruptDownloadIsRefusedAndNotCached() {
    ShardHub hub;
    const auto bytes = text_of(50000, 7);
    write_all(hub.state / "source.txt", bytes);
    const auto hash = hub.service->shards()->add(hub.state / "source.txt");
    const auto cache = hub.state / "node" / "shards";
    std::filesystem::create_directories(cache);
    // A .part whose first bytes were corrupted (on disk, or by a connection that was cut).
    auto damaged = bytes.substr(0, 10000);
    damaged[42] ^= 1;
    write_all(cache / (hash + ".part"), damaged);
    client::HubClient client(hub.url());
    client::ShardFetcher fetcher(client, cache);
    try {
      fetcher.fetch({{hash, bytes.size()}});
      QFAIL("a corrupt download was accepted");
    } catch (const std::runtime_error& error) {
      QVERIFY2(std::string(error.what()).find("refused and deleted") != std::string::npos, error.what());
    }
    QVERIFY(!std::filesystem::exists(cache / hash));
    QVERIFY(!std::filesystem::exists(cache / (hash + ".part")));
    // Fetched again from scratch, it is whole. A cached file that is not its name is replaced.
    const std::vector<client::ShardRef> shards{{hash, bytes.size()}};
    QCOMPARE(read_all(fetcher.fetch(shards)[0]), bytes);
    write_all(cache / hash, text_of(50000, 8));
    QCOMPARE(read_all(fetcher.fetch(shards)[0]), bytes);
    // The manifest says another size: refused before anything is kept.
    std::filesystem::remove(cache / hash);
    QVERIFY_THROWS_EXCEPTION(std::runtime_error, fetcher.fetch({{hash, bytes.size() + 1}}));
    QVERIFY(!std::filesystem::exists(cache / hash));
  }

  void acceptanceIsTheNextRevisionWithTheShardAppended() {
    auto publisher = wallet::KeyPair::generate();
    auto manifest = test::tiny_two_stage_manifest("shards-run");
    manifest.hub_key = publisher.public_key();
    protocol::sign_manifest(manifest, publisher);
    const auto contributor = wallet::address_of(wallet::KeyPair::generate().public_key());
    const protocol::ManifestShard first{protocol::shard_hash("first shard"), 11, contributor};
    auto next = protocol::with_shard(manifest, first);
    QCOMPARE(next.revision, std::uint64_t(1));
    QCOMPARE(next.dataset, std::vector<std::string>{first.hash});  // arithmetic no more
    protocol::sign_manifest(next, publisher);
    // It travels and verifies as any manifest does.
    const auto parsed = protocol::manifest_from_json(protocol::to_json(next));
    QVERIFY(protocol::verify_manifest(parsed, publisher.public_key()));
    QCOMPARE(parsed.shards, std::vector<protocol::ManifestShard>{first});
    const protocol::ManifestShard second{protocol::shard_hash("second shard"), 12, ""};
    const auto third = protocol::with_shard(parsed, second);
    QCOMPARE(third.revision, std::uint64_t(2));
    QCOMPARE(third.dataset, (std::vector<std::string>{first.hash, second.hash}));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, protocol::with_shard(third, first));
  }

  void storeBoundsProposalsPerOwner() {
    QTemporaryDir folder;
    hub::ShardStore store(std::filesystem::path(folder.path().toStdString()) / "shards");
    for (std::size_t i = 0; i < hub::ShardStore::kMaxPendingPerOwner; ++i) {
      const auto bytes = text_of(20, static_cast<char>(i));
      const protocol::PendingShard shard{"run", protocol::shard_hash(bytes), 20, "owner", 1};
      QVERIFY(store.propose(shard, bytes).outcome == hub::ProposalOutcome::Stored);
    }
    const auto more = text_of(21, 0);
    const protocol::PendingShard mine{"run", protocol::shard_hash(more), 21, "owner", 2};
    const protocol::PendingShard theirs{"run", protocol::shard_hash(more), 21, "someone", 2};
    QVERIFY(store.propose(mine, more).outcome == hub::ProposalOutcome::OwnerFull);
    QVERIFY(store.propose(theirs, more).outcome == hub::ProposalOutcome::Stored);
    QCOMPARE(store.pending("run").size(), hub::ShardStore::kMaxPendingPerOwner + 1);
    QVERIFY(store.pending("other").empty());
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, store.pending(".."));
    QVERIFY_THROWS_EXCEPTION(std::out_of_range, store.reject("run", protocol::shard_hash("nothing")));
  }
};

QTEST_APPLESS_MAIN(TestShards)
#include "test_shards.moc"
