// The run hub's HTTP+JSON service (DESIGN.md "The protocol"): assembles the run's state (the
// durable store, hub_store.h; peer directory, roster of admitted nodes, settlement book), the
// controllers that serve each API area (run, membership, receipts and progress, step records,
// per-node work, statements, health; paths in core/protocol/hub_api.h) on the API server, the inference gateway on a server
// of its own (its own port and workers: completions and slow gateway clients never hold the
// workers heartbeats need) with its API keys and billing (key_billing.h), the admin API for those
// keys on a loopback server of its own (admin_controller.h), and the loops that expire silent
// peers and settle epochs. Its clients live in core/client. cpp-httplib stays inside the .cpp files.
// The controllers mount into route tables (route_table.h) dispatched at request time: standalone,
// the service's own servers serve them (its run's paths unprefixed and under /runs/<run>); hosted,
// it opens no server and a HubHost serving several runs dispatches to them (hub_host.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/membership_controller.h"
#include "core/hub/hub_store.h"
#include "core/hub/peer_directory.h"
#include "core/hub/request_verifier.h"
#include "core/hub/run_roster.h"
#include "core/hub/settlement_book.h"
#include "core/hub/traffic_reports.h"
#include "core/net/http_limits.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/protocol/run_link.h"
#include "core/wallet/signing.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace tessera::hub {

class AdminController;
class AdminToken;
class ApiKeyBook;
class AssignmentIssuer;
class CommittedWork;
class ChecksController;
class Exclusions;
class Gateway;
class GatewayController;
class HealthController;
class HttpListener;
class ReachabilityCheck;
class RelayCredits;
class KeyBilling;
class NextTokenSource;
class NodeTally;
class ReceiptLog;
class SpotChecks;
class ShardAdmin;
class ShardStore;
class ShardsController;
class ReceiptsController;
class RouteSeeder;
class RouteTable;
class RunController;
class StatementsController;
class StepProgress;
class StepsController;
class SwarmInference;
class TlsController;
class TlsIdentity;
class WorkController;
class WorkObserver;
class DataCredit;

struct HubOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: a free port
  std::chrono::milliseconds heartbeat_timeout{6000};  // a peer silent this long is dropped
  std::chrono::milliseconds request_skew{120000};     // accepted clock difference of signed requests
  // The run's hub key (the manifest's hub_key): with it the hub settles epochs, publishes signed
  // statements and serves the inference gateway. Must outlive the service.
  const wallet::KeyPair* hub_key = nullptr;
  std::chrono::milliseconds epoch_length{0};  // 0: the manifest's epoch_seconds
  // The hub's database, hub-<run>.db (members, receipts, credits, statements), kept across
  // restarts; a settlement-<run>.json of older hubs there is imported; the data shards, in
  // shards/ (shard_store.h). Empty: in memory only, and no shards are served or proposed.
  std::filesystem::path state_dir;
  std::size_t max_peers = PeerDirectory::kDefaultMaxPeers;  // live peers; beyond, joins are refused
  // HTTPS for the API and gateway servers with this certificate (tls_identity.h); null: plain
  // HTTP. With a hub key too, GET /api/tls serves the certificate's binding to the run.
  std::shared_ptr<const TlsIdentity> tls;

  // The inference gateway (with a hub key), on its own server.
  std::string gateway_host;                   // empty: `host`
  int gateway_port = 0;                       // 0: a free port
  // Requests with an API key (the store's api_keys, ApiKeyBook) are paid; requests without one are
  // refused with 401, or, on an open gateway, served as demo usage that earns nothing.
  bool open_gateway = false;
  // The admin API's access file (hub_admin_api.h: its loopback URL and token, mode 0600), written
  // at start and removed at stop; empty: no admin server. Needs a hub key.
  std::filesystem::path admin_access_file;
  int max_concurrent_completions = 16;        // generated together in rounds; beyond: 429 with Retry-After
  NextTokenSource* inference_source = nullptr;  // null: the swarm (tests stand a table in); must outlive the service

  // The API server: enough workers that slow clients cannot take them all cheaply, and short
  // timeouts so they are cut off (net/http_limits.h says what cpp-httplib cannot bound).
  net::HttpServerLimits api_server{64, std::chrono::milliseconds(5000), std::chrono::milliseconds(5000),
                                   std::chrono::seconds(2)};
  // The gateway's server: more workers than max_concurrent_completions, so a client beyond the cap
  // is told 429 rather than left waiting.
  net::HttpServerLimits gateway_server{24, std::chrono::milliseconds(10000), std::chrono::milliseconds(10000),
                                       std::chrono::seconds(2)};
  MembershipLimits membership;                // challenge and join rate limits
  // Before a stage is assigned, the hub connects back to the node's endpoint and runs the CurveZMQ
  // handshake (reachability.h), for at most this long; 0: not checked (in-process tests, the
  // local network). tessera-hub checks by default.
  std::chrono::milliseconds reachability_timeout{0};
  // Relayed bytes both ends agree on are credited to the relay's owner as work of this many FLOPs
  // a byte (relay_credits.h; with a hub key).
  double relay_flops_per_byte = 1000.0;
  // Spot checks (with a hub key): the probability that a node's work in a committed step is
  // recomputed by another node (`tessera-hub --check-rate`; 0: none sampled).
  double check_rate = 0.1;
  // Hosted (hub_host.h): the service opens no server; a HubHost serving several runs dispatches to
  // its route tables and `admin_token` (with a hub key) guards its admin routes.
  bool hosted = false;
  std::shared_ptr<const AdminToken> admin_token{};
  // Hosted: the host's request counters for GET /api/health ({"api", "gateway"}); null: none.
  std::function<nlohmann::json()> host_request_stats{};
};

