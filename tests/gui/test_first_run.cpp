// The first-run flow (ui/pages/first_run_dialog.h) against a real keystore: create (words shown
// once, three retyped, password strength), restore from words, restore from a Solana keypair file.
#include <QtTest>

#include <QCheckBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QTemporaryDir>

#include <algorithm>

#include "core/wallet/keypair_file.h"
#include "core/wallet/keystore.h"
#include "gui_support.h"
#include "ui/pages/first_run_dialog.h"
#include "ui/wallet_service.h"

using tessera::test::clickEnabled;
using tessera::ui::FirstRunDialog;
using tessera::ui::WalletService;

class TestFirstRun : public QObject {
  Q_OBJECT

  QPushButton* primary(FirstRunDialog& dialog) { return dialog.findChild<QPushButton*>(QStringLiteral("primary")); }

  void choosePassword(FirstRunDialog& dialog, WalletService& wallet) {
    QCOMPARE(dialog.page(), FirstRunDialog::Password);
    auto* password = dialog.findChild<QLineEdit*>(QStringLiteral("password"));
    auto* repeat = dialog.findChild<QLineEdit*>(QStringLiteral("repeatPassword"));
    QTest::keyClicks(password, QStringLiteral("short"));
    QTest::keyClicks(repeat, QStringLiteral("short"));
    QVERIFY(!primary(dialog)->isEnabled());  // too short
    QVERIFY(dialog.findChild<QLabel*>(QStringLiteral("strengthHint"))->text().contains(QStringLiteral("Too short")));
    password->setText(QStringLiteral("correct horse battery staple"));
    repeat->setText(QStringLiteral("correct horse battery stapel"));
    QVERIFY(!primary(dialog)->isEnabled());  // they differ
    repeat->setText(QStringLiteral("correct horse battery staple"));
    QVERIFY(primary(dialog)->isEnabled());
    QSignalSpy created(&wallet, &WalletService::created);
    QVERIFY(clickEnabled(primary(dialog)));
    QVERIFY(!primary(dialog)->isEnabled());  // no second click while Argon2 runs
    QVERIFY(created.wait(30000));
    QCOMPARE(dialog.page(), FirstRunDialog::Done);
  }

 private Q_SLOTS:
  void createConfirmsThreeWords() {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("wallet.json"));
    WalletService wallet(file, tessera::wallet::KdfLimits::insecure_for_tests_only());
    FirstRunDialog dialog(&wallet);
    dialog.show();
    QCOMPARE(dialog.page(), FirstRunDialog::Welcome);
    QVERIFY(clickEnabled(primary(dialog)));
    QCOMPARE(dialog.page(), FirstRunDialog::Choose);
    QVERIFY(clickEnabled(dialog.findChild<QPushButton*>(QStringLiteral("createWallet"))));
    QCOMPARE(dialog.page(), FirstRunDialog::Words);

    auto cells = dialog.findChildren<QLabel*>(QStringLiteral("wordCell"));
    QCOMPARE(cells.size(), 12);
    std::sort(cells.begin(), cells.end(),
              [](QLabel* a, QLabel* b) { return a->property("position").toInt() < b->property("position").toInt(); });
    QStringList words;
    for (auto* cell : cells) words << cell->text().section(QLatin1Char(' '), 1);
    QVERIFY(!primary(dialog)->isEnabled());  // not before "I have written them down"
    dialog.findChild<QCheckBox*>(QStringLiteral("writtenDown"))->setChecked(true);
    QVERIFY(clickEnabled(primary(dialog)));
    QCOMPARE(dialog.page(), FirstRunDialog::Confirm);

    const auto positions = dialog.confirmPositions();
    QVERIFY(positions[0] != positions[1] && positions[1] != positions[2] && positions[0] != positions[2]);
    for (std::size_t i = 0; i < 3; ++i) {
      auto* edit = dialog.findChild<QLineEdit*>(QStringLiteral("confirm%1").arg(i));
      QCOMPARE(edit->property("position").toInt(), positions[i]);
      // A wrong word first: the flow must not go on.
      edit->setText(words[(positions[i] + 1) % 12] == words[positions[i]] ? QStringLiteral("zzz")
                                                                           : words[(positions[i] + 1) % 12]);
    }
    QVERIFY(!primary(dialog)->isEnabled());
    for (std::size_t i = 0; i < 3; ++i)
      dialog.findChild<QLineEdit*>(QStringLiteral("confirm%1").arg(i))->setText(words[positions[i]].toUpper());
    QVERIFY(clickEnabled(primary(dialog)));
    choosePassword(dialog, wallet);

