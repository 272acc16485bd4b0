// HubClient over cpp-httplib: one call() with timeouts and signature headers, the hub's error
// messages passed on.
#include "core/client/hub_client.h"

#include <httplib.h>

#include <atomic>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "core/protocol/data_shard.h"
#include "core/sys/bounded_json.h"
#include "core/wallet/encoding.h"

namespace tessera::client {
namespace {

namespace api = protocol::hub_api;

// Unix milliseconds, strictly increasing within this process: two requests signed in the same
// millisecond with the same body would otherwise be the same bytes, and the hub refuses repeats.
std::int64_t signing_time_ms() {
  static std::atomic<std::int64_t> last{0};
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto previous = last.load();
  std::int64_t next = 0;
  do next = std::max(now, previous + 1);
  while (!last.compare_exchange_weak(previous, next));
  return next;
}

constexpr std::string_view kExcluded = "excluded from this run";

// A 403 whose message begins "excluded from this run" is an exclusion; any other refusal is not.
void throw_if_excluded(const std::string& path, const nlohmann::json& reply) {
  if (reply.is_discarded() || !reply.is_object() || !reply.contains("error") || !reply["error"].is_object()) return;
  const auto message = reply["error"].value("message", std::string());
  if (message.rfind(kExcluded, 0) != 0) return;
  auto reason = message.substr(kExcluded.size());
  if (reason.rfind(": ", 0) == 0) reason.erase(0, 2);
  throw HubExcluded("hub refused " + path + ": " + message, reason.empty() ? std::string("no reason given") : reason);
}

// An error answer as HubRefused, with the hub's message when it gave one.
[[noreturn]] void throw_refused(const std::string& path, int status, const nlohmann::json& reply) {
  std::string message = "HTTP " + std::to_string(status);
  const bool explained = !reply.is_discarded() && reply.is_object() && reply.contains("error") && reply["error"].is_object();
  if (explained) message = reply["error"].value("message", message);
  throw HubRefused("hub refused " + path + ": " + message, status, explained);
}

}  // namespace

HubClient::HubClient(std::string address, std::chrono::milliseconds timeout, net::TrafficMeter* traffic)
    : endpoint_(std::make_shared<HubEndpoint>(address)), url_(endpoint_->url()), timeout_(timeout), traffic_(traffic) {}

nlohmann::json HubClient::call(const std::string& method, const std::string& path, const std::string& body,
                               const wallet::KeyPair* signer, std::size_t max_reply_bytes, const Extra* extra) {
  if (method == "POST" && body.size() > api::body_limit(path))
    throw std::runtime_error("the request to " + path + " is " + std::to_string(body.size()) +
                             " bytes; the hub accepts at most " + std::to_string(api::body_limit(path)));
  httplib::Headers headers;
  if (signer) {
    const auto signature = protocol::to_headers(
        protocol::sign_hub_request(run_id(), method, path, method == "GET" ? "" : body, signing_time_ms(), *signer));
    headers = {{protocol::kNodeKeyHeader, signature.node_key},
               {protocol::kTimeHeader, signature.time_ms},
               {protocol::kSignatureHeader, signature.signature}};
  }
  if (extra)
    for (const auto& [name, value] : extra->headers) headers.emplace(name, value);
  if (!endpoint_->trusted()) endpoint_->establish(timeout_, traffic_);
  const auto connection = endpoint_->open(timeout_, traffic_);
  auto& client = connection->http();
  auto result = method == "GET" ? client.Get(path, headers) : client.Post(path, headers, body, extra ? extra->content_type.c_str() : "application/json");
  if (!result && !connection->refusal().empty()) throw HubUntrusted(connection->refusal());
  if (!result)
    throw HubUnreachable("hub " + url_ + " did not answer " + path + " (" + httplib::to_string(result.error()) + ")");
  if (max_reply_bytes != 0 && result->body.size() > max_reply_bytes)
    throw std::runtime_error("hub " + url_ + " answered " + path + " with " + std::to_string(result->body.size()) +
                             " bytes; at most " + std::to_string(max_reply_bytes) + " were expected");
  auto reply = max_reply_bytes == 0 ? nlohmann::json::parse(result->body, nullptr, false)
                                    : sys::parse_bounded_json(result->body, {max_reply_bytes, 8})
                                          .value.value_or(nlohmann::json::value_t::discarded);
  if (result->status == 403) throw_if_excluded(path, reply);
  if (result->status != 200) throw_refused(path, result->status, reply);
  if (reply.is_discarded()) throw std::runtime_error("hub " + url_ + " answered " + path + " with something not JSON");
  return reply;
}

nlohmann::json HubClient::signed_post(const std::string& path, const nlohmann::json& body, const wallet::KeyPair& signer) {
  return call("POST", path, body.dump(), &signer);
}

std::string HubClient::run_id() {
  {
    std::lock_guard lock(run_mutex_);
    if (!run_id_.empty()) return run_id_;
  }
  const auto run = manifest().run_id;  // outside the lock: it is a request
  std::lock_guard lock(run_mutex_);
  run_id_ = run;
  return run_id_;
}

protocol::RunManifest HubClient::manifest() {
  if (!endpoint_->trusted()) return endpoint_->establish(timeout_, traffic_);  // checks it too
  auto manifest = protocol::manifest_from_json(call("GET", api::kManifest, "", nullptr));
  endpoint_->check_manifest(manifest);
  return manifest;
}

int HubClient::join(const wallet::KeyPair& node_key, const protocol::JoinRequest& request) {
  const auto challenge = call("POST", api::kChallenge, "{}", nullptr);
  const auto nonce = wallet::fixed_from_hex<32>(challenge.value("nonce", ""));
  if (!nonce) throw std::runtime_error("the hub's challenge is malformed");
  {
    std::lock_guard lock(run_mutex_);
    if (run_id_.empty()) run_id_ = challenge.value("run", "");
  }
  const auto reply = signed_post(api::kJoin, protocol::to_json(protocol::JoinBody{*nonce, request}), node_key);
  remember(reply);
  return reply.at("stage").get<int>();
}

void HubClient::ready(const wallet::KeyPair& node_key) { signed_post(api::kReady, nlohmann::json::object(), node_key); }

std::string HubClient::update_endpoint(const wallet::KeyPair& node_key, const protocol::AddressUpdate& update) {
  const auto reply = signed_post(api::kEndpoint, protocol::to_json(update), node_key);
  remember(reply);
  const auto endpoint = reply.find("endpoint");
  if (endpoint == reply.end() || !endpoint->is_string()) throw std::runtime_error("the hub's address reply is malformed");
  return endpoint->get<std::string>();
}

std::vector<protocol::RelayInfo> HubClient::relays() {
  return protocol::relays_from_json(call("GET", api::kRelays, "", nullptr, 64 * 1024));
}

bool HubClient::heartbeat(const wallet::KeyPair& node_key, const net::TrafficReport* traffic,
                          const nlohmann::json& extra) {
  auto body = nlohmann::json::object();
  if (traffic) body = {{"traffic", traffic->bytes.to_json()}, {"tokens", traffic->tokens}};
  if (extra.is_object()) body.update(extra);
  try {
    const auto reply = signed_post(api::kHeartbeat, body, node_key);
    remember(reply);
    remember_checks(reply);
  } catch (const std::runtime_error& error) {
    if (std::string(error.what()).find("unknown peer") != std::string::npos) return false;
    throw;
  }
  return true;
}

void HubClient::leave(const wallet::KeyPair& node_key) { signed_post(api::kLeave, nlohmann::json::object(), node_key); }

protocol::PeerList HubClient::peer_list(const wallet::KeyPair& node_key) {
  const auto reply = call("GET", api::kPeers, "", &node_key);
  remember(reply);
  {
    const auto seed = reply.find("route_seed");
    std::lock_guard lock(named_mutex_);
    listed_route_seed_ = seed != reply.end() && seed->is_string() ? seed->get<std::string>() : std::string();
  }
  try {
    return protocol::peer_list_from_json(reply);
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error(std::string("the hub's peer list is malformed: ") + error.what());
  }
}

std::vector<protocol::PeerInfo> HubClient::peers(const wallet::KeyPair& node_key) { return peer_list(node_key).peers; }

void HubClient::remember(const nlohmann::json& reply) {
  std::lock_guard lock(named_mutex_);
  if (const auto found = reply.find("assignment"); found != reply.end() && found->is_string())
    named_.assignment = found->get<std::string>();
  for (auto [name, field] : {std::pair{"endpoint", &named_.endpoint}, std::pair{"address", &named_.address},
                             std::pair{"reachability", &named_.reachability}})
    if (const auto found = reply.find(name); found != reply.end() && found->is_string() &&
                                             found->get_ref<const std::string&>().size() <= protocol::kMaxEndpointBytes)
      *field = found->get<std::string>();
  if (const auto found = reply.find("driver"); found != reply.end()) {
    named_.names_driver = true;
    named_.driver = found->is_string() ? wallet::fixed_from_hex<32>(found->get<std::string>()) : std::nullopt;
  }
}

void HubClient::remember_checks(const nlohmann::json& reply) {
  const auto found = reply.find("checks");
  if (found == reply.end() || !found->is_array()) return;
  std::lock_guard lock(named_mutex_);
  for (const auto& item : *found)
    if (item.is_string() && item.get_ref<const std::string&>().size() <= 4096) checks_.push_back(item.get<std::string>());
  if (checks_.size() > kMaxPendingChecks)
    checks_.erase(checks_.begin(), checks_.end() - static_cast<std::ptrdiff_t>(kMaxPendingChecks));
}

std::vector<std::string> HubClient::take_checks() {
  std::lock_guard lock(named_mutex_);
  return std::exchange(checks_, {});
}

void HubClient::report_weights(const wallet::KeyPair& node_key, int stage, const std::vector<WeightsDigest>& reports) {
  if (reports.empty()) return;
  auto list = nlohmann::json::array();
  for (const auto& report : reports) list.push_back({{"step", report.step}, {"weights", wallet::to_hex(report.digest)}});
  signed_post(api::kWeights, {{"stage", stage}, {"reports", list}}, node_key);
}

void HubClient::report_check(const wallet::KeyPair& node_key, const protocol::CheckReport& report) {
  signed_post(api::kChecks, protocol::to_json(report), node_key);
}

HubNamed HubClient::named() const {
  std::lock_guard lock(named_mutex_);
  return named_;
}

std::string HubClient::listed_route_seed() const {
  std::lock_guard lock(named_mutex_);
  return listed_route_seed_;
}

nlohmann::json HubClient::report_receipts(const wallet::KeyPair& node_key,
                                          const std::vector<protocol::SignedReceipt>& receipts) {
  auto list = nlohmann::json::array();
  for (const auto& receipt : receipts) list.push_back(protocol::to_json(receipt));
  return signed_post(api::kReceipts, {{"receipts", list}}, node_key);
}

nlohmann::json HubClient::receipt_summary() { return call("GET", api::kReceiptSummary, "", nullptr); }

void HubClient::report_progress(const wallet::KeyPair& node_key, const nlohmann::json& step) {
  signed_post(api::kProgress, {{"step", step}}, node_key);
}

std::optional<std::string> HubClient::report_step(const wallet::KeyPair& node_key, const protocol::SignedStepRecord& record,
                                                  const nlohmann::json& progress) {
  const auto reply = signed_post(api::kSteps, {{"record", record.to_hex()}, {"progress", progress}}, node_key);
  if (const auto found = reply.find("route_seed"); found != reply.end() && found->is_string()) return found->get<std::string>();
  return std::nullopt;
}

std::vector<nlohmann::json> HubClient::progress(std::size_t since) {
  const auto reply = call("GET", std::string(api::kProgress) + "?since=" + std::to_string(since), "", nullptr);
  std::vector<nlohmann::json> out;
  if (reply.contains("steps") && reply["steps"].is_array())
    for (const auto& item : reply["steps"]) out.push_back(item);
  return out;
}

NodeWork HubClient::work(const wallet::PublicKey& node) {
  const auto reply =
      call("GET", std::string(api::kWork) + "?node=" + wallet::to_hex(node), "", nullptr, kMaxWorkReplyBytes);
  try {
    if (!reply.is_object() || !reply.contains("epochs")) throw std::invalid_argument("work: no 'epochs'");
    if (reply.value("node", std::string()) != wallet::to_hex(node))
      throw std::invalid_argument("work: the reply is about another node");
    return node_work_from_json(reply.at("epochs"));
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error("the hub's " + std::string(api::kWork) + " reply is malformed: " + error.what());
  }
}

nlohmann::json HubClient::propose_shard(const wallet::KeyPair& node_key, const wallet::Delegation& delegation,
                                       const std::string& bytes) {
  Extra extra;
  extra.headers = {{protocol::kShardHashHeader, protocol::shard_hash(bytes)},
                   {protocol::kDelegationHeader, delegation.to_json().dump()}};
  extra.content_type = "application/octet-stream";
  return call("POST", api::kShards, bytes, &node_key, 64 * 1024, &extra);
}

namespace {

// "bytes FIRST-LAST/TOTAL" → (FIRST, TOTAL); nothing when it is not that.
std::optional<std::pair<std::uint64_t, std::uint64_t>> content_range(const std::string& text) {
  std::uint64_t first = 0, last = 0, total = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64 "%c", &first, &last, &total, &tail) != 3)
    return std::nullopt;
  if (last < first || last >= total) return std::nullopt;
  return std::pair{first, total};
}

}  // namespace

