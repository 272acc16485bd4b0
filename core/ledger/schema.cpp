// Schema creation and migrations.
#include "core/ledger/schema.h"

#include <string>

#include "core/ledger/records.h"

namespace tessera::ledger::detail {
namespace {

std::string sql_type(ColumnType type) {
  switch (type) {
    case ColumnType::Integer: return "INTEGER";
    case ColumnType::Real: return "REAL";
    case ColumnType::Text: return "TEXT";
    case ColumnType::Blob: return "BLOB";
  }
  return "BLOB";
}

// Version 1. The column lists come from records.cpp; a later change to a table's columns must
// come with a new migration (and a copy of the old list here).
std::string version_1_sql() {
  std::string sql;
  for (const auto& info : all_tables()) {
    sql += "CREATE TABLE " + std::string(info.name) +
           " (seq INTEGER PRIMARY KEY, prev_hash BLOB NOT NULL, hash BLOB NOT NULL";
    for (const auto& column : info.columns)
      sql += ", " + std::string(column.name) + " " + sql_type(column.type) + " NOT NULL";
    sql += ");\n";
  }
  sql +=
      "CREATE TABLE heads (txn INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL, head_hash BLOB NOT NULL, "
      "public_key BLOB NOT NULL, signature BLOB NOT NULL, committed_at_ms INTEGER NOT NULL);\n";
  return sql;
}

// Version 2: roll-ups, maintained by the writer in the same transaction as the rows they sum.
// granularity 0 = hour buckets, 1 = day buckets; bucket_ms is the bucket's start.
constexpr const char* kVersion2Sql = R"sql(
CREATE TABLE rollup_work (
  granularity INTEGER NOT NULL, bucket_ms INTEGER NOT NULL, run TEXT NOT NULL,
  rows INTEGER NOT NULL, micro_batches INTEGER NOT NULL, tokens INTEGER NOT NULL, flops REAL NOT NULL,
  device_seconds REAL NOT NULL, energy_joules REAL NOT NULL, bytes_sent INTEGER NOT NULL,
  bytes_received INTEGER NOT NULL,
  PRIMARY KEY (granularity, bucket_ms, run)) WITHOUT ROWID;
CREATE TABLE rollup_ownership (
  run TEXT NOT NULL, epoch INTEGER NOT NULL, at_ms INTEGER NOT NULL, units REAL NOT NULL,
  run_units REAL NOT NULL, cumulative_revenue INTEGER NOT NULL, currency TEXT NOT NULL,
  verified INTEGER NOT NULL, statement_seq INTEGER NOT NULL,
  PRIMARY KEY (run, epoch)) WITHOUT ROWID;
CREATE TABLE rollup_revenue (
  run TEXT NOT NULL, epoch INTEGER NOT NULL, currency TEXT NOT NULL, accrued INTEGER NOT NULL,
  rows INTEGER NOT NULL,
  PRIMARY KEY (run, epoch, currency)) WITHOUT ROWID;
INSERT INTO rollup_work
  SELECT g.granularity, (w.at_ms / g.size) * g.size, w.run, COUNT(*), SUM(w.micro_batches), SUM(w.tokens),
         SUM(w.flops), SUM(w.device_seconds), SUM(w.energy_joules), SUM(w.bytes_sent), SUM(w.bytes_received)
  FROM work w, (SELECT 0 AS granularity, 3600000 AS size UNION ALL SELECT 1, 86400000) g
  GROUP BY 1, 2, 3;
INSERT INTO rollup_ownership
  SELECT run, epoch, at_ms, units, run_units, cumulative_revenue, currency, verified, seq FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY run, epoch ORDER BY verified DESC, seq DESC) AS pick
    FROM statements) WHERE pick = 1;
INSERT INTO rollup_revenue
  SELECT run, epoch, currency, SUM(amount), COUNT(*) FROM revenue GROUP BY run, epoch, currency;
)sql";

// Version 3: one row per unique key counts (records.cpp: kStatementKey, kRevenueKey). The rows
// are append-only and chained, so repeats already written stay; the key tables point at the first
// row of each key, and the revenue roll-up sums only those.
constexpr const char* kVersion3Sql = R"sql(
CREATE TABLE statements_keys (
  run TEXT NOT NULL, epoch INTEGER NOT NULL, owner TEXT NOT NULL, verified INTEGER NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (run, epoch, owner, verified)) WITHOUT ROWID;
CREATE TABLE revenue_keys (
  run TEXT NOT NULL, epoch INTEGER NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (run, epoch, source)) WITHOUT ROWID;
