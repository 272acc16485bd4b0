// Keys and their encodings: RFC 8032 Ed25519 vectors, SLIP-0010 ed25519 vector sets 1 and 2 (every
// chain entry), Solana addresses that Phantom and other wallets show for known words, base58, and
// the Solana keypair file.
#include <QtTest>

#include <QTemporaryDir>

#include <sodium.h>
#include <sys/stat.h>

#include "core/wallet/bip39.h"
#include "core/wallet/errors.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/slip10.h"
#include "wallet_test_util.h"

using namespace tessera::wallet;
using namespace wallet_test;

namespace {

std::string address_for_words(const std::string& words, const DerivationPath& path, const std::string& passphrase = "") {
  const auto seed = bip39::Mnemonic::parse(bytes(words)).to_seed(bytes(passphrase));
  return address_of(derive_keypair(seed.span(), path).public_key());
}

}  // namespace

class TestWalletKeys : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void rfc8032Vectors() {
    const auto data = json_file("rfc8032_ed25519.json");
    QCOMPARE(data["vectors"].size(), std::size_t(5));
    for (const auto& vector : data["vectors"]) {
      const auto secret = hex(vector["secret_key"]);
      const auto expected_public = hex(vector["public_key"]);
      const auto message = hex(vector["message"]);
      const auto expected_signature = hex(vector["signature"]);
      const auto key = KeyPair::from_seed(secret);
      QVERIFY(std::equal(expected_public.begin(), expected_public.end(), key.public_key().begin()));
      QVERIFY(std::equal(secret.begin(), secret.end(), key.seed().begin()));
      // Raw Ed25519 (libsodium, the primitive KeyPair wraps) reproduces the RFC signature...
      std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
      std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
      crypto_sign_seed_keypair(pk.data(), sk.data(), secret.data());
      Signature raw{};
      crypto_sign_detached(raw.data(), nullptr, message.data(), message.size(), sk.data());
      QVERIFY(std::equal(expected_signature.begin(), expected_signature.end(), raw.begin()));
      // ...and KeyPair's domain-separated signature is that primitive over tag ‖ 0 ‖ message.
      const auto ours = key.sign(SignatureDomain::Statement, message);
      std::vector<std::uint8_t> framed(domain_tag(SignatureDomain::Statement).begin(),
                                       domain_tag(SignatureDomain::Statement).end());
      framed.push_back(0);
      framed.insert(framed.end(), message.begin(), message.end());
      QCOMPARE(crypto_sign_verify_detached(ours.data(), framed.data(), framed.size(), key.public_key().data()), 0);
      QVERIFY(verify(SignatureDomain::Statement, message, ours, key.public_key()));
      QVERIFY(!verify(SignatureDomain::Receipt, message, ours, key.public_key()));
      Signature theirs{};
      std::copy(expected_signature.begin(), expected_signature.end(), theirs.begin());
      QVERIFY(!verify(SignatureDomain::Statement, message, theirs, key.public_key()));  // unframed is not ours
    }
  }

  void slip10Vectors() {
    const auto data = json_file("slip10_ed25519.json");
    QCOMPARE(data["sets"].size(), std::size_t(2));
    std::size_t chains = 0;
    for (const auto& set : data["sets"]) {
      const auto seed = hex(set["seed"]);
      for (const auto& chain : set["chains"]) {
        const auto path = DerivationPath::parse(chain["path"].get<std::string>());
        QCOMPARE(path.to_string(), chain["path"].get<std::string>());
        const auto key = slip10_derive(seed, path);
        QCOMPARE(hex_of(key.key), chain["private"].get<std::string>());
        QCOMPARE(hex_of(key.chain_code), chain["chain_code"].get<std::string>());
        const auto pair = derive_keypair(seed, path);
        QCOMPARE("00" + to_hex(pair.public_key()), chain["public"].get<std::string>());
        ++chains;
      }
    }
    QCOMPARE(chains, std::size_t(12));
  }

  void nonHardenedStepsAreRefused() {
    const auto master = slip10_master(hex("000102030405060708090a0b0c0d0e0f"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, slip10_child(master, 0));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DerivationPath::parse("m/44'/501'/0'/0"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DerivationPath::parse("44'/501'"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DerivationPath::parse("m/2147483648'"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DerivationPath::parse("m//0'"));
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, DerivationPath::parse("m/x'"));
    QVERIFY(DerivationPath::parse("m/44h/501H/7'/0'") == DerivationPath::solana(7));
    QCOMPARE(DerivationPath::solana(3).to_string(), std::string("m/44'/501'/3'/0'"));
    QCOMPARE(DerivationPath::parse("m").indices.size(), std::size_t(0));
  }

  // Addresses other wallets show for these words at m/44'/501'/0'/0' (Phantom's path).
  void phantomCompatibleAddresses() {
    // ebellocchia/py_crypto_hd_wallet issue #21 ("Phantom wallet Solana derivation"): the library's
    // author shows this is "the same address of the Phantom wallet" for the BIP-39 test words.
    QCOMPARE(address_for_words("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                               "about",
                               DerivationPath::solana(0)),
             std::string("HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk"));
    // trustwallet/wallet-core issue #3185: "Phantom wallet & okx wallet's address is" this for these
    // words; the maintainers confirm the path m/44'/501'/0'/0'.
    QCOMPARE(address_for_words("chuckle camera crime repair twist mushroom chair sort bean age require arch",
                               DerivationPath::solana(0)),
             std::string("4kKskCT9CPJUnp3BbcwcjCEguVksQvMgpe9ZHA1oMwrd"));
    // trustwallet/wallet-core tests/common/Keystore/StoredKeyTests.cpp,
    // CreateWithMnemonicAlternativeDerivation: the "solana" derivation m/44'/501'/0'/0' gives this
    // address, public key and private key; Trust Wallet's own default m/44'/501'/0' another address.
    const std::string words = "team engine square letter hero song dizzy scrub tornado fabric divert saddle";
    const auto seed = bip39::Mnemonic::parse(bytes(words)).to_seed({});
    const auto key = derive_keypair(seed.span(), DerivationPath::solana(0));
    QCOMPARE(address_of(key.public_key()), std::string("CgWJeEWkiYqosy1ba7a3wn9HAQuHyK48xs3LM4SSDc1C"));
    QCOMPARE(to_hex(key.public_key()), std::string("ad8f57924dce62f9040f93b4f6ce3c3d39afde7e29bcb4013dad59db7913c4c7"));
    QCOMPARE(to_hex(key.seed()), std::string("d49a5fa7f77593534c7afd2ba8dc8e9d8b007bc6ec65fe8df25ffe6fafc57151"));
    QCOMPARE(address_for_words(words, DerivationPath::parse("m/44'/501'/0'")),
             std::string("HiipoCKL8hX2RVmJTz3vaLy34hS2zLhWWMkUWtw85TmZ"));
  }

  void accountsAndPassphraseGiveOtherAddresses() {
    const std::string words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    const auto first = address_for_words(words, DerivationPath::solana(0));
    QVERIFY(address_for_words(words, DerivationPath::solana(1)) != first);
    QVERIFY(address_for_words(words, DerivationPath::solana(0), "TREZOR") != first);
  }

  void base58KnownValuesAndRoundTrips() {
    // Expected values: draft-msporny-base58 examples, cross-checked with an independent Python encoder.
    QCOMPARE(base58_encode(bytes("Hello World!")), std::string("2NEpo7TZRRrLZSi2U"));
    QCOMPARE(base58_encode(hex("0000287fb4cd")), std::string("11233QC4"));
    QCOMPARE(base58_encode(std::vector<std::uint8_t>(32, 0)), std::string("11111111111111111111111111111111"));
    QCOMPARE(base58_encode({}), std::string());
    QCOMPARE(base58_encode(std::vector<std::uint8_t>{0}), std::string("1"));
    QVERIFY(*base58_decode("11233QC4") == hex("0000287fb4cd"));
    QVERIFY(!base58_decode("0OIl").has_value());
    QVERIFY(!base58_decode("abc!").has_value());
    std::vector<std::uint8_t> buffer;
    for (std::size_t zeros = 0; zeros < 4; ++zeros) {
      for (std::size_t length = 0; length < 70; length += 3) {
        buffer.assign(zeros, 0);
        for (std::size_t i = 0; i < length; ++i) buffer.push_back(static_cast<std::uint8_t>(randombytes_uniform(256)));
        const auto text = base58_encode(buffer);
        QVERIFY(*base58_decode(text) == buffer);
        std::size_t ones = 0;
        while (ones < text.size() && text[ones] == '1') ++ones;
        std::size_t leading = 0;
        while (leading < buffer.size() && buffer[leading] == 0) ++leading;
        QCOMPARE(ones, leading);
      }
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, parse_address("2NEpo7TZRRrLZSi2U"));  // 12 bytes
  }

  void hexIsStrict() {
    QVERIFY(*from_hex("00ff10") == (std::vector<std::uint8_t>{0, 255, 16}));
    QVERIFY(*from_hex("ABcd") == (std::vector<std::uint8_t>{0xab, 0xcd}));
    QVERIFY(!from_hex("abc").has_value());
    QVERIFY(!from_hex("zz").has_value());
    QVERIFY(!from_hex("ab cd").has_value());
  }

  void solanaKeypairFile() {
    QTemporaryDir dir;
    const auto key = KeyPair::generate();
    const auto file = std::filesystem::path(dir.path().toStdString()) / "id.json";
    write_solana_keypair_file(file, key);
    struct stat info {};
    QCOMPARE(::stat(file.c_str(), &info), 0);
    QCOMPARE(info.st_mode & 0777, 0600u);
    const auto text = text_of(file);
    QVERIFY(text.front() == '[' && text.back() == ']');
    QCOMPARE(std::count(text.begin(), text.end(), ','), std::ptrdiff_t(63));
    const auto back = read_solana_keypair_file(file);
    QVERIFY(back.public_key() == key.public_key());
    QVERIFY(std::equal(key.seed().begin(), key.seed().end(), back.seed().begin()));
    QVERIFY_THROWS_EXCEPTION(WalletError, write_solana_keypair_file(file, key));  // never overwrites

    // solana-keygen's layout with spaces and a newline parses too.
    std::string spaced = " [";
    for (std::size_t i = 0; i < 64; ++i) {
      if (i > 0) spaced += ", ";
      spaced += std::to_string(i < 32 ? key.seed()[i] : key.public_key()[i - 32]);
    }
    spaced += "]\n";
    QVERIFY(parse_solana_keypair(bytes(spaced)).public_key() == key.public_key());
  }

  void keypairFileWithMismatchedHalvesIsRejected() {
    const auto key = KeyPair::generate();
    const auto other = KeyPair::generate();
    std::string text = "[";
    for (std::size_t i = 0; i < 64; ++i) {
      if (i > 0) text += ',';
      text += std::to_string(i < 32 ? key.seed()[i] : other.public_key()[i - 32]);
    }
    text += "]";
    try {
      (void)parse_solana_keypair(bytes(text));
      QFAIL("a keypair with a foreign public half was accepted");
    } catch (const InvalidKeypairFile& error) {
      QVERIFY2(std::string(error.what()).find("does not match") != std::string::npos, error.what());
    }
    for (const char* bad : {"", "[]", "[1,2,3]", "{\"a\":1}", "[256,0]", "[1,,2]", "[-1]"})
      QVERIFY_THROWS_EXCEPTION(InvalidKeypairFile, parse_solana_keypair(bytes(bad)));
    std::string sixty_five = "[0";
    for (int i = 0; i < 64; ++i) sixty_five += ",0";
    QVERIFY_THROWS_EXCEPTION(InvalidKeypairFile, parse_solana_keypair(bytes(sixty_five + "]")));
  }

 private:
  static std::string text_of(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
  }
};

QTEST_APPLESS_MAIN(TestWalletKeys)
#include "test_wallet_keys.moc"
