// Which run the node is in, changed while the process runs (docs/runs.md): at most one SwarmNode
// at a time, each on its own thread with its own stop flag. Joining a run while in another leaves
// that one first (its SwarmNode stops cleanly: the last step's work logged, receipts reported, the
// hub told), then builds a SwarmNode for the new run; leaving stops the current one and the node
// is idle. Requests return at once; run() carries them out in order on the daemon's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/node/swarm_node.h"

namespace tessera::node {

class RunSwitcher {
 public:
  // Builds the SwarmNode for a run at `hub_url` (a run link or a hub URL), with the daemon's
  // options and settings applied.
  using MakeNode = std::function<std::shared_ptr<SwarmNode>(const std::string& hub_url)>;

  // idle: in no run, none asked for; joining: a run asked for, its node not started yet; in_run:
  // its node runs (joining the hub, fetching, training: the node's status says); leaving: the
  // current node is stopping (left, or another run asked for).
  enum class Phase { idle, joining, in_run, leaving };
  struct State {
    Phase phase = Phase::idle;
    std::string hub_url;  // the run being joined, in or left
    std::string run;      // its id as the caller named it (empty for a hub URL)
    std::optional<std::string> target;  // the run asked for (its id, else its hub URL): the current one
    std::string error;    // why the last run ended by itself (joining failed, …); cleared by a join
  };

  explicit RunSwitcher(MakeNode make);
  ~RunSwitcher();  // stops the current node
  RunSwitcher(const RunSwitcher&) = delete;
  RunSwitcher& operator=(const RunSwitcher&) = delete;

  // Asks to be in the run at `hub_url` (leaving another first). `fatal`: if that node's run throws
  // (joining failed for good), run() rethrows it instead of going idle (tessera-node run --hub).
  void join(const std::string& hub_url, const std::string& run, bool fatal = false);
  void leave();

  // Carries out the requests until `stop` is set, then stops the current node. Rethrows what a
  // fatal run threw (after its node stopped).
  void run(const std::atomic<bool>& stop);

  State state() const;
  // The node of the current run; null when idle. Stays valid while held, even after a switch.
  std::shared_ptr<SwarmNode> node() const;

 private:
  struct Session;
  struct Target {
    std::string hub_url;
    std::string run;
    bool fatal = false;
  };
  void start_session(const Target& target);       // under mutex_
  void end_session(std::unique_lock<std::mutex>& lock);  // stops and joins the current one
  bool leaving() const;  // the current session is stopping or about to; under mutex_

  MakeNode make_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Target> target_;
  std::unique_ptr<Session> session_;
  std::string error_;
  std::exception_ptr fatal_error_;
};

}  // namespace tessera::node
