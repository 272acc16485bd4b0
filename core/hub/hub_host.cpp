// The multi-run hub: servers, dispatch by run, the catalog, runs added, updated and retired while
// serving (see hub_host.h).
#include "core/hub/hub_host.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

#include "core/hub/admin_token.h"
#include "core/hub/completion.h"
#include "core/hub/gateway.h"
#include "core/hub/gateway_controller.h"
#include "core/hub/http_listener.h"
#include "core/hub/route_table.h"
#include "core/hub/run_catalog_entry.h"
#include "core/hub/runs_controller.h"
#include "core/net/http_json.h"
#include "core/protocol/run_paths.h"
#include "core/sys/bounded_json.h"
#include "core/wallet/encoding.h"
#include "core/wallet/secure_file.h"

namespace tessera::hub {
namespace {

namespace api = protocol::hub_api;

// How long an update waits for the requests its run's old service is serving (completions being
// streamed included) before it gives up and keeps the old one.
constexpr auto kDrainTimeout = std::chrono::seconds(30);

// The largest completion body any run's gateway reads (Gateway::body_limit with the largest prompt).
constexpr std::size_t kLargestGatewayBody = 16 * 1024 + 6 * (std::size_t{1} << 20);

// What a retired run refuses: whatever would make a node a member or keep it training.
bool refused_when_retired(const httplib::Request& request, std::string_view relative) {
  if (request.method != "POST") return false;
  for (const char* path : {api::kChallenge, api::kJoin, api::kReady, api::kHeartbeat, api::kEndpoint, api::kSteps})
    if (relative == path) return true;
  return false;
}

// Keeps `service` alive while a streamed reply it made is being sent.
void hold_while_streaming(httplib::Response& response, std::shared_ptr<HubService> service) {
  if (!response.content_provider_) return;
  auto inner = std::move(response.content_provider_resource_releaser_);
  response.content_provider_resource_releaser_ = [inner = std::move(inner), service = std::move(service)](bool done) {
    if (inner) inner(done);
  };
}

void reply_model_not_found(httplib::Response& response, const std::string& model) {
  net::reply_json(response, 404,
                  error_body(GatewayError(404, "invalid_request_error",
                                          "the model '" + model.substr(0, 100) +
                                              "' does not exist here; GET /v1/models lists this hub's models",
                                          "model", "model_not_found")));
}

}  // namespace

HubHost::HubHost(HubOptions options, std::string public_host)
    : options_(std::move(options)),
      public_host_(public_host.empty() ? options_.host : std::move(public_host)),
      registry_(options_.state_dir,
                options_.hub_key ? std::optional<wallet::PublicKey>(options_.hub_key->public_key()) : std::nullopt) {
  options_.hosted = true;
  if (!options_.admin_access_file.empty()) {
    admin_token_ = std::make_shared<AdminToken>();
    options_.admin_token = admin_token_;
    runs_api_ = std::make_unique<RunsController>(*this, admin_token_);
  }
  options_.host_request_stats = [this] { return request_stats(); };
  registry_.load();
  if (!registry_.runs().empty()) default_run_ = registry_.runs().front().manifest.run_id;
}

HubHost::~HubHost() { stop(); }

std::string HubHost::url() const {
  return (options_.tls ? "https://" : "http://") + protocol::host_port(options_.host, port_);
}

std::string HubHost::gateway_url() const {
  if (gateway_port_ == 0) return {};
  const auto& host = options_.gateway_host.empty() ? options_.host : options_.gateway_host;
  return (options_.tls ? "https://" : "http://") + protocol::host_port(host, gateway_port_) + "/v1";
}

std::string HubHost::admin_url() const {
  return admin_port_ == 0 ? std::string() : "http://127.0.0.1:" + std::to_string(admin_port_);
}

std::string HubHost::run_url(const std::string& run_id) const {
  return (options_.tls ? "https://" : "http://") + protocol::host_port(public_host_, port_) +
         protocol::run_path_prefix(run_id);
}

protocol::RunLink HubHost::run_link(const std::string& run_id) const {
  protocol::RunLink link{public_host_, port_, run_id, {}};
  if (const auto served = find(run_id); served && served->service)
    link.publisher = served->service->manifest().publisher_key;
  return link;
}

std::string HubHost::default_run() const {
  std::lock_guard lock(mutex_);
  return default_run_;
}

std::optional<HubHost::Served> HubHost::find(const std::string& run_id) const {
  std::lock_guard lock(mutex_);
  const auto found = served_.find(run_id);
  if (found == served_.end()) return std::nullopt;
  return found->second;
}

std::shared_ptr<HubService> HubHost::run(const std::string& run_id) const {
  const auto served = find(run_id);
  return served ? served->service : nullptr;
}

std::shared_ptr<HubService> HubHost::build(const protocol::RunManifest& manifest) {
  auto service = std::make_shared<HubService>(manifest, options_);
  service->start();
  return service;
}

void HubHost::serve(const protocol::RunManifest& manifest, bool retired) {
  const auto& id = manifest.run_id;
  std::shared_ptr<HubService> old;
  {
    std::lock_guard lock(mutex_);
    if (const auto found = served_.find(id); found != served_.end()) old = std::exchange(found->second.service, nullptr);
  }
  if (old) {
    // The old service holds the run's database: it must be gone before the new one opens it.
    const auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
    while (old.use_count() > 1 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (old.use_count() > 1) {
      std::lock_guard lock(mutex_);
      served_[id].service = old;
      throw std::runtime_error("run " + id + " is still serving requests (completions being streamed?); try again");
    }
    const auto previous = old->manifest();
    old.reset();
    try {
      auto fresh = build(manifest);
      std::lock_guard lock(mutex_);
      served_[id] = {std::move(fresh), retired};
    } catch (...) {
      auto restored = build(previous);  // its database was just open: it opens again
      std::lock_guard lock(mutex_);
      served_[id] = {std::move(restored), retired};
      throw;
    }
    return;
  }
  auto fresh = build(manifest);
  std::lock_guard lock(mutex_);
  served_[id] = {std::move(fresh), retired};
  order_.push_back(id);
}

RunRegistry::Change HubHost::put(const protocol::RunManifest& manifest, bool from_operator) {
  std::lock_guard change(change_mutex_);
  const auto kind = registry_.check(manifest, from_operator);
  if (kind != RunRegistry::Change::Unchanged && started_) serve(manifest, false);
  registry_.put(manifest, unix_ms(), from_operator);
  std::lock_guard lock(mutex_);
  if (from_operator || default_run_.empty()) default_run_ = manifest.run_id;
  if (kind != RunRegistry::Change::Unchanged)
    spdlog::info("run {} {} (revision {})", manifest.run_id, kind == RunRegistry::Change::Added ? "added" : "updated",
                 manifest_revision(manifest));
  return kind;
}

void HubHost::retire(const std::string& run_id) {
  std::lock_guard change(change_mutex_);
  registry_.retire(run_id, unix_ms());
  std::lock_guard lock(mutex_);
  if (const auto found = served_.find(run_id); found != served_.end()) found->second.retired = true;
  spdlog::info("run {} retired: joins are refused from now on", run_id);
}

protocol::RunCatalog HubHost::catalog() const {
  // A snapshot under the lock (never the change lock: an update may wait for its run to drain).
  std::vector<std::pair<std::string, Served>> snapshot;
  {
    std::lock_guard lock(mutex_);
    for (const auto& id : order_)
      if (const auto found = served_.find(id); found != served_.end() && found->second.service)
        snapshot.emplace_back(id, found->second);
  }
  protocol::RunCatalog out;
  for (const auto& [id, served] : snapshot) {
    CatalogPlace place{run_url(id), options_.tls ? run_link(id).to_string() : std::string(), served.retired};
    out.runs.push_back(catalog_entry(*served.service, place));
  }
  return out;
}

protocol::HubRunInfo HubHost::info(const RegisteredRun& run) const {
  const auto& id = run.manifest.run_id;
  protocol::HubRunInfo out;
  out.run = id;
  out.revision = manifest_revision(run.manifest);
  out.publisher = wallet::base58_encode(run.manifest.publisher_key);
  out.added_ms = run.added_ms;
  out.retired_ms = run.retired_ms;
  out.is_default = id == default_run();
  out.url = run_url(id);
  if (options_.tls) out.link = protocol::RunLink{public_host_, port_, id, run.manifest.publisher_key}.to_string();
  return out;
}

std::vector<protocol::HubRunInfo> HubHost::runs() const {
  std::lock_guard change(change_mutex_);
  std::vector<protocol::HubRunInfo> out;
  for (const auto& run : registry_.runs()) out.push_back(info(run));
  return out;
}

nlohmann::json HubHost::request_stats() const {
  nlohmann::json requests{{"api", api_server_ ? api_server_->stats().to_json() : nlohmann::json(nullptr)}};
  if (gateway_server_) requests["gateway"] = gateway_server_->stats().to_json();
  return requests;
}

void HubHost::serve_api(const httplib::Request& request, httplib::Response& response) const {
  if (request.path == protocol::kRunCatalogPath) {
    if (request.method == "POST") return reply_unrouted(response);
    return net::reply_json(response, protocol::to_json(catalog()));
  }
  const auto path = protocol::split_run_path(request.path);
  if (!path) return reply_unrouted(response);
  const auto id = path->run.empty() ? default_run() : std::string(path->run);
  const auto served = find(id);
  if (!served)
    return net::reply_error(response, 404, "this hub serves no run " + id.substr(0, 64) + " (GET " +
                                               protocol::kRunCatalogPath + " lists its runs)");
  if (!served->service) {
    response.set_header("Retry-After", "1");
    return net::reply_error(response, 503, "run " + id + " is being updated; try again in a second");
  }
  if (served->retired && refused_when_retired(request, path->relative))
    return net::reply_error(response, 410, "run " + id + " is retired: it takes no members; choose another run (GET " +
                                               protocol::kRunCatalogPath + ")");
  if (!served->service->api_routes().dispatch(request, response, std::string(path->relative))) reply_unrouted(response);
}

void HubHost::serve_gateway(const httplib::Request& request, httplib::Response& response) const {
  std::vector<std::shared_ptr<HubService>> serving;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, served] : served_)
      if (served.service && !served.retired && served.service->gateway_routes()) serving.push_back(served.service);
  }
  if (request.path == api::kModels) {
    nlohmann::json models = nlohmann::json::array();
    std::optional<GatewayError> refused;
    for (const auto& service : serving) {
      try {
        service->gateway()->authorize(request.get_header_value("Authorization"));
        models.push_back({{"id", service->manifest().run_id}, {"object", "model"}, {"created", 0}, {"owned_by", "tessera"}});
      } catch (const GatewayError& error) {
        if (!refused) refused = error;
      }
    }
    if (models.empty() && refused) return net::reply_json(response, refused->status(), error_body(*refused));
    return net::reply_json(response, nlohmann::json{{"object", "list"}, {"data", models}});
  }
  if (request.path != api::kCompletions && request.path != api::kChatCompletions) return reply_unrouted(response);
  // The run the body's "model" names; without one (or a body the run's gateway will refuse), the
  // default run's gateway answers as a one-run hub's does.
  std::string model = default_run();
  const auto body = sys::parse_bounded_object(request.body, {kLargestGatewayBody, net::kMaxBodyDepth});
  if (body && body->contains("model") && body->at("model").is_string()) model = body->at("model").get<std::string>();
  std::shared_ptr<HubService> target;
  for (const auto& service : serving)
    if (service->manifest().run_id == model) target = service;
  serving.clear();  // only the target is held while it answers: the other runs may be updated meanwhile
  if (!target) return reply_model_not_found(response, model);
  if (!target->gateway_routes()->dispatch(request, response, request.path)) return reply_unrouted(response);
  hold_while_streaming(response, std::move(target));
}

