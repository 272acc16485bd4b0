// Passes, failures and verification credit.
#include "core/hub/check_penalties.h"

#include <spdlog/spdlog.h>

#include "core/hub/check_book.h"
#include "core/hub/exclusions.h"
#include "core/hub/node_tally.h"
#include "core/hub/peer_directory.h"
#include "core/hub/run_roster.h"
#include "core/hub/settlement_book.h"
#include "core/model/model_config.h"
#include "core/protocol/manifest.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {

CheckPenalties::CheckPenalties(const protocol::RunManifest& manifest, SettlementBook& book, NodeTally& tally,
                               Exclusions& exclusions, PeerDirectory& directory, RunRoster& roster)
    : manifest_(manifest), book_(book), tally_(tally), exclusions_(exclusions), directory_(directory), roster_(roster) {}

std::optional<std::string> CheckPenalties::owner_of(Database& db, const wallet::PublicKey& node) {
  auto query = db.prepare("SELECT owner FROM members WHERE node_key = ?");
  query.bind_blob(1, node);
  if (!query.step()) return std::nullopt;
  return query.column_text(0);
}

std::uint64_t CheckPenalties::epoch(Database& db) {
  auto query = db.prepare("SELECT IFNULL(MAX(epoch), 0) + 1 FROM statements");
  query.step();
  return from_sql(query.column_int(0));
}

void CheckPenalties::passed(HubStore::Transaction& transaction, const wallet::PublicKey& worker) {
  const auto owner = owner_of(transaction.db(), worker).value_or("");
  tally_.add(transaction, worker, owner, epoch(transaction.db()), kChecksPassed, 1);
}

void CheckPenalties::failed(HubStore::Transaction& transaction, const wallet::PublicKey& node, const std::string& reason,
                            std::uint64_t step) {
  const auto owner = owner_of(transaction.db(), node).value_or("");
  const auto now = epoch(transaction.db());
  if (!exclusions_.exclude(transaction, node, owner, reason, step, now)) return;
  // All the epoch credited it: its receipts' work and what it earned as a checker.
  const double credited =
      tally_.get(transaction, node, now, kCreditedFlops) + tally_.get(transaction, node, now, kVerifyFlops);
  const double forfeited = book_.forfeit_work(transaction, owner, credited);
  tally_.add(transaction, node, owner, now, kForfeitedFlops, forfeited);
  tally_.add(transaction, node, owner, now, kChecksFailed, 1);
  for (const auto& peer : directory_.peers())
    if (peer.node_key == node || peer.owner == owner) {
      directory_.remove(peer.node_key);
      roster_.unready(peer.node_key);
    }
  directory_.remove(node);
  roster_.unready(node);
  spdlog::warn("node {} (owner {}) excluded from the run at step {}: {}; {} FLOPs of this epoch forfeited",
               wallet::to_hex(node), owner, step, reason, forfeited);
}

void CheckPenalties::credit_checker(HubStore::Transaction& transaction, const CheckRow& row) {
  if (!row.checker) return;
  // A checker excluded since it was issued the ticket earns nothing more: its epoch's credit is forfeited.
  if (exclusions_.refusal(*row.checker, &row.checker_owner)) return;
  const auto plan = model::plan_stage(manifest_.model, manifest_.stages, row.stage);
  const double flops = model::stage_training_flops_per_token(manifest_.model, plan) * row.tokens;
  book_.credit_work(transaction, row.checker_owner, flops);
  tally_.add(transaction, *row.checker, row.checker_owner, epoch(transaction.db()), kVerifyFlops, flops);
}

}  // namespace tessera::hub
