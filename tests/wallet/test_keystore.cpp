// The keystore: round trip, a wrong password and a damaged file told apart, every single-byte flip
// detected, truncation, a future version, an interrupted write that leaves the old file usable,
// mode 0600, lock wiping the key, and MODERATE Argon2id limits unless a test asks otherwise.
// Version 2 shows the same words again after the password; a version-1 file (written here with
// libsodium directly, as Tessera 0.1 wrote it) still opens, says it has no words, and can be
// upgraded from its words.
#include <QtTest>

#include <QTemporaryDir>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "core/wallet/bip39.h"
#include "core/wallet/errors.h"
#include "core/wallet/keystore.h"
#include "wallet_test_util.h"

using namespace tessera::wallet;
using namespace wallet_test;
namespace fs = std::filesystem;

namespace {

const KdfLimits kTestLimits = KdfLimits::insecure_for_tests_only();
const std::string kWords = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const std::string kAddressOfWords = [] {
  const auto seed = bip39::Mnemonic::parse(bytes(kWords)).to_seed({});
  return address_of(derive_keypair(seed.span(), DerivationPath::solana(0)).public_key());
}();

std::string read(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void write(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
}

unsigned mode_of(const fs::path& file) {
  struct stat info {};
  if (::stat(file.c_str(), &info) != 0) return 0;
  return info.st_mode & 0777;
}

Keystore make(const fs::path& file, const std::string& password, std::uint32_t account = 0) {
  const auto mnemonic = bip39::Mnemonic::parse(bytes(kWords));
  return Keystore::create_from_mnemonic(file, mnemonic, {}, DerivationPath::solana(account), bytes(password),
                                        kTestLimits);
}

std::string sentence_of(const bip39::Mnemonic& mnemonic) {
  const auto sentence = mnemonic.sentence();
  return {reinterpret_cast<const char*>(sentence.data()), sentence.size()};
}



// Opening and unlocking the keystore `text` with `password` fails with a wallet error; returns its
// message.
std::string failure(const std::string& text, const std::string& password) {
  try {
    auto store = Keystore::parse(text, "in-memory.json");
    store.unlock(bytes(password));
  } catch (const WalletError& error) {
    return error.what();
  }
  return {};
}

}  // namespace

class TestKeystore : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir dir_;
  fs::path file(const char* name) const { return fs::path(dir_.path().toStdString()) / name; }

 private Q_SLOTS:
  void roundTrip() {
    const auto path = file("round.json");
    {
      const auto created = make(path, "correct horse", 3);
      QVERIFY(created.is_unlocked());
      QCOMPARE(created.address(), address_of(created.owner_key().public_key()));
    }
    auto store = Keystore::open(path);
    QVERIFY(!store.is_unlocked());
    QVERIFY(store.kind() == KeystoreKind::Bip39Seed);
    QVERIFY(store.path() == DerivationPath::solana(3));
    QCOMPARE(store.account().value(), 3u);
    QVERIFY(store.limits() == kTestLimits);
    store.unlock(bytes("correct horse"));
    QCOMPARE(address_of(store.owner_key().public_key()), store.address());

    const auto again = make(file("round0.json"), "correct horse");
    QCOMPARE(again.address(), kAddressOfWords);
    const auto document = nlohmann::json::parse(read(path));
    QCOMPARE(document["version"].get<int>(), 2);
    QCOMPARE(document["words"].get<int>(), 12);
    QCOMPARE(document["address"].get<std::string>(), store.address());
    QCOMPARE(document["account"].get<int>(), 3);
    QCOMPARE(document["kdf"]["name"].get<std::string>(), std::string("argon2id13"));
    QCOMPARE(document["kdf"]["opslimit"].get<std::uint64_t>(), kTestLimits.opslimit);
  }

