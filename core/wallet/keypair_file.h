// The Solana CLI keypair file (solana-keygen, Phantom's "export private key" as bytes): a JSON
// array of 64 numbers, the 32-byte Ed25519 seed followed by the 32-byte public key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "core/wallet/secure_bytes.h"
#include "core/wallet/signing.h"

namespace tessera::wallet {

// Throws InvalidKeypairFile when the text is not such an array, or its public half does not match
// the key its secret half gives.
KeyPair parse_solana_keypair(std::span<const std::uint8_t> text);
// "[n,n,…,n]" as solana-keygen writes it, in secure memory.
SecureBytes format_solana_keypair(const KeyPair& key);

KeyPair read_solana_keypair_file(const std::filesystem::path& file);
// Mode 0600, written atomically. Refuses (WalletError) to replace an existing file unless `replace`.
void write_solana_keypair_file(const std::filesystem::path& file, const KeyPair& key, bool replace = false);

}  // namespace tessera::wallet
