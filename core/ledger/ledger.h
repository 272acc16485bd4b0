// The contribution log's writer: one thread owns the write connection, drains a queue of appends
// and commits them in batches. Each committed transaction chains its rows (chain.h), updates the
// roll-ups and stores the node key's signature over the new chain head. An append returns only
// once its rows are durable (WAL, synchronous=FULL), or throws; a failed batch changes nothing.
// Readers (reader.h) open their own read-only connections at any time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/ledger/records.h"
#include "core/wallet/signing.h"

namespace tessera::ledger {

// The log's file name inside the data folder.
inline constexpr std::string_view kDefaultFileName = "contributions.db";

struct WriterOptions {
  // Most rows one transaction commits (more queued appends wait for the next one).
  std::size_t max_batch_rows = 16384;
  // When set, the file may not grow beyond this many bytes (PRAGMA max_page_count): appends past
  // it fail exactly as on a full disk. For tests and for users who want a cap.
  std::optional<std::int64_t> max_file_bytes;
};

class LedgerWriter {
 public:
  // Opens (creating and migrating when needed) the log at `file`. The key signs every chain head;
  // a copy of it is kept in sodium_malloc memory. Throws std::runtime_error with a message a user
  // can act on (not a ledger, damaged, newer schema, read-only folder, full disk).
  LedgerWriter(const std::filesystem::path& file, const wallet::KeyPair& node_key, WriterOptions options = {});
  ~LedgerWriter();  // commits what is queued, then stops the writer thread
  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;

  // Each returns the rows' seq numbers once they are durable; throws if they could not be
  // recorded (nothing of that batch is then in the file). A record whose unique key
  // (TableInfo::unique_key) is already in the log is not recorded again: its seq is that of the
  // row already there. Thread-safe.
  std::int64_t append(Record record);
  std::vector<std::int64_t> append(std::vector<Record> records);
  // The same without waiting: the future holds the seq numbers or the error.
  std::future<std::vector<std::int64_t>> submit(std::vector<Record> records);

  const std::filesystem::path& file() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Milliseconds since the Unix epoch, now.
std::int64_t now_ms();

}  // namespace tessera::ledger
