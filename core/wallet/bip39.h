// BIP-39 mnemonics (English): generation from libsodium randomness, validation with the position of
// a bad word and the closest valid ones, and the seed: PBKDF2-HMAC-SHA512(NFKD(words),
// "mnemonic" + NFKD(passphrase), 2048 rounds). Words and seeds stay in SecureBytes throughout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/wallet/secure_bytes.h"

namespace tessera::wallet::bip39 {

// The 2048 words of resources/bip39/english.txt, compiled in, in their (sorted) file order.
std::span<const std::string_view, 2048> english_wordlist();
// The word's index in the list, or -1.
int word_index(std::string_view word);
// Up to `count` valid words closest to `word` (shared 4-letter prefix first, then edit distance).
std::vector<std::string> closest_words(std::string_view word, std::size_t count = 3);

class Mnemonic {
 public:
  // 12 or 24 words (128 or 256 bits of entropy) from libsodium's random source.
  static Mnemonic generate(std::size_t word_count);
  // Entropy of 16, 20, 24, 28 or 32 bytes.
  static Mnemonic from_entropy(std::span<const std::uint8_t> entropy);
  // Words as a person types them: any ASCII whitespace between words, any letter case. Throws
  // InvalidMnemonic naming the first unknown word (1-based) with suggestions, a word count other
  // than 12, 15, 18, 21 or 24, or a checksum mismatch.
  static Mnemonic parse(std::span<const std::uint8_t> text);

  std::size_t word_count() const { return indices_.size() / 2; }
  std::string_view word(std::size_t position) const;  // 0-based; the public list's storage
  // The normalised sentence: lowercase words joined by single spaces.
  SecureBytes sentence() const;
  // The entropy the words encode (16 to 32 bytes): what a keystore keeps to show the words again.
  SecureBytes entropy() const;
  // The 64-byte BIP-39 seed.
  SecureBytes to_seed(std::span<const std::uint8_t> passphrase_utf8) const;

 private:
  explicit Mnemonic(SecureBytes indices) : indices_(std::move(indices)) {}
  SecureBytes indices_;  // big-endian uint16 word indices
};

// The BIP-39 seed for any mnemonic sentence (validated or not, any language): both inputs are
// NFKD-normalised first. Throws WalletError on invalid UTF-8.
SecureBytes mnemonic_to_seed(std::span<const std::uint8_t> mnemonic_utf8, std::span<const std::uint8_t> passphrase_utf8);

// Unicode NFKD (utf8proc) into secure memory. Throws WalletError on invalid UTF-8.
SecureBytes nfkd(std::span<const std::uint8_t> utf8);

// PBKDF2 (RFC 8018) over libsodium's HMAC-SHA512.
void pbkdf2_hmac_sha512(std::span<const std::uint8_t> password, std::span<const std::uint8_t> salt,
                        std::uint32_t iterations, std::span<std::uint8_t> out);

// Splits text on ASCII whitespace without copying: spans into `text`.
std::vector<std::span<const std::uint8_t>> split_words(std::span<const std::uint8_t> text);

}  // namespace tessera::wallet::bip39
