// Log hygiene: while a wallet is created, unlocked, its words shown again, exported, re-encrypted
// and used to delegate,
// everything logged (every level) is captured; it must mention what happened (the address, the
// files) and contain none of the words, the seed, the secret key (hex or base58) or the password.
#include <QtTest>

#include <QTemporaryDir>

#include <regex>
#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/wallet/bip39.h"
#include "core/wallet/delegation.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/keystore.h"
#include "wallet_test_util.h"

using namespace tessera::wallet;
using namespace wallet_test;
namespace fs = std::filesystem;

class TestWalletLogs : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void logsCarryNoSecrets() {
    std::ostringstream captured;
    auto logger = std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(captured));
    logger->set_level(spdlog::level::trace);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(logger);

    QTemporaryDir dir;
    const fs::path folder = dir.path().toStdString();
    const std::string words = "legal winner thank year wave sausage worth useful legal winner thank yellow";
    const std::string password = "correct horse battery";
    const auto mnemonic = bip39::Mnemonic::parse(bytes(words));
    const auto seed = mnemonic.to_seed({});
    const auto owner = derive_keypair(seed.span(), DerivationPath::solana(0));

    // Create, unlock, export, import, change the password, delegate; then open a too-open file.
    (void)Keystore::create_from_mnemonic(folder / "wallet.json", mnemonic, {}, DerivationPath::solana(0),
                                         bytes(password), KdfLimits::insecure_for_tests_only());
    auto store = Keystore::open(folder / "wallet.json");
    const auto revealed = store.reveal_words(bytes(password));
    QCOMPARE(revealed.mnemonic.word_count(), mnemonic.word_count());
    store.unlock(bytes(password));
    write_solana_keypair_file(folder / "exported.json", store.owner_key());
    const auto imported = read_solana_keypair_file(folder / "exported.json");
    (void)Keystore::create_from_keypair(folder / "imported.json", imported, bytes(password),
                                        KdfLimits::insecure_for_tests_only());
    store.change_password(bytes("another password"), KdfLimits::insecure_for_tests_only());
    const auto node = load_or_create_node_key(folder / kNodeKeyFileName);
    const auto delegation = sign_delegation(store.owner_key(), node.public_key(), kAnyRun, 2'000'000'000);
    store.lock();
    ::chmod((folder / "imported.json").c_str(), 0644);
    (void)Keystore::open(folder / "imported.json");

    spdlog::set_default_logger(previous);
    logger->flush();
    std::string log = captured.str();
    std::transform(log.begin(), log.end(), log.begin(), [](unsigned char c) { return std::tolower(c); });
    const std::string address = address_of(owner.public_key());
    const auto lower = [](std::string text) {
      std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
      return text;
    };

    // The capture works and covers what happened.
    QVERIFY2(log.find(lower(address)) != std::string::npos, log.c_str());
    QVERIFY2(log.find("exported.json") != std::string::npos, log.c_str());
    QVERIFY2(log.find("permissions too open") != std::string::npos, log.c_str());
    QVERIFY2(log.find("showed the words") != std::string::npos, log.c_str());
    QVERIFY2(log.find(lower(address_of(node.public_key()))) != std::string::npos, log.c_str());

    for (std::size_t i = 0; i < mnemonic.word_count(); ++i) {
      const std::regex word("\\b" + std::string(mnemonic.word(i)) + "\\b");
      QVERIFY2(!std::regex_search(log, word), qPrintable(QString::fromStdString(std::string(mnemonic.word(i)))));
    }
    std::array<std::uint8_t, 64> secret_key{};
    std::copy(owner.seed().begin(), owner.seed().end(), secret_key.begin());
    std::copy(owner.public_key().begin(), owner.public_key().end(), secret_key.begin() + 32);
    const auto keypair_text = format_solana_keypair(owner);
    const std::vector<std::string> secrets = {
        hex_of(seed),
        hex_of(mnemonic.entropy()),
        lower(base58_encode(seed.span())),
        to_hex(owner.seed()),
        lower(base58_encode(owner.seed())),
        to_hex(secret_key),
        lower(base58_encode(secret_key)),
        to_hex(node.seed()),
        lower(base58_encode(node.seed())),
        std::string(reinterpret_cast<const char*>(keypair_text.data()), keypair_text.size()),
        password,
        "another password",
    };
    for (const auto& secret : secrets) {
      QVERIFY2(log.find(secret) == std::string::npos, secret.c_str());
      QVERIFY2(log.find(secret.substr(0, 16)) == std::string::npos, secret.c_str());  // nor a fragment
    }
    QVERIFY(delegation.owner_address == address);
  }
};

QTEST_APPLESS_MAIN(TestWalletLogs)
#include "test_wallet_logs.moc"
