// The hub over cpp-httplib: JSON in and out, every input checked before it is used, errors as
// {"error": {"message": …}} with 400 (bad request), 403 (refused) or 404 (unknown peer).
#include "core/hub/hub_service.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "core/engine/model_config.h"
#include "core/protocol/work_units.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

struct Refused : std::runtime_error {
  int status;
  Refused(int code, const std::string& message) : std::runtime_error(message), status(code) {}
};

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::uint8_t> request_message(const std::string& path, nlohmann::json body) {
  body.erase("signature");
  const std::string text = "tessera-hub-request\n" + path + "\n" + body.dump();
  return {text.begin(), text.end()};
}

template <typename T>
T field(const nlohmann::json& body, const char* name) {
  if (!body.is_object() || !body.contains(name)) throw std::invalid_argument(std::string("missing field '") + name + "'");
  try {
    return body.at(name).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw std::invalid_argument(std::string("field '") + name + "' has the wrong type");
  }
}

wallet::PublicKey key_field(const nlohmann::json& body, const char* name) {
  const auto key = wallet::fixed_from_hex<32>(field<std::string>(body, name));
  if (!key) throw std::invalid_argument(std::string("field '") + name + "' is not 64 hex digits");
  return *key;
}

void reply_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

nlohmann::json parse_body(const httplib::Request& request) {
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) throw std::invalid_argument("the request body must be a JSON object");
  return body;
}

}  // namespace

std::vector<std::uint64_t> stage_memory_requirements(const protocol::RunManifest& manifest) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < manifest.stages; ++i) {
    const auto plan = engine::plan_stage(manifest.model, manifest.stages, i);
    out.push_back(static_cast<std::uint64_t>(
        engine::estimate_stage_memory(manifest.model, plan, manifest.train.micro_batch_size,
                                      manifest.train.micro_batches).total()));
  }
  return out;
}

nlohmann::json signed_request(const std::string& path, nlohmann::json body, const wallet::KeyPair& key) {
  body["node_key"] = wallet::to_hex(key.public_key());
  body["at_ms"] = unix_ms();
  const auto signature = key.sign(wallet::SignatureDomain::Challenge, request_message(path, body));
  body["signature"] = wallet::to_hex(signature);
  return body;
}

HubService::HubService(protocol::RunManifest manifest, HubOptions options)
    : manifest_(std::move(manifest)),
      options_(std::move(options)),
      directory_(stage_memory_requirements(manifest_)) {
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
  }
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
      const auto statement = book_->latest()->statement();
      spdlog::info("epoch {} settled: {} owners, {} units, revenue {} {}", epoch, statement.owner_count,
                   statement.total_units, statement.total_revenue, manifest_.currency);
    } catch (const std::exception& error) {
      spdlog::error("settling the epoch failed: {}", error.what());
    }
  }
}

HubService::~HubService() { stop(); }

std::string HubService::url() const { return "http://" + options_.host + ":" + std::to_string(port_); }

wallet::PublicKey HubService::verify_signed(const std::string& path, const nlohmann::json& body) const {
  const auto key = key_field(body, "node_key");
  const auto at = field<std::int64_t>(body, "at_ms");
  const auto signature = wallet::fixed_from_hex<64>(field<std::string>(body, "signature"));
  if (!signature) throw std::invalid_argument("field 'signature' is not 128 hex digits");
  if (std::llabs(unix_ms() - at) > options_.request_skew.count())
    throw Refused(403, "request time is too far from the hub's clock (check the node's clock)");
  if (!wallet::verify(wallet::SignatureDomain::Challenge, request_message(path, body), *signature, key))
    throw Refused(403, "the request's signature does not match its node key");
  return key;
}

