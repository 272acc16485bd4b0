// Committed steps' trained tokens per shard, credited to the shards' contributors.
#include "core/hub/data_credit.h"

#include <map>

#include <spdlog/spdlog.h>

#include "core/hub/settlement_book.h"
#include "core/hub/step_book.h"
#include "core/model/corpus_layout.h"

namespace tessera::hub {

DataCredit::DataCredit(std::vector<std::string> contributors, std::uint64_t units_per_1k_tokens,
                       Attribution attribution, SettlementBook& book)
    : contributors_(std::move(contributors)),
      units_per_1k_(units_per_1k_tokens),
      book_(book),
      attribution_(std::move(attribution)) {}

std::unique_ptr<DataCredit> DataCredit::for_manifest(const protocol::RunManifest& manifest, SettlementBook& book) {
  std::vector<std::string> contributors;
  std::vector<std::uint64_t> bytes;
  bool any = false;
  for (const auto& shard : manifest.shards) {
    contributors.push_back(shard.contributor);
    bytes.push_back(shard.bytes);
    any = any || !shard.contributor.empty();
  }
  if (!any) return nullptr;
  std::shared_ptr<model::ShardAttribution> attribution;
  try {
    attribution = std::make_shared<model::ShardAttribution>(bytes, manifest.model.context, manifest.model.seed);
  } catch (const std::exception& error) {
    spdlog::error("run {}: no data credit: its shards cannot be trained ({})", manifest.run_id, error.what());
    return nullptr;
  }
  const int micro_batches = manifest.train.micro_batches;
  const int batch = manifest.train.micro_batch_size;
  return std::make_unique<DataCredit>(
      std::move(contributors), manifest.data_units_per_1k_tokens,
      [attribution, micro_batches, batch](std::uint64_t step) {
        return attribution->step_tokens(static_cast<std::int64_t>(step), micro_batches, batch);
      },
      book);
}

void DataCredit::step_committed(HubStore::Transaction& transaction, const protocol::StepRecord& record) {
  // The driver numbers the steps, and which shard a step trains follows from its number: a step
  // that does not follow the last one earns no data credit, so no driver can pick the numbers
  // that train its own shards.
  if (const auto before = step_book::step_before(transaction.db(), record.step); before && *before + 1 != record.step) {
    spdlog::warn("run {}: step {} follows step {}: no data credit for a step that skips numbers", record.run_id,
                 record.step, *before);
    return;
  }
  std::vector<std::uint64_t> tokens;
  try {
    std::lock_guard lock(mutex_);
    tokens = attribution_(record.step);
  } catch (const std::exception& error) {  // a committed step is never refused for its data credit
    spdlog::error("run {}: step {} credits no data: {}", record.run_id, record.step, error.what());
    return;
  }
  std::map<std::string, std::uint64_t> per_owner;
  for (std::size_t shard = 0; shard < tokens.size() && shard < contributors_.size(); ++shard)
    if (!contributors_[shard].empty() && tokens[shard] != 0) per_owner[contributors_[shard]] += tokens[shard];
  for (const auto& [owner, owner_tokens] : per_owner) book_.credit_data(transaction, owner, owner_tokens, units_per_1k_);
}

}  // namespace tessera::hub
