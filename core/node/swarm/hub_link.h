// This node's side of the hub: join, ready and leave; and a thread that heartbeats, refreshes the
// peer list (and with it the ZAP allowlist: only the hub and the run's peers may connect, and the
// roles: the step driver, each peer's stage, this node's stage assignment), sends
// the outbox's receipts in batches, and after each epoch fetches, verifies and records the owner's
// statement. A heartbeat the hub does not recognise asks the node to join again. For spot checks
// it hands the check tickets of each heartbeat reply to the checker and reports the weights
// digest of every step start the node keeps (after each commit, and when it becomes ready). Each
// heartbeat carries the node's traffic report, and the traffic goes to the log once a minute.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/client/hub_client.h"
#include "core/net/zap.h"
#include "core/control/event_bus.h"
#include "core/client/statement_sync.h"
#include "core/node/swarm/traffic_log.h"
#include "core/node/swarm/work_watch.h"

namespace tessera::node::swarm {

struct LocalStage;
struct RunContext;
class PeerRoles;
class Reachability;
class StatusBoard;
class WorkLog;

class HubLink {
 public:
  HubLink(const RunContext& run, std::shared_ptr<net::PeerAllowlist> allowlist, PeerRoles& roles, StatusBoard& board,
          control::EventBus* events);
  ~HubLink();  // stops the thread

  // The hub's client, made by connect() (it throws on a malformed hub URL; constructing a HubLink
  // does not).
  void connect();
  client::HubClient& client() { return *client_; }

  // Once joined: the log receipts come from and statements are recorded in.
  void attach(WorkLog& log, const std::string& owner_address);
  // Every heartbeat carries `reach`'s relay byte counts, and gives it a chance to replace a lost
  // relay (it must outlive the link).
  void attach_reachability(Reachability& reach) { reach_ = &reach; }
  // Spot checks: the stage whose evidence holds the weights to report, and where the tickets go.
  void attach_spot_checks(LocalStage& local, std::function<void(std::vector<std::string>)> checks);
  // Reports the weights digests kept since the last call (POST /api/weights).
  void report_weights();
  void refresh_peers();
  std::vector<protocol::PeerInfo> peers() const;
  bool take_rejoin() { return rejoin_.exchange(false); }
  // What the hub counts of this node's work, read by the hub thread every 30 s (WorkWatch). A hub
  // that excludes the node (client::HubExcluded) puts the board in state "excluded": from then on
  // the thread neither heartbeats nor reports, and only reads the counts and statements.
  const WorkWatch& work() const { return work_; }

  void start();
  void request_stop();  // the thread stops at its next wake-up
  void stop();          // … and is joined
  // Settles the log's last commit if done, then sends one batch of the outbox.
  void report_receipts();

 private:
  void loop();
  void poll_statements();
  void hand_checks();

  const RunContext& run_;
  std::optional<client::HubClient> client_;
  std::mutex report_mutex_;  // the hub thread and leave() both report
  std::shared_ptr<net::PeerAllowlist> allowlist_;
  std::optional<net::CurvePublicKey> hub_curve_;  // admitted besides the peers (inference)
  PeerRoles& roles_;
  StatusBoard& board_;
  control::EventBus* events_;
  WorkLog* log_ = nullptr;
  Reachability* reach_ = nullptr;
  LocalStage* local_ = nullptr;
  std::function<void(std::vector<std::string>)> checks_;
  bool weights_refused_ = false;  // logged once
  std::unique_ptr<client::StatementSync> statements_;
  std::chrono::steady_clock::time_point next_statement_poll_{};
  WorkWatch work_;
  TrafficLog traffic_log_;
  mutable std::mutex peers_mutex_;
  std::vector<protocol::PeerInfo> peers_;
  std::atomic<bool> rejoin_{false};
  std::atomic<bool> running_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace tessera::node::swarm
