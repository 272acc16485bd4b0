// Pending receipts in the hub's store, bounded per sender and overall.
#include "core/hub/pending_receipts.h"

#include <sqlite3.h>

#include <stdexcept>

namespace tessera::hub::pending_receipts {
namespace {

std::uint64_t count_where(Database& db, const char* sql, const wallet::PublicKey* sender) {
  auto query = db.prepare(sql);
  if (sender) query.bind_blob(1, *sender);
  query.step();
  return from_sql(query.column_int(0));
}

}  // namespace

bool contains(Database& db, const std::string& id) {
  auto query = db.prepare("SELECT 1 FROM pending_receipts WHERE id = ?");
  query.bind(1, id);
  return query.step();
}

std::uint64_t count(Database& db) { return count_where(db, "SELECT COUNT(*) FROM pending_receipts", nullptr); }

Room room(Database& db, const wallet::PublicKey& sender) {
  const auto of_sender = count_where(db, "SELECT COUNT(*) FROM pending_receipts WHERE sender = ?", &sender);
  const auto overall = count(db);
  return {of_sender >= kPendingPerSender ? 0 : kPendingPerSender - of_sender,
          overall >= kPendingOverall ? 0 : kPendingOverall - overall};
}

Added add(Database& db, const protocol::SignedReceipt& receipt, const std::string& owner, Room& room) {
  const auto id = receipt.id();
  if (contains(db, id)) return Added::Known;
  const auto& sender = receipt.receipt.sender;
  if (room.sender == 0 || room.overall == 0) return Added::Full;
  --room.sender;
  --room.overall;
  auto insert = db.prepare("INSERT INTO pending_receipts (id, step, sender, owner, encoded) VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, id);
  insert.bind(2, to_sql(receipt.receipt.step));
  insert.bind_blob(3, sender);
  insert.bind(4, owner);
  insert.bind_blob(5, receipt.encode());
  insert.run();
  return Added::Added;
}

std::vector<PendingReceipt> take_through(Database& db, std::uint64_t step) {
  std::vector<PendingReceipt> taken;
  auto query = db.prepare("SELECT encoded, owner FROM pending_receipts WHERE step <= ? ORDER BY step");
  query.bind(1, to_sql(step));
  while (query.step()) {
    auto receipt = protocol::SignedReceipt::decode(query.column_blob(0));
    if (!receipt) throw std::runtime_error("hub database: a pending receipt does not decode");
    taken.push_back({std::move(*receipt), query.column_text(1)});
  }
  auto remove = db.prepare("DELETE FROM pending_receipts WHERE step <= ?");
  remove.bind(1, to_sql(step));
  remove.run();
  return taken;
}

}  // namespace tessera::hub::pending_receipts
