// The hub's assembly: state, controllers, its two servers and loops. Errors are
// {"error": {"message": …}} with 400 (bad request), 401 (unsigned), 403 (refused), 404 (unknown
// peer), 411/413/415 (a body refused before it is read), 429 (rate limited) or 500
// (core/net/http_json.h); the gateway's are OpenAI-shaped.
#include "core/hub/hub_service.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/model/model_config.h"
#include "core/hub/admin_controller.h"
#include "core/hub/admin_token.h"
#include "core/hub/api_key_book.h"
#include "core/hub/assignments.h"
#include "core/hub/reachability.h"
#include "core/hub/relay_credits.h"
#include "core/hub/committed_work.h"
#include "core/hub/data_credit.h"
#include "core/hub/checks_controller.h"
#include "core/hub/exclusions.h"
#include "core/hub/node_tally.h"
#include "core/hub/spot_checks.h"
#include "core/hub/statement_activity.h"
#include "core/hub/gateway.h"
#include "core/hub/gateway_controller.h"
#include "core/hub/health_controller.h"
#include "core/hub/http_listener.h"
#include "core/hub/key_billing.h"
#include "core/hub/node_tally.h"
#include "core/hub/receipts_controller.h"
#include "core/hub/route_seeder.h"
#include "core/hub/route_table.h"
#include "core/hub/run_catalog_entry.h"
#include "core/hub/settlement_import.h"
#include "core/hub/shard_admin.h"
#include "core/hub/shard_store.h"
#include "core/hub/shards_controller.h"
#include "core/hub/run_controller.h"
#include "core/hub/statements_controller.h"
#include "core/hub/step_progress.h"
#include "core/hub/steps_controller.h"
#include "core/hub/swarm_inference.h"
#include "core/hub/tls_controller.h"
#include "core/hub/tls_identity.h"
#include "core/hub/work_controller.h"
#include "core/net/http_json.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/run_needs.h"
#include "core/protocol/run_paths.h"
#include "core/wallet/secure_file.h"

