// The wallet page over a real keystore: lock/unlock (wrong password in words), auto-lock after
// inactivity, change password, keypair export, hide balances, the address's QR code, and backup:
// the words shown again after the password (wrong, then right), hidden on request, never
// selectable; a wallet without words says so and offers the keypair export.
#include <QtTest>

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QInputDialog>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QTemporaryDir>

#include <fstream>
#include <functional>
#include <memory>

#include "core/wallet/delegation.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/slip10.h"
#include "gui_support.h"
#include "ui/ledger_models.h"
#include "ui/ledger_service.h"
#include "ui/pages/wallet_page.h"
#include "ui/qr_code.h"
#include "ui/sample_log.h"
#include "ui/wallet_service.h"
#include "tests/wallet/wallet_test_util.h"

using tessera::ui::secretFrom;
using tessera::ui::WordsDialog;
using tessera::ui::WalletPage;
using tessera::ui::WalletService;

namespace {

const QString kWords = QStringLiteral("legal winner thank year wave sausage worth useful legal winner thank yellow");

// Answers the next modal dialog (once it is shown) with `answer`.
void answerNextModal(std::function<void(QWidget*)> answer) {
  auto attempt = std::make_shared<std::function<void(int)>>();
  *attempt = [answer, attempt](int tries) {
    if (auto* modal = QApplication::activeModalWidget()) {
      answer(modal);
      return;
    }
    if (tries > 0) QTimer::singleShot(20, [attempt, tries] { (*attempt)(tries - 1); });
  };
  QTimer::singleShot(0, [attempt] { (*attempt)(250); });
}

void typePassword(const QString& password) {
  answerNextModal([password](QWidget* modal) {
    auto* dialog = qobject_cast<QInputDialog*>(modal);
    QVERIFY(dialog != nullptr);
    dialog->setTextValue(password);
    dialog->accept();
  });
}

}  // namespace

class TestWalletPage : public QObject {
  Q_OBJECT

  QTemporaryDir dir_;
  std::unique_ptr<WalletService> wallet_;
  const QString password_ = QStringLiteral("a long enough password");

 private Q_SLOTS:
  void init() {
    QVERIFY(dir_.isValid());
    QFile::remove(dir_.filePath(QStringLiteral("wallet.json")));
    QFile::remove(dir_.filePath(QStringLiteral("delegation.json")));
    wallet_ = std::make_unique<WalletService>(dir_.filePath(QStringLiteral("wallet.json")),
                                              tessera::wallet::KdfLimits::insecure_for_tests_only());
    QSignalSpy created(wallet_.get(), &WalletService::created);
    wallet_->createFromWords(secretFrom(kWords), secretFrom(password_));
    QVERIFY(created.wait(30000));
  }
  void cleanup() { wallet_.reset(); }

  void delegatesThisComputer() {
    // Creating the wallet signed a delegation for this machine's node key, for any run.
    std::ifstream in(dir_.filePath(QStringLiteral("delegation.json")).toStdString());
    QVERIFY(in.good());
    const auto delegation = tessera::wallet::Delegation::from_json(nlohmann::json::parse(in));
    const auto node = tessera::wallet::load_or_create_node_key(dir_.filePath(QStringLiteral("node_key.json")).toStdString());
    QCOMPARE(QString::fromStdString(delegation.owner_address), wallet_->address());
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    QCOMPARE(tessera::wallet::verify_delegation(delegation, node.public_key(), "any-run", now),
             tessera::wallet::DelegationStatus::Valid);
    QVERIFY(delegation.expires_at > now + 80 * 86400);
  }

