// Reading the contribution log through a read-only connection, while the node writes: the three
// dashboard figures from the roll-ups (and the same figures from the raw rows, for checks and the
// benchmark), verification of the chain and its signatures, CSV export. The desktop app uses one
// of these on a worker thread; `tessera-node log …` uses it too. Not thread-safe: one per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/ledger/records.h"
#include "core/wallet/signing.h"

namespace tessera::ledger {

// Compute donated over one window.
struct Donated {
  double device_seconds = 0;
  double flops = 0;
  std::int64_t tokens = 0;
  double energy_joules = 0;
  std::int64_t steps = 0;  // work rows
  double kwh() const { return energy_joules / 3.6e6; }
};

// Windows end now and start at the top of the hour (23, 167, 719 hours before the current one),
// so they read whole hour buckets; "all" is everything.
struct DonatedSummary {
  Donated last_24h, last_7d, last_30d, all_time;
};
enum class Span { Last24h, Last7d, Last30d, AllTime };

// Ownership of one run at the end of one epoch (the latest verified statement for that epoch, or
// the latest unverified one if none is verified yet).
struct OwnershipPoint {
  std::string run;
  std::int64_t epoch = 0;
  std::int64_t at_ms = 0;
  double units = 0;
  double run_units = 0;
  double share() const { return run_units > 0 ? units / run_units : 0.0; }
  bool verified = false;
  // What the statement's leaf says of the owner's work in this epoch (schema version 4; 0 for
  // statements whose leaves carry none): receipts the hub rejected, spot checks passed and failed.
  std::int64_t epoch_rejected = 0;
  std::int64_t epoch_checks_passed = 0;
  std::int64_t epoch_checks_failed = 0;
  // Of the units, the whole ownership units credited for the owner's data shards (cumulative;
  // schema version 5, from statement version 3 on; `units` is in FLOPs: one unit = 1e6 FLOPs).
  std::int64_t data_units = 0;
  double data_flops() const { return static_cast<double>(data_units) * 1e6; }
};

// Revenue of one epoch: what the node saw accrue, and what verified statements confirm (the
// growth of the statement's cumulative revenue since the previous verified statement).
struct EpochRevenue {
  std::string run;
  std::int64_t epoch = 0;
  std::string currency;
  std::int64_t accrued = 0;
  std::optional<std::int64_t> verified;  // none until a verified statement covers the epoch
};

struct Summary {
  DonatedSummary donated;
  std::vector<OwnershipPoint> ownership;
  std::vector<EpochRevenue> revenue;
};

// Compute donated in one time bucket (an hour for the 24 h and 7 d windows, a day otherwise).
struct DonatedBucket {
  std::int64_t start_ms = 0;
  Donated donated;
};

// One row of a table, for paged views: its place in the chain and its fields.
struct PagedRow {
  std::int64_t seq = 0;
  Record record;
};

struct VerifyProblem {
  std::int64_t seq = 0;  // the first bad row's place in the chain (or the transaction's last row)
  std::string table;     // the table holding it, empty when the row is missing
  std::string kind;      // edited, deleted, inserted, reordered, unsigned, bad signature
  std::string detail;    // one sentence for the user
};

struct VerifyReport {
  bool intact = false;
  std::int64_t rows = 0;
  std::int64_t transactions = 0;
  std::string key_source;  // which key the signatures were checked against
  std::vector<wallet::PublicKey> signer_keys;  // the distinct keys recorded in the file
  std::optional<VerifyProblem> problem;
  std::string to_text() const;
};

class LedgerReader {
 public:
  // Throws std::runtime_error with a clear message when the file is missing, not a ledger,
  // damaged or newer than this build.
  explicit LedgerReader(const std::filesystem::path& file);
  ~LedgerReader();
  LedgerReader(const LedgerReader&) = delete;
  LedgerReader& operator=(const LedgerReader&) = delete;

  int schema_version() const;
  const std::filesystem::path& file() const;

  // From the roll-ups (falling back to the raw rows for a file not yet migrated to them).
  DonatedSummary donated(std::int64_t now_ms) const;
  Donated donated(std::int64_t now_ms, Span span) const;
  std::vector<OwnershipPoint> ownership_series() const;
  std::vector<EpochRevenue> revenue_per_epoch() const;
  Summary summary(std::int64_t now_ms) const;  // all three, from one snapshot

  // The same figures computed from the raw rows.
  DonatedSummary donated_from_raw(std::int64_t now_ms) const;
  Donated donated_from_raw(std::int64_t now_ms, Span span) const;
  std::vector<OwnershipPoint> ownership_series_from_raw() const;
  std::vector<EpochRevenue> revenue_per_epoch_from_raw() const;

  // The newest epoch of `run` with a verified statement for `owner`: where a restarted node's
  // statement sync resumes.
  std::optional<std::int64_t> last_verified_epoch(const std::string& run, const std::string& owner) const;

  // Compute donated per bucket over the window, oldest first; only buckets with work appear.
  std::vector<DonatedBucket> donated_series(std::int64_t now_ms, Span span) const;

  // Rows of one table, newest first, for a paged view.
  std::vector<PagedRow> page(Table table, std::int64_t offset, std::int64_t limit) const;

  std::int64_t row_count(Table table) const;
  std::int64_t row_count() const;  // all tables
  // The row with this seq, if any (for checks: was an acknowledged row kept?).
  std::optional<std::pair<Table, Record>> row(std::int64_t seq) const;

  // Recomputes the chain and checks every head signature, against `expected_key` when given and
  // otherwise against the keys recorded in the file.
  VerifyReport verify(const std::optional<wallet::PublicKey>& expected_key = std::nullopt) const;
  // "ok", or SQLite's first complaint.
  std::string integrity_check() const;

  // RFC 4180 CSV with a header: seq, hash and the table's columns; blobs as hex. Returns rows written.
  std::int64_t export_csv(Table table, std::ostream& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A public key given as 64 hex digits or base64 (32 bytes); throws std::invalid_argument.
wallet::PublicKey parse_public_key(const std::string& text);

}  // namespace tessera::ledger
