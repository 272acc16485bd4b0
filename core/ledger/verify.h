// Verification of the contribution log (internal to core/ledger; LedgerReader::verify is the
// public entry): the walk along the chain that finds the first edited, deleted, inserted or
// reordered row and checks every signed head, and the comparison of the roll-ups with the rows.
#pragma once

#include <optional>
#include <string>

#include "core/ledger/reader.h"
#include "core/ledger/sqlite.h"

namespace tessera::ledger::detail {

// Recomputes the chain over every table in seq order and checks each transaction's signed head,
// against `expected_key` when given and otherwise against the keys recorded in the file. Call it
// inside one read transaction, so that the rows cannot change under the walk.
VerifyReport verify_chain(Connection& connection, const std::optional<wallet::PublicKey>& expected_key);

// Which dashboard figure ("compute donated", "ownership", "revenue") the roll-ups get wrong
// compared with the same figures from the raw rows, if any.
std::optional<std::string> rollup_mismatch(const Summary& rollup, const Summary& raw);

}  // namespace tessera::ledger::detail
