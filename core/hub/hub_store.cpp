// Opening the hub's database, and its transactions.
#include "core/hub/hub_store.h"

#include <sqlite3.h>

#include <stdexcept>

#include "core/hub/hub_schema.h"

namespace tessera::hub {
namespace {

Database open(const std::filesystem::path& file) {
  if (file.empty()) return Database(":memory:", Database::Mode::ReadWriteCreate, "hub database");
  Database db(file, Database::Mode::ReadWriteCreate, "hub database");
  sqlite3_busy_timeout(db.handle(), 200);  // another hub holds the file: say so now, not in 10 s
  // Exclusive: this hub is the only process on the file (a second one is refused below), and WAL
  // then needs no shared-memory index. Durable at each commit: synchronous=FULL.
  db.exec("PRAGMA locking_mode = EXCLUSIVE");
  auto mode = db.prepare("PRAGMA journal_mode = WAL");
  if (!mode.step() || mode.column_text(0) != "wal")
    throw std::runtime_error("hub database " + file.string() +
                             ": cannot switch to write-ahead logging (is the folder on a network drive?)");
  return db;
}

}  // namespace

std::filesystem::path hub_store_file(const std::filesystem::path& state_dir, const std::string& run_id) {
  if (state_dir.empty()) return {};
  std::filesystem::create_directories(state_dir);
  return state_dir / ("hub-" + run_id + ".db");
}

HubStore::HubStore(const std::filesystem::path& file, const std::string& run_id) try : file_(file), db_(open(file)) {
  db_.exec("PRAGMA synchronous = FULL");
  migrate_hub_store(db_, run_id);
} catch (const ledger::detail::SqliteError& error) {
  if (error.code() == SQLITE_BUSY || error.code() == SQLITE_LOCKED)
    throw std::runtime_error("hub database " + file.string() +
                             " is in use by another tessera-hub (one hub per state folder): stop it or choose "
                             "another --data-dir");
  throw;
}

HubStore::Transaction::Transaction(HubStore& store) : store_(store), lock_(store.mutex_) {
  store_.db_.exec("BEGIN IMMEDIATE");
}

HubStore::Transaction::~Transaction() {
  if (!open_) return;
  try {
    store_.db_.exec("ROLLBACK");
  } catch (const std::exception&) {
    // SQLite already rolled back (a failed COMMIT or an I/O error): nothing is left to undo.
  }
}

void HubStore::Transaction::commit() {
  store_.db_.exec("COMMIT");
  open_ = false;
}

}  // namespace tessera::hub
