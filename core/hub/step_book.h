// The committed steps and the route seeds the hub issued, in the hub's store (tables steps and
// route_seeds, hub_schema.cpp): each step's signed record as the driver sent it, stored once, and
// each step's seed, which never changes once issued. Reads and writes go through the caller's
// database handle (a transaction's, or a read's), so a record and what follows from it (credited
// receipts, the next seed) commit together.
#pragma once

#include <cstdint>
#include <optional>

#include "core/hub/hub_store.h"
#include "core/protocol/route_seed.h"
#include "core/protocol/step_record.h"

namespace tessera::hub {

// Steps are stored as SQLite integers: those at or above 2^63 are refused.
inline constexpr std::uint64_t kMaxStoredStep = 0x7fffffffffffffffull;

namespace step_book {

// The highest step with a stored record; nothing before the first.
std::optional<std::uint64_t> last_step(Database& db);
// How many step records are stored (the steps the run has committed).
std::uint64_t committed_steps(Database& db);
// The highest stored step below `step` (none: `step` is the first).
std::optional<std::uint64_t> step_before(Database& db, std::uint64_t step);
std::optional<protocol::SignedStepRecord> record(Database& db, std::uint64_t step);
// When the hub stored the step's record (Unix ms); nothing for a step without one.
std::optional<std::int64_t> committed_ms(Database& db, std::uint64_t step);
// Stores the record of a step not stored before (the caller checked that).
void store(Database& db, const protocol::SignedStepRecord& record, std::int64_t committed_ms);

std::optional<protocol::SignedRouteSeed> seed(Database& db, std::uint64_t step);
void store_seed(Database& db, const protocol::SignedRouteSeed& seed);

}  // namespace step_book
}  // namespace tessera::hub
