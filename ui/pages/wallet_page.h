// Wallet: address with QR code and copy, balances per run (hide-balances toggle), lock/unlock,
// backup (the words shown again after the password), export of the Solana keypair file, change
// password, auto-lock after inactivity, and watch-only addresses (WatchService). Every keystore
// call runs on WalletService's worker, every hub request on WatchService's.
#pragma once

#include <QTimer>
#include <QWidget>

#include "ui/ledger_service.h"

class QCheckBox;
class QComboBox;
class QDialog;
class QHBoxLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;
class QVBoxLayout;

namespace tessera::ui {

class BalancesModel;
class WalletService;
class WatchModel;
class WatchService;

// The words shown again: a warning, the numbered words (not selectable, no copy), Hide/Show, Close.
// The labels are emptied when it closes.
class WordsDialog : public QWidget {
  Q_OBJECT

 public:
  WordsDialog(const QStringList& words, bool needs_passphrase, QWidget* parent = nullptr);
  ~WordsDialog() override;
  QStringList shownWords() const;  // empty while hidden
  bool wordsHidden() const;
  void setWordsHidden(bool hidden);

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void wipe();
  QList<QLabel*> labels_;
  QWidget* grid_ = nullptr;
  QPushButton* hide_ = nullptr;
};

class WalletPage : public QWidget {
  Q_OBJECT

 public:
  // `watch` may be null (no Watching section).
  WalletPage(WalletService* wallet, LedgerService* ledger, WatchService* watch = nullptr, QWidget* parent = nullptr);

  BalancesModel* balancesModel() const { return balances_; }
  WatchModel* watchModel() const;
  // Driven by the dialogs, and by tests directly.
  void unlockWith(const QString& password);
  void backupWith(const QString& password);  // reveals the words into wordsDialog()
  WordsDialog* wordsDialog() const { return words_dialog_; }
  void addWordsWith(const QString& words, const QString& password);  // upgrades a wallet without words
  // Adds a watched address from the Watching section's fields; false (message shown) when invalid.
  bool addWatched(const QString& address, const QString& label);
  QString watchMessageText() const;
  void setAutoLockMinutes(int minutes);  // 0: never
  void setAutoLockIntervalMs(int ms);     // the same at a finer grain (tests)
  QString lockStateText() const;
  QString messageText() const;

 protected:
  void showEvent(QShowEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  // Construction steps, in the order the constructor takes them.
  void buildAddressCard(QVBoxLayout* page_layout);
  QLabel* buildDelegationLine(QWidget* card);
  QHBoxLayout* buildAddressButtons(QWidget* card);
  void buildBalancesCard(QVBoxLayout* page_layout);
  void buildKeysCard(QVBoxLayout* page_layout);
  void buildWatchingCard(QVBoxLayout* page_layout);
  QHBoxLayout* buildWatchInputs(QWidget* card);
  void setUpAutoLock();
  void connectWallet();

  void refresh();
  void onUnlockClicked();
  void onExport();
  void onBackup();
  void onAddWords();
  void showWords(const QStringList& words, bool needs_passphrase);
  void onChangePassword();
  void showMessage(const QString& text, bool error);

  WalletService* wallet_;
  LedgerService* ledger_;
  WatchService* watch_;
  WordsDialog* words_dialog_ = nullptr;
  QPushButton* backup_ = nullptr;
  QLineEdit* watch_address_ = nullptr;
  QLineEdit* watch_label_ = nullptr;
  QLabel* watch_message_ = nullptr;
  QTableView* watch_table_ = nullptr;
  BalancesModel* balances_ = nullptr;
  QLabel* address_ = nullptr;
  QLabel* qr_ = nullptr;
  QLabel* lock_state_ = nullptr;
  QLabel* message_ = nullptr;
  QPushButton* lock_button_ = nullptr;
  QPushButton* copy_ = nullptr;
  QCheckBox* hide_ = nullptr;
  QComboBox* auto_lock_ = nullptr;
  QTableView* table_ = nullptr;
  QTimer auto_lock_timer_;
  int auto_lock_ms_ = 0;
  bool locking_for_inactivity_ = false;
};

}  // namespace tessera::ui
