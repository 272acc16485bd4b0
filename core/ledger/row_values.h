// Reading a table's rows back from SQLite as the table declares them (internal to core/ledger):
// the column list to select and the values of one selected row.
#pragma once

#include <string>
#include <vector>

#include "core/ledger/records.h"
#include "core/ledger/sqlite.h"

namespace tessera::ledger::detail {

// ", col1, col2, …" in TableInfo order, to follow the leading columns of a SELECT.
std::string column_list(const TableInfo& info);

// Reads a row's values from `statement`, starting at column `first`, as the table declares them.
// `type_mismatch`, when given, is set if a value is stored with another type than declared (the
// tables are not STRICT: 100.9 in an INTEGER column would read back as 100 and still hash right).
std::vector<Value> read_values(const Statement& statement, const TableInfo& info, int first,
                               bool* type_mismatch = nullptr);

}  // namespace tessera::ledger::detail
