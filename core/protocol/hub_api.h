// The hub's HTTP API as both of its ends see it (DESIGN.md "The protocol"): every path as a named
// constant (the hub's controllers mount them, the node's client calls them, request signatures
// cover them), how many bytes the hub reads of each route's body, the signed-request headers and
// the bytes they sign, and the shapes that cross: a join, a peer list, the receipt tally. The hub
// (core/hub) and its clients (core/client) both include this file and nothing of each other.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/wallet/delegation.h"
#include "core/wallet/signing.h"

namespace tessera::protocol {

namespace hub_api {

// The run: its publisher-signed manifest (GET).
inline constexpr char kManifest[] = "/api/manifest";
// Membership and the peer directory: a challenge (POST), answered by a signed join (POST); ready,
// heartbeat and leave are signed requests (POST); the peer list, a signed GET served to members.
inline constexpr char kChallenge[] = "/api/challenge";
inline constexpr char kJoin[] = "/api/join";
inline constexpr char kReady[] = "/api/ready";
inline constexpr char kHeartbeat[] = "/api/heartbeat";
inline constexpr char kLeave[] = "/api/leave";
inline constexpr char kPeers[] = "/api/peers";
// Reachability (node_address.h): a member's new endpoint (signed POST, checked like a join's) and
// the members that offer to relay (GET, public).
inline constexpr char kEndpoint[] = "/api/endpoint";
inline constexpr char kRelays[] = "/api/relays";
// Receipts: a node's signed batch (POST, answered once durable) and the verified ones, paged by
// ?offset=&limit= (GET, at most 10,000); their tally (GET); the step driver's signed progress
// (POST) and the steps from ?since= (GET: at most 1,000 of the latest 10,000, with "first" and
// "total").
inline constexpr char kReceipts[] = "/api/receipts";
inline constexpr char kReceiptSummary[] = "/api/receipts/summary";
inline constexpr char kProgress[] = "/api/progress";
// Verified work. The driver's signed step record when a step commits (POST, body {"record": hex,
// "progress": {...}}; answered with the next step's route seed {"route_seed": hex}); weights
// digests a node reports after every step it installs (POST {"step", "stage", "weights": hex});
// a checker's report (POST, protocol::CheckReport); a node's tallies per epoch (GET ?node=<hex>).
inline constexpr char kSteps[] = "/api/steps";
inline constexpr char kWeights[] = "/api/weights";
inline constexpr char kChecks[] = "/api/checks";
inline constexpr char kCheckSummary[] = "/api/checks/summary";  // GET, public: spot-check counts and rate
inline constexpr char kWork[] = "/api/work";
// The hub's TLS certificate bound to the run (GET, public: protocol/tls_binding.h); 404 on a hub
// without a hub key or without TLS. With the manifest, the only path a node fetches before it has
// pinned the hub's certificate.
inline constexpr char kTls[] = "/api/tls";
// The hub's health and its refusal counters (GET, public: counts only).
inline constexpr char kHealth[] = "/api/health";
// What each member's connections carried, by kind, as its heartbeats report it (GET, public:
// hub/traffic_reports.h). The heartbeat body carries {"traffic": {...}, "tokens": n}.
inline constexpr char kTraffic[] = "/api/traffic";
// Settlement: the open epoch and the published statements, with each owner's Merkle proof (GET).
inline constexpr char kEpoch[] = "/api/epoch";
inline constexpr char kLatestStatement[] = "/api/statements/latest";
std::string statement_path(std::uint64_t epoch);                         // /api/statements/<epoch>
std::string proof_path(std::uint64_t epoch, const std::string& owner);  // /api/statements/<epoch>/proof/<owner>
// The server's patterns for the two paths above: group 1 the epoch, group 2 a base58 owner address.
const std::string& statement_pattern();
const std::string& proof_pattern();
// Data shards (data_shard.h, docs/data.md): an accepted shard's bytes (GET /api/shards/<hash>,
// public, with HTTP Range), and a proposal (signed POST /api/shards: the raw bytes as the body, the
// claimed hash and the owner's delegation in headers; answered with the pending proposal).
inline constexpr char kShards[] = "/api/shards";
std::string shard_path(const std::string& hash);  // /api/shards/<hash>
const std::string& shard_pattern();                // the server's pattern: group 1 the hash
// The OpenAI-compatible inference gateway (served on its own port: HubService::gateway_url).
inline constexpr char kModels[] = "/v1/models";
inline constexpr char kCompletions[] = "/v1/completions";
inline constexpr char kChatCompletions[] = "/v1/chat/completions";

// The most bytes of a POST body the hub reads, by route, checked against Content-Length before any
// of the body is read (413 beyond). Sized for what an honest node sends, with room to spare.
inline constexpr std::size_t kSmallBodyLimit = 4 * 1024;           // challenge, ready, heartbeat, leave, unknown paths
inline constexpr std::size_t kJoinBodyLimit = 16 * 1024;           // a delegation, an endpoint, a device
inline constexpr std::size_t kHeartbeatBodyLimit = 16 * 1024;      // traffic by kind, a relay's byte counts
inline constexpr std::size_t kProgressBodyLimit = 8 * 1024;        // one step's figures
inline constexpr std::size_t kReceiptsBodyLimit = 2 * 1024 * 1024;  // a batch: about 3,700 receipts of ~560 bytes
inline constexpr std::size_t kStepsBodyLimit = 512 * 1024;        // a step record: 4,096 micro-batches at most
inline constexpr std::size_t kWeightsBodyLimit = 16 * 1024;       // 64 weights digests of one node
inline constexpr std::size_t kShardBodyLimit = 64 * 1024 * 1024;  // a shard (manifest.h's largest)
inline constexpr std::size_t kMaxReceiptsPerBatch = 2000;          // nodes send 500 (core/node/swarm/hub_link.cpp)
std::size_t body_limit(std::string_view path);
std::size_t largest_body_limit();

}  // namespace hub_api

// --- Signed requests ---------------------------------------------------------------------------
// A node signs each request to its hub (the join, ready, heartbeat, leave, the peer list, receipts,
// progress) with three headers over the raw body bytes it sends, so the hub checks who sent it
// before it parses a byte of the body.

inline constexpr char kNodeKeyHeader[] = "Tessera-Node-Key";     // 64 hex digits
inline constexpr char kTimeHeader[] = "Tessera-Time-Ms";         // Unix milliseconds, decimal
inline constexpr char kSignatureHeader[] = "Tessera-Signature";  // 128 hex digits

struct RequestSignature {
  wallet::PublicKey node_key{};
  std::int64_t time_ms = 0;
  wallet::Signature signature{};
};

// The header values as they travel.
struct SignatureHeaders {
  std::string node_key;
  std::string time_ms;
  std::string signature;
};

// The bytes signed (domain tessera/hub-request/v1): the run id, the method and the path, each as a
// little-endian u32 length and its bytes, the time as a little-endian i64, then the body as sent.
// Binding the run keeps a request to one hub from being replayed to another.
std::vector<std::uint8_t> hub_request_message(std::string_view run_id, std::string_view method, std::string_view path,
                                              std::int64_t time_ms, std::string_view body);

RequestSignature sign_hub_request(std::string_view run_id, std::string_view method, std::string_view path,
                                  std::string_view body, std::int64_t time_ms, const wallet::KeyPair& key);
bool verify_hub_request(const RequestSignature& signed_by, std::string_view run_id, std::string_view method,
                        std::string_view path, std::string_view body);

SignatureHeaders to_headers(const RequestSignature& signature);
// Throws std::invalid_argument naming the header that is missing or malformed.
RequestSignature parse_signature_headers(const SignatureHeaders& headers);

// --- Shapes ----------------------------------------------------------------------------------

using Nonce = std::array<std::uint8_t, 32>;

// What a joining node says about its device.
struct DeviceReport {
  std::string name;                  // "cpu" or the GPU's name
  std::uint64_t memory_bytes = 0;    // memory the node offers for its stage
  double tokens_per_s = 0.0;         // measured throughput
};

// {"name", "memory_bytes", "tokens_per_s"}
nlohmann::json to_json(const DeviceReport& device);

// What a node asks to join with.
struct JoinRequest {
  wallet::Delegation delegation;
  std::string endpoint;  // node_address.h: an unspecified host is the address the hub sees
  DeviceReport device;
  std::string relay{};   // the relay this node offers (--relay): its control port, tcp://host:port; empty: none
  std::optional<wallet::PublicKey> relayed_by{};  // the relay whose public port `endpoint` is
};

// The body of a signed POST /api/join: a challenge nonce (POST /api/challenge; single use) and the
// request. The request's signature covers both, so the nonce proves it is fresh.
struct JoinBody {
  Nonce nonce{};
  JoinRequest request;
};

inline constexpr std::size_t kMaxEndpointBytes = 200;
inline constexpr std::size_t kMaxDeviceNameBytes = 200;

// {"nonce", "delegation", "endpoint", "device"[, "relay"][, "relayed_by"]}
nlohmann::json to_json(const JoinBody& join);
// Throws std::invalid_argument naming the field that is missing, mistyped or too long, or an
// endpoint that is not tcp://.
JoinBody join_body_from_json(const nlohmann::json& body);

// The receipts of a signed POST /api/receipts body ({"receipts": [...]}), each still as sent: the
// hub decodes them one by one so that one bad receipt is rejected alone. Throws
// std::invalid_argument when "receipts" is not an array of at most kMaxReceiptsPerBatch.
const nlohmann::json& receipt_batch_items(const nlohmann::json& body);

// The step of a signed POST /api/progress body ({"step": {...}}): a small flat report. Throws
// std::invalid_argument when it is missing, not an object, or holds anything but numbers, strings
// and booleans.
const nlohmann::json& progress_step(const nlohmann::json& body);

// One entry of the peer list: what a neighbour needs to reach a peer (no owner: the list would
// otherwise map wallets to home addresses).
struct PeerInfo {
  wallet::PublicKey node_key{};
  std::string endpoint;
  int stage = 0;
  std::uint64_t ready_order = 0;  // 0: joined, not ready yet (still fetching its stage's state)
  std::string device;             // the device's name
  double tokens_per_s = 0.0;      // its measured throughput as it joined (route weights, route_seed.h)
  bool ready() const { return ready_order != 0; }
};

// {"node_key", "endpoint", "stage", "ready_order", "ready", "device", "tokens_per_s"}
nlohmann::json to_json(const PeerInfo& peer);
// Nothing when the node key is not 64 hex digits; throws nlohmann::json::exception when a field
// is missing or has the wrong type.
std::optional<PeerInfo> peer_info_from_json(const nlohmann::json& item);

// GET /api/peers: the run's live peers, ready ones first in their ready order, and the step driver
// the hub names (the oldest ready stage-0 replica), if any.
struct PeerList {
  std::string run;
  int stages = 0;
  std::optional<wallet::PublicKey> driver;
  std::vector<PeerInfo> peers;
  // Hex of the hub's signed route seed (route_seed.h) for the step after the last committed one;
  // empty when the hub has none (no hub key, or no step committed yet).
  std::string route_seed;
};

// {"run", "stages", "driver": hex or null, "peers": [...], "route_seed": hex (when there is one)}
nlohmann::json to_json(const PeerList& list);
// Throws std::invalid_argument when the reply is malformed.
PeerList peer_list_from_json(const nlohmann::json& reply);

// Receipts a hub has seen: verified (credited once), rejected, and duplicates of verified ones.
struct ReceiptTally {
  std::uint64_t verified = 0;
  std::uint64_t rejected = 0;
  std::uint64_t duplicates = 0;
};

// {"verified", "rejected", "duplicates"}
nlohmann::json to_json(const ReceiptTally& tally);

}  // namespace tessera::protocol