  void importedKeypairRoundTrip() {
    const auto key = KeyPair::generate();
    const auto path = file("imported.json");
    (void)Keystore::create_from_keypair(path, key, bytes("pw"), kTestLimits);
    auto store = Keystore::open(path);
    QVERIFY(store.kind() == KeystoreKind::Ed25519Seed);
    QVERIFY(!store.path().has_value());
    store.unlock(bytes("pw"));
    QVERIFY(store.owner_key().public_key() == key.public_key());
    QVERIFY(store.words_availability() == WordsAvailability::ImportedKeypair);
    try {
      (void)store.reveal_words(bytes("pw"));
      QFAIL("an imported keypair showed words");
    } catch (const NoWordsStored& error) {
      QVERIFY2(std::string(error.what()).find("keypair file") != std::string::npos, error.what());
    }
  }

  void version2ShowsTheSameWords() {
    for (const auto& words : {kWords, std::string("void come effort suffer camp survey warrior heavy shoot primary "
                                                  "clutch crush open amazing screen patrol group space point ten "
                                                  "exist slush involve unfold")}) {
      const auto path = file(words == kWords ? "words12.json" : "words24.json");
      const auto mnemonic = bip39::Mnemonic::parse(bytes(words));
      (void)Keystore::create_from_mnemonic(path, mnemonic, {}, DerivationPath::solana(0), bytes("pw"), kTestLimits);
      const auto store = Keystore::open(path);
      QCOMPARE(store.version(), 2);
      QVERIFY(store.words_availability() == WordsAvailability::Stored);
      QCOMPARE(store.word_count().value(), mnemonic.word_count());
      QVERIFY(store.why_no_words().empty());
      QVERIFY_THROWS_EXCEPTION(WrongPassword, (void)store.reveal_words(bytes("not pw")));
      const auto revealed = store.reveal_words(bytes("pw"));
      QCOMPARE(sentence_of(revealed.mnemonic), words);
      QVERIFY(!revealed.needs_passphrase);
      QVERIFY(!store.is_unlocked());  // showing the words does not unlock
      // The entropy is inside the AEAD secret: neither the words nor the entropy are in the file.
      const auto text = read(path);
      QVERIFY(text.find(std::string(mnemonic.word(0)) + " " + std::string(mnemonic.word(1))) == std::string::npos);
      QVERIFY(text.find(to_hex(mnemonic.entropy().span())) == std::string::npos);
    }
    // With a passphrase the words are the same, and the backup says the passphrase is needed too.
    const auto path = file("passphrase.json");
    const auto mnemonic = bip39::Mnemonic::parse(bytes(kWords));
    (void)Keystore::create_from_mnemonic(path, mnemonic, bytes("TREZOR"), DerivationPath::solana(0), bytes("pw"),
                                         kTestLimits);
    auto store = Keystore::open(path);
    QVERIFY(store.address() != kAddressOfWords);
    const auto revealed = store.reveal_words(bytes("pw"));
    QCOMPARE(sentence_of(revealed.mnemonic), kWords);
    QVERIFY(revealed.needs_passphrase);
    // A password change keeps the words.
    store.unlock(bytes("pw"));
    store.change_password(bytes("new pw"), kTestLimits);
    QCOMPARE(sentence_of(Keystore::open(path).reveal_words(bytes("new pw")).mnemonic), kWords);
  }

