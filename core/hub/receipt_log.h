// Every receipt the hub verified and credited, once (DESIGN.md "Receipts"), in the hub's store:
// receipts are unique by SignedReceipt::id(), so a batch sent again after a lost answer, or
// replayed, is counted as duplicates and credits nothing, across restarts too. Also the tally
// (verified, rejected, duplicates). Written inside a receipt batch's transaction; read in pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/hub/hub_store.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/receipt.h"

namespace tessera::hub {

// A verified receipt and what it credits.
struct ReceiptCredit {
  protocol::SignedReceipt receipt;
  std::string owner;  // the sender's owner
  double flops = 0;
};

class ReceiptLog {
 public:
  explicit ReceiptLog(HubStore& store) : store_(store) {}

  // Records the receipts not seen before (also within `credits`); returns, for each, whether it
  // was new. Adds to the tally: the new ones as verified, the rest as duplicates, and `rejected`.
  std::vector<bool> record(HubStore::Transaction& transaction, const std::vector<ReceiptCredit>& credits,
                           std::uint64_t rejected);

  // Whether a receipt with this id was credited.
  static bool contains(Database& db, const std::string& id);
  // Adds to the tally what a batch refused or had seen before without recording anything.
  void count(HubStore::Transaction& transaction, std::uint64_t duplicates, std::uint64_t rejected);

  protocol::ReceiptTally tally() const;
  // The verified receipts in the order they were credited, from `offset` (0-based), at most `limit`.
  std::vector<protocol::SignedReceipt> page(std::uint64_t offset, std::size_t limit) const;

 private:
  HubStore& store_;
};

}  // namespace tessera::hub
