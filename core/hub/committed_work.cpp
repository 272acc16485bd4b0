// Receipts to credit, pending or rejections, by the slots of committed steps.
#include "core/hub/committed_work.h"

#include "core/hub/pending_receipts.h"
#include "core/hub/settlement_book.h"
#include "core/hub/step_book.h"
#include "core/protocol/work_units.h"

namespace tessera::hub {

std::uint64_t open_epoch_number(Database& db) {
  auto query = db.prepare("SELECT IFNULL(MAX(epoch), 0) + 1 FROM statements");
  query.step();
  return from_sql(query.column_int(0));
}

nlohmann::json BatchAnswer::to_json() const {
  return {{"accepted", accepted}, {"duplicates", duplicates}, {"pending", pending}, {"rejected", rejected}};
}

namespace {

// Whether the store bars `node` or `owner` (exclusions.h), read in the transaction that would
// credit them: a receipt that waited for its step's record, or a batch the receipts controller
// admitted just before its sender was excluded, must not credit an excluded owner after the
// exclusion took that epoch's credit back.
bool is_barred(Database& db, const wallet::PublicKey& node, const std::string& owner) {
  auto query = db.prepare("SELECT 1 FROM exclusions WHERE node_key = ? OR owner = ? LIMIT 1");
  query.bind_blob(1, node);
  query.bind(2, owner);
  return query.step();
}

}  // namespace

struct CommittedWork::Batch {
  std::uint64_t epoch = 0;
  std::optional<std::uint64_t> last_step;
  std::map<std::uint64_t, std::optional<protocol::StepRecord>> records;  // read once per call
  std::optional<pending_receipts::Room> room;                           // of the batch's sender
  std::map<std::pair<wallet::PublicKey, std::string>, bool> barred;  // (node, owner) → excluded, read once per call
  BatchAnswer answer;

  bool excluded(Database& db, const wallet::PublicKey& node, const std::string& owner) {
    const auto key = std::make_pair(node, owner);
    auto found = barred.find(key);
    if (found == barred.end()) found = barred.emplace(key, is_barred(db, node, owner)).first;
    return found->second;
  }

  const std::optional<protocol::StepRecord>& record(Database& db, std::uint64_t step) {
    auto found = records.find(step);
    if (found != records.end()) return found->second;
    std::optional<protocol::StepRecord> record;
    if (auto stored = step_book::record(db, step)) record = std::move(stored->record);
    return records.emplace(step, std::move(record)).first->second;
  }
};

BatchAnswer CommittedWork::report(HubStore::Transaction& transaction, const wallet::PublicKey& sender,
                                  const std::string& owner, const std::vector<protocol::SignedReceipt>& checked,
                                  const std::vector<ReceiptRejection>& refused) {
  auto& db = transaction.db();
  Batch batch;
  batch.epoch = open_epoch_number(db);
  batch.last_step = step_book::last_step(db);
  for (const auto& why : refused) reject(transaction, batch, sender, owner, why);
  for (const auto& receipt : checked) take(transaction, batch, receipt, owner);
  log_.count(transaction, batch.answer.duplicates, batch.answer.rejected.size());
  return batch.answer;
}

void CommittedWork::take(HubStore::Transaction& transaction, Batch& batch, const protocol::SignedReceipt& receipt,
                         const std::string& owner) {
  auto& db = transaction.db();
  const auto id = receipt.id();
  const auto step = receipt.receipt.step;
  if (ReceiptLog::contains(db, id)) {
    ++batch.answer.duplicates;
    return;
  }
  if ((!batch.last_step || step > *batch.last_step) && step <= kMaxStoredStep) {
    if (!batch.room) batch.room = pending_receipts::room(db, receipt.receipt.sender);
    switch (pending_receipts::add(db, receipt, owner, *batch.room)) {
      case pending_receipts::Added::Added: ++batch.answer.pending; return;
      case pending_receipts::Added::Known: ++batch.answer.duplicates; return;
      case pending_receipts::Added::Full:
        return reject(transaction, batch, receipt.receipt.sender, owner,
                      {"pending-full", "too many receipts wait for steps the hub has no record of"});
    }
  }
  const auto& record = batch.record(db, step);
  if (!record)
    return reject(transaction, batch, receipt.receipt.sender, owner,
                  {"not-committed", "step " + std::to_string(step) + " was never committed to the hub"});
  take_committed(transaction, batch, *record, receipt, owner);
}

void CommittedWork::take_committed(HubStore::Transaction& transaction, Batch& batch,
                                   const protocol::StepRecord& record, const protocol::SignedReceipt& receipt,
                                   const std::string& owner) {
  if (auto why = check_slot(record, receipt.receipt)) return reject(transaction, batch, receipt.receipt.sender, owner, *why);
  if (batch.excluded(transaction.db(), receipt.receipt.sender, owner))
    return reject(transaction, batch, receipt.receipt.sender, owner,
                  {"excluded", "its sender or owner was excluded from this run"});
  if (!take_slot(transaction.db(), receipt))
    return reject(transaction, batch, receipt.receipt.sender, owner,
                  {"duplicate-slot", "this slot of the step was credited to another receipt"});
  credit(transaction, batch, receipt, owner);
}

void CommittedWork::credit(HubStore::Transaction& transaction, Batch& batch, const protocol::SignedReceipt& receipt,
                           const std::string& owner) {
  const auto& r = receipt.receipt;
  const double flops = protocol::receipt_flops(manifest_.model, manifest_.stages, r.direction, r.stage, r.tokens);
  log_.record(transaction, {{receipt, owner, flops}}, 0);
  if (book_) book_->credit_work(transaction, owner, flops);
  tally_.add(transaction, r.sender, owner, batch.epoch, kCreditedReceipts, 1);
  tally_.add(transaction, r.sender, owner, batch.epoch, kCreditedFlops, flops);
  for (auto* observer : observers_) observer->receipt_credited(transaction, receipt, flops);
  ++batch.answer.accepted;
}

void CommittedWork::reject(HubStore::Transaction& transaction, Batch& batch, const wallet::PublicKey& node,
                           const std::string& owner, const ReceiptRejection& why) {
  tally_.add(transaction, node, owner, batch.epoch, "rejected:" + why.code, 1);
  batch.answer.rejected.push_back(why.text());
}

void CommittedWork::step_committed(HubStore::Transaction& transaction, const protocol::StepRecord& record) {
  for (auto* observer : observers_) observer->step_committed(transaction, record);
  auto& db = transaction.db();
  Batch batch;
  batch.epoch = open_epoch_number(db);
  batch.last_step = record.step;
  batch.records.emplace(record.step, record);
  for (const auto& pending : pending_receipts::take_through(db, record.step)) {
    const auto& receipt = pending.receipt;
    if (receipt.receipt.step != record.step)
      reject(transaction, batch, receipt.receipt.sender, pending.owner,
             {"not-committed", "step " + std::to_string(receipt.receipt.step) + " was passed without a record"});
    else if (ReceiptLog::contains(db, receipt.id()))
      ++batch.answer.duplicates;
    else
      take_committed(transaction, batch, record, receipt, pending.owner);
  }
  log_.count(transaction, batch.answer.duplicates, batch.answer.rejected.size());
}

}  // namespace tessera::hub
