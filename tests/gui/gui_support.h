// Shared helpers for the GUI suites: a wallet service with test KDF limits, text to secrets.
#pragma once

#include <QPushButton>
#include <QSignalSpy>
#include <QString>
#include <QTest>

#include <string>

#include "core/wallet/bip39.h"
#include "core/wallet/slip10.h"
#include "ui/wallet_service.h"

namespace tessera::test {

// The address Phantom and Tessera derive from these words (m/44'/501'/0'/0').
inline QString addressOfWords(const std::string& words, const std::string& passphrase = {}) {
  const auto mnemonic = wallet::bip39::Mnemonic::parse(
      {reinterpret_cast<const std::uint8_t*>(words.data()), words.size()});
  const auto seed =
      mnemonic.to_seed({reinterpret_cast<const std::uint8_t*>(passphrase.data()), passphrase.size()});
  return QString::fromStdString(
      wallet::address_of(wallet::derive_keypair(seed.span(), wallet::DerivationPath::solana(0)).public_key()));
}

// Clicks a button after checking it can be clicked (a disabled button would swallow the click).
inline bool clickEnabled(QPushButton* button) {
  if (button == nullptr || !button->isEnabled() || !button->isVisible()) return false;
  QTest::mouseClick(button, Qt::LeftButton);
  return true;
}

}  // namespace tessera::test