nlohmann::json HubService::handle_join(const nlohmann::json& body) {
  const auto key = key_field(body, "node_key");
  const auto nonce = wallet::fixed_from_hex<32>(field<std::string>(body, "nonce"));
  const auto signature = wallet::fixed_from_hex<64>(field<std::string>(body, "signature"));
  if (!nonce || !signature) throw std::invalid_argument("nonce or signature is not hex of the right length");
  if (!challenges_.redeem(*nonce, manifest_.run_id, key, *signature))
    throw Refused(403, "join refused: the challenge answer is wrong, expired or already used");
  const auto delegation = wallet::Delegation::from_json(field<nlohmann::json>(body, "delegation"));
  const auto status = wallet::verify_delegation(delegation, key, manifest_.run_id, unix_ms() / 1000);
  if (status != wallet::DelegationStatus::Valid)
    throw Refused(403, "join refused: delegation " + std::string(wallet::describe(status)));
  const auto endpoint = field<std::string>(body, "endpoint");
  if (endpoint.rfind("tcp://", 0) != 0 || endpoint.size() > 200)
    throw std::invalid_argument("endpoint must be a tcp:// address");
  const auto device = field<nlohmann::json>(body, "device");
  Peer peer;
  peer.node_key = key;
  peer.owner = delegation.owner_address;
  peer.endpoint = endpoint;
  peer.device.name = field<std::string>(device, "name").substr(0, 200);
  peer.device.memory_bytes = field<std::uint64_t>(device, "memory_bytes");
  peer.device.tokens_per_s = device.value("tokens_per_s", 0.0);
  peer.last_seen = Clock::now();
  {
    std::lock_guard lock(mutex_);
    ready_.erase(key);  // a returning node is not ready until it has its stage's state again
  }
  directory_.remove(key);
  const auto stage = directory_.choose_stage(peer.device.memory_bytes);
  if (!stage) throw Refused(403, "join refused: no stage of this run fits in " + engine::format_bytes(static_cast<std::int64_t>(peer.device.memory_bytes)));
  peer.stage = *stage;
  directory_.upsert(peer);
  {
    std::lock_guard lock(mutex_);
    members_[key] = *stage;
    owners_[key] = delegation.owner_address;
  }
  return {{"stage", *stage}, {"stages", manifest_.stages}, {"run", manifest_.run_id}};
}

nlohmann::json HubService::handle_receipts(const nlohmann::json& body) {
  const auto sender = verify_signed("/api/receipts", body);
  const auto list = field<nlohmann::json>(body, "receipts");
  if (!list.is_array() || list.size() > 100000) throw std::invalid_argument("'receipts' must be an array (at most 100000)");
  std::uint64_t accepted = 0, duplicates = 0;
  nlohmann::json rejected = nlohmann::json::array();
  std::lock_guard lock(mutex_);
  const auto sender_stage = members_.find(sender);
  if (sender_stage == members_.end()) throw Refused(403, "receipts refused: the sender is not a peer of this run");
  for (const auto& item : list) {
    std::string reason;
    try {
      const auto receipt = protocol::signed_receipt_from_json(item);
      const auto& r = receipt.receipt;
      const auto receiver_stage = members_.find(r.receiver);
      const int neighbour = r.direction == protocol::Direction::Forward ? r.stage + 1 : r.stage - 1;
      if (r.run_id != manifest_.run_id) reason = "another run";
      else if (r.sender != sender) reason = "the receipt is not for the reporting node's work";
      else if (!protocol::verify_receipt(receipt)) reason = "the receiver's signature does not verify";
      else if (receiver_stage == members_.end()) reason = "the receiver is not a peer of this run";
      else if (sender_stage->second != r.stage || receiver_stage->second != neighbour)
        reason = "sender and receiver are not neighbouring stages";
      else if (!receipt_ids_.insert(receipt.id()).second) {
        ++duplicates;
        ++tally_.duplicates;
        continue;
      } else {
        receipts_.push_back(receipt);
        ++accepted;
        ++tally_.verified;
        if (book_) {
          const auto owner = owners_.find(sender);
          if (owner != owners_.end())
            book_->credit_work(owner->second,
                               protocol::receipt_flops(manifest_.model, manifest_.stages, r.direction, r.stage, r.tokens));
        }
        continue;
      }
    } catch (const std::exception& error) {
      reason = error.what();
    }
    ++tally_.rejected;
    rejected.push_back(reason);
  }
  return {{"accepted", accepted}, {"duplicates", duplicates}, {"rejected", rejected}};
}