  void lockAndUnlock() {
    WalletPage page(wallet_.get(), nullptr);
    page.show();
    QVERIFY(page.findChild<QLabel*>(QStringLiteral("address"))->text() == wallet_->address());
    QSignalSpy locked(wallet_.get(), &WalletService::locked);
    auto* lock = page.findChild<QPushButton*>(QStringLiteral("lockButton"));
    QCOMPARE(lock->text(), QStringLiteral("Lock"));
    QTest::mouseClick(lock, Qt::LeftButton);
    QVERIFY(locked.wait(10000));
    QCOMPARE(page.lockStateText(), QStringLiteral("Locked"));
    QVERIFY(!wallet_->isUnlocked());

    QSignalSpy failed(wallet_.get(), &WalletService::failed);
    page.unlockWith(QStringLiteral("not the password"));
    QVERIFY(failed.wait(10000));
    QVERIFY(failed.at(0).at(2).toBool());  // wrong_password
    QVERIFY2(page.messageText().contains(QStringLiteral("Wrong password")), qPrintable(page.messageText()));
    QVERIFY(!wallet_->isUnlocked());

    QSignalSpy unlocked(wallet_.get(), &WalletService::unlocked);
    page.unlockWith(password_);
    QVERIFY(unlocked.wait(10000));
    QCOMPARE(page.lockStateText(), QStringLiteral("Unlocked"));
    QVERIFY(wallet_->isUnlocked());
  }

  void locksAfterInactivity() {
    WalletPage page(wallet_.get(), nullptr);
    page.show();
    QVERIFY(wallet_->isUnlocked());
    QSignalSpy locked(wallet_.get(), &WalletService::locked);
    page.setAutoLockIntervalMs(150);
    QVERIFY(locked.wait(10000));
    QVERIFY(!wallet_->isUnlocked());
    QCOMPARE(page.messageText(), QStringLiteral("Locked after inactivity."));
    page.setAutoLockMinutes(0);
  }

  void changePasswordAndExport() {
    QSignalSpy changed(wallet_.get(), &WalletService::passwordChanged);
    QSignalSpy failed(wallet_.get(), &WalletService::failed);
    wallet_->changePassword(secretFrom(QStringLiteral("wrong")), secretFrom(QStringLiteral("the new password")));
    QVERIFY(failed.wait(10000));
    wallet_->changePassword(secretFrom(password_), secretFrom(QStringLiteral("the new password")));
    QVERIFY(changed.wait(10000));
    wallet_->lock();
    QSignalSpy unlocked(wallet_.get(), &WalletService::unlocked);
    wallet_->unlock(secretFrom(QStringLiteral("the new password")));
    QVERIFY(unlocked.wait(10000));

    const QString file = dir_.filePath(QStringLiteral("exported.json"));
    QSignalSpy exported(wallet_.get(), &WalletService::exported);
    wallet_->exportKeypair(file, secretFrom(QStringLiteral("the new password")));
    QVERIFY(exported.wait(10000));
    const auto key = tessera::wallet::read_solana_keypair_file(file.toStdString());
    QCOMPARE(QString::fromStdString(tessera::wallet::address_of(key.public_key())), wallet_->address());
    QCOMPARE(QFileInfo(file).permissions() & (QFile::ReadGroup | QFile::ReadOther), QFileDevice::Permissions());
  }

