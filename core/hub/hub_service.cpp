// The hub's assembly: state, controllers and loops. Errors are {"error": {"message": …}} with 400
// (bad request), 403 (refused), 404 (unknown peer) or 500 (core/net/http_json.h).
#include "core/hub/hub_service.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/model/model_config.h"
#include "core/hub/assignments.h"
#include "core/hub/gateway.h"
#include "core/hub/gateway_controller.h"
#include "core/hub/membership_controller.h"
#include "core/hub/receipts_controller.h"
#include "core/hub/run_controller.h"
#include "core/hub/statements_controller.h"
#include "core/hub/swarm_inference.h"
#include "core/net/http_json.h"

namespace tessera::hub {

std::vector<std::uint64_t> stage_memory_requirements(const protocol::RunManifest& manifest) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < manifest.stages; ++i) {
    const auto plan = model::plan_stage(manifest.model, manifest.stages, i);
    out.push_back(static_cast<std::uint64_t>(
        model::estimate_stage_memory(manifest.model, plan, manifest.train.micro_batch_size,
                                      manifest.train.micro_batches).total()));
  }
  return out;
}

HubService::HubService(protocol::RunManifest manifest, HubOptions options)
    : manifest_(std::move(manifest)),
      options_(std::move(options)),
      directory_(stage_memory_requirements(manifest_)),
      verifier_(options_.request_skew) {
  if (!protocol::verify_manifest(manifest_, manifest_.publisher_key))
    throw std::invalid_argument("the run manifest's signature does not verify");
  if (options_.hub_key) {
    if (options_.hub_key->public_key() != manifest_.hub_key)
      throw std::invalid_argument("the hub key is not the one the run manifest names");
    std::filesystem::path state_file;
    if (!options_.state_dir.empty()) {
      std::filesystem::create_directories(options_.state_dir);
      state_file = options_.state_dir / ("settlement-" + manifest_.run_id + ".json");
    }
    book_ = std::make_unique<SettlementBook>(manifest_.run_id, *options_.hub_key, manifest_.price_per_1k_tokens,
                                             manifest_.currency, state_file);
    inference_ = std::make_unique<SwarmInference>(directory_, manifest_, *options_.hub_key);
    GatewayOptions gateway;
    gateway.limits.model_id = manifest_.run_id;
    gateway.limits.context = manifest_.model.context;
    gateway.limits.vocab = manifest_.model.vocab;
    gateway.api_keys = options_.api_keys;
    gateway_ = std::make_unique<Gateway>(gateway, *inference_, [this](const Usage& usage) {
      book_->credit_tokens(usage.total());
    });
    statements_api_ = std::make_unique<StatementsController>(*book_);
    gateway_api_ = std::make_unique<GatewayController>(*gateway_);
  }
  run_api_ = std::make_unique<RunController>(manifest_);
  membership_api_ =
      std::make_unique<MembershipController>(manifest_, directory_, roster_, verifier_, options_.heartbeat_timeout);
  assignments_ = std::make_unique<AssignmentIssuer>(manifest_.run_id, options_.hub_key);
  membership_api_->issue_assignments(*assignments_);
  receipts_api_ = std::make_unique<ReceiptsController>(manifest_, directory_, roster_, verifier_, book_.get());
}

HubService::~HubService() { stop(); }

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
      const auto statement = book_->latest()->statement();
      spdlog::info("epoch {} settled: {} owners, {} units, revenue {} {}", epoch, statement.owner_count,
                   statement.total_units, statement.total_revenue, manifest_.currency);
    } catch (const std::exception& error) {
      spdlog::error("settling the epoch failed: {}", error.what());
    }
  }
}

std::string HubService::url() const { return "http://" + options_.host + ":" + std::to_string(port_); }

nlohmann::json HubService::peers_json() { return membership_api_->peers_json(); }

void HubService::start() {
  if (server_) throw std::logic_error("the hub is already running");
  server_ = std::make_unique<httplib::Server>();
  auto& server = *server_;
  server.set_read_timeout(std::chrono::seconds(10));
  server.set_write_timeout(std::chrono::seconds(10));
  server.set_payload_max_length(64 * 1024 * 1024);
  net::reply_thrown_errors(server);
  run_api_->mount(server);
  membership_api_->mount(server);
  receipts_api_->mount(server);
  if (statements_api_) statements_api_->mount(server);
  if (gateway_api_) gateway_api_->mount(server);

  port_ = options_.port == 0 ? server.bind_to_any_port(options_.host)
                             : (server.bind_to_port(options_.host, options_.port) ? options_.port : -1);
  if (port_ <= 0) {
    server_.reset();
    throw std::runtime_error("the hub cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                             " (address in use?)");
  }
  stopping_ = false;
  thread_ = std::thread([&server] { server.listen_after_bind(); });
  expiry_ = std::thread([this] { expire_loop(); });
  if (book_) epochs_ = std::thread([this] { epoch_loop(); });
  for (int i = 0; i < 500 && !server.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void HubService::expire_loop() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_signal_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
    for (const auto& gone : directory_.expire(Clock::now(), options_.heartbeat_timeout)) roster_.unready(gone.node_key);
  }
}

void HubService::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_signal_.notify_all();
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
  if (expiry_.joinable()) expiry_.join();
  if (epochs_.joinable()) epochs_.join();
  server_.reset();
}

protocol::ReceiptTally HubService::tally() const { return receipts_api_->tally(); }

std::vector<nlohmann::json> HubService::progress() const { return receipts_api_->progress(); }

std::vector<protocol::SignedReceipt> HubService::verified_receipts() const { return receipts_api_->verified_receipts(); }

}  // namespace tessera::hub
