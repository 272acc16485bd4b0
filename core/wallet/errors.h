// The wallet's errors, one type per situation a user must handle differently. Each message says
// what happened and what to do; none ever contains a secret.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace tessera::wallet {

class WalletError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file that is never overwritten (a wallet, a key) already exists.
class FileExists : public WalletError {
 public:
  using WalletError::WalletError;
};

// The password does not open this keystore.
class WrongPassword : public WalletError {
 public:
  WrongPassword() : WalletError("wrong password: the keystore is intact but this password does not open it; try again") {}
};

// The keystore file is not what Tessera wrote: corrupted, truncated or tampered with.
class KeystoreDamaged : public WalletError {
 public:
  explicit KeystoreDamaged(const std::string& detail)
      : WalletError("keystore file damaged: " + detail +
                    "; restore it from a backup, or restore the wallet from its words") {}
};

// Written by a newer Tessera.
class UnsupportedKeystoreVersion : public WalletError {
 public:
  UnsupportedKeystoreVersion(long long version, int supported)
      : WalletError("unsupported keystore version " + std::to_string(version) + " (this Tessera reads version " +
                    std::to_string(supported) + "): it was written by a newer Tessera; upgrade to open it"),
        version_(version) {}
  long long version() const { return version_; }

 private:
  long long version_;
};

// A mnemonic that is not valid BIP-39: an unknown word (position given, 1-based, with the closest
// valid words), a wrong number of words, or a checksum that does not match.
class InvalidMnemonic : public WalletError {
 public:
  InvalidMnemonic(const std::string& message, std::size_t word_position, std::vector<std::string> suggestions)
      : WalletError(message), word_position_(word_position), suggestions_(std::move(suggestions)) {}
  std::size_t word_position() const { return word_position_; }  // 0 when no single word is at fault
  const std::vector<std::string>& suggestions() const { return suggestions_; }

 private:
  std::size_t word_position_;
  std::vector<std::string> suggestions_;
};

// The keystore holds no words to show (a version-1 file, or an imported keypair); the message
// says why and what to back up instead.
class NoWordsStored : public WalletError {
 public:
  using WalletError::WalletError;
};

// A Solana keypair file that cannot be used (format, or halves that do not match).
class InvalidKeypairFile : public WalletError {
 public:
  using WalletError::WalletError;
};

}  // namespace tessera::wallet
