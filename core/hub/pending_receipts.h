// Receipts that arrived before their step's record (table pending_receipts): a node reports a
// receipt as soon as it has it, and the driver's record may reach the hub after it. Bounded, so
// receipts for steps that never come cannot grow the hub: at most kPendingPerSender per sender
// and kPendingOverall in all. Taken out (and re-checked by committed_work.h) in the transaction
// that stores the record of their step or of a later one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/hub/hub_store.h"
#include "core/protocol/receipt.h"

namespace tessera::hub {

inline constexpr std::size_t kPendingPerSender = 4096;
inline constexpr std::size_t kPendingOverall = 262144;

struct PendingReceipt {
  protocol::SignedReceipt receipt;
  std::string owner;  // the sender's, as the roster said when it was reported
};

namespace pending_receipts {

enum class Added { Added, Known, Full };

// How many more receipts of one sender may be kept now (counted once per batch).
struct Room {
  std::uint64_t sender = 0;
  std::uint64_t overall = 0;
};
Room room(Database& db, const wallet::PublicKey& sender);

// Keeps the receipt (already checked for everything but its slot) until its step is committed;
// spends `room` (of the receipt's sender).
Added add(Database& db, const protocol::SignedReceipt& receipt, const std::string& owner, Room& room);
bool contains(Database& db, const std::string& id);
// Removes and returns those for steps up to `step`, oldest step first.
std::vector<PendingReceipt> take_through(Database& db, std::uint64_t step);
std::uint64_t count(Database& db);

}  // namespace pending_receipts
}  // namespace tessera::hub
