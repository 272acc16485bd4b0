// BIP-39: the 24 official English vectors (entropy → words → seed with "TREZOR"), NFKD of the
// passphrase (and of the words) as every other wallet does it, PBKDF2-HMAC-SHA512, and validation
// errors that name the bad word.
#include <QtTest>

#include <set>

#include "core/wallet/bip39.h"
#include "core/wallet/errors.h"
#include "wallet_test_util.h"

using namespace tessera::wallet;
using namespace wallet_test;

class TestBip39 : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void wordlistIsTheShippedFile() {
    const auto list = bip39::english_wordlist();
    QCOMPARE(list.size(), std::size_t(2048));
    QVERIFY(std::is_sorted(list.begin(), list.end()));
    std::string joined;
    for (const auto word : list) joined += std::string(word) + "\n";
    std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/resources/bip39/english.txt", std::ios::binary);
    std::stringstream file;
    file << in.rdbuf();
    QCOMPARE(joined, file.str());
    QCOMPARE(bip39::word_index("abandon"), 0);
    QCOMPARE(bip39::word_index("zoo"), 2047);
    QCOMPARE(bip39::word_index("zooo"), -1);
  }

  void officialVectors() {
    const auto vectors = json_file("bip39_vectors_english.json");
    QCOMPARE(vectors.size(), std::size_t(24));
    for (const auto& vector : vectors) {
      const auto entropy = hex(vector["entropy"]);
      const auto words = vector["mnemonic"].get<std::string>();
      const auto passphrase = vector["passphrase"].get<std::string>();
      QCOMPARE(passphrase, std::string("TREZOR"));

      const auto generated = bip39::Mnemonic::from_entropy(entropy);
      const auto sentence = generated.sentence();
      QCOMPARE(std::string(reinterpret_cast<const char*>(sentence.data()), sentence.size()), words);

      const auto parsed = bip39::Mnemonic::parse(bytes(words));
      QCOMPARE(parsed.word_count(), generated.word_count());
      QCOMPARE(hex_of(parsed.to_seed(bytes(passphrase))), vector["seed"].get<std::string>());
      QCOMPARE(hex_of(bip39::mnemonic_to_seed(bytes(words), bytes(passphrase))), vector["seed"].get<std::string>());
    }
  }

  // bip32JP test_JP_BIP39.json vector 0 (also in trezor/python-mnemonic's normalisation tests):
  // ideographic spaces in the words and compatibility characters (㍍ → メートル) in the passphrase
  // give this seed only when both are NFKD-normalised.
  void japaneseVectorNeedsNfkd() {
    const std::string words =
        "あいこくしん　あいこくしん　あいこくしん　あいこくしん　あいこくしん　あいこくしん　あいこくしん　あいこくしん　"
        "あいこくしん　あいこくしん　あいこくしん　あおぞら";
    const std::string passphrase = "㍍ガバヴァぱばぐゞちぢ十人十色";
    QCOMPARE(hex_of(bip39::mnemonic_to_seed(bytes(words), bytes(passphrase))),
             std::string("a262d6fb6122ecf45be09c50492b31f92e9beb7d9a845987a02cefda57a15f9c467a17872029a9e92299b5cbdf306e3a0"
                         "ee620245cbd508959b6cb7ca637bd55"));
  }

  // An accented passphrase typed precomposed (NFC) or decomposed (NFD) is the same passphrase.
  // Expected seed from Python's hashlib.pbkdf2_hmac over unicodedata.normalize("NFKD", …).
  void accentedPassphraseComposedOrNot() {
    const std::string words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
    const std::string composed = "Caf\xC3\xA9 \xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 \xEF\xAC\x81";  // "Café Ünïcödé ﬁ"
    const std::string decomposed =
        "Cafe\xCC\x81 U\xCC\x88ni\xCC\x88" "co\xCC\x88" "de\xCC\x81 fi";  // combining marks, ligature spelled out
    const std::string expected =
        "e4d63378ad22c574593c3e1e620a6ba5b7281f16149a98c472f9dc6861869141e220f680cd12bd8792c3ba4a74617dc516919001dda908dbd5acc"
        "fde820745ef";
    const auto mnemonic = bip39::Mnemonic::parse(bytes(words));
    QCOMPARE(hex_of(mnemonic.to_seed(bytes(composed))), expected);
    QCOMPARE(hex_of(mnemonic.to_seed(bytes(decomposed))), expected);
    QVERIFY(hex_of(mnemonic.to_seed(bytes("Cafe"))) != expected);
  }

  void nfkdRejectsInvalidUtf8() {
    QVERIFY_THROWS_EXCEPTION(WalletError, bip39::nfkd(bytes("caf\xC3")));
    QCOMPARE(bip39::nfkd(bytes("")).size(), std::size_t(0));
  }

  // Expected values from Python's hashlib.pbkdf2_hmac("sha512", …): one block and two blocks.
  void pbkdf2MatchesReference() {
    std::vector<std::uint8_t> out(64);
    bip39::pbkdf2_hmac_sha512(bytes("password"), bytes("salt"), 1, out);
    QCOMPARE(to_hex(out), std::string("867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501b"
                                      "ad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"));
    out.resize(100);
    bip39::pbkdf2_hmac_sha512(bytes("password"), bytes("salt"), 2, out);
    QCOMPARE(to_hex(out), std::string("e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a39b9f7"
                                      "840edce4fef5a82be67335c77a6068e04112754f27ccf4e473e311ad827b68945f4e2dddb204c78e4"
                                      "0e2495141e411cd272d020640d673cd34aa29f"));
  }

  void generateGivesValidDistinctWords() {
    for (const std::size_t count : {std::size_t(12), std::size_t(24)}) {
      std::set<std::string> seen;
      for (int i = 0; i < 5; ++i) {
        const auto mnemonic = bip39::Mnemonic::generate(count);
        QCOMPARE(mnemonic.word_count(), count);
        const auto sentence = mnemonic.sentence();
        const auto reparsed = bip39::Mnemonic::parse(sentence.span());  // checksum holds
        QCOMPARE(reparsed.word_count(), count);
        seen.insert(std::string(reinterpret_cast<const char*>(sentence.data()), sentence.size()));
      }
      QCOMPARE(seen.size(), std::size_t(5));
    }
    QVERIFY_THROWS_EXCEPTION(std::invalid_argument, bip39::Mnemonic::generate(13));
  }

  void parseIsLenientAboutSpacingAndCase() {
    const auto mnemonic = bip39::Mnemonic::parse(
        bytes("  Legal WINNER thank year\twave sausage worth useful legal winner thank yellow\r\n"));
    const auto sentence = mnemonic.sentence();
    QCOMPARE(std::string(reinterpret_cast<const char*>(sentence.data()), sentence.size()),
             std::string("legal winner thank year wave sausage worth useful legal winner thank yellow"));
  }

  void badWordIsNamedWithSuggestions() {
    try {
      (void)bip39::Mnemonic::parse(bytes("legal winner thank year wave sausag worth useful legal winner thank yellow"));
      QFAIL("an unknown word was accepted");
    } catch (const InvalidMnemonic& error) {
      QCOMPARE(error.word_position(), std::size_t(6));
      QVERIFY(!error.suggestions().empty());
      QCOMPARE(error.suggestions().front(), std::string("sausage"));
      QVERIFY2(std::string(error.what()).find("word 6") != std::string::npos, error.what());
      QVERIFY2(std::string(error.what()).find("sausage") != std::string::npos, error.what());
    }
    try {
      (void)bip39::Mnemonic::parse(bytes("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                                         "abandon abote"));
      QFAIL("an unknown word was accepted");
    } catch (const InvalidMnemonic& error) {
      QCOMPARE(error.word_position(), std::size_t(12));
      const auto& hints = error.suggestions();
      QVERIFY(std::find(hints.begin(), hints.end(), "above") != hints.end() ||
              std::find(hints.begin(), hints.end(), "about") != hints.end());
    }
    QVERIFY(bip39::closest_words("zoo", 1) == std::vector<std::string>{"zoo"});
  }

  void checksumAndCountErrors() {
    try {
      (void)bip39::Mnemonic::parse(bytes("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                                         "abandon abandon"));
      QFAIL("a bad checksum was accepted");
    } catch (const InvalidMnemonic& error) {
      QCOMPARE(error.word_position(), std::size_t(0));
      QVERIFY2(std::string(error.what()).find("checksum") != std::string::npos, error.what());
    }
    QVERIFY_THROWS_EXCEPTION(InvalidMnemonic, bip39::Mnemonic::parse(bytes("abandon abandon about")));
    QVERIFY_THROWS_EXCEPTION(InvalidMnemonic, bip39::Mnemonic::parse(bytes("   ")));
  }
};

QTEST_APPLESS_MAIN(TestBip39)
#include "test_bip39.moc"
