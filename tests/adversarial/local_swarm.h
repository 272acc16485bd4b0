// The swarm under attack: `tessera-node demo --serve` started as a user would (an embedded hub and
// one `tessera-node run` process per peer, all on 127.0.0.1), training a small model until it is
// stopped. The tests observe it only from outside, as any client could: the hub's HTTP API
// (progress, epochs, statements) and the peers' folders (their public keys, owners and node.log).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/wallet/signing.h"

class QProcess;
class QTemporaryDir;

namespace tessera::adversarial {

struct SwarmOptions {
  int stages = 3;
  int replicas = 1;
  int epoch_seconds = 2;  // short epochs: a test sees what the hub credited settle into a statement
};

// One honest peer of the demo, as its folder shows it.
struct HonestNode {
  wallet::PublicKey key{};
  std::string owner;               // the base58 address its delegation names
  std::filesystem::path folder;    // <data>/demo/peer-K
  std::filesystem::path log() const { return folder / "node.log"; }
};

class LocalSwarm {
 public:
  explicit LocalSwarm(SwarmOptions options = {});
  ~LocalSwarm();  // SIGINT (the demo stops its peers), then SIGKILL after a grace period
  LocalSwarm(const LocalSwarm&) = delete;
  LocalSwarm& operator=(const LocalSwarm&) = delete;

  // Starts the demo and waits until its hub answers and training has committed a few steps.
  // False, with the reason and the end of the demo's output in `why`, when it did not get there.
  bool start(std::string& why);
  // The demo exits when any of its peers dies, so this is "hub and every honest peer alive".
  bool alive() const;
  pid_t hub_pid() const;  // the demo process, which hosts the hub
  const std::string& hub_url() const { return hub_url_; }
  const std::string& gateway_url() const { return gateway_url_; }  // http://127.0.0.1:PORT/v1
  const std::vector<HonestNode>& honest() const { return honest_; }
  std::vector<std::string> honest_owners() const;
  const HonestNode* honest_node(const wallet::PublicKey& key) const;

  // The last step the driver committed, per the hub's GET /api/progress (0: none yet, or the hub
  // did not answer). Every step's figures seen so far are kept for losses_since().
  std::uint64_t step();
  // Polls step() until it reaches `at_least` or the deadline passes; the step reached.
  std::uint64_t wait_for_step(std::uint64_t at_least, std::chrono::milliseconds deadline);
  // The losses of the steps committed after step `after`.
  std::vector<double> losses_after(std::uint64_t after);

  // Settlement as the hub publishes it: the open epoch (GET /api/epoch) and whether `owner` has
  // a leaf in the latest statement with any units (detail says what the hub answered).
  nlohmann::json open_epoch() const;
  std::optional<std::uint64_t> settled_epochs() const;
  bool wait_for_settled_epochs(std::uint64_t at_least, std::chrono::milliseconds deadline) const;
  bool owns_units(const std::string& owner, std::string& detail) const;

  // The end of the demo's standard error (for failure messages).
  std::string output_tail(std::size_t bytes = 3000) const;

 private:
  SwarmOptions options_;
  std::unique_ptr<QTemporaryDir> dir_;
  std::unique_ptr<QProcess> demo_;
  std::string hub_url_, gateway_url_;
  std::vector<HonestNode> honest_;
  std::vector<nlohmann::json> steps_;  // /api/progress entries seen so far
};

// The end of a text file from `offset` on (what a process logged since then).
std::string read_from(const std::filesystem::path& file, std::uintmax_t offset = 0);
std::uintmax_t file_size_or_zero(const std::filesystem::path& file);

}  // namespace tessera::adversarial
