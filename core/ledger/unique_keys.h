// The writer's check of the tables that have a unique key (TableInfo::unique_key; internal to
// core/ledger): whether a record's key is already in the log, and remembering the row that holds
// it, both inside the writer's transaction so a rolled-back batch forgets its keys too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/ledger/records.h"
#include "core/ledger/sqlite.h"

namespace tessera::ledger::detail {

class UniqueKeys {
 public:
  // Prepares its statements on the writer's connection (schema version 3 or later).
  explicit UniqueKeys(Connection& connection);

  // The seq of the row already recorded with `record`'s key; none when it is new or its table has
  // no key.
  std::optional<std::int64_t> recorded(const Record& record);
  // `record` was just inserted as row `seq`: its key now names that row.
  void remember(const Record& record, std::int64_t seq);

 private:
  struct Key {
    std::vector<std::size_t> columns;  // the key's places in the record's values
    Statement find;
    Statement insert;
  };
  // Binds the key's values of `record` to `statement` from parameter 1 on; returns how many.
  static int bind_key(Statement& statement, const Key& key, const Record& record);

  std::vector<std::optional<Key>> keys_;  // per table, in Table order
};

}  // namespace tessera::ledger::detail
