// The node's side of settlement: after each epoch it fetches the hub's statement and its owner's
// leaf and proof, checks the signature against the hub key named in the (already verified) run
// manifest and the proof against the signed root, and only then records the statement in the
// contribution log as verified. What the hub merely says (this epoch's revenue part) is recorded
// as accrued revenue; a forged or altered statement is logged as an event and never as earned.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/wallet/signing.h"

namespace tessera::ledger {
class LedgerWriter;
}

namespace tessera::node {

struct StatementCheck {
  enum class Outcome { Verified, NothingNew, NotAnOwner, Rejected, Unreachable };
  Outcome outcome = Outcome::NothingNew;
  std::uint64_t epoch = 0;
  std::string message;  // for the user and the event log
};

class StatementSync {
 public:
  // `hub_url` like http://127.0.0.1:8080; `owner` the owner address this node works for.
  StatementSync(std::string hub_url, std::string run_id, const wallet::PublicKey& hub_key, std::string owner,
                ledger::LedgerWriter& ledger, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Checks every epoch settled since the last one recorded (oldest first); returns the last outcome.
  StatementCheck poll();
  std::uint64_t last_verified_epoch() const { return last_epoch_; }

 private:
  StatementCheck check_epoch(std::uint64_t epoch);

  std::string hub_url_;
  std::string run_id_;
  wallet::PublicKey hub_key_;
  std::string owner_;
  ledger::LedgerWriter& ledger_;
  std::chrono::milliseconds timeout_;
  std::uint64_t last_epoch_ = 0;
};

}  // namespace tessera::node
