// The spot checks in the hub's store (table checks, one row per ticket's life; counts in
// check_counts): planned when a slot is sampled, filled with the receipts' digests as they are
// credited, issued to a checker, then decided. A suspected failure plans a second row (round 2,
// `first_check` naming the first) for another checker. States:
//   planned → issued → passed | suspect (round 1 failure awaiting round 2) | failed | expired
//   planned → unreceipted (its receipts never came) | unweighted (no weights digest) | unassigned
//   suspect → failed (confirmed, or a lone failure that stands) | contradicted | dropped
// Plain SQL over the caller's connection, always inside the caller's transaction or read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/hub/hub_store.h"
#include "core/protocol/payload_digest.h"
#include "core/protocol/receipt.h"
#include "core/wallet/signing.h"

namespace tessera::hub {

struct CheckRow {
  std::uint64_t id = 0;
  std::string state = "planned";
  int round = 1;
  std::optional<std::uint64_t> first_check;
  std::uint64_t step = 0;
  std::uint32_t micro_batch = 0;
  std::uint32_t micro_batches = 0;
  std::uint16_t stage = 0;
  std::uint32_t tokens = 0;  // per micro-batch, for the verification credit
  wallet::PublicKey worker{};
  protocol::PayloadDigest tokens_hash{};
  std::optional<protocol::PayloadDigest> forward_in, backward_in, forward_out, backward_out;
  std::vector<wallet::PublicKey> neighbours;  // the worker's neighbours at this slot
  std::optional<wallet::PublicKey> checker;
  std::string checker_owner;
  std::vector<std::uint8_t> ticket;  // the signed ticket, encoded
  std::optional<int> report;         // protocol::CheckStatus of the report, when one came
  std::string reason;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> issued_ms, expires_ms;

  // Every digest its ticket and verdict need is in (`stages`: the run's).
  bool receipted(int stages) const;
};

// Summary counters (GET /api/checks/summary).
inline constexpr const char* kCheckCounters[] = {"planned",     "issued",     "passed",     "failed",
                                                 "contradicted", "unreceipted", "unweighted", "unassigned",
                                                 "expired",     "dropped"};

namespace check_book {

std::uint64_t insert(Database& db, const CheckRow& row);  // returns its id
std::optional<CheckRow> find(Database& db, std::uint64_t id);
// Rows in `state`, oldest first.
std::vector<CheckRow> in_state(Database& db, const std::string& state);
// What the timer must look at: planned rows created before `stale_before_ms` or with every
// receipt in (of a run of `stages`), and issued rows expired at `now_ms`.
std::vector<CheckRow> planned_due(Database& db, int stages, std::int64_t stale_before_ms);
std::vector<CheckRow> issued_expired(Database& db, std::int64_t now_ms);
// Stores the receipt's digest in every planned row it belongs to (as the worker's input or
// output); returns the ids of the rows it filled.
std::vector<std::uint64_t> fill(Database& db, const protocol::Receipt& receipt);
void set_state(Database& db, std::uint64_t id, const std::string& state, const std::string& reason = {});
void set_issued(Database& db, const CheckRow& row);  // checker, owner, ticket, issued and expiry
void set_report(Database& db, std::uint64_t id, int status, const std::string& state, const std::string& reason);
void count(Database& db, const std::string& counter);
// Deletes decided rows of steps before `step` (the counters keep their sum).
void forget_decided_before(Database& db, std::uint64_t step);
std::map<std::string, std::uint64_t> counts(Database& db);

}  // namespace check_book
}  // namespace tessera::hub
