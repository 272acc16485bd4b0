// The ledger's SQLite schema and its migrations, keyed by PRAGMA user_version:
//   1  the append-only tables (sessions, work, receipts, statements, revenue, payouts, events),
//      each row with seq (its place in the chain), prev_hash and hash; heads (one signed chain head
//      per committed transaction)
//   2  roll-ups: rollup_work (per hour and per day, per run), rollup_ownership (per run and epoch),
//      rollup_revenue (per run, epoch and currency), back-filled from the raw rows
//   3  unique keys: revenue_keys and statements_keys (TableInfo::unique_key) name the one row of
//      each key that counts; an older log's first row of each key is kept, its repeats (a node
//      that fetched the same epoch again on every start) stay in the chain but no longer count,
//      and rollup_revenue is rebuilt from the rows that do
//   4  what each epoch's verified leaf says of the owner's work in that epoch: rollup_ownership
//      gains epoch_rejected, epoch_checks_passed and epoch_checks_failed, read from the statement
//      row's proof (the leaf as verified, JSON keys rejected_receipts, checks_passed,
//      checks_failed; 0 for statements whose leaves carry none), so they stay covered by the
//      chain: the row itself is not changed
//   5  data units: rollup_ownership gains data_units, how many of the owner's cumulative units
//      were credited for its data shards, read the same way from the proof (JSON key data_units;
//      0 for statements before version 3)
// A file is recognised by PRAGMA application_id; a newer user_version than this build knows is
// refused before anything is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/ledger/records.h"
#include "core/ledger/sqlite.h"

namespace tessera::ledger {

inline constexpr int kSchemaVersion = 5;
inline constexpr std::int32_t kApplicationId = 0x54455353;  // "TESS"

namespace detail {

// Checks that the connection holds a Tessera ledger (or an empty file when `allow_empty`) that
// this build can read, and returns its schema version (0 for an empty file). Throws a
// runtime_error naming the file otherwise.
int check_file(Connection& connection, bool allow_empty);

// SQL for one count of the leaf in a statement row's proof column `proof` (JSON text in a blob):
// the integer at `key`, 0 when the proof is not JSON or has no such key. `key` is a plain name.
std::string proof_count_sql(std::string_view proof, std::string_view key);
// The three, as "expr AS epoch_rejected, …" for a SELECT over the statements table.
std::string proof_activity_sql(std::string_view proof);
// The leaf's cumulative data units (schema version 5) the same way.
std::string proof_data_units_sql(std::string_view proof);

// Applies the migrations from the file's version up to `target`, each in its own transaction.
void migrate(Connection& connection, int target = kSchemaVersion);

}  // namespace detail
}  // namespace tessera::ledger