namespace tessera::hub {

std::vector<std::uint64_t> stage_memory_requirements(const protocol::RunManifest& manifest) {
  return protocol::stage_memory_bytes(manifest);
}

namespace {

// The manifest's signature is checked before anything is written to its run's store.
const protocol::RunManifest& verified(const protocol::RunManifest& manifest) {
  if (!protocol::verify_manifest(manifest, manifest.publisher_key))
    throw std::invalid_argument("the run manifest's signature does not verify");
  return manifest;
}

}  // namespace

HubService::HubService(protocol::RunManifest manifest, HubOptions options)
    : manifest_(std::move(manifest)),
      options_(std::move(options)),
      store_(std::make_unique<HubStore>(hub_store_file(options_.state_dir, verified(manifest_).run_id), manifest_.run_id)),
      directory_(stage_memory_requirements(manifest_), options_.max_peers),
      roster_(*store_, options_.max_peers),
      verifier_(manifest_.run_id, options_.request_skew) {
  if (options_.hub_key) {
    if (options_.hub_key->public_key() != manifest_.hub_key)
      throw std::invalid_argument("the hub key is not the one the run manifest names");
    if (options_.max_concurrent_completions < 1 ||
        options_.gateway_server.threads <= static_cast<std::size_t>(options_.max_concurrent_completions))
      throw std::invalid_argument("the gateway needs at least one completion at a time and more workers than that");
    if (!options_.state_dir.empty())
      import_legacy_settlement(*store_, legacy_settlement_file(options_.state_dir, manifest_.run_id), manifest_.run_id,
                               *options_.hub_key);
    book_ = std::make_unique<SettlementBook>(*store_, manifest_.run_id, *options_.hub_key,
                                             manifest_.price_per_1k_tokens, manifest_.currency);
    inference_ = std::make_unique<SwarmInference>(directory_, manifest_, *options_.hub_key);
    inference_->credit_work_to([book = book_.get()](const std::string& owner, double flops) {
      book->credit_work(owner, flops);
    });
    GatewayOptions gateway;
    gateway.limits.model_id = manifest_.run_id;
    gateway.limits.context = manifest_.model.context;
    gateway.limits.vocab = manifest_.model.vocab;
    gateway.max_concurrent = options_.max_concurrent_completions;
    NextTokenSource& source = options_.inference_source ? *options_.inference_source : *inference_;
    keys_ = std::make_unique<ApiKeyBook>(*store_);
    billing_ = std::make_unique<KeyBilling>(*store_, *keys_, *book_, manifest_.price_per_1k_tokens,
                                            options_.open_gateway);
    gateway_ = std::make_unique<Gateway>(gateway, source, *billing_);
    if (!options_.admin_access_file.empty() || (options_.hosted && options_.admin_token))
      admin_api_ = std::make_unique<AdminController>(*keys_, manifest_.currency, options_.admin_token);
    statements_api_ = std::make_unique<StatementsController>(*book_);
    book_->set_activity_source([](HubStore::Transaction& transaction, std::uint64_t epoch) {
      return statement_activity::gather(transaction.db(), epoch);
    });
    node_tally_ = std::make_unique<NodeTally>(*store_);
    exclusions_ = std::make_unique<Exclusions>(*store_);
    checks_ = std::make_unique<SpotChecks>(manifest_, *store_, *book_, *node_tally_, *exclusions_, directory_, roster_,
                                           *options_.hub_key, options_.check_rate);
    checks_api_ = std::make_unique<ChecksController>(*checks_, verifier_);
    gateway_api_ = std::make_unique<GatewayController>(*gateway_);
    if (options_.tls)
      tls_api_ = std::make_unique<TlsController>(manifest_.run_id, options_.tls->fingerprint(), *options_.hub_key);
  }
  run_api_ = std::make_unique<RunController>(manifest_);
  membership_api_ = std::make_unique<MembershipController>(manifest_, directory_, roster_, verifier_,
                                                           options_.heartbeat_timeout, options_.membership);
  assignments_ = std::make_unique<AssignmentIssuer>(manifest_.run_id, options_.hub_key);
  membership_api_->issue_assignments(*assignments_);
  seeds_ = std::make_unique<RouteSeeder>(manifest_.run_id, options_.hub_key);
  membership_api_->issue_route_seeds(*seeds_, *store_);
  traffic_ = std::make_unique<TrafficReports>();
  membership_api_->keep_traffic_in(*traffic_);
  reachability_ = std::make_unique<ReachabilityCheck>(directory_, options_.reachability_timeout, options_.hub_key);
  membership_api_->check_reachability(*reachability_);
  if (book_) {
    relay_credits_ = std::make_unique<RelayCredits>(
        options_.relay_flops_per_byte, [this](const wallet::PublicKey& relay) { return roster_.owner_of(relay); },
        [book = book_.get()](const std::string& owner, double flops) { book->credit_work(owner, flops); });
    membership_api_->credit_relays_with(*relay_credits_);
  }
  progress_ = std::make_unique<StepProgress>();
  if (!node_tally_) node_tally_ = std::make_unique<NodeTally>(*store_);  // shared with the spot checks
  receipt_log_ = std::make_unique<ReceiptLog>(*store_);
  work_ = std::make_unique<CommittedWork>(manifest_, *receipt_log_, *node_tally_, book_.get());
  receipts_api_ =
      std::make_unique<ReceiptsController>(manifest_, directory_, roster_, verifier_, *store_, *work_, *progress_);
  steps_api_ = std::make_unique<StepsController>(StepsController::Parts{
      manifest_, *membership_api_, directory_, roster_, verifier_, *store_, *work_, *seeds_, *progress_});
  work_api_ = std::make_unique<WorkController>(*node_tally_);
  if (checks_) {
    membership_api_->admit_through(*checks_);
    receipts_api_->admit_through(*checks_);
    work_->add_observer(*checks_);
  }
  if (book_ && (data_credit_ = DataCredit::for_manifest(manifest_, *book_))) work_->add_observer(*data_credit_);
  health_api_ = std::make_unique<HealthController>([this] { return health(); });
  if (!options_.state_dir.empty()) {
    shards_ = std::make_unique<ShardStore>(options_.state_dir / "shards");
    const auto sequence_bytes = static_cast<std::uint64_t>(manifest_.model.context) + 1;
    shards_api_ = std::make_unique<ShardsController>(manifest_.run_id, sequence_bytes, *shards_, verifier_);
    if (admin_api_)
      shard_admin_ = std::make_unique<ShardAdmin>(
          *shards_, [token = admin_api_->token()](const httplib::Request& request) { return token->admits(request); });
  }
  mount_routes();
}

void HubService::mount_routes() {
  api_routes_ = std::make_shared<RouteTable>();
  auto& api = *api_routes_;
  run_api_->mount(api);
  membership_api_->mount(api);
  receipts_api_->mount(api);
  steps_api_->mount(api);
  work_api_->mount(api);
  health_api_->mount(api);
  traffic_->mount(api);
  if (statements_api_) statements_api_->mount(api);
  if (tls_api_) tls_api_->mount(api);
  if (checks_api_) checks_api_->mount(api);
  if (shards_api_) shards_api_->mount(api);
  if (gateway_api_) {
    gateway_routes_ = std::make_shared<RouteTable>();
    gateway_api_->mount(*gateway_routes_);
  }
  if (admin_api_) {
    admin_routes_ = std::make_shared<RouteTable>();
    admin_api_->mount(*admin_routes_);
    if (shard_admin_) shard_admin_->mount(*admin_routes_);
  }
}

// A standalone hub serves its run's paths unprefixed and under /runs/<its run>, as a host does
// for its default run (run_paths.h), and a catalog of its one run.
void HubService::serve_api(const httplib::Request& request, httplib::Response& response) {
  if (request.path == protocol::kRunCatalogPath && request.method != "POST") {
    const CatalogPlace place{url() + protocol::run_path_prefix(manifest_.run_id),
                             options_.tls ? run_link().to_string() : std::string(), false};
    return net::reply_json(response, protocol::to_json(protocol::RunCatalog{{catalog_entry(*this, place)}}));
  }
  const auto path = protocol::split_run_path(request.path);
  if (!path || (!path->run.empty() && path->run != manifest_.run_id) ||
      !api_routes_->dispatch(request, response, std::string(path->relative)))
    reply_unrouted(response);
}

HubService::~HubService() { stop(); }

void HubService::add_work_observer(WorkObserver& observer) {
  if (started_) throw std::logic_error("work observers are registered before the hub serves");
  work_->add_observer(observer);
}

std::uint64_t HubService::close_epoch() {
  if (!book_) throw std::logic_error("this hub has no hub key: it does not settle");
  return book_->close_epoch();
}

void HubService::epoch_loop() {
  const auto length = options_.epoch_length.count() > 0 ? options_.epoch_length
                                                        : std::chrono::milliseconds(manifest_.epoch_seconds * 1000);
  auto next = std::chrono::steady_clock::now() + length;
  std::unique_lock lock(stop_mutex_);
  while (!stop_signal_.wait_until(lock, next, [this] { return stopping_; })) {
    next += length;
    try {
      const auto epoch = book_->close_epoch();
      const auto statement = *book_->latest_statement();
      spdlog::info("epoch {} settled: {} owners, {} units, revenue {} {}", epoch, statement.owner_count,
                   statement.total_units, statement.total_revenue, manifest_.currency);
    } catch (const std::exception& error) {
      spdlog::error("settling the epoch failed: {}", error.what());
    }
  }
}

std::string HubService::url() const {
  return (options_.tls ? "https://" : "http://") + protocol::host_port(options_.host, port_);
}

protocol::RunLink HubService::run_link() const {
  return {options_.host, port_, manifest_.run_id, manifest_.publisher_key};
}

std::string HubService::admin_url() const {
  return admin_port_ == 0 ? std::string() : "http://127.0.0.1:" + std::to_string(admin_port_);
}

std::string HubService::gateway_url() const {
  if (gateway_port_ == 0) return {};
  const auto& host = options_.gateway_host.empty() ? options_.host : options_.gateway_host;
  return (options_.tls ? "https://" : "http://") + protocol::host_port(host, gateway_port_) + "/v1";
}

protocol::PeerList HubService::peer_list() { return membership_api_->peer_list(); }

std::vector<NodeTraffic> HubService::traffic_reports() const { return traffic_->reports(); }

nlohmann::json HubService::traffic() const { return traffic_->to_json(); }

nlohmann::json HubService::health() {
  const auto list = peer_list();
  std::size_t ready = 0;
  for (const auto& peer : list.peers) ready += peer.ready() ? 1 : 0;
  nlohmann::json requests{{"api", api_server_ ? api_server_->stats().to_json() : nlohmann::json(nullptr)}};
  if (gateway_server_) requests["gateway"] = gateway_server_->stats().to_json();
  if (options_.host_request_stats) requests = options_.host_request_stats();
  nlohmann::json out{{"status", "ok"}, {"run", manifest_.run_id}, {"members", list.peers.size()},
                     {"ready", ready}, {"requests", requests}};
  if (gateway_) {
    out["completions_running"] = gateway_->running();
    const auto rounds = gateway_->rounds();
    out["inference"] = {{"rounds", rounds.rounds}, {"sequences", rounds.sequences}};
  }
  if (inference_) {
    const auto swarm = inference_->stats();
    out["inference"]["infers"] = swarm.infers;
    out["inference"]["positions"] = swarm.positions;
    out["inference"]["resent"] = swarm.resent;
    out["inference"]["failed"] = swarm.failed;
  }
  return out;
}

void HubService::start() {
  if (started_) throw std::logic_error("the hub is already running");
  if (!options_.hosted) open_servers();
  started_ = true;
  stopping_ = false;
  expiry_ = std::thread([this] { expire_loop(); });
  if (book_) epochs_ = std::thread([this] { epoch_loop(); });
}

void HubService::open_servers() {
  api_server_ = std::make_unique<HttpListener>(
      "hub API", options_.api_server,
      net::BodyLimits{[](const std::string& path) { return protocol::hub_api::body_limit(path); },
                      protocol::hub_api::largest_body_limit()}, net::RefusalWriter{}, options_.tls.get());
  net::reply_thrown_errors(api_server_->server());
  route_everything(api_server_->server(), [this](const httplib::Request& request, httplib::Response& response) {
    serve_api(request, response);
  });
  if (gateway_routes_) {
    const auto limit = gateway_->body_limit();
    gateway_server_ = std::make_unique<HttpListener>(
        "gateway", options_.gateway_server, net::BodyLimits{[limit](const std::string&) { return limit; }, limit},
        reply_gateway_refusal, options_.tls.get());
    net::reply_thrown_errors(gateway_server_->server(), {"invalid_request_error", "server_error"});
    serve_routes(gateway_server_->server(), gateway_routes_);
  }
  if (admin_routes_) {
    const auto limit = protocol::hub_admin_api::kBodyLimit;
    admin_server_ = std::make_unique<HttpListener>(
        "admin", net::HttpServerLimits{2, std::chrono::milliseconds(5000), std::chrono::milliseconds(5000),
                                       std::chrono::seconds(2)},
        net::BodyLimits{[limit](const std::string&) { return limit; }, limit});
    net::reply_thrown_errors(admin_server_->server());
    serve_routes(admin_server_->server(), admin_routes_);
  }
  try {
    api_server_->start(options_.host, options_.port);
    port_ = api_server_->port();
    if (gateway_server_) {
      gateway_server_->start(options_.gateway_host.empty() ? options_.host : options_.gateway_host,
                             options_.gateway_port);
      gateway_port_ = gateway_server_->port();
    }
    if (admin_server_) start_admin();
  } catch (...) {
    api_server_.reset();
    gateway_server_.reset();
    admin_server_.reset();
    throw;
  }
}

void HubService::expire_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_signal_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
    for (const auto& gone : directory_.expire(Clock::now(), options_.heartbeat_timeout)) roster_.unready(gone.node_key);
    if (checks_) {
      try {
        checks_->tick(unix_ms());
      } catch (const std::exception& error) {
        spdlog::error("spot checks: {}", error.what());
      }
    }
  }
}