  void backupShowsTheWordsAfterThePassword() {
    WalletPage page(wallet_.get(), nullptr);
    page.show();
    QVERIFY(wallet_->wordsAvailability() == tessera::wallet::WordsAvailability::Stored);
    auto* backup = page.findChild<QPushButton*>(QStringLiteral("backupWords"));
    QVERIFY(backup != nullptr && backup->isEnabled());

    // A wrong password, typed into the dialog the button opens, is said in words; nothing is shown.
    QSignalSpy failed(wallet_.get(), &WalletService::failed);
    typePassword(QStringLiteral("not the password"));
    QTest::mouseClick(backup, Qt::LeftButton);
    QVERIFY(failed.wait(10000));
    QVERIFY(failed.at(0).at(2).toBool());
    QVERIFY2(page.messageText().contains(QStringLiteral("Wrong password")), qPrintable(page.messageText()));
    QVERIFY(page.wordsDialog() == nullptr);

    QSignalSpy revealed(wallet_.get(), &WalletService::wordsRevealed);
    typePassword(password_);
    QTest::mouseClick(backup, Qt::LeftButton);
    QVERIFY(revealed.wait(10000));
    WordsDialog* dialog = page.wordsDialog();
    QVERIFY(dialog != nullptr);
    QVERIFY(dialog->isVisible());
    QCOMPARE(dialog->shownWords().join(QLatin1Char(' ')), kWords);
    QVERIFY(dialog->findChild<QLabel*>(QStringLiteral("wordsWarning"))->text().contains(QStringLiteral("owns this wallet")));
    QVERIFY(dialog->findChild<QLabel*>(QStringLiteral("passphraseNote")) == nullptr);
    for (auto* label : dialog->findChild<QWidget*>(QStringLiteral("wordsGrid"))->findChildren<QLabel*>())
      QCOMPARE(label->textInteractionFlags(), Qt::TextInteractionFlags(Qt::NoTextInteraction));  // no copy

    auto* hide = dialog->findChild<QPushButton*>(QStringLiteral("hideWords"));
    QTest::mouseClick(hide, Qt::LeftButton);
    QVERIFY(dialog->wordsHidden());
    QVERIFY(dialog->shownWords().isEmpty());
    QTest::mouseClick(hide, Qt::LeftButton);
    QCOMPARE(dialog->shownWords().size(), 12);
    QTest::mouseClick(dialog->findChild<QPushButton*>(QStringLiteral("closeWords")), Qt::LeftButton);
    QTRY_VERIFY(page.wordsDialog() == nullptr);  // closed and deleted, its labels emptied first
  }

  void backupWithoutWordsOffersTheKeypair() {
    // A wallet imported from a keypair file has no words: Back up says so, before any password.
    const QString keypair = dir_.filePath(QStringLiteral("import-me.json"));
    QFile::remove(keypair);
    tessera::wallet::write_solana_keypair_file(keypair.toStdString(), tessera::wallet::KeyPair::generate());
    QTemporaryDir other;
    WalletService imported(other.filePath(QStringLiteral("wallet.json")),
                           tessera::wallet::KdfLimits::insecure_for_tests_only());
    QSignalSpy created(&imported, &WalletService::created);
    imported.restoreFromKeypairFile(keypair, secretFrom(password_));
    QVERIFY(created.wait(30000));
    QVERIFY(imported.wordsAvailability() == tessera::wallet::WordsAvailability::ImportedKeypair);
    WalletPage page(&imported, nullptr);
    page.show();
    QString shown;
    answerNextModal([&shown](QWidget* modal) {
      auto* box = qobject_cast<QMessageBox*>(modal);
      QVERIFY(box != nullptr);
      shown = box->text();
      for (auto* button : box->buttons()) QVERIFY(!button->text().contains(QStringLiteral("words")));
      box->reject();
    });
    QTest::mouseClick(page.findChild<QPushButton*>(QStringLiteral("backupWords")), Qt::LeftButton);
    QVERIFY2(shown.contains(QStringLiteral("no words")), qPrintable(shown));
    QVERIFY2(shown.contains(QStringLiteral("keypair file")), qPrintable(shown));
    QVERIFY(page.wordsDialog() == nullptr);
  }

