// Published epochs in the store: statements, balance history, rebuilt trees.
#include "core/hub/statement_archive.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "core/hub/statement_activity.h"

namespace tessera::hub {
namespace {

constexpr const char* kStatementColumns =
    "epoch, owner_count, total_units, total_revenue, epoch_revenue, carried_revenue, root, signature, version, "
    "total_data_units";

template <std::size_t N>
std::array<std::uint8_t, N> fixed_blob(const Query& query, int column) {
  std::array<std::uint8_t, N> out{};
  const auto blob = query.column_blob(column);
  if (blob.size() != N) throw std::runtime_error("hub database: a stored statement is damaged");
  std::memcpy(out.data(), blob.data(), N);
  return out;
}

protocol::Statement statement_row(const Query& query, const std::string& run_id, const wallet::PublicKey& hub_key) {
  protocol::Statement statement;
  statement.run_id = run_id;
  statement.epoch = from_sql(query.column_int(0));
  statement.owner_count = from_sql(query.column_int(1));
  statement.total_units = from_sql(query.column_int(2));
  statement.total_revenue = from_sql(query.column_int(3));
  statement.epoch_revenue = from_sql(query.column_int(4));
  statement.carried_revenue = from_sql(query.column_int(5));
  statement.root = fixed_blob<32>(query, 6);
  statement.signature = fixed_blob<64>(query, 7);
  statement.version = static_cast<std::uint8_t>(query.column_int(8));
  statement.total_data_units = from_sql(query.column_int(9));  // 0 before version 3
  statement.hub_key = hub_key;
  return statement;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void insert_statement(Database& db, const protocol::EpochSettlement& settlement, const protocol::Statement& statement) {
  auto insert = db.prepare(
      "INSERT INTO statements (epoch, owner_count, total_units, total_revenue, epoch_revenue, carried_revenue, root, "
      "signature, units_withheld, revenue_withheld, settled_ms, version, total_data_units) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, to_sql(statement.epoch));
  insert.bind(2, to_sql(statement.owner_count));
  insert.bind(3, to_sql(statement.total_units));
  insert.bind(4, to_sql(statement.total_revenue));
  insert.bind(5, to_sql(statement.epoch_revenue));
  insert.bind(6, to_sql(statement.carried_revenue));
  insert.bind_blob(7, statement.root);
  insert.bind_blob(8, statement.signature);
  insert.bind(9, to_sql(settlement.units_withheld));
  insert.bind(10, to_sql(settlement.revenue_withheld));
  insert.bind(11, now_ms());
  insert.bind(12, static_cast<std::int64_t>(statement.version));
  insert.bind(13, to_sql(statement.total_data_units));
  insert.run();
}

}  // namespace

StatementArchive::StatementArchive(HubStore& store, std::string run_id, const wallet::KeyPair& hub_key,
                                   std::size_t cache_size)
    : store_(store), run_id_(std::move(run_id)), hub_key_(hub_key), cache_size_(std::max<std::size_t>(cache_size, 1)) {}

void StatementArchive::record(HubStore::Transaction& transaction, const protocol::EpochSettlement& settlement,
                              const protocol::PublishedEpoch& published, const protocol::SettlementState& previous,
                              const protocol::EpochActivity& activity) {
  auto& db = transaction.db();
  insert_statement(db, settlement, published.statement());
  if (published.statement().version >= 2) statement_activity::record(db, settlement.state.epoch, activity);
  const auto epoch = settlement.state.epoch;
  auto new_owner = db.prepare("INSERT INTO owners (owner, first_epoch) VALUES (?, ?)");
  auto history = db.prepare(
      "INSERT INTO balance_history (owner, epoch, units, revenue, revenue_part, data_units) VALUES (?, ?, ?, ?, ?, ?)");
  for (const auto& [owner, balance] : settlement.state.owners) {
    const auto before = previous.owners.find(owner);
    if (before != previous.owners.end() && before->second == balance) continue;
    if (before == previous.owners.end()) {
      new_owner.bind(1, owner);
      new_owner.bind(2, to_sql(epoch));
      new_owner.run();
    }
    const auto part = settlement.revenue_parts.find(owner);
    history.bind(1, owner);
    history.bind(2, to_sql(epoch));
    history.bind(3, to_sql(balance.units));
    history.bind(4, to_sql(balance.revenue));
    history.bind(5, to_sql(part == settlement.revenue_parts.end() ? 0 : part->second));
    history.bind(6, to_sql(balance.data_units));
    history.run();
  }
}

void StatementArchive::remember(std::shared_ptr<const protocol::PublishedEpoch> published) { keep(std::move(published)); }

void StatementArchive::keep(std::shared_ptr<const protocol::PublishedEpoch> published) const {
  std::lock_guard lock(mutex_);
  const auto epoch = published->statement().epoch;
  cache_.remove_if([epoch](const auto& kept) { return kept->statement().epoch == epoch; });
  cache_.push_front(std::move(published));
  if (cache_.size() > cache_size_) cache_.pop_back();
}

std::uint64_t StatementArchive::latest_epoch() const {
  return store_.read([](Database& db) {
    auto query = db.prepare("SELECT IFNULL(MAX(epoch), 0) FROM statements");
    query.step();
    return from_sql(query.column_int(0));
  });
}

std::optional<protocol::Statement> StatementArchive::statement(std::uint64_t epoch) const {
  return store_.read([&](Database& db) -> std::optional<protocol::Statement> {
    auto query = db.prepare(std::string("SELECT ") + kStatementColumns + " FROM statements WHERE epoch = ?");
    query.bind(1, to_sql(epoch));
    if (!query.step()) return std::nullopt;
    auto statement = statement_row(query, run_id_, hub_key_.public_key());
    if (statement.version >= 2) statement.events = statement_activity::load(db, epoch).events;
    return statement;
  });
}

std::shared_ptr<const protocol::PublishedEpoch> StatementArchive::cached(std::uint64_t epoch) const {
  std::lock_guard lock(mutex_);
  for (auto it = cache_.begin(); it != cache_.end(); ++it)
    if ((*it)->statement().epoch == epoch) {
      cache_.splice(cache_.begin(), cache_, it);
      return cache_.front();
    }
  return nullptr;
}

std::shared_ptr<const protocol::PublishedEpoch> StatementArchive::published(std::uint64_t epoch) const {
  if (auto found = cached(epoch)) return found;
  const auto signed_statement = statement(epoch);
  if (!signed_statement) return nullptr;
  auto rebuilt = rebuild(*signed_statement);
  keep(rebuilt);
  return rebuilt;
}

std::shared_ptr<const protocol::PublishedEpoch> StatementArchive::rebuild(const protocol::Statement& statement) const {
  protocol::EpochSettlement settlement;
  settlement.state = state_at(statement.epoch);
  settlement.epoch_revenue = statement.epoch_revenue;
  const auto activity = store_.read([&](Database& db) { return statement_activity::load(db, statement.epoch); });
  auto published =
      std::make_shared<const protocol::PublishedEpoch>(run_id_, settlement, hub_key_, activity, statement.version);
  if (published->statement().signature != statement.signature || published->statement().root != statement.root)
    throw std::runtime_error("hub database " + store_.file().string() + ": the balances stored for epoch " +
                             std::to_string(statement.epoch) + " no longer give its signed statement (damaged?)");
  return published;
}

protocol::SettlementState StatementArchive::state_at(std::uint64_t epoch) const {
  protocol::SettlementState state;
  if (epoch == 0) return state;
  state.epoch = epoch;
  store_.read([&](Database& db) {
    auto carried = db.prepare("SELECT carried_revenue FROM statements WHERE epoch = ?");
    carried.bind(1, to_sql(epoch));
    if (!carried.step()) throw std::out_of_range("no statement for epoch " + std::to_string(epoch));
    state.carried_revenue = from_sql(carried.column_int(0));
    // Each owner's balance from the last epoch (up to this one) on which it changed.
    auto leaves = db.prepare(
        "SELECT h.owner, h.units, h.revenue, h.data_units FROM owners o JOIN balance_history h ON h.owner = o.owner "
        "WHERE o.first_epoch <= ?1 AND h.epoch = "
        "(SELECT MAX(epoch) FROM balance_history WHERE owner = o.owner AND epoch <= ?1)");
    leaves.bind(1, to_sql(epoch));
    while (leaves.step())
      state.owners[leaves.column_text(0)] = {from_sql(leaves.column_int(1)), from_sql(leaves.column_int(2)),
                                             from_sql(leaves.column_int(3))};
    return 0;
  });
  return state;
}

std::uint64_t StatementArchive::revenue_part(std::uint64_t epoch, const std::string& owner) const {
  return store_.read([&](Database& db) {
    auto query = db.prepare("SELECT revenue_part FROM balance_history WHERE owner = ? AND epoch = ?");
    query.bind(1, owner);
    query.bind(2, to_sql(epoch));
    return query.step() ? from_sql(query.column_int(0)) : std::uint64_t{0};
  });
}

std::optional<SettlementOverflow> StatementArchive::last_overflow() const {
  return store_.read([](Database& db) -> std::optional<SettlementOverflow> {
    auto query = db.prepare(
        "SELECT epoch, units_withheld, revenue_withheld, (SELECT COUNT(*) FROM statements WHERE units_withheld != 0 "
        "OR revenue_withheld != 0) FROM statements WHERE units_withheld != 0 OR revenue_withheld != 0 "
        "ORDER BY epoch DESC LIMIT 1");
    if (!query.step()) return std::nullopt;
    return SettlementOverflow{from_sql(query.column_int(0)), from_sql(query.column_int(1)),
                              from_sql(query.column_int(2)), from_sql(query.column_int(3))};
  });
}

}  // namespace tessera::hub
