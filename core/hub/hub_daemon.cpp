// tessera-hub's assembly: manifest, keys, service, serve loop.
#include "core/hub/hub_daemon.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/hub/api_key_book.h"
#include "core/hub/hub_host.h"
#include "core/hub/hub_service.h"
#include "core/hub/tls_identity.h"
#include "core/net/loopback_host.h"
#include "core/protocol/hub_admin_api.h"
#include "core/protocol/manifest.h"
#include "core/protocol/run_catalog.h"
#include "core/sys/paths.h"
#include "core/wallet/encoding.h"
#include "core/wallet/keypair_file.h"
#include "core/wallet/secure_file.h"

namespace tessera::hub {

std::pair<std::string, int> parse_listen(const std::string& text, const char* option) {
  const auto colon = text.rfind(':');
  const auto bad = std::invalid_argument(std::string(option) + " must be HOST:PORT (got '" + text + "')");
  if (colon == std::string::npos || colon == 0) throw bad;
  int port = -1;
  const auto digits = std::string_view(text).substr(colon + 1);
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() || port < 0 || port > 65535)
    throw bad;
  return {text.substr(0, colon), port};
}

std::filesystem::path hub_state_dir(const std::optional<std::filesystem::path>& data_dir) {
  return sys::resolve_data_dir(data_dir) / "hub";
}

namespace {

// How the gateway admits clients, for the start-up line.
std::string gateway_access(const HubOptions& options, const HubHost& host) {
  bool keys = false;
  for (const auto& run : host.runs())
    if (const auto service = host.run(run.run); service && service->api_keys()) keys = keys || service->api_keys()->has_live_keys();
  const std::string keyed = keys ? "paid with API keys" : "paid with API keys (none yet: `tessera-hub keys add`)";
  if (options.open_gateway) return keyed + "; without a key, demo usage that earns nothing (--open-gateway)";
  return keyed + "; requests without a key are refused with 401";
}

bool wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]"; }

std::string machine_name() {
  char name[256] = {};
  return ::gethostname(name, sizeof name - 1) == 0 && name[0] ? std::string(name) : std::string("localhost");
}

// The hub's certificate, or null for plain HTTP (only where every server it opens is loopback).
std::shared_ptr<const TlsIdentity> tls_identity(const HubDaemonOptions& config, const HubOptions& options,
                                                const std::string& public_host) {
  if (config.tls_cert_file.empty() != config.tls_key_file.empty())
    throw std::invalid_argument("--tls-cert and --tls-key go together");
  const bool loopback = net::is_loopback_host(options.host) && net::is_loopback_host(options.gateway_host);
  if (!config.tls && config.tls_cert_file.empty() && loopback) return nullptr;
  if (!config.tls_cert_file.empty()) return TlsIdentity::from_files(config.tls_cert_file, config.tls_key_file);
  std::vector<std::string> names{public_host};
  if (!wildcard(options.host) && options.host != public_host) names.push_back(options.host);
  names.insert(names.end(), {"localhost", "127.0.0.1"});
  return TlsIdentity::self_signed(names, options.state_dir);
}

}  // namespace

