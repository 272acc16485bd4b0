// A tiny strict parser for "[n,n,…]" that never copies the numbers out of secure memory.
#include "core/wallet/keypair_file.h"

#include <algorithm>
#include <system_error>

#include <spdlog/spdlog.h>

#include "core/wallet/errors.h"
#include "core/wallet/secure_file.h"
#include "core/wallet/slip10.h"

namespace tessera::wallet {
namespace {

constexpr std::size_t kKeypairBytes = 64;
constexpr const char* kFormatHint =
    "not a Solana keypair file: expected a JSON array of 64 numbers from 0 to 255 (32-byte secret, then 32-byte public key)";

bool is_space(std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

KeyPair parse_solana_keypair(std::span<const std::uint8_t> text) {
  SecureBytes bytes(kKeypairBytes);
  std::size_t i = 0;
  const auto skip = [&] {
    while (i < text.size() && is_space(text[i])) ++i;
  };
  skip();
  if (i >= text.size() || text[i] != '[') throw InvalidKeypairFile(kFormatHint);
  ++i;
  std::size_t count = 0;
  for (;;) {
    skip();
    if (count == kKeypairBytes) break;
    if (count > 0) {
      if (i >= text.size() || text[i] != ',') throw InvalidKeypairFile(kFormatHint);
      ++i;
      skip();
    }
    unsigned value = 0;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && digits < 4) {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || value > 255) throw InvalidKeypairFile(kFormatHint);
    bytes.data()[count++] = static_cast<std::uint8_t>(value);
  }
  if (i >= text.size() || text[i] != ']') throw InvalidKeypairFile(kFormatHint);
  ++i;
  skip();
  if (i != text.size()) throw InvalidKeypairFile(kFormatHint);

  auto key = KeyPair::from_seed(bytes.span().first(32));
  if (!std::equal(key.public_key().begin(), key.public_key().end(), bytes.data() + 32))
    throw InvalidKeypairFile("the keypair file's public half does not match its secret half: the file is damaged or "
                             "was edited; export it again from the wallet it came from");
  return key;
}

SecureBytes format_solana_keypair(const KeyPair& key) {
  SecureBytes full(kKeypairBytes);
  std::copy(key.seed().begin(), key.seed().end(), full.data());
  std::copy(key.public_key().begin(), key.public_key().end(), full.data() + 32);
  SecureBytes text(2 + kKeypairBytes * 4);  // "[" + up to "255," per byte + "]"
  std::size_t at = 0;
  text.data()[at++] = '[';
  for (std::size_t i = 0; i < kKeypairBytes; ++i) {
    if (i > 0) text.data()[at++] = ',';
    const unsigned value = full.data()[i];
    if (value >= 100) text.data()[at++] = static_cast<std::uint8_t>('0' + value / 100);
    if (value >= 10) text.data()[at++] = static_cast<std::uint8_t>('0' + value / 10 % 10);
    text.data()[at++] = static_cast<std::uint8_t>('0' + value % 10);
  }
  text.data()[at++] = ']';
  return SecureBytes::copy_of(text.span().first(at));
}

KeyPair read_solana_keypair_file(const std::filesystem::path& file) {
  warn_if_permissions_too_open(file);
  const auto text = read_file_secure(file, 4096);
  try {
    return parse_solana_keypair(text.span());
  } catch (const InvalidKeypairFile& error) {
    throw InvalidKeypairFile(file.string() + ": " + error.what());
  }
}

void write_solana_keypair_file(const std::filesystem::path& file, const KeyPair& key, bool replace) {
  std::error_code ec;
  if (!replace && std::filesystem::exists(file, ec))
    throw WalletError(file.string() + " already exists; choose another file name (it is not overwritten, so no key is lost)");
  const auto text = format_solana_keypair(key);
  try {
    write_file_atomic(file, text.span(), {}, replace ? IfExists::Replace : IfExists::Keep);
  } catch (const FileExists&) {
    throw WalletError(file.string() + " already exists; choose another file name (it is not overwritten, so no key is lost)");
  }
  spdlog::info("wrote the keypair of {} to {} (mode 0600)", address_of(key.public_key()), file.string());
}

}  // namespace tessera::wallet
