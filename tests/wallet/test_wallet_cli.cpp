// `tessera-node wallet …` as a person or a script runs it: derive prints exactly the address other
// wallets show, restore/create/import write a 0600 keystore, sign/verify, export, change-password,
// delegate, and errors a user can act on (bad word, wrong password). Uses the default (MODERATE)
// Argon2id limits, so it keeps the number of unlocks small.
#include <QtTest>

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <fstream>

#include <sys/stat.h>

#include "core/wallet/keypair_file.h"
#include "core/wallet/signing.h"
#include "core/wallet/bip39.h"
#include "tests/support/run_process.h"
#include "wallet_test_util.h"

namespace {

const QString kAbandon = QStringLiteral(
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
// ebellocchia/py_crypto_hd_wallet issue #21: the address Phantom shows for these words.
const QString kAbandonAddress = QStringLiteral("HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk");

using Result = tessera::test::ProcessResult;

Result run(const QStringList& arguments, const QString& input = {}) {
  return tessera::test::run_process(QStringLiteral(TESSERA_NODE_BIN), arguments, input);
}

unsigned mode_of(const QString& file) {
  struct stat info {};
  if (::stat(file.toLocal8Bit().constData(), &info) != 0) return 0;
  return info.st_mode & 0777;
}

}  // namespace

class TestWalletCli : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void derivePrintsTheAddressOnly() {
    const auto result = run({QStringLiteral("wallet"), QStringLiteral("derive")}, kAbandon + QLatin1Char('\n'));
    QVERIFY2(result.exit_code == 0, qPrintable(result.err));
    QCOMPARE(result.out, kAbandonAddress + QLatin1Char('\n'));

    const auto account = run({QStringLiteral("wallet"), QStringLiteral("derive"), QStringLiteral("--account"),
                              QStringLiteral("1")},
                             kAbandon + QLatin1Char('\n'));
    const auto path = run({QStringLiteral("wallet"), QStringLiteral("derive"), QStringLiteral("--path"),
                           QStringLiteral("m/44'/501'/1'/0'")},
                          kAbandon + QLatin1Char('\n'));
    QCOMPARE(account.exit_code, 0);
    QCOMPARE(account.out, path.out);
    QVERIFY(account.out.trimmed() != kAbandonAddress);

    const auto passphrase = run({QStringLiteral("wallet"), QStringLiteral("derive"), QStringLiteral("--passphrase-stdin")},
                                kAbandon + QStringLiteral("\nTREZOR\n"));
    QCOMPARE(passphrase.exit_code, 0);
    QVERIFY(passphrase.out.trimmed() != kAbandonAddress);
    QCOMPARE(passphrase.out.trimmed().size(), kAbandonAddress.size());
  }

  void badWordIsNamed() {
    QString words = kAbandon;
    words.replace(QStringLiteral(" about"), QStringLiteral(" abuot"));
    const auto result = run({QStringLiteral("wallet"), QStringLiteral("derive")}, words + QLatin1Char('\n'));
    QCOMPARE(result.exit_code, 1);
    QVERIFY(result.out.isEmpty());
    QVERIFY2(result.err.contains(QStringLiteral("word 12")), qPrintable(result.err));
    QVERIFY2(result.err.contains(QStringLiteral("about")), qPrintable(result.err));
  }