void HubHost::serve_admin(const httplib::Request& request, httplib::Response& response) const {
  if (runs_api_ && runs_api_->routes().dispatch(request, response, request.path)) return;
  const auto path = protocol::split_run_path(request.path);
  if (!path) return reply_unrouted(response);
  const auto id = path->run.empty() ? default_run() : std::string(path->run);
  const auto service = run(id);
  if (!service) return net::reply_error(response, 404, "this hub serves no run " + id.substr(0, 64));
  const auto* routes = service->admin_routes();
  if (!routes || !routes->dispatch(request, response, std::string(path->relative))) reply_unrouted(response);
}

void HubHost::start() {
  std::lock_guard change(change_mutex_);
  if (started_) throw std::logic_error("the hub is already running");
  if (registry_.runs().empty())
    throw std::runtime_error("this hub has no run to serve: give --manifest FILE, or add one with `tessera-hub runs add`");
  for (const auto& run : registry_.runs()) serve(run.manifest, run.retired_ms.has_value());
  api_server_ = std::make_unique<HttpListener>(
      "hub API", options_.api_server,
      net::BodyLimits{[](const std::string& path) { return api::body_limit(path); }, api::largest_body_limit()},
      net::RefusalWriter{}, options_.tls.get());
  net::reply_thrown_errors(api_server_->server());
  route_everything(api_server_->server(), [this](const httplib::Request& request, httplib::Response& response) {
    serve_api(request, response);
  });
  if (options_.hub_key) {
    gateway_server_ = std::make_unique<HttpListener>(
        "gateway", options_.gateway_server,
        net::BodyLimits{[this](const std::string&) {
                          std::size_t limit = 16 * 1024;
                          std::lock_guard lock(mutex_);
                          for (const auto& [id, served] : served_)
                            if (served.service && served.service->gateway())
                              limit = std::max(limit, served.service->gateway()->body_limit());
                          return limit;
                        },
                        kLargestGatewayBody},
        reply_gateway_refusal, options_.tls.get());
    net::reply_thrown_errors(gateway_server_->server(), {"invalid_request_error", "server_error"});
    route_everything(gateway_server_->server(), [this](const httplib::Request& request, httplib::Response& response) {
      serve_gateway(request, response);
    });
  }
  if (runs_api_) {
    admin_server_ = std::make_unique<HttpListener>(
        "admin", net::HttpServerLimits{2, std::chrono::milliseconds(5000), std::chrono::milliseconds(5000),
                                       std::chrono::seconds(2)},
        net::BodyLimits{[](const std::string& path) {
                          return path == protocol::hub_admin_api::kRuns ? protocol::hub_admin_api::kRunsBodyLimit
                                                                         : protocol::hub_admin_api::kBodyLimit;
                        },
                        protocol::hub_admin_api::kRunsBodyLimit});
    net::reply_thrown_errors(admin_server_->server());
    route_everything(admin_server_->server(), [this](const httplib::Request& request, httplib::Response& response) {
      serve_admin(request, response);
    });
  }
  try {
    api_server_->start(options_.host, options_.port);
    port_ = api_server_->port();
    if (gateway_server_) {
      gateway_server_->start(options_.gateway_host.empty() ? options_.host : options_.gateway_host, options_.gateway_port);
      gateway_port_ = gateway_server_->port();
    }
    if (admin_server_) {
      admin_server_->start("127.0.0.1", 0);
      admin_port_ = admin_server_->port();
      const auto text = protocol::to_json(protocol::AdminAccess{admin_url(), admin_token_->clear()}).dump() + "\n";
      if (!options_.admin_access_file.parent_path().empty())
        std::filesystem::create_directories(options_.admin_access_file.parent_path());
      wallet::write_file_atomic(options_.admin_access_file, wallet::as_bytes(text), {}, wallet::IfExists::Replace);
    }
  } catch (...) {
    admin_server_.reset();
    gateway_server_.reset();
    api_server_.reset();
    std::lock_guard lock(mutex_);
    served_.clear();
    order_.clear();
    throw;
  }
  started_ = true;
}

void HubHost::stop() {
  if (admin_server_) {
    admin_server_->stop();
    std::error_code ignored;  // a hub that cannot remove it leaves a file whose token no longer works
    std::filesystem::remove(options_.admin_access_file, ignored);
  }
  if (gateway_server_) gateway_server_->stop();
  if (api_server_) api_server_->stop();
  std::map<std::string, Served> runs;
  {
    std::lock_guard lock(mutex_);
    runs.swap(served_);
    order_.clear();
  }
  for (auto& [id, served] : runs)
    if (served.service) served.service->stop();
  runs.clear();
  admin_server_.reset();
  gateway_server_.reset();
  api_server_.reset();
  std::lock_guard change(change_mutex_);
  started_ = false;
}

}  // namespace tessera::hub