HubDaemon::HubDaemon(const HubDaemonOptions& config, std::ostream& log) : log_(log) {
  HubOptions options;
  std::tie(options.host, options.port) = parse_listen(config.listen, "--listen");
  if (config.gateway_listen.empty()) {
    options.gateway_host = options.host;
    options.gateway_port = options.port == 0 ? 0 : options.port + 1;
  } else {
    std::tie(options.gateway_host, options.gateway_port) = parse_listen(config.gateway_listen, "--gateway-listen");
  }
  options.open_gateway = config.open_gateway;
  options.max_concurrent_completions = config.max_concurrent_completions;
  options.check_rate = config.check_rate;
  options.reachability_timeout = std::chrono::milliseconds(config.reachability_timeout_ms);
  options.gateway_server.threads = static_cast<std::size_t>(std::max(config.max_concurrent_completions, 1)) + 4;
  std::optional<protocol::RunManifest> manifest;
  if (!config.manifest_file.empty()) {
    manifest = protocol::manifest_from_json(nlohmann::json::parse(wallet::read_file_text(config.manifest_file, 1 << 20)));
    if (!config.publisher_key_file.empty()) {
      const auto key = wallet::read_solana_keypair_file(config.publisher_key_file);
      manifest->publisher_key = key.public_key();
      if (manifest->hub_key == wallet::PublicKey{}) manifest->hub_key = key.public_key();
      protocol::sign_manifest(*manifest, key);
    }
    if (!protocol::verify_manifest(*manifest, manifest->publisher_key))
      throw std::invalid_argument("the manifest is not signed by its publisher key (give --key to sign it)");
  } else if (!config.publisher_key_file.empty()) {
    throw std::invalid_argument("--key signs the --manifest: give both");
  }
  if (!config.hub_key_file.empty())
    hub_key_ = std::make_unique<wallet::KeyPair>(wallet::read_solana_keypair_file(config.hub_key_file));
  else if (manifest && !config.publisher_key_file.empty() && manifest->hub_key == manifest->publisher_key)
    hub_key_ = std::make_unique<wallet::KeyPair>(wallet::read_solana_keypair_file(config.publisher_key_file));
  if (hub_key_) options.hub_key = hub_key_.get();
  options.state_dir = hub_state_dir(config.data_dir);  // members and receipts, with or without a hub key
  options.admin_access_file = options.state_dir / protocol::hub_admin_api::kAccessFileName;
  const auto public_host =
      !config.public_host.empty() ? config.public_host : wildcard(options.host) ? machine_name() : options.host;
  options.tls = tls_identity(config, options, public_host);
  hub_ = std::make_unique<HubHost>(options, public_host);
  if (manifest) hub_->put(*manifest, /*from_operator=*/true);
  try {
    hub_->start();
  } catch (const std::runtime_error& error) {
    throw std::runtime_error(std::string(error.what()) + (config.gateway_listen.empty() && hub_key_
                                                              ? " (choose the gateway's address with --gateway-listen)"
                                                              : ""));
  }
  if (options.tls) {
    link_ = hub_->run_link(hub_->default_run()).to_string();
    link_file_ = options.state_dir / kRunLinkFileName;
    std::filesystem::create_directories(options.state_dir);
    const auto text = link_ + "\n";
    wallet::write_file_atomic(link_file_, wallet::as_bytes(text), {}, wallet::IfExists::Replace);
    log_ << "HTTPS with certificate SHA-256 " << wallet::to_hex(options.tls->fingerprint())
         << (config.tls_cert_file.empty() ? " (self-signed, bound to each run by the hub key: GET /api/tls)" : "")
         << std::endl;
    for (const auto& run : hub_->runs())
      if (!run.retired_ms) log_ << "run link: " << run.link << (run.is_default ? " (default run)" : "") << std::endl;
    if (!hub_key_ && config.tls_cert_file.empty())
      log_ << "no --hub-key: nodes cannot pin this self-signed certificate (only a CA-signed one, --tls-cert, works)"
           << std::endl;
  }
  if (hub_key_)
    log_ << "gateway: " << hub_->gateway_url() << ", " << gateway_access(options, *hub_) << ", at most "
         << options.max_concurrent_completions << " completions at once per run" << std::endl;
  else
    log_ << "no --hub-key: this hub neither settles epochs nor serves the gateway" << std::endl;
}

HubDaemon::~HubDaemon() {
  std::error_code ignored;
  if (!link_file_.empty()) std::filesystem::remove(link_file_, ignored);
}

void HubDaemon::serve(const std::atomic<bool>& stop) {
  for (const auto& run : hub_->runs()) {
    if (run.retired_ms) log_ << "keeping retired run " << run.run << " at " << run.url << std::endl;
    else if (run.is_default) log_ << "serving run " << run.run << " at " << hub_->url() << " (the default run; also " << run.url << ")" << std::endl;
    else log_ << "serving run " << run.run << " at " << run.url << std::endl;
  }
  log_ << "catalog: " << hub_->url() << protocol::kRunCatalogPath << std::endl;
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  hub_->stop();
}

}  // namespace tessera::hub
