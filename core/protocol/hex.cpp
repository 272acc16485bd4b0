// Hex via libsodium (constant-time, strict parsing).
#include "core/protocol/hex.h"

#include <sodium.h>

namespace tessera::protocol {

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  hex.pop_back();
  return hex;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> bytes(hex.size() / 2);
  size_t used = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(bytes.data(), bytes.size(), hex.data(), hex.size(), nullptr, &used, &end) != 0 ||
      used != bytes.size() || end != hex.data() + hex.size())
    return std::nullopt;
  return bytes;
}

}  // namespace tessera::protocol
