// Keystore operations on a worker thread (see wallet_service.h).
#include "ui/wallet_service.h"

#include <QDateTime>
#include <QSet>

#include <sodium.h>

#include <cmath>
#include <fstream>

#include "core/wallet/bip39.h"
#include "core/wallet/delegation.h"
#include "core/wallet/errors.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/slip10.h"

namespace tessera::ui {

Secret secretFrom(const QString& text) {
  QByteArray utf8 = text.toUtf8();
  auto secret = std::make_shared<wallet::SecureBytes>(
      wallet::SecureBytes::copy_of({reinterpret_cast<const std::uint8_t*>(utf8.constData()),
                                    static_cast<std::size_t>(utf8.size())}));
  sodium_memzero(utf8.data(), static_cast<std::size_t>(utf8.size()));
  return secret;
}

void WalletWorker::fail(const QString& operation, const std::exception& error) {
  const bool wrong = dynamic_cast<const wallet::WrongPassword*>(&error) != nullptr;
  Q_EMIT failed(operation, wrong ? tr("Wrong password.") : QString::fromUtf8(error.what()), wrong);
}

void WalletWorker::probe() {
  try {
    if (!store_) store_ = wallet::Keystore::open(file_.toStdString());
    reportWords();
    Q_EMIT present(QString::fromStdString(store_->address()), store_->is_unlocked());
  } catch (const wallet::WalletError& error) {
    std::error_code ec;
    if (!std::filesystem::exists(file_.toStdString(), ec)) {
      Q_EMIT absent();
      return;
    }
    fail(tr("Open wallet"), error);
  } catch (const std::exception& error) {
    fail(tr("Open wallet"), error);
  }
}

void WalletWorker::reportWords() {
  if (!store_) return;
  Q_EMIT wordsInfo(static_cast<int>(store_->words_availability()), static_cast<int>(store_->word_count().value_or(0)),
                   QString::fromStdString(store_->why_no_words()));
}

void WalletWorker::created_store(wallet::Keystore store) {
  store_ = std::move(store);
  reportWords();
  ensureDelegation();  // before `created`, so whoever hears it finds the delegation written
  Q_EMIT created(QString::fromStdString(store_->address()));
}

void WalletWorker::ensureDelegation() {
  constexpr std::int64_t kValidity = 90 * 86400;  // renewed on any unlock in its last week
  constexpr std::int64_t kRenewWithin = 7 * 86400;
  if (!store_ || !store_->is_unlocked()) return;
  try {
    const std::filesystem::path dir = std::filesystem::path(file_.toStdString()).parent_path();
    const auto node = wallet::load_or_create_node_key(dir / wallet::kNodeKeyFileName);
    const auto file = dir / "delegation.json";
    const std::int64_t now = QDateTime::currentSecsSinceEpoch();
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) {
      try {
        std::ifstream in(file);
        const auto current = wallet::Delegation::from_json(nlohmann::json::parse(in));
        if (current.owner_address == store_->address() &&
            wallet::verify_delegation(current, node.public_key(), wallet::kAnyRun, now + kRenewWithin) ==
                wallet::DelegationStatus::Valid) {
          Q_EMIT delegated(current.expires_at);
          return;
        }
      } catch (const std::exception&) {
        // Unreadable or for another wallet: replaced below.
      }
    }
    const auto delegation = wallet::sign_delegation(store_->owner_key(), node.public_key(), wallet::kAnyRun,
                                                    now + kValidity);
    const auto text = delegation.to_json().dump(2) + "\n";
    wallet::write_file_atomic(file, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
    Q_EMIT delegated(delegation.expires_at);
  } catch (const std::exception& error) {
    Q_EMIT delegationFailed(QString::fromUtf8(error.what()));
  }
}

void WalletWorker::createFromWords(const Secret& words, const Secret& password) {
  try {
    const auto mnemonic = wallet::bip39::Mnemonic::parse(words->span());
    created_store(wallet::Keystore::create_from_mnemonic(file_.toStdString(), mnemonic, {},
                                                         wallet::DerivationPath::solana(0), password->span(), limits_));
  } catch (const std::exception& error) {
    fail(tr("Create wallet"), error);
  }
}

void WalletWorker::restoreFromWords(const Secret& words, const Secret& passphrase, const Secret& password) {
  try {
    const auto mnemonic = wallet::bip39::Mnemonic::parse(words->span());
    created_store(wallet::Keystore::create_from_mnemonic(file_.toStdString(), mnemonic, passphrase->span(),
                                                         wallet::DerivationPath::solana(0), password->span(), limits_));
  } catch (const std::exception& error) {
    fail(tr("Restore wallet"), error);
  }
}

void WalletWorker::restoreFromKeypairFile(const QString& path, const Secret& password) {
  try {
    const auto key = wallet::read_solana_keypair_file(path.toStdString());
    created_store(wallet::Keystore::create_from_keypair(file_.toStdString(), key, password->span(), limits_));
  } catch (const std::exception& error) {
    fail(tr("Import keypair file"), error);
  }
}

void WalletWorker::unlock(const Secret& password) {
  try {
    if (!store_) store_ = wallet::Keystore::open(file_.toStdString());
    store_->unlock(password->span());
    reportWords();
    ensureDelegation();
    Q_EMIT unlocked(QString::fromStdString(store_->address()));
  } catch (const std::exception& error) {
    fail(tr("Unlock"), error);
  }
}

void WalletWorker::lock() {
  if (store_) store_->lock();
  Q_EMIT locked();
}

void WalletWorker::changePassword(const Secret& old_password, const Secret& new_password) {
  try {
    if (!store_) store_ = wallet::Keystore::open(file_.toStdString());
    const bool was_unlocked = store_->is_unlocked();
    store_->unlock(old_password->span());  // the proof of the old password, even when unlocked
    store_->change_password(new_password->span(), limits_);
    if (!was_unlocked) store_->lock();
    Q_EMIT passwordChanged();
  } catch (const std::exception& error) {
    fail(tr("Change password"), error);
  }
}

void WalletWorker::exportKeypair(const QString& path, const Secret& password) {
  try {
    if (!store_) store_ = wallet::Keystore::open(file_.toStdString());
    const bool was_unlocked = store_->is_unlocked();
    store_->unlock(password->span());
    wallet::write_solana_keypair_file(path.toStdString(), store_->owner_key(), /*replace=*/false);
    if (!was_unlocked) store_->lock();
    Q_EMIT exported(path);
  } catch (const std::exception& error) {
    fail(tr("Export keypair file"), error);
  }
}

void WalletWorker::revealWords(const Secret& password) {
  try {
    if (!store_) store_ = wallet::Keystore::open(file_.toStdString());
    reportWords();
    const auto revealed = store_->reveal_words(password->span());
    Q_EMIT wordsRevealed(std::make_shared<wallet::SecureBytes>(revealed.mnemonic.sentence()), revealed.needs_passphrase);
  } catch (const std::exception& error) {
    fail(tr("Back up"), error);
  }
}

void WalletWorker::addWords(const Secret& words, const Secret& password) {
  try {
    if (!store_) store_ = wallet::Keystore::open(file_.toStdString());
    const auto mnemonic = wallet::bip39::Mnemonic::parse(words->span());
    store_->add_words(mnemonic, {}, password->span());
    reportWords();
    Q_EMIT wordsAdded();
  } catch (const std::exception& error) {
    fail(tr("Add words"), error);
  }
}

WalletService::WalletService(QString file, wallet::KdfLimits limits, QObject* parent)
    : QObject(parent), file_(std::move(file)) {
  worker_ = new WalletWorker(file_, limits);
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.setObjectName(QStringLiteral("wallet"));
  thread_.start();
  auto done = [this] {
    --busy_;
    Q_EMIT changed();
  };
  connect(worker_, &WalletWorker::present, this, [this, done](const QString& address, bool is_unlocked) {
    address_ = address;
    unlocked_ = is_unlocked;
    done();
  });
  connect(worker_, &WalletWorker::absent, this, [this, done] {
    address_.clear();
    unlocked_ = false;
    done();
  });
  connect(worker_, &WalletWorker::created, this, [this, done](const QString& address) {
    address_ = address;
    unlocked_ = true;
    done();
    Q_EMIT created(address);
  });
  connect(worker_, &WalletWorker::unlocked, this, [this, done](const QString& address) {
    address_ = address;
    unlocked_ = true;
    done();
    Q_EMIT unlocked();
  });
  connect(worker_, &WalletWorker::locked, this, [this, done] {
    unlocked_ = false;
    done();
    Q_EMIT locked();
  });
  connect(worker_, &WalletWorker::passwordChanged, this, [this, done] {
    done();
    Q_EMIT passwordChanged();
  });
  connect(worker_, &WalletWorker::exported, this, [this, done](const QString& path) {
    done();
    Q_EMIT exported(path);
  });
  connect(worker_, &WalletWorker::wordsInfo, this, [this](int availability, int word_count, const QString& why_not) {
    words_availability_ = static_cast<wallet::WordsAvailability>(availability);
    word_count_ = word_count;
    why_no_words_ = why_not;
  });
  connect(worker_, &WalletWorker::wordsRevealed, this,
          [this, done](const Secret& sentence, bool needs_passphrase) {
            done();
            Q_EMIT wordsRevealed(sentence, needs_passphrase);
          });
  connect(worker_, &WalletWorker::wordsAdded, this, [this, done] {
    done();
    Q_EMIT wordsAdded();
  });
  connect(worker_, &WalletWorker::delegated, this, [this](qint64 expires_at) {
    delegation_expires_at_ = expires_at;
    Q_EMIT delegated(expires_at);
  });
  connect(worker_, &WalletWorker::delegationFailed, this, [this](const QString& message) {
    Q_EMIT failed(tr("Delegate this computer"), message, false);  // not an operation of its own: busy_ stays
  });
  connect(worker_, &WalletWorker::failed, this,
          [this, done](const QString& operation, const QString& message, bool wrong_password) {
            done();
            Q_EMIT failed(operation, message, wrong_password);
          });
}

WalletService::~WalletService() {
  thread_.quit();
  thread_.wait();
}

template <typename Job>
void WalletService::run(Job&& job) {
  ++busy_;
  Q_EMIT changed();
  QMetaObject::invokeMethod(worker_, std::forward<Job>(job), Qt::QueuedConnection);
}

void WalletService::probe() {
  run([w = worker_] { w->probe(); });
}
void WalletService::createFromWords(Secret words, Secret password) {
  run([w = worker_, words, password] { w->createFromWords(words, password); });
}
void WalletService::restoreFromWords(Secret words, Secret passphrase, Secret password) {
  run([w = worker_, words, passphrase, password] { w->restoreFromWords(words, passphrase, password); });
}
void WalletService::restoreFromKeypairFile(const QString& path, Secret password) {
  run([w = worker_, path, password] { w->restoreFromKeypairFile(path, password); });
}
void WalletService::unlock(Secret password) {
  run([w = worker_, password] { w->unlock(password); });
}
void WalletService::lock() {
  run([w = worker_] { w->lock(); });
}
void WalletService::changePassword(Secret old_password, Secret new_password) {
  run([w = worker_, old_password, new_password] { w->changePassword(old_password, new_password); });
}
void WalletService::exportKeypair(const QString& path, Secret password) {
  run([w = worker_, path, password] { w->exportKeypair(path, password); });
}
void WalletService::revealWords(Secret password) {
  run([w = worker_, password] { w->revealWords(password); });
}
void WalletService::addWords(Secret words, Secret password) {
  run([w = worker_, words, password] { w->addWords(words, password); });
}

PasswordStrength passwordStrength(const QString& password) {
  // Estimated entropy from length and character classes, minus a penalty for repeats; a hint, not
  // a guarantee (the words are the real backup, Argon2id slows guessing).
  bool lower = false, upper = false, digit = false, other = false;
  QSet<QChar> distinct;
  for (const QChar c : password) {
    distinct.insert(c);
    if (c.isLower()) lower = true;
    else if (c.isUpper()) upper = true;
    else if (c.isDigit()) digit = true;
    else other = true;
  }
  const int pool = (lower ? 26 : 0) + (upper ? 26 : 0) + (digit ? 10 : 0) + (other ? 33 : 0);
  const double bits = pool > 0 ? static_cast<double>(distinct.size()) * std::log2(pool) +
                                     static_cast<double>(password.size() - distinct.size()) * 1.0
                               : 0.0;
  PasswordStrength strength;
  if (password.size() < 8) {
    strength = {0, QObject::tr("Too short: use at least 8 characters.")};
  } else if (bits < 40) {
    strength = {1, QObject::tr("Weak: add more words or characters.")};
  } else if (bits < 60) {
    strength = {2, QObject::tr("Fair: a longer phrase would be stronger.")};
  } else if (bits < 80) {
    strength = {3, QObject::tr("Good.")};
  } else {
    strength = {4, QObject::tr("Strong.")};
  }
  return strength;
}

}  // namespace tessera::ui
