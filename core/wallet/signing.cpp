// Domain-separated Ed25519 (libsodium crypto_sign_detached).
#include "core/wallet/signing.h"

#include <stdexcept>
#include <vector>

#include <sodium.h>

namespace tessera::wallet {
namespace {

std::vector<std::uint8_t> framed(SignatureDomain domain, std::span<const std::uint8_t> message) {
  const auto tag = domain_tag(domain);
  std::vector<std::uint8_t> bytes;
  bytes.reserve(tag.size() + 1 + message.size());
  bytes.insert(bytes.end(), tag.begin(), tag.end());
  bytes.push_back(0);
  bytes.insert(bytes.end(), message.begin(), message.end());
  return bytes;
}

}  // namespace

std::string_view domain_tag(SignatureDomain domain) {
  switch (domain) {
    case SignatureDomain::Delegation: return "tessera/delegation/v1";
    case SignatureDomain::Receipt: return "tessera/receipt/v1";
    case SignatureDomain::Statement: return "tessera/statement/v1";
    case SignatureDomain::Manifest: return "tessera/manifest/v1";
    case SignatureDomain::LedgerHead: return "tessera/ledger-head/v1";
    case SignatureDomain::HubRequest: return "tessera/hub-request/v1";
    case SignatureDomain::Message: return "tessera/message/v1";
    case SignatureDomain::Assignment: return "tessera/assignment/v1";
    case SignatureDomain::StepTicket: return "tessera/step-ticket/v1";
    case SignatureDomain::StepRecord: return "tessera/step-record/v1";
    case SignatureDomain::RouteSeed: return "tessera/route-seed/v1";
    case SignatureDomain::CheckTicket: return "tessera/check-ticket/v1";
    case SignatureDomain::RelayChallenge: return "tessera/relay-challenge/v1";
    case SignatureDomain::TlsCertificate: return "tessera/tls/v1";
  }
  throw std::invalid_argument("unknown signature domain");
}

KeyPair KeyPair::generate() {
  ensure_sodium();
  SecureBytes seed(crypto_sign_SEEDBYTES);
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed.span());
}

KeyPair KeyPair::from_seed(std::span<const std::uint8_t> seed32) {
  if (seed32.size() != crypto_sign_SEEDBYTES)
    throw std::invalid_argument("an Ed25519 seed is 32 bytes, got " + std::to_string(seed32.size()));
  ensure_sodium();
  KeyPair pair;
  pair.seed_ = SecureBytes::copy_of(seed32);
  pair.secret_key_ = SecureBytes(crypto_sign_SECRETKEYBYTES);
  crypto_sign_seed_keypair(pair.public_key_.data(), pair.secret_key_.data(), pair.seed_.data());
  return pair;
}

Signature KeyPair::sign(SignatureDomain domain, std::span<const std::uint8_t> message) const {
  if (secret_key_.empty()) throw std::logic_error("signing with an empty key");
  Signature signature{};
  const auto bytes = framed(domain, message);
  crypto_sign_detached(signature.data(), nullptr, bytes.data(), bytes.size(), secret_key_.data());
  return signature;
}

bool verify(SignatureDomain domain, std::span<const std::uint8_t> message, const Signature& signature,
            const PublicKey& public_key) {
  ensure_sodium();
  const auto bytes = framed(domain, message);
  return crypto_sign_verify_detached(signature.data(), bytes.data(), bytes.size(), public_key.data()) == 0;
}

}  // namespace tessera::wallet
