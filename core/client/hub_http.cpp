// Hub addresses, the certificate check (an OpenSSL verify callback on httplib's SSL_CTX, with
// httplib's own verification turned off so the two do not fight) and first contact.
#include "core/client/hub_http.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "core/client/http_traffic.h"
#include "core/net/loopback_host.h"
#include "core/protocol/hub_api.h"
#include "core/protocol/run_catalog.h"
#include "core/protocol/run_paths.h"
#include "core/wallet/encoding.h"

namespace tessera::client {

struct HubConnection::Check {
  bool first_contact = false;  // accept any certificate, only record it
  std::optional<protocol::CertificateFingerprint> pin;
  std::string url;
  // What the handshake saw.
  std::optional<protocol::CertificateFingerprint> presented;
  int calls = 0;
  bool failed = false;  // some check under the system's CAs (chain, dates, host name) failed
  std::string refusal;
};

namespace {

constexpr std::size_t kMaxFirstContactReply = 1 << 20;

std::string hex_or_none(const std::optional<protocol::CertificateFingerprint>& fingerprint) {
  return fingerprint ? wallet::to_hex(*fingerprint) : std::string("none");
}

int verify_certificate(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* check = ssl ? static_cast<HubConnection::Check*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))) : nullptr;
  if (!check) return 0;
  ++check->calls;
  protocol::CertificateFingerprint leaf{};
  unsigned int length = 0;
  X509* certificate = X509_STORE_CTX_get0_cert(store);
  if (!certificate || X509_digest(certificate, EVP_sha256(), leaf.data(), &length) != 1 || length != leaf.size()) {
    check->refusal = "the hub at " + check->url + " presented a certificate that cannot be read";
    return 0;
  }
  check->presented = leaf;
  if (preverify_ok) return 1;
  check->failed = true;
  if (check->first_contact || (check->pin && *check->pin == leaf)) return 1;
  check->refusal = "refusing the hub at " + check->url + ": its certificate (SHA-256 " + wallet::to_hex(leaf) +
                   ") is not valid for it under the system's CAs (" +
                   X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)) +
                   ") and is not the one pinned for this run (" + hex_or_none(check->pin) + ")";
  return 0;
}

// The host under which the certificate must be valid: an address as an IP, else a DNS name.
void expect_host(SSL_CTX* context, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(context);
  in_addr v4{};
  in6_addr v6{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1 || ::inet_pton(AF_INET6, host.c_str(), &v6) == 1)
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  else
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
}

struct ParsedUrl {
  bool tls = false;
  std::string host;
  int port = 0;
  std::string run{};  // a run's URL: /runs/<run>
};

ParsedUrl parse_url(std::string_view address) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("not a hub address (" + why + "): '" + std::string(address.substr(0, 300)) +
                                 "'; give the run's tessera:// link or an https:// URL");
  };
  ParsedUrl out;
  std::string_view rest;
  if (address.rfind("https://", 0) == 0) {
    out.tls = true;
    rest = address.substr(8);
  } else if (address.rfind("http://", 0) == 0) {
    rest = address.substr(7);
  } else {
    throw bad("it must start with tessera://, https:// or http://");
  }
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.size() > authority.size() && rest.substr(authority.size()) != "/") {
    // A run's URL on a hub serving several runs (the catalog's "url"): /runs/<run>.
    const auto path = rest.substr(authority.size());
    const auto run = path.substr(std::min(path.size(), protocol::kRunsPathPrefix.size()));
    if (path.substr(0, protocol::kRunsPathPrefix.size()) != protocol::kRunsPathPrefix ||
        !protocol::valid_run_path_id(run))
      throw bad("a hub URL names only the host and port, or a run's path /runs/<run>");
    out.run = std::string(run);
  }
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw bad("the IPv6 host has no closing ']'");
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') throw bad("after the host comes ':' and the port");
      port_text = authority.substr(close + 2);
      has_port = true;
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) throw bad("no host");
  if (out.host.find_first_of("@ \t") != std::string::npos) throw bad("the host is malformed");
  out.port = out.tls ? 443 : 80;
  if (has_port) {
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
    if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() || out.port < 1 ||
        out.port > 65535)
      throw bad("the port must be a number from 1 to 65535");
  }
  return out;
}

