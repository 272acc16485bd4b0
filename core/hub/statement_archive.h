// Every epoch the hub published (DESIGN.md "Epochs and statements"), in the hub's store: the
// signed statement's fields, and each owner's cumulative balance from the epoch it changed on
// (balance_history), so any epoch's leaves are one indexed query away and an epoch without
// revenue adds a row only for the owners whose units grew. An epoch's Merkle tree, which proofs
// need, is rebuilt from them on demand, re-signed (Ed25519 is deterministic) and checked against
// the stored signature; the few most recently used are kept in memory. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/hub/hub_store.h"
#include "core/protocol/statement.h"

namespace tessera::hub {

// The last epoch whose settlement withheld units or revenue (EpochSettlement::units_withheld).
struct SettlementOverflow {
  std::uint64_t epoch = 0;
  std::uint64_t units_withheld = 0;
  std::uint64_t revenue_withheld = 0;
  std::uint64_t epochs = 0;  // how many epochs withheld anything
};

class StatementArchive {
 public:
  // `store` and `hub_key` must outlive the archive.
  StatementArchive(HubStore& store, std::string run_id, const wallet::KeyPair& hub_key, std::size_t cache_size = 4);

  // Inside an epoch close's transaction: the published statement, the balances that changed
  // since `previous` (the state the epoch was settled from) and, from version 2, its activity.
  void record(HubStore::Transaction& transaction, const protocol::EpochSettlement& settlement,
              const protocol::PublishedEpoch& published, const protocol::SettlementState& previous,
              const protocol::EpochActivity& activity = {});
  // Keeps a published epoch in the cache (once its transaction committed).
  void remember(std::shared_ptr<const protocol::PublishedEpoch> published);

  std::uint64_t latest_epoch() const;  // 0: none yet
  std::optional<protocol::Statement> statement(std::uint64_t epoch) const;
  // With its tree, for proofs; null when the epoch was not published. Throws std::runtime_error
  // when the stored leaves no longer give the signed statement (a damaged store).
  std::shared_ptr<const protocol::PublishedEpoch> published(std::uint64_t epoch) const;
  // The settled state after `epoch` (the empty state for 0).
  protocol::SettlementState state_at(std::uint64_t epoch) const;
  std::uint64_t revenue_part(std::uint64_t epoch, const std::string& owner) const;
  std::optional<SettlementOverflow> last_overflow() const;

 private:
  std::shared_ptr<const protocol::PublishedEpoch> cached(std::uint64_t epoch) const;
  void keep(std::shared_ptr<const protocol::PublishedEpoch> published) const;
  std::shared_ptr<const protocol::PublishedEpoch> rebuild(const protocol::Statement& statement) const;

  HubStore& store_;
  std::string run_id_;
  const wallet::KeyPair& hub_key_;
  std::size_t cache_size_;
  mutable std::mutex mutex_;
  mutable std::list<std::shared_ptr<const protocol::PublishedEpoch>> cache_;  // most recently used first
};

}  // namespace tessera::hub
