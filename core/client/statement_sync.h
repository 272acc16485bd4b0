// Epoch statements from the hub, checked. StatementFetcher fetches the statement of an epoch and
// any owner's leaf and proof, and checks the signature against the hub key named in the (already
// verified) run manifest and the proof against the signed root: the node uses it for its own
// owner, the desktop app for watch-only addresses (whose keys it does not hold).
// StatementSync is the node's side of settlement: after each epoch it records the statement in the
// contribution log as verified only once it checks out. What the hub merely says (this epoch's
// revenue part) is recorded as accrued revenue; a forged or altered statement is logged as an
// event and never as earned. A restarted node resumes after the newest epoch its log has verified,
// and the log's unique keys record each epoch's revenue and statement once, however often it
// restarts.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/net/traffic_meter.h"
#include "core/protocol/statement.h"
#include "core/wallet/signing.h"

namespace tessera::ledger {
class LedgerWriter;
}

namespace tessera::client {

class HubEndpoint;

struct StatementCheck {
  enum class Outcome { Verified, NothingNew, NotAnOwner, Rejected, Unreachable };
  Outcome outcome = Outcome::NothingNew;
  std::uint64_t epoch = 0;
  std::string message;  // for the user and the event log
};

// One owner's statement for one epoch as fetched. `statement` and `proof` are meaningful when
// check.outcome is Verified; `epoch_revenue_part` (unsigned: only what the hub says) whenever the
// hub's answers were readable.
struct OwnerStatement {
  StatementCheck check;
  protocol::Statement statement;
  protocol::LeafProof proof;
  std::optional<std::uint64_t> epoch_revenue_part;
  std::string currency;
};

class StatementFetcher {
 public:
  // `hub_url` like http://127.0.0.1:8080, https://… or a run link (hub_http.h; std::invalid_argument
  // for plain HTTP to another machine); `hub_key` the run manifest's hub_key. Every request
  // waits at most `timeout` to connect and `timeout` for the answer. Each exchange's bytes are
  // counted into `traffic` (may be null; must outlive this) as control traffic. A hub whose
  // certificate cannot be trusted gives Rejected.
  StatementFetcher(std::string hub_url, std::string run_id, const wallet::PublicKey& hub_key,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5), net::TrafficMeter* traffic = nullptr);
  // The same through `endpoint`, whose pin (HubClient::endpoint()) it shares.
  StatementFetcher(std::shared_ptr<HubEndpoint> endpoint, std::string run_id, const wallet::PublicKey& hub_key,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5), net::TrafficMeter* traffic = nullptr);

  // The newest settled epoch: outcome Verified with its number (nothing checked yet), NothingNew
  // (none settled: epoch 0), Unreachable or Rejected (unreadable answer).
  StatementCheck latest_epoch() const;
  // Fetches and checks epoch `epoch`'s statement and `owner`'s proof.
  OwnerStatement fetch(std::uint64_t epoch, const std::string& owner) const;
  // The latest settled epoch's statement for `owner`, checked.
  OwnerStatement fetch_latest(const std::string& owner) const;

  const std::string& hub_url() const { return hub_url_; }
  const std::string& run_id() const { return run_id_; }

 private:
  OwnerStatement fetch_checked(std::uint64_t epoch, const std::string& owner) const;

  std::shared_ptr<HubEndpoint> endpoint_;
  std::string hub_url_;
  std::string run_id_;
  wallet::PublicKey hub_key_;
  std::chrono::milliseconds timeout_;
  net::TrafficMeter* traffic_;
};

class StatementSync {
 public:
  // `owner` the owner address this node works for. Reads `ledger`'s file for where to resume.
  StatementSync(std::string hub_url, std::string run_id, const wallet::PublicKey& hub_key, std::string owner,
                ledger::LedgerWriter& ledger, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                net::TrafficMeter* traffic = nullptr);
  // Through the node's HubClient::endpoint(), sharing its pin.
  StatementSync(std::shared_ptr<HubEndpoint> endpoint, std::string run_id, const wallet::PublicKey& hub_key,
                std::string owner, ledger::LedgerWriter& ledger,
                std::chrono::milliseconds timeout = std::chrono::seconds(5), net::TrafficMeter* traffic = nullptr);

  // Checks every epoch settled since the last one recorded (oldest first); returns the last outcome.
  StatementCheck poll();
  std::uint64_t last_verified_epoch() const { return last_epoch_; }

 private:
  StatementCheck check_epoch(std::uint64_t epoch);

  StatementFetcher fetcher_;
  std::string owner_;
  ledger::LedgerWriter& ledger_;
  std::uint64_t last_epoch_ = 0;
};

// A watch-only view of some owners in the run a hub serves, without their keys: the hub's run
// manifest (checked against its publisher's signature) names the hub key, then each owner's latest
// statement is checked against it. `error` is set (and `owners` empty) when the hub cannot be
// asked at all: unreachable, or no valid manifest.
struct WatchReport {
  std::string hub_url;
  std::string run_id;
  std::string currency;
  bool unreachable = false;
  std::string error;
  std::vector<OwnerStatement> owners;  // in the order asked
};
WatchReport watch_owners(const std::string& hub_url, const std::vector<std::string>& owners,
                         std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace tessera::client
