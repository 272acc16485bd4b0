// What the hub's work accounting tells the parts that follow it (spot checks, per-node tallies):
// a step committed (its record is stored), a receipt credited (it matched a slot of a committed
// step). Called inside the transaction that stored them, on the request's thread; an observer
// writes only its own tables through that transaction and must not block on the network.
#pragma once

#include <cstdint>

#include "core/hub/hub_store.h"
#include "core/protocol/receipt.h"
#include "core/protocol/step_record.h"

namespace tessera::hub {

class WorkObserver {
 public:
  virtual ~WorkObserver() = default;
  virtual void step_committed(HubStore::Transaction& transaction, const protocol::StepRecord& record) = 0;
  // `flops`: the credit the receipt earned its sender.
  virtual void receipt_credited(HubStore::Transaction& transaction, const protocol::SignedReceipt& receipt,
                                double flops) = 0;
};

}  // namespace tessera::hub
