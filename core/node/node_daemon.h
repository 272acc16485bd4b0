// The contributor daemon assembled (`tessera-node run`): the run switcher and the swarm node of the
// current run (none: idle, waiting for a join through the control API), the runs the user added,
// its control handler and the control API on 127.0.0.1 (announced in <data-dir>/control.json, up
// through every join, leave and switch), the event bus between them, and the power policy checked
// before each step with this machine's probes (input idle time, battery, schedule, GPU temperature
// and power through NVML), so a headless node obeys the user's settings too. The command line only
// chooses the options (and the local network, if any).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/node/swarm_node.h"
#include "core/wallet/delegation.h"
#include "core/wallet/signing.h"

namespace tessera::node {

struct NodeDaemonOptions {
  // data_dir: where control.json, settings.json and runs.json live; hub_url: the run to join at
  // start (empty: none, the node is idle until a join through the control API).
  SwarmNodeOptions swarm;
  std::string network;        // as the status reports it: "local" or the hub URL
  bool paused = false;        // join, but do not train until started
  bool serve_control = true;  // false: no control API and no control.json (the local network's peers)
  // Asked every 500 ms while the node runs: a message says that something the node depends on
  // (a local peer process) has died; it is logged as an error.
  std::function<std::optional<std::string>()> check_peers;
};

class NodeDaemon {
 public:
  NodeDaemon(const wallet::KeyPair& node_key, wallet::Delegation delegation, NodeDaemonOptions options);
  ~NodeDaemon();
  NodeDaemon(const NodeDaemon&) = delete;
  NodeDaemon& operator=(const NodeDaemon&) = delete;

  // Serves the control API and writes control.json, runs the node (joining, leaving and switching
  // runs as asked) until `stop` is set (or the start run is done), then stops the API, removes
  // control.json and closes the event stream. Throws what SwarmNode::run throws for the start run
  // (joining failed for good); control.json is removed then too. A run joined through the control
  // API that fails leaves the node idle instead. Throws std::runtime_error when the control API
  // cannot listen.
  void run(const std::atomic<bool>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tessera::node
