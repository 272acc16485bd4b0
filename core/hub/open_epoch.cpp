// The open epoch's tables: credit, summarise, take out at a close.
#include "core/hub/open_epoch.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "core/protocol/settlement.h"

namespace tessera::hub {
namespace {

__extension__ typedef unsigned __int128 u128;
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
constexpr double kTwoTo64 = 18446744073709551616.0;

std::uint64_t saturate(u128 value) { return value > kMax ? kMax : static_cast<std::uint64_t>(value); }

struct Usage {
  std::uint64_t tokens = 0, revenue_milli = 0, withheld_milli = 0, demo_tokens = 0;
};

Usage read_usage(Database& db) {
  auto query = db.prepare("SELECT tokens, revenue_milli, withheld_milli, demo_tokens FROM open_usage WHERE id = 1");
  if (!query.step()) throw std::runtime_error("hub database: the open epoch's usage row is missing");
  return {from_sql(query.column_int(0)), from_sql(query.column_int(1)), from_sql(query.column_int(2)),
          from_sql(query.column_int(3))};
}

void write_usage(Database& db, const Usage& usage) {
  auto update = db.prepare(
      "UPDATE open_usage SET tokens = ?, revenue_milli = ?, withheld_milli = ?, demo_tokens = ? WHERE id = 1");
  update.bind(1, to_sql(usage.tokens));
  update.bind(2, to_sql(usage.revenue_milli));
  update.bind(3, to_sql(usage.withheld_milli));
  update.bind(4, to_sql(usage.demo_tokens));
  update.run();
}

// Each owner's FLOPs this epoch plus what was carried, emptying both tables.
std::map<std::string, double> take_work(Database& db) {
  std::map<std::string, double> work;
  for (const char* table : {"open_work", "carried_work"}) {
    auto query = db.prepare(std::string("SELECT owner, flops FROM ") + table);
    while (query.step()) work[query.column_text(0)] += query.column_double(1);
    db.exec(std::string("DELETE FROM ") + table);
  }
  return work;
}

// Each contributor's whole data units out; the fractions stay (milli < 1000), the epoch's tokens
// are reset. Amounts keep their unsigned bits in SQL, so the arithmetic is done here.
std::map<std::string, std::uint64_t> take_data(Database& db, std::uint64_t& withheld_units) {
  std::map<std::string, std::uint64_t> units, fractions;
  auto query = db.prepare("SELECT owner, milli, withheld_milli FROM open_data");
  while (query.step()) {
    const auto owner = query.column_text(0);
    const auto milli = from_sql(query.column_int(1));
    if (milli >= 1000) units[owner] = milli / 1000;
    if (milli % 1000 != 0) fractions[owner] = milli % 1000;
    withheld_units = protocol::saturating_add(withheld_units, from_sql(query.column_int(2)) / 1000);
  }
  db.exec("DELETE FROM open_data");
  auto carry = db.prepare("INSERT INTO open_data (owner, tokens, milli, withheld_milli) VALUES (?, 0, ?, 0)");
  for (const auto& [owner, milli] : fractions) {
    carry.bind(1, owner);
    carry.bind(2, to_sql(milli));
    carry.run();
  }
  return units;
}

}  // namespace

void OpenEpoch::credit_work(HubStore::Transaction& transaction, const std::string& owner, double flops) {
  if (!(flops >= 0.0) || !std::isfinite(flops))
    throw std::invalid_argument("work must be a finite, non-negative FLOP count");
  auto upsert = transaction.db().prepare(
      "INSERT INTO open_work (owner, flops) VALUES (?, ?) "
      "ON CONFLICT (owner) DO UPDATE SET flops = flops + excluded.flops");
  upsert.bind(1, owner);
  upsert.bind(2, flops);
  upsert.run();
}

double OpenEpoch::forfeit_work(HubStore::Transaction& transaction, const std::string& owner, double flops) {
  if (!(flops > 0.0) || !std::isfinite(flops)) return 0.0;
  auto query = transaction.db().prepare("SELECT flops FROM open_work WHERE owner = ?");
  query.bind(1, owner);
  if (!query.step()) return 0.0;
  const double taken = std::min(flops, query.column_double(0));
  auto update = transaction.db().prepare("UPDATE open_work SET flops = MAX(0, flops - ?) WHERE owner = ?");
  update.bind(1, taken);
  update.bind(2, owner);
  update.run();
  return taken;
}

std::uint64_t OpenEpoch::number(HubStore::Transaction& transaction) {
  auto query = transaction.db().prepare("SELECT IFNULL(MAX(epoch), 0) + 1 FROM statements");
  query.step();
  return from_sql(query.column_int(0));
}

void OpenEpoch::credit_paid(HubStore::Transaction& transaction, std::uint64_t tokens, std::uint64_t amount) {
  auto usage = read_usage(transaction.db());
  usage.tokens = protocol::saturating_add(usage.tokens, tokens);
  const u128 revenue = static_cast<u128>(usage.revenue_milli) + static_cast<u128>(amount) * 1000;
  if (revenue > kMax) usage.withheld_milli = protocol::saturating_add(usage.withheld_milli, saturate(revenue - kMax));
  usage.revenue_milli = saturate(revenue);
  write_usage(transaction.db(), usage);
}

void OpenEpoch::credit_demo(HubStore::Transaction& transaction, std::uint64_t tokens) {
  auto usage = read_usage(transaction.db());
  usage.demo_tokens = protocol::saturating_add(usage.demo_tokens, tokens);
  write_usage(transaction.db(), usage);
}

void OpenEpoch::credit_data(HubStore::Transaction& transaction, const std::string& owner, std::uint64_t tokens,
                            std::uint64_t units_per_1k_tokens) {
  if (tokens == 0) return;
  auto& db = transaction.db();
  std::uint64_t held_tokens = 0, milli = 0, withheld = 0;
  auto query = db.prepare("SELECT tokens, milli, withheld_milli FROM open_data WHERE owner = ?");
  query.bind(1, owner);
  if (query.step()) {
    held_tokens = from_sql(query.column_int(0));
    milli = from_sql(query.column_int(1));
    withheld = from_sql(query.column_int(2));
  }
  const u128 sum = static_cast<u128>(milli) + static_cast<u128>(tokens) * units_per_1k_tokens;
  if (sum > kMax) withheld = protocol::saturating_add(withheld, saturate(sum - kMax));
  auto upsert = db.prepare(
      "INSERT INTO open_data (owner, tokens, milli, withheld_milli) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (owner) DO UPDATE SET tokens = ?2, milli = ?3, withheld_milli = ?4");
  upsert.bind(1, owner);
  upsert.bind(2, to_sql(protocol::saturating_add(held_tokens, tokens)));
  upsert.bind(3, to_sql(saturate(sum)));
  upsert.bind(4, to_sql(withheld));
  upsert.run();
}

EpochIntake OpenEpoch::close(HubStore::Transaction& transaction) {
  auto& db = transaction.db();
  EpochIntake intake;
  auto carry = db.prepare("INSERT INTO carried_work (owner, flops) VALUES (?, ?)");
  for (const auto& [owner, flops] : take_work(db)) {
    const double whole = std::floor(flops / protocol::kFlopsPerUnit);
    const double remainder = std::max(0.0, flops - whole * protocol::kFlopsPerUnit);
    if (whole >= kTwoTo64) {  // no statement can hold it: withheld, fraction and all
      intake.units[owner] = kMax;
      const double excess = whole - kTwoTo64 + 1;
      intake.units_withheld = protocol::saturating_add(
          intake.units_withheld, excess >= kTwoTo64 ? kMax : static_cast<std::uint64_t>(excess));
      continue;
    }
    if (whole > 0) intake.units[owner] = static_cast<std::uint64_t>(whole);
    if (remainder > 0) {
      carry.bind(1, owner);
      carry.bind(2, remainder);
      carry.run();
    }
  }
  intake.data_units = take_data(db, intake.units_withheld);
  auto usage = read_usage(db);
  intake.revenue = usage.revenue_milli / 1000;
  intake.revenue_withheld = usage.withheld_milli / 1000;
  write_usage(db, {0, usage.revenue_milli % 1000, 0, 0});
  return intake;
}

OpenEpochSummary OpenEpoch::summary() const {
  return store_.read([](Database& db) {
    OpenEpochSummary summary;
    auto work = db.prepare("SELECT COUNT(*), IFNULL(SUM(flops), 0) FROM open_work");
    work.step();
    summary.owners_with_work = from_sql(work.column_int(0));
    summary.flops = work.column_double(1);
    const auto usage = read_usage(db);
    summary.tokens = usage.tokens;
    summary.revenue = usage.revenue_milli / 1000;
    summary.demo_tokens = usage.demo_tokens;
    auto data = db.prepare("SELECT owner, tokens FROM open_data WHERE tokens != 0");
    while (data.step()) {
      summary.data_tokens = protocol::saturating_add(summary.data_tokens, from_sql(data.column_int(1)));
      ++summary.data_contributors;
    }
    return summary;
  });
}

}  // namespace tessera::hub
