// Ed25519 key pairs and detached signatures with domain separation: every signature covers
// "tessera/<domain>/v1\0" followed by the message, so a signature made for one purpose (a
// receipt, say) can never be replayed as another (a delegation, a ledger head).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/wallet/secure_bytes.h"

namespace tessera::wallet {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

enum class SignatureDomain {
  Delegation,  // owner key → node key
  Receipt,     // a stage's acknowledgement of a neighbour's work
  Statement,   // a hub's epoch statement root
  Manifest,    // a run publisher's manifest
  LedgerHead,  // the contribution log's chain head per transaction
  HubRequest,  // a node's request to its hub (the join included): protocol::hub_request_message
  Message,     // `tessera-node wallet sign`: arbitrary user messages
  Assignment,       // the hub: node key N serves stage S of run R until T (core/protocol/assignment.h)
  StepTicket,       // a step's driver: attempt A of step S runs through these replicas
  StepRecord,       // a step's driver: attempt A of step S committed, with these slots (protocol/step_record.h)
  RouteSeed,        // the hub: the seed that orders step S's replicas (protocol/route_seed.h)
  CheckTicket,      // the hub: checker C recomputes worker W's slot (protocol/spot_check.h)
  RelayChallenge,   // a node proves its key to a relay: "tessera-relay-v1" ‖ challenge (core/relay)
  TlsCertificate,   // the hub: this TLS certificate serves run R (protocol/tls_binding.h)
};

std::string_view domain_tag(SignatureDomain domain);  // e.g. "tessera/receipt/v1"

class KeyPair {
 public:
  static KeyPair generate();
  // From a 32-byte Ed25519 seed (the SLIP-0010 "private key").
  static KeyPair from_seed(std::span<const std::uint8_t> seed32);

  const PublicKey& public_key() const { return public_key_; }
  // The 32-byte seed, for keystores and the Solana keypair file; never log it.
  std::span<const std::uint8_t> seed() const { return seed_.span(); }

  Signature sign(SignatureDomain domain, std::span<const std::uint8_t> message) const;

 private:
  KeyPair() = default;
  SecureBytes seed_;        // 32 bytes
  SecureBytes secret_key_;  // libsodium's 64-byte form (seed ‖ public key)
  PublicKey public_key_{};
};

bool verify(SignatureDomain domain, std::span<const std::uint8_t> message, const Signature& signature,
            const PublicKey& public_key);

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace tessera::wallet
