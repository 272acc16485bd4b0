// Helpers shared by the wallet tests: hex, test data, and byte views of text.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/wallet/encoding.h"
#include "core/wallet/secure_bytes.h"

namespace wallet_test {

inline std::vector<std::uint8_t> hex(const std::string& text) {
  auto bytes = tessera::wallet::from_hex(text);
  if (!bytes) throw std::invalid_argument("bad hex in test data: " + text);
  return *bytes;
}

inline std::string text_file(const std::string& relative) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/tests/data/wallet/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("missing test data " + relative);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline nlohmann::json json_file(const std::string& relative) { return nlohmann::json::parse(text_file(relative)); }

inline std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

inline std::string hex_of(const tessera::wallet::SecureBytes& secret) { return tessera::wallet::to_hex(secret.span()); }

}  // namespace wallet_test
