// The run hub's HTTP+JSON service (DESIGN.md "The protocol"): assembles the run's state (peer
// directory, roster of admitted nodes, settlement book), the controllers that serve each API
// area (run, membership, receipts and progress, statements, the inference gateway; paths in
// core/protocol/hub_api.h) and the loops that expire silent peers and settle epochs. Its clients
// live in core/client. cpp-httplib stays inside the .cpp files.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/peer_directory.h"
#include "core/hub/request_verifier.h"
#include "core/hub/run_roster.h"
#include "core/hub/settlement_book.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/receipt.h"
#include "core/wallet/signing.h"

namespace httplib {
class Server;
}

namespace tessera::hub {

class AssignmentIssuer;
class Gateway;
class GatewayController;
class MembershipController;
class ReceiptsController;
class RunController;
class StatementsController;
class SwarmInference;

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
  protocol::ReceiptTally tally() const;
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

  protocol::RunManifest manifest_;
  HubOptions options_;
  PeerDirectory directory_;
  RunRoster roster_;
  RequestVerifier verifier_;
  std::unique_ptr<AssignmentIssuer> assignments_;  // signs only with a hub key
  std::unique_ptr<SettlementBook> book_;
  std::unique_ptr<SwarmInference> inference_;
  std::unique_ptr<Gateway> gateway_;

  std::unique_ptr<RunController> run_api_;
  std::unique_ptr<MembershipController> membership_api_;
  std::unique_ptr<ReceiptsController> receipts_api_;
  std::unique_ptr<StatementsController> statements_api_;  // with a hub key
  std::unique_ptr<GatewayController> gateway_api_;        // with a hub key

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::thread expiry_;
  std::thread epochs_;
  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;
  bool stopping_ = false;
  int port_ = 0;
};

}  // namespace tessera::hub
