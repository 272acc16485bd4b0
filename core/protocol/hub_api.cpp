// Hub API paths, body limits, signed requests and shapes, shared by the hub and its clients.
#include "core/protocol/hub_api.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "core/protocol/little_endian.h"
#include "core/protocol/node_address.h"
#include "core/sys/json_number.h"
#include "core/wallet/encoding.h"

namespace tessera::protocol {

namespace hub_api {
namespace {
constexpr char kStatements[] = "/api/statements/";

struct RouteLimit {
  std::string_view path;
  std::size_t bytes;
};
// Every POST route with a body bigger than kSmallBodyLimit; any other path gets the small limit.
constexpr RouteLimit kBodyLimits[] = {
    {kJoin, kJoinBodyLimit},
    {kHeartbeat, kHeartbeatBodyLimit},
    {kProgress, kProgressBodyLimit},
    {kReceipts, kReceiptsBodyLimit},
    {kSteps, kStepsBodyLimit},
    {kWeights, kWeightsBodyLimit},
    {kShards, kShardBodyLimit},
};
}  // namespace

std::string statement_path(std::uint64_t epoch) { return kStatements + std::to_string(epoch); }

std::string proof_path(std::uint64_t epoch, const std::string& owner) {
  return statement_path(epoch) + "/proof/" + owner;
}

const std::string& statement_pattern() {
  static const std::string pattern = std::string(kStatements) + R"((\d+))";
  return pattern;
}

const std::string& proof_pattern() {
  static const std::string pattern = statement_pattern() + R"(/proof/([1-9A-HJ-NP-Za-km-z]{32,44}))";
  return pattern;
}

std::string shard_path(const std::string& hash) { return std::string(kShards) + "/" + hash; }

const std::string& shard_pattern() {
  static const std::string pattern = std::string(kShards) + "/([0-9a-f]{64})";
  return pattern;
}

std::size_t body_limit(std::string_view path) {
  for (const auto& route : kBodyLimits)
    if (route.path == path) return route.bytes;
  return kSmallBodyLimit;
}

std::size_t largest_body_limit() {
  std::size_t largest = kSmallBodyLimit;
  for (const auto& route : kBodyLimits) largest = std::max(largest, route.bytes);
  return largest;
}

}  // namespace hub_api

namespace {

void append_field(std::vector<std::uint8_t>& out, std::string_view text) {
  std::uint8_t length[4];
  put_le<std::uint32_t>(length, static_cast<std::uint32_t>(text.size()));
  out.insert(out.end(), length, length + 4);
  out.insert(out.end(), text.begin(), text.end());
}

}  // namespace

std::vector<std::uint8_t> hub_request_message(std::string_view run_id, std::string_view method, std::string_view path,
                                              std::int64_t time_ms, std::string_view body) {
  std::vector<std::uint8_t> message;
  message.reserve(12 + run_id.size() + method.size() + path.size() + 8 + body.size());
  append_field(message, run_id);
  append_field(message, method);
  append_field(message, path);
  std::uint8_t time[8];
  put_le<std::uint64_t>(time, static_cast<std::uint64_t>(time_ms));
  message.insert(message.end(), time, time + 8);
  message.insert(message.end(), body.begin(), body.end());
  return message;
}

RequestSignature sign_hub_request(std::string_view run_id, std::string_view method, std::string_view path,
                                  std::string_view body, std::int64_t time_ms, const wallet::KeyPair& key) {
  return {key.public_key(), time_ms,
          key.sign(wallet::SignatureDomain::HubRequest, hub_request_message(run_id, method, path, time_ms, body))};
}

bool verify_hub_request(const RequestSignature& signed_by, std::string_view run_id, std::string_view method,
                        std::string_view path, std::string_view body) {
  return wallet::verify(wallet::SignatureDomain::HubRequest,
                        hub_request_message(run_id, method, path, signed_by.time_ms, body), signed_by.signature,
                        signed_by.node_key);
}

SignatureHeaders to_headers(const RequestSignature& signature) {
  return {wallet::to_hex(signature.node_key), std::to_string(signature.time_ms), wallet::to_hex(signature.signature)};
}

RequestSignature parse_signature_headers(const SignatureHeaders& headers) {
  const auto missing = [](const char* name) {
    return std::invalid_argument(std::string("the request is not signed: header ") + name + " is missing");
  };
  if (headers.node_key.empty()) throw missing(kNodeKeyHeader);
  if (headers.time_ms.empty()) throw missing(kTimeHeader);
  if (headers.signature.empty()) throw missing(kSignatureHeader);
  RequestSignature out;
  const auto key = wallet::fixed_from_hex<32>(headers.node_key);
  if (!key) throw std::invalid_argument(std::string("header ") + kNodeKeyHeader + " is not 64 hex digits");
  out.node_key = *key;
  const auto& time = headers.time_ms;
  const auto [end, error] = std::from_chars(time.data(), time.data() + time.size(), out.time_ms);
  if (error != std::errc() || end != time.data() + time.size() || time.size() > 16 || out.time_ms < 0)
    throw std::invalid_argument(std::string("header ") + kTimeHeader + " is not Unix milliseconds");
  const auto signature = wallet::fixed_from_hex<64>(headers.signature);
  if (!signature) throw std::invalid_argument(std::string("header ") + kSignatureHeader + " is not 128 hex digits");
  out.signature = *signature;
  return out;
}

nlohmann::json to_json(const DeviceReport& device) {
  return {{"name", device.name}, {"memory_bytes", device.memory_bytes}, {"tokens_per_s", device.tokens_per_s}};
}

namespace {

const nlohmann::json& field(const nlohmann::json& body, const char* name) {
  if (!body.is_object()) throw std::invalid_argument("the body must be a JSON object");
  const auto found = body.find(name);
  if (found == body.end()) throw std::invalid_argument(std::string("missing field '") + name + "'");
  return *found;
}

std::string text_field(const nlohmann::json& body, const char* name, std::size_t max_bytes) {
  const auto& value = field(body, name);
  if (!value.is_string()) throw std::invalid_argument(std::string("field '") + name + "' must be a string");
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > max_bytes)
    throw std::invalid_argument(std::string("field '") + name + "' is longer than " + std::to_string(max_bytes) +
                                " bytes");
  return text;
}

}  // namespace

