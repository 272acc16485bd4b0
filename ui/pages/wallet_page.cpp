// Wallet page (see wallet_page.h).
#include "ui/pages/wallet_page.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QLocale>
#include <QDialog>
#include <QDialogButtonBox>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QCloseEvent>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSettings>
#include <QTableView>

#include "ui/ledger_models.h"
#include "ui/pages/page_helpers.h"
#include "ui/qr_code.h"
#include "ui/wallet_service.h"
#include "ui/watch_service.h"

namespace tessera::ui {

WordsDialog::WordsDialog(const QStringList& words, bool needs_passphrase, QWidget* parent)
    : QWidget(parent, Qt::Dialog) {
  setObjectName(QStringLiteral("wordsDialog"));
  setWindowTitle(tr("Your wallet's words"));
  setAttribute(Qt::WA_DeleteOnClose);
  setWindowModality(Qt::WindowModal);
  auto* layout = new QVBoxLayout(this);
  layout->setSpacing(12);
  auto* warning = new QLabel(
      tr("<b>Anyone who sees these %1 words owns this wallet.</b> Write them on paper, in order, and keep it somewhere "
         "safe. Never type them into a website, a file, a photo or a message: Tessera will never ask you for them.")
          .arg(words.size()),
      this);
  warning->setObjectName(QStringLiteral("wordsWarning"));
  warning->setWordWrap(true);
  layout->addWidget(warning);
  grid_ = new QWidget(this);
  grid_->setObjectName(QStringLiteral("wordsGrid"));
  auto* grid = new QGridLayout(grid_);
  QFont mono(QStringLiteral("monospace"));
  mono.setStyleHint(QFont::Monospace);
  mono.setPointSizeF(mono.pointSizeF() * 1.2);
  const int rows = (static_cast<int>(words.size()) + 2) / 3;
  for (int i = 0; i < words.size(); ++i) {
    auto* label = new QLabel(QStringLiteral("%1. %2").arg(i + 1, 2).arg(words[i]), grid_);
    label->setFont(mono);
    label->setTextInteractionFlags(Qt::NoTextInteraction);  // no selection, so no copy
    label->setContextMenuPolicy(Qt::NoContextMenu);
    grid->addWidget(label, i % rows, i / rows);
    labels_ << label;
  }
  layout->addWidget(grid_);
  if (needs_passphrase) {
    auto* passphrase = new QLabel(tr("This wallet was restored with a BIP-39 passphrase: the words alone give another "
                                     "address. Keep the passphrase with them."),
                                  this);
    passphrase->setObjectName(QStringLiteral("passphraseNote"));
    passphrase->setWordWrap(true);
    layout->addWidget(passphrase);
  }
  auto* buttons = new QHBoxLayout();
  hide_ = new QPushButton(tr("Hide"), this);
  hide_->setObjectName(QStringLiteral("hideWords"));
  auto* close_button = new QPushButton(tr("Close"), this);
  close_button->setObjectName(QStringLiteral("closeWords"));
  buttons->addWidget(hide_);
  buttons->addStretch();
  buttons->addWidget(close_button);
  layout->addLayout(buttons);
  connect(hide_, &QPushButton::clicked, this, [this] { setWordsHidden(!wordsHidden()); });
  connect(close_button, &QPushButton::clicked, this, &QWidget::close);
  resize(560, 320);
}

WordsDialog::~WordsDialog() { wipe(); }

QStringList WordsDialog::shownWords() const {
  QStringList words;
  if (wordsHidden()) return words;
  for (auto* label : labels_) words << label->text().section(QLatin1Char(' '), -1);
  return words;
}

bool WordsDialog::wordsHidden() const { return grid_->isHidden(); }

void WordsDialog::setWordsHidden(bool hidden) {
  grid_->setHidden(hidden);
  hide_->setText(hidden ? tr("Show") : tr("Hide"));
}

void WordsDialog::closeEvent(QCloseEvent* event) {
  wipe();
  QWidget::closeEvent(event);
}

void WordsDialog::wipe() {
  for (auto* label : labels_) label->clear();
}

WalletPage::WalletPage(WalletService* wallet, LedgerService* ledger, WatchService* watch, QWidget* parent)
    : QWidget(parent), wallet_(wallet), ledger_(ledger), watch_(watch) {
  setObjectName(QStringLiteral("WalletPage"));
  balances_ = new BalancesModel(this);
  auto* content = makeScrollingPage(this);
  auto* layout = makePageLayout(content, tr("Wallet"));
  buildAddressCard(layout);
  buildBalancesCard(layout);
  buildKeysCard(layout);
  if (watch_ != nullptr) buildWatchingCard(layout);
  layout->addStretch();
  setUpAutoLock();
  connectWallet();
  refresh();
}

void WalletPage::buildAddressCard(QVBoxLayout* page_layout) {
  QVBoxLayout* top_layout = nullptr;
  auto* top = makeCard({}, &top_layout, this);
  auto* top_row = new QHBoxLayout();
  top_row->setSpacing(20);
  qr_ = new QLabel(top);
  qr_->setFixedSize(156, 156);
  qr_->setScaledContents(true);
  qr_->setObjectName(QStringLiteral("qrCode"));
  top_row->addWidget(qr_);
  auto* info = new QVBoxLayout();
  auto* address_title = new QLabel(tr("Your address"), top);
  address_title->setObjectName(QStringLiteral("sectionTitle"));
  address_ = new QLabel(top);
  address_->setObjectName(QStringLiteral("address"));
  address_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  QFont mono(QStringLiteral("monospace"));
  mono.setStyleHint(QFont::Monospace);
  address_->setFont(mono);
  address_->setWordWrap(true);
  auto* address_hint = makeMuted(
      tr("A Solana address: the same words restore it in Phantom, Solflare or Backpack. Tessera never asks for your "
         "words."),
      top);
  address_hint->setWordWrap(true);
  auto* delegation = buildDelegationLine(top);
  auto* buttons = buildAddressButtons(top);
  info->addWidget(address_title);
  info->addWidget(address_);
  info->addWidget(address_hint);
  info->addWidget(delegation);
  info->addStretch();
  info->addLayout(buttons);
  top_row->addLayout(info, 1);
  top_layout->addLayout(top_row);
  page_layout->addWidget(top);
}

QLabel* WalletPage::buildDelegationLine(QWidget* card) {
  auto* delegation = makeMuted({}, card);
  delegation->setObjectName(QStringLiteral("delegationLine"));
  delegation->setWordWrap(true);
  auto show_delegation = [delegation](qint64 expires_at) {
    if (expires_at <= 0) return;
    delegation->setText(tr("This computer's node works for this wallet until %1 (renewed when you unlock it in "
                           "the last week).")
                            .arg(QLocale().toString(QDateTime::fromSecsSinceEpoch(expires_at).date(),
                                                    QLocale::LongFormat)));
  };
  show_delegation(wallet_->delegationExpiresAt());
  connect(wallet_, &WalletService::delegated, delegation, show_delegation);
  return delegation;
}

QHBoxLayout* WalletPage::buildAddressButtons(QWidget* card) {
  auto* buttons = new QHBoxLayout();
  copy_ = new QPushButton(tr("Copy address"), card);
  copy_->setObjectName(QStringLiteral("copyButton"));
  lock_button_ = new QPushButton(card);
  lock_button_->setObjectName(QStringLiteral("lockButton"));
  lock_state_ = new QLabel(card);
  lock_state_->setObjectName(QStringLiteral("lockState"));
  buttons->addWidget(copy_);
  buttons->addWidget(lock_button_);
  buttons->addWidget(lock_state_);
  buttons->addStretch();
  connect(copy_, &QPushButton::clicked, this, [this] {
    QApplication::clipboard()->setText(wallet_->address());
    showMessage(tr("Address copied."), false);
  });
  connect(lock_button_, &QPushButton::clicked, this, &WalletPage::onUnlockClicked);
  return buttons;
}

void WalletPage::buildBalancesCard(QVBoxLayout* page_layout) {
  QVBoxLayout* balance_layout = nullptr;
  auto* balance_card = makeCard({}, &balance_layout, this);
  auto* balance_head = new QHBoxLayout();
  auto* balance_title = new QLabel(tr("Balances"), balance_card);
  balance_title->setObjectName(QStringLiteral("sectionTitle"));
  hide_ = new QCheckBox(tr("Hide balances"), balance_card);
  hide_->setObjectName(QStringLiteral("hideBalances"));
  balance_head->addWidget(balance_title);
  balance_head->addStretch();
  balance_head->addWidget(hide_);
  balance_layout->addLayout(balance_head);
  table_ = new QTableView(balance_card);
  table_->setModel(balances_);
  table_->verticalHeader()->setVisible(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->setSelectionMode(QAbstractItemView::NoSelection);
  table_->setMinimumHeight(120);
  table_->setMaximumHeight(220);
  balance_layout->addWidget(table_);
  balance_layout->addWidget(makeMuted(
      tr("Verified revenue is confirmed by a signed hub statement and can be claimed; accrued revenue waits for the "
         "next statement."),
      balance_card));
  page_layout->addWidget(balance_card);
  QSettings settings;
  hide_->setChecked(settings.value(QStringLiteral("wallet/hideBalances"), false).toBool());
  balances_->setHidden(hide_->isChecked());
  connect(hide_, &QCheckBox::toggled, this, [this](bool hidden) {
    balances_->setHidden(hidden);
    if (watch_ != nullptr) watch_->model()->setHidden(hidden);
    QSettings().setValue(QStringLiteral("wallet/hideBalances"), hidden);
  });
}

void WalletPage::buildKeysCard(QVBoxLayout* page_layout) {
  QVBoxLayout* safety_layout = nullptr;
  auto* safety = makeCard(tr("Keys"), &safety_layout, this);
  auto* safety_row = new QHBoxLayout();
  backup_ = new QPushButton(tr("Back up words…"), safety);
  backup_->setObjectName(QStringLiteral("backupWords"));
  backup_->setToolTip(tr("Shows your wallet's words again after the password, to write them on paper"));
  safety_row->addWidget(backup_);
  auto* export_button = new QPushButton(tr("Export keypair file…"), safety);
  export_button->setObjectName(QStringLiteral("exportKeypair"));
  export_button->setToolTip(tr("A Solana keypair file (solana-keygen format): anyone holding it controls the wallet"));
  auto* change = new QPushButton(tr("Change password…"), safety);
  change->setObjectName(QStringLiteral("changePassword"));
  auto_lock_ = new QComboBox(safety);
  auto_lock_->setObjectName(QStringLiteral("autoLock"));
  auto_lock_->addItem(tr("Lock after 5 minutes idle"), 5);
  auto_lock_->addItem(tr("Lock after 15 minutes idle"), 15);
  auto_lock_->addItem(tr("Lock after 1 hour idle"), 60);
  auto_lock_->addItem(tr("Never lock automatically"), 0);
  safety_row->addWidget(export_button);
  safety_row->addWidget(change);
  safety_row->addStretch();
  safety_row->addWidget(auto_lock_);
  safety_layout->addLayout(safety_row);
  message_ = new QLabel(safety);
  message_->setObjectName(QStringLiteral("walletMessage"));
  message_->setWordWrap(true);
  safety_layout->addWidget(message_);
  page_layout->addWidget(safety);
  connect(backup_, &QPushButton::clicked, this, &WalletPage::onBackup);
  connect(export_button, &QPushButton::clicked, this, &WalletPage::onExport);
  connect(change, &QPushButton::clicked, this, &WalletPage::onChangePassword);
}

void WalletPage::buildWatchingCard(QVBoxLayout* page_layout) {
  QVBoxLayout* watch_layout = nullptr;
  auto* watching = makeCard(tr("Watching"), &watch_layout, this);
  auto* watch_hint = makeMuted(
      tr("Follow any address's verified ownership and revenue from the hub's signed statements, without its keys. "
         "Figures are shown only when the hub's signature and the address's Merkle proof verify."),
      watching);
  watch_hint->setWordWrap(true);
  watch_layout->addWidget(watch_hint);
  watch_layout->addLayout(buildWatchInputs(watching));
  watch_table_ = new QTableView(watching);
  watch_table_->setObjectName(QStringLiteral("watchTable"));
  watch_table_->setModel(watch_->model());
  watch_table_->verticalHeader()->setVisible(false);
  watch_table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  watch_table_->horizontalHeader()->setStretchLastSection(true);
  watch_table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  watch_table_->setSelectionMode(QAbstractItemView::SingleSelection);
  watch_table_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
  watch_table_->setMinimumHeight(120);
  watch_table_->setMaximumHeight(240);
  watch_layout->addWidget(watch_table_);
  watch_message_ = new QLabel(watching);
  watch_message_->setObjectName(QStringLiteral("watchMessage"));
  watch_message_->setWordWrap(true);
  watch_layout->addWidget(watch_message_);
  page_layout->addWidget(watching);
  watch_->model()->setHidden(hide_->isChecked());
  connect(watch_, &WatchService::checked, this, [this](const WatchSnapshot& snapshot) {
    if (snapshot.checks.isEmpty()) return;
    const QString at = QLocale().toString(snapshot.checked_at.time(), QLocale::ShortFormat);
    watch_message_->setText(snapshot.hub_url.isEmpty() ? snapshot.checks.front().message
                                                       : tr("Checked with %1 at %2.").arg(snapshot.hub_url, at));
  });
}

QHBoxLayout* WalletPage::buildWatchInputs(QWidget* card) {
  auto* add_row = new QHBoxLayout();
  watch_address_ = new QLineEdit(card);
  watch_address_->setObjectName(QStringLiteral("watchAddress"));
  watch_address_->setPlaceholderText(tr("Solana address to watch"));
  watch_label_ = new QLineEdit(card);
  watch_label_->setObjectName(QStringLiteral("watchLabel"));
  watch_label_->setPlaceholderText(tr("Label (optional)"));
  watch_label_->setMaximumWidth(220);
  auto* add = new QPushButton(tr("Watch"), card);
  add->setObjectName(QStringLiteral("watchAdd"));
  auto* remove = new QPushButton(tr("Remove"), card);
  remove->setObjectName(QStringLiteral("watchRemove"));
  auto* check = new QPushButton(tr("Check now"), card);
  check->setObjectName(QStringLiteral("watchRefresh"));
  add_row->addWidget(watch_address_, 2);
  add_row->addWidget(watch_label_, 1);
  add_row->addWidget(add);
  add_row->addWidget(remove);
  add_row->addWidget(check);
  const auto add_current = [this] {
    if (addWatched(watch_address_->text(), watch_label_->text())) {
      watch_address_->clear();
      watch_label_->clear();
    }
  };
  connect(add, &QPushButton::clicked, this, add_current);
  connect(watch_address_, &QLineEdit::returnPressed, this, add_current);
  connect(remove, &QPushButton::clicked, this, [this] {
    const auto rows = watch_table_->selectionModel()->selectedRows();
    if (rows.isEmpty()) {
      watch_message_->setText(tr("Select an address in the list to remove it."));
      return;
    }
    watch_->model()->remove(rows.front().row());
    watch_message_->clear();
  });
  connect(check, &QPushButton::clicked, watch_, &WatchService::refresh);
  return add_row;
}

void WalletPage::setUpAutoLock() {
  auto_lock_timer_.setSingleShot(true);
  connect(&auto_lock_timer_, &QTimer::timeout, this, [this] {
    if (wallet_->isUnlocked()) {
      locking_for_inactivity_ = true;
      wallet_->lock();
    }
  });
  const int minutes = QSettings().value(QStringLiteral("wallet/autoLockMinutes"), 15).toInt();
  auto_lock_->setCurrentIndex(std::max(0, auto_lock_->findData(minutes)));
  setAutoLockMinutes(minutes);
  connect(auto_lock_, &QComboBox::currentIndexChanged, this, [this](int) {
    const int m = auto_lock_->currentData().toInt();
    QSettings().setValue(QStringLiteral("wallet/autoLockMinutes"), m);
    setAutoLockMinutes(m);
  });
  qApp->installEventFilter(this);
}

void WalletPage::connectWallet() {
  connect(wallet_, &WalletService::wordsRevealed, this, [this](const Secret& sentence, bool needs_passphrase) {
    // The words become label text only for as long as the dialog shows them.
    QStringList words = QString::fromUtf8(reinterpret_cast<const char*>(sentence->data()),
                                          static_cast<qsizetype>(sentence->size()))
                            .split(QLatin1Char(' '), Qt::SkipEmptyParts);
    showWords(words, needs_passphrase);
    for (auto& word : words) word.fill(QLatin1Char(' '));
    sentence->wipe();
  });
  connect(wallet_, &WalletService::changed, this, &WalletPage::refresh);
  connect(wallet_, &WalletService::unlocked, this, [this] {
    showMessage(tr("Unlocked."), false);
    if (auto_lock_ms_ > 0) auto_lock_timer_.start();
  });
  connect(wallet_, &WalletService::locked, this, [this] {
    showMessage(locking_for_inactivity_ ? tr("Locked after inactivity.") : tr("Locked."), false);
    locking_for_inactivity_ = false;
  });
  connect(wallet_, &WalletService::failed, this, [this](const QString& operation, const QString& message, bool) {
    showMessage(tr("%1: %2").arg(operation, message), true);
  });
  connect(wallet_, &WalletService::wordsAdded, this, [this] {
    showMessage(tr("Tessera now keeps this wallet's words, encrypted: Back up words… shows them after the password."),
                false);
  });
  connect(wallet_, &WalletService::passwordChanged, this, [this] { showMessage(tr("Password changed."), false); });
  connect(wallet_, &WalletService::exported, this,
          [this](const QString& path) { showMessage(tr("Keypair file written to %1. Keep it secret.").arg(path), false); });
  if (ledger_ != nullptr)
    connect(ledger_, &LedgerService::dashboardLoaded, this, [this](const DashboardSnapshot& snapshot) {
      balances_->setSnapshot(snapshot);
    });
}

void WalletPage::showEvent(QShowEvent* event) {
  if (ledger_ != nullptr) ledger_->loadDashboard(ledger::Span::AllTime);
  QWidget::showEvent(event);
}

bool WalletPage::eventFilter(QObject* watched, QEvent* event) {
  switch (event->type()) {
    case QEvent::KeyPress:
    case QEvent::MouseButtonPress:
    case QEvent::MouseMove:
    case QEvent::Wheel:
      if (auto_lock_timer_.isActive()) auto_lock_timer_.start();  // restart the idle clock
      break;
    default: break;
  }
  return QWidget::eventFilter(watched, event);
}

void WalletPage::setAutoLockMinutes(int minutes) { setAutoLockIntervalMs(minutes * 60'000); }

void WalletPage::setAutoLockIntervalMs(int ms) {
  auto_lock_ms_ = ms;
  if (ms <= 0) {
    auto_lock_timer_.stop();
    return;
  }
  auto_lock_timer_.setInterval(ms);
  if (wallet_->isUnlocked()) auto_lock_timer_.start();
}

QString WalletPage::lockStateText() const { return lock_state_->text(); }
QString WalletPage::messageText() const { return message_->text(); }

void WalletPage::showMessage(const QString& text, bool error) {
  message_->setText(text);
  message_->setStyleSheet(error ? QStringLiteral("color: #d64541;") : QString());
}

void WalletPage::refresh() {
  const bool exists = wallet_->exists();
  address_->setText(exists ? wallet_->address() : tr("No wallet yet"));
  qr_->setPixmap(exists ? QPixmap::fromImage(qrCodeImage(wallet_->address(), 4)) : QPixmap());
  copy_->setEnabled(exists);
  backup_->setEnabled(exists && !wallet_->isBusy());
  lock_button_->setEnabled(exists && !wallet_->isBusy());
  lock_button_->setText(wallet_->isUnlocked() ? tr("Lock") : tr("Unlock…"));
  lock_state_->setText(wallet_->isBusy() ? tr("Working…") : wallet_->isUnlocked() ? tr("Unlocked") : tr("Locked"));
}

void WalletPage::unlockWith(const QString& password) { wallet_->unlock(secretFrom(password)); }

void WalletPage::backupWith(const QString& password) { wallet_->revealWords(secretFrom(password)); }

WatchModel* WalletPage::watchModel() const { return watch_ != nullptr ? watch_->model() : nullptr; }

QString WalletPage::watchMessageText() const { return watch_message_ != nullptr ? watch_message_->text() : QString(); }

bool WalletPage::addWatched(const QString& address, const QString& label) {
  if (watch_ == nullptr) return false;
  QString error;
  if (!watch_->model()->add(address, label, &error)) {
    watch_message_->setText(error);
    watch_message_->setStyleSheet(QStringLiteral("color: #d64541;"));
    return false;
  }
  watch_message_->setStyleSheet({});
  watch_message_->setText(watch_->hubUrl().isEmpty() ? tr("Added. Set a hub URL in Settings to follow it.")
                                                     : tr("Added; checking with %1…").arg(watch_->hubUrl()));
  return true;
}

void WalletPage::onBackup() {
  if (!wallet_->exists()) return;
  if (wallet_->wordsAvailability() != wallet::WordsAvailability::Stored) {
    QMessageBox box(QMessageBox::Information, tr("Back up"), wallet_->whyNoWords(), QMessageBox::Close, this);
    box.setObjectName(QStringLiteral("noWordsBox"));
    auto* export_instead = box.addButton(tr("Export keypair file…"), QMessageBox::AcceptRole);
    QAbstractButton* have_words = nullptr;
    if (wallet_->wordsAvailability() == wallet::WordsAvailability::SeedOnly)
      have_words = box.addButton(tr("I have my words…"), QMessageBox::ActionRole);
    box.exec();
    if (box.clickedButton() == export_instead) onExport();
    if (have_words != nullptr && box.clickedButton() == have_words) onAddWords();
    return;
  }
  bool ok = false;
  const QString password = QInputDialog::getText(
      this, tr("Back up words"), tr("Wallet password (the words give full control of the wallet):"),
      QLineEdit::Password, {}, &ok);
  if (ok && !password.isEmpty()) backupWith(password);
}

void WalletPage::addWordsWith(const QString& words, const QString& password) {
  wallet_->addWords(secretFrom(words), secretFrom(password));
}

void WalletPage::onAddWords() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Keep your words"));
  auto* form = new QFormLayout(&dialog);
  auto* intro = new QLabel(tr("Type this wallet's words (in order, separated by spaces) and its password. Tessera then "
                              "keeps them encrypted with the key, and Back up words… can show them again."),
                           &dialog);
  intro->setWordWrap(true);
  form->addRow(intro);
  auto* words = new QLineEdit(&dialog);
  words->setObjectName(QStringLiteral("wordsInput"));
  words->setEchoMode(QLineEdit::Password);
  auto* password = new QLineEdit(&dialog);
  password->setObjectName(QStringLiteral("passwordInput"));
  password->setEchoMode(QLineEdit::Password);
  form->addRow(tr("Words"), words);
  form->addRow(tr("Wallet password"), password);
  auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  form->addRow(box);
  connect(box, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(box, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() == QDialog::Accepted && !words->text().isEmpty() && !password->text().isEmpty())
    addWordsWith(words->text(), password->text());
  words->clear();
}

void WalletPage::showWords(const QStringList& words, bool needs_passphrase) {
  if (words_dialog_ != nullptr) words_dialog_->close();
  words_dialog_ = new WordsDialog(words, needs_passphrase, this);
  connect(words_dialog_, &QObject::destroyed, this, [this, dialog = words_dialog_] {
    if (words_dialog_ == dialog) words_dialog_ = nullptr;
  });
  showMessage(tr("Your words are shown in a separate window; close it when you have written them down."), false);
  words_dialog_->show();
}

void WalletPage::onUnlockClicked() {
  if (wallet_->isUnlocked()) {
    wallet_->lock();
    return;
  }
  bool ok = false;
  const QString password =
      QInputDialog::getText(this, tr("Unlock wallet"), tr("Wallet password:"), QLineEdit::Password, {}, &ok);
  if (ok && !password.isEmpty()) unlockWith(password);
}

void WalletPage::onExport() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Export Solana keypair file"),
                                                    QStringLiteral("tessera-keypair.json"), tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  bool ok = false;
  const QString password = QInputDialog::getText(this, tr("Export keypair file"),
                                                 tr("Wallet password (the file gives full control of the wallet):"),
                                                 QLineEdit::Password, {}, &ok);
  if (ok && !password.isEmpty()) wallet_->exportKeypair(path, secretFrom(password));
}

void WalletPage::onChangePassword() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Change password"));
  auto* form = new QFormLayout(&dialog);
  auto* old_password = new QLineEdit(&dialog);
  auto* new_password = new QLineEdit(&dialog);
  auto* repeat = new QLineEdit(&dialog);
  for (auto* edit : {old_password, new_password, repeat}) edit->setEchoMode(QLineEdit::Password);
  auto* hint = makeMuted({}, &dialog);
  form->addRow(tr("Current password"), old_password);
  form->addRow(tr("New password"), new_password);
  form->addRow(tr("Repeat"), repeat);
  form->addRow({}, hint);
  auto* box = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  form->addRow(box);
  auto check = [&] {
    const auto strength = passwordStrength(new_password->text());
    const bool match = new_password->text() == repeat->text();
    hint->setText(match ? strength.hint : tr("The passwords differ."));
    box->button(QDialogButtonBox::Ok)->setEnabled(match && strength.score >= 1 && !old_password->text().isEmpty());
  };
  for (auto* edit : {old_password, new_password, repeat}) connect(edit, &QLineEdit::textChanged, &dialog, check);
  check();
  connect(box, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(box, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() == QDialog::Accepted)
    wallet_->changePassword(secretFrom(old_password->text()), secretFrom(new_password->text()));
}

}  // namespace tessera::ui
