// Keystore sealing and opening; see keystore.h for the file format.
#include "core/wallet/keystore.h"

#include <system_error>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "core/wallet/encoding.h"
#include "core/wallet/errors.h"

namespace tessera::wallet {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "tessera-wallet";
constexpr const char* kKdfName = "argon2id13";
constexpr const char* kCipherName = "xchacha20poly1305-ietf";
constexpr std::size_t kMaxFileBytes = 64 * 1024;
constexpr std::size_t kDerivedBytes = 64;  // cipher key ‖ password-check key
// Limits read from a file are not yet authenticated: bounded so a doctored file cannot make
// unlocking exhaust memory or run for minutes (libsodium's SENSITIVE is 4 passes over 1 GiB).
constexpr std::uint64_t kMaxOpslimit = 16;
constexpr std::size_t kMaxMemlimit = std::size_t{1} << 30;

const char* kind_name(KeystoreKind kind) { return kind == KeystoreKind::Bip39Seed ? "bip39-seed" : "ed25519-seed"; }
constexpr std::size_t kSeedBytes = 64;
std::size_t entropy_bytes(std::size_t words) { return words * 4 / 3; }  // 12 words: 16 bytes … 24: 32
bool valid_word_count(std::size_t words) { return words >= 12 && words <= 24 && words % 3 == 0; }
std::size_t secret_size(KeystoreKind kind, std::optional<std::size_t> words) {
  if (kind == KeystoreKind::Ed25519Seed) return 32;
  return kSeedBytes + (words ? entropy_bytes(*words) : 0);
}

std::string blake2b_hex(std::span<const std::uint8_t> bytes) {
  std::array<std::uint8_t, 32> hash{};
  crypto_generichash(hash.data(), hash.size(), bytes.data(), bytes.size(), nullptr, 0);
  return to_hex(hash);
}

std::span<const std::uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// The associated data: every field but the ciphertext and the checksum.
std::string associated_data(json document) {
  document.erase("checksum");
  if (document.contains("cipher") && document["cipher"].is_object()) document["cipher"].erase("ciphertext");
  return document.dump();
}

SecureBytes derive_keys(std::span<const std::uint8_t> password, std::span<const std::uint8_t> salt,
                        const KdfLimits& limits) {
  SecureBytes derived(kDerivedBytes);
  if (crypto_pwhash(derived.data(), derived.size(), reinterpret_cast<const char*>(password.data()), password.size(),
                    salt.data(), limits.opslimit, limits.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw WalletError("not enough memory to derive the wallet key (Argon2id needs " +
                      std::to_string(limits.memlimit >> 20) + " MiB); close other programs and try again");
  return derived;
}

std::string password_check(const SecureBytes& derived) { return blake2b_hex(derived.span().subspan(32, 32)); }

std::optional<std::uint32_t> account_of(const DerivationPath& path) {
  const auto standard = DerivationPath::solana(0);
  if (path.indices.size() != 4 || path.indices[0] != standard.indices[0] || path.indices[1] != standard.indices[1] ||
      path.indices[3] != standard.indices[3])
    return std::nullopt;
  return path.indices[2] & ~kHardened;
}

KeyPair key_from_secret(KeystoreKind kind, std::span<const std::uint8_t> secret, const std::optional<DerivationPath>& path) {
  if (kind == KeystoreKind::Bip39Seed) return derive_keypair(secret.first(kSeedBytes), *path);
  return KeyPair::from_seed(secret);
}

const json& field(const json& object, const char* name, json::value_t type) {
  const auto it = object.find(name);
  const bool ok = it != object.end() &&
                  (it->type() == type || (type == json::value_t::number_unsigned && it->is_number_unsigned()));
  if (!ok) throw KeystoreDamaged(std::string("field '") + name + "' is missing or has the wrong type");
  return *it;
}

std::vector<std::uint8_t> hex_field(const json& object, const char* name, std::size_t size) {
  const auto bytes = from_hex(field(object, name, json::value_t::string).get<std::string>());
  if (!bytes || (size != 0 && bytes->size() != size))
    throw KeystoreDamaged(std::string("field '") + name + "' is not " +
                          (size ? std::to_string(size) + " bytes of hex" : std::string("hex")));
  return *bytes;
}

}  // namespace

KdfLimits KdfLimits::moderate() { return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE}; }
KdfLimits KdfLimits::interactive() { return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE}; }
KdfLimits KdfLimits::insecure_for_tests_only() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

