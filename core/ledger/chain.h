// The tamper-evident chain: canonical row bytes, row hashes and the signed head message.
//   row hash  = BLAKE2b-256(previous row hash ‖ canonical row bytes), the first row's previous
//               hash being 32 zero bytes;
//   canonical = table id (1 byte) then each column in TableInfo order: integers as 8 bytes
//               big-endian, reals as their IEEE-754 bits big-endian (-0 written as +0), text and
//               blobs as a 4-byte big-endian length then the bytes;
//   head      = "txn" (8 bytes) ‖ last seq (8 bytes) ‖ row hash at last seq, signed with the node
//               key in the LedgerHead domain (core/wallet/signing.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/ledger/records.h"

namespace tessera::ledger {

using Hash = std::array<std::uint8_t, 32>;

void append_canonical(Table table, const std::vector<Value>& values, std::vector<std::uint8_t>& out);
// The same bytes straight from a record (the writer's path).
void append_canonical(const Record& record, std::vector<std::uint8_t>& out);
Hash chain_hash(const Hash& previous, std::span<const std::uint8_t> canonical);
std::array<std::uint8_t, 48> head_message(std::int64_t txn, std::int64_t last_seq, const Hash& head);

}  // namespace tessera::ledger
