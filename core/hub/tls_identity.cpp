// PEM files in and out, and the self-signed certificate, with OpenSSL (see tls_identity.h).
#include "core/hub/tls_identity.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <span>
#include <stdexcept>

#include "core/wallet/secure_file.h"

namespace tessera::hub {
namespace {

constexpr long kValiditySeconds = 10L * 365 * 24 * 3600;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Certificate = std::unique_ptr<X509, X509Free>;
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Certificate read_certificate(const std::filesystem::path& file) {
  const Bio bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) throw std::invalid_argument("cannot read the TLS certificate file " + file.string());
  Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) throw std::invalid_argument(file.string() + " does not hold a PEM certificate");
  return cert;
}

Key read_key(const std::filesystem::path& file) {
  wallet::warn_if_permissions_too_open(file);
  const Bio bio(BIO_new_file(file.c_str(), "r"));
  if (!bio) throw std::invalid_argument("cannot read the TLS key file " + file.string());
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) throw std::invalid_argument(file.string() + " does not hold an unencrypted PEM private key");
  return key;
}

// subjectAltName entries: IP:… for addresses, DNS:… for names; wildcard listen addresses skipped.
std::string alt_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    if (name.empty() || name == "0.0.0.0" || name == "::") continue;
    in_addr v4{};
    in6_addr v6{};
    const bool ip = ::inet_pton(AF_INET, name.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, name.c_str(), &v6) == 1;
    if (!out.empty()) out += ",";
    out += (ip ? "IP:" : "DNS:") + name;
  }
  return out.empty() ? std::string("DNS:localhost") : out;
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (!extension || X509_add_ext(cert, extension, -1) != 1) {
    X509_EXTENSION_free(extension);
    throw std::runtime_error("cannot add the extension '" + value + "' to the hub's certificate");
  }
  X509_EXTENSION_free(extension);
}

std::pair<Certificate, Key> make_self_signed(const std::vector<std::string>& names) {
  Key key(EVP_EC_gen("P-256"));
  Certificate cert(X509_new());
  if (!key || !cert) throw std::runtime_error("OpenSSL cannot make an EC P-256 key");
  std::uint8_t serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) throw std::runtime_error("OpenSSL has no random bytes");
  serial[0] &= 0x7f;  // positive
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert.get()));
  BN_free(number);
  X509_set_version(cert.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // clocks that are a little behind
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const std::string common_name = names.empty() || names.front().empty() ? "tessera hub" : names.front();
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  X509_set_pubkey(cert.get(), key.get());
  add_extension(cert.get(), NID_subject_alt_name, alt_names(names));
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) throw std::runtime_error("OpenSSL cannot sign the certificate");
  return {std::move(cert), std::move(key)};
}

std::span<const std::uint8_t> contents(BIO* bio) {
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  return {reinterpret_cast<const std::uint8_t*>(memory->data), memory->length};
}

void store(const std::filesystem::path& dir, X509* cert, EVP_PKEY* key) {
  std::filesystem::create_directories(dir);
  const Bio key_pem(BIO_new(BIO_s_secmem()));  // wiped when freed
  const Bio cert_pem(BIO_new(BIO_s_mem()));
  if (!key_pem || !cert_pem || PEM_write_bio_PrivateKey(key_pem.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_pem.get(), cert) != 1)
    throw std::runtime_error("OpenSSL cannot write the hub's TLS key and certificate as PEM");
  wallet::write_file_atomic(dir / TlsIdentity::kKeyFile, contents(key_pem.get()));
  wallet::write_file_atomic(dir / TlsIdentity::kCertificateFile, contents(cert_pem.get()));
}

}  // namespace

TlsIdentity::TlsIdentity(X509* certificate, EVP_PKEY* key) : certificate_(certificate), key_(key) {
  unsigned int length = 0;
  if (X509_digest(certificate_, EVP_sha256(), fingerprint_.data(), &length) != 1 || length != fingerprint_.size()) {
    X509_free(certificate_);
    EVP_PKEY_free(key_);
    throw std::runtime_error("OpenSSL cannot hash the hub's certificate");
  }
}

TlsIdentity::~TlsIdentity() {
  X509_free(certificate_);
  EVP_PKEY_free(key_);
}

std::shared_ptr<const TlsIdentity> TlsIdentity::from_files(const std::filesystem::path& certificate,
                                                           const std::filesystem::path& key_file) {
  auto cert = read_certificate(certificate);
  auto key = read_key(key_file);
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    throw std::invalid_argument("the TLS key " + key_file.string() + " is not the key of the certificate " +
                                certificate.string());
  return std::shared_ptr<const TlsIdentity>(new TlsIdentity(cert.release(), key.release()));
}

std::shared_ptr<const TlsIdentity> TlsIdentity::self_signed(const std::vector<std::string>& names,
                                                            const std::filesystem::path& state_dir) {
  if (!state_dir.empty() && std::filesystem::exists(state_dir / kCertificateFile) &&
      std::filesystem::exists(state_dir / kKeyFile)) {
    try {
      return from_files(state_dir / kCertificateFile, state_dir / kKeyFile);
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(std::string("the hub's stored self-signed certificate cannot be used (") +
                                  error.what() + "): remove " + (state_dir / kCertificateFile).string() + " and " +
                                  (state_dir / kKeyFile).string() + " to make a new one (nodes then pin it again)");
    }
  }
  auto [cert, key] = make_self_signed(names);
  if (!state_dir.empty()) store(state_dir, cert.get(), key.get());
  return std::shared_ptr<const TlsIdentity>(new TlsIdentity(cert.release(), key.release()));
}

}  // namespace tessera::hub
