// Text encodings of public bytes: lowercase hex and base58 (Bitcoin alphabet, as Solana uses for
// addresses and signatures). Never pass a secret through these: they return std::string.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::wallet {

std::string to_hex(std::span<const std::uint8_t> bytes);
// Strict: an even number of hex digits (either case), nothing else. std::nullopt otherwise.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text);
// Exactly N bytes of hex, or std::nullopt.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> fixed_from_hex(std::string_view text) {
  auto bytes = from_hex(text);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

// Each leading zero byte becomes a leading '1'.
std::string base58_encode(std::span<const std::uint8_t> bytes);
// std::nullopt on a character outside the alphabet.
std::optional<std::vector<std::uint8_t>> base58_decode(std::string_view text);

}  // namespace tessera::wallet