// What a stage needs in memory to be served: protocol::stage_memory_bytes (run_needs.h).
std::vector<std::uint64_t> stage_memory_requirements(const protocol::RunManifest& manifest);

class HubService {
 public:
  // `manifest` must be signed. Throws std::invalid_argument when it is not.
  HubService(protocol::RunManifest manifest, HubOptions options = {});
  ~HubService();  // stops
  HubService(const HubService&) = delete;
  HubService& operator=(const HubService&) = delete;

  // Binds and serves on threads (the API, and the gateway with a hub key); throws
  // std::runtime_error when it cannot bind. Hosted: starts only its loops (expiry, epochs).
  void start();
  void stop();
  int port() const { return port_; }
  std::string url() const;  // http://host:port, https:// with TLS
  bool serves_tls() const { return options_.tls != nullptr; }
  // tessera://host:port/<run>#<publisher> with the served host (meaningful with TLS and once started).
  protocol::RunLink run_link() const;

  // Called inside the transactions that store step records and credit receipts (work_observer.h):
  // register before start(); `observer` must outlive the service.
  void add_work_observer(WorkObserver& observer);

  const protocol::RunManifest& manifest() const { return manifest_; }
  PeerDirectory& directory() { return directory_; }
  protocol::ReceiptTally tally() const;
  // Verified receipts in the order they were credited, a page at a time (from the store).
  std::vector<protocol::SignedReceipt> verified_receipts(std::size_t offset = 0, std::size_t limit = 10000) const;
  // Joined peers; ready ones carry their ready order; the driver is the oldest ready stage-0 replica.
  protocol::PeerList peer_list();
  // GET /api/health: members, ready ones, each server's request outcomes, completions running.
  nlohmann::json health();
  // The latest steps the driver reported, at most 10,000 ({"step", "loss", "tokens", "seconds",
  // "bytes_per_token", …}).
  std::vector<nlohmann::json> progress() const;
  // Each member's latest traffic report from its heartbeats, by node key (GET /api/traffic,
  // traffic_reports.h), and that reply as it is served.
  std::vector<NodeTraffic> traffic_reports() const;
  nlohmann::json traffic() const;

  // Settlement and inference (only with HubOptions::hub_key; null otherwise).
  SettlementBook* settlement() { return book_.get(); }
  // Settles the open epoch now (the epoch timer does this every epoch length); returns its number.
  std::uint64_t close_epoch();
  // The gateway's API keys (null without a hub key).
  ApiKeyBook* api_keys() { return keys_.get(); }
  // The admin server's URL once started ("" without one).
  std::string admin_url() const;
  // Spot checks (with a hub key; null otherwise): a WorkObserver of committed steps and credited
  // receipts, the tickets in heartbeats, the reports, weights digests and exclusions.
  SpotChecks* spot_checks() { return checks_.get(); }
  HubStore& store() { return *store_; }
  // The data shards, accepted and proposed, in <state dir>/shards (null without a state folder).
  ShardStore* shards() { return shards_.get(); }
  // The gateway's server once started (0 and "" without a hub key).
  int gateway_port() const { return gateway_port_; }
  std::string gateway_url() const;  // http://gateway host:port/v1 (https:// with TLS)

