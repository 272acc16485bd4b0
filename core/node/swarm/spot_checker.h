// This node as a spot checker (core/protocol/spot_check.h): the tickets the hub hands it in its
// heartbeat replies wait in a bounded queue; a thread of its own takes them one at a time,
// verifies each is the hub's, current and names this node as checker, fetches the worker's
// evidence (CheckFetch), checks and recomputes it (check_recompute.h) and reports the result.
// It never touches this node's own stage or its mutex, so a check never holds up training.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/node/swarm/check_recompute.h"
#include "core/node/swarm/peer_calls.h"

namespace tessera::node::swarm {

struct RunContext;

class SpotChecker {
 public:
  static constexpr std::size_t kQueue = 16;  // tickets waiting; beyond it the newest are refused

  // Where a worker's stage server listens (from the hub's peer list); nothing when not listed.
  using FindWorker = std::function<std::optional<Hop>(const wallet::PublicKey&)>;
  // Sends a report to the hub (POST /api/checks).
  using SendReport = std::function<void(const protocol::CheckReport&)>;

  SpotChecker(const RunContext& run, PeerCalls& calls, FindWorker find_worker, SendReport send_report);
  ~SpotChecker();  // stops the thread
  SpotChecker(const SpotChecker&) = delete;
  SpotChecker& operator=(const SpotChecker&) = delete;

  void start();
  void stop();
  // Tickets (hex) from the hub, queued for the thread.
  void offer(const std::vector<std::string>& tickets);
  // One ticket start to finish on the caller's thread: the report to send, or nothing for a ticket
  // that is not the hub's, not current or not for this node (logged and dropped).
  std::optional<protocol::CheckReport> check(const std::string& ticket_hex);
  std::uint64_t checks_done() const { return done_; }

 private:
  void loop();
  protocol::CheckReport fetch_and_check(const protocol::CheckTicket& ticket, const std::string& ticket_hex);

  const RunContext& run_;
  PeerCalls& calls_;
  FindWorker find_worker_;
  SendReport send_report_;
  CheckRecompute recompute_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  bool running_ = false;
  std::atomic<std::uint64_t> done_{0};
  std::thread thread_;
};

}  // namespace tessera::node::swarm
