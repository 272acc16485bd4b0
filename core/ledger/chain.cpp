// Canonical encoding and BLAKE2b chaining (libsodium crypto_generichash).
#include "core/ledger/chain.h"

#include <bit>
#include <cmath>
#include <string_view>
#include <stdexcept>
#include <string>

#include <sodium.h>

namespace tessera::ledger {
namespace {

void put_u64(std::uint64_t value, std::vector<std::uint8_t>& out) {
  std::uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
  out.insert(out.end(), bytes, bytes + 8);
}

void put_u32(std::uint32_t value, std::vector<std::uint8_t>& out) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void put_bytes(const std::uint8_t* data, std::size_t size, std::vector<std::uint8_t>& out) {
  if (size > 0xffffffffu) throw std::invalid_argument("ledger value larger than 4 GiB");
  put_u32(static_cast<std::uint32_t>(size), out);
  out.insert(out.end(), data, data + size);
}

}  // namespace

void append_canonical(Table table, const std::vector<Value>& values, std::vector<std::uint8_t>& out) {
  const auto& info = table_info(table);
  if (values.size() != info.columns.size())
    throw std::invalid_argument("a " + std::string(info.name) + " row has " + std::to_string(info.columns.size()) +
                                " values, got " + std::to_string(values.size()));
  out.push_back(static_cast<std::uint8_t>(table));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& value = values[i];
    switch (info.columns[i].type) {
      case ColumnType::Integer:
        put_u64(static_cast<std::uint64_t>(std::get<std::int64_t>(value)), out);
        break;
      case ColumnType::Real: {
        double real = std::get<double>(value);
        if (real == 0.0) real = 0.0;  // SQLite does not keep the sign of zero
        put_u64(std::bit_cast<std::uint64_t>(real), out);
        break;
      }
      case ColumnType::Text: {
        const auto& text = std::get<std::string>(value);
        put_bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size(), out);
        break;
      }
      case ColumnType::Blob: {
        const auto& blob = std::get<std::vector<std::uint8_t>>(value);
        put_bytes(blob.data(), blob.size(), out);
        break;
      }
    }
  }
}

void append_canonical(const Record& record, std::vector<std::uint8_t>& out) {
  struct Sink {
    std::vector<std::uint8_t>& out;
    void integer(std::int64_t value) { put_u64(static_cast<std::uint64_t>(value), out); }
    void real(double value) {
      if (value == 0.0) value = 0.0;
      put_u64(std::bit_cast<std::uint64_t>(value), out);
    }
    void text(std::string_view value) {
      put_bytes(reinterpret_cast<const std::uint8_t*>(value.data()), value.size(), out);
    }
    void blob(std::span<const std::uint8_t> value) { put_bytes(value.data(), value.size(), out); }
  } sink{out};
  out.push_back(static_cast<std::uint8_t>(table_of(record)));
  for_each_field(record, sink);
}

Hash chain_hash(const Hash& previous, std::span<const std::uint8_t> canonical) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 32);
  crypto_generichash_update(&state, previous.data(), previous.size());
  crypto_generichash_update(&state, canonical.data(), canonical.size());
  Hash hash{};
  crypto_generichash_final(&state, hash.data(), hash.size());
  return hash;
}

std::array<std::uint8_t, 48> head_message(std::int64_t txn, std::int64_t last_seq, const Hash& head) {
  std::vector<std::uint8_t> bytes;
  bytes.reserve(48);
  put_u64(static_cast<std::uint64_t>(txn), bytes);
  put_u64(static_cast<std::uint64_t>(last_seq), bytes);
  bytes.insert(bytes.end(), head.begin(), head.end());
  std::array<std::uint8_t, 48> message{};
  std::copy(bytes.begin(), bytes.end(), message.begin());
  return message;
}

}  // namespace tessera::ledger
