// Lower-case hexadecimal for hashes, keys and signatures in JSON and on screen (never secrets).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::protocol {

std::string to_hex(std::span<const std::uint8_t> bytes);
// Nothing when `hex` is not exactly valid hexadecimal.
std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex);

// Exactly N bytes from hex, or nothing.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> fixed_from_hex(std::string_view hex) {
  auto bytes = from_hex(hex);
  if (!bytes || bytes->size() != N) return std::nullopt;
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

}  // namespace tessera::protocol
