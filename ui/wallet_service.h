// The owner wallet for the app: every keystore operation (Argon2id takes about a second) runs on
// a worker thread that owns the Keystore; results come back as signals. Secrets cross threads only
// inside SecureBytes held by shared pointers, never as QString.
#pragma once

#include <QObject>
#include <QString>
#include <QThread>

#include <memory>
#include <optional>

#include "core/wallet/keystore.h"
#include "core/wallet/secure_bytes.h"

namespace tessera::ui {

using Secret = std::shared_ptr<wallet::SecureBytes>;

// A QString's UTF-8 in secure memory; the temporary QByteArray is wiped.
Secret secretFrom(const QString& text);

class WalletWorker : public QObject {
  Q_OBJECT

 public:
  WalletWorker(QString file, wallet::KdfLimits limits) : file_(std::move(file)), limits_(limits) {}

  void probe();
  void createFromWords(const Secret& words, const Secret& password);
  void restoreFromWords(const Secret& words, const Secret& passphrase, const Secret& password);
  void restoreFromKeypairFile(const QString& path, const Secret& password);
  void unlock(const Secret& password);
  void lock();
  void changePassword(const Secret& old_password, const Secret& new_password);
  void exportKeypair(const QString& path, const Secret& password);
  void revealWords(const Secret& password);
  void addWords(const Secret& words, const Secret& password);

 Q_SIGNALS:
  // This machine's node key works for the wallet (any run) until `expires_at` (Unix seconds).
  void delegated(qint64 expires_at);
  void delegationFailed(const QString& message);
  void present(const QString& address, bool unlocked);
  void absent();
  void created(const QString& address);
  void unlocked(const QString& address);
  void locked();
  void passwordChanged();
  void exported(const QString& path);
  // The words as one sentence (secure memory); `needs_passphrase`: a BIP-39 passphrase is needed too.
  void wordsRevealed(const tessera::ui::Secret& sentence, bool needs_passphrase);
  // Whether the keystore can show its words again (wallet::WordsAvailability) and, if not, why.
  void wordsInfo(int availability, int word_count, const QString& why_not);
  void wordsAdded();
  void failed(const QString& operation, const QString& message, bool wrong_password);

 private:
  void reportWords();
  void created_store(wallet::Keystore store);
  // While unlocked: signs <data-dir>/delegation.json for this machine's node key unless a valid
  // one for this wallet lasts at least another week. Failures are reported, never fatal.
  void ensureDelegation();
  void fail(const QString& operation, const std::exception& error);

  QString file_;
  wallet::KdfLimits limits_;
  std::optional<wallet::Keystore> store_;
};

class WalletService : public QObject {
  Q_OBJECT

 public:
  // `file`: <data-dir>/wallet.json.
  explicit WalletService(QString file, wallet::KdfLimits limits = wallet::KdfLimits::moderate(),
                         QObject* parent = nullptr);
  ~WalletService() override;

  bool exists() const { return !address_.isEmpty(); }
  bool isUnlocked() const { return unlocked_; }
  bool isBusy() const { return busy_ > 0; }
  QString address() const { return address_; }
  QString file() const { return file_; }
  qint64 delegationExpiresAt() const { return delegation_expires_at_; }  // 0: none signed in this session
  // Known once the keystore was opened (probe, create, unlock).
  wallet::WordsAvailability wordsAvailability() const { return words_availability_; }
  int wordCount() const { return word_count_; }
  QString whyNoWords() const { return why_no_words_; }

  void probe();
  void createFromWords(Secret words, Secret password);
  void restoreFromWords(Secret words, Secret passphrase, Secret password);
  void restoreFromKeypairFile(const QString& path, Secret password);
  void unlock(Secret password);
  void lock();
  void changePassword(Secret old_password, Secret new_password);
  void exportKeypair(const QString& path, Secret password);
  // Decrypts the words with `password` (always asked, even when unlocked): wordsRevealed or failed.
  void revealWords(Secret password);
  // A wallet created before words could be shown again keeps them from now on: `words` must be
  // this wallet's (no passphrase), `password` its current one. wordsAdded or failed.
  void addWords(Secret words, Secret password);

 Q_SIGNALS:
  void changed();  // address, lock state or busy state
  void created(const QString& address);
  void unlocked();
  void locked();
  void passwordChanged();
  void exported(const QString& path);
  void delegated(qint64 expires_at);
  void wordsRevealed(const tessera::ui::Secret& sentence, bool needs_passphrase);
  void wordsAdded();
  void failed(const QString& operation, const QString& message, bool wrong_password);

 private:
  template <typename Job>
  void run(Job&& job);

  QString file_;
  QThread thread_;
  WalletWorker* worker_ = nullptr;
  QString address_;
  bool unlocked_ = false;
  int busy_ = 0;
  qint64 delegation_expires_at_ = 0;
  wallet::WordsAvailability words_availability_ = wallet::WordsAvailability::SeedOnly;
  int word_count_ = 0;
  QString why_no_words_;
};

// A rough strength hint for a new password: 0 (too weak) to 4 (strong), and words for the user.
struct PasswordStrength {
  int score = 0;
  QString hint;
};
PasswordStrength passwordStrength(const QString& password);

}  // namespace tessera::ui
