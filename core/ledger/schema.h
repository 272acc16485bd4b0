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
// A file is recognised by PRAGMA application_id; a newer user_version than this build knows is
// refused before anything is written.
#pragma once

#include <cstdint>

#include "core/ledger/records.h"
#include "core/ledger/sqlite.h"

namespace tessera::ledger {

inline constexpr int kSchemaVersion = 3;
inline constexpr std::int32_t kApplicationId = 0x54455353;  // "TESS"

namespace detail {

// Checks that the connection holds a Tessera ledger (or an empty file when `allow_empty`) that
// this build can read, and returns its schema version (0 for an empty file). Throws a
// runtime_error naming the file otherwise.
int check_file(Connection& connection, bool allow_empty);

// Applies the migrations from the file's version up to `target`, each in its own transaction.
void migrate(Connection& connection, int target = kSchemaVersion);

}  // namespace detail
}  // namespace tessera::ledger
