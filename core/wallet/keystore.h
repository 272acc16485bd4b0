// The owner key at rest: a versioned JSON file holding the encrypted secret (Argon2id via
// crypto_pwhash → XChaCha20-Poly1305, random salt and nonce, KDF parameters in the file) with the
// address, path and account in clear. Written atomically with mode 0600; unlocked secrets live in
// SecureBytes and are wiped on lock().
//
// File (version 1), keys sorted:
//   {"account": 0 | null, "address": "<base58>", "checksum": "<hex BLAKE2b-256 of the rest>",
//    "cipher": {"ciphertext": "<hex>", "name": "xchacha20poly1305-ietf", "nonce": "<hex 24 bytes>"},
//    "format": "tessera-wallet", "kdf": {"memlimit": N, "name": "argon2id13", "opslimit": N,
//    "salt": "<hex 16 bytes>"}, "kind": "bip39-seed" | "ed25519-seed", "password_check": "<hex>",
//    "path": "m/44'/501'/0'/0'" | null, "version": 1}
// The secret is the 64-byte BIP-39 seed ("bip39-seed", the owner key is derived at `path`) or a
// 32-byte Ed25519 seed ("ed25519-seed", an imported Solana keypair). Argon2id gives 64 bytes: the
// first half is the cipher key, the second half's BLAKE2b hash is `password_check`, so a wrong
// password and a damaged file are told apart. Every field but the ciphertext is the cipher's
// associated data; `checksum` catches accidental damage before any key is derived.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "core/wallet/secure_bytes.h"
#include "core/wallet/secure_file.h"
#include "core/wallet/signing.h"
#include "core/wallet/slip10.h"

namespace tessera::wallet {

struct KdfLimits {
  std::uint64_t opslimit = 0;
  std::size_t memlimit = 0;

  static KdfLimits moderate();     // libsodium's MODERATE limits: the default for every keystore
  static KdfLimits interactive();  // libsodium's INTERACTIVE limits (for comparison in benchmarks)
  // The minimum limits, for unit tests only: never pass this for a real wallet.
  static KdfLimits insecure_for_tests_only();
  bool operator==(const KdfLimits&) const = default;
};

enum class KeystoreKind { Bip39Seed, Ed25519Seed };

class Keystore {
 public:
  static constexpr int kVersion = 1;
  static constexpr const char* kFileName = "wallet.json";

  // Encrypt a new keystore and write it. Refuses (WalletError) to replace an existing file: moving
  // an old wallet away is the user's decision, never a side effect. The result is unlocked.
  static Keystore create_from_seed(const std::filesystem::path& file, std::span<const std::uint8_t> bip39_seed,
                                   const DerivationPath& path, std::span<const std::uint8_t> password,
                                   const KdfLimits& limits = KdfLimits::moderate());
  static Keystore create_from_keypair(const std::filesystem::path& file, const KeyPair& key,
                                      std::span<const std::uint8_t> password,
                                      const KdfLimits& limits = KdfLimits::moderate());
  // Reads and checks a keystore (format, version, checksum, fields) without a password. Throws
  // WalletError (missing, unreadable), KeystoreDamaged or UnsupportedKeystoreVersion. Warns when
  // the file's permissions are too open.
  static Keystore open(const std::filesystem::path& file);
  // The same checks on a keystore's text already in memory; `file` is where it belongs.
  static Keystore parse(std::string_view text, const std::filesystem::path& file);

  const std::filesystem::path& file() const { return file_; }
  KeystoreKind kind() const { return kind_; }
  const std::string& address() const { return address_; }
  const std::optional<DerivationPath>& path() const { return path_; }        // bip39-seed only
  const std::optional<std::uint32_t>& account() const { return account_; }  // when path is m/44'/501'/N'/0'
  const KdfLimits& limits() const { return limits_; }

  // Throws WrongPassword, or KeystoreDamaged ("authentication failed") when the encrypted part or
  // its clear fields were changed.
  void unlock(std::span<const std::uint8_t> password);
  void lock();  // wipes the secret and the key now
  bool is_unlocked() const { return owner_.has_value(); }
  const KeyPair& owner_key() const;  // throws std::logic_error when locked

  // Rewrites the file under a new password (fresh salt and nonce) atomically. The keystore must be
  // unlocked (unlocking is the proof of the old password); it stays unlocked.
  void change_password(std::span<const std::uint8_t> new_password, const KdfLimits& limits = KdfLimits::moderate(),
                       const AtomicWriteHooks& hooks = {});

  // The BLAKE2b-256 checksum the file must carry, over every field but "checksum" (exposed so tests
  // can forge files whose damage only the cipher can detect).
  static std::string checksum_of(const nlohmann::json& document);

 private:
  Keystore() = default;
  static Keystore seal(const std::filesystem::path& file, KeystoreKind kind, std::span<const std::uint8_t> secret,
                       const std::optional<DerivationPath>& path, std::span<const std::uint8_t> password,
                       const KdfLimits& limits, bool replace, const AtomicWriteHooks& hooks);

  std::filesystem::path file_;
  nlohmann::json document_;
  KeystoreKind kind_ = KeystoreKind::Bip39Seed;
  std::string address_;
  std::optional<DerivationPath> path_;
  std::optional<std::uint32_t> account_;
  KdfLimits limits_;
  SecureBytes secret_;  // while unlocked
  std::optional<KeyPair> owner_;
};

}  // namespace tessera::wallet
