// The node's runs routes as the app calls them (GET /v1/runs, POST /v1/runs {link},
// /v1/runs/remove {run}, /v1/runs/join {run}, /v1/runs/leave: docs/control-api.md). An interface
// so the service's worker does not care where the runs come from (the screenshots show a fixed
// list); the real one is the node's control API, found through <data dir>/control.json. Calls
// block (the node may ask its hubs: up to 30 s): only the worker thread makes them. Each command
// answers the node's runs after it.
#pragma once

#include <QString>

#include <memory>

#include "ui/node_runs.h"

namespace tessera::ui {

class RunsControl {
 public:
  virtual ~RunsControl() = default;
  // Each throws std::invalid_argument for a request the node refuses as the user's to correct
  // (a bad link, a manifest that does not verify, a run it does not know), std::runtime_error for
  // anything else.
  virtual NodeRuns list() = 0;
  virtual NodeRuns add(const std::string& link) = 0;
  virtual NodeRuns remove(const std::string& run) = 0;
  virtual NodeRuns join(const std::string& run) = 0;  // switches when another run is current
  virtual NodeRuns leave() = 0;
};

// Over the control API of the node serving `control_file` (read here: a node that restarts on
// another port needs a new one). Throws std::runtime_error when there is no such node.
std::unique_ptr<RunsControl> connectToNodeRuns(const QString& control_file);

}  // namespace tessera::ui
