// SQLite C API wrappers with user-facing error messages.
#include "core/ledger/sqlite.h"

#include <sqlite3.h>

#include "core/ledger/records.h"

namespace tessera::ledger::detail {

std::string describe(int rc, sqlite3* db, const std::filesystem::path& file, std::string_view action,
                     std::string_view what) {
  const std::string where = std::string(what) + " " + file.string();
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return where + " is not a Tessera " + std::string(what) + " (the file is not an SQLite database); it was not "
                     "modified: move it aside or pass --db with the right file";
    case SQLITE_CORRUPT:
      return where + " is damaged (" + detail + "); it was not modified: restore it from a backup, or move it "
                     "aside to start a new log";
    case SQLITE_FULL:
      return "cannot " + std::string(action) + " " + where +
             ": the disk (or the log's size limit) is full; nothing already recorded was lost, free some space "
             "and the node will record again";
    case SQLITE_READONLY:
      return "cannot " + std::string(action) + " " + where +
             ": the file or its folder is read-only (" + detail + "); make the folder writable or choose "
             "another --data-dir";
    case SQLITE_CANTOPEN:
      return "cannot " + std::string(action) + " " + where + " (" + detail +
             "): check that the folder exists and that you may write to it";
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "cannot " + std::string(action) + " " + where + ": permission denied (" + detail + ")";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "cannot " + std::string(action) + " " + where +
             ": it is busy (another program holds a lock); is another tessera-node writing to it?";
    case SQLITE_IOERR:
      return "cannot " + std::string(action) + " " + where + ": input/output error (" + detail +
             "); the disk may be failing or full";
    default:
      return "cannot " + std::string(action) + " " + where + ": " + detail;
  }
}

namespace {

// file: URI for sqlite3_open_v2 with SQLITE_OPEN_URI.
std::string immutable_uri(const std::filesystem::path& file) {
  static const char* hex = "0123456789ABCDEF";
  std::string uri = "file:";
  for (unsigned char c : std::filesystem::absolute(file).string()) {
    if (c == '%' || c == '?' || c == '#' || c < 0x21 || c > 0x7e) {
      uri += '%';
      uri += hex[c >> 4];
      uri += hex[c & 15];
    } else {
      uri += static_cast<char>(c);
    }
  }
  return uri + "?immutable=1";
}

}  // namespace

Connection::Connection(Connection&& other) noexcept
    : db_(other.db_), file_(std::move(other.file_)), what_(std::move(other.what_)) {
  other.db_ = nullptr;
}

Connection::Connection(const std::filesystem::path& file, Mode mode, std::string what)
    : file_(file), what_(std::move(what)) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  std::string name = file.string();
  if (mode == Mode::ReadOnly) flags = SQLITE_OPEN_READONLY;
  if (mode == Mode::Immutable) {
    flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
    name = immutable_uri(file);
  }
  const int rc = sqlite3_open_v2(name.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = describe(rc, db_, file, mode == Mode::ReadWriteCreate ? "write to" : "read", what_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw SqliteError(rc, message);
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 10000);
}

Connection::~Connection() { sqlite3_close_v2(db_); }

void Connection::fail(int rc, std::string_view action) const {
  throw SqliteError(rc & 0xff, describe(rc, db_, file_, action, what_));
}

void Connection::exec(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  sqlite3_free(error);
  if (rc != SQLITE_OK) fail(rc, "run `" + text.substr(0, 60) + "` on");
}

Statement Connection::prepare(std::string_view sql) { return Statement(*this, sql); }

std::int64_t Connection::pragma_int(std::string_view pragma) {
  auto statement = prepare("PRAGMA " + std::string(pragma));
  if (!statement.step()) return 0;
  return statement.column_int(0);
}

Statement::Statement(Connection& connection, std::string_view sql) : connection_(&connection) {
  const int rc = sqlite3_prepare_v3(connection.handle(), sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  if (rc != SQLITE_OK) connection.fail(rc, "prepare `" + std::string(sql.substr(0, 60)) + "` on");
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement::Statement(Statement&& other) noexcept : connection_(other.connection_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    connection_ = other.connection_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

void Statement::bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
void Statement::bind(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
void Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}
void Statement::bind_blob(int index, std::span<const std::uint8_t> bytes) {
  // A zero-length blob must still be a blob, not NULL.
  static const std::uint8_t empty = 0;
  sqlite3_bind_blob(stmt_, index, bytes.empty() ? &empty : bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_TRANSIENT);
}
void Statement::bind_null(int index) { sqlite3_bind_null(stmt_, index); }
void Statement::bind_text_static(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}
void Statement::bind_blob_static(int index, std::span<const std::uint8_t> bytes) {
  static const std::uint8_t empty = 0;
  sqlite3_bind_blob(stmt_, index, bytes.empty() ? &empty : bytes.data(), static_cast<int>(bytes.size()),
                    SQLITE_STATIC);
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  const std::string message =
      describe(rc, connection_->handle(), connection_->file(),
               "run `" + std::string(sql != nullptr ? sql : "").substr(0, 60) + "` on", connection_->what());
  sqlite3_reset(stmt_);  // leave the statement reusable and no longer active
  throw SqliteError(rc & 0xff, message);
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }
bool Statement::column_is(int index, ColumnType type) const {
  const int stored = sqlite3_column_type(stmt_, index);
  switch (type) {
    case ColumnType::Integer: return stored == SQLITE_INTEGER;
    case ColumnType::Real: return stored == SQLITE_FLOAT || stored == SQLITE_INTEGER;  // REAL affinity may store whole numbers as integers
    case ColumnType::Text: return stored == SQLITE_TEXT;
    case ColumnType::Blob: return stored == SQLITE_BLOB;
  }
  return false;
}
double Statement::column_double(int index) const { return sqlite3_column_double(stmt_, index); }
std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  return text != nullptr ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)) : std::string();
}
std::span<const std::uint8_t> Statement::column_blob(int index) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, index));
  const int size = sqlite3_column_bytes(stmt_, index);
  return {data, data != nullptr ? static_cast<std::size_t>(size) : 0};
}
bool Statement::column_is_null(int index) const { return sqlite3_column_type(stmt_, index) == SQLITE_NULL; }

}  // namespace tessera::ledger::detail
