// Hub API paths, signed messages and shapes, shared by the hub and its clients.
#include "core/protocol/hub_api.h"

#include <chrono>

#include "core/wallet/encoding.h"

namespace tessera::protocol {

namespace hub_api {
namespace {
constexpr char kStatements[] = "/api/statements/";
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

}  // namespace hub_api

std::vector<std::uint8_t> challenge_message(const std::string& run_id, const Nonce& nonce) {
  std::vector<std::uint8_t> message(run_id.begin(), run_id.end());
  message.push_back(0);
  message.insert(message.end(), nonce.begin(), nonce.end());
  return message;
}

std::vector<std::uint8_t> hub_request_message(const std::string& path, nlohmann::json body) {
  body.erase("signature");
  const std::string text = "tessera-hub-request\n" + path + "\n" + body.dump();
  return {text.begin(), text.end()};
}

nlohmann::json signed_request(const std::string& path, nlohmann::json body, const wallet::KeyPair& key) {
  body["node_key"] = wallet::to_hex(key.public_key());
  body["at_ms"] =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto signature = key.sign(wallet::SignatureDomain::Challenge, hub_request_message(path, body));
  body["signature"] = wallet::to_hex(signature);
  return body;
}

nlohmann::json to_json(const DeviceReport& device) {
  return {{"name", device.name}, {"memory_bytes", device.memory_bytes}, {"tokens_per_s", device.tokens_per_s}};
}

nlohmann::json to_json(const PeerInfo& peer) {
  return {{"node_key", wallet::to_hex(peer.node_key)}, {"owner", peer.owner},
          {"endpoint", peer.endpoint},                 {"stage", peer.stage},
          {"ready_order", peer.ready_order},           {"ready", peer.ready()},
          {"device", peer.device}};
}

std::optional<PeerInfo> peer_info_from_json(const nlohmann::json& item) {
  const auto key = wallet::fixed_from_hex<32>(item.at("node_key").get<std::string>());
  if (!key) return std::nullopt;
  PeerInfo peer;
  peer.node_key = *key;
  peer.owner = item.at("owner").get<std::string>();
  peer.endpoint = item.at("endpoint").get<std::string>();
  peer.stage = item.at("stage").get<int>();
  peer.ready_order = item.at("ready_order").get<std::uint64_t>();
  if (const auto device = item.find("device"); device != item.end() && device->is_string())
    peer.device = device->get<std::string>();
  return peer;
}

nlohmann::json to_json(const ReceiptTally& tally) {
  return {{"verified", tally.verified}, {"rejected", tally.rejected}, {"duplicates", tally.duplicates}};
}

}  // namespace tessera::protocol
