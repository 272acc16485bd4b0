// CurveZMQ identities: a node's network key is its Ed25519 node key converted to X25519, so the
// peer a socket talks to is the node key the hub lists.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/wallet/secure_bytes.h"
#include "core/wallet/signing.h"

namespace tessera::net {

using CurvePublicKey = std::array<std::uint8_t, 32>;

struct CurveKeyPair {
  CurvePublicKey public_key{};
  wallet::SecureBytes secret_key;  // 32 bytes
};

CurveKeyPair curve_keys_from(const wallet::KeyPair& node_key);
// Throws std::invalid_argument when the Ed25519 key is not a valid curve point.
CurvePublicKey curve_public_from(const wallet::PublicKey& node_public_key);

}  // namespace tessera::net
