// A run's catalog entry from its service (see run_catalog_entry.h).
#include "core/hub/run_catalog_entry.h"

#include <algorithm>
#include <cmath>

#include "core/hub/hub_service.h"
#include "core/hub/settlement_book.h"
#include "core/hub/step_book.h"
#include "core/protocol/run_needs.h"
#include "core/wallet/encoding.h"

namespace tessera::hub {
namespace {

std::optional<double> recent_loss(const std::vector<nlohmann::json>& steps) {
  double sum = 0;
  std::size_t count = 0;
  for (auto it = steps.rbegin(); it != steps.rend() && count < kCatalogLossSteps; ++it) {
    const auto loss = it->find("loss");
    if (loss == it->end() || !loss->is_number() || !std::isfinite(loss->get<double>())) continue;
    sum += loss->get<double>();
    ++count;
  }
  if (count == 0) return std::nullopt;
  return sum / static_cast<double>(count);
}

}  // namespace

std::vector<protocol::CatalogStageNeeds> stage_needs(const protocol::RunManifest& manifest) {
  std::vector<protocol::CatalogStageNeeds> out;
  for (const auto& stage : protocol::run_needs(manifest).stages)
    out.push_back({stage.stage, stage.memory_bytes, static_cast<std::uint64_t>(std::max<std::int64_t>(stage.parameters, 0)),
                   stage.flops_per_token, stage.bytes_per_token});
  return out;
}

protocol::RunCatalogEntry catalog_entry(HubService& run, const CatalogPlace& place) {
  const auto& manifest = run.manifest();
  protocol::RunCatalogEntry entry;
  entry.run = manifest.run_id;
  entry.url = place.url;
  entry.link = place.link;
  entry.publisher = wallet::base58_encode(manifest.publisher_key);
  entry.retired = place.retired;
  const auto& m = manifest.model;
  entry.model = {m.layers, m.width, m.heads, m.context, m.vocab, m.subspace_rank};
  entry.codec = manifest.codec;
  entry.dataset = manifest.dataset;
  entry.stages = manifest.stages;
  const auto needs = protocol::run_needs(manifest);
  entry.parameters = static_cast<std::uint64_t>(std::max<std::int64_t>(needs.parameters, 0));
  entry.stage_needs = stage_needs(manifest);
  entry.revision = manifest.revision;
  entry.data_units_per_1k_tokens = manifest.data_units_per_1k_tokens;
  entry.peers_per_stage.assign(static_cast<std::size_t>(manifest.stages), 0);
  entry.ready_per_stage.assign(static_cast<std::size_t>(manifest.stages), 0);
  for (const auto& peer : run.peer_list().peers) {
    if (peer.stage < 0 || peer.stage >= manifest.stages) continue;
    ++entry.peers_per_stage[static_cast<std::size_t>(peer.stage)];
    if (peer.ready()) ++entry.ready_per_stage[static_cast<std::size_t>(peer.stage)];
  }
  entry.steps = run.store().read([](Database& db) { return step_book::committed_steps(db); });
  entry.loss = recent_loss(run.progress());
  entry.tokens_per_step = static_cast<std::uint64_t>(manifest.train.micro_batches) *
                          static_cast<std::uint64_t>(manifest.train.micro_batch_size) *
                          static_cast<std::uint64_t>(m.context);
  entry.price_per_1k_tokens = manifest.price_per_1k_tokens;
  entry.currency = manifest.currency;
  if (auto* book = run.settlement()) {
    if (const auto statement = book->latest_statement()) {
      entry.last_epoch = statement->epoch;
      entry.last_epoch_revenue = statement->epoch_revenue;
      entry.total_units = statement->total_units;
    }
  }
  entry.epoch_seconds = manifest.epoch_seconds;
  return entry;
}

}  // namespace tessera::hub