nlohmann::json HubService::peers_json() {
  directory_.expire(Clock::now(), options_.heartbeat_timeout);
  std::vector<std::pair<std::uint64_t, Peer>> ready;
  {
    std::lock_guard lock(mutex_);
    for (auto& peer : directory_.peers()) {
      const auto found = ready_.find(peer.node_key);
      ready.emplace_back(found != ready_.end() ? found->second : 0, std::move(peer));
    }
  }
  std::sort(ready.begin(), ready.end(), [](const auto& a, const auto& b) {
    return (a.first == 0 ? UINT64_MAX : a.first) < (b.first == 0 ? UINT64_MAX : b.first);
  });
  auto out = nlohmann::json::array();
  for (const auto& [order, peer] : ready)
    out.push_back({{"node_key", wallet::to_hex(peer.node_key)}, {"owner", peer.owner}, {"endpoint", peer.endpoint},
                   {"stage", peer.stage}, {"ready_order", order}, {"ready", order != 0},
                   {"device", peer.device.name}});
  return out;
}

void HubService::start() {
  if (server_) throw std::logic_error("the hub is already running");
  server_ = std::make_unique<httplib::Server>();
  auto& server = *server_;
  server.set_read_timeout(std::chrono::seconds(10));
  server.set_write_timeout(std::chrono::seconds(10));
  server.set_payload_max_length(64 * 1024 * 1024);
  server.set_exception_handler([](const httplib::Request&, httplib::Response& response, std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const Refused& refused) {
      reply_json(response, refused.status, {{"error", {{"message", refused.what()}}}});
    } catch (const std::invalid_argument& bad) {
      reply_json(response, 400, {{"error", {{"message", bad.what()}}}});
    } catch (const std::exception& failure) {
      reply_json(response, 500, {{"error", {{"message", failure.what()}}}});
    }
  });
  server.Get("/api/manifest", [this](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, protocol::to_json(manifest_));
  });
  server.Post("/api/challenge", [this](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, {{"nonce", wallet::to_hex(challenges_.issue())}, {"run", manifest_.run_id}});
  });
  server.Post("/api/join", [this](const httplib::Request& request, httplib::Response& response) {
    reply_json(response, 200, handle_join(parse_body(request)));
  });
  server.Post("/api/ready", [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = verify_signed("/api/ready", parse_body(request));
    if (!directory_.heartbeat(key, Clock::now())) throw Refused(404, "unknown peer: join again");
    std::lock_guard lock(mutex_);
    if (!ready_.count(key)) ready_[key] = next_ready_++;
    reply_json(response, 200, {{"ready", true}});
  });
  server.Post("/api/heartbeat", [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = verify_signed("/api/heartbeat", parse_body(request));
    if (!directory_.heartbeat(key, Clock::now())) throw Refused(404, "unknown peer: join again");
    reply_json(response, 200, {{"ok", true}});
  });
  server.Post("/api/leave", [this](const httplib::Request& request, httplib::Response& response) {
    const auto key = verify_signed("/api/leave", parse_body(request));
    directory_.remove(key);
    std::lock_guard lock(mutex_);
    ready_.erase(key);
    reply_json(response, 200, {{"ok", true}});
  });
  server.Get("/api/peers", [this](const httplib::Request&, httplib::Response& response) {
    reply_json(response, 200, {{"run", manifest_.run_id}, {"stages", manifest_.stages}, {"peers", peers_json()}});
  });
  server.Post("/api/receipts", [this](const httplib::Request& request, httplib::Response& response) {
    reply_json(response, 200, handle_receipts(parse_body(request)));
  });
  server.Post("/api/progress", [this](const httplib::Request& request, httplib::Response& response) {
    const auto body = parse_body(request);
    const auto key = verify_signed("/api/progress", body);
    const auto peer = directory_.find(key);
    if (!peer || peer->stage != 0) throw Refused(403, "only a stage-0 replica reports progress");
    const auto step = field<nlohmann::json>(body, "step");
    if (!step.is_object() || step.dump().size() > 4096) throw std::invalid_argument("'step' must be a small object");
    std::lock_guard lock(mutex_);
    progress_.push_back(step);
    reply_json(response, 200, {{"ok", true}});
  });
  server.Get("/api/progress", [this](const httplib::Request& request, httplib::Response& response) {
    std::size_t since = 0;
    try {
      if (request.has_param("since")) since = std::stoul(request.get_param_value("since"));
    } catch (const std::exception&) {
      throw std::invalid_argument("since must be a number");
    }
    auto list = nlohmann::json::array();
    std::lock_guard lock(mutex_);
    for (std::size_t i = since; i < progress_.size(); ++i) list.push_back(progress_[i]);
    reply_json(response, 200, {{"steps", list}, {"total", progress_.size()}});
  });
  server.Get("/api/receipts/summary", [this](const httplib::Request&, httplib::Response& response) {
    const auto t = tally();
    reply_json(response, 200, {{"verified", t.verified}, {"rejected", t.rejected}, {"duplicates", t.duplicates}});
  });
  server.Get("/api/receipts", [this](const httplib::Request& request, httplib::Response& response) {
    std::size_t offset = 0, limit = 1000;
    try {
      if (request.has_param("offset")) offset = std::stoul(request.get_param_value("offset"));
      if (request.has_param("limit")) limit = std::min<std::size_t>(std::stoul(request.get_param_value("limit")), 10000);
    } catch (const std::exception&) {
      throw std::invalid_argument("offset and limit must be numbers");
    }
    auto list = nlohmann::json::array();
    std::lock_guard lock(mutex_);
    for (std::size_t i = offset; i < receipts_.size() && i < offset + limit; ++i) list.push_back(protocol::to_json(receipts_[i]));
    reply_json(response, 200, {{"receipts", list}, {"total", receipts_.size()}});
  });

  if (book_) book_->mount(server);
  if (gateway_) gateway_->mount(server);

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
    for (const auto& gone : directory_.expire(Clock::now(), options_.heartbeat_timeout)) {
      std::lock_guard guard(mutex_);
      ready_.erase(gone.node_key);
    }
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

