// Hex through libsodium; base58 by repeated division (inputs are tens of bytes).
#include "core/wallet/encoding.h"

#include <algorithm>
#include <array>

#include <sodium.h>

namespace tessera::wallet {
namespace {

constexpr std::string_view kAlphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<std::int8_t, 128> make_reverse() {
  std::array<std::int8_t, 128> reverse{};
  for (auto& value : reverse) value = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) reverse[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return reverse;
}
constexpr auto kReverse = make_reverse();

}  // namespace

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string text(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(text.data(), text.size(), bytes.data(), bytes.size());
  text.pop_back();
  return text;
}

std::optional<std::vector<std::uint8_t>> from_hex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  if (text.empty()) return std::vector<std::uint8_t>{};  // libsodium must not see a null buffer
  std::vector<std::uint8_t> bytes(text.size() / 2);
  std::size_t used = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(bytes.data(), bytes.size(), text.data(), text.size(), nullptr, &used, &end) != 0 ||
      used != bytes.size() || end != text.data() + text.size())
    return std::nullopt;
  return bytes;
}

std::string base58_encode(std::span<const std::uint8_t> bytes) {
  const auto zeros = static_cast<std::size_t>(std::find_if(bytes.begin(), bytes.end(), [](auto b) { return b != 0; }) -
                                              bytes.begin());
  // Base-58 digits, least significant first; log(256)/log(58) < 1.37.
  std::vector<std::uint8_t> digits;
  digits.reserve(bytes.size() * 137 / 100 + 1);
  for (std::size_t i = zeros; i < bytes.size(); ++i) {
    unsigned carry = bytes[i];
    for (auto& digit : digits) {
      carry += static_cast<unsigned>(digit) << 8;
      digit = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    while (carry > 0) {
      digits.push_back(static_cast<std::uint8_t>(carry % 58));
      carry /= 58;
    }
  }
  std::string text(zeros, '1');
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) text.push_back(kAlphabet[*it]);
  return text;
}

std::optional<std::vector<std::uint8_t>> base58_decode(std::string_view text) {
  const auto ones = static_cast<std::size_t>(std::find_if(text.begin(), text.end(), [](char c) { return c != '1'; }) -
                                             text.begin());
  std::vector<std::uint8_t> bytes;  // least significant first
  bytes.reserve(text.size());
  for (std::size_t i = ones; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 128 || kReverse[c] < 0) return std::nullopt;
    unsigned carry = static_cast<unsigned>(kReverse[c]);
    for (auto& byte : bytes) {
      carry += static_cast<unsigned>(byte) * 58;
      byte = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<std::uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::vector<std::uint8_t> result(ones, 0);
  result.insert(result.end(), bytes.rbegin(), bytes.rend());
  return result;
}

}  // namespace tessera::wallet
