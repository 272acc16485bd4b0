// tessera-hub's daemon (DESIGN.md "Processes"): from what its command line names to a serving
// hub. The runs in the state folder (run_registry.h) are served, and a run manifest given on the
// command line is read, signed given the publisher's key, and added or updated as the default
// run; the hub key is loaded; the HubHost is started (with its admin server, whose access file
// `tessera-hub keys` and `tessera-hub runs` read) and served until asked to stop.
// app/tessera_hub.cpp only parses the options (and installs the signal handlers).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

namespace tessera::wallet {
class KeyPair;
}

namespace tessera::hub {

class HubHost;

struct HubDaemonOptions {
  std::string listen;                              // HOST:PORT
  std::filesystem::path manifest_file;             // the default run's manifest (JSON); empty: the state folder's runs
  std::filesystem::path publisher_key_file;        // signs the manifest; empty: it must be signed already
  std::filesystem::path hub_key_file;              // empty: the publisher's, when the manifest names it
  std::optional<std::filesystem::path> data_dir;   // the hub's database in <data dir>/hub
  // The inference gateway's own server, HOST:PORT; empty: the API's host and the API's port + 1
  // (a free port when the API's is 0).
  std::string gateway_listen;
  bool open_gateway = false;                       // serve requests without a key as demo usage (else 401)
  int max_concurrent_completions = 4;
  double check_rate = 0.1;                         // spot checks: the chance a node's work in a step is checked
  int reachability_timeout_ms = 3000;              // connect back to each joining node (0: never)
  // HTTPS (docs/hub.md "HTTPS and the run link"): a certificate and key from PEM files (both or
  // neither), else a self-signed one kept in the state folder. A hub on a non-loopback address
  // always serves HTTPS; on loopback only with `tls` (or a certificate).
  bool tls = false;
  std::filesystem::path tls_cert_file;
  std::filesystem::path tls_key_file;
  // The host the run link names (nodes connect to it); empty: the --listen host, or this
  // machine's name when that is a wildcard (0.0.0.0, ::).
  std::string public_host;
};

// Where the daemon writes its default run's link (one line) in the state folder, while it serves.
inline constexpr char kRunLinkFileName[] = "run-link.txt";

// The hub's state folder: <data dir>/hub (its database and the admin access file).
std::filesystem::path hub_state_dir(const std::optional<std::filesystem::path>& data_dir);

// HOST:PORT split; throws std::invalid_argument naming `option` when it is not that.
std::pair<std::string, int> parse_listen(const std::string& text, const char* option);

class HubDaemon {
 public:
  // Loads and checks everything, starts the hub and says on `log` whether it settles epochs and
  // serves the gateway. Throws std::invalid_argument for an option or a file that cannot be used,
  // std::runtime_error when the hub cannot listen.
  HubDaemon(const HubDaemonOptions& options, std::ostream& log);
  ~HubDaemon();  // stops the hub
  HubDaemon(const HubDaemon&) = delete;
  HubDaemon& operator=(const HubDaemon&) = delete;

  // Says where it serves, serves until `stop` is set, then stops the hub.
  void serve(const std::atomic<bool>& stop);
  HubHost& host() { return *hub_; }

 private:
  std::ostream& log_;
  std::string link_;                          // the run link, empty without TLS
  std::filesystem::path link_file_;
  std::unique_ptr<wallet::KeyPair> hub_key_;  // outlives hub_, which signs with it
  std::unique_ptr<HubHost> hub_;
};

}  // namespace tessera::hub
