// Typed reads of ledger rows.
#include "core/ledger/row_values.h"

#include <cstdint>

namespace tessera::ledger::detail {

std::string column_list(const TableInfo& info) {
  std::string list;
  for (const auto& column : info.columns) list += ", " + std::string(column.name);
  return list;
}

std::vector<Value> read_values(const Statement& statement, const TableInfo& info, int first, bool* type_mismatch) {
  std::vector<Value> values;
  values.reserve(info.columns.size());
  for (std::size_t i = 0; i < info.columns.size(); ++i) {
    const int index = first + static_cast<int>(i);
    if (type_mismatch != nullptr && !statement.column_is(index, info.columns[i].type)) *type_mismatch = true;
    switch (info.columns[i].type) {
      case ColumnType::Integer: values.emplace_back(statement.column_int(index)); break;
      case ColumnType::Real: values.emplace_back(statement.column_double(index)); break;
      case ColumnType::Text: values.emplace_back(statement.column_text(index)); break;
      case ColumnType::Blob: {
        const auto blob = statement.column_blob(index);
        values.emplace_back(std::vector<std::uint8_t>(blob.begin(), blob.end()));
        break;
      }
    }
  }
  return values;
}

}  // namespace tessera::ledger::detail
