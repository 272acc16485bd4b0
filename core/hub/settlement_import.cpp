// settlement-<run>.json → the hub's store.
#include "core/hub/settlement_import.h"

#include <nlohmann/json.hpp>

#include "core/hub/hub_store.h"
#include "core/hub/statement_archive.h"
#include "core/protocol/settlement.h"
#include "core/wallet/secure_file.h"

namespace tessera::hub {
namespace {

// The file's settled state and its latest epoch's settlement (as the old hub re-published it).
protocol::EpochSettlement legacy_settlement(const nlohmann::json& state) {
  protocol::EpochSettlement settlement;
  settlement.state.epoch = state.at("epoch").get<std::uint64_t>();
  for (const auto& [owner, balance] : state.at("owners").items())
    settlement.state.owners[owner] = {balance.at(0).get<std::uint64_t>(), balance.at(1).get<std::uint64_t>()};
  settlement.state.carried_revenue = state.at("carried_revenue").get<std::uint64_t>();
  settlement.epoch_revenue = state.at("last_epoch_revenue").get<std::uint64_t>();
  settlement.revenue_parts = state.at("last_revenue_parts").get<std::map<std::string, std::uint64_t>>();
  return settlement;
}

void import_fractions(Database& db, const nlohmann::json& state) {
  auto carry = db.prepare("INSERT INTO carried_work (owner, flops) VALUES (?, ?)");
  for (const auto& [owner, flops] : state.at("flops_remainder").items()) {
    carry.bind(1, owner);
    carry.bind(2, flops.get<double>());
    carry.run();
  }
  auto usage = db.prepare("UPDATE open_usage SET revenue_milli = ? WHERE id = 1");
  usage.bind(1, to_sql(state.at("revenue_milli_remainder").get<std::uint64_t>()));
  usage.run();
}

}  // namespace

std::filesystem::path legacy_settlement_file(const std::filesystem::path& state_dir, const std::string& run_id) {
  return state_dir / ("settlement-" + run_id + ".json");
}

bool import_legacy_settlement(HubStore& store, const std::filesystem::path& file, const std::string& run_id,
                              const wallet::KeyPair& hub_key) {
  if (file.empty() || !std::filesystem::exists(file)) return false;
  const bool imported =
      store.read([](Database& db) { return db.prepare("SELECT 1 FROM meta WHERE key = 'imported'").step(); });
  if (imported) {  // killed between the import's commit and the rename
    std::filesystem::rename(file, file.string() + ".imported");
    return false;
  }
  StatementArchive archive(store, run_id, hub_key);
  try {
    const auto state = nlohmann::json::parse(wallet::read_file_text(file, 64 << 20));
    if (state.at("run").get<std::string>() != run_id)
      throw std::runtime_error("it belongs to run " + state.at("run").get<std::string>());
    auto transaction = store.begin();
    import_fractions(transaction.db(), state);
    const auto settlement = legacy_settlement(state);
    if (settlement.state.epoch > 0) {
      const protocol::PublishedEpoch published(run_id, settlement, hub_key, {}, 1);  // as the old hub signed it
      archive.record(transaction, settlement, published, {});
    }
    auto mark = transaction.db().prepare("INSERT INTO meta (key, value) VALUES ('imported', ?)");
    mark.bind(1, file.filename().string());
    mark.run();
    transaction.commit();
  } catch (const std::exception& error) {
    throw std::runtime_error("settlement state " + file.string() + " cannot be imported: " + error.what());
  }
  std::filesystem::rename(file, file.string() + ".imported");
  return true;
}

}  // namespace tessera::hub
