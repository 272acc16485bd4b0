// The hub's durable state (DESIGN.md "Trust model": a killed hub credits nothing twice and loses
// nothing it acknowledged): one SQLite database per run, <state dir>/hub-<run>.db, in WAL mode
// with synchronous=FULL, held with an exclusive lock so a second hub cannot open it. A hub
// without a state folder keeps the same tables in memory. What lives here and who writes it:
// members (run_roster), receipts and their tally (receipt_log), the open epoch's credits
// (settlement_book), the published statements and balances (statement_archive); the tables are
// in hub_schema.cpp.
//
// One connection, one lock: a Transaction holds the lock from BEGIN IMMEDIATE to COMMIT (or the
// rollback its destructor does), and a read holds it for one query. Whatever an HTTP reply
// acknowledges has committed first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>

#include "core/ledger/sqlite.h"

namespace tessera::hub {

using Database = ledger::detail::Connection;
using Query = ledger::detail::Statement;

// SQLite stores signed 64-bit integers: unsigned counters (units, micro-units) keep their bits.
inline std::int64_t to_sql(std::uint64_t value) { return static_cast<std::int64_t>(value); }
inline std::uint64_t from_sql(std::int64_t value) { return static_cast<std::uint64_t>(value); }

class HubStore {
 public:
  // Opens (creating or migrating) `file` for `run_id`; an empty path keeps the database in
  // memory. Throws std::runtime_error when the file belongs to another run, is damaged, is newer
  // than this hub, or another hub holds it.
  HubStore(const std::filesystem::path& file, const std::string& run_id);
  HubStore(const HubStore&) = delete;
  HubStore& operator=(const HubStore&) = delete;

  class Transaction {
   public:
    ~Transaction();  // rolls back unless committed
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    Database& db() { return store_.db_; }
    // Durable once this returns (synchronous=FULL). Throws, and rolls back, when it cannot commit.
    void commit();

   private:
    friend class HubStore;
    explicit Transaction(HubStore& store);
    HubStore& store_;
    std::unique_lock<std::mutex> lock_;
    bool open_ = true;
  };

  // BEGIN IMMEDIATE under the store's lock (waits for the transaction in progress, if any).
  Transaction begin() { return Transaction(*this); }

  // Runs `query(Database&)` under the store's lock; returns what it returns.
  template <typename Read>
  auto read(Read&& query) const {
    std::lock_guard lock(mutex_);
    return query(db_);
  }

  // Empty for an in-memory store.
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  mutable std::mutex mutex_;
  mutable Database db_;
};

// The store a hub for `run_id` keeps in `state_dir` (created if missing): hub-<run>.db, or an
// in-memory one when `state_dir` is empty.
std::filesystem::path hub_store_file(const std::filesystem::path& state_dir, const std::string& run_id);

}  // namespace tessera::hub
