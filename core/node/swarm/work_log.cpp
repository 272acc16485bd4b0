// The work log: receipts and work rows for committed steps, the outbox for the hub.
#include "core/node/swarm/work_log.h"

#include <sodium.h>

#include "core/ledger/ledger.h"
#include "core/node/swarm/run_context.h"
#include "core/wallet/encoding.h"

namespace tessera::node::swarm {
namespace {

using namespace std::chrono_literals;

std::string random_hex(std::size_t bytes) {
  std::vector<std::uint8_t> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  return wallet::to_hex(raw);
}

ledger::ReceiptRecord receipt_row(const protocol::SignedReceipt& receipt) {
  const auto& r = receipt.receipt;
  ledger::ReceiptRecord row;
  row.receipt_id = receipt.id();
  row.run = r.run_id;
  row.step = static_cast<std::int64_t>(r.step);
  row.micro_batch = r.micro_batch;
  row.stage = r.stage;
  row.sender = wallet::to_hex(r.sender);
  row.receiver = wallet::to_hex(r.receiver);
  row.tokens = r.tokens;
  row.payload_hash.assign(r.payload_hash.begin(), r.payload_hash.end());
  row.raw = receipt.encode();
  return row;
}

}  // namespace

WorkLog::WorkLog(const RunContext& run, const std::filesystem::path& file)
    : run_(run), ledger_(std::make_unique<ledger::LedgerWriter>(file, run.key)), session_id_(random_hex(8)) {}

WorkLog::~WorkLog() = default;

void WorkLog::session_started(int stage) {
  ledger_->append(ledger::SessionRecord{0, session_id_, "start", run_.manifest.run_id,
                                        run_.options.device + " stage " + std::to_string(stage),
                                        run_.options.power_profile});
}

void WorkLog::session_stopped() {
  ledger_->append(
      ledger::SessionRecord{0, session_id_, "stop", run_.manifest.run_id, run_.options.device, run_.options.power_profile});
}

void WorkLog::commit(std::uint64_t step, int stage, const AttemptState& attempt) {
  std::vector<ledger::Record> records;
  std::string ids;
  for (const auto& receipt : attempt.pending) {
    auto row = receipt_row(receipt);
    ids += (ids.empty() ? "" : ",") + row.receipt_id;
    records.push_back(std::move(row));
  }
  const auto& work = attempt.work;
  if (work.micro_batches > 0) {
    ledger::WorkRecord row;
    row.session_id = session_id_;
    row.run = run_.manifest.run_id;
    row.step = static_cast<std::int64_t>(step);
    row.stage = stage;
    row.micro_batches = work.micro_batches;
    row.tokens = static_cast<std::int64_t>(work.tokens);
    row.flops = work.flops;
    row.device_seconds = work.device_seconds;
    row.energy_joules = work.device_seconds * (run_.options.device == "cpu" ? 15.0 : 250.0);  // rough: watts busy
    row.codec = model::codec_name(run_.codec);
    row.bytes_sent = work.bytes_sent;
    row.bytes_received = work.bytes_received;
    row.receipt_ids = ids;
    records.push_back(std::move(row));
  }
  if (records.empty()) return;
  std::lock_guard lock(log_mutex_);
  in_flight_ = ledger_->submit(std::move(records));
  in_flight_receipts_ = attempt.pending;
}

std::size_t WorkLog::settle(bool wait) {
  std::lock_guard lock(log_mutex_);
  if (!in_flight_) return 0;
  if (!wait && in_flight_->wait_for(0ms) != std::future_status::ready) return 0;
  auto done = std::move(*in_flight_);
  in_flight_.reset();
  auto receipts = std::move(in_flight_receipts_);
  in_flight_receipts_.clear();
  done.get();
  std::lock_guard outbox_lock(outbox_mutex_);
  outbox_.insert(outbox_.end(), receipts.begin(), receipts.end());
  return receipts.size();
}

std::vector<protocol::SignedReceipt> WorkLog::outbox_front(std::size_t count) {
  std::lock_guard lock(outbox_mutex_);
  const auto n = std::min(outbox_.size(), count);
  return {outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(n)};
}

void WorkLog::drop_sent(std::size_t count) {
  std::lock_guard lock(outbox_mutex_);
  outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<std::ptrdiff_t>(std::min(count, outbox_.size())));
}

}  // namespace tessera::node::swarm