std::string Keystore::checksum_of(const json& document) {
  json rest = document;
  rest.erase("checksum");
  return blake2b_hex(bytes_of(rest.dump()));
}

Keystore Keystore::seal(const fs::path& file, KeystoreKind kind, std::span<const std::uint8_t> secret,
                        std::optional<std::size_t> words, const std::optional<DerivationPath>& path,
                        std::span<const std::uint8_t> password, const KdfLimits& limits, bool replace,
                        const AtomicWriteHooks& hooks) {
  ensure_sodium();
  if (words && (kind != KeystoreKind::Bip39Seed || !valid_word_count(*words)))
    throw std::invalid_argument("words are stored only with a BIP-39 seed, 12 to 24 of them");
  if (secret.size() != secret_size(kind, words)) throw std::invalid_argument("wrong secret size for this keystore kind");
  if (password.empty()) throw WalletError("the wallet password must not be empty");
  std::error_code ec;
  if (!replace && fs::exists(file, ec))
    throw WalletError("a wallet already exists at " + file.string() +
                      "; it is never overwritten: move it away first if you really mean to replace it");

  Keystore store;
  store.file_ = file;
  store.kind_ = kind;
  store.path_ = path;
  store.account_ = path ? account_of(*path) : std::nullopt;
  store.limits_ = limits;
  store.version_ = kVersion;
  store.word_count_ = words;
  store.secret_ = SecureBytes::copy_of(secret);
  store.owner_ = key_from_secret(kind, secret, path);
  store.address_ = address_of(store.owner_->public_key());

  std::array<std::uint8_t, crypto_pwhash_SALTBYTES> salt{};
  std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  randombytes_buf(salt.data(), salt.size());
  randombytes_buf(nonce.data(), nonce.size());
  const auto derived = derive_keys(password, salt, limits);

  json document = {
      {"format", kFormat},
      {"version", kVersion},
      {"kind", kind_name(kind)},
      {"address", store.address_},
      {"path", path ? json(path->to_string()) : json(nullptr)},
      {"account", store.account_ ? json(*store.account_) : json(nullptr)},
      {"kdf", {{"name", kKdfName}, {"opslimit", limits.opslimit}, {"memlimit", limits.memlimit}, {"salt", to_hex(salt)}}},
      {"cipher", {{"name", kCipherName}, {"nonce", to_hex(nonce)}}},
      {"password_check", password_check(derived)},
      {"words", words ? json(*words) : json(nullptr)},
  };
  const auto aad = associated_data(document);
  std::vector<std::uint8_t> ciphertext(secret.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext.data(), &length, secret.data(), secret.size(),
                                             reinterpret_cast<const unsigned char*>(aad.data()), aad.size(), nullptr,
                                             nonce.data(), derived.data());
  document["cipher"]["ciphertext"] = to_hex(ciphertext);
  document["checksum"] = checksum_of(document);

  const auto text = document.dump(2) + "\n";
  try {
    write_file_atomic(file, bytes_of(text), hooks, replace ? IfExists::Replace : IfExists::Keep);
  } catch (const FileExists&) {
    throw WalletError("a wallet already exists at " + file.string() +
                      "; it is never overwritten: move it away first if you really mean to replace it");
  }
  store.document_ = std::move(document);
  spdlog::info("wrote keystore {} for {} (Argon2id, {} MiB, {} passes)", file.string(), store.address_,
               limits.memlimit >> 20, limits.opslimit);
  return store;
}