struct Reply {
  int status = 0;
  nlohmann::json body;
};

Reply get_json(HubConnection& connection, const std::string& url, const std::string& path) {
  auto result = connection.http().Get(path);
  if (!result) {
    if (!connection.refusal().empty()) throw HubUntrusted(connection.refusal());
    throw HubUnreachable("hub " + url + " did not answer " + path + " (" + httplib::to_string(result.error()) + ")");
  }
  if (result->body.size() > kMaxFirstContactReply)
    throw std::runtime_error("hub " + url + " answered " + path + " with " + std::to_string(result->body.size()) +
                             " bytes");
  return {result->status, nlohmann::json::parse(result->body, nullptr, false)};
}

}  // namespace

HubConnection::HubConnection(std::unique_ptr<httplib::Client> client, std::unique_ptr<Check> check)
    : check_(std::move(check)), client_(std::move(client)) {}

HubConnection::~HubConnection() = default;

std::string HubConnection::refusal() const { return check_ ? check_->refusal : std::string(); }

std::optional<protocol::CertificateFingerprint> HubConnection::presented() const {
  return check_ ? check_->presented : std::nullopt;
}

bool HubConnection::ca_valid() const { return check_ && check_->calls > 0 && !check_->failed; }

HubEndpoint::HubEndpoint(std::string_view address) {
  while (!address.empty() && address.back() == '/') address.remove_suffix(1);
  if (protocol::is_run_link(address)) {
    link_ = protocol::parse_run_link(address);
    host_ = link_->host;
    tls_ = true;
    url_ = link_->https_url();
    return;
  }
  const auto parsed = parse_url(address);
  host_ = parsed.host;
  tls_ = parsed.tls;
  url_ = (tls_ ? "https://" : "http://") + protocol::host_port(host_, parsed.port);
  run_ = parsed.run;
  if (!tls_ && !net::is_loopback_host(host_))
    throw std::invalid_argument("refusing plain HTTP to " + host_ +
                                ": ask for the run's tessera:// link or an https:// URL");
  trusted_ = !tls_;
}

std::string HubEndpoint::run_path(std::string_view path) const {
  const auto& run = link_ ? link_->run_id : run_;
  if (run.empty()) return std::string(path);
  return protocol::run_path_prefix(run) + std::string(path);
}

void HubEndpoint::check_manifest(const protocol::RunManifest& manifest) const {
  const auto& publisher = link_ ? link_->publisher : manifest.publisher_key;
  if (link_ && (manifest.publisher_key != link_->publisher || manifest.run_id != link_->run_id))
    throw HubUntrusted("the hub at " + url_ + " serves run " + manifest.run_id + " published by " +
                       wallet::base58_encode(manifest.publisher_key) + ", not the run this link names (run " +
                       link_->run_id + " published by " + wallet::base58_encode(link_->publisher) + "): refusing it");
  if (!run_.empty() && manifest.run_id != run_)
    throw HubUntrusted("the hub at " + url_ + protocol::run_path_prefix(run_) + " serves run " + manifest.run_id +
                       ": refusing it");
  if (!protocol::verify_manifest(manifest, publisher))
    throw HubUntrusted("the hub's run manifest is not signed by its publisher" +
                       (link_ ? " " + wallet::base58_encode(link_->publisher) : std::string()));
}

bool HubEndpoint::trusted() const {
  std::lock_guard lock(mutex_);
  return trusted_;
}

std::optional<protocol::CertificateFingerprint> HubEndpoint::pinned() const {
  std::lock_guard lock(mutex_);
  return pin_;
}

std::unique_ptr<HubConnection> HubEndpoint::open(std::chrono::milliseconds timeout, net::TrafficMeter* traffic) const {
  if (!trusted()) throw std::logic_error("the hub at " + url_ + " is not trusted yet: establish() first");
  return connect(timeout, traffic, false);
}

