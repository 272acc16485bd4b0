// First-run dialog (see first_run_dialog.h).
#include "ui/pages/first_run_dialog.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QStackedWidget>
#include <QVBoxLayout>

#include <sodium.h>

#include <algorithm>

#include "core/wallet/errors.h"
#include "ui/pages/page_helpers.h"
#include "ui/wallet_service.h"

namespace tessera::ui {

namespace {

QLabel* paragraph(const QString& text, QWidget* parent) {
  auto* label = new QLabel(text, parent);
  label->setWordWrap(true);
  label->setTextFormat(Qt::RichText);
  QFont font = label->font();
  font.setPointSizeF(font.pointSizeF() * 1.1);
  label->setFont(font);
  return label;
}

QVBoxLayout* pageLayout(QWidget* page, const QString& title) {
  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(12);
  auto* heading = new QLabel(title, page);
  heading->setObjectName(QStringLiteral("pageTitle"));
  heading->setWordWrap(true);
  layout->addWidget(heading);
  return layout;
}

}  // namespace

FirstRunDialog::FirstRunDialog(WalletService* wallet, QWidget* parent) : QDialog(parent), wallet_(wallet) {
  setObjectName(QStringLiteral("FirstRunDialog"));
  setWindowTitle(tr("Welcome to Tessera"));
  resize(760, 600);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(32, 28, 32, 20);
  stack_ = new QStackedWidget(this);
  stack_->setMaximumWidth(780);  // a readable line length, centred, however large the window
  stack_->addWidget(buildWelcome());
  stack_->addWidget(buildChoose());
  stack_->addWidget(buildWords());
  stack_->addWidget(buildConfirm());
  stack_->addWidget(buildRestoreWords());
  stack_->addWidget(buildRestoreFile());
  stack_->addWidget(buildPassword());
  stack_->addWidget(buildDone());
  layout->addWidget(stack_, 1, Qt::AlignHCenter);
  auto* buttons = new QHBoxLayout();
  back_ = new QPushButton(tr("Back"), this);
  back_->setObjectName(QStringLiteral("backButton"));
  next_ = new QPushButton(tr("Continue"), this);
  next_->setObjectName(QStringLiteral("primary"));
  next_->setDefault(true);
  buttons->addWidget(back_);
  buttons->addStretch();
  buttons->addWidget(next_);
  layout->addLayout(buttons);
  connect(back_, &QPushButton::clicked, this, &FirstRunDialog::back);
  connect(next_, &QPushButton::clicked, this, &FirstRunDialog::next);

  connect(wallet_, &WalletService::created, this, [this](const QString& address) {
    working_ = false;
    forgetWords();
    password_->clear();
    repeat_->clear();
    done_address_->setText(address);
    goTo(Done);
  });
  connect(wallet_, &WalletService::failed, this, [this](const QString& operation, const QString& message, bool) {
    if (!working_) return;
    working_ = false;
    password_error_->setText(tr("%1 failed: %2").arg(operation, message));
    updateButtons();
  });
  updateButtons();
}

FirstRunDialog::~FirstRunDialog() { forgetWords(); }

FirstRunDialog::Page FirstRunDialog::page() const { return static_cast<Page>(stack_->currentIndex()); }

void FirstRunDialog::goTo(Page page) {
  stack_->setCurrentIndex(page);
  updateButtons();
}

QWidget* FirstRunDialog::buildWelcome() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Give your computer's spare power to an open AI model"));
  layout->addWidget(paragraph(
      tr("<p>Tessera trains an open model together with thousands of other computers. Yours trains one slice of it "
         "(a <i>stage</i>) and passes its results to its neighbours.</p>"
         "<p><b>What runs, and when.</b> A background program, <code>tessera-node</code>, uses your GPU (or CPU) "
         "only while you allow it: you choose Light, Balanced or Full, and can limit it to when you are away, to "
         "certain hours, or to mains power. Nothing runs until you press <b>Start</b>.</p>"
         "<p><b>How warm it gets.</b> Under Full your GPU works as hard as in a game. Tessera pauses above the "
         "temperature you set (83 °C unless you change it) and resumes when it cools down.</p>"
         "<p><b>What leaves this computer.</b> The numbers your stage computes for its neighbours (activations of "
         "one model stage) and signed receipts of the work. Never your files, and nothing about you.</p>"
         "<p><b>What you get.</b> A verifiable share of the model and of the revenue its use brings in, paid to a "
         "wallet that only you control.</p>"
         "<p><b>Tessera will never ask for your wallet's words.</b> Anyone who does is trying to rob you.</p>"),
      page));
  layout->addStretch();
  return page;
}

