// Statement events and leaf activity in the store.
#include "core/hub/statement_activity.h"

#include <cmath>
#include <cstring>
#include <string>

#include "core/hub/exclusions.h"
#include "core/hub/node_tally.h"

namespace tessera::hub::statement_activity {
namespace {

std::uint64_t whole(double amount) { return amount > 0 && std::isfinite(amount) ? static_cast<std::uint64_t>(amount) : 0; }

}  // namespace

void record(Database& db, std::uint64_t epoch, const protocol::EpochActivity& activity) {
  auto event = db.prepare(
      "INSERT INTO statement_events (epoch, seq, node_key, owner, kind, reason, step) VALUES (?, ?, ?, ?, ?, ?, ?)");
  std::int64_t seq = 0;
  for (const auto& e : activity.events) {
    event.bind(1, to_sql(epoch));
    event.bind(2, seq++);
    event.bind_blob(3, e.node);
    event.bind(4, e.owner);
    event.bind(5, e.kind);
    event.bind(6, e.reason);
    event.bind(7, to_sql(e.step));
    event.run();
  }
  auto owner = db.prepare(
      "INSERT INTO leaf_activity (owner, epoch, rejected, passed, failed) VALUES (?, ?, ?, ?, ?)");
  for (const auto& [address, a] : activity.owners) {
    if (a == protocol::OwnerActivity{}) continue;
    owner.bind(1, address);
    owner.bind(2, to_sql(epoch));
    owner.bind(3, to_sql(a.rejected_receipts));
    owner.bind(4, to_sql(a.checks_passed));
    owner.bind(5, to_sql(a.checks_failed));
    owner.run();
  }
}

protocol::EpochActivity load(Database& db, std::uint64_t epoch) {
  protocol::EpochActivity activity;
  auto events = db.prepare(
      "SELECT node_key, owner, kind, reason, step FROM statement_events WHERE epoch = ? ORDER BY seq");
  events.bind(1, to_sql(epoch));
  while (events.step()) {
    protocol::StatementEvent e;
    const auto node = events.column_blob(0);
    if (node.size() == e.node.size()) std::memcpy(e.node.data(), node.data(), e.node.size());
    e.owner = events.column_text(1);
    e.kind = events.column_text(2);
    e.reason = events.column_text(3);
    e.step = from_sql(events.column_int(4));
    activity.events.push_back(std::move(e));
  }
  auto owners = db.prepare("SELECT owner, rejected, passed, failed FROM leaf_activity WHERE epoch = ?");
  owners.bind(1, to_sql(epoch));
  while (owners.step())
    activity.owners[owners.column_text(0)] = {from_sql(owners.column_int(1)), from_sql(owners.column_int(2)),
                                              from_sql(owners.column_int(3))};
  return activity;
}

protocol::EpochActivity gather(Database& db, std::uint64_t epoch) {
  protocol::EpochActivity activity;
  activity.events = Exclusions::events(db, epoch);
  auto tally = db.prepare(
      "SELECT owner, counter, SUM(amount) FROM node_work WHERE epoch = ? AND (counter LIKE 'rejected:%' "
      "OR counter = ? OR counter = ?) GROUP BY owner, counter");
  tally.bind(1, to_sql(epoch));
  tally.bind(2, std::string_view(kChecksPassed));
  tally.bind(3, std::string_view(kChecksFailed));
  while (tally.step()) {
    auto& owner = activity.owners[tally.column_text(0)];
    const auto counter = tally.column_text(1);
    const auto amount = whole(tally.column_double(2));
    if (counter == kChecksPassed) owner.checks_passed += amount;
    else if (counter == kChecksFailed) owner.checks_failed += amount;
    else owner.rejected_receipts += amount;
  }
  return activity;
}

}  // namespace tessera::hub::statement_activity