INSERT INTO statements_keys SELECT run, epoch, owner, verified, MIN(seq) FROM statements GROUP BY run, epoch, owner, verified;
INSERT INTO revenue_keys SELECT run, epoch, source, MIN(seq) FROM revenue GROUP BY run, epoch, source;
DELETE FROM rollup_revenue;
INSERT INTO rollup_revenue
  SELECT run, epoch, currency, SUM(amount), COUNT(*) FROM revenue WHERE seq IN (SELECT seq FROM revenue_keys)
  GROUP BY run, epoch, currency;
)sql";

// Version 4: the leaf's activity in the epoch beside the ownership it settles (schema.h).
std::string version_4_sql() {
  std::string sql =
      "ALTER TABLE rollup_ownership ADD COLUMN epoch_rejected INTEGER NOT NULL DEFAULT 0;\n"
      "ALTER TABLE rollup_ownership ADD COLUMN epoch_checks_passed INTEGER NOT NULL DEFAULT 0;\n"
      "ALTER TABLE rollup_ownership ADD COLUMN epoch_checks_failed INTEGER NOT NULL DEFAULT 0;\n";
  sql += "UPDATE rollup_ownership SET (epoch_rejected, epoch_checks_passed, epoch_checks_failed) = (SELECT " +
         proof_count_sql("s.proof", "rejected_receipts") + ", " + proof_count_sql("s.proof", "checks_passed") +
         ", " + proof_count_sql("s.proof", "checks_failed") +
         " FROM statements s WHERE s.seq = rollup_ownership.statement_seq);\n";
  return sql;
}

// Version 5: the leaf's data units beside the units they are part of (schema.h).
std::string version_5_sql() {
  return "ALTER TABLE rollup_ownership ADD COLUMN data_units INTEGER NOT NULL DEFAULT 0;\n"
         "UPDATE rollup_ownership SET data_units = (SELECT " + proof_data_units_sql("s.proof") +
         " FROM statements s WHERE s.seq = rollup_ownership.statement_seq);\n";
}

void apply(Connection& connection, int version) {
  connection.exec("BEGIN IMMEDIATE");
  try {
    if (version == 1) connection.exec(version_1_sql());
    if (version == 2) connection.exec(kVersion2Sql);
    if (version == 3) connection.exec(kVersion3Sql);
    if (version == 4) connection.exec(version_4_sql());
    if (version == 5) connection.exec(version_5_sql());
    connection.exec("PRAGMA application_id = " + std::to_string(kApplicationId));
    connection.exec("PRAGMA user_version = " + std::to_string(version));
    connection.exec("COMMIT");
  } catch (...) {
    connection.exec("ROLLBACK");
    throw;
  }
}

}  // namespace

std::string proof_count_sql(std::string_view proof, std::string_view key) {
  const std::string text = "CAST(" + std::string(proof) + " AS TEXT)";
  return "(CASE WHEN json_valid(" + text + ") THEN CAST(IFNULL(json_extract(" + text + ", '$." + std::string(key) +
         "'), 0) AS INTEGER) ELSE 0 END)";
}

std::string proof_activity_sql(std::string_view proof) {
  return proof_count_sql(proof, "rejected_receipts") + " AS epoch_rejected, " +
         proof_count_sql(proof, "checks_passed") + " AS epoch_checks_passed, " +
         proof_count_sql(proof, "checks_failed") + " AS epoch_checks_failed";
}

std::string proof_data_units_sql(std::string_view proof) { return proof_count_sql(proof, "data_units"); }

int check_file(Connection& connection, bool allow_empty) {
  const auto application_id = connection.pragma_int("application_id");
  const auto version = static_cast<int>(connection.pragma_int("user_version"));
  const std::string where = "contribution log " + connection.file().string();
  if (application_id != kApplicationId) {
    auto count = connection.prepare("SELECT COUNT(*) FROM sqlite_schema");
    count.step();
    const bool empty = count.column_int(0) == 0 && application_id == 0 && version == 0;
    if (!empty)
      throw std::runtime_error(where + " is an SQLite database but not a Tessera contribution log; it was not "
                                       "modified: pass --db with the right file");
    if (!allow_empty)
      throw std::runtime_error(where + " is empty: the node creates the log when it first records work");
    return 0;
  }
  if (version > kSchemaVersion)
    throw std::runtime_error(where + " has schema version " + std::to_string(version) +
                             ", newer than this build of Tessera knows (" + std::to_string(kSchemaVersion) +
                             "); it was not modified: update Tessera to read it");
  return version;
}

void migrate(Connection& connection, int target) {
  int version = static_cast<int>(connection.pragma_int("user_version"));
  while (version < target) apply(connection, ++version);
}

}  // namespace tessera::ledger::detail
