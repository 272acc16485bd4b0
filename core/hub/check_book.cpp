// The checks table: rows in and out, receipt digests filled in, counters.
#include "core/hub/check_book.h"

#include <sqlite3.h>

#include <cstring>

namespace tessera::hub {
namespace {

constexpr const char* kColumns =
    "id, state, round, first_check, step, micro_batch, micro_batches, stage, tokens, worker, tokens_hash, forward_in, "
    "backward_in, forward_out, backward_out, neighbours, checker, checker_owner, ticket, report, reason, created_ms, "
    "issued_ms, expires_ms";

template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> optional_fixed(const Query& query, int column) {
  if (query.column_is_null(column)) return std::nullopt;
  const auto blob = query.column_blob(column);
  if (blob.size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), blob.data(), N);
  return out;
}

template <std::size_t N>
std::array<std::uint8_t, N> fixed(const Query& query, int column) {
  return optional_fixed<N>(query, column).value_or(std::array<std::uint8_t, N>{});
}

std::vector<wallet::PublicKey> keys(const Query& query, int column) {
  std::vector<wallet::PublicKey> out;
  const auto blob = query.column_blob(column);
  for (std::size_t at = 0; at + 32 <= blob.size(); at += 32) {
    wallet::PublicKey key{};
    std::memcpy(key.data(), blob.data() + at, 32);
    out.push_back(key);
  }
  return out;
}

std::optional<std::int64_t> optional_int(const Query& query, int column) {
  if (query.column_is_null(column)) return std::nullopt;
  return query.column_int(column);
}

CheckRow row_of(const Query& q) {
  CheckRow row;
  row.id = from_sql(q.column_int(0));
  row.state = q.column_text(1);
  row.round = static_cast<int>(q.column_int(2));
  if (const auto first = optional_int(q, 3)) row.first_check = from_sql(*first);
  row.step = from_sql(q.column_int(4));
  row.micro_batch = static_cast<std::uint32_t>(q.column_int(5));
  row.micro_batches = static_cast<std::uint32_t>(q.column_int(6));
  row.stage = static_cast<std::uint16_t>(q.column_int(7));
  row.tokens = static_cast<std::uint32_t>(q.column_int(8));
  row.worker = fixed<32>(q, 9);
  row.tokens_hash = fixed<32>(q, 10);
  row.forward_in = optional_fixed<32>(q, 11);
  row.backward_in = optional_fixed<32>(q, 12);
  row.forward_out = optional_fixed<32>(q, 13);
  row.backward_out = optional_fixed<32>(q, 14);
  row.neighbours = keys(q, 15);
  row.checker = optional_fixed<32>(q, 16);
  if (!q.column_is_null(17)) row.checker_owner = q.column_text(17);
  if (!q.column_is_null(18)) {
    const auto ticket = q.column_blob(18);
    row.ticket.assign(ticket.begin(), ticket.end());
  }
  if (const auto report = optional_int(q, 19)) row.report = static_cast<int>(*report);
  if (!q.column_is_null(20)) row.reason = q.column_text(20);
  row.created_ms = q.column_int(21);
  row.issued_ms = optional_int(q, 22);
  row.expires_ms = optional_int(q, 23);
  return row;
}

void bind_digest(Query& query, int index, const std::optional<protocol::PayloadDigest>& digest) {
  if (digest) query.bind_blob(index, *digest);
  else query.bind_null(index);
}

// Fills `column` of the planned row of (step, micro-batch, stage, worker), if any.
std::optional<std::uint64_t> fill_one(Database& db, const char* column, const protocol::Receipt& r, int stage,
                                      const wallet::PublicKey& worker) {
  auto update = db.prepare(std::string("UPDATE checks SET ") + column +
                           " = ? WHERE state = 'planned' AND step = ? AND micro_batch = ? AND stage = ? AND worker = ? "
                           "RETURNING id");
  update.bind_blob(1, r.payload_hash);
  update.bind(2, to_sql(r.step));
  update.bind(3, static_cast<std::int64_t>(r.micro_batch));
  update.bind(4, static_cast<std::int64_t>(stage));
  update.bind_blob(5, worker);
  if (!update.step()) return std::nullopt;
  const auto id = from_sql(update.column_int(0));
  while (update.step()) {
  }
  return id;
}

}  // namespace

bool CheckRow::receipted(int stages) const {
  const bool first = stage == 0, last = stage + 1 >= stages;
  return (first || (forward_in && backward_out)) && (last || (forward_out && backward_in));
}

