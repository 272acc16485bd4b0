// The run hub's HTTP+JSON service (DESIGN.md "The protocol"): serves the signed run manifest,
// admits nodes that prove their node key and their owner's delegation, assigns each the
// least-served stage that fits its memory, keeps the peer directory alive with signed heartbeats,
// and verifies the receipts nodes report (both signatures, neighbouring stages, no duplicates).
// HubClient is the node's side of the same API. cpp-httplib stays inside hub_service.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/challenges.h"
#include "core/hub/gateway.h"
#include "core/hub/settlement_book.h"
#include "core/hub/swarm_inference.h"
#include "core/hub/peer_directory.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/wallet/delegation.h"

namespace httplib {
class Server;
}

namespace tessera::hub {

struct HubOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: a free port
  std::chrono::milliseconds heartbeat_timeout{6000};  // a peer silent this long is dropped
  std::chrono::milliseconds request_skew{120000};     // accepted clock difference of signed requests
  // The run's hub key (the manifest's hub_key): with it the hub settles epochs, publishes signed
  // statements and serves the inference gateway. Must outlive the service.
  const wallet::KeyPair* hub_key = nullptr;
  std::chrono::milliseconds epoch_length{0};  // 0: the manifest's epoch_seconds
  std::filesystem::path state_dir;            // settlement state across restarts (empty: memory only)
  std::vector<std::string> api_keys;          // gateway client keys (empty: open, as in the demo)
};

struct ReceiptTally {
  std::uint64_t verified = 0;
  std::uint64_t rejected = 0;
  std::uint64_t duplicates = 0;
};

// What a stage needs in memory to be served: fp32 training with every micro-batch of a step in
// flight, as the swarm's pipeline schedule keeps them (and as a node's Stage budgets).
std::vector<std::uint64_t> stage_memory_requirements(const protocol::RunManifest& manifest);

class HubService {
 public:
  // `manifest` must be signed. Throws std::invalid_argument when it is not.
  HubService(protocol::RunManifest manifest, HubOptions options = {});
  ~HubService();  // stops
  HubService(const HubService&) = delete;
  HubService& operator=(const HubService&) = delete;

  // Binds and serves on a thread; throws std::runtime_error when it cannot bind.
  void start();
  void stop();
  int port() const { return port_; }
  std::string url() const;  // http://host:port

  const protocol::RunManifest& manifest() const { return manifest_; }
  PeerDirectory& directory() { return directory_; }
  ReceiptTally tally() const;
  std::vector<protocol::SignedReceipt> verified_receipts() const;
  // Joined peers; ready ones carry their ready order (the oldest ready stage-0 replica drives).
  nlohmann::json peers_json();
  // Steps the driver reported ({"step", "loss", "tokens", "seconds", "bytes_per_token", …}).
  std::vector<nlohmann::json> progress() const;

  // Settlement and inference (only with HubOptions::hub_key; null otherwise).
  SettlementBook* settlement() { return book_.get(); }
  // Settles the open epoch now (the epoch timer does this every epoch length); returns its number.
  std::uint64_t close_epoch();
  std::string gateway_url() const { return url() + "/v1"; }

 private:
  void epoch_loop();
  void expire_loop();
  nlohmann::json handle_join(const nlohmann::json& body);
  nlohmann::json handle_receipts(const nlohmann::json& body);
  // Checks a signed request body (node_key, at_ms, signature over the body without it).
  wallet::PublicKey verify_signed(const std::string& path, const nlohmann::json& body) const;

  protocol::RunManifest manifest_;
  HubOptions options_;
  PeerDirectory directory_;
  ChallengeBook challenges_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::thread expiry_;
  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  int port_ = 0;

  mutable std::mutex mutex_;
  std::map<wallet::PublicKey, std::uint64_t> ready_;  // node key → ready order
  std::uint64_t next_ready_ = 1;
  std::map<wallet::PublicKey, int> members_;          // every node admitted in the run → stage
  std::set<std::string> receipt_ids_;
  std::vector<nlohmann::json> progress_;  // one entry per committed step, from the step driver
  std::vector<protocol::SignedReceipt> receipts_;
  ReceiptTally tally_;
  std::map<wallet::PublicKey, std::string> owners_;  // node key → owner address (its delegation)

  std::unique_ptr<SettlementBook> book_;
  std::unique_ptr<SwarmInference> inference_;
  std::unique_ptr<Gateway> gateway_;
  std::thread epochs_;
};

// The body a node signs for a hub request: `body` plus node_key and at_ms, signed over
// "tessera-hub-request\n" + path + "\n" + the sorted-key JSON without the signature.
nlohmann::json signed_request(const std::string& path, nlohmann::json body, const wallet::KeyPair& key);

struct PeerInfo {
  wallet::PublicKey node_key{};
  std::string owner;
  std::string endpoint;
  int stage = 0;
  std::uint64_t ready_order = 0;  // 0: joined, not ready yet (still fetching its stage's state)
  bool ready() const { return ready_order != 0; }
};

struct JoinRequest {
  wallet::Delegation delegation;
  std::string endpoint;
  DeviceReport device;
};

// A hub that did not answer at all (as opposed to one that answered with an error).
struct HubUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The node's side of the hub API. Every call has a timeout and throws std::runtime_error with a
// message that says what failed ("hub http://… did not answer: …", "join refused: …"); a hub that
// did not answer throws HubUnreachable.
class HubClient {
 public:
  explicit HubClient(std::string url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  protocol::RunManifest manifest();
  // Proves the node key (challenge) and the delegation; returns the assigned stage.
  int join(const wallet::KeyPair& node_key, const JoinRequest& request);
  void ready(const wallet::KeyPair& node_key);
  // False when the hub no longer knows the node (it must join again).
  bool heartbeat(const wallet::KeyPair& node_key);
  void leave(const wallet::KeyPair& node_key);
  std::vector<PeerInfo> peers();
  // Returns how many the hub accepted as new (duplicates are not an error).
  nlohmann::json report_receipts(const wallet::KeyPair& node_key, const std::vector<protocol::SignedReceipt>& receipts);
  nlohmann::json receipt_summary();
  // The step driver reports each committed step (shown by demo and monitors).
  void report_progress(const wallet::KeyPair& node_key, const nlohmann::json& step);
  std::vector<nlohmann::json> progress(std::size_t since = 0);
  const std::string& url() const { return url_; }

 private:
  nlohmann::json call(const std::string& method, const std::string& path, const nlohmann::json* body);

  std::string url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace tessera::hub