Keystore Keystore::create_from_seed(const fs::path& file, std::span<const std::uint8_t> bip39_seed,
                                    const DerivationPath& path, std::span<const std::uint8_t> password,
                                    const KdfLimits& limits) {
  if (bip39_seed.size() != 64) throw std::invalid_argument("a BIP-39 seed is 64 bytes");
  return seal(file, KeystoreKind::Bip39Seed, bip39_seed, std::nullopt, path, password, limits, false, {});
}

Keystore Keystore::create_from_mnemonic(const fs::path& file, const bip39::Mnemonic& mnemonic,
                                        std::span<const std::uint8_t> passphrase, const DerivationPath& path,
                                        std::span<const std::uint8_t> password, const KdfLimits& limits) {
  const auto seed = mnemonic.to_seed(passphrase);
  const auto entropy = mnemonic.entropy();
  SecureBytes secret(seed.size() + entropy.size());
  std::copy(seed.span().begin(), seed.span().end(), secret.data());
  std::copy(entropy.span().begin(), entropy.span().end(), secret.data() + seed.size());
  return seal(file, KeystoreKind::Bip39Seed, secret.span(), mnemonic.word_count(), path, password, limits, false, {});
}

Keystore Keystore::create_from_keypair(const fs::path& file, const KeyPair& key, std::span<const std::uint8_t> password,
                                       const KdfLimits& limits) {
  return seal(file, KeystoreKind::Ed25519Seed, key.seed(), std::nullopt, std::nullopt, password, limits, false, {});
}

Keystore Keystore::open(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec))
    throw WalletError("no wallet at " + file.string() +
                      ": create one with `tessera-node wallet create` or restore one with `tessera-node wallet restore`");
  warn_if_permissions_too_open(file);
  return parse(read_file_text(file, kMaxFileBytes), file);
}

