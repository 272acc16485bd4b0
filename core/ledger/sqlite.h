// Thin RAII over the SQLite C API for the ledger (and the hub's store, core/hub/hub_store.h): a
// connection, a prepared statement, and errors turned into messages that name the file and what to
// do. `what` names the file in those messages ("contribution log", "hub database").
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace tessera::ledger {
enum class ColumnType;  // records.h
}

namespace tessera::ledger::detail {

// Thrown for every SQLite failure; `code()` is the primary SQLite result code.
class SqliteError : public std::runtime_error {
 public:
  SqliteError(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

class Statement;

class Connection {
 public:
  // Immutable: read-only without the WAL index (for a log in a folder nobody can write to).
  enum class Mode { ReadWriteCreate, ReadOnly, Immutable };
  Connection(const std::filesystem::path& file, Mode mode, std::string what = "contribution log");
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  Connection& operator=(Connection&&) = delete;

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& file() const { return file_; }
  const std::string& what() const { return what_; }

  void exec(std::string_view sql);
  Statement prepare(std::string_view sql);
  std::int64_t pragma_int(std::string_view pragma);
  // Throws a SqliteError for `rc` with a message naming the file and the action that failed.
  [[noreturn]] void fail(int rc, std::string_view action) const;

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
  std::string what_;
};

class Statement {
 public:
  Statement(Connection& connection, std::string_view sql);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binding is 1-based, like SQLite.
  void bind(int index, std::int64_t value);
  void bind(int index, double value);
  void bind(int index, std::string_view text);
  void bind_blob(int index, std::span<const std::uint8_t> bytes);
  void bind_null(int index);
  // Without a copy: the bytes must stay valid until the statement is stepped.
  void bind_text_static(int index, std::string_view text);
  void bind_blob_static(int index, std::span<const std::uint8_t> bytes);

  bool step();   // true while a row is available; throws on error
  void run();    // step to completion
  void reset();  // reset and clear bindings

  std::int64_t column_int(int index) const;
  // True when the stored value has the declared type (NULL never does).
  bool column_is(int index, ColumnType type) const;
  double column_double(int index) const;
  std::string column_text(int index) const;
  std::span<const std::uint8_t> column_blob(int index) const;
  bool column_is_null(int index) const;

 private:
  Connection* connection_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// What a user should read for an SQLite result code on this file ("the disk is full", …).
std::string describe(int rc, sqlite3* db, const std::filesystem::path& file, std::string_view action,
                     std::string_view what = "contribution log");

}  // namespace tessera::ledger::detail
