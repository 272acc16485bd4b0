// Lookups and inserts on <table>_keys (see unique_keys.h).
#include "core/ledger/unique_keys.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace tessera::ledger::detail {
namespace {

void bind_value(Statement& statement, int index, const Value& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<std::uint8_t>>)
          statement.bind_blob(index, v);
        else if constexpr (std::is_same_v<T, std::string>)
          statement.bind(index, std::string_view(v));
        else
          statement.bind(index, v);
      },
      value);
}

std::size_t column_index(const TableInfo& info, std::string_view name) {
  const auto found = std::find_if(info.columns.begin(), info.columns.end(),
                                  [&](const Column& column) { return column.name == name; });
  if (found == info.columns.end())
    throw std::logic_error("unique key column " + std::string(name) + " is not a column of " + std::string(info.name));
  return static_cast<std::size_t>(found - info.columns.begin());
}

}  // namespace

UniqueKeys::UniqueKeys(Connection& connection) {
  for (const auto& info : all_tables()) {
    if (info.unique_key.empty()) {
      keys_.emplace_back();
      continue;
    }
    std::vector<std::size_t> columns;
    std::string where, names, marks;
    for (const auto name : info.unique_key) {
      columns.push_back(column_index(info, name));
      where += (where.empty() ? "" : " AND ") + std::string(name) + " = ?";
      names += std::string(name) + ", ";
      marks += "?, ";
    }
    const std::string table = std::string(info.name) + "_keys";
    keys_.emplace_back(Key{std::move(columns), connection.prepare("SELECT seq FROM " + table + " WHERE " + where),
                           connection.prepare("INSERT INTO " + table + " (" + names + "seq) VALUES (" + marks + "?)")});
  }
}

int UniqueKeys::bind_key(Statement& statement, const Key& key, const Record& record) {
  const auto values = to_values(record);
  int index = 0;
  for (const auto column : key.columns) bind_value(statement, ++index, values[column]);
  return index;
}

std::optional<std::int64_t> UniqueKeys::recorded(const Record& record) {
  auto& key = keys_[static_cast<std::size_t>(table_of(record))];
  if (!key) return std::nullopt;
  bind_key(key->find, *key, record);
  std::optional<std::int64_t> seq;
  if (key->find.step()) seq = key->find.column_int(0);
  key->find.reset();
  return seq;
}

void UniqueKeys::remember(const Record& record, std::int64_t seq) {
  auto& key = keys_[static_cast<std::size_t>(table_of(record))];
  if (!key) return;
  key->insert.bind(bind_key(key->insert, *key, record) + 1, seq);
  key->insert.run();
}

}  // namespace tessera::ledger::detail
