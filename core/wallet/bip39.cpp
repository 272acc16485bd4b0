// BIP-39 over the compiled-in English list; NFKD by utf8proc; PBKDF2 over libsodium's HMAC-SHA512.
#include "core/wallet/bip39.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include <sodium.h>
#include <utf8proc.h>

#include "core/wallet/errors.h"

namespace tessera::wallet::bip39 {
namespace {

constexpr std::size_t kSeedBytes = 64;
constexpr std::uint32_t kRounds = 2048;
constexpr std::size_t kLongestWord = 8;  // "abstract", "question", ... no English word is longer

bool is_separator(std::uint8_t byte) { return byte <= 0x20; }

std::size_t levenshtein(std::string_view a, std::string_view b) {
  std::array<std::size_t, 64> row{};
  if (b.size() >= row.size()) return b.size() + a.size();
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Bit i (0 = most significant bit of byte 0).
unsigned bit(std::span<const std::uint8_t> bytes, std::size_t i) { return (bytes[i / 8] >> (7 - i % 8)) & 1u; }
void set_bit(std::span<std::uint8_t> bytes, std::size_t i) { bytes[i / 8] |= static_cast<std::uint8_t>(1u << (7 - i % 8)); }

std::string ordinal_word(std::size_t position) { return "word " + std::to_string(position); }

}  // namespace

int word_index(std::string_view word) {
  const auto list = english_wordlist();
  const auto it = std::lower_bound(list.begin(), list.end(), word);
  if (it == list.end() || *it != word) return -1;
  return static_cast<int>(it - list.begin());
}

std::vector<std::string> closest_words(std::string_view word, std::size_t count) {
  struct Candidate {
    std::size_t score;
    std::string_view word;
  };
  std::vector<Candidate> candidates;
  for (const auto candidate : english_wordlist()) {
    // BIP-39 English words are unique in their first four letters: a shared prefix is the best hint.
    const bool same_prefix = word.size() >= 4 && candidate.substr(0, 4) == word.substr(0, 4);
    candidates.push_back({same_prefix ? 0 : 1 + levenshtein(word, candidate), candidate});
  }
  const auto n = std::min(count, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(n), candidates.end(),
                    [](const Candidate& a, const Candidate& b) {
                      return a.score != b.score ? a.score < b.score : a.word < b.word;
                    });
  std::vector<std::string> result;
  for (std::size_t i = 0; i < n; ++i) result.emplace_back(candidates[i].word);
  return result;
}

std::vector<std::span<const std::uint8_t>> split_words(std::span<const std::uint8_t> text) {
  std::vector<std::span<const std::uint8_t>> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_separator(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_separator(text[i])) ++i;
    if (i > start) words.push_back(text.subspan(start, i - start));
  }
  return words;
}

Mnemonic Mnemonic::generate(std::size_t word_count) {
  if (word_count != 12 && word_count != 24)
    throw std::invalid_argument("a new wallet has 12 or 24 words, not " + std::to_string(word_count));
  SecureBytes entropy(word_count == 12 ? 16 : 32);
  randombytes_buf(entropy.data(), entropy.size());
  return from_entropy(entropy.span());
}

Mnemonic Mnemonic::from_entropy(std::span<const std::uint8_t> entropy) {
  if (entropy.size() < 16 || entropy.size() > 32 || entropy.size() % 4 != 0)
    throw std::invalid_argument("BIP-39 entropy is 16, 20, 24, 28 or 32 bytes");
  ensure_sodium();
  const std::size_t entropy_bits = entropy.size() * 8;
  const std::size_t words = (entropy_bits + entropy_bits / 32) / 11;
  SecureBytes bits(entropy.size() + crypto_hash_sha256_BYTES);
  std::copy(entropy.begin(), entropy.end(), bits.data());
  crypto_hash_sha256(bits.data() + entropy.size(), entropy.data(), entropy.size());
  SecureBytes indices(words * 2);
  for (std::size_t w = 0; w < words; ++w) {
    unsigned index = 0;
    for (std::size_t b = 0; b < 11; ++b) index = (index << 1) | bit(bits.span(), w * 11 + b);
    indices.data()[2 * w] = static_cast<std::uint8_t>(index >> 8);
    indices.data()[2 * w + 1] = static_cast<std::uint8_t>(index & 0xff);
  }
  return Mnemonic(std::move(indices));
}

Mnemonic Mnemonic::parse(std::span<const std::uint8_t> text) {
  const auto words = split_words(text);
  const std::size_t n = words.size();
  if (n == 0) throw InvalidMnemonic("no words given: type the 12 or 24 words of your wallet, separated by spaces", 0, {});
  if (n % 3 != 0 || n < 12 || n > 24)
    throw InvalidMnemonic("a BIP-39 mnemonic has 12, 15, 18, 21 or 24 words; got " + std::to_string(n) +
                              ": check for a missing or extra word",
                          0, {});
  ensure_sodium();
  SecureBytes indices(n * 2);
  SecureBytes lowered(kLongestWord + 1);
  for (std::size_t w = 0; w < n; ++w) {
    const auto typed = words[w];
    int index = -1;
    const std::size_t length = std::min(typed.size(), lowered.size());
    for (std::size_t i = 0; i < length; ++i)
      lowered.data()[i] = static_cast<std::uint8_t>(std::tolower(static_cast<unsigned char>(typed[i])));
    const std::string_view word(reinterpret_cast<const char*>(lowered.data()), length);
    if (typed.size() <= kLongestWord) index = word_index(word);
    if (index < 0) {
      auto suggestions = closest_words(word);
      std::string message = ordinal_word(w + 1) + " of " + std::to_string(n) + " is not in the BIP-39 English word list";
      if (!suggestions.empty()) {
        message += "; closest valid words: ";
        for (std::size_t i = 0; i < suggestions.size(); ++i) message += (i ? ", " : "") + suggestions[i];
      }
      throw InvalidMnemonic(message, w + 1, std::move(suggestions));
    }
    indices.data()[2 * w] = static_cast<std::uint8_t>(index >> 8);
    indices.data()[2 * w + 1] = static_cast<std::uint8_t>(index & 0xff);
  }
  // Checksum: the last n*11/33 bits are the top bits of SHA-256(entropy).
  const std::size_t total_bits = n * 11;
  const std::size_t checksum_bits = total_bits / 33;
  const std::size_t entropy_bytes = (total_bits - checksum_bits) / 8;
  SecureBytes bits((total_bits + 7) / 8);
  for (std::size_t w = 0; w < n; ++w) {
    const unsigned index = (unsigned{indices.data()[2 * w]} << 8) | indices.data()[2 * w + 1];
    for (std::size_t b = 0; b < 11; ++b)
      if ((index >> (10 - b)) & 1u) set_bit(bits.span(), w * 11 + b);
  }
  SecureBytes hash(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(hash.data(), bits.data(), entropy_bytes);
  for (std::size_t b = 0; b < checksum_bits; ++b)
    if (bit(bits.span(), entropy_bytes * 8 + b) != bit(hash.span(), b))
      throw InvalidMnemonic("the words are all valid but their checksum does not match: a word is wrong or two are "
                            "swapped; check each word against your backup",
                            0, {});
  return Mnemonic(std::move(indices));
}

std::string_view Mnemonic::word(std::size_t position) const {
  if (position >= word_count()) throw std::out_of_range("mnemonic word position out of range");
  const unsigned index = (unsigned{indices_.data()[2 * position]} << 8) | indices_.data()[2 * position + 1];
  return english_wordlist()[index];
}

SecureBytes Mnemonic::sentence() const {
  std::size_t length = word_count() - 1;
  for (std::size_t w = 0; w < word_count(); ++w) length += word(w).size();
  SecureBytes text(length);
  std::size_t at = 0;
  for (std::size_t w = 0; w < word_count(); ++w) {
    if (w > 0) text.data()[at++] = ' ';
    const auto token = word(w);
    std::memcpy(text.data() + at, token.data(), token.size());
    at += token.size();
  }
  return text;
}

SecureBytes Mnemonic::entropy() const {
  const std::size_t n = word_count();
  const std::size_t entropy_bytes = (n * 11 - n * 11 / 33) / 8;
  SecureBytes bits((n * 11 + 7) / 8);
  for (std::size_t w = 0; w < n; ++w) {
    const unsigned index = (unsigned{indices_.data()[2 * w]} << 8) | indices_.data()[2 * w + 1];
    for (std::size_t b = 0; b < 11; ++b)
      if ((index >> (10 - b)) & 1u) set_bit(bits.span(), w * 11 + b);
  }
  return SecureBytes::copy_of(bits.span().first(entropy_bytes));
}

SecureBytes Mnemonic::to_seed(std::span<const std::uint8_t> passphrase_utf8) const {
  const auto text = sentence();
  return mnemonic_to_seed(text.span(), passphrase_utf8);
}

SecureBytes nfkd(std::span<const std::uint8_t> utf8) {
  ensure_sodium();
  if (utf8.empty()) return SecureBytes();
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE);
  const auto length = static_cast<utf8proc_ssize_t>(utf8.size());
  const utf8proc_ssize_t needed = utf8proc_decompose(utf8.data(), length, nullptr, 0, options);
  if (needed < 0) throw WalletError(std::string("text is not valid UTF-8: ") + utf8proc_errmsg(needed));
  // utf8proc decomposes into 32-bit code points, then re-encodes in place.
  SecureBytes codepoints(static_cast<std::size_t>(needed) * sizeof(utf8proc_int32_t));
  auto* buffer = reinterpret_cast<utf8proc_int32_t*>(codepoints.data());
  const utf8proc_ssize_t count = utf8proc_decompose(utf8.data(), length, buffer, needed, options);
  if (count < 0 || count > needed) throw WalletError("text could not be normalised (NFKD)");
  const utf8proc_ssize_t bytes = utf8proc_reencode(buffer, count, options);
  if (bytes < 0) throw WalletError(std::string("text could not be normalised: ") + utf8proc_errmsg(bytes));
  return SecureBytes::copy_of(codepoints.span().first(static_cast<std::size_t>(bytes)));
}

void pbkdf2_hmac_sha512(std::span<const std::uint8_t> password, std::span<const std::uint8_t> salt,
                        std::uint32_t iterations, std::span<std::uint8_t> out) {
  if (iterations == 0) throw std::invalid_argument("PBKDF2 needs at least one iteration");
  ensure_sodium();
  // The keyed inner/outer state is computed once and copied for each HMAC.
  SecureBytes keyed(sizeof(crypto_auth_hmacsha512_state));
  SecureBytes work(sizeof(crypto_auth_hmacsha512_state) + 2 * crypto_auth_hmacsha512_BYTES);
  auto* base = reinterpret_cast<crypto_auth_hmacsha512_state*>(keyed.data());
  auto* state = reinterpret_cast<crypto_auth_hmacsha512_state*>(work.data());
  std::uint8_t* u = work.data() + sizeof(crypto_auth_hmacsha512_state);
  std::uint8_t* t = u + crypto_auth_hmacsha512_BYTES;
  crypto_auth_hmacsha512_init(base, password.data(), password.size());
  for (std::uint32_t block = 1, done = 0; done < out.size(); ++block) {
    const std::uint8_t counter[4] = {static_cast<std::uint8_t>(block >> 24), static_cast<std::uint8_t>(block >> 16),
                                     static_cast<std::uint8_t>(block >> 8), static_cast<std::uint8_t>(block)};
    std::memcpy(state, base, sizeof(*state));
    crypto_auth_hmacsha512_update(state, salt.data(), salt.size());
    crypto_auth_hmacsha512_update(state, counter, sizeof(counter));
    crypto_auth_hmacsha512_final(state, u);
    std::memcpy(t, u, crypto_auth_hmacsha512_BYTES);
    for (std::uint32_t i = 1; i < iterations; ++i) {
      std::memcpy(state, base, sizeof(*state));
      crypto_auth_hmacsha512_update(state, u, crypto_auth_hmacsha512_BYTES);
      crypto_auth_hmacsha512_final(state, u);
      for (std::size_t k = 0; k < crypto_auth_hmacsha512_BYTES; ++k) t[k] ^= u[k];
    }
    const std::size_t take = std::min<std::size_t>(crypto_auth_hmacsha512_BYTES, out.size() - done);
    std::memcpy(out.data() + done, t, take);
    done += take;
  }
}

SecureBytes mnemonic_to_seed(std::span<const std::uint8_t> mnemonic_utf8, std::span<const std::uint8_t> passphrase_utf8) {
  const auto words = nfkd(mnemonic_utf8);
  const auto passphrase = nfkd(passphrase_utf8);
  constexpr std::string_view prefix = "mnemonic";
  SecureBytes salt(prefix.size() + passphrase.size());
  std::memcpy(salt.data(), prefix.data(), prefix.size());
  if (!passphrase.empty()) std::memcpy(salt.data() + prefix.size(), passphrase.data(), passphrase.size());
  SecureBytes seed(kSeedBytes);
  pbkdf2_hmac_sha512(words.span(), salt.span(), kRounds, seed.span());
  return seed;
}

}  // namespace tessera::wallet::bip39
