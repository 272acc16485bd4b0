// SLIP-0010 ed25519 key derivation (hardened steps only) and Solana addresses. The owner key lives
// at m/44'/501'/N'/0' for account N, as Phantom, Solflare and Backpack derive it, so the same words
// show the same address there.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/wallet/secure_bytes.h"
#include "core/wallet/signing.h"

namespace tessera::wallet {

constexpr std::uint32_t kHardened = 0x80000000u;

struct DerivationPath {
  std::vector<std::uint32_t> indices;  // each with kHardened set

  // "m/44'/501'/0'/0'" ('h' or 'H' also mark a hardened step). Throws std::invalid_argument with a
  // message saying what is wrong (non-hardened steps do not exist for ed25519).
  static DerivationPath parse(std::string_view text);
  // m/44'/501'/account'/0'.
  static DerivationPath solana(std::uint32_t account = 0);
  std::string to_string() const;
  bool operator==(const DerivationPath&) const = default;
};

struct ExtendedKey {
  SecureBytes key;         // 32 bytes: the Ed25519 seed
  SecureBytes chain_code;  // 32 bytes
};

// I = HMAC-SHA512("ed25519 seed", seed).
ExtendedKey slip10_master(std::span<const std::uint8_t> seed);
// I = HMAC-SHA512(c, 0x00 || k || ser32(index)); index must be hardened.
ExtendedKey slip10_child(const ExtendedKey& parent, std::uint32_t index);
ExtendedKey slip10_derive(std::span<const std::uint8_t> seed, const DerivationPath& path);
// The Ed25519 key pair at `path` of a BIP-39 seed.
KeyPair derive_keypair(std::span<const std::uint8_t> seed, const DerivationPath& path);

// Solana address: base58 of the 32-byte public key.
std::string address_of(const PublicKey& public_key);
// Throws std::invalid_argument unless `address` is base58 of exactly 32 bytes.
PublicKey parse_address(std::string_view address);

}  // namespace tessera::wallet
