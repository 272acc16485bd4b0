// The node's runs routes as the app calls them (GET /v1/runs, POST /v1/runs {link},
// /v1/runs/remove {run}, /v1/runs/join {run}, /v1/runs/leave: spec #21 section 7). An interface so
// the service's worker does not care how a call travels; the real one talks to the node's control
// API found through <data dir>/control.json. Calls block (HTTP, 5 s timeout): only the worker
// thread makes them.
#pragma once

#include <QString>

#include <memory>

#include "ui/node_runs.h"

namespace tessera::ui {

class RunsControl {
 public:
  virtual ~RunsControl() = default;
  // Each throws std::invalid_argument for a request the node refuses as the user's to correct
  // (a bad link, a manifest that does not verify), std::runtime_error for anything else.
  virtual NodeRuns list() = 0;
  virtual void add(const std::string& link) = 0;
  virtual void remove(const std::string& run) = 0;
  virtual void join(const std::string& run) = 0;  // switches when another run is current
  virtual void leave() = 0;
};

// Over the control API of the node serving `control_file` (read at construction: a node that
// restarts on another port needs a new one).
std::unique_ptr<RunsControl> connectToNodeRuns(const QString& control_file, int timeout_ms = 5000);

}  // namespace tessera::ui
