// The owner key at rest: a versioned JSON file holding the encrypted secret (Argon2id via
// crypto_pwhash → XChaCha20-Poly1305, random salt and nonce, KDF parameters in the file) with the
// address, path, account and word count in clear. Written atomically with mode 0600; unlocked
// secrets live in SecureBytes and are wiped on lock().
//
// File (version 2), keys sorted:
//   {"account": 0 | null, "address": "<base58>", "checksum": "<hex BLAKE2b-256 of the rest>",
//    "cipher": {"ciphertext": "<hex>", "name": "xchacha20poly1305-ietf", "nonce": "<hex 24 bytes>"},
//    "format": "tessera-wallet", "kdf": {"memlimit": N, "name": "argon2id13", "opslimit": N,
//    "salt": "<hex 16 bytes>"}, "kind": "bip39-seed" | "ed25519-seed", "password_check": "<hex>",
//    "path": "m/44'/501'/0'/0'" | null, "version": 2, "words": 12 | 15 | 18 | 21 | 24 | null}
// The secret is the 64-byte BIP-39 seed followed, when "words" is a number, by the BIP-39 entropy
// of that many words (16 to 32 bytes; the owner key is derived from the seed at `path`), or a
// 32-byte Ed25519 seed ("ed25519-seed", an imported Solana keypair; "words" is null). Seed and
// entropy are one AEAD secret: the words exist only encrypted, like the seed. Version 1 is the same
// without "words" and without entropy (the words cannot be shown again); it is still read, and
// rewritten as version 2 by a password change or by add_words().
// Argon2id gives 64 bytes: the first half is the cipher key, the second half's BLAKE2b hash is
// `password_check`, so a wrong password and a damaged file are told apart. Every field but the
// ciphertext is the cipher's associated data; `checksum` catches accidental damage before any key
// is derived.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "core/wallet/bip39.h"
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

// Whether a keystore can show its words again, and if not, why.
enum class WordsAvailability {
  Stored,          // version 2 with the BIP-39 entropy: reveal_words() shows them after the password
  SeedOnly,        // BIP-39 seed without its words: a version-1 file (or one sealed from a seed)
  ImportedKeypair  // a Solana keypair file was imported: there never were words
};

// Words shown again after the password. `needs_passphrase`: the stored seed is not the words' seed
// without a passphrase, so restoring elsewhere needs the BIP-39 passphrase too.
struct RevealedWords {
  bip39::Mnemonic mnemonic;
  bool needs_passphrase = false;
};

class Keystore {
 public:
  static constexpr int kVersion = 2;
  static constexpr const char* kFileName = "wallet.json";

  // Encrypt a new keystore and write it. Refuses (WalletError) to replace an existing file: moving
  // an old wallet away is the user's decision, never a side effect. The result is unlocked.
  static Keystore create_from_seed(const std::filesystem::path& file, std::span<const std::uint8_t> bip39_seed,
                                   const DerivationPath& path, std::span<const std::uint8_t> password,
                                   const KdfLimits& limits = KdfLimits::moderate());
  // The same from the words themselves (version 2: the words can be shown again later).
  static Keystore create_from_mnemonic(const std::filesystem::path& file, const bip39::Mnemonic& mnemonic,
                                       std::span<const std::uint8_t> passphrase, const DerivationPath& path,
                                       std::span<const std::uint8_t> password,
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
  int version() const { return version_; }  // as read or written: 1 or 2
  WordsAvailability words_availability() const;
  std::optional<std::size_t> word_count() const { return word_count_; }  // when the words are stored
  // Why there are no words to show, in words a user can act on (empty when they are stored).
  std::string why_no_words() const;

  // Throws WrongPassword, or KeystoreDamaged ("authentication failed") when the encrypted part or
  // its clear fields were changed.
  void unlock(std::span<const std::uint8_t> password);
  void lock();  // wipes the secret and the key now
  bool is_unlocked() const { return owner_.has_value(); }
  const KeyPair& owner_key() const;  // throws std::logic_error when locked

  // The words, decrypted with `password` whether or not the keystore is unlocked (showing them is
  // always worth the password). Throws WrongPassword, KeystoreDamaged, or NoWordsStored (with
  // why_no_words()) before any key is derived.
  RevealedWords reveal_words(std::span<const std::uint8_t> password) const;

  // Upgrades a keystore without words (version 1) to one that can show them: `password` opens it,
  // the words (with `passphrase`) must give the stored seed (WalletError otherwise: nothing is
  // written), then it is rewritten under the same password and limits. Stays locked or unlocked.
  void add_words(const bip39::Mnemonic& mnemonic, std::span<const std::uint8_t> passphrase,
                 std::span<const std::uint8_t> password, const AtomicWriteHooks& hooks = {});

  // Rewrites the file under a new password (fresh salt and nonce) atomically. The keystore must be
  // unlocked (unlocking is the proof of the old password); it stays unlocked.
  void change_password(std::span<const std::uint8_t> new_password, const KdfLimits& limits = KdfLimits::moderate(),
                       const AtomicWriteHooks& hooks = {});

  // The BLAKE2b-256 checksum the file must carry, over every field but "checksum" (exposed so tests
  // can forge files whose damage only the cipher can detect).
  static std::string checksum_of(const nlohmann::json& document);

 private:
  Keystore() = default;
  // `secret`: the seed, followed by the entropy of `words` words when given.
  static Keystore seal(const std::filesystem::path& file, KeystoreKind kind, std::span<const std::uint8_t> secret,
                       std::optional<std::size_t> words, const std::optional<DerivationPath>& path,
                       std::span<const std::uint8_t> password, const KdfLimits& limits, bool replace,
                       const AtomicWriteHooks& hooks);
  // Derives the keys, checks the password, decrypts and checks the address: the whole secret.
  SecureBytes open_secret(std::span<const std::uint8_t> password) const;

  std::filesystem::path file_;
  nlohmann::json document_;
  KeystoreKind kind_ = KeystoreKind::Bip39Seed;
  std::string address_;
  std::optional<DerivationPath> path_;
  std::optional<std::uint32_t> account_;
  KdfLimits limits_;
  int version_ = kVersion;
  std::optional<std::size_t> word_count_;
  SecureBytes secret_;  // while unlocked: seed, then entropy when the words are stored
  std::optional<KeyPair> owner_;
};

}  // namespace tessera::wallet
