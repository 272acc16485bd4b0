// Per node and epoch counters in the hub's store (table node_work).
#include "core/hub/node_tally.h"

#include <nlohmann/json.hpp>

#include "core/wallet/encoding.h"

namespace tessera::hub {

void NodeTally::add(HubStore::Transaction& transaction, const wallet::PublicKey& node, const std::string& owner,
                    std::uint64_t epoch, const std::string& counter, double amount) {
  auto upsert = transaction.db().prepare(
      "INSERT INTO node_work (node_key, epoch, counter, owner, amount) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (node_key, epoch, counter) DO UPDATE SET amount = amount + excluded.amount");
  upsert.bind_blob(1, node);
  upsert.bind(2, to_sql(epoch));
  upsert.bind(3, std::string_view(counter));
  upsert.bind(4, std::string_view(owner));
  upsert.bind(5, amount);
  upsert.run();
}

double NodeTally::get(HubStore::Transaction& transaction, const wallet::PublicKey& node, std::uint64_t epoch,
                      const std::string& counter) const {
  auto query = transaction.db().prepare("SELECT amount FROM node_work WHERE node_key = ? AND epoch = ? AND counter = ?");
  query.bind_blob(1, node);
  query.bind(2, to_sql(epoch));
  query.bind(3, std::string_view(counter));
  return query.step() ? query.column_double(0) : 0.0;
}

std::vector<NodeEpochTally> NodeTally::of_node(const wallet::PublicKey& node, std::size_t epochs) const {
  return store_.read([&](Database& db) {
    auto query = db.prepare(
        "SELECT epoch, owner, counter, amount FROM node_work WHERE node_key = ? AND epoch IN "
        "(SELECT DISTINCT epoch FROM node_work WHERE node_key = ? ORDER BY epoch DESC LIMIT ?) "
        "ORDER BY epoch DESC, counter");
    query.bind_blob(1, node);
    query.bind_blob(2, node);
    query.bind(3, static_cast<std::int64_t>(epochs));
    std::vector<NodeEpochTally> out;
    while (query.step()) {
      const auto epoch = from_sql(query.column_int(0));
      if (out.empty() || out.back().epoch != epoch) out.push_back({epoch, query.column_text(1), {}});
      out.back().counters[query.column_text(2)] += query.column_double(3);
    }
    return out;
  });
}

namespace {

std::map<std::string, double> owner_counters(Database& db, const std::string& owner, std::uint64_t epoch) {
    auto query = db.prepare("SELECT counter, SUM(amount) FROM node_work WHERE owner = ? AND epoch = ? GROUP BY counter");
    query.bind(1, std::string_view(owner));
    query.bind(2, to_sql(epoch));
    std::map<std::string, double> out;
    while (query.step()) out[query.column_text(0)] = query.column_double(1);
    return out;
}

}  // namespace

std::map<std::string, double> NodeTally::of_owner(const std::string& owner, std::uint64_t epoch) const {
  return store_.read([&](Database& db) { return owner_counters(db, owner, epoch); });
}

std::map<std::string, double> NodeTally::of_owner(HubStore::Transaction& transaction, const std::string& owner,
                                                  std::uint64_t epoch) const {
  return owner_counters(transaction.db(), owner, epoch);
}

nlohmann::json to_json(const NodeEpochTally& tally) {
  return {{"epoch", tally.epoch}, {"owner", tally.owner}, {"counters", tally.counters}};
}

}  // namespace tessera::hub
