// The local network of `tessera-node demo` and `run --local` (DESIGN.md "Processes"): an embedded
// hub on a thread and local peers as separate `tessera-node run` processes on loopback, each with
// its own data folder, node key and owner delegation. The peers are this same program started again
// (/proc/self/exe), so only tessera-node hosts a local network. Children die with this process
// (PR_SET_PDEATHSIG) and are stopped with SIGTERM, then SIGKILL after a grace period.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/model/model_config.h"
#include "core/model/power_sgd.h"
#include "core/hub/hub_service.h"
#include "core/wallet/signing.h"

namespace tessera::demo {

struct LocalNetworkOptions {
  model::ModelConfig model;
  model::TrainConfig train;
  double check_rate = 0.1;  // the hub's spot-check rate (tessera-hub --check-rate)
  int stages = 3;
  int replicas = 1;
  std::string codec = "none";
  model::AveragingConfig averaging;  // how replicas of a stage combine gradients
  std::string device = "cpu";
  int threads = 1;  // libtorch threads per peer process
  std::filesystem::path folder;  // peers live in folder/peer-K
  std::string listen_host = "127.0.0.1";
  std::int64_t epoch_seconds = 3600;            // settlement epoch length of the run
  std::uint64_t price_per_1k_tokens = 1000;     // inference price, micro-units per 1,000 tokens
  // The relay benchmark: the first peer offers to relay and every other one is reached through it,
  // so every pipeline hop crosses the relay.
  bool relayed = false;
};

// The model and settings `demo` uses by default: small enough for a step in well under a second
// on two CPU cores, big enough to learn the arithmetic corpus visibly.
LocalNetworkOptions demo_network_defaults();

struct LocalPeer {
  pid_t pid = -1;
  std::filesystem::path folder;
  wallet::PublicKey node_key{};
  bool stopped = false;
};

class LocalNetwork {
 public:
  explicit LocalNetwork(LocalNetworkOptions options);
  ~LocalNetwork();  // stops every child
  LocalNetwork(const LocalNetwork&) = delete;
  LocalNetwork& operator=(const LocalNetwork&) = delete;

  // Starts the hub and `count` peer processes (the first `count` of folder/peer-K).
  // `first_peer_folder`: a folder to use instead of folder/peer-0 (the user's own data folder).
  void start(int count, std::optional<std::filesystem::path> first_peer_folder = std::nullopt);
  hub::HubService& hub() { return *hub_; }
  std::string hub_url() const { return hub_->url(); }
  const std::vector<LocalPeer>& peers() const { return peers_; }
  const wallet::KeyPair& hub_key() const { return hub_key_; }
  // A delegation from the network's demo owner for `node_key` (the local network's own owner).
  wallet::Delegation delegate(const wallet::PublicKey& node_key) const;
  // Writes a delegation for the node key in `folder` (creating it) from an owner of its own, so the
  // local peers are distinct owners and settlement splits between them as it would between people.
  wallet::PublicKey prepare_peer(const std::filesystem::path& folder);
  // A message naming a child that exited though nobody stopped it, with the end of its log.
  std::optional<std::string> check_children();
  // SIGKILL: the churn test's crash.
  void kill_peer(std::size_t index);
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10000));

 private:
  LocalNetworkOptions options_;
  wallet::KeyPair owner_;
  wallet::KeyPair hub_key_;
  std::unique_ptr<hub::HubService> hub_;
  std::vector<LocalPeer> peers_;
};

}  // namespace tessera::demo