  void restoreSignVerifyExportChangePassword() {
    QTemporaryDir data;
    const QStringList base{QStringLiteral("--data-dir"), data.path(), QStringLiteral("wallet")};
    const auto restore = run(base + QStringList{QStringLiteral("restore"), QStringLiteral("--password-stdin")},
                             kAbandon + QStringLiteral("\nfirst password\n"));
    QVERIFY2(restore.exit_code == 0, qPrintable(restore.err));
    QVERIFY(restore.out.contains(kAbandonAddress));
    const QString keystore = data.filePath(QStringLiteral("wallet.json"));
    QCOMPARE(mode_of(keystore), 0600u);

    const auto again = run(base + QStringList{QStringLiteral("restore"), QStringLiteral("--password-stdin")},
                           kAbandon + QStringLiteral("\nfirst password\n"));
    QCOMPARE(again.exit_code, 1);
    QVERIFY2(again.err.contains(QStringLiteral("already exists")), qPrintable(again.err));

    const auto show = run(base + QStringList{QStringLiteral("show"), QStringLiteral("--json")});
    QCOMPARE(show.exit_code, 0);
    const auto shown = QJsonDocument::fromJson(show.out.toUtf8()).object();
    QCOMPARE(shown.value(QStringLiteral("address")).toString(), kAbandonAddress);
    QCOMPARE(shown.value(QStringLiteral("path")).toString(), QStringLiteral("m/44'/501'/0'/0'"));
    QCOMPARE(shown.value(QStringLiteral("keystore")).toString(), keystore);

    const QString message = data.filePath(QStringLiteral("message.txt"));
    {
      QFile file(message);
      QVERIFY(file.open(QIODevice::WriteOnly));
      file.write("I own this address.\n");
    }
    const auto wrong = run(base + QStringList{QStringLiteral("sign"), message, QStringLiteral("--password-stdin")},
                           QStringLiteral("not the password\n"));
    QCOMPARE(wrong.exit_code, 1);
    QVERIFY2(wrong.err.contains(QStringLiteral("wrong password")), qPrintable(wrong.err));

    const auto sign = run(base + QStringList{QStringLiteral("sign"), message, QStringLiteral("--password-stdin")},
                          QStringLiteral("first password\n"));
    QVERIFY2(sign.exit_code == 0, qPrintable(sign.err));
    const QString signature = sign.out.trimmed();
    const auto verify = run(base + QStringList{QStringLiteral("verify"), message, signature});
    QVERIFY2(verify.exit_code == 0, qPrintable(verify.err));
    {
      QFile file(message);
      QVERIFY(file.open(QIODevice::Append));
      file.write("!");
    }
    const auto tampered = run(base + QStringList{QStringLiteral("verify"), message, signature});
    QCOMPARE(tampered.exit_code, 1);
    QVERIFY2(tampered.err.contains(QStringLiteral("invalid signature")), qPrintable(tampered.err));

    const QString exported = data.filePath(QStringLiteral("id.json"));
    const auto exporting = run(base + QStringList{QStringLiteral("export-keypair"), exported,
                                                  QStringLiteral("--password-stdin")},
                               QStringLiteral("first password\n"));
    QVERIFY2(exporting.exit_code == 0, qPrintable(exporting.err));
    QCOMPARE(mode_of(exported), 0600u);

    QTemporaryDir other;
    const auto importing = run({QStringLiteral("--data-dir"), other.path(), QStringLiteral("wallet"),
                                QStringLiteral("import-keypair"), exported, QStringLiteral("--password-stdin")},
                               QStringLiteral("other password\n"));
    QVERIFY2(importing.exit_code == 0, qPrintable(importing.err));
    QVERIFY(importing.out.contains(kAbandonAddress));

    const auto change = run(base + QStringList{QStringLiteral("change-password"), QStringLiteral("--password-stdin")},
                            QStringLiteral("first password\nsecond password\n"));
    QVERIFY2(change.exit_code == 0, qPrintable(change.err));
    const auto delegate = run(base + QStringList{QStringLiteral("delegate"), QStringLiteral("--run"),
                                                 QStringLiteral("run-1"), QStringLiteral("--password-stdin")},
                              QStringLiteral("second password\n"));
    QVERIFY2(delegate.exit_code == 0, qPrintable(delegate.err));
    const auto delegation = QJsonDocument::fromJson(delegate.out.toUtf8()).object();
    QCOMPARE(delegation.value(QStringLiteral("owner")).toString(), kAbandonAddress);
    QCOMPARE(delegation.value(QStringLiteral("run")).toString(), QStringLiteral("run-1"));
    QCOMPARE(mode_of(data.filePath(QStringLiteral("node_key.json"))), 0600u);
  }