ReceiptTally HubService::tally() const {
  std::lock_guard lock(mutex_);
  return tally_;
}

std::vector<nlohmann::json> HubService::progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

std::vector<protocol::SignedReceipt> HubService::verified_receipts() const {
  std::lock_guard lock(mutex_);
  return receipts_;
}

// --- HubClient ----------------------------------------------------------------------------

HubClient::HubClient(std::string url, std::chrono::milliseconds timeout) : url_(std::move(url)), timeout_(timeout) {
  while (!url_.empty() && url_.back() == '/') url_.pop_back();
  if (url_.rfind("http://", 0) != 0) throw std::invalid_argument("hub URL must start with http:// (got '" + url_ + "')");
}

nlohmann::json HubClient::call(const std::string& method, const std::string& path, const nlohmann::json* body) {
  httplib::Client client(url_);
  client.set_connection_timeout(timeout_);
  client.set_read_timeout(timeout_);
  client.set_write_timeout(timeout_);
  auto result = method == "GET" ? client.Get(path) : client.Post(path, body ? body->dump() : "{}", "application/json");
  if (!result)
    throw HubUnreachable("hub " + url_ + " did not answer " + path + " (" + httplib::to_string(result.error()) + ")");
  auto reply = nlohmann::json::parse(result->body, nullptr, false);
  if (result->status != 200) {
    std::string message = "HTTP " + std::to_string(result->status);
    if (!reply.is_discarded() && reply.contains("error")) message = reply["error"].value("message", message);
    throw std::runtime_error("hub refused " + path + ": " + message);
  }
  if (reply.is_discarded()) throw std::runtime_error("hub " + url_ + " answered " + path + " with something not JSON");
  return reply;
}

