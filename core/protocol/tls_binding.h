// The hub's statement that a TLS certificate belongs to its run (GET /api/tls): the SHA-256 of the
// certificate's DER, signed by the run's hub key (the manifest's hub_key) over
// "tessera-tls-v1" ‖ 0 ‖ run id ‖ 0 ‖ fingerprint, in its own signature domain. A node that has
// checked the manifest pins a self-signed certificate only through such a binding (docs/network.md
// "Pinned runs and TLS").
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/wallet/signing.h"

namespace tessera::protocol {

using CertificateFingerprint = std::array<std::uint8_t, 32>;  // SHA-256 of the certificate's DER

struct TlsBinding {
  std::string run_id;
  CertificateFingerprint cert_sha256{};
  wallet::Signature signature{};
};

TlsBinding sign_tls_binding(const std::string& run_id, const CertificateFingerprint& fingerprint,
                            const wallet::KeyPair& hub_key);
bool verify_tls_binding(const TlsBinding& binding, const wallet::PublicKey& hub_key);

// {"run", "cert_sha256": hex, "signature": hex}; from_json throws std::invalid_argument.
nlohmann::json to_json(const TlsBinding& binding);
TlsBinding tls_binding_from_json(const nlohmann::json& json);

}  // namespace tessera::protocol