namespace check_book {

std::uint64_t insert(Database& db, const CheckRow& row) {
  auto q = db.prepare(
      "INSERT INTO checks (state, round, first_check, step, micro_batch, micro_batches, stage, tokens, worker, "
      "tokens_hash, forward_in, backward_in, forward_out, backward_out, neighbours, created_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q.bind(1, row.state);
  q.bind(2, static_cast<std::int64_t>(row.round));
  if (row.first_check) q.bind(3, to_sql(*row.first_check));
  else q.bind_null(3);
  q.bind(4, to_sql(row.step));
  q.bind(5, static_cast<std::int64_t>(row.micro_batch));
  q.bind(6, static_cast<std::int64_t>(row.micro_batches));
  q.bind(7, static_cast<std::int64_t>(row.stage));
  q.bind(8, static_cast<std::int64_t>(row.tokens));
  q.bind_blob(9, row.worker);
  q.bind_blob(10, row.tokens_hash);
  bind_digest(q, 11, row.forward_in);
  bind_digest(q, 12, row.backward_in);
  bind_digest(q, 13, row.forward_out);
  bind_digest(q, 14, row.backward_out);
  std::vector<std::uint8_t> neighbours;
  for (const auto& key : row.neighbours) neighbours.insert(neighbours.end(), key.begin(), key.end());
  q.bind_blob(15, neighbours);
  q.bind(16, row.created_ms);
  q.run();
  return static_cast<std::uint64_t>(sqlite3_last_insert_rowid(db.handle()));
}

std::optional<CheckRow> find(Database& db, std::uint64_t id) {
  auto q = db.prepare(std::string("SELECT ") + kColumns + " FROM checks WHERE id = ?");
  q.bind(1, to_sql(id));
  if (!q.step()) return std::nullopt;
  return row_of(q);
}

std::vector<CheckRow> in_state(Database& db, const std::string& state) {
  auto q = db.prepare(std::string("SELECT ") + kColumns + " FROM checks WHERE state = ? ORDER BY id");
  q.bind(1, state);
  std::vector<CheckRow> rows;
  while (q.step()) rows.push_back(row_of(q));
  return rows;
}

std::vector<CheckRow> planned_due(Database& db, int stages, std::int64_t stale_before_ms) {
  auto q = db.prepare(std::string("SELECT ") + kColumns +
                      " FROM checks WHERE state = 'planned' AND (created_ms < ?1 OR ("
                      "(stage = 0 OR (forward_in IS NOT NULL AND backward_out IS NOT NULL)) AND "
                      "(stage + 1 >= ?2 OR (forward_out IS NOT NULL AND backward_in IS NOT NULL)))) ORDER BY id");
  q.bind(1, stale_before_ms);
  q.bind(2, static_cast<std::int64_t>(stages));
  std::vector<CheckRow> rows;
  while (q.step()) rows.push_back(row_of(q));
  return rows;
}

std::vector<CheckRow> issued_expired(Database& db, std::int64_t now_ms) {
  auto q = db.prepare(std::string("SELECT ") + kColumns +
                      " FROM checks WHERE state = 'issued' AND expires_ms <= ? ORDER BY id");
  q.bind(1, now_ms);
  std::vector<CheckRow> rows;
  while (q.step()) rows.push_back(row_of(q));
  return rows;
}

std::vector<std::uint64_t> fill(Database& db, const protocol::Receipt& r) {
  std::vector<std::uint64_t> filled;
  const auto add = [&filled](std::optional<std::uint64_t> id) {
    if (id) filled.push_back(*id);
  };
  if (r.direction == protocol::Direction::Forward) {
    add(fill_one(db, "forward_out", r, r.stage, r.sender));
    add(fill_one(db, "forward_in", r, r.stage + 1, r.receiver));
  } else {
    add(fill_one(db, "backward_out", r, r.stage, r.sender));
    if (r.stage > 0) add(fill_one(db, "backward_in", r, r.stage - 1, r.receiver));
  }
  return filled;
}

void set_state(Database& db, std::uint64_t id, const std::string& state, const std::string& reason) {
  auto q = db.prepare("UPDATE checks SET state = ?, reason = CASE WHEN ? = '' THEN reason ELSE ? END WHERE id = ?");
  q.bind(1, state);
  q.bind(2, reason);
  q.bind(3, reason);
  q.bind(4, to_sql(id));
  q.run();
}

void set_issued(Database& db, const CheckRow& row) {
  auto q = db.prepare(
      "UPDATE checks SET state = 'issued', checker = ?, checker_owner = ?, ticket = ?, issued_ms = ?, expires_ms = ? "
      "WHERE id = ?");
  q.bind_blob(1, *row.checker);
  q.bind(2, row.checker_owner);
  q.bind_blob(3, row.ticket);
  q.bind(4, *row.issued_ms);
  q.bind(5, *row.expires_ms);
  q.bind(6, to_sql(row.id));
  q.run();
}

void set_report(Database& db, std::uint64_t id, int status, const std::string& state, const std::string& reason) {
  auto q = db.prepare("UPDATE checks SET report = ?, state = ?, reason = ? WHERE id = ?");
  q.bind(1, static_cast<std::int64_t>(status));
  q.bind(2, state);
  q.bind(3, reason);
  q.bind(4, to_sql(id));
  q.run();
}

void count(Database& db, const std::string& counter) {
  auto q = db.prepare(
      "INSERT INTO check_counts (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1");
  q.bind(1, counter);
  q.run();
}

void forget_decided_before(Database& db, std::uint64_t step) {
  auto q = db.prepare("DELETE FROM checks WHERE step < ? AND state NOT IN ('planned', 'issued', 'suspect')");
  q.bind(1, to_sql(step));
  q.run();
}

std::map<std::string, std::uint64_t> counts(Database& db) {
  std::map<std::string, std::uint64_t> out;
  for (const char* name : kCheckCounters) out[name] = 0;
  auto q = db.prepare("SELECT name, value FROM check_counts");
  while (q.step()) out[q.column_text(0)] = from_sql(q.column_int(1));
  return out;
}

}  // namespace check_book
}  // namespace tessera::hub
