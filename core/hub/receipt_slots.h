// Which receipts a committed step credits (docs/hub.md "Credit follows commits"): a receipt
// matches a slot of the step's record when its micro-batch is one of the step's, its sender
// served its stage for that micro-batch, its receiver served the neighbouring stage (stage + 1
// forward, stage − 1 backward) for it, and its tokens are the record's tokens per micro-batch.
// Each slot (step, micro-batch, stage, direction) is credited once (table credited_slots).
// A refusal carries a short code, the name it is counted under per node ("rejected:<code>").
#pragma once

#include <optional>
#include <string>

#include "core/hub/hub_store.h"
#include "core/protocol/receipt.h"
#include "core/protocol/step_record.h"

namespace tessera::hub {

struct ReceiptRejection {
  std::string code;     // not-committed, not-the-slot, tokens, duplicate-slot, bad-signature, ...
  std::string message;  // for a person
  std::string text() const { return code + ": " + message; }
};

// Nothing when `receipt` matches a slot of `record` (its step's), else why not.
std::optional<ReceiptRejection> check_slot(const protocol::StepRecord& record, const protocol::Receipt& receipt);

// Marks the receipt's slot credited; false when it was before (by another receipt).
bool take_slot(Database& db, const protocol::SignedReceipt& receipt);

}  // namespace tessera::hub
