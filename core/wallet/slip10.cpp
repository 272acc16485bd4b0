// SLIP-0010 over libsodium's HMAC-SHA512.
#include "core/wallet/slip10.h"

#include <charconv>
#include <stdexcept>

#include <sodium.h>

#include "core/wallet/encoding.h"

namespace tessera::wallet {
namespace {

ExtendedKey split(const SecureBytes& i) {
  return {SecureBytes::copy_of(i.span().first(32)), SecureBytes::copy_of(i.span().subspan(32, 32))};
}

}  // namespace

DerivationPath DerivationPath::parse(std::string_view text) {
  const std::string shown(text);
  if (text.empty() || text[0] != 'm')
    throw std::invalid_argument("derivation path '" + shown + "' must start with m, e.g. m/44'/501'/0'/0'");
  text.remove_prefix(1);
  DerivationPath path;
  while (!text.empty()) {
    if (text[0] != '/') throw std::invalid_argument("derivation path '" + shown + "': expected / between steps");
    text.remove_prefix(1);
    const auto end = text.find('/');
    std::string_view step = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    if (step.empty() || (step.back() != '\'' && step.back() != 'h' && step.back() != 'H'))
      throw std::invalid_argument("derivation path '" + shown + "': step '" + std::string(step) +
                                  "' is not hardened; ed25519 (SLIP-0010) has hardened steps only: write " +
                                  std::string(step) + "'");
    step.remove_suffix(1);
    std::uint32_t index = 0;
    const auto [ptr, ec] = std::from_chars(step.data(), step.data() + step.size(), index);
    if (ec != std::errc{} || ptr != step.data() + step.size() || step.empty() || index >= kHardened)
      throw std::invalid_argument("derivation path '" + shown + "': step '" + std::string(step) +
                                  "' is not a number from 0 to 2147483647");
    path.indices.push_back(index | kHardened);
  }
  return path;
}

DerivationPath DerivationPath::solana(std::uint32_t account) {
  if (account >= kHardened) throw std::invalid_argument("account number must be below 2147483648");
  return {{44 | kHardened, 501 | kHardened, account | kHardened, 0 | kHardened}};
}

std::string DerivationPath::to_string() const {
  std::string text = "m";
  for (const auto index : indices) {
    text += '/';
    text += std::to_string(index & ~kHardened);
    text += '\'';
  }
  return text;
}

ExtendedKey slip10_master(std::span<const std::uint8_t> seed) {
  ensure_sodium();
  constexpr std::string_view curve = "ed25519 seed";
  SecureBytes i(crypto_auth_hmacsha512_BYTES);
  SecureBytes state(sizeof(crypto_auth_hmacsha512_state));
  auto* st = reinterpret_cast<crypto_auth_hmacsha512_state*>(state.data());
  crypto_auth_hmacsha512_init(st, reinterpret_cast<const unsigned char*>(curve.data()), curve.size());
  crypto_auth_hmacsha512_update(st, seed.data(), seed.size());
  crypto_auth_hmacsha512_final(st, i.data());
  return split(i);
}

ExtendedKey slip10_child(const ExtendedKey& parent, std::uint32_t index) {
  if ((index & kHardened) == 0)
    throw std::invalid_argument("SLIP-0010 ed25519 derives hardened children only (index " + std::to_string(index) + ")");
  SecureBytes data(1 + 32 + 4);
  std::copy(parent.key.span().begin(), parent.key.span().end(), data.data() + 1);
  data.data()[33] = static_cast<std::uint8_t>(index >> 24);
  data.data()[34] = static_cast<std::uint8_t>(index >> 16);
  data.data()[35] = static_cast<std::uint8_t>(index >> 8);
  data.data()[36] = static_cast<std::uint8_t>(index);
  SecureBytes i(crypto_auth_hmacsha512_BYTES);
  SecureBytes state(sizeof(crypto_auth_hmacsha512_state));
  auto* st = reinterpret_cast<crypto_auth_hmacsha512_state*>(state.data());
  crypto_auth_hmacsha512_init(st, parent.chain_code.data(), parent.chain_code.size());
  crypto_auth_hmacsha512_update(st, data.data(), data.size());
  crypto_auth_hmacsha512_final(st, i.data());
  return split(i);
}

ExtendedKey slip10_derive(std::span<const std::uint8_t> seed, const DerivationPath& path) {
  auto key = slip10_master(seed);
  for (const auto index : path.indices) key = slip10_child(key, index);
  return key;
}

KeyPair derive_keypair(std::span<const std::uint8_t> seed, const DerivationPath& path) {
  const auto key = slip10_derive(seed, path);
  return KeyPair::from_seed(key.key.span());
}

std::string address_of(const PublicKey& public_key) { return base58_encode(public_key); }

PublicKey parse_address(std::string_view address) {
  const auto bytes = base58_decode(address);
  if (!bytes || bytes->size() != 32)
    throw std::invalid_argument("'" + std::string(address) + "' is not a Solana address (base58 of 32 bytes)");
  PublicKey key{};
  std::copy(bytes->begin(), bytes->end(), key.begin());
  return key;
}

}  // namespace tessera::wallet
