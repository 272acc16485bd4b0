// Receipts by id, their tally, and pages of them.
#include "core/hub/receipt_log.h"

#include <sqlite3.h>

#include <stdexcept>

namespace tessera::hub {
namespace {

void add_counts(Database& db, std::int64_t verified, std::int64_t duplicates, std::int64_t rejected) {
  auto count = db.prepare("UPDATE counters SET value = value + ? WHERE name = ?");
  const std::pair<const char*, std::int64_t> added[] = {
      {"verified", verified}, {"duplicates", duplicates}, {"rejected", rejected}};
  for (const auto& [name, value] : added) {
    if (value == 0) continue;
    count.bind(1, value);
    count.bind(2, std::string_view(name));
    count.run();
  }
}

}  // namespace

std::vector<bool> ReceiptLog::record(HubStore::Transaction& transaction, const std::vector<ReceiptCredit>& credits,
                                     std::uint64_t rejected) {
  auto& db = transaction.db();
  // The epoch a receipt is credited in: the one after the last published statement.
  auto insert = db.prepare(
      "INSERT OR IGNORE INTO receipts (id, owner, flops, epoch, encoded) "
      "VALUES (?, ?, ?, (SELECT IFNULL(MAX(epoch), 0) + 1 FROM statements), ?)");
  std::vector<bool> fresh;
  fresh.reserve(credits.size());
  std::int64_t verified = 0;
  for (const auto& credit : credits) {
    insert.bind(1, credit.receipt.id());
    insert.bind(2, credit.owner);
    insert.bind(3, credit.flops);
    insert.bind_blob(4, credit.receipt.encode());
    insert.run();
    const bool added = sqlite3_changes(db.handle()) == 1;
    verified += added ? 1 : 0;
    fresh.push_back(added);
  }
  add_counts(db, verified, static_cast<std::int64_t>(credits.size()) - verified, static_cast<std::int64_t>(rejected));
  return fresh;
}

bool ReceiptLog::contains(Database& db, const std::string& id) {
  auto query = db.prepare("SELECT 1 FROM receipts WHERE id = ?");
  query.bind(1, id);
  return query.step();
}

void ReceiptLog::count(HubStore::Transaction& transaction, std::uint64_t duplicates, std::uint64_t rejected) {
  add_counts(transaction.db(), 0, static_cast<std::int64_t>(duplicates), static_cast<std::int64_t>(rejected));
}

protocol::ReceiptTally ReceiptLog::tally() const {
  return store_.read([](Database& db) {
    protocol::ReceiptTally tally;
    auto query = db.prepare("SELECT name, value FROM counters");
    while (query.step()) {
      const auto name = query.column_text(0);
      const auto value = static_cast<std::uint64_t>(query.column_int(1));
      if (name == "verified") tally.verified = value;
      if (name == "rejected") tally.rejected = value;
      if (name == "duplicates") tally.duplicates = value;
    }
    return tally;
  });
}

std::vector<protocol::SignedReceipt> ReceiptLog::page(std::uint64_t offset, std::size_t limit) const {
  return store_.read([&](Database& db) {
    // seq is 1, 2, … with no gaps: rows are never deleted and a rolled-back insert leaves none.
    auto query = db.prepare("SELECT encoded FROM receipts WHERE seq > ? ORDER BY seq LIMIT ?");
    query.bind(1, static_cast<std::int64_t>(offset));
    query.bind(2, static_cast<std::int64_t>(limit));
    std::vector<protocol::SignedReceipt> receipts;
    while (query.step()) {
      auto receipt = protocol::SignedReceipt::decode(query.column_blob(0));
      if (!receipt) throw std::runtime_error("hub database: a stored receipt does not decode");
      receipts.push_back(std::move(*receipt));
    }
    return receipts;
  });
}

}  // namespace tessera::hub
