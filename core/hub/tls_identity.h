// The hub's TLS certificate and private key (issue #18, "Pinned runs, TLS"): read from PEM files
// the operator names, or a self-signed one (EC P-256, the served names in its subjectAltName, valid
// ten years) made once and kept in the hub's state folder (tls-key.pem mode 0600, tls-cert.pem) so
// its fingerprint, which nodes pin through the hub key's signature (GET /api/tls), survives
// restarts; without a state folder it lives in memory only. The key is read and written through
// OpenSSL BIOs, never through a std::string.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/protocol/tls_binding.h"

struct x509_st;
struct evp_pkey_st;

namespace tessera::hub {

class TlsIdentity {
 public:
  // Throws std::invalid_argument naming the file that cannot be read or does not hold a PEM
  // certificate or private key, or when the key is not the certificate's.
  static std::shared_ptr<const TlsIdentity> from_files(const std::filesystem::path& certificate,
                                                       const std::filesystem::path& key);
  // `names`: hosts (DNS names or IP addresses) for the subjectAltName. With `state_dir` non-empty,
  // reuses the pair stored there, else makes one and stores it (std::runtime_error when it cannot).
  static std::shared_ptr<const TlsIdentity> self_signed(const std::vector<std::string>& names,
                                                        const std::filesystem::path& state_dir);

  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;
  ~TlsIdentity();

  x509_st* certificate() const { return certificate_; }  // owned by this
  evp_pkey_st* key() const { return key_; }              // owned by this
  const protocol::CertificateFingerprint& fingerprint() const { return fingerprint_; }

  static constexpr char kCertificateFile[] = "tls-cert.pem";
  static constexpr char kKeyFile[] = "tls-key.pem";

 private:
  TlsIdentity(x509_st* certificate, evp_pkey_st* key);  // takes both

  x509_st* certificate_ = nullptr;
  evp_pkey_st* key_ = nullptr;
  protocol::CertificateFingerprint fingerprint_{};
};

}  // namespace tessera::hub