nlohmann::json to_json(const JoinBody& join) {
  nlohmann::json out{{"nonce", wallet::to_hex(join.nonce)},
                     {"delegation", join.request.delegation.to_json()},
                     {"endpoint", join.request.endpoint},
                     {"device", to_json(join.request.device)}};
  if (!join.request.relay.empty()) out["relay"] = join.request.relay;
  if (join.request.relayed_by) out["relayed_by"] = wallet::to_hex(*join.request.relayed_by);
  return out;
}

JoinBody join_body_from_json(const nlohmann::json& body) {
  JoinBody out;
  const auto nonce = wallet::fixed_from_hex<32>(text_field(body, "nonce", 64));
  if (!nonce) throw std::invalid_argument("field 'nonce' is not 64 hex digits");
  out.nonce = *nonce;
  out.request.delegation = wallet::Delegation::from_json(field(body, "delegation"));
  out.request.endpoint = text_field(body, "endpoint", kMaxEndpointBytes);
  if (!parse_tcp_endpoint(out.request.endpoint)) throw std::invalid_argument("field 'endpoint' must be tcp://host:port");
  if (body.contains("relay")) {
    out.request.relay = text_field(body, "relay", kMaxEndpointBytes);
    if (!parse_tcp_endpoint(out.request.relay)) throw std::invalid_argument("field 'relay' must be tcp://host:port");
  }
  if (const auto via = body.find("relayed_by"); via != body.end() && !via->is_null()) {
    const auto key = via->is_string() ? wallet::fixed_from_hex<32>(via->get_ref<const std::string&>()) : std::nullopt;
    if (!key) throw std::invalid_argument("field 'relayed_by' is not 64 hex digits");
    out.request.relayed_by = *key;
  }
  const auto& device = field(body, "device");
  out.request.device.name = text_field(device, "name", kMaxDeviceNameBytes);
  const auto& memory = field(device, "memory_bytes");
  if (!memory.is_number_unsigned()) throw std::invalid_argument("field 'memory_bytes' must be a whole number of bytes");
  out.request.device.memory_bytes = memory.get<std::uint64_t>();
  if (const auto speed = device.find("tokens_per_s"); speed != device.end() && speed->is_number())
    out.request.device.tokens_per_s = speed->get<double>();
  return out;
}