protocol::RunManifest HubClient::manifest() {
  auto manifest = protocol::manifest_from_json(call("GET", "/api/manifest", nullptr));
  if (!protocol::verify_manifest(manifest, manifest.publisher_key))
    throw std::runtime_error("the hub's run manifest is not signed by its publisher");
  return manifest;
}

int HubClient::join(const wallet::KeyPair& node_key, const JoinRequest& request) {
  const auto challenge = call("POST", "/api/challenge", nullptr);
  const auto nonce = wallet::fixed_from_hex<32>(challenge.value("nonce", ""));
  if (!nonce) throw std::runtime_error("the hub's challenge is malformed");
  const auto run = challenge.value("run", "");
  const auto signature = node_key.sign(wallet::SignatureDomain::Challenge, challenge_message(run, *nonce));
  nlohmann::json body{{"node_key", wallet::to_hex(node_key.public_key())},
                      {"nonce", wallet::to_hex(*nonce)},
                      {"signature", wallet::to_hex(signature)},
                      {"delegation", request.delegation.to_json()},
                      {"endpoint", request.endpoint},
                      {"device",
                       {{"name", request.device.name},
                        {"memory_bytes", request.device.memory_bytes},
                        {"tokens_per_s", request.device.tokens_per_s}}}};
  const auto reply = call("POST", "/api/join", &body);
  return reply.at("stage").get<int>();
}

void HubClient::ready(const wallet::KeyPair& node_key) {
  const auto body = signed_request("/api/ready", nlohmann::json::object(), node_key);
  call("POST", "/api/ready", &body);
}

bool HubClient::heartbeat(const wallet::KeyPair& node_key) {
  const auto body = signed_request("/api/heartbeat", nlohmann::json::object(), node_key);
  try {
    call("POST", "/api/heartbeat", &body);
  } catch (const std::runtime_error& error) {
    if (std::string(error.what()).find("unknown peer") != std::string::npos) return false;
    throw;
  }
  return true;
}

void HubClient::leave(const wallet::KeyPair& node_key) {
  const auto body = signed_request("/api/leave", nlohmann::json::object(), node_key);
  call("POST", "/api/leave", &body);
}

std::vector<PeerInfo> HubClient::peers() {
  const auto reply = call("GET", "/api/peers", nullptr);
  std::vector<PeerInfo> out;
  try {
    for (const auto& item : reply.at("peers")) {
      PeerInfo peer;
      const auto key = wallet::fixed_from_hex<32>(item.at("node_key").get<std::string>());
      if (!key) continue;
      peer.node_key = *key;
      peer.owner = item.at("owner").get<std::string>();
      peer.endpoint = item.at("endpoint").get<std::string>();
      peer.stage = item.at("stage").get<int>();
      peer.ready_order = item.at("ready_order").get<std::uint64_t>();
      out.push_back(std::move(peer));
    }
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error(std::string("the hub's peer list is malformed: ") + error.what());
  }
  return out;
}

nlohmann::json HubClient::report_receipts(const wallet::KeyPair& node_key,
                                          const std::vector<protocol::SignedReceipt>& receipts) {
  auto list = nlohmann::json::array();
  for (const auto& receipt : receipts) list.push_back(protocol::to_json(receipt));
  const auto body = signed_request("/api/receipts", {{"receipts", list}}, node_key);
  return call("POST", "/api/receipts", &body);
}

nlohmann::json HubClient::receipt_summary() { return call("GET", "/api/receipts/summary", nullptr); }

}  // namespace tessera::hub

namespace tessera::hub {

void HubClient::report_progress(const wallet::KeyPair& node_key, const nlohmann::json& step) {
  const auto body = signed_request("/api/progress", {{"step", step}}, node_key);
  call("POST", "/api/progress", &body);
}

std::vector<nlohmann::json> HubClient::progress(std::size_t since) {
  const auto reply = call("GET", "/api/progress?since=" + std::to_string(since), nullptr);
  std::vector<nlohmann::json> out;
  if (reply.contains("steps") && reply["steps"].is_array())
    for (const auto& item : reply["steps"]) out.push_back(item);
  return out;
}

}  // namespace tessera::hub