  // The run's routes by server, as the host dispatches to them with the run-relative path: the
  // API (every hub_api.h path), the gateway's /v1 (null without a hub key) and the admin API's
  // keys (null without an admin server or token).
  const RouteTable& api_routes() const { return *api_routes_; }
  const RouteTable* gateway_routes() const { return gateway_routes_.get(); }
  const RouteTable* admin_routes() const { return admin_routes_.get(); }
  Gateway* gateway() { return gateway_.get(); }

 private:
  void epoch_loop();
  void expire_loop();
  void start_admin();  // binds 127.0.0.1:0 and writes the access file
  void mount_routes();
  void open_servers();  // standalone: the API, gateway and admin servers
  void serve_api(const httplib::Request& request, httplib::Response& response);  // standalone

  protocol::RunManifest manifest_;
  HubOptions options_;
  std::unique_ptr<HubStore> store_;  // before everything that keeps its state there
  PeerDirectory directory_;
  RunRoster roster_;
  RequestVerifier verifier_;
  std::unique_ptr<AssignmentIssuer> assignments_;  // signs only with a hub key
  std::unique_ptr<RouteSeeder> seeds_;             // signs only with a hub key
  std::unique_ptr<StepProgress> progress_;
  std::unique_ptr<NodeTally> node_tally_;
  std::unique_ptr<ReceiptLog> receipt_log_;
  std::unique_ptr<CommittedWork> work_;
  std::unique_ptr<SettlementBook> book_;
  std::unique_ptr<Exclusions> exclusions_;
  std::unique_ptr<SpotChecks> checks_;  // with a hub key
  std::unique_ptr<DataCredit> data_credit_;  // with a hub key and shards with contributors
  std::unique_ptr<SwarmInference> inference_;
  std::unique_ptr<ApiKeyBook> keys_;
  std::unique_ptr<KeyBilling> billing_;
  std::unique_ptr<Gateway> gateway_;

  std::unique_ptr<RunController> run_api_;
  std::unique_ptr<MembershipController> membership_api_;
  std::unique_ptr<ReceiptsController> receipts_api_;
  std::unique_ptr<StepsController> steps_api_;
  std::unique_ptr<WorkController> work_api_;
  std::unique_ptr<StatementsController> statements_api_;  // with a hub key
  std::unique_ptr<GatewayController> gateway_api_;        // with a hub key
  std::unique_ptr<AdminController> admin_api_;            // with a hub key and an admin access file
  std::unique_ptr<ChecksController> checks_api_;          // with a hub key
  std::unique_ptr<HealthController> health_api_;
  std::unique_ptr<TlsController> tls_api_;                // with TLS and a hub key
  std::unique_ptr<TrafficReports> traffic_;  // also the GET /api/traffic controller
  std::unique_ptr<ReachabilityCheck> reachability_;
  std::unique_ptr<RelayCredits> relay_credits_;  // with a hub key
  std::unique_ptr<ShardStore> shards_;             // with a state folder
  std::unique_ptr<ShardsController> shards_api_;   // with a state folder
  std::unique_ptr<ShardAdmin> shard_admin_;        // with a state folder and the admin server

  std::shared_ptr<RouteTable> api_routes_;
  std::shared_ptr<RouteTable> gateway_routes_;
  std::shared_ptr<RouteTable> admin_routes_;
  bool started_ = false;

  std::unique_ptr<HttpListener> api_server_;
  std::unique_ptr<HttpListener> gateway_server_;  // with a hub key
  std::unique_ptr<HttpListener> admin_server_;    // with admin_api_, on 127.0.0.1
  std::thread expiry_;
  std::thread epochs_;
  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  int port_ = 0;          // kept after stop(), as url() and gateway_url() are
  int gateway_port_ = 0;
  int admin_port_ = 0;
};

}  // namespace tessera::hub
