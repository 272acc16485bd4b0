// Signing, checking and the JSON of the hub's certificate binding (see tls_binding.h).
#include "core/protocol/tls_binding.h"

#include <stdexcept>
#include <vector>

#include "core/wallet/encoding.h"

namespace tessera::protocol {
namespace {

std::vector<std::uint8_t> signed_bytes(const std::string& run_id, const CertificateFingerprint& fingerprint) {
  const std::string_view tag = "tessera-tls-v1";
  std::vector<std::uint8_t> out(tag.begin(), tag.end());
  out.push_back(0);
  out.insert(out.end(), run_id.begin(), run_id.end());
  out.push_back(0);
  out.insert(out.end(), fingerprint.begin(), fingerprint.end());
  return out;
}

}  // namespace

TlsBinding sign_tls_binding(const std::string& run_id, const CertificateFingerprint& fingerprint,
                            const wallet::KeyPair& hub_key) {
  return {run_id, fingerprint,
          hub_key.sign(wallet::SignatureDomain::TlsCertificate, signed_bytes(run_id, fingerprint))};
}

bool verify_tls_binding(const TlsBinding& binding, const wallet::PublicKey& hub_key) {
  return wallet::verify(wallet::SignatureDomain::TlsCertificate, signed_bytes(binding.run_id, binding.cert_sha256),
                        binding.signature, hub_key);
}

nlohmann::json to_json(const TlsBinding& binding) {
  return {{"run", binding.run_id},
          {"cert_sha256", wallet::to_hex(binding.cert_sha256)},
          {"signature", wallet::to_hex(binding.signature)}};
}

TlsBinding tls_binding_from_json(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("run") || !json["run"].is_string() || !json.contains("cert_sha256") ||
      !json["cert_sha256"].is_string() || !json.contains("signature") || !json["signature"].is_string())
    throw std::invalid_argument("tls binding: expected {\"run\", \"cert_sha256\", \"signature\"} strings");
  const auto fingerprint = wallet::fixed_from_hex<32>(json["cert_sha256"].get<std::string>());
  const auto signature = wallet::fixed_from_hex<64>(json["signature"].get<std::string>());
  if (!fingerprint) throw std::invalid_argument("tls binding: cert_sha256 must be 64 hex digits");
  if (!signature) throw std::invalid_argument("tls binding: signature must be 128 hex digits");
  return {json["run"].get<std::string>(), *fingerprint, *signature};
}

}  // namespace tessera::protocol
