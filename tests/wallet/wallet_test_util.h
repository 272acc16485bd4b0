// Helpers shared by the wallet tests: hex, test data, and byte views of text.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/wallet/encoding.h"
#include "core/wallet/keystore.h"
#include "core/wallet/secure_bytes.h"
#include "core/wallet/slip10.h"

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

// A version-1 keystore of `seed` exactly as Tessera 0.1 wrote it: no "words", the seed alone
// encrypted, every other field the associated data.
inline std::string version1_keystore(std::span<const std::uint8_t> seed, const std::string& password,
                                     const tessera::wallet::KdfLimits& limits) {
  using namespace tessera::wallet;
  const auto path = DerivationPath::solana(0);
  const auto address = address_of(derive_keypair(seed, path).public_key());
  std::array<std::uint8_t, crypto_pwhash_SALTBYTES> salt{};
  std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  std::array<std::uint8_t, 64> derived{};
  if (crypto_pwhash(derived.data(), derived.size(), password.data(), password.size(), salt.data(),
                    limits.opslimit, limits.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw std::runtime_error("argon2id failed");
  std::array<std::uint8_t, 32> check{};
  crypto_generichash(check.data(), check.size(), derived.data() + 32, 32, nullptr, 0);
  nlohmann::json document = {
      {"format", "tessera-wallet"}, {"version", 1}, {"kind", "bip39-seed"}, {"address", address},
      {"path", path.to_string()}, {"account", 0},
      {"kdf", {{"name", "argon2id13"}, {"opslimit", limits.opslimit}, {"memlimit", limits.memlimit},
               {"salt", to_hex(salt)}}},
      {"cipher", {{"name", "xchacha20poly1305-ietf"}, {"nonce", to_hex(nonce)}}},
      {"password_check", to_hex(check)},
  };
  const auto aad = document.dump();
  std::vector<std::uint8_t> ciphertext(seed.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext.data(), &length, seed.data(), seed.size(),
                                             reinterpret_cast<const unsigned char*>(aad.data()), aad.size(), nullptr,
                                             nonce.data(), derived.data());
  document["cipher"]["ciphertext"] = to_hex(ciphertext);
  document["checksum"] = Keystore::checksum_of(document);
  return document.dump(2) + "\n";
}

}  // namespace wallet_test
