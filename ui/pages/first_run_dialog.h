// First run: a plain-language page on what Tessera does, then a wallet: create (the words shown
// once, confirmed by retyping three chosen ones, then a password with a strength hint) or restore
// (from words, or a Solana keypair file). The keystore work runs on WalletService's worker.
// Contribution starts paused: nothing runs until the user presses Start on Home.
#pragma once

#include <QDialog>

#include <array>
#include <optional>

#include "core/wallet/bip39.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QStackedWidget;

namespace tessera::ui {

class WalletService;

class FirstRunDialog : public QDialog {
  Q_OBJECT

 public:
  enum Page { Welcome, Choose, Words, Confirm, RestoreWords, RestoreFile, Password, Done, PageCount };
  Q_ENUM(Page)

  FirstRunDialog(WalletService* wallet, QWidget* parent = nullptr);
  ~FirstRunDialog() override;

  Page page() const;
  void goTo(Page page);
  // The three positions (0-based) the user must retype, for tests and the confirm page.
  std::array<int, 3> confirmPositions() const { return confirm_positions_; }
  // The keypair file to import (what the file chooser sets).
  void setKeypairFile(const QString& path);

 private:
  enum class Mode { Create, RestoreWords, RestoreFile };
  QWidget* buildWelcome();
  QWidget* buildChoose();
  QWidget* buildWords();
  QWidget* buildConfirm();
  QWidget* buildRestoreWords();
  QWidget* buildRestoreFile();
  QWidget* buildPassword();
  QWidget* buildDone();
  void next();
  void back();
  void updateButtons();
  void startCreate();
  void forgetWords();

  WalletService* wallet_;
  Mode mode_ = Mode::Create;
  QStackedWidget* stack_ = nullptr;
  QPushButton* back_ = nullptr;
  QPushButton* next_ = nullptr;
  std::optional<wallet::bip39::Mnemonic> mnemonic_;
  std::array<int, 3> confirm_positions_{0, 1, 2};
  QList<QLabel*> word_labels_;
  QCheckBox* written_down_ = nullptr;
  std::array<QLineEdit*, 3> confirm_edits_{};
  std::array<QLabel*, 3> confirm_labels_{};
  QLabel* confirm_hint_ = nullptr;
  QPlainTextEdit* restore_words_ = nullptr;
  QLineEdit* restore_passphrase_ = nullptr;
  QLabel* restore_hint_ = nullptr;
  QLabel* keypair_path_ = nullptr;
  QString keypair_file_;
  QLineEdit* password_ = nullptr;
  QLineEdit* repeat_ = nullptr;
  QProgressBar* strength_bar_ = nullptr;
  QLabel* strength_hint_ = nullptr;
  QLabel* password_error_ = nullptr;
  QLabel* done_address_ = nullptr;
  bool working_ = false;
};

}  // namespace tessera::ui
