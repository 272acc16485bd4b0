// Hub store schema and migrations.
#include "core/hub/hub_schema.h"

#include <stdexcept>

namespace tessera::hub {
namespace {

// Unsigned 64-bit amounts (units, micro-units, withheld) are stored with their bits as INTEGER
// (hub_store.h to_sql); FLOPs are REAL, as the book adds them in doubles.
constexpr const char* kVersion1Sql = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE members (
  node_key BLOB PRIMARY KEY, stage INTEGER NOT NULL, owner TEXT NOT NULL, admitted_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE receipts (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, flops REAL NOT NULL,
  epoch INTEGER NOT NULL, encoded BLOB NOT NULL);
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters VALUES ('verified', 0), ('rejected', 0), ('duplicates', 0);
CREATE TABLE open_work (owner TEXT PRIMARY KEY, flops REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE carried_work (owner TEXT PRIMARY KEY, flops REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE open_usage (
  id INTEGER PRIMARY KEY CHECK (id = 1), tokens INTEGER NOT NULL, revenue_milli INTEGER NOT NULL,
  withheld_milli INTEGER NOT NULL);
INSERT INTO open_usage VALUES (1, 0, 0, 0);
CREATE TABLE statements (
  epoch INTEGER PRIMARY KEY, owner_count INTEGER NOT NULL, total_units INTEGER NOT NULL,
  total_revenue INTEGER NOT NULL, epoch_revenue INTEGER NOT NULL, carried_revenue INTEGER NOT NULL,
  root BLOB NOT NULL, signature BLOB NOT NULL, units_withheld INTEGER NOT NULL,
  revenue_withheld INTEGER NOT NULL, settled_ms INTEGER NOT NULL);
CREATE INDEX statements_withheld ON statements (epoch) WHERE units_withheld != 0 OR revenue_withheld != 0;
CREATE TABLE owners (owner TEXT PRIMARY KEY, first_epoch INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE balance_history (
  owner TEXT NOT NULL, epoch INTEGER NOT NULL, units INTEGER NOT NULL, revenue INTEGER NOT NULL,
  revenue_part INTEGER NOT NULL, PRIMARY KEY (owner, epoch)) WITHOUT ROWID;
)sql";


// Version 2 (verified work), one block per concern so that each is edited by its owner alone.
// Committed steps and their slots (steps_controller.cpp, receipts_controller.cpp).
constexpr const char* kVersion2StepsSql = R"sql(
-- Steps are below 2^63 (steps_controller.cpp refuses larger ones), so INTEGER order is step order.
CREATE TABLE steps (
  step INTEGER PRIMARY KEY, attempt INTEGER NOT NULL, driver BLOB NOT NULL, record BLOB NOT NULL,
  committed_ms INTEGER NOT NULL);
CREATE TABLE route_seeds (step INTEGER PRIMARY KEY, seed BLOB NOT NULL, signed BLOB NOT NULL);
-- direction: protocol::Direction (1 forward, 2 backward). One credit per slot and direction.
CREATE TABLE credited_slots (
  step INTEGER NOT NULL, micro_batch INTEGER NOT NULL, stage INTEGER NOT NULL, direction INTEGER NOT NULL,
  receipt TEXT NOT NULL, PRIMARY KEY (step, micro_batch, stage, direction)) WITHOUT ROWID;
-- Receipts for steps the hub has no record of yet, re-checked when that step's record is stored.
CREATE TABLE pending_receipts (
  id TEXT PRIMARY KEY, step INTEGER NOT NULL, sender BLOB NOT NULL, owner TEXT NOT NULL, encoded BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX pending_by_step ON pending_receipts (step);
CREATE INDEX pending_by_sender ON pending_receipts (sender);
)sql";

// Per node and epoch tallies (node_tally.cpp).
constexpr const char* kVersion2TallySql = R"sql(
CREATE TABLE node_work (
  node_key BLOB NOT NULL, epoch INTEGER NOT NULL, counter TEXT NOT NULL, owner TEXT NOT NULL,
  amount REAL NOT NULL, PRIMARY KEY (node_key, epoch, counter)) WITHOUT ROWID;
CREATE INDEX node_work_owner ON node_work (owner, epoch);
)sql";

// Gateway API keys, balances and debits (paid revenue: api_key_book.cpp, open_epoch.cpp). Amounts
// are micro-units; a key's balance never goes below what its completions in flight reserve.
constexpr const char* kVersion2KeysSql = R"sql(
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, key_hash BLOB NOT NULL UNIQUE,
  balance INTEGER NOT NULL CHECK (balance >= 0), reserved INTEGER NOT NULL CHECK (reserved >= 0 AND reserved <= balance),
  spent INTEGER NOT NULL CHECK (spent >= 0), created_ms INTEGER NOT NULL, revoked_ms INTEGER);
CREATE TABLE debits (
  id INTEGER PRIMARY KEY, key_id INTEGER NOT NULL REFERENCES api_keys (id), epoch INTEGER NOT NULL,
  tokens INTEGER NOT NULL, amount INTEGER NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX debits_epoch ON debits (epoch);
ALTER TABLE open_usage ADD COLUMN demo_tokens INTEGER NOT NULL DEFAULT 0;
)sql";

// Spot checks, weight digests and exclusions (check_book.cpp, weight_reports.cpp, exclusions.cpp),
// and what an epoch's statement adds from them (statement_archive.cpp): its events and each
// owner's activity in its leaf. A check row is one ticket's life: planned, issued, then decided.
constexpr const char* kVersion2ChecksSql = R"sql(
CREATE TABLE checks (
  id INTEGER PRIMARY KEY, state TEXT NOT NULL, round INTEGER NOT NULL, first_check INTEGER,
  step INTEGER NOT NULL, micro_batch INTEGER NOT NULL, micro_batches INTEGER NOT NULL, stage INTEGER NOT NULL,
  tokens INTEGER NOT NULL, worker BLOB NOT NULL, tokens_hash BLOB NOT NULL,
  forward_in BLOB, backward_in BLOB, forward_out BLOB, backward_out BLOB,
  neighbours BLOB NOT NULL, checker BLOB, checker_owner TEXT, ticket BLOB, report INTEGER, reason TEXT,
  created_ms INTEGER NOT NULL, issued_ms INTEGER, expires_ms INTEGER);
CREATE INDEX checks_open ON checks (state) WHERE state IN ('planned', 'issued');
CREATE INDEX checks_slot ON checks (step, micro_batch);
CREATE TABLE check_counts (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE weight_digests (
  step INTEGER NOT NULL, stage INTEGER NOT NULL, node_key BLOB NOT NULL, digest BLOB NOT NULL,
  PRIMARY KEY (step, stage, node_key)) WITHOUT ROWID;
CREATE TABLE exclusions (
  node_key BLOB PRIMARY KEY, owner TEXT NOT NULL, reason TEXT NOT NULL, step INTEGER NOT NULL,
  epoch INTEGER NOT NULL, excluded_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX exclusions_epoch ON exclusions (epoch);
ALTER TABLE statements ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
CREATE TABLE statement_events (
  epoch INTEGER NOT NULL, seq INTEGER NOT NULL, node_key BLOB NOT NULL, owner TEXT NOT NULL, kind TEXT NOT NULL,
  reason TEXT NOT NULL, step INTEGER NOT NULL, PRIMARY KEY (epoch, seq)) WITHOUT ROWID;
CREATE TABLE leaf_activity (
  owner TEXT NOT NULL, epoch INTEGER NOT NULL, rejected INTEGER NOT NULL, passed INTEGER NOT NULL,
  failed INTEGER NOT NULL, PRIMARY KEY (owner, epoch)) WITHOUT ROWID;
)sql";

// Version 3: data credit (data_credit.h, open_epoch.cpp, statement_archive.cpp). Per contributor
// the open epoch's trained tokens of its shards and the thousandths of a data unit not settled
// yet (the epoch's tokens x rate plus the fraction carried from earlier closes; what would pass
// 2^64 - 1 is counted in withheld_milli); each balance's cumulative data units and each
// statement's total of them (0 for the epochs before).
constexpr const char* kVersion3DataSql = R"sql(
CREATE TABLE open_data (
  owner TEXT PRIMARY KEY, tokens INTEGER NOT NULL, milli INTEGER NOT NULL, withheld_milli INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE balance_history ADD COLUMN data_units INTEGER NOT NULL DEFAULT 0;
ALTER TABLE statements ADD COLUMN total_data_units INTEGER NOT NULL DEFAULT 0;
)sql";

void apply(ledger::detail::Connection& db, int version) {
  db.exec("BEGIN IMMEDIATE");
  try {
    if (version == 1) db.exec(kVersion1Sql);
    if (version == 2)
      for (const char* sql : {kVersion2StepsSql, kVersion2TallySql, kVersion2KeysSql, kVersion2ChecksSql}) db.exec(sql);
    if (version == 3) db.exec(kVersion3DataSql);
    db.exec("PRAGMA application_id = " + std::to_string(kHubApplicationId));
    db.exec("PRAGMA user_version = " + std::to_string(version));
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
}

// The schema version of a hub database (0 for an empty file); refuses anything else.
int check_version(ledger::detail::Connection& db) {
  const auto application_id = db.pragma_int("application_id");
  const auto version = static_cast<int>(db.pragma_int("user_version"));
  const std::string where = "hub database " + db.file().string();
  if (application_id != kHubApplicationId) {
    auto count = db.prepare("SELECT COUNT(*) FROM sqlite_schema");
    count.step();
    if (count.column_int(0) != 0 || application_id != 0 || version != 0)
      throw std::runtime_error(where + " is an SQLite database but not a Tessera hub's; it was not modified: "
                                       "move it aside or choose another --data-dir");
    return 0;
  }
  if (version > kHubSchemaVersion)
    throw std::runtime_error(where + " has schema version " + std::to_string(version) + ", newer than this build (" +
                             std::to_string(kHubSchemaVersion) + "); it was not modified: update tessera-hub");
  return version;
}

void check_run(ledger::detail::Connection& db, const std::string& run_id) {
  auto insert = db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('run', ?)");
  insert.bind(1, run_id);
  insert.run();
  auto stored = db.prepare("SELECT value FROM meta WHERE key = 'run'");
  stored.step();
  if (stored.column_text(0) != run_id)
    throw std::runtime_error("hub database " + db.file().string() + " belongs to run " + stored.column_text(0) +
                             ", not " + run_id + "; it was not modified: choose another --data-dir");
}

}  // namespace

void migrate_hub_store(ledger::detail::Connection& db, const std::string& run_id) {
  for (int version = check_version(db); version < kHubSchemaVersion;) apply(db, ++version);
  check_run(db, run_id);
}

}  // namespace tessera::hub
