// Shared helpers for the ledger suites: sample records, a writer over a temporary file, direct
// SQLite access for hand edits (what a user with the sqlite3 shell could do).
#pragma once

#include <QtTest>

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/wallet/encoding.h"
#include "core/ledger/ledger.h"
#include "core/ledger/reader.h"

namespace ledger_test {

using namespace tessera::ledger;
using tessera::wallet::to_hex;

inline constexpr std::int64_t kNow = 1'800'000'000'000;  // a fixed "now" (2027-01-15)

inline WorkRecord work(std::int64_t at_ms, std::int64_t step, const std::string& run = "run-a") {
  WorkRecord r;
  r.at_ms = at_ms;
  r.session_id = "s1";
  r.run = run;
  r.step = step;
  r.stage = 2;
  r.micro_batches = 4;
  r.tokens = 512;
  r.flops = 1.5e12 + static_cast<double>(step);
  r.device_seconds = 0.5;
  r.energy_joules = 100.0 + static_cast<double>(step % 7);
  r.codec = "int8";
  r.bytes_sent = 1000;
  r.bytes_received = 2000;
  r.receipt_ids = "r" + std::to_string(step);
  return r;
}

inline StatementRecord statement(const std::string& run, std::int64_t epoch, double units, double run_units,
                                 std::int64_t cumulative_revenue, bool verified) {
  StatementRecord r;
  r.at_ms = kNow - 1000;
  r.run = run;
  r.epoch = epoch;
  r.owner = "owner1";
  r.units = units;
  r.run_units = run_units;
  r.cumulative_revenue = cumulative_revenue;
  r.currency = "USDC";
  r.merkle_root = std::vector<std::uint8_t>(32, 7);
  r.proof = {1, 2, 3};
  r.hub_signature = std::vector<std::uint8_t>(64, 9);
  r.verified = verified;
  return r;
}

inline RevenueRecord revenue(const std::string& run, std::int64_t epoch, std::int64_t amount) {
  return RevenueRecord{kNow - 2000, run, epoch, amount, "USDC", "inference"};
}

// Runs SQL on the file through its own connection, as a person with the sqlite3 shell would.
inline void hand_edit(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  QCOMPARE(sqlite3_open(file.string().c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  QVERIFY2(rc == SQLITE_OK, message.c_str());
}

inline std::int64_t query_int(const std::filesystem::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
    value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

inline std::filesystem::path path_in(const QTemporaryDir& dir, const char* name = "contributions.db") {
  return std::filesystem::path(dir.path().toStdString()) / name;
}

}  // namespace ledger_test