const nlohmann::json& receipt_batch_items(const nlohmann::json& body) {
  const auto& items = field(body, "receipts");
  if (!items.is_array() || items.size() > hub_api::kMaxReceiptsPerBatch)
    throw std::invalid_argument("'receipts' must be an array of at most " +
                                std::to_string(hub_api::kMaxReceiptsPerBatch) + " receipts");
  return items;
}

const nlohmann::json& progress_step(const nlohmann::json& body) {
  const auto& step = field(body, "step");
  if (!step.is_object() || step.size() > 32) throw std::invalid_argument("'step' must be an object of at most 32 fields");
  for (const auto& [name, value] : step.items())
    if (value.is_structured() || name.size() > 64 || (value.is_string() && value.get_ref<const std::string&>().size() > 256))
      throw std::invalid_argument("'step' holds only short names with numbers, short strings or booleans");
  return step;
}

nlohmann::json to_json(const PeerInfo& peer) {
  return {{"node_key", wallet::to_hex(peer.node_key)}, {"endpoint", peer.endpoint},
          {"stage", peer.stage},                       {"ready_order", peer.ready_order},
          {"ready", peer.ready()},                     {"device", peer.device},
          {"tokens_per_s", peer.tokens_per_s}};
}

std::optional<PeerInfo> peer_info_from_json(const nlohmann::json& item) {
  const auto key = wallet::fixed_from_hex<32>(item.at("node_key").get<std::string>());
  if (!key) return std::nullopt;
  PeerInfo peer;
  peer.node_key = *key;
  peer.endpoint = item.at("endpoint").get<std::string>();
  peer.stage = sys::json_integer<int>(item.at("stage"), "peer list: stage");
  peer.ready_order = sys::json_integer<std::uint64_t>(item.at("ready_order"), "peer list: ready_order");
  if (const auto device = item.find("device"); device != item.end() && device->is_string())
    peer.device = device->get<std::string>();
  // A weight only: anything but a finite positive number counts as none (order_replicas gives it 1).
  if (const auto speed = item.find("tokens_per_s"); speed != item.end() && speed->is_number())
    if (const double value = speed->get<double>(); std::isfinite(value) && value > 0) peer.tokens_per_s = value;
  return peer;
}

nlohmann::json to_json(const PeerList& list) {
  auto peers = nlohmann::json::array();
  for (const auto& peer : list.peers) peers.push_back(to_json(peer));
  nlohmann::json out{{"run", list.run},
                     {"stages", list.stages},
                     {"driver", list.driver ? nlohmann::json(wallet::to_hex(*list.driver)) : nlohmann::json(nullptr)},
                     {"peers", std::move(peers)}};
  if (!list.route_seed.empty()) out["route_seed"] = list.route_seed;
  return out;
}

PeerList peer_list_from_json(const nlohmann::json& reply) {
  try {
    PeerList list;
    list.run = reply.at("run").get<std::string>();
    list.stages = sys::json_integer<int>(reply.at("stages"), "peer list: stages");
    if (const auto& driver = reply.at("driver"); !driver.is_null()) {
      list.driver = wallet::fixed_from_hex<32>(driver.get<std::string>());
      if (!list.driver) throw std::invalid_argument("'driver' is not 64 hex digits");
    }
    for (const auto& item : reply.at("peers"))
      if (auto peer = peer_info_from_json(item)) list.peers.push_back(std::move(*peer));
    if (const auto seed = reply.find("route_seed"); seed != reply.end() && seed->is_string())
      list.route_seed = seed->get<std::string>();
    return list;
  } catch (const nlohmann::json::exception& error) {
    throw std::invalid_argument(std::string("the peer list is malformed: ") + error.what());
  }
}

nlohmann::json to_json(const ReceiptTally& tally) {
  return {{"verified", tally.verified}, {"rejected", tally.rejected}, {"duplicates", tally.duplicates}};
}

}  // namespace tessera::protocol