std::unique_ptr<HubConnection> HubEndpoint::connect(std::chrono::milliseconds timeout, net::TrafficMeter* traffic,
                                                    bool first_contact) const {
  auto client = std::make_unique<httplib::Client>(url_);
  client->set_connection_timeout(timeout);
  client->set_read_timeout(timeout);
  client->set_write_timeout(timeout);
  count_http_traffic(*client, traffic);
  std::unique_ptr<HubConnection::Check> check;
  if (tls_) {
    check = std::make_unique<HubConnection::Check>();
    check->first_contact = first_contact;
    check->pin = pinned();
    check->url = url_;
    client->enable_server_certificate_verification(false);  // ours is the callback below
    SSL_CTX* context = client->ssl_context();
    if (!context) throw std::runtime_error("this build of cpp-httplib cannot speak HTTPS");
    SSL_CTX_set_default_verify_paths(context);
    expect_host(context, host_);
    SSL_CTX_set_app_data(context, check.get());
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, verify_certificate);
  }
  return std::unique_ptr<HubConnection>(new HubConnection(std::move(client), std::move(check)));
}

protocol::RunManifest HubEndpoint::establish(std::chrono::milliseconds timeout, net::TrafficMeter* traffic) {
  std::lock_guard first(establish_mutex_);
  auto connection = connect(timeout, traffic, true);
  const auto manifest_path = run_path(protocol::hub_api::kManifest);
  const auto reply = get_json(*connection, url_, manifest_path);
  if (reply.status == 404 && manifest_path != protocol::hub_api::kManifest)
    throw HubUntrusted("the hub at " + url_ + " serves no run at " + manifest_path +
                       " (HTTP 404): not the run this link names; check the link, or see the hub's runs at " + url_ +
                       protocol::kRunCatalogPath);
  if (reply.status != 200 || reply.body.is_discarded())
    throw std::runtime_error("hub " + url_ + " did not serve its run manifest (HTTP " + std::to_string(reply.status) +
                             ")");
  protocol::RunManifest manifest;
  try {
    manifest = protocol::manifest_from_json(reply.body);
  } catch (const std::invalid_argument& error) {
    throw HubUntrusted("the hub at " + url_ + " serves a malformed run manifest (" + error.what() + ")");
  }
  check_manifest(manifest);
  const auto presented = connection->presented();
  if (!presented) throw HubUntrusted("the hub at " + url_ + " presented no certificate");
  if (!connection->ca_valid()) check_binding(manifest, *presented, timeout, traffic);
  std::lock_guard lock(mutex_);
  if (!connection->ca_valid()) pin_ = *presented;
  trusted_ = true;
  return manifest;
}

void HubEndpoint::check_binding(const protocol::RunManifest& manifest,
                                const protocol::CertificateFingerprint& presented, std::chrono::milliseconds timeout,
                                net::TrafficMeter* traffic) const {
  auto connection = connect(timeout, traffic, true);
  const auto reply = get_json(*connection, url_, run_path(protocol::hub_api::kTls));
  const auto untrusted = [&](const std::string& why) {
    return HubUntrusted("refusing the hub at " + url_ + ": its certificate (SHA-256 " + wallet::to_hex(presented) +
                        ") is not valid for " + host_ + " under the system's CAs, and " + why);
  };
  if (reply.status != 200)
    throw untrusted("the hub does not bind it to the run (GET " + std::string(protocol::hub_api::kTls) +
                    " answered HTTP " + std::to_string(reply.status) + ")");
  protocol::TlsBinding binding;
  try {
    binding = protocol::tls_binding_from_json(reply.body);
  } catch (const std::invalid_argument& error) {
    throw untrusted(std::string("its binding to the run is malformed (") + error.what() + ")");
  }
  if (binding.run_id != manifest.run_id) throw untrusted("its binding names another run (" + binding.run_id + ")");
  if (!protocol::verify_tls_binding(binding, manifest.hub_key))
    throw untrusted("its binding to the run is not signed by the run's hub key");
  if (binding.cert_sha256 != presented || connection->presented() != presented)
    throw untrusted("the hub key binds another certificate (" + wallet::to_hex(binding.cert_sha256) + ") to the run");
}

}  // namespace tessera::client
