// Exclusions in the store and in memory.
#include "core/hub/exclusions.h"

#include <chrono>
#include <cstring>

#include <sqlite3.h>

namespace tessera::hub {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

wallet::PublicKey key_column(const Query& query, int column) {
  wallet::PublicKey key{};
  const auto blob = query.column_blob(column);
  if (blob.size() == key.size()) std::memcpy(key.data(), blob.data(), key.size());
  return key;
}

}  // namespace

Exclusions::Exclusions(HubStore& store) {
  store.read([this](Database& db) {
    auto query = db.prepare("SELECT node_key, owner, reason FROM exclusions");
    while (query.step()) {
      nodes_[key_column(query, 0)] = query.column_text(2);
      owners_.emplace(query.column_text(1), query.column_text(2));
    }
    return 0;
  });
}

bool Exclusions::exclude(HubStore::Transaction& transaction, const wallet::PublicKey& node, const std::string& owner,
                         const std::string& reason, std::uint64_t step, std::uint64_t epoch) {
  auto insert = transaction.db().prepare(
      "INSERT OR IGNORE INTO exclusions (node_key, owner, reason, step, epoch, excluded_ms) VALUES (?, ?, ?, ?, ?, ?)");
  insert.bind_blob(1, node);
  insert.bind(2, owner);
  insert.bind(3, reason);
  insert.bind(4, to_sql(step));
  insert.bind(5, to_sql(epoch));
  insert.bind(6, now_ms());
  insert.run();
  const bool added = sqlite3_changes(transaction.db().handle()) > 0;
  std::lock_guard lock(mutex_);
  nodes_.emplace(node, reason);
  owners_.emplace(owner, reason);
  return added;
}

std::optional<std::string> Exclusions::refusal(const wallet::PublicKey& node, const std::string* owner) const {
  std::lock_guard lock(mutex_);
  if (const auto found = nodes_.find(node); found != nodes_.end()) return found->second;
  if (owner)
    if (const auto found = owners_.find(*owner); found != owners_.end()) return found->second;
  return std::nullopt;
}

std::vector<protocol::StatementEvent> Exclusions::events(Database& db, std::uint64_t epoch) {
  auto query = db.prepare(
      "SELECT node_key, owner, reason, step FROM exclusions WHERE epoch = ? ORDER BY excluded_ms, node_key");
  query.bind(1, to_sql(epoch));
  std::vector<protocol::StatementEvent> events;
  while (query.step())
    events.push_back({key_column(query, 0), query.column_text(1), "excluded", query.column_text(2),
                      from_sql(query.column_int(3))});
  return events;
}

}  // namespace tessera::hub
