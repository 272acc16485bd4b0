// The hub store's tables (hub_store.h) and their migrations, keyed by PRAGMA user_version and
// recognised by PRAGMA application_id ("THUB"):
//   1  meta (the run), members, receipts (unique by id) and counters (the tally), the open
//      epoch's open_work, carried_work and open_usage, and every published epoch's statements,
//      owners and balance_history (an owner's cumulative balance from the epoch it changed on)
//   2  verified work: committed steps and slots, node tallies, API keys and debits, spot checks,
//      weight digests, exclusions, statement events and leaf activity
//   3  data credit: open_data (per contributor, the open epoch's tokens and unsettled thousandths
//      of a data unit), balance_history.data_units, statements.total_data_units
// A newer user_version than this build knows is refused before anything is written.
#pragma once

#include <cstdint>
#include <string>

#include "core/ledger/sqlite.h"

namespace tessera::hub {

inline constexpr int kHubSchemaVersion = 3;
inline constexpr std::int32_t kHubApplicationId = 0x54485542;  // "THUB"

// Brings the database to kHubSchemaVersion (each step one transaction) and checks that it belongs
// to `run_id` (recording it in a new one). Throws std::runtime_error naming the file otherwise.
void migrate_hub_store(ledger::detail::Connection& db, const std::string& run_id);

}  // namespace tessera::hub