  void version1StillOpensWithoutWords() {
    const auto mnemonic = bip39::Mnemonic::parse(bytes(kWords));
    const auto seed = mnemonic.to_seed({});
    const auto path = file("version1.json");
    write(path, version1_keystore(seed.span(), "old pw", kTestLimits));
    auto store = Keystore::open(path);
    QCOMPARE(store.version(), 1);
    QCOMPARE(store.address(), kAddressOfWords);
    QVERIFY(store.words_availability() == WordsAvailability::SeedOnly);
    QVERIFY2(store.why_no_words().find("created before") != std::string::npos, store.why_no_words().c_str());
    QVERIFY2(store.why_no_words().find("export") != std::string::npos, store.why_no_words().c_str());
    QVERIFY_THROWS_EXCEPTION(NoWordsStored, (void)store.reveal_words(bytes("old pw")));
    QVERIFY_THROWS_EXCEPTION(WrongPassword, store.unlock(bytes("wrong")));
    store.unlock(bytes("old pw"));
    QCOMPARE(address_of(store.owner_key().public_key()), kAddressOfWords);
    store.lock();

    // Every single-byte flip of the version-1 file is still rejected.
    const auto original = read(path);
    for (std::size_t i = 0; i < original.size(); ++i) {
      auto text = original;
      text[i] = static_cast<char>(static_cast<unsigned char>(text[i]) ^ 0x01);
      if (failure(text, "old pw").empty()) QFAIL(qPrintable(QStringLiteral("flip of byte %1 went unnoticed").arg(i)));
    }

    // Other words, or the right words with a passphrase, do not upgrade it; the file is unchanged.
    const auto other = bip39::Mnemonic::parse(bytes("abandon abandon abandon abandon abandon abandon abandon abandon "
                                                    "abandon abandon abandon about"));
    QVERIFY_THROWS_EXCEPTION(WalletError, store.add_words(other, {}, bytes("old pw")));
    QVERIFY_THROWS_EXCEPTION(WalletError, store.add_words(mnemonic, bytes("TREZOR"), bytes("old pw")));
    QVERIFY_THROWS_EXCEPTION(WrongPassword, store.add_words(mnemonic, {}, bytes("wrong")));
    QCOMPARE(read(path), original);
    // The right words upgrade it to version 2 under the same password.
    store.add_words(mnemonic, {}, bytes("old pw"));
    QVERIFY(!store.is_unlocked());
    const auto upgraded = Keystore::open(path);
    QCOMPARE(upgraded.version(), 2);
    QCOMPARE(upgraded.address(), kAddressOfWords);
    QCOMPARE(sentence_of(upgraded.reveal_words(bytes("old pw")).mnemonic), kWords);
  }

  void wrongPasswordIsNotDamage() {
    const auto path = file("wrong.json");
    (void)make(path, "right");
    auto store = Keystore::open(path);
    QVERIFY_THROWS_EXCEPTION(WrongPassword, store.unlock(bytes("wrong")));
    QVERIFY_THROWS_EXCEPTION(WrongPassword, store.unlock(bytes("")));
    QVERIFY(!store.is_unlocked());
    store.unlock(bytes("right"));
    QVERIFY(store.is_unlocked());
  }

