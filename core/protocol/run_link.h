// A run's copyable name (issue #18, "Pinned runs"): tessera://host:port/<run id>#<publisher key>,
// the hub's address plus the key that signs the run's manifest. A node given a link trusts only a
// manifest signed by that key for that run id, and reaches the hub over HTTPS at https_url().
// The port may be left out (443, as for any https:// URL); to_string() always writes it. An IPv6
// host is written in brackets.
#pragma once

#include <string>
#include <string_view>

#include "core/wallet/signing.h"

namespace tessera::protocol {

inline constexpr std::string_view kRunLinkScheme = "tessera://";

struct RunLink {
  std::string host;  // without brackets for IPv6
  int port = 0;
  std::string run_id;
  wallet::PublicKey publisher{};

  std::string https_url() const;  // https://host:port
  std::string to_string() const;  // tessera://host:port/<run id>#<publisher key base58>
};

// Throws std::invalid_argument saying which part is wrong (scheme, host, port, run, key).
RunLink parse_run_link(std::string_view text);
// True when `text` starts with tessera:// (it may still be malformed: parse_run_link says how).
bool is_run_link(std::string_view text);

// "host:port" with an IPv6 host in brackets (for URLs and links).
std::string host_port(const std::string& host, int port);

}  // namespace tessera::protocol
