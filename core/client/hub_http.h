// How a node reaches its hub (issue #18, "Pinned runs, TLS"): the one place that turns a hub
// address into an HTTP client. An address is a run link (tessera://host:port/<run>#<publisher>,
// reached over HTTPS), an https:// URL, or an http:// URL to this machine only: plain HTTP
// anywhere else is refused before any connection. Over HTTPS the hub's certificate is accepted
// when it is valid for the host under the system's CAs, or when it is the one pinned for the run.
// The pin is made on first contact (establish()): the manifest is checked (against the link's
// publisher and run, else its own publisher key), then the hub key's binding of the certificate
// (GET /api/tls) is checked against the certificate both connections presented. Until then no
// other path can be fetched. HubClient and StatementSync share one HubEndpoint, hence one pin.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/net/traffic_meter.h"
#include "core/protocol/manifest.h"
#include "core/protocol/run_link.h"
#include "core/protocol/tls_binding.h"

namespace httplib {
class Client;
}

namespace tessera::client {

// A hub that did not answer at all (as opposed to one that answered with an error).
struct HubUnreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A hub whose certificate or run this node refuses to trust (a wrong publisher, a certificate
// neither CA-valid nor pinned, a forged binding). Retrying the same hub does not help.
struct HubUntrusted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class HubConnection;

class HubEndpoint {
 public:
  // Throws std::invalid_argument for an address that is none of the three forms, and for
  // http:// to a host that is not loopback ("refusing plain HTTP to <host>: …").
  explicit HubEndpoint(std::string_view address);

  const std::string& url() const { return url_; }  // scheme://host:port
  const std::string& host() const { return host_; }
  bool tls() const { return tls_; }
  const std::optional<protocol::RunLink>& link() const { return link_; }
  // Where a run-scoped hub path (hub_api.h) is asked: under /runs/<run> when a run link or the
  // URL's path (https://host:port/runs/<run>, the catalog's "url") names the run (a hub serving
  // several runs, run_paths.h), as it is otherwise (the hub's default run).
  std::string run_path(std::string_view path) const;

  // Throws HubUntrusted unless `manifest` is signed by the link's publisher for the link's run
  // (without a link: by its own publisher key).
  void check_manifest(const protocol::RunManifest& manifest) const;

  // True over plain HTTP, and over HTTPS once establish() has succeeded.
  bool trusted() const;
  std::optional<protocol::CertificateFingerprint> pinned() const;
  // First contact over HTTPS (see above); returns the checked manifest. Throws HubUnreachable,
  // HubUntrusted, or std::runtime_error for an answer that is not what the hub API says.
  protocol::RunManifest establish(std::chrono::milliseconds timeout, net::TrafficMeter* traffic = nullptr);

  // A client for exchanges with a trusted hub (over HTTPS: its certificate checked as above).
  // Throws std::logic_error before establish() over HTTPS.
  std::unique_ptr<HubConnection> open(std::chrono::milliseconds timeout, net::TrafficMeter* traffic = nullptr) const;

 private:
  std::unique_ptr<HubConnection> connect(std::chrono::milliseconds timeout, net::TrafficMeter* traffic,
                                         bool first_contact) const;
  // GET /api/tls on a new connection: the hub key binds `presented` to the run, and that
  // connection presented it too. Throws HubUntrusted otherwise.
  void check_binding(const protocol::RunManifest& manifest, const protocol::CertificateFingerprint& presented,
                     std::chrono::milliseconds timeout, net::TrafficMeter* traffic) const;

  std::string url_;
  std::string host_;
  bool tls_ = false;
  std::optional<protocol::RunLink> link_;
  std::mutex establish_mutex_;  // one first contact at a time
  mutable std::mutex mutex_;
  bool trusted_ = false;
  std::optional<protocol::CertificateFingerprint> pin_;  // empty once trusted: CA-valid certificates only
  std::string run_{};  // the run a URL's /runs/<run> names ("" for a URL without one)
};

// One HTTP client to the hub with what its certificate check saw.
class HubConnection {
 public:
  ~HubConnection();
  httplib::Client& http() { return *client_; }
  // After a request that failed: why the certificate was refused (empty when it was not).
  std::string refusal() const;
  std::optional<protocol::CertificateFingerprint> presented() const;
  bool ca_valid() const;  // the certificate verified for the host under the system's CAs

  struct Check;  // the verify callback's state (hub_http.cpp)

 private:
  friend class HubEndpoint;
  HubConnection(std::unique_ptr<httplib::Client> client, std::unique_ptr<Check> check);
  std::unique_ptr<Check> check_;  // before client_: the client's SSL_CTX points at it
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace tessera::client
