// Step records and route seeds in the hub's store.
#include "core/hub/step_book.h"

#include <stdexcept>

namespace tessera::hub::step_book {

std::optional<std::uint64_t> last_step(Database& db) {
  auto query = db.prepare("SELECT MAX(step) FROM steps");
  if (!query.step() || query.column_is_null(0)) return std::nullopt;
  return from_sql(query.column_int(0));
}

std::uint64_t committed_steps(Database& db) {
  auto query = db.prepare("SELECT COUNT(*) FROM steps");
  return query.step() ? static_cast<std::uint64_t>(query.column_int(0)) : 0;
}

std::optional<std::uint64_t> step_before(Database& db, std::uint64_t step) {
  auto query = db.prepare("SELECT MAX(step) FROM steps WHERE step < ?");
  query.bind(1, to_sql(step));
  if (!query.step() || query.column_is_null(0)) return std::nullopt;
  return from_sql(query.column_int(0));
}

std::optional<std::int64_t> committed_ms(Database& db, std::uint64_t step) {
  auto query = db.prepare("SELECT committed_ms FROM steps WHERE step = ?");
  query.bind(1, to_sql(step));
  if (!query.step()) return std::nullopt;
  return query.column_int(0);
}

std::optional<protocol::SignedStepRecord> record(Database& db, std::uint64_t step) {
  auto query = db.prepare("SELECT record FROM steps WHERE step = ?");
  query.bind(1, to_sql(step));
  if (!query.step()) return std::nullopt;
  auto decoded = protocol::SignedStepRecord::decode(query.column_blob(0));
  if (!decoded) throw std::runtime_error("hub database: the stored record of step " + std::to_string(step) +
                                         " does not decode");
  return decoded;
}

void store(Database& db, const protocol::SignedStepRecord& signed_record, std::int64_t committed_ms) {
  const auto& r = signed_record.record;
  auto insert = db.prepare("INSERT INTO steps (step, attempt, driver, record, committed_ms) VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, to_sql(r.step));
  insert.bind(2, to_sql(r.attempt));
  insert.bind_blob(3, r.driver);
  insert.bind_blob(4, signed_record.encode());
  insert.bind(5, committed_ms);
  insert.run();
}

std::optional<protocol::SignedRouteSeed> seed(Database& db, std::uint64_t step) {
  auto query = db.prepare("SELECT signed FROM route_seeds WHERE step = ?");
  query.bind(1, to_sql(step));
  if (!query.step()) return std::nullopt;
  auto decoded = protocol::SignedRouteSeed::decode(query.column_blob(0));
  if (!decoded) throw std::runtime_error("hub database: the route seed of step " + std::to_string(step) +
                                         " does not decode");
  return decoded;
}

void store_seed(Database& db, const protocol::SignedRouteSeed& signed_seed) {
  auto insert = db.prepare("INSERT INTO route_seeds (step, seed, signed) VALUES (?, ?, ?)");
  insert.bind(1, to_sql(signed_seed.seed.step));
  insert.bind_blob(2, signed_seed.seed.seed);
  insert.bind_blob(3, signed_seed.encode());
  insert.run();
}

}  // namespace tessera::hub::step_book
