// Credit follows commits (docs/hub.md): the hub's one path from a checked receipt to credit. A
// receipt for a step with a stored record is credited when it matches a free slot of that record
// (receipt_slots.h); one for a step above the last stored one waits (pending_receipts.h) and is
// re-checked in the transaction that stores its step's record, or rejected "not-committed" when a
// later step's record comes first; one for an earlier step without a record is rejected
// "not-committed". Every rejection is counted for its sender and the open epoch (node_tally.h,
// "rejected:<code>"); a credit adds to the sender's owner's open epoch (settlement_book.h), to
// the sender's tally and to the receipt log, and every registered WorkObserver hears of it and of
// every stored step. All of it inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hub/hub_store.h"
#include "core/hub/node_tally.h"
#include "core/hub/receipt_log.h"
#include "core/hub/receipt_slots.h"
#include "core/hub/work_observer.h"
#include "core/protocol/manifest.h"

namespace tessera::hub {

class SettlementBook;

// A receipt batch's answer: {"accepted", "duplicates", "pending", "rejected": [reasons]}.
struct BatchAnswer {
  std::uint64_t accepted = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t pending = 0;
  nlohmann::json rejected = nlohmann::json::array();
  nlohmann::json to_json() const;
};

class CommittedWork {
 public:
  // Everything passed must outlive this; `book` may be null (a hub without a hub key settles
  // nothing, but still keeps slots, tallies and the receipt log).
  CommittedWork(const protocol::RunManifest& manifest, ReceiptLog& log, NodeTally& tally, SettlementBook* book)
      : manifest_(manifest), log_(log), tally_(tally), book_(book) {}

  // Registered before the hub serves; each must outlive this.
  void add_observer(WorkObserver& observer) { observers_.push_back(&observer); }

  // One reported batch of `sender` (owned by `owner`): `checked` passed everything but the slot
  // (run, sender, signature, receiver a member); `refused` were rejected before the transaction.
  BatchAnswer report(HubStore::Transaction& transaction, const wallet::PublicKey& sender, const std::string& owner,
                     const std::vector<protocol::SignedReceipt>& checked,
                     const std::vector<ReceiptRejection>& refused);

  // A step's record was stored: observers hear of it; pending receipts for it are credited or
  // rejected, and those for earlier steps rejected "not-committed".
  void step_committed(HubStore::Transaction& transaction, const protocol::StepRecord& record);

 private:
  struct Batch;  // the records and counts one call works with
  void take(HubStore::Transaction& transaction, Batch& batch, const protocol::SignedReceipt& receipt,
            const std::string& owner);
  void take_committed(HubStore::Transaction& transaction, Batch& batch, const protocol::StepRecord& record,
                      const protocol::SignedReceipt& receipt, const std::string& owner);
  void credit(HubStore::Transaction& transaction, Batch& batch, const protocol::SignedReceipt& receipt,
              const std::string& owner);
  void reject(HubStore::Transaction& transaction, Batch& batch, const wallet::PublicKey& node,
              const std::string& owner, const ReceiptRejection& why);

  const protocol::RunManifest& manifest_;
  ReceiptLog& log_;
  NodeTally& tally_;
  SettlementBook* book_;
  std::vector<WorkObserver*> observers_;
};

// The epoch credit goes to now: the one after the last published statement.
std::uint64_t open_epoch_number(Database& db);

}  // namespace tessera::hub