QWidget* FirstRunDialog::buildChoose() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Your wallet"));
  layout->addWidget(paragraph(tr("What you earn goes to a wallet. It is created on this computer and protected by a "
                                 "password; 12 words are its backup."),
                              page));
  auto add = [&](const QString& name, const QString& title, const QString& detail, Mode mode, Page target) {
    auto* button = new QPushButton(page);
    button->setObjectName(name);
    button->setMinimumHeight(64);
    button->setText(title + QStringLiteral("\n") + detail);
    button->setStyleSheet(QStringLiteral("text-align: left; padding: 10px 16px;"));
    connect(button, &QPushButton::clicked, this, [this, mode, target] {
      mode_ = mode;
      if (mode == Mode::Create) {
        mnemonic_ = wallet::bip39::Mnemonic::generate(12);
        for (int i = 0; i < word_labels_.size(); ++i)
          word_labels_[i]->setText(QStringLiteral("%1. %2").arg(i + 1).arg(
              QString::fromLatin1(mnemonic_->word(static_cast<std::size_t>(i)).data(),
                                  static_cast<qsizetype>(mnemonic_->word(static_cast<std::size_t>(i)).size()))));
        written_down_->setChecked(false);
      }
      goTo(target);
    });
    layout->addWidget(button);
  };
  add(QStringLiteral("createWallet"), tr("Create a new wallet"), tr("Recommended if you are new to Tessera"),
      Mode::Create, Words);
  add(QStringLiteral("restoreWords"), tr("Restore from words"),
      tr("The 12 or 24 words of a wallet you already have (Tessera, Phantom, Solflare…)"), Mode::RestoreWords,
      RestoreWords);
  add(QStringLiteral("restoreFile"), tr("Import a Solana keypair file"), tr("A JSON file from solana-keygen"),
      Mode::RestoreFile, RestoreFile);
  layout->addStretch();
  return page;
}

QWidget* FirstRunDialog::buildWords() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Write these 12 words on paper"));
  layout->addWidget(paragraph(tr("They are the only way to restore your wallet if this computer is lost. Anyone who "
                                 "sees them can take what you earn. Tessera shows them <b>only this once</b> and "
                                 "will never ask for them again."),
                              page));
  auto* grid = new QGridLayout();
  grid->setSpacing(8);
  for (int i = 0; i < 12; ++i) {
    auto* label = new QLabel(page);
    label->setObjectName(QStringLiteral("wordCell"));
    label->setProperty("position", i);
    label->setMinimumWidth(150);
    word_labels_.push_back(label);
    grid->addWidget(label, i / 3, i % 3);
  }
  layout->addLayout(grid);
  written_down_ = new QCheckBox(tr("I have written the words down, in order"), page);
  written_down_->setObjectName(QStringLiteral("writtenDown"));
  connect(written_down_, &QCheckBox::toggled, this, &FirstRunDialog::updateButtons);
  layout->addWidget(written_down_);
  layout->addStretch();
  return page;
}

QWidget* FirstRunDialog::buildConfirm() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Check your copy"));
  layout->addWidget(paragraph(tr("Type these three words from your paper."), page));
  auto* grid = new QGridLayout();
  for (int i = 0; i < 3; ++i) {
    confirm_labels_[i] = new QLabel(page);
    confirm_edits_[static_cast<std::size_t>(i)] = new QLineEdit(page);
    confirm_edits_[static_cast<std::size_t>(i)]->setObjectName(QStringLiteral("confirm%1").arg(i));
    confirm_edits_[static_cast<std::size_t>(i)]->setMaximumWidth(240);
    grid->addWidget(confirm_labels_[static_cast<std::size_t>(i)], i, 0);
    grid->addWidget(confirm_edits_[static_cast<std::size_t>(i)], i, 1);
    connect(confirm_edits_[static_cast<std::size_t>(i)], &QLineEdit::textChanged, this, &FirstRunDialog::updateButtons);
  }
  grid->setColumnStretch(2, 1);
  layout->addLayout(grid);
  confirm_hint_ = makeMuted({}, page);
  layout->addWidget(confirm_hint_);
  layout->addStretch();
  return page;
}

