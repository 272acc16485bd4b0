// The slot a receipt claims, checked against its step's record, and the slots already credited.
#include "core/hub/receipt_slots.h"

#include <sqlite3.h>

namespace tessera::hub {

std::optional<ReceiptRejection> check_slot(const protocol::StepRecord& record, const protocol::Receipt& r) {
  const auto stages = record.replicas.size();
  const bool forward = r.direction == protocol::Direction::Forward;
  if (r.micro_batch >= record.micro_batches)
    return ReceiptRejection{"not-the-slot", "step " + std::to_string(r.step) + " has " +
                                                std::to_string(record.micro_batches) + " micro-batches"};
  if (r.stage >= stages || (forward && r.stage + 1u >= stages) || (!forward && r.stage == 0))
    return ReceiptRejection{"not-the-slot", "no neighbouring stage receives this direction from stage " +
                                                std::to_string(r.stage)};
  const std::size_t neighbour = forward ? r.stage + 1u : r.stage - 1u;
  if (record.slot(r.stage, r.micro_batch) != r.sender)
    return ReceiptRejection{"not-the-slot", "the sender did not serve stage " + std::to_string(r.stage) +
                                                " for this micro-batch of the committed step"};
  if (record.slot(neighbour, r.micro_batch) != r.receiver)
    return ReceiptRejection{"not-the-slot", "the receiver did not serve stage " + std::to_string(neighbour) +
                                                " for this micro-batch of the committed step"};
  if (r.tokens != record.tokens_per_micro_batch)
    return ReceiptRejection{"tokens", "the receipt says " + std::to_string(r.tokens) + " tokens; a micro-batch has " +
                                          std::to_string(record.tokens_per_micro_batch)};
  return std::nullopt;
}

bool take_slot(Database& db, const protocol::SignedReceipt& receipt) {
  const auto& r = receipt.receipt;
  auto insert = db.prepare(
      "INSERT OR IGNORE INTO credited_slots (step, micro_batch, stage, direction, receipt) VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, to_sql(r.step));
  insert.bind(2, static_cast<std::int64_t>(r.micro_batch));
  insert.bind(3, static_cast<std::int64_t>(r.stage));
  insert.bind(4, static_cast<std::int64_t>(r.direction));
  insert.bind(5, receipt.id());
  insert.run();
  return sqlite3_changes(db.handle()) == 1;
}

}  // namespace tessera::hub