void HubService::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (admin_server_) {
    admin_server_->stop();
    std::error_code ignored;  // a hub that cannot remove it leaves a file whose token no longer works
    std::filesystem::remove(options_.admin_access_file, ignored);
  }
  if (gateway_server_) gateway_server_->stop();
  if (api_server_) api_server_->stop();
  if (expiry_.joinable()) expiry_.join();
  if (epochs_.joinable()) epochs_.join();
  gateway_server_.reset();
  api_server_.reset();
  admin_server_.reset();
  started_ = false;
}

void HubService::start_admin() {
  admin_server_->start("127.0.0.1", 0);
  admin_port_ = admin_server_->port();
  const auto text = protocol::to_json(admin_api_->access(admin_url())).dump() + "\n";
  if (!options_.admin_access_file.parent_path().empty())
    std::filesystem::create_directories(options_.admin_access_file.parent_path());
  wallet::write_file_atomic(options_.admin_access_file, wallet::as_bytes(text), {}, wallet::IfExists::Replace);
}

protocol::ReceiptTally HubService::tally() const { return receipts_api_->tally(); }

std::vector<nlohmann::json> HubService::progress() const { return receipts_api_->progress(); }

std::vector<protocol::SignedReceipt> HubService::verified_receipts(std::size_t offset, std::size_t limit) const {
  return receipts_api_->verified_receipts(offset, limit);
}

}  // namespace tessera::hub
