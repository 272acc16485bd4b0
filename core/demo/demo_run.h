// `tessera-node demo` without its command line: the local network trains the arithmetic corpus for
// a number of steps (killing a replica on the way when asked: the churn check), the trained swarm
// is asked for one next token, and the peers' contribution logs are counted into a summary.
// Printing is the caller's: it hears of each step and of the kill through DemoProgress.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/demo/local_network.h"
#include "core/protocol/hub_api.h"

namespace tessera::demo {

struct DemoOptions {
  LocalNetworkOptions network = demo_network_defaults();
  int steps = 60;
  int kill_at = 0;  // > 0: SIGKILL a replica of a later stage at this step
  bool infer_while_training = false;  // generate through the swarm during the steps (background_inference.h)
  double stall_seconds = 300;  // give up after this long without a new step
};

// What the training loop tells the caller as it goes.
struct DemoProgress {
  // A new step finished: `step` of `steps`, with the hub's figures for the last one.
  std::function<void(int step, int steps, const nlohmann::json& last)> step;
  // `peer` (of stage `stage`) was killed with SIGKILL.
  std::function<void(const LocalPeer& peer, int stage)> killed;
};

// The demo's result; to_json gives `demo --json`'s summary.
struct DemoSummary {
  std::size_t steps = 0;
  int stages = 0;
  int replicas = 0;
  std::string codec;
  std::string run;
  std::vector<double> losses;  // one per step
  std::vector<double> step_seconds;
  double tokens_per_s = 0;  // without the first step's warm-up, unless it is the only one
  double bytes_per_token = 0;
  protocol::ReceiptTally tally;  // receipts as the hub saw them
  std::int64_t receipts_expected = 0;
  std::int64_t receipts_logged = 0;  // this run's receipt rows in the peers' logs
  std::int64_t killed_peer_receipts = 0;
  std::int64_t work_rows = 0;  // this run's work rows in the peers' logs
  int ledgers_verified = 0;
  int peers = 0;
  bool killed = false;
  nlohmann::json inference;  // {prompt, next_token, vocab} or {error}
  std::filesystem::path ledger;  // peer 0's log: the user's own when their node took part
  std::string hub;      // the hub's API (statements, epochs)
  std::string gateway;  // the inference gateway, on a server of its own
  std::int64_t epoch_seconds = 0;
  std::uint64_t epochs_settled = 0;
  std::int64_t statements_verified = 0;
  model::ModelConfig model;
};

nlohmann::json to_json(const DemoSummary& summary);

class DemoRun {
 public:
  // The peers live in data_dir/demo/peer-K; the user's own node in data_dir plays peer 0 when
  // this machine already works for their wallet (a valid delegation for any run).
  DemoRun(DemoOptions options, const std::filesystem::path& data_dir);

  // Starts the embedded hub and one process per peer.
  void start();
  LocalNetwork& network() { return network_; }
  const DemoOptions& options() const { return options_; }

  // Waits for the steps. Throws when `stop` is set, a peer exits, or no step came for
  // stall_seconds.
  void train(const std::atomic<bool>& stop, const DemoProgress& progress);
  // The trained swarm's next token after a sum (forward only, no receipts), or why it failed.
  nlohmann::json ask_next_token();
  // Counts the logs: after network().stop() for final figures, or live while serving.
  DemoSummary summarize(nlohmann::json inference);
  // Keeps the swarm and its gateway up until `stop`, then stops the network. Throws when a peer exits.
  void serve(const std::atomic<bool>& stop);

 private:
  void kill_a_later_replica(const DemoProgress& progress);
  void train_steps(const std::atomic<bool>& stop, const DemoProgress& progress);

  DemoOptions options_;
  std::optional<std::filesystem::path> own_folder_;  // the user's node as peer 0
  std::vector<std::filesystem::path> ledgers_;  // one per peer
  std::int64_t work_before_ = 0;  // rows already in the logs before this run
  std::int64_t receipts_before_ = 0;
  LocalNetwork network_;
  std::vector<nlohmann::json> steps_;  // the hub's figures, one per step
  std::optional<std::size_t> killed_;  // the peer killed by the churn check
  nlohmann::json during_training_;     // BackgroundInference's summary, with infer_while_training
};

}  // namespace tessera::demo
