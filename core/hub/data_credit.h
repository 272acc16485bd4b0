// Data credit (docs/hub.md "Data credit"): a WorkObserver that, when a step commits, works out
// from the signed run manifest alone how many tokens of each data shard the step trained (the
// driver's own training order, model::ShardAttribution, so nothing the driver says counts but the
// step number) and credits them to each shard's contributor in the open epoch, inside the step's
// transaction (SettlementBook::credit_data). A shard without a contributor (the publisher's own
// data) earns nothing. At settlement a contributor earns floor(tokens x rate / 1000) data units,
// the fraction carried (open_epoch.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/hub/work_observer.h"
#include "core/protocol/manifest.h"

namespace tessera::hub {

class SettlementBook;

class DataCredit : public WorkObserver {
 public:
  // Trained tokens of each shard (manifest order) in a step.
  using Attribution = std::function<std::vector<std::uint64_t>(std::uint64_t step)>;

  // `contributors[i]` is shard i's owner address ("" for none); `book` must outlive this.
  DataCredit(std::vector<std::string> contributors, std::uint64_t units_per_1k_tokens, Attribution attribution,
             SettlementBook& book);
  // For a run's manifest: null when no shard has a contributor (nothing to credit), or when the
  // shards hold no sequence at the run's context (logged; the driver could not train them either).
  static std::unique_ptr<DataCredit> for_manifest(const protocol::RunManifest& manifest, SettlementBook& book);

  void step_committed(HubStore::Transaction& transaction, const protocol::StepRecord& record) override;
  void receipt_credited(HubStore::Transaction&, const protocol::SignedReceipt&, double) override {}

 private:
  std::vector<std::string> contributors_;
  std::uint64_t units_per_1k_;
  SettlementBook& book_;
  std::mutex mutex_;  // the attribution keeps its data epoch's shuffle
  Attribution attribution_;
};

}  // namespace tessera::hub