  void version1WalletKeepsItsWordsOnceTyped() {
    // A wallet created before words could be shown again: Back up says so and offers the keypair
    // export or "I have my words…"; its own words (not others) make it keep them from then on.
    QTemporaryDir other;
    const std::string words = kWords.toStdString();
    const auto seed = tessera::wallet::bip39::Mnemonic::parse(wallet_test::bytes(words)).to_seed({});
    {
      std::ofstream out(other.filePath(QStringLiteral("wallet.json")).toStdString());
      out << wallet_test::version1_keystore(seed.span(), password_.toStdString(),
                                            tessera::wallet::KdfLimits::insecure_for_tests_only());
    }
    WalletService old(other.filePath(QStringLiteral("wallet.json")), tessera::wallet::KdfLimits::insecure_for_tests_only());
    QSignalSpy changed(&old, &WalletService::changed);
    old.probe();
    QTRY_VERIFY(old.exists() && !old.isBusy());
    QVERIFY(old.wordsAvailability() == tessera::wallet::WordsAvailability::SeedOnly);
    WalletPage page(&old, nullptr);
    page.show();
    QStringList buttons;
    QString shown;
    answerNextModal([&](QWidget* modal) {
      auto* box = qobject_cast<QMessageBox*>(modal);
      QVERIFY(box != nullptr);
      shown = box->text();
      for (auto* button : box->buttons()) buttons << button->text();
      box->reject();
    });
    QTest::mouseClick(page.findChild<QPushButton*>(QStringLiteral("backupWords")), Qt::LeftButton);
    QVERIFY2(shown.contains(QStringLiteral("created before")), qPrintable(shown));
    QVERIFY2(buttons.contains(QStringLiteral("Export keypair file…")), qPrintable(buttons.join(QLatin1Char('|'))));
    QVERIFY2(buttons.contains(QStringLiteral("I have my words…")), qPrintable(buttons.join(QLatin1Char('|'))));

    QSignalSpy failed(&old, &WalletService::failed);
    page.addWordsWith(QStringLiteral("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
                                     "abandon about"),
                      password_);
    QVERIFY(failed.wait(10000));
    QVERIFY2(page.messageText().contains(QStringLiteral("not this wallet's")), qPrintable(page.messageText()));
    QVERIFY(old.wordsAvailability() == tessera::wallet::WordsAvailability::SeedOnly);

    QSignalSpy added(&old, &WalletService::wordsAdded);
    page.addWordsWith(kWords, password_);
    QVERIFY(added.wait(10000));
    QVERIFY(old.wordsAvailability() == tessera::wallet::WordsAvailability::Stored);
    QSignalSpy revealed(&old, &WalletService::wordsRevealed);
    page.backupWith(password_);
    QVERIFY(revealed.wait(10000));
    QVERIFY(page.wordsDialog() != nullptr);
    QCOMPARE(page.wordsDialog()->shownWords().join(QLatin1Char(' ')), kWords);
    page.wordsDialog()->close();
  }

  void balancesHideAndQr() {
    tessera::ui::writeSampleLog(dir_.filePath(QStringLiteral("contributions.db")).toStdString(),
                                dir_.filePath(QStringLiteral("node_key.json")).toStdString(),
                                QDateTime::currentMSecsSinceEpoch(), 5, 60);
    tessera::ui::LedgerService ledger(dir_.filePath(QStringLiteral("contributions.db")));
    WalletPage page(wallet_.get(), &ledger);
    QAbstractItemModelTester tester(page.balancesModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
    QSignalSpy loaded(&ledger, &tessera::ui::LedgerService::dashboardLoaded);
    page.show();  // asks for the all-time snapshot
    QVERIFY(loaded.wait(10000));
    auto* model = page.balancesModel();
    QCOMPARE(model->rowCount(), 2);
    const auto& first = model->balances().front();
    QCOMPARE(first.run, QStringLiteral("tessera-1b"));
    QVERIFY(first.verified > 0);
    QVERIFY(first.pending > 0);  // the last epoch's statement is not verified yet
    QCOMPARE(first.last_verified_epoch, qint64{3});
    QVERIFY(!model->index(0, tessera::ui::BalancesModel::Verified).data().toString().contains(QStringLiteral("•")));
    model->setHidden(true);
    QVERIFY(model->index(0, tessera::ui::BalancesModel::Verified).data().toString().contains(QStringLiteral("•")));
    QVERIFY(model->index(0, tessera::ui::BalancesModel::Share).data().toString().contains(QStringLiteral("•")));
    model->setHidden(false);

    const QImage qr = tessera::ui::qrCodeImage(wallet_->address(), 4);
    QVERIFY(!qr.isNull());
    QCOMPARE(qr.width(), qr.height());
    QCOMPARE(qr.pixelColor(0, 0), QColor(Qt::white));  // the quiet zone
  }
};

QTEST_MAIN(TestWalletPage)
#include "test_wallet_page.moc"