QWidget* FirstRunDialog::buildRestoreWords() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Restore from words"));
  layout->addWidget(paragraph(tr("Type your 12 or 24 words, separated by spaces."), page));
  restore_words_ = new QPlainTextEdit(page);
  restore_words_->setObjectName(QStringLiteral("restoreWordsEdit"));
  restore_words_->setMaximumHeight(110);
  layout->addWidget(restore_words_);
  restore_passphrase_ = new QLineEdit(page);
  restore_passphrase_->setObjectName(QStringLiteral("restorePassphrase"));
  restore_passphrase_->setEchoMode(QLineEdit::Password);
  restore_passphrase_->setPlaceholderText(tr("Passphrase (\"25th word\"), only if your wallet has one"));
  layout->addWidget(restore_passphrase_);
  restore_hint_ = makeMuted({}, page);
  restore_hint_->setWordWrap(true);
  layout->addWidget(restore_hint_);
  connect(restore_words_, &QPlainTextEdit::textChanged, this, [this] {
    const auto text = secretFrom(restore_words_->toPlainText());
    try {
      wallet::bip39::Mnemonic::parse(text->span());
      restore_hint_->setText(tr("These words are valid."));
    } catch (const wallet::InvalidMnemonic& error) {
      restore_hint_->setText(QString::fromUtf8(error.what()));
    } catch (const std::exception& error) {
      restore_hint_->setText(QString::fromUtf8(error.what()));
    }
    updateButtons();
  });
  layout->addStretch();
  return page;
}

QWidget* FirstRunDialog::buildRestoreFile() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Import a Solana keypair file"));
  layout->addWidget(paragraph(tr("The file holds the private key itself: after the import, keep it somewhere safe or "
                                 "delete it."),
                              page));
  auto* row = new QHBoxLayout();
  auto* choose = new QPushButton(tr("Choose file…"), page);
  keypair_path_ = makeMuted(tr("No file chosen"), page);
  row->addWidget(choose);
  row->addWidget(keypair_path_, 1);
  layout->addLayout(row);
  connect(choose, &QPushButton::clicked, this, [this] {
    const QString file = QFileDialog::getOpenFileName(this, tr("Solana keypair file"), {}, tr("JSON (*.json)"));
    if (!file.isEmpty()) setKeypairFile(file);
  });
  layout->addStretch();
  return page;
}

QWidget* FirstRunDialog::buildPassword() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Choose a password"));
  layout->addWidget(paragraph(tr("It encrypts the wallet on this computer. You need it to export or move what you "
                                 "earn, not to contribute."),
                              page));
  password_ = new QLineEdit(page);
  repeat_ = new QLineEdit(page);
  password_->setObjectName(QStringLiteral("password"));
  repeat_->setObjectName(QStringLiteral("repeatPassword"));
  password_->setPlaceholderText(tr("Password"));
  repeat_->setPlaceholderText(tr("The same again"));
  for (auto* edit : {password_, repeat_}) {
    edit->setEchoMode(QLineEdit::Password);
    edit->setMaximumWidth(360);
    layout->addWidget(edit);
    connect(edit, &QLineEdit::textChanged, this, &FirstRunDialog::updateButtons);
  }
  strength_bar_ = new QProgressBar(page);
  strength_bar_->setRange(0, 4);
  strength_bar_->setTextVisible(false);
  strength_bar_->setMaximumWidth(360);
  strength_bar_->setMaximumHeight(8);
  layout->addWidget(strength_bar_);
  strength_hint_ = makeMuted({}, page);
  strength_hint_->setObjectName(QStringLiteral("strengthHint"));
  layout->addWidget(strength_hint_);
  password_error_ = new QLabel(page);
  password_error_->setObjectName(QStringLiteral("passwordError"));
  password_error_->setWordWrap(true);
  password_error_->setStyleSheet(QStringLiteral("color: #d64541;"));
  layout->addWidget(password_error_);
  layout->addStretch();
  return page;
}

QWidget* FirstRunDialog::buildDone() {
  auto* page = new QWidget(this);
  auto* layout = pageLayout(page, tr("Your wallet is ready"));
  done_address_ = new QLabel(page);
  done_address_->setObjectName(QStringLiteral("doneAddress"));
  done_address_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(paragraph(tr("Your address:"), page));
  layout->addWidget(done_address_);
  layout->addWidget(paragraph(tr("Contribution is <b>paused</b>. When you are ready, press <b>Start</b> on the Home "
                                 "page; you can pause at any time, and closing the window keeps Tessera in the tray."),
                              page));
  layout->addStretch();
  return page;
}

void FirstRunDialog::setKeypairFile(const QString& path) {
  keypair_file_ = path;
  keypair_path_->setText(path);
  updateButtons();
}