  void lockWipes() {
    auto store = make(file("lock.json"), "pw");
    QVERIFY(store.is_unlocked());
    store.lock();
    QVERIFY(!store.is_unlocked());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, store.owner_key());
    QVERIFY_THROWS_EXCEPTION(std::logic_error, store.change_password(bytes("new")));
  }

  void everySingleByteFlipIsDetected() {
    const auto path = file("flip.json");
    (void)make(path, "pw");
    const auto original = read(path);
    std::size_t flips = 0;
    for (std::size_t i = 0; i < original.size(); ++i) {
      for (const unsigned char mask : {0x01, 0x20, 0x80}) {
        auto text = original;
        text[i] = static_cast<char>(static_cast<unsigned char>(text[i]) ^ mask);
        const auto message = failure(text, "pw");
        if (message.empty()) QFAIL(qPrintable(QStringLiteral("flip of byte %1 (mask %2) went unnoticed").arg(i).arg(mask)));
        ++flips;
      }
    }
    QCOMPARE(flips, original.size() * 3);
    QVERIFY(failure(original, "pw").empty());  // the unchanged text opens
  }

  // Damage that keeps the checksum right (recomputed, as an attacker would) is still caught: by
  // the cipher for the ciphertext and the clear fields, by the password check for the KDF inputs.
  void forgedChangesAreDetected() {
    const auto path = file("forge.json");
    (void)make(path, "pw");
    const auto original = nlohmann::json::parse(read(path));
    const auto forged = file("forged.json");
    const auto expect_damaged = [&](nlohmann::json document, const char* what) {
      document["checksum"] = Keystore::checksum_of(document);
      write(forged, document.dump(2));
      auto store = Keystore::open(forged);
      try {
        store.unlock(bytes("pw"));
        QFAIL(what);
      } catch (const KeystoreDamaged& error) {
        QVERIFY2(std::string(error.what()).find("keystore file damaged") != std::string::npos, error.what());
      }
    };
    const std::string ciphertext = original["cipher"]["ciphertext"];
    for (std::size_t i = 0; i < ciphertext.size(); i += 7) {
      auto document = original;
      auto changed = ciphertext;
      changed[i] = changed[i] == '0' ? '1' : '0';
      document["cipher"]["ciphertext"] = changed;
      expect_damaged(document, "a changed ciphertext decrypted");
    }
    {
      auto document = original;
      std::string nonce = document["cipher"]["nonce"];
      nonce[5] = nonce[5] == 'a' ? 'b' : 'a';
      document["cipher"]["nonce"] = nonce;
      expect_damaged(document, "a changed nonce decrypted");
    }
    {
      auto document = original;
      document["address"] = address_of(KeyPair::generate().public_key());
      expect_damaged(document, "a changed address was accepted");
    }
    {
      auto document = original;
      document["path"] = "m/44'/501'/1'/0'";
      document["account"] = 1;
      expect_damaged(document, "a changed path was accepted");
    }
    for (const auto& words : {nlohmann::json(nullptr), nlohmann::json(24)}) {
      auto document = original;  // claiming no words, or another count, does not fit the ciphertext
      document["words"] = words;
      document["checksum"] = Keystore::checksum_of(document);
      QVERIFY_THROWS_EXCEPTION(KeystoreDamaged, (void)Keystore::parse(document.dump(), "forged.json"));
    }
    {
      auto document = original;
      std::string salt = document["kdf"]["salt"];
      salt[0] = salt[0] == '0' ? '1' : '0';
      document["kdf"]["salt"] = salt;
      document["checksum"] = Keystore::checksum_of(document);
      write(forged, document.dump(2));
      auto store = Keystore::open(forged);
      QVERIFY_THROWS_EXCEPTION(WalletError, store.unlock(bytes("pw")));
      QVERIFY(!store.is_unlocked());
    }
  }

  void truncatedFileIsDamaged() {
    const auto path = file("truncate.json");
    (void)make(path, "pw");
    const auto original = read(path);
    const auto cut = file("truncated.json");
    for (const std::size_t length : {std::size_t(0), std::size_t(1), original.size() / 3, original.size() / 2,
                                     original.size() - 3, original.size() - 2}) {
      write(cut, original.substr(0, length));
      QVERIFY_THROWS_EXCEPTION(KeystoreDamaged, Keystore::open(cut));
    }
  }

  void futureVersionIsUnsupported() {
    const auto path = file("future.json");
    (void)make(path, "pw");
    auto document = nlohmann::json::parse(read(path));
    document["version"] = 3;
    document["cipher"] = {{"name", "post-quantum-something"}};
    write(path, document.dump());
    try {
      (void)Keystore::open(path);
      QFAIL("a version 3 keystore was opened");
    } catch (const UnsupportedKeystoreVersion& error) {
      QCOMPARE(error.version(), 3LL);
      QVERIFY2(std::string(error.what()).find("upgrade") != std::string::npos, error.what());
    }
  }

  void notAKeystore() {
    const auto path = file("other.json");
    write(path, R"({"hello": "world"})");
    QVERIFY_THROWS_EXCEPTION(KeystoreDamaged, Keystore::open(path));
    QVERIFY_THROWS_EXCEPTION(WalletError, Keystore::open(file("missing.json")));
  }

  void modeIs0600AndExistingWalletIsKept() {
    const auto path = file("mode.json");
    (void)make(path, "pw");
    QCOMPARE(mode_of(path), 0600u);
    const auto before = read(path);
    QVERIFY_THROWS_EXCEPTION(WalletError, make(path, "other"));
    QCOMPARE(read(path), before);
    auto store = Keystore::open(path);
    store.unlock(bytes("pw"));
    store.change_password(bytes("new pw"), kTestLimits);
    QCOMPARE(mode_of(path), 0600u);
  }

  void changePassword() {
    const auto path = file("change.json");
    (void)make(path, "old");
    auto store = Keystore::open(path);
    store.unlock(bytes("old"));
    const auto address = store.address();
    const auto salt_before = nlohmann::json::parse(read(path))["kdf"]["salt"].get<std::string>();
    store.change_password(bytes("new"), kTestLimits);
    QVERIFY(store.is_unlocked());
    QVERIFY(nlohmann::json::parse(read(path))["kdf"]["salt"].get<std::string>() != salt_before);
    auto reopened = Keystore::open(path);
    QVERIFY_THROWS_EXCEPTION(WrongPassword, reopened.unlock(bytes("old")));
    reopened.unlock(bytes("new"));
    QCOMPARE(reopened.address(), address);
  }

  // The process dies after the new file is complete but before the rename: the old keystore is
  // untouched and opens with the old password; a later write succeeds.
  void interruptedWriteKeepsOldKeystore() {
    const auto path = file("interrupted.json");
    (void)make(path, "old");
    const auto before = read(path);
    const pid_t child = ::fork();
    QVERIFY(child >= 0);
    if (child == 0) {
      auto store = Keystore::open(path);
      store.unlock(bytes("old"));
      AtomicWriteHooks hooks;
      hooks.before_rename = [](const fs::path&) { ::_exit(0); };
      store.change_password(bytes("new"), kTestLimits, hooks);
      ::_exit(3);  // not reached: the hook ends the process
    }
    int status = 0;
    QCOMPARE(::waitpid(child, &status, 0), child);
    QVERIFY(WIFEXITED(status));
    QCOMPARE(WEXITSTATUS(status), 0);
    QCOMPARE(read(path), before);
    std::size_t leftovers = 0;
    for (const auto& entry : fs::directory_iterator(path.parent_path()))
      if (entry.path().filename().string().rfind(".interrupted.json.tmp-", 0) == 0) ++leftovers;
    QCOMPARE(leftovers, std::size_t(1));  // the dead process's temp file, never read
    auto store = Keystore::open(path);
    QVERIFY_THROWS_EXCEPTION(WrongPassword, store.unlock(bytes("new")));
    store.unlock(bytes("old"));
    store.change_password(bytes("new"), kTestLimits);
    auto reopened = Keystore::open(path);
    reopened.unlock(bytes("new"));
  }

  // A keystore gets MODERATE limits unless the caller passes others (tests pass the minimum).
  void defaultLimitsAreModerate() {
    QVERIFY(KdfLimits::moderate().memlimit > KdfLimits::interactive().memlimit);
    QVERIFY(KdfLimits::insecure_for_tests_only().memlimit < KdfLimits::interactive().memlimit);
    const auto path = file("moderate.json");
    const auto key = KeyPair::generate();
    (void)Keystore::create_from_keypair(path, key, bytes("pw"));
    QVERIFY(Keystore::open(path).limits() == KdfLimits::moderate());
    const auto document = nlohmann::json::parse(read(path));
    QCOMPARE(document["kdf"]["memlimit"].get<std::size_t>(), KdfLimits::moderate().memlimit);
    QCOMPARE(document["kdf"]["opslimit"].get<std::uint64_t>(), KdfLimits::moderate().opslimit);
  }
};

QTEST_APPLESS_MAIN(TestKeystore)
#include "test_keystore.moc"
