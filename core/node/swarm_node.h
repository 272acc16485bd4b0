// The contributor daemon's swarm side (DESIGN.md "The protocol"): joins a run through its hub,
// serves one stage over CurveZMQ, fetches the stage's state from a live replica of the same stage,
// and, on the oldest ready replica of stage 0, drives the steps: micro-batch m goes through replica
// m mod R of every stage (forward down the chain, the gradient back up the same route; every
// micro-batch of the step in flight, each stage passing the next one on while its neighbours work
// and running its backwards in the order of its forwards), the
// replicas of each stage sum their gradients in key order, the driver sums one squared norm per
// stage and commits the step. Every forward and backward payload is acknowledged with a receipt
// signed by its receiver; receipts of committed steps go to the contribution log once and to the
// hub in batches. A peer that stops answering makes the attempt abort everywhere (stash and
// gradients discarded) and the step is retried without it. When the hub forgets this node (a
// heartbeat it does not know) the node joins again; if it is given another stage, it drops the old
// one (uncommitted work, attempt, served state) and takes up the new one as on a first join.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/control/event_bus.h"
#include "core/control/node_status.h"
#include "core/wallet/delegation.h"
#include "core/wallet/signing.h"

namespace tessera::node {

using control::EventBus;  // the node publishes its events on the control API's bus

// How a node corrupts its own work: nothing, for every node tessera-node and the app run. The
// verification tests build cheating nodes with it (tests/adversarial/cheating_node.cpp), as a
// contributor who modified their copy could; no flag or setting reaches it.
struct WorkTamper {
  // The boundary payload this stage passes on is replaced by finite random values of the same
  // shape and codec: the next stage accepts it and signs a receipt over it.
  bool garbage_activations = false;
  // The stage runs no backward: it forwards without stashing, answers a zero (finite,
  // right-shaped) input gradient and contributes no parameter gradient.
  bool skip_backward = false;
};

struct SwarmNodeOptions {
  std::string hub_url;  // a run link (tessera://…), an https:// URL, or http:// to loopback (client/hub_http.h)
  std::filesystem::path data_dir;            // node_key.json, contributions.db
  std::string listen = "tcp://127.0.0.1:0";  // where this node's stage server binds
  // How peers reach it (core/node/swarm/reachability.h): an explicit endpoint (empty: the port it
  // listens on at the address the hub sees), whether to map a port on the router and to use a relay
  // when the hub cannot reach it, and whether to offer to relay (its TCP port; 0: any; -1: no).
  std::string advertise;
  bool map_port = true;
  bool use_relays = true;
  int relay_port = -1;
  bool via_relay = false;  // always through a relay (the relay benchmark)
  std::string device = "cpu";
  int threads = 0;                           // libtorch CPU threads; 0: libtorch's choice
  std::int64_t inference_cache_bytes = 0;    // the stage's KV caches for inference at most; 0: the engine's default
  std::chrono::milliseconds hop_timeout{8000};      // one stage's work plus one link, per hop
  std::chrono::milliseconds hub_timeout{5000};
  std::chrono::milliseconds heartbeat_every{1000};
  std::chrono::milliseconds suspect_for{15000};     // a peer that failed is left out this long
  int wait_for_peers = 0;                     // the driver's first step waits (up to a minute) for this many ready peers
  std::int64_t stop_after_steps = 0;          // 0: until stopped or the run's total_steps
  std::string power_profile = "balanced";     // recorded in the session rows
  WorkTamper tamper;                          // honest unless a test builds a cheat
  // The stage's memory limit (the settings' memory_limit_mib): a stage whose estimate exceeds it is
  // refused, and on CUDA it caps the device's allocator. 0: none.
  std::int64_t memory_limit_bytes = 0;
};

struct SwarmStats {
  std::uint64_t malformed = 0;     // frames dropped by the wire decoder
  std::uint64_t rejected = 0;      // well-formed requests refused (bad payload, wrong step …)
  std::uint64_t unauthorised = 0;  // requests refused because their sender may not send them
  std::uint64_t aborted_steps = 0; // attempts abandoned (driver)
  std::uint64_t committed_steps = 0;
  std::uint64_t receipts_logged = 0;
  std::uint64_t receipts_reported = 0;
};

class SwarmNode {
 public:
  SwarmNode(const wallet::KeyPair& node_key, wallet::Delegation delegation, SwarmNodeOptions options,
            EventBus* events = nullptr);
  ~SwarmNode();
  SwarmNode(const SwarmNode&) = delete;
  SwarmNode& operator=(const SwarmNode&) = delete;

  // Joins, serves and (when driver) trains until `stop` is set, the run's steps are done or
  // stop_after_steps steps were committed; leaves the hub cleanly. Throws std::runtime_error
  // when joining fails for good (hub unreachable, refused).
  void run(const std::atomic<bool>& stop);

  // Before each step the driver asks this (e.g. the power policy); a reason pauses training.
  void set_pause_reason(std::function<std::optional<std::string>()> hook);
  void set_paused(bool paused, std::string reason = {});
  void snooze(std::chrono::seconds duration);
  void set_threads(int threads);
  // Applies to the next stage this node builds (SwarmNodeOptions::memory_limit_bytes).
  void set_memory_limit(std::int64_t bytes);

  // What the control API reports (network: this node's hub URL).
  control::NodeStatus status() const;
  SwarmStats stats() const;
  std::string endpoint() const;  // empty until the server is bound
  int stage() const;             // -1 until joined
  std::filesystem::path ledger_path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::node