std::uint64_t HubClient::download_shard(const std::string& hash, std::uint64_t offset, const ShardReceiver& receive) {
  if (!protocol::valid_shard_hash(hash)) throw std::invalid_argument("a shard hash is 64 lowercase hex digits");
  const auto path = api::shard_path(hash);
  if (!endpoint_->trusted()) endpoint_->establish(timeout_, traffic_);
  const auto connection = endpoint_->open(timeout_, traffic_);
  httplib::Headers headers;
  if (offset > 0) headers.emplace("Range", "bytes=" + std::to_string(offset) + "-");
  int status = 0;
  std::uint64_t total = 0, received = 0;
  std::string refusal;  // an error answer's body, bounded
  std::string malformed;
  bool stopped = false;
  auto result = connection->http().Get(
      path, headers,
      [&](const httplib::Response& response) {
        status = response.status;
        if (status == 200 && offset == 0) {
          const auto length = response.get_header_value("Content-Length");
          const auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), total);
          if (length.empty() || error != std::errc() || end != length.data() + length.size())
            malformed = "no Content-Length";
        } else if (status == 206) {
          const auto range = content_range(response.get_header_value("Content-Range"));
          if (!range || range->first != offset) malformed = "a range other than the one asked for";
          else total = range->second;
        } else if (status == 200) {
          malformed = "the whole shard where a range was asked for";
        }
        return malformed.empty();
      },
      [&](const char* data, std::size_t size) {
        if (status != 200 && status != 206) {
          refusal.append(data, std::min(size, 64 * 1024 - std::min<std::size_t>(refusal.size(), 64 * 1024)));
          return true;
        }
        received += size;
        if (offset + received > total) {
          malformed = "more bytes than the shard has";
          return false;
        }
        if (!receive(data, size)) stopped = true;
        return !stopped;
      });
  if (stopped) return total;
  if (!malformed.empty()) throw std::runtime_error("hub " + url_ + " answered " + path + " with " + malformed);
  if (!result && !connection->refusal().empty()) throw HubUntrusted(connection->refusal());
  if (!result)
    throw HubUnreachable("hub " + url_ + " did not finish " + path + " (" + httplib::to_string(result.error()) + ")");
  if (status != 200 && status != 206) throw_refused(path, status, nlohmann::json::parse(refusal, nullptr, false));
  if (offset + received != total)
    throw HubUnreachable("hub " + url_ + " cut " + path + " short at byte " + std::to_string(offset + received) + " of " +
                         std::to_string(total));
  return total;
}

}  // namespace tessera::client
