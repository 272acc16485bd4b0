// The hub's HTTP API as both of its ends see it (DESIGN.md "The protocol"): every path as a named
// constant (the hub's controllers mount them, the node's client calls them, request signatures
// cover them), the bytes a node signs to answer a join challenge and to sign a request, and the
// shapes that cross: what a joining node reports, a peer list entry, the receipt tally. The hub
// (core/hub) and its clients (core/client) both include this file and nothing of each other.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/wallet/delegation.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {

namespace hub_api {

// The run: its publisher-signed manifest (GET).
inline constexpr char kManifest[] = "/api/manifest";
// Membership and the peer directory: a challenge (POST), answered by a join (POST); ready,
// heartbeat and leave are signed requests (POST); the peer list (GET).
inline constexpr char kChallenge[] = "/api/challenge";
inline constexpr char kJoin[] = "/api/join";
inline constexpr char kReady[] = "/api/ready";
inline constexpr char kHeartbeat[] = "/api/heartbeat";
inline constexpr char kLeave[] = "/api/leave";
inline constexpr char kPeers[] = "/api/peers";
// Receipts: a node's signed batch (POST, answered once durable) and the verified ones, paged by
// ?offset=&limit= (GET, at most 10,000); their tally (GET); the step driver's signed progress
// (POST) and the steps from ?since= (GET: at most 1,000 of the latest 10,000, with "first" and
// "total").
inline constexpr char kReceipts[] = "/api/receipts";
inline constexpr char kReceiptSummary[] = "/api/receipts/summary";
inline constexpr char kProgress[] = "/api/progress";
// Settlement: the open epoch and the published statements, with each owner's Merkle proof (GET).
inline constexpr char kEpoch[] = "/api/epoch";
inline constexpr char kLatestStatement[] = "/api/statements/latest";
std::string statement_path(std::uint64_t epoch);                         // /api/statements/<epoch>
std::string proof_path(std::uint64_t epoch, const std::string& owner);  // /api/statements/<epoch>/proof/<owner>
// The server's patterns for the two paths above: group 1 the epoch, group 2 a base58 owner address.
const std::string& statement_pattern();
const std::string& proof_pattern();
// The OpenAI-compatible inference gateway.
inline constexpr char kModels[] = "/v1/models";
inline constexpr char kCompletions[] = "/v1/completions";

}  // namespace hub_api

// --- Signatures ------------------------------------------------------------------------------

using Nonce = std::array<std::uint8_t, 32>;

// The bytes a node signs (domain tessera/challenge/v1) to answer a join challenge for a run.
std::vector<std::uint8_t> challenge_message(const std::string& run_id, const Nonce& nonce);

// The bytes of a signed hub request: "tessera-hub-request\n" + path + "\n" + the sorted-key JSON
// of `body` without its "signature".
std::vector<std::uint8_t> hub_request_message(const std::string& path, nlohmann::json body);

// The body a node sends for a signed hub request: `body` plus node_key and at_ms (Unix
// milliseconds), and a signature over hub_request_message.
nlohmann::json signed_request(const std::string& path, nlohmann::json body, const wallet::KeyPair& key);

// --- Shapes ----------------------------------------------------------------------------------

// What a joining node says about its device.
struct DeviceReport {
  std::string name;                  // "cpu" or the GPU's name
  std::uint64_t memory_bytes = 0;    // memory the node offers for its stage
  double tokens_per_s = 0.0;         // measured throughput
};

// {"name", "memory_bytes", "tokens_per_s"}
nlohmann::json to_json(const DeviceReport& device);

// What a node asks to join with (the challenge answer is added by the client).
struct JoinRequest {
  wallet::Delegation delegation;
  std::string endpoint;
  DeviceReport device;
};

// One entry of the peer list, oldest ready first, not-yet-ready ones last.
struct PeerInfo {
  wallet::PublicKey node_key{};
  std::string owner;
  std::string endpoint;
  int stage = 0;
  std::uint64_t ready_order = 0;  // 0: joined, not ready yet (still fetching its stage's state)
  std::string device;             // the device's name
  bool ready() const { return ready_order != 0; }
};

// {"node_key", "owner", "endpoint", "stage", "ready_order", "ready", "device"}
nlohmann::json to_json(const PeerInfo& peer);
// Nothing when the node key is not 64 hex digits; throws nlohmann::json::exception when a field
// is missing or has the wrong type.
std::optional<PeerInfo> peer_info_from_json(const nlohmann::json& item);

// Receipts a hub has seen: verified (credited once), rejected, and duplicates of verified ones.
struct ReceiptTally {
  std::uint64_t verified = 0;
  std::uint64_t rejected = 0;
  std::uint64_t duplicates = 0;
};

// {"verified", "rejected", "duplicates"}
nlohmann::json to_json(const ReceiptTally& tally);

}  // namespace tessera::protocol
