// What a statement adds to the balances from statement version 2 on (protocol::EpochActivity):
// the epoch's events and each owner's rejected receipts and spot checks, stored with the
// published epoch (statement_events, leaf_activity) so that its tree and signed bytes can be
// rebuilt exactly (statement_archive.cpp). Plain SQL within the caller's transaction or read.
#pragma once

#include <cstdint>

#include "core/hub/hub_store.h"
#include "core/protocol/statement.h"

namespace tessera::hub::statement_activity {

void record(Database& db, std::uint64_t epoch, const protocol::EpochActivity& activity);
protocol::EpochActivity load(Database& db, std::uint64_t epoch);

// The epoch's activity as the hub's work accounting tallied it (node_work, summed per owner:
// "rejected:*" counters, checks passed and failed) and its exclusion events.
protocol::EpochActivity gather(Database& db, std::uint64_t epoch);

}  // namespace tessera::hub::statement_activity