void FirstRunDialog::forgetWords() {
  mnemonic_.reset();
  for (auto* label : word_labels_) label->clear();
  for (auto* edit : confirm_edits_)
    if (edit != nullptr) edit->clear();
  if (restore_words_ != nullptr) restore_words_->clear();
  if (restore_passphrase_ != nullptr) restore_passphrase_->clear();
}

void FirstRunDialog::updateButtons() {
  const Page current = page();
  back_->setVisible(current != Welcome && current != Done);
  back_->setEnabled(!working_);
  next_->setText(current == Password ? (mode_ == Mode::Create ? tr("Create wallet") : tr("Restore wallet"))
                 : current == Done   ? tr("Finish")
                                     : tr("Continue"));
  bool ok = true;
  switch (current) {
    case Choose: ok = false; break;  // the three choices move on themselves
    case Words: ok = written_down_->isChecked(); break;
    case Confirm: {
      int right = 0;
      for (std::size_t i = 0; i < 3; ++i) {
        const auto expected = mnemonic_ ? mnemonic_->word(static_cast<std::size_t>(confirm_positions_[i]))
                                        : std::string_view();
        const QString typed = confirm_edits_[i]->text().trimmed().toLower();
        if (!expected.empty() && typed == QLatin1String(expected.data(), static_cast<qsizetype>(expected.size())))
          ++right;
      }
      ok = right == 3;
      confirm_hint_->setText(ok ? tr("All three match.") : tr("%1 of 3 match so far.").arg(right));
      break;
    }
    case RestoreWords: ok = restore_hint_->text() == tr("These words are valid."); break;
    case RestoreFile: ok = !keypair_file_.isEmpty(); break;
    case Password: {
      const auto strength = passwordStrength(password_->text());
      strength_bar_->setValue(strength.score);
      const bool match = password_->text() == repeat_->text();
      strength_hint_->setText(!repeat_->text().isEmpty() && !match ? tr("The two passwords differ.")
                                                                   : strength.hint);
      ok = !working_ && match && strength.score >= 1;
      break;
    }
    default: break;
  }
  next_->setEnabled(ok);
}

void FirstRunDialog::back() {
  switch (page()) {
    case Choose: goTo(Welcome); break;
    case Words:
    case RestoreWords:
    case RestoreFile: goTo(Choose); break;
    case Confirm: goTo(Words); break;
    case Password:
      goTo(mode_ == Mode::Create ? Confirm : mode_ == Mode::RestoreWords ? RestoreWords : RestoreFile);
      break;
    default: break;
  }
}

void FirstRunDialog::next() {
  switch (page()) {
    case Welcome: goTo(Choose); break;
    case Words: {
      // Three distinct positions, chosen at random.
      std::array<int, 12> order{};
      for (int i = 0; i < 12; ++i) order[static_cast<std::size_t>(i)] = i;
      for (int i = 11; i > 0; --i)
        std::swap(order[static_cast<std::size_t>(i)],
                  order[randombytes_uniform(static_cast<std::uint32_t>(i + 1))]);
      std::sort(order.begin(), order.begin() + 3);
      for (std::size_t i = 0; i < 3; ++i) {
        confirm_positions_[i] = order[i];
        confirm_labels_[i]->setText(tr("Word %1").arg(order[i] + 1));
        confirm_edits_[i]->setProperty("position", order[i]);
        confirm_edits_[i]->clear();
      }
      goTo(Confirm);
      break;
    }
    case Confirm:
    case RestoreWords:
    case RestoreFile: goTo(Password); break;
    case Password: startCreate(); break;
    case Done: accept(); break;
    default: break;
  }
}

void FirstRunDialog::startCreate() {
  working_ = true;
  password_error_->clear();
  strength_hint_->setText(tr("Encrypting your wallet (this takes a few seconds)…"));
  updateButtons();
  const auto password = secretFrom(password_->text());
  switch (mode_) {
    case Mode::Create: {
      auto sentence = std::make_shared<wallet::SecureBytes>(mnemonic_->sentence());
      wallet_->createFromWords(sentence, password);
      break;
    }
    case Mode::RestoreWords:
      wallet_->restoreFromWords(secretFrom(restore_words_->toPlainText()), secretFrom(restore_passphrase_->text()),
                                password);
      break;
    case Mode::RestoreFile: wallet_->restoreFromKeypairFile(keypair_file_, password); break;
  }
}

}  // namespace tessera::ui
