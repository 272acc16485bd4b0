// A committed step's work in the contribution log, and its receipts on their way to the hub: the
// rows (one per receipt, one for the work) are made durable while the next step runs; the receipts
// reach the outbox, and so the hub, only once their rows are durable. A crash before that loses
// the step's rows and nothing the hub has.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/node/swarm/attempt_state.h"
#include "core/protocol/receipt.h"

namespace tessera::ledger {
class LedgerWriter;
}

namespace tessera::node::swarm {

struct RunContext;

class WorkLog {
 public:
  WorkLog(const RunContext& run, const std::filesystem::path& file);
  ~WorkLog();

  ledger::LedgerWriter& ledger() { return *ledger_; }
  const std::string& session_id() const { return session_id_; }

  void session_started(int stage);
  void session_stopped();

  // The attempt's receipts and work at `step` by `stage`: submitted to the log (not waited for).
  void commit(std::uint64_t step, int stage, const AttemptState& attempt);
  // Finishes the last commit: waits for it when `wait`, else only if it is done; its receipts go to
  // the outbox. Returns how many. Throws when the append failed (the receipts are dropped with the
  // rows: neither the log nor the hub has them).
  std::size_t settle(bool wait);

  // Up to `count` receipts from the front of the outbox (left there until drop_sent()).
  std::vector<protocol::SignedReceipt> outbox_front(std::size_t count);
  void drop_sent(std::size_t count);

 private:
  const RunContext& run_;
  std::unique_ptr<ledger::LedgerWriter> ledger_;
  std::string session_id_;
  std::mutex log_mutex_;
  std::optional<std::future<std::vector<std::int64_t>>> in_flight_;
  std::vector<protocol::SignedReceipt> in_flight_receipts_;
  std::mutex outbox_mutex_;
  std::vector<protocol::SignedReceipt> outbox_;
};

}  // namespace tessera::node::swarm
