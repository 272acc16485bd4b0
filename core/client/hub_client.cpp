// HubClient over cpp-httplib: one call() with timeouts, the hub's error messages passed on.
#include "core/client/hub_client.h"

#include <httplib.h>

#include "core/wallet/encoding.h"

namespace tessera::client {

namespace api = protocol::hub_api;

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
  auto manifest = protocol::manifest_from_json(call("GET", api::kManifest, nullptr));
  if (!protocol::verify_manifest(manifest, manifest.publisher_key))
    throw std::runtime_error("the hub's run manifest is not signed by its publisher");
  return manifest;
}

int HubClient::join(const wallet::KeyPair& node_key, const protocol::JoinRequest& request) {
  const auto challenge = call("POST", api::kChallenge, nullptr);
  const auto nonce = wallet::fixed_from_hex<32>(challenge.value("nonce", ""));
  if (!nonce) throw std::runtime_error("the hub's challenge is malformed");
  const auto run = challenge.value("run", "");
  const auto signature = node_key.sign(wallet::SignatureDomain::Challenge, protocol::challenge_message(run, *nonce));
  nlohmann::json body{{"node_key", wallet::to_hex(node_key.public_key())},
                      {"nonce", wallet::to_hex(*nonce)},
                      {"signature", wallet::to_hex(signature)},
                      {"delegation", request.delegation.to_json()},
                      {"endpoint", request.endpoint},
                      {"device", protocol::to_json(request.device)}};
  const auto reply = call("POST", api::kJoin, &body);
  remember(reply);
  return reply.at("stage").get<int>();
}

void HubClient::ready(const wallet::KeyPair& node_key) {
  const auto body = protocol::signed_request(api::kReady, nlohmann::json::object(), node_key);
  call("POST", api::kReady, &body);
}

bool HubClient::heartbeat(const wallet::KeyPair& node_key) {
  const auto body = protocol::signed_request(api::kHeartbeat, nlohmann::json::object(), node_key);
  try {
    remember(call("POST", api::kHeartbeat, &body));
  } catch (const std::runtime_error& error) {
    if (std::string(error.what()).find("unknown peer") != std::string::npos) return false;
    throw;
  }
  return true;
}

void HubClient::leave(const wallet::KeyPair& node_key) {
  const auto body = protocol::signed_request(api::kLeave, nlohmann::json::object(), node_key);
  call("POST", api::kLeave, &body);
}

std::vector<protocol::PeerInfo> HubClient::peers() {
  const auto reply = call("GET", api::kPeers, nullptr);
  remember(reply);
  std::vector<protocol::PeerInfo> out;
  try {
    for (const auto& item : reply.at("peers"))
      if (auto peer = protocol::peer_info_from_json(item)) out.push_back(std::move(*peer));
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error(std::string("the hub's peer list is malformed: ") + error.what());
  }
  return out;
}

void HubClient::remember(const nlohmann::json& reply) {
  std::lock_guard lock(named_mutex_);
  if (const auto found = reply.find("assignment"); found != reply.end() && found->is_string())
    named_.assignment = found->get<std::string>();
  if (const auto found = reply.find("driver"); found != reply.end()) {
    named_.names_driver = true;
    named_.driver = found->is_string() ? wallet::fixed_from_hex<32>(found->get<std::string>()) : std::nullopt;
  }
}

HubNamed HubClient::named() const {
  std::lock_guard lock(named_mutex_);
  return named_;
}

nlohmann::json HubClient::report_receipts(const wallet::KeyPair& node_key,
                                          const std::vector<protocol::SignedReceipt>& receipts) {
  auto list = nlohmann::json::array();
  for (const auto& receipt : receipts) list.push_back(protocol::to_json(receipt));
  const auto body = protocol::signed_request(api::kReceipts, {{"receipts", list}}, node_key);
  return call("POST", api::kReceipts, &body);
}

nlohmann::json HubClient::receipt_summary() { return call("GET", api::kReceiptSummary, nullptr); }

void HubClient::report_progress(const wallet::KeyPair& node_key, const nlohmann::json& step) {
  const auto body = protocol::signed_request(api::kProgress, {{"step", step}}, node_key);
  call("POST", api::kProgress, &body);
}

std::vector<nlohmann::json> HubClient::progress(std::size_t since) {
  const auto reply = call("GET", std::string(api::kProgress) + "?since=" + std::to_string(since), nullptr);
  std::vector<nlohmann::json> out;
  if (reply.contains("steps") && reply["steps"].is_array())
    for (const auto& item : reply["steps"]) out.push_back(item);
  return out;
}

}  // namespace tessera::client