  void createPrintsWordsThatRestoreTheAddress() {
    QTemporaryDir data;
    const auto create = run({QStringLiteral("--data-dir"), data.path(), QStringLiteral("wallet"), QStringLiteral("create"),
                             QStringLiteral("--no-confirm"), QStringLiteral("--password-stdin")},
                            QStringLiteral("a good password\n"));
    QVERIFY2(create.exit_code == 0, qPrintable(create.err));
    // "  1. word   2. word ..." then "Address:  <address>".
    QStringList words;
    const QRegularExpression numbered(QStringLiteral("\\b(\\d+)\\. ([a-z]+)"));
    for (auto it = numbered.globalMatch(create.out); it.hasNext();) words << it.next().captured(2);
    QCOMPARE(words.size(), 12);
    const QRegularExpression addressLine(QStringLiteral("Address:\\s+(\\S+)"));
    const auto address = addressLine.match(create.out).captured(1);
    QVERIFY(!address.isEmpty());
    const auto derived = run({QStringLiteral("wallet"), QStringLiteral("derive")}, words.join(QLatin1Char(' ')) + "\n");
    QCOMPARE(derived.out.trimmed(), address);

    // Confirmation: two wrong words and nothing is written.
    QTemporaryDir refused;
    const auto confirm = run({QStringLiteral("--data-dir"), refused.path(), QStringLiteral("wallet"),
                              QStringLiteral("create"), QStringLiteral("--password-stdin")},
                             QStringLiteral("a good password\nnotaword\nnotaword\n"));
    QCOMPARE(confirm.exit_code, 1);
    QVERIFY2(confirm.err.contains(QStringLiteral("does not match")), qPrintable(confirm.err));
    QVERIFY(!QFile::exists(refused.filePath(QStringLiteral("wallet.json"))));
  }

  void showWordsAfterThePassword() {
    QTemporaryDir data;
    const QStringList base{QStringLiteral("--data-dir"), data.path(), QStringLiteral("wallet")};
    const auto create = run(base + QStringList{QStringLiteral("create"), QStringLiteral("--no-confirm"),
                                               QStringLiteral("--password-stdin"), QStringLiteral("--words"),
                                               QStringLiteral("24")},
                            QStringLiteral("a good password\n"));
    QVERIFY2(create.exit_code == 0, qPrintable(create.err));
    QStringList created;
    const QRegularExpression numbered(QStringLiteral("\\b(\\d+)\\. ([a-z]+)"));
    for (auto it = numbered.globalMatch(create.out); it.hasNext();) created << it.next().captured(2);
    QCOMPARE(created.size(), 24);

    // Standard output is a pipe here: refused without --force, before any password is asked.
    const QStringList show = base + QStringList{QStringLiteral("show-words"), QStringLiteral("--password-stdin")};
    const auto refused = run(show, QStringLiteral("a good password\n"));
    QCOMPARE(refused.exit_code, 1);
    QVERIFY(refused.out.isEmpty());
    QVERIFY2(refused.err.contains(QStringLiteral("refusing to print the words")), qPrintable(refused.err));
    QVERIFY2(refused.err.contains(QStringLiteral("--force")), qPrintable(refused.err));

    const auto wrong = run(show + QStringList{QStringLiteral("--force")}, QStringLiteral("not the password\n"));
    QCOMPARE(wrong.exit_code, 1);
    QVERIFY(wrong.out.isEmpty());
    QVERIFY2(wrong.err.contains(QStringLiteral("wrong password")), qPrintable(wrong.err));

    const auto shown = run(show + QStringList{QStringLiteral("--force")}, QStringLiteral("a good password\n"));
    QVERIFY2(shown.exit_code == 0, qPrintable(shown.err));
    QStringList words;
    for (auto it = numbered.globalMatch(shown.out); it.hasNext();) words << it.next().captured(2);
    QCOMPARE(words, created);
    QVERIFY(shown.out.contains(QStringLiteral("Anyone who sees them owns the wallet")));
    for (const auto& word : created) QVERIFY2(!shown.err.contains(word + QLatin1Char(' ')), qPrintable(shown.err));

    const auto info = run(base + QStringList{QStringLiteral("show"), QStringLiteral("--json")});
    const auto object = QJsonDocument::fromJson(info.out.toUtf8()).object();
    QCOMPARE(object.value(QStringLiteral("keystore_version")).toInt(), 2);
    QCOMPARE(object.value(QStringLiteral("words")).toInt(), 24);

    // An imported keypair has no words, and says what to back up instead.
    QTemporaryDir imported;
    const QString keypair = imported.filePath(QStringLiteral("key.json"));
    tessera::wallet::write_solana_keypair_file(keypair.toStdString(), tessera::wallet::KeyPair::generate());
    const QStringList other{QStringLiteral("--data-dir"), imported.path(), QStringLiteral("wallet")};
    const auto import = run(other + QStringList{QStringLiteral("import-keypair"), keypair,
                                                QStringLiteral("--password-stdin")},
                            QStringLiteral("a good password\n"));
    QVERIFY2(import.exit_code == 0, qPrintable(import.err));
    const auto none = run(other + QStringList{QStringLiteral("show-words"), QStringLiteral("--password-stdin"),
                                              QStringLiteral("--force")},
                          QStringLiteral("a good password\n"));
    QCOMPARE(none.exit_code, 1);
    QVERIFY2(none.err.contains(QStringLiteral("no words")), qPrintable(none.err));
    QVERIFY2(none.err.contains(QStringLiteral("export-keypair")), qPrintable(none.err));
  }