Keystore Keystore::parse(std::string_view text, const fs::path& file) {
  json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) throw KeystoreDamaged("not valid JSON (truncated or corrupted)");
  if (!document.is_object()) throw KeystoreDamaged("not a JSON object");
  const auto format = document.find("format");
  if (format == document.end() || !format->is_string() || format->get<std::string>() != kFormat)
    throw KeystoreDamaged("not a Tessera keystore (field 'format' is not \"tessera-wallet\")");
  const auto version = document.find("version");
  if (version == document.end() || !version->is_number_integer())
    throw KeystoreDamaged("field 'version' is missing or not a number");
  const auto number = version->get<long long>();
  if (number > kVersion) throw UnsupportedKeystoreVersion(number, kVersion);
  if (number < 1) throw KeystoreDamaged("version " + std::to_string(number) + " does not exist");
  const auto checksum = document.find("checksum");
  if (checksum == document.end() || !checksum->is_string() || checksum->get<std::string>() != checksum_of(document))
    throw KeystoreDamaged("checksum mismatch (the file was changed or corrupted)");

  Keystore store;
  store.file_ = file;
  store.version_ = static_cast<int>(number);
  const auto kind = field(document, "kind", json::value_t::string).get<std::string>();
  if (kind == "bip39-seed")
    store.kind_ = KeystoreKind::Bip39Seed;
  else if (kind == "ed25519-seed")
    store.kind_ = KeystoreKind::Ed25519Seed;
  else
    throw KeystoreDamaged("unknown key kind '" + kind + "'");
  store.address_ = field(document, "address", json::value_t::string).get<std::string>();
  try {
    parse_address(store.address_);
    const auto& path = document.at("path");
    if (store.kind_ == KeystoreKind::Bip39Seed) {
      store.path_ = DerivationPath::parse(path.get<std::string>());
      store.account_ = account_of(*store.path_);
    } else if (!path.is_null()) {
      throw KeystoreDamaged("an imported key has no derivation path");
    }
    const auto& account = document.at("account");
    const std::optional<std::uint32_t> stored =
        account.is_null() ? std::nullopt : std::optional<std::uint32_t>(account.get<std::uint32_t>());
    if (stored != store.account_) throw KeystoreDamaged("field 'account' does not match the path");
  } catch (const KeystoreDamaged&) {
    throw;
  } catch (const std::exception& error) {
    throw KeystoreDamaged(std::string("invalid address, path or account (") + error.what() + ")");
  }
  const auto& kdf = field(document, "kdf", json::value_t::object);
  if (field(kdf, "name", json::value_t::string).get<std::string>() != kKdfName)
    throw KeystoreDamaged("unknown key derivation function");
  store.limits_.opslimit = field(kdf, "opslimit", json::value_t::number_unsigned).get<std::uint64_t>();
  store.limits_.memlimit = field(kdf, "memlimit", json::value_t::number_unsigned).get<std::size_t>();
  if (store.limits_.opslimit < crypto_pwhash_OPSLIMIT_MIN || store.limits_.opslimit > kMaxOpslimit ||
      store.limits_.memlimit < crypto_pwhash_MEMLIMIT_MIN || store.limits_.memlimit > kMaxMemlimit)
    throw KeystoreDamaged("Argon2id limits out of range");
  hex_field(kdf, "salt", crypto_pwhash_SALTBYTES);
  const auto& cipher = field(document, "cipher", json::value_t::object);
  if (field(cipher, "name", json::value_t::string).get<std::string>() != kCipherName)
    throw KeystoreDamaged("unknown cipher");
  hex_field(cipher, "nonce", crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const auto words = document.find("words");
  if (store.version_ == 1) {
    if (words != document.end()) throw KeystoreDamaged("a version-1 keystore has no field 'words'");
  } else if (words == document.end() || !(words->is_null() || words->is_number_unsigned())) {
    throw KeystoreDamaged("field 'words' is missing or has the wrong type");
  } else if (!words->is_null()) {
    const auto count = words->get<std::uint64_t>();
    if (store.kind_ != KeystoreKind::Bip39Seed || !valid_word_count(count))
      throw KeystoreDamaged("field 'words' is not 12, 15, 18, 21 or 24 with a BIP-39 seed");
    store.word_count_ = static_cast<std::size_t>(count);
  }
  hex_field(cipher, "ciphertext", secret_size(store.kind_, store.word_count_) + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  hex_field(document, "password_check", 32);
  store.document_ = std::move(document);
  return store;
}

SecureBytes Keystore::open_secret(std::span<const std::uint8_t> password) const {
  ensure_sodium();
  const auto& kdf = document_.at("kdf");
  const auto salt = hex_field(kdf, "salt", crypto_pwhash_SALTBYTES);
  const auto nonce = hex_field(document_.at("cipher"), "nonce", crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const auto ciphertext = hex_field(document_.at("cipher"), "ciphertext", 0);
  const auto derived = derive_keys(password, salt, limits_);
  const auto expected = document_.at("password_check").get<std::string>();
  const auto actual = password_check(derived);
  if (sodium_memcmp(expected.data(), actual.data(), actual.size()) != 0) throw WrongPassword();

  const auto aad = associated_data(document_);
  SecureBytes secret(secret_size(kind_, word_count_));
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(secret.data(), &length, nullptr, ciphertext.data(), ciphertext.size(),
                                                 reinterpret_cast<const unsigned char*>(aad.data()), aad.size(),
                                                 nonce.data(), derived.data()) != 0 ||
      length != secret.size())
    throw KeystoreDamaged("authentication failed (the encrypted key or its clear fields were changed)");
  const auto key = key_from_secret(kind_, secret.span(), path_);
  if (address_of(key.public_key()) != address_)
    throw KeystoreDamaged("the decrypted key does not give the address written in the file");
  return secret;
}

void Keystore::unlock(std::span<const std::uint8_t> password) {
  auto secret = open_secret(password);
  auto key = key_from_secret(kind_, secret.span(), path_);
  secret_ = std::move(secret);
  owner_ = std::move(key);
  spdlog::debug("unlocked wallet {}", address_);
}

WordsAvailability Keystore::words_availability() const {
  if (kind_ == KeystoreKind::Ed25519Seed) return WordsAvailability::ImportedKeypair;
  return word_count_ ? WordsAvailability::Stored : WordsAvailability::SeedOnly;
}

std::string Keystore::why_no_words() const {
  switch (words_availability()) {
    case WordsAvailability::Stored: return {};
    case WordsAvailability::SeedOnly:
      return "this wallet was created before Tessera could show its words again: the keystore holds only the seed. "
             "Keep your paper copy of the words; to back up the key itself, export a Solana keypair file "
             "(`tessera-node wallet export-keypair`, or Export keypair file in the app). Restoring from your words "
             "(`tessera-node wallet restore`) lets Tessera show them from then on";
    case WordsAvailability::ImportedKeypair:
      return "this wallet was imported from a Solana keypair file, so it has no words: back it up by exporting the "
             "keypair file again (`tessera-node wallet export-keypair`, or Export keypair file in the app)";
  }
  return {};
}

RevealedWords Keystore::reveal_words(std::span<const std::uint8_t> password) const {
  if (words_availability() != WordsAvailability::Stored) throw NoWordsStored(why_no_words());
  const auto secret = open_secret(password);
  const auto seed = secret.span().first(kSeedBytes);
  RevealedWords revealed{bip39::Mnemonic::from_entropy(secret.span().subspan(kSeedBytes)), false};
  if (revealed.mnemonic.word_count() != *word_count_)
    throw KeystoreDamaged("the stored words do not match the word count written in the file");
  // Without a passphrase the words must give the stored seed; otherwise one was used at restore.
  const auto plain_seed = revealed.mnemonic.to_seed({});
  revealed.needs_passphrase = !plain_seed.equals(seed);
  spdlog::info("showed the words of wallet {}", address_);
  return revealed;
}

void Keystore::add_words(const bip39::Mnemonic& mnemonic, std::span<const std::uint8_t> passphrase,
                         std::span<const std::uint8_t> password, const AtomicWriteHooks& hooks) {
  if (kind_ != KeystoreKind::Bip39Seed) throw WalletError(why_no_words());
  const auto secret = open_secret(password);
  const auto seed = mnemonic.to_seed(passphrase);
  if (!seed.equals(secret.span().first(kSeedBytes)))
    throw WalletError("these words (with this passphrase) are not this wallet's: its keystore was left unchanged");
  const auto entropy = mnemonic.entropy();
  SecureBytes full(kSeedBytes + entropy.size());
  std::copy(seed.span().begin(), seed.span().end(), full.data());
  std::copy(entropy.span().begin(), entropy.span().end(), full.data() + kSeedBytes);
  const bool was_unlocked = is_unlocked();
  auto resealed = seal(file_, kind_, full.span(), mnemonic.word_count(), path_, password, limits_, true, hooks);
  if (!was_unlocked) resealed.lock();
  *this = std::move(resealed);
  spdlog::info("wallet {} can now show its words again (keystore version {})", address_, kVersion);
}

void Keystore::lock() {
  secret_.wipe();
  owner_.reset();
}

const KeyPair& Keystore::owner_key() const {
  if (!owner_) throw std::logic_error("the wallet is locked: unlock it first");
  return *owner_;
}

void Keystore::change_password(std::span<const std::uint8_t> new_password, const KdfLimits& limits,
                               const AtomicWriteHooks& hooks) {
  if (!is_unlocked()) throw std::logic_error("unlock the wallet with its current password before changing it");
  auto resealed = seal(file_, kind_, secret_.span(), word_count_, path_, new_password, limits, true, hooks);
  *this = std::move(resealed);
  spdlog::info("changed the password of wallet {}", address_);
}

}  // namespace tessera::wallet