    // The keystore on disk is the wallet of exactly these words, and the words are gone from the UI.
    const auto store = tessera::wallet::Keystore::open(file.toStdString());
    QCOMPARE(QString::fromStdString(store.address()), tessera::test::addressOfWords(words.join(QLatin1Char(' ')).toStdString()));
    QCOMPARE(wallet.address(), QString::fromStdString(store.address()));
    for (auto* cell : cells) QVERIFY(cell->text().isEmpty());
    QVERIFY(clickEnabled(primary(dialog)));  // Finish
    QCOMPARE(dialog.result(), int(QDialog::Accepted));
  }

  void restoreFromWords() {
    QTemporaryDir dir;
    WalletService wallet(dir.filePath(QStringLiteral("wallet.json")),
                         tessera::wallet::KdfLimits::insecure_for_tests_only());
    FirstRunDialog dialog(&wallet);
    dialog.show();
    QVERIFY(clickEnabled(primary(dialog)));
    QVERIFY(clickEnabled(dialog.findChild<QPushButton*>(QStringLiteral("restoreWords"))));
    QCOMPARE(dialog.page(), FirstRunDialog::RestoreWords);
    auto* edit = dialog.findChild<QPlainTextEdit*>(QStringLiteral("restoreWordsEdit"));
    edit->setPlainText(QStringLiteral("abandon abandon abandn"));
    QVERIFY(!primary(dialog)->isEnabled());
    const std::string words =
        "legal winner thank year wave sausage worth useful legal winner thank yellow";
    edit->setPlainText(QStringLiteral("  Legal winner thank year wave sausage\nworth useful legal winner thank yellow "));
    QVERIFY(clickEnabled(primary(dialog)));
    choosePassword(dialog, wallet);
    QCOMPARE(wallet.address(), tessera::test::addressOfWords(words));
    QVERIFY(edit->toPlainText().isEmpty());
  }

  void restoreFromKeypairFile() {
    QTemporaryDir dir;
    const auto key = tessera::wallet::KeyPair::generate();
    const QString keypair = dir.filePath(QStringLiteral("id.json"));
    tessera::wallet::write_solana_keypair_file(keypair.toStdString(), key);
    WalletService wallet(dir.filePath(QStringLiteral("wallet.json")),
                         tessera::wallet::KdfLimits::insecure_for_tests_only());
    FirstRunDialog dialog(&wallet);
    dialog.show();
    QVERIFY(clickEnabled(primary(dialog)));
    QVERIFY(clickEnabled(dialog.findChild<QPushButton*>(QStringLiteral("restoreFile"))));
    QVERIFY(!primary(dialog)->isEnabled());
    dialog.setKeypairFile(keypair);
    QVERIFY(clickEnabled(primary(dialog)));
    choosePassword(dialog, wallet);
    QCOMPARE(wallet.address(), QString::fromStdString(tessera::wallet::address_of(key.public_key())));
  }

  void refusesToReplaceAWallet() {
    QTemporaryDir dir;
    const QString file = dir.filePath(QStringLiteral("wallet.json"));
    {
      WalletService first(file, tessera::wallet::KdfLimits::insecure_for_tests_only());
      QSignalSpy created(&first, &WalletService::created);
      first.restoreFromWords(tessera::ui::secretFrom(QStringLiteral(
                                 "legal winner thank year wave sausage worth useful legal winner thank yellow")),
                             tessera::ui::secretFrom({}), tessera::ui::secretFrom(QStringLiteral("a good password")));
      QVERIFY(created.wait(30000));
    }
    WalletService wallet(file, tessera::wallet::KdfLimits::insecure_for_tests_only());
    QSignalSpy failed(&wallet, &WalletService::failed);
    wallet.createFromWords(tessera::ui::secretFrom(QStringLiteral(
                               "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                               "abandon about")),
                           tessera::ui::secretFrom(QStringLiteral("another password")));
    QVERIFY(failed.wait(30000));
    QVERIFY(failed.at(0).at(1).toString().contains(QStringLiteral("never overwritten"), Qt::CaseInsensitive) ||
            failed.at(0).at(1).toString().contains(QStringLiteral("exists"), Qt::CaseInsensitive));
  }
};

QTEST_MAIN(TestFirstRun)
#include "test_first_run.moc"