  void restoreUpgradesAVersion1Wallet() {
    // A wallet from before words could be shown again (keystore version 1, the seed only).
    QTemporaryDir data;
    const auto words = kAbandon.toStdString();
    const auto seed = tessera::wallet::bip39::Mnemonic::parse(wallet_test::bytes(words)).to_seed({});
    {
      std::ofstream out(data.filePath(QStringLiteral("wallet.json")).toStdString());
      out << wallet_test::version1_keystore(seed.span(), "old password",
                                            tessera::wallet::KdfLimits::insecure_for_tests_only());
    }
    const QStringList base{QStringLiteral("--data-dir"), data.path(), QStringLiteral("wallet")};
    const QStringList show{QStringLiteral("show-words"), QStringLiteral("--password-stdin"), QStringLiteral("--force")};
    const auto before = run(base + show, QStringLiteral("old password\n"));
    QCOMPARE(before.exit_code, 1);
    QVERIFY2(before.err.contains(QStringLiteral("created before")), qPrintable(before.err));
    QVERIFY2(before.err.contains(QStringLiteral("export-keypair")), qPrintable(before.err));

    // Other words are not this wallet's: refused, the file untouched.
    const auto other = run(base + QStringList{QStringLiteral("restore"), QStringLiteral("--password-stdin")},
                           QStringLiteral("legal winner thank year wave sausage worth useful legal winner thank "
                                          "yellow\nold password\n"));
    QCOMPARE(other.exit_code, 1);
    QVERIFY2(other.err.contains(QStringLiteral("already exists")), qPrintable(other.err));

    // Its own words, then its current password: upgraded in place, the words shown from then on.
    const auto restore = run(base + QStringList{QStringLiteral("restore"), QStringLiteral("--password-stdin")},
                             kAbandon + QStringLiteral("\nold password\n"));
    QVERIFY2(restore.exit_code == 0, qPrintable(restore.err));
    QVERIFY2(restore.out.contains(QStringLiteral("now keeps its words")), qPrintable(restore.out));
    QVERIFY(restore.out.contains(kAbandonAddress));
    const auto after = run(base + show, QStringLiteral("old password\n"));
    QVERIFY2(after.exit_code == 0, qPrintable(after.err));
    QStringList shown;
    const QRegularExpression numbered(QStringLiteral("\\b(\\d+)\\. ([a-z]+)"));
    for (auto it = numbered.globalMatch(after.out); it.hasNext();) shown << it.next().captured(2);
    QCOMPARE(shown.join(QLatin1Char(' ')), kAbandon);
  }

  void benchWalletReportsJson() {
    const auto result = run({QStringLiteral("bench"), QStringLiteral("wallet"), QStringLiteral("--json"),
                             QStringLiteral("--unlock-runs"), QStringLiteral("1"), QStringLiteral("--seconds"),
                             QStringLiteral("0.05")});
    QVERIFY2(result.exit_code == 0, qPrintable(result.err));
    const auto report = QJsonDocument::fromJson(result.out.toUtf8()).object();
    const auto unlock = report.value(QStringLiteral("unlock")).toObject();
    QVERIFY(unlock.value(QStringLiteral("moderate_s")).toDouble() > 0);
    QVERIFY(unlock.value(QStringLiteral("interactive_s")).toDouble() > 0);
    QCOMPARE(unlock.value(QStringLiteral("moderate_memlimit_mib")).toInt(), 256);
    QVERIFY(report.value(QStringLiteral("derive")).toObject().value(QStringLiteral("words_to_address_per_s")).toDouble() > 0);
    QVERIFY(report.value(QStringLiteral("sign")).toObject().value(QStringLiteral("verify_per_s")).toDouble() > 0);
  }
};

QTEST_GUILESS_MAIN(TestWalletCli)
#include "test_wallet_cli.moc"
