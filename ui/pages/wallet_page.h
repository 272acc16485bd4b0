// Wallet: address with QR code and copy, balances per run (hide-balances toggle), lock/unlock,
// export of the Solana keypair file, change password, auto-lock after inactivity. Every keystore
// call runs on WalletService's worker.
#pragma once

#include <QTimer>
#include <QWidget>

#include "ui/ledger_service.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;
class QTableView;

namespace tessera::ui {

class BalancesModel;
class WalletService;

class WalletPage : public QWidget {
  Q_OBJECT

 public:
  WalletPage(WalletService* wallet, LedgerService* ledger, QWidget* parent = nullptr);

  BalancesModel* balancesModel() const { return balances_; }
  // Driven by the dialogs, and by tests directly.
  void unlockWith(const QString& password);
  void setAutoLockMinutes(int minutes);  // 0: never
  void setAutoLockIntervalMs(int ms);     // the same at a finer grain (tests)
  QString lockStateText() const;
  QString messageText() const;

 protected:
  void showEvent(QShowEvent* event) override;
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void refresh();
  void onUnlockClicked();
  void onExport();
  void onChangePassword();
  void showMessage(const QString& text, bool error);

  WalletService* wallet_;
  LedgerService* ledger_;
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
